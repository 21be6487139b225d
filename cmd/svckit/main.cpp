// svckit: the command-line tool.
//   svckit new NAME [--grpc] [--db sqlite|postgres] [--dir DIR] [--force]   a new service from templates
//   svckit config check [--env ENV] [--set key=value]... [DIR]             a service's configuration
//   svckit migrate up|status [--dir DIR] [--config-dir DIR] [--set ...]    database migrations
//   svckit version                                                         version and build
// docs/getting-started.md walks through them.
#include <cstdio>
#include <string>

#include "commands.hpp"

namespace svckit::cli {

int version() {
  std::string tdir = templates_dir();
  std::string sanitize = SVCKIT_SANITIZE;
  std::printf("svckit %s (revision %s at configure)\n", SVCKIT_VERSION, SVCKIT_REVISION);
  std::printf("build: %s, g++ %s, __cplusplus %ldL%s\n", SVCKIT_BUILD_TYPE, __VERSION__, static_cast<long>(__cplusplus),
              sanitize.empty() ? "" : (", sanitizer " + sanitize).c_str());
  std::printf("templates: %s\n", tdir.empty() ? "(not found)" : tdir.c_str());
  return 0;
}

}  // namespace svckit::cli

namespace {

int usage(FILE* to = stderr) {
  std::fputs(
      "usage: svckit COMMAND ...\n"
      "  new NAME [--grpc] [--db sqlite|postgres] [--dir DIR] [--force]\n"
      "                        create DIR/NAME (default ./NAME): a service that builds against svckit\n"
      "  config check [--env ENV] [--set key=value]... [DIR]\n"
      "                        load DIR's configs/ (default .) as a service does; print each key, its value\n"
      "                        and source (secrets redacted); exit 2 on errors\n"
      "  migrate up|status [--dir DIR] [--config-dir DIR] [--env ENV] [--set key=value]...\n"
      "                        apply or list migrations (DIR default: db.migrations, else migrations/ or\n"
      "                        internal/*/migrations)\n"
      "  version               svckit's version and build\n",
      to);
  return to == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string cmd = argv[1];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") return usage(stdout);
  svckit::cli::Args rest(argv + 2, argv + argc);
  if (cmd == "new") return svckit::cli::new_service(rest);
  if (cmd == "version" || cmd == "--version") return svckit::cli::version();
  if (cmd == "config" && !rest.empty() && rest[0] == "check")
    return svckit::cli::config_check(svckit::cli::Args(rest.begin() + 1, rest.end()));
  if (cmd == "migrate" && !rest.empty() && (rest[0] == "up" || rest[0] == "status"))
    return svckit::cli::migrate(rest[0], svckit::cli::Args(rest.begin() + 1, rest.end()));
  return usage();
}
