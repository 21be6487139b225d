// svckit: the command-line tool: database migrations.
//   svckit migrate up     --dir internal/user/migrations [--set db.driver=postgres --set db.postgres.dsn=...]
//   svckit migrate status --dir internal/user/migrations
// The database comes from the same layered config as the services (configs/, SVCKIT_* env, --set);
// --dir is the service's migrations folder (its sqlite/ or postgres/ subfolder is used when present).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "svckit/config/config.hpp"
#include "svckit/db/migrate.hpp"
#include "svckit/db/settings.hpp"

namespace {

int usage() {
  std::fputs(
      "usage: svckit migrate up|status --dir DIR [--config-dir DIR] [--env ENV] [--set key=value]...\n"
      "  up      apply pending migrations (in one transaction, under a lock)\n"
      "  status  list applied, pending and changed migrations\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) != "migrate") return usage();
  std::string action = argv[2];
  if (action != "up" && action != "status") return usage();
  std::string dir;
  std::vector<const char*> rest = {"svckit"};
  for (int i = 3; i < argc; ++i) {
    if (std::string(argv[i]) == "--dir" && i + 1 < argc)
      dir = argv[++i];
    else
      rest.push_back(argv[i]);
  }
  if (dir.empty()) return usage();
  auto cl = svckit::config::parse_command_line(static_cast<int>(rest.size()), rest.data());
  if (!cl) {
    std::fprintf(stderr, "svckit: %s\n", std::string(cl.error().message()).c_str());
    return 2;
  }
  svckit::log::Logger logger({.sink = svckit::log::StreamSink::stderr_sink()});
  svckit::config::Config cfg(cl->options);
  cfg.define<svckit::db::DbSettings>("db");
  if (auto st = cfg.load(); !st.ok()) {
    std::fprintf(stderr, "svckit: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  auto settings = *cfg.get<svckit::db::DbSettings>("db");
  if (std::filesystem::is_directory(dir + "/" + settings.driver)) dir += "/" + settings.driver;
  auto migrations = svckit::db::load_migrations(dir);
  if (!migrations) {
    std::fprintf(stderr, "svckit: %s\n", migrations.error().to_string().c_str());
    return 2;
  }
  svckit::Runtime rt({.workers = 1});
  auto db = svckit::db::open_database(rt, settings);
  if (!db) {
    std::fprintf(stderr, "svckit: %s\n", db.error().to_string().c_str());
    return 1;
  }
  svckit::Context ctx = svckit::Context().with_timeout(std::chrono::minutes(10));
  int rc = 0;
  if (action == "up") {
    auto applied = rt.block_on(svckit::db::migrate_up(ctx, **db, *migrations, logger));
    if (!applied) {
      std::fprintf(stderr, "svckit: migrate up failed: %s\n", applied.error().to_string().c_str());
      rc = 1;
    } else {
      std::printf("applied %d migration(s) from %s on %s\n", *applied, dir.c_str(), settings.driver.c_str());
    }
  } else {
    auto status = rt.block_on(svckit::db::migration_status(ctx, **db, *migrations));
    if (!status) {
      std::fprintf(stderr, "svckit: migrate status failed: %s\n", status.error().to_string().c_str());
      rc = 1;
    } else {
      for (auto& m : *status)
        std::printf("%04d %-30s %s\n", m.version, m.name.c_str(),
                    m.changed   ? "CHANGED since applied"
                    : m.applied ? ("applied " + m.applied_at).c_str()
                                : "pending");
    }
  }
  (*db)->close();
  return rc;
}
