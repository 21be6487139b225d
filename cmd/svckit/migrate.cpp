// svckit migrate up|status: the database from the same layered config as the service (configs/ with
// services/<service>.yaml, SVCKIT_* env, --set; relative paths from the service's root, as the App
// takes them); --dir is the service's migrations folder (its sqlite/ or postgres/ subfolder is used
// when present), by default the configuration's db.migrations, else migrations/ or the one
// internal/*/migrations of the service's root.
#include "svckit/db/migrate.hpp"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.hpp"
#include "svckit/config/config.hpp"
#include "svckit/db/settings.hpp"

namespace svckit::cli {

namespace {

namespace fs = std::filesystem;

// root/migrations, else root/internal/<x>/migrations when exactly one exists.
std::string default_dir(const fs::path& root, std::string& why) {
  std::error_code ec;
  if (fs::is_directory(root / "migrations", ec)) return (root / "migrations").string();
  std::vector<std::string> found;
  for (const auto& de : fs::directory_iterator(root / "internal", ec))
    if (fs::is_directory(de.path() / "migrations", ec)) found.push_back((de.path() / "migrations").string());
  if (found.size() == 1) return found[0];
  why = found.empty() ? "no migrations/ or internal/*/migrations here: pass --dir"
                      : "several internal/*/migrations here: pass --dir";
  return "";
}

int migrate_usage() {
  std::fputs(
      "usage: svckit migrate up|status [--dir DIR] [--config-dir DIR] [--env ENV] [--service NAME]\n"
      "                                [--set key=value]...\n"
      "  up      apply pending migrations (in one transaction, under a lock)\n"
      "  status  list applied, pending and changed migrations\n"
      "  DIR     default: db.migrations when configured, else migrations/ or the one\n"
      "          internal/*/migrations folder of the service's root (the folder holding configs/)\n"
      "  NAME    whose configs/services/NAME.yaml is read; default: the root's folder name\n",
      stderr);
  return 2;
}

}  // namespace

int migrate(const std::string& action, const Args& args) {
  std::string dir, service;
  std::vector<const char*> rest = {"svckit"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    bool has_value = i + 1 < args.size();
    if ((args[i] == "--dir" || args[i] == "--service") && !has_value) return migrate_usage();
    if (args[i] == "--dir")
      dir = args[++i];
    else if (args[i] == "--service")
      service = args[++i];
    else
      rest.push_back(args[i].c_str());
  }
  auto cl = config::parse_command_line(static_cast<int>(rest.size()), rest.data());
  if (!cl) {
    std::fprintf(stderr, "svckit: %s\n", std::string(cl.error().message()).c_str());
    return 2;
  }
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (service.empty()) {
    const std::string& named = cl->options.dir;
    fs::path root = named.empty() || named == "none" ? cwd : fs::absolute(named, ec).lexically_normal().parent_path();
    service = root.filename().string();
  }
  cl->options.service = service;
  log::Logger logger({.sink = log::StreamSink::stderr_sink()});
  config::Config cfg(cl->options);
  cfg.define<db::DbSettings>("db");
  if (auto st = cfg.load(); !st.ok()) {
    std::fprintf(stderr, "svckit: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  auto settings = *cfg.get<db::DbSettings>("db");
  settings.sqlite.path = cfg.resolve(settings.sqlite.path);
  if (dir.empty()) {
    const config::Entry* configured = cfg.snapshot()->find("db.migrations");
    std::string why;
    if (configured && configured->origin.source != "default")
      dir = cfg.resolve(settings.migrations);
    else
      dir = default_dir(cfg.dir().empty() ? cwd : fs::path(cfg.dir()).parent_path(), why);
    if (dir.empty()) {
      std::fprintf(stderr, "svckit: %s\n", why.c_str());
      return migrate_usage();
    }
  }
  if (fs::is_directory(dir + "/" + settings.driver)) dir += "/" + settings.driver;
  auto migrations = db::load_migrations(dir);
  if (!migrations) {
    std::fprintf(stderr, "svckit: %s\n", migrations.error().to_string().c_str());
    return 2;
  }
  Runtime rt({.workers = 1});
  auto opened = db::open_database(rt, settings);
  if (!opened) {
    std::fprintf(stderr, "svckit: %s\n", opened.error().to_string().c_str());
    return 1;
  }
  Context ctx = Context().with_timeout(std::chrono::minutes(10));
  int rc = 0;
  if (action == "up") {
    auto applied = rt.block_on(db::migrate_up(ctx, **opened, *migrations, logger));
    if (!applied) {
      std::fprintf(stderr, "svckit: migrate up failed: %s\n", applied.error().to_string().c_str());
      rc = 1;
    } else {
      std::printf("applied %d migration(s) from %s on %s\n", *applied, dir.c_str(), settings.driver.c_str());
    }
  } else {
    auto status = rt.block_on(db::migration_status(ctx, **opened, *migrations));
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
  (*opened)->close();
  return rc;
}

}  // namespace svckit::cli
