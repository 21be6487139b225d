#pragma once
// The svckit tool's commands; each takes its own arguments (after the command's words) and returns
// the exit code: 0 done, 1 failed, 2 bad usage or bad input.
#include <string>
#include <vector>

namespace svckit::cli {

using Args = std::vector<std::string>;

int new_service(const Args& args);   // svckit new NAME [--grpc] [--db sqlite|postgres] [--dir DIR] [--force]
int config_check(const Args& args);  // svckit config check [--env ENV] [--set k=v]... [DIR]
int migrate(const std::string& action, const Args& args);  // svckit migrate up|status [--dir DIR] ...
int version();                                             // svckit version

// The folder of the service templates: $SVCKIT_TEMPLATES, else share/svckit/templates beside the
// installed binary, else the source tree's templates/ for a binary in the build tree. "" if none.
std::string templates_dir();

}  // namespace svckit::cli
