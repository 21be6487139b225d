// svckit config check: loads a service's configuration folder as the service would (base.yaml <
// services/<name>.yaml < <env>/*.yaml < SVCKIT_* env < --set) with every section the App defines and
// db:, and prints each key's value and source, secrets redacted. Errors name the key and file:line.
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "svckit/app/settings.hpp"
#include "svckit/config/config.hpp"
#include "svckit/db/settings.hpp"
#include "svckit/discovery/settings.hpp"
#include "svckit/discovery_etcd/etcd_config_source.hpp"
#include "svckit/http/settings.hpp"
#include "svckit/log/settings.hpp"
#include "svckit/resilience/settings.hpp"
#include "svckit/trace/settings.hpp"

namespace svckit::cli {

namespace {

namespace fs = std::filesystem;

int check_usage() {
  std::fputs(
      "usage: svckit config check [--env ENV] [--service NAME] [--set key=value]... [DIR]\n"
      "  DIR      the service's folder (its configs/ is read) or a configuration folder; default .\n"
      "  NAME     whose services/NAME.yaml is read; default DIR's folder name\n",
      stderr);
  return 2;
}

const std::vector<std::string> kSections = {"log",  "http",       "trace",     "app",           "admin",
                                            "otlp", "resilience", "discovery", "config.remote", "db"};

}  // namespace

int config_check(const Args& args) {
  config::ConfigOptions options;
  std::string dir = ".";
  bool dir_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool has_value = i + 1 < args.size();
    if (a == "--env" && has_value)
      options.env = args[++i];
    else if (a == "--service" && has_value)
      options.service = args[++i];
    else if (a == "--set" && has_value)
      options.sets.push_back(args[++i]);
    else if (!a.starts_with("-") && !dir_given) {
      dir = a;
      dir_given = true;
    } else {
      return check_usage();
    }
  }
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::absolute(dir), ec);
  if (!fs::is_directory(root, ec)) {
    std::fprintf(stderr, "svckit: %s is not a folder\n", dir.c_str());
    return 2;
  }
  fs::path folder = root / "configs";
  if (!fs::is_directory(folder, ec)) {
    if (!fs::exists(root / "base.yaml", ec)) {
      std::fprintf(stderr, "svckit: %s has no configs/ folder (nor a base.yaml)\n", root.c_str());
      return 2;
    }
    folder = root;
    root = root.parent_path();
  }
  if (options.service.empty()) options.service = root.filename().string();
  options.dir = folder.string();

  config::Config cfg(options);
  cfg.define<log::LogSettings>("log");
  cfg.define<http::ServerSettings>("http");
  cfg.define<trace::TraceSettings>("trace");
  cfg.define<app::AppSettings>("app");
  cfg.define<app::AdminSettings>("admin");
  cfg.define<app::OtlpSettings>("otlp");
  cfg.define<resilience::ResilienceSettings>("resilience");
  cfg.define<discovery::DiscoverySettings>("discovery");
  cfg.define<discovery::RemoteConfigOptions>("config.remote");
  cfg.define<db::DbSettings>("db");
  if (auto st = cfg.load(); !st.ok()) {
    std::fprintf(stderr, "svckit: configuration of %s (env %s) has errors:\n%s\n", options.service.c_str(),
                 cfg.env().c_str(), std::string(st.message()).c_str());
    return 2;
  }
  std::printf("# %s, env %s, folder %s\n", options.service.c_str(), cfg.env().c_str(), cfg.dir().c_str());
  std::fputs(cfg.print(true).c_str(), stdout);
  // Sections the service defines itself are shown, not validated: the service's own binary does that
  // (SERVICE --print-config).
  std::set<std::string> own;
  for (const auto& [key, entry] : cfg.snapshot()->values) {
    std::string top = key.substr(0, key.find('.'));
    bool known = false;
    for (const auto& s : kSections) known = known || key == s || key.starts_with(s + ".");
    if (!known) own.insert(top);
  }
  std::string list;
  for (const auto& s : own) list += (list.empty() ? "" : ", ") + s;
  std::printf("# checked: log, http, trace, app, admin, otlp, resilience, discovery, config.remote, db\n");
  if (!list.empty())
    std::printf("# not checked here (the service's own; `%s --print-config` checks them): %s\n",
                options.service.c_str(), list.c_str());
  return 0;
}

}  // namespace svckit::cli
