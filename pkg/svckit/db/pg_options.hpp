#pragma once
// The options of a PostgreSQL database (PgDatabase::open), which are also the db.postgres: section of
// configuration. Declared apart from the driver so that svckit::db can bind them without libpq.
#include <chrono>
#include <cstddef>
#include <string>

namespace svckit::config {
template <class T>
class Binder;
}

namespace svckit::db {

struct PgOptions {
  std::string dsn = "host=127.0.0.1 port=5432 dbname=svckit user=svckit";  // libpq keyword/value or URI
  std::string password;             // overrides the DSN's; kept apart so it can come from a secret file
  std::size_t min_connections = 1;  // across all loops
  std::size_t max_connections = 8;  // across all loops (each loop gets its share, at least 1)
  std::chrono::milliseconds acquire_timeout{2000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds max_lifetime{1800000};
  std::chrono::milliseconds idle_timeout{300000};
  std::chrono::milliseconds statement_timeout{30000};  // 0: none
  bool pipeline = true;
  std::size_t max_pipeline_depth = 64;  // queries in flight per connection
  std::string application_name = "svckit";

  static void describe(config::Binder<PgOptions>& b);  // settings.cpp
};

}  // namespace svckit::db
