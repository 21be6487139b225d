#include "svckit/config/layer.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace svckit::config {

namespace {

// Aliases make a YAML document a graph: one that refers to itself would recurse forever, and nested
// aliases multiply (a few lines can stand for billions of values). No configuration is deeper or larger
// than these.
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxNodes = 100000;

struct Flattener {
  const std::string& source;
  Layer& out;
  std::size_t nodes = 0;
  std::string error;

  bool flatten(const YAML::Node& node, const std::string& prefix, int depth) {
    if (depth > kMaxDepth) return fail(node, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (++nodes > kMaxNodes) return fail(node, "more than " + std::to_string(kMaxNodes) + " values");
    Origin origin{source, node.Mark().line >= 0 ? node.Mark().line + 1 : 0};
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return true;  // `key:` with no value leaves the key unset
      case YAML::NodeType::Scalar:
        out[prefix] = Entry{node.Scalar(), {}, false, origin};
        return true;
      case YAML::NodeType::Map:
        for (auto it = node.begin(); it != node.end(); ++it) {
          std::string key = it->first.as<std::string>();
          if (!flatten(it->second, prefix.empty() ? key : prefix + "." + key, depth + 1)) return false;
        }
        return true;
      case YAML::NodeType::Sequence: {
        bool scalars = true;
        for (auto it = node.begin(); it != node.end(); ++it)
          if (!it->IsScalar()) scalars = false;
        if (scalars) {
          Entry e{{}, {}, true, origin};
          for (auto it = node.begin(); it != node.end(); ++it) {
            if (++nodes > kMaxNodes) return fail(node, "more than " + std::to_string(kMaxNodes) + " values");
            if (!e.value.empty()) e.value += ',';
            e.value += it->Scalar();
            e.items.push_back(it->Scalar());
          }
          out[prefix] = std::move(e);
          return true;
        }
        std::size_t i = 0;
        for (auto it = node.begin(); it != node.end(); ++it, ++i)
          if (!flatten(*it, prefix + "." + std::to_string(i), depth + 1)) return false;
        return true;
      }
    }
    return true;
  }

  bool fail(const YAML::Node& node, const std::string& what) {
    error = source + ":" + std::to_string(node.Mark().line + 1) + ": " + what + " (a recursive or repeated alias?)";
    return false;
  }
};

}  // namespace

Result<Layer> parse_yaml(std::string_view text, const std::string& source_name) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    Layer layer;
    if (!root.IsNull() && !root.IsMap())
      return make_error(Code::kInvalidArgument, source_name + ": the top level must be a mapping of keys");
    Flattener f{source_name, layer};
    if (!f.flatten(root, "", 0)) return make_error(Code::kInvalidArgument, f.error);
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
