#pragma once
// Versioned SQL migrations: files `NNNN_name.sql` in a folder per backend
// (internal/<svc>/migrations/{postgres,sqlite}/). `migrate_up` applies the pending ones in order in one
// transaction under a lock (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE), so that two
// instances starting together apply each migration once; it records version, name and checksum in
// svckit_migrations and refuses to run when an applied file has changed since (FAILED_PRECONDITION).
#include <optional>
#include <string>
#include <vector>

#include "svckit/db/database.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::db {

struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
  std::string checksum;  // FNV-1a 64 of the file, hex
};

// Reads dir/NNNN_name.sql, sorted by version; INVALID_ARGUMENT for a bad name or a duplicate version.
Result<std::vector<Migration>> load_migrations(const std::string& dir);

struct MigrationStatus {
  int version = 0;
  std::string name;
  bool applied = false;
  std::string applied_at;  // empty when pending
  bool changed = false;    // applied, but the file's checksum differs now
};

Task<Result<std::vector<MigrationStatus>>> migration_status(const Context& ctx, Database& db,
                                                            const std::vector<Migration>& migrations);
// Applies what is pending; returns how many were applied.
Task<Result<int>> migrate_up(const Context& ctx, Database& db, const std::vector<Migration>& migrations,
                             log::Logger logger = log::global());

}  // namespace svckit::db
