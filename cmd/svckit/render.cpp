#include "render.hpp"

#include <vector>

namespace svckit::cli {

namespace {

struct Tag {
  std::size_t begin = 0;  // of "{{"
  std::size_t end = 0;    // after "}}"
  char kind = 0;          // '#', '^', '/' or 0 for a value
  std::string_view key;
};

// The next tag at or after pos; begin == npos when there is none.
Tag next_tag(std::string_view text, std::size_t pos) {
  Tag t;
  t.begin = text.find("{{", pos);
  if (t.begin == std::string_view::npos) return t;
  std::size_t close = text.find("}}", t.begin + 2);
  if (close == std::string_view::npos) {
    t.begin = std::string_view::npos;
    return t;
  }
  std::string_view inner = text.substr(t.begin + 2, close - t.begin - 2);
  if (!inner.empty() && (inner[0] == '#' || inner[0] == '^' || inner[0] == '/')) {
    t.kind = inner[0];
    inner.remove_prefix(1);
  }
  t.key = inner;
  t.end = close + 2;
  return t;
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t") == std::string_view::npos;
}

int line_of(std::string_view text, std::size_t pos) {
  int n = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) n += text[i] == '\n';
  return n;
}

}  // namespace

Rendered render(std::string_view text, const Vars& vars) {
  Rendered out;
  struct Open {
    std::string_view key;
    bool was_emitting;
  };
  std::vector<Open> open;
  bool emitting = true;
  std::size_t pos = 0;
  while (pos < text.size()) {
    Tag t = next_tag(text, pos);
    if (t.begin == std::string_view::npos) {
      if (emitting) out.text.append(text.substr(pos));
      break;
    }
    std::size_t from = pos, to = t.begin, resume = t.end;
    if (t.kind != 0) {
      // A section tag alone on its line takes the line with it.
      std::size_t line_start = t.begin;
      while (line_start > 0 && text[line_start - 1] != '\n') --line_start;
      std::size_t line_end = text.find('\n', t.end);
      std::size_t stop = line_end == std::string_view::npos ? text.size() : line_end;
      if (line_start >= pos && blank(text.substr(line_start, t.begin - line_start)) &&
          blank(text.substr(t.end, stop - t.end))) {
        to = line_start;
        resume = line_end == std::string_view::npos ? text.size() : line_end + 1;
      }
    }
    if (emitting) out.text.append(text.substr(from, to - from));
    pos = resume;
    if (t.kind == '#' || t.kind == '^') {
      bool set = vars.flags.count(t.key) > 0;
      open.push_back({t.key, emitting});
      emitting = emitting && (t.kind == '#' ? set : !set);
    } else if (t.kind == '/') {
      if (open.empty() || open.back().key != t.key) {
        out.error = "line " + std::to_string(line_of(text, t.begin)) + ": {{/" + std::string(t.key) +
                    "}} closes no open section";
        return out;
      }
      emitting = open.back().was_emitting;
      open.pop_back();
    } else if (emitting) {
      auto it = vars.values.find(t.key);
      if (it == vars.values.end()) {
        out.error = "line " + std::to_string(line_of(text, t.begin)) + ": unknown key {{" + std::string(t.key) + "}}";
        return out;
      }
      out.text.append(it->second);
    }
  }
  if (!open.empty()) out.error = "{{#" + std::string(open.back().key) + "}} is never closed";
  return out;
}

Rendered render_path(std::string_view path, const Vars& vars) {
  std::string p(path);
  if (auto dot = p.rfind(".if-"); dot != std::string::npos && p.find('/', dot) == std::string::npos) {
    std::string flag = p.substr(dot + 4);
    if (!vars.flags.count(flag)) return {};
    p.erase(dot);
  }
  return render(p, vars);
}

Vars service_vars(std::string_view name) {
  Vars v;
  std::string snake, pascal, upper;
  bool cap = true;
  for (char c : name) {
    if (c == '-') {
      snake += '_';
      upper += '_';
      cap = true;
      continue;
    }
    snake += c;
    upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    pascal += (cap && c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    cap = false;
  }
  v.values["name"] = std::string(name);
  v.values["name_snake"] = snake;
  v.values["Name"] = pascal;
  v.values["NAME"] = upper;
  return v;
}

bool valid_service_name(std::string_view name) {
  if (name.size() < 2 || name.size() > 31) return false;
  if (name.front() < 'a' || name.front() > 'z' || name.back() == '-') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

}  // namespace svckit::cli
