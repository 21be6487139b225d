// svckit new: a service from templates/service/ (render.hpp says the template language).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "render.hpp"

namespace svckit::cli {

namespace {

namespace fs = std::filesystem;

int new_usage() {
  std::fputs(
      "usage: svckit new NAME [--grpc] [--db sqlite|postgres] [--dir DIR] [--force]\n"
      "  NAME     [a-z][a-z0-9-]{1,30}: the service, its binary and its config section\n"
      "  --grpc   a gRPC API (api/NAME/v1/NAME.proto) beside the HTTP one\n"
      "  --db     the database it starts on (default sqlite); migrations are made for both\n"
      "  --dir    where DIR/NAME is created (default .)\n"
      "  --force  write into an existing DIR/NAME (files of the same name are replaced)\n",
      stderr);
  return 2;
}

fs::path self_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string templates_dir() {
  std::error_code ec;
  if (const char* env = std::getenv("SVCKIT_TEMPLATES"); env && *env) return env;
  fs::path self = self_dir();
  if (self.empty()) return "";
  if (fs::path installed = self.parent_path() / "share" / "svckit" / "templates"; fs::is_directory(installed, ec))
    return installed.string();
  std::string binary_dir = SVCKIT_BINARY_DIR;
  if (self.string().starts_with(binary_dir + "/") && fs::is_directory(SVCKIT_SOURCE_TEMPLATES, ec))
    return SVCKIT_SOURCE_TEMPLATES;
  return "";
}

int new_service(const Args& args) {
  std::string name, db = "sqlite", dir = ".";
  bool grpc = false, force = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--grpc")
      grpc = true;
    else if (a == "--force")
      force = true;
    else if (a == "--db" && i + 1 < args.size())
      db = args[++i];
    else if (a == "--dir" && i + 1 < args.size())
      dir = args[++i];
    else if (!a.starts_with("-") && name.empty())
      name = a;
    else
      return new_usage();
  }
  if (name.empty()) return new_usage();
  if (!valid_service_name(name)) {
    std::fprintf(stderr,
                 "svckit: \"%s\" is not a service name: [a-z][a-z0-9-]{1,30} (lower case, digits and '-', "
                 "starting with a letter, not ending in '-')\n",
                 name.c_str());
    return 2;
  }
  if (db != "sqlite" && db != "postgres") {
    std::fprintf(stderr, "svckit: --db %s: expected sqlite or postgres\n", db.c_str());
    return 2;
  }
  std::string tdir = templates_dir();
  fs::path source = fs::path(tdir) / "service";
  std::error_code ec;
  if (tdir.empty() || !fs::is_directory(source, ec)) {
    std::fprintf(stderr,
                 "svckit: cannot find the service templates (share/svckit/templates/service beside %s; "
                 "or set SVCKIT_TEMPLATES)\n",
                 self_dir().c_str());
    return 1;
  }
  fs::path target = (fs::path(dir) / name).lexically_normal();
  if (fs::exists(target, ec) && !force) {
    std::fprintf(stderr, "svckit: %s already exists: not overwriting it (--force writes into it)\n", target.c_str());
    return 1;
  }

  // The prefix this svckit is installed in, for find_package (a placeholder for a build tree's binary).
  fs::path prefix = fs::path(tdir).parent_path().parent_path().parent_path();
  std::string prefix_text = fs::exists(prefix / "lib" / "cmake" / "svckit", ec) ? prefix.string() : "<svckit's prefix>";

  Vars vars = service_vars(name);
  vars.values["db"] = db;
  vars.values["svckit_prefix"] = prefix_text;
  vars.values["svckit_version"] = SVCKIT_VERSION;
  vars.flags.insert(db);
  if (grpc) vars.flags.insert("grpc");

  // Render everything first: a broken template writes nothing.
  struct File {
    fs::path path;
    std::string text;
    bool executable;
  };
  std::vector<File> files;
  for (auto it = fs::recursive_directory_iterator(source, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string rel = fs::relative(it->path(), source).generic_string();
    Rendered path = render_path(rel, vars);
    if (!path.error.empty()) {
      std::fprintf(stderr, "svckit: template path %s: %s\n", rel.c_str(), path.error.c_str());
      return 1;
    }
    if (path.text.empty()) continue;  // .if-FLAG not set
    Rendered body = render(read_all(it->path()), vars);
    if (!body.error.empty()) {
      std::fprintf(stderr, "svckit: template %s: %s\n", rel.c_str(), body.error.c_str());
      return 1;
    }
    bool exec = path.text.ends_with(".sh");  // scripts stay runnable, however the templates were installed
    files.push_back({path.text, std::move(body.text), exec});
  }
  if (ec) {
    std::fprintf(stderr, "svckit: reading %s: %s\n", source.c_str(), ec.message().c_str());
    return 1;
  }
  std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.path < b.path; });
  for (const auto& f : files) {
    fs::path out = target / f.path;
    fs::create_directories(out.parent_path(), ec);
    std::ofstream o(out, std::ios::binary | std::ios::trunc);
    o << f.text;
    o.close();
    if (!o) {
      std::fprintf(stderr, "svckit: cannot write %s\n", out.c_str());
      return 1;
    }
    if (f.executable) fs::permissions(out, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add, ec);
    std::printf("  created %s\n", out.c_str());
  }
  std::printf(
      "\n%s: %zu files (%s%s).\nNext:\n"
      "  cd %s\n"
      "  cmake -S . -B build -G Ninja -DCMAKE_PREFIX_PATH=%s\n"
      "  cmake --build build && ctest --test-dir build --output-on-failure\n"
      "  ./build/%s%s   # HTTP :8080, admin :8081 (/healthz /readyz /metrics)\n"
      "  curl -X POST localhost:8080/v1/items -H 'Content-Type: application/json' -d '{\"name\":\"first\"}'\n"
      "  svckit config check .               # each key, its value and source\n"
      "docs: README.md in the service; svckit's docs/getting-started.md\n",
      name.c_str(), files.size(), db.c_str(), grpc ? ", gRPC" : "", target.c_str(), prefix_text.c_str(), name.c_str(),
      db == "postgres" ? " --set db.postgres.dsn='host=... dbname=... user=...'" : "");
  return 0;
}

}  // namespace svckit::cli
