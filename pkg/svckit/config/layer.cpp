#include "svckit/config/layer.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace svckit::config {

namespace {

void flatten(const YAML::Node& node, const std::string& prefix, const std::string& source, Layer& out) {
  Origin origin{source, node.Mark().line >= 0 ? node.Mark().line + 1 : 0};
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return;  // `key:` with no value leaves the key unset
    case YAML::NodeType::Scalar:
      out[prefix] = Entry{node.Scalar(), {}, false, origin};
      return;
    case YAML::NodeType::Map:
      for (auto it = node.begin(); it != node.end(); ++it) {
        std::string key = it->first.as<std::string>();
        flatten(it->second, prefix.empty() ? key : prefix + "." + key, source, out);
      }
      return;
    case YAML::NodeType::Sequence: {
      bool scalars = true;
      for (auto it = node.begin(); it != node.end(); ++it)
        if (!it->IsScalar()) scalars = false;
      if (scalars) {
        Entry e{{}, {}, true, origin};
        for (auto it = node.begin(); it != node.end(); ++it) {
          if (!e.value.empty()) e.value += ',';
          e.value += it->Scalar();
          e.items.push_back(it->Scalar());
        }
        out[prefix] = std::move(e);
      } else {
        std::size_t i = 0;
        for (auto it = node.begin(); it != node.end(); ++it, ++i)
          flatten(*it, prefix + "." + std::to_string(i), source, out);
      }
      return;
    }
  }
}

}  // namespace

Result<Layer> parse_yaml(std::string_view text, const std::string& source_name) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    Layer layer;
    if (!root.IsNull() && !root.IsMap())
      return make_error(Code::kInvalidArgument, source_name + ": the top level must be a mapping of keys");
    flatten(root, "", source_name, layer);
    return layer;
  } catch (const YAML::Exception& e) {
    return make_error(Code::kInvalidArgument, source_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                                  std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<Layer> load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Code::kNotFound, path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_yaml(ss.str(), path);
}

}  // namespace svckit::config
