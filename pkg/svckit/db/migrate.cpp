#include "svckit/db/migrate.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace svckit::db {

namespace {

std::string fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string label(const Migration& m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d_", m.version);
  return buf + m.name;
}

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS svckit_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "checksum TEXT NOT NULL, applied_at TEXT NOT NULL)";

struct Applied {
  std::string name, checksum, applied_at;
};

Task<Result<std::map<int, Applied>>> read_applied(const Context& ctx, Executor& ex) {
  const std::string sql = "SELECT version, name, checksum, applied_at FROM svckit_migrations ORDER BY version";
  auto rows = co_await ex.query(ctx, sql);
  if (!rows) co_return std::unexpected(rows.error());
  std::map<int, Applied> out;
  for (Row row : *rows) {
    int version = 0;
    Applied a;
    if (auto st = row.scan(version, a.name, a.checksum, a.applied_at); !st.ok()) co_return std::unexpected(st);
    out.emplace(version, std::move(a));
  }
  co_return out;
}

}  // namespace

Result<std::vector<Migration>> load_migrations(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return make_error(Code::kInvalidArgument, "migrations folder '" + dir + "' does not exist");
  std::vector<Migration> out;
  for (auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    auto underscore = file.find('_');
    int version = 0;
    if (underscore == std::string::npos || underscore == 0 ||
        std::from_chars(file.data(), file.data() + underscore, version).ec != std::errc() || version <= 0)
      return make_error(Code::kInvalidArgument, "migration file '" + file + "' is not named NNNN_name.sql");
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    Migration m{version, file.substr(underscore + 1, file.size() - underscore - 5), ss.str(), {}};
    m.checksum = fnv1a(m.sql);
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i].version == out[i - 1].version)
      return make_error(Code::kInvalidArgument, "two migrations with version " + std::to_string(out[i].version));
  return out;
}

Task<Result<std::vector<MigrationStatus>>> migration_status(const Context& ctx, Database& db,
                                                            const std::vector<Migration>& migrations) {
  const std::string create(kCreateTable);
  if (auto st = co_await db.exec_script(ctx, create); !st.ok()) co_return std::unexpected(st);
  auto applied = co_await read_applied(ctx, db);
  if (!applied) co_return std::unexpected(applied.error());
  std::vector<MigrationStatus> out;
  for (auto& m : migrations) {
    MigrationStatus s{m.version, m.name};
    if (auto it = applied->find(m.version); it != applied->end()) {
      s.applied = true;
      s.applied_at = it->second.applied_at;
      s.changed = it->second.checksum != m.checksum;
    }
    out.push_back(std::move(s));
  }
  co_return out;
}

Task<Result<int>> migrate_up(const Context& ctx, Database& db, const std::vector<Migration>& migrations,
                             log::Logger logger) {
  int count = 0;
  const bool postgres = db.driver() == "postgres";
  Status st = co_await db.transaction(ctx, [&](Tx& tx) -> Task<Status> {
    if (postgres) {
      // One lock for every svckit migration run on this database; released at commit or rollback.
      const std::string lock = "SELECT pg_advisory_xact_lock(7263540918)";
      auto locked = co_await tx.query(ctx, lock);
      if (!locked) co_return locked.error();
    }
    const std::string create(kCreateTable);
    if (Status s = co_await tx.exec_script(ctx, create); !s.ok()) co_return s;
    auto applied = co_await read_applied(ctx, tx);
    if (!applied) co_return applied.error();
    for (auto& m : migrations) {
      auto it = applied->find(m.version);
      if (it != applied->end()) {
        if (it->second.checksum != m.checksum)
          co_return Status(Code::kFailedPrecondition, "MIGRATION_CHANGED",
                           "migration " + label(m) + " was changed after it was applied; add a new migration instead");
        continue;
      }
      if (Status s = co_await tx.exec_script(ctx, m.sql); !s.ok())
        co_return Status(s.code(), std::string(s.reason()), "migration " + label(m) + ": " + std::string(s.message()));
      const std::string record =
          "INSERT INTO svckit_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)";
      Params args{
          m.version, m.name, m.checksum,
          format_timestamp(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()))};
      auto r = co_await tx.exec(ctx, record, args);
      if (!r) co_return r.error();
      logger.info("migration applied", {{"version", m.version}, {"name", m.name}, {"driver", db.driver()}});
      ++count;
    }
    co_return Status();
  });
  if (!st.ok()) co_return std::unexpected(st);
  co_return count;
}

}  // namespace svckit::db
