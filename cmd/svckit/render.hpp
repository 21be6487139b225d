#pragma once
// The template language of templates/service/ (docs/getting-started.md#templates), kept minimal:
//   {{key}}                   the value of key ({{name}}, {{Name}}, {{name_snake}}, {{NAME}}, ...)
//   {{#flag}} ... {{/flag}}   kept when flag is set (grpc, postgres, sqlite)
//   {{^flag}} ... {{/flag}}   kept when flag is not set
// A section tag alone on its line removes the whole line; sections nest. A file whose name ends in
// .if-FLAG is rendered only when FLAG is set (the suffix is dropped); path segments take {{key}} too.
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace svckit::cli {

struct Vars {
  std::map<std::string, std::string, std::less<>> values;
  std::set<std::string, std::less<>> flags;
};

struct Rendered {
  std::string text;
  std::string error;  // non-empty: an unknown key or an unbalanced section
};

Rendered render(std::string_view text, const Vars& vars);

// A template file's path rendered, or "" when its .if-FLAG is not set.
Rendered render_path(std::string_view path, const Vars& vars);

// The variables of a service name: name (my-svc), Name (MySvc), name_snake (my_svc), NAME (MY_SVC).
Vars service_vars(std::string_view name);

// [a-z][a-z0-9-]{1,30}, not ending in '-'.
bool valid_service_name(std::string_view name);

}  // namespace svckit::cli
