#pragma once
// The raw material of configuration: flattened keys ("db.pool.max_connections") with their textual
// value and where the value came from, so that every error and --print-config can name its origin.
#include <map>
#include <string>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit::config {

struct Origin {
  std::string source;  // "default", "configs/base.yaml", "env SVCKIT_DB_HOST", "flag --set", "etcd /svc/x"
  int line = 0;        // 1-based; 0 when the source has no lines
  std::string to_string() const { return line > 0 ? source + ":" + std::to_string(line) : source; }
};

struct Entry {
  std::string value;               // scalar text (for lists: the items joined with ',')
  std::vector<std::string> items;  // list items when is_list
  bool is_list = false;
  Origin origin;
};

// One source's keys. Sequences of scalars are lists; sequences of maps flatten as key.0.field.
using Layer = std::map<std::string, Entry, std::less<>>;

// Parses YAML (and JSON, which yaml-cpp reads as YAML flow style) into a layer. Errors carry
// "file:line:column".
Result<Layer> parse_yaml(std::string_view text, const std::string& source_name);
Result<Layer> load_file(const std::string& path);

}  // namespace svckit::config
