// Binding a snapshot's keys into described structs: fields, lists and maps of structs, and the key
// paths errors show.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <string>

#include "svckit/config/config.hpp"

namespace svckit::config {

namespace detail {

std::string env_name(std::string_view prefix, std::string_view key) {
  std::string out(prefix);
  out += '_';
  for (char c : key)
    out += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_index(std::string_view segment) {
  if (segment.size() > 1 && segment[0] == '0') return false;  // "00" is a name, not item 0
  return !segment.empty() && std::all_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string display_key(std::string_view key) {
  std::string out;
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t dot = key.find('.', start);
    std::string_view seg = key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (start > 0 && is_index(seg)) {
      out += '[';
      out += seg;
      out += ']';
    } else {
      if (start > 0) out += '.';
      out += seg;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

namespace {
// Calls fn(full key, the segment after prefix, entry) for each key under prefix ("a.b.").
template <class F>
void for_each_under(const Snapshot& snap, const std::string& prefix, F fn) {
  for (auto it = snap.values.lower_bound(prefix); it != snap.values.end() && it->first.starts_with(prefix); ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    fn(it->first, rest, it->second);
  }
}
}  // namespace

std::vector<std::size_t> list_items(const Snapshot& snap, const std::string& key, std::vector<std::string>& errors) {
  std::set<std::size_t> seen;
  for_each_under(snap, key + ".", [&](const std::string& full, std::string_view rest, const Entry& e) {
    auto dot = rest.find('.');
    std::string_view seg = rest.substr(0, dot);
    if (!is_index(seg) || dot == std::string_view::npos) {
      errors.push_back(display_key(full) + ": not a field of an item of the list " + display_key(key) +
                       " (a YAML sequence of maps: " + display_key(key) + "[N].field) (" + e.origin.to_string() + ")");
      return;
    }
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), n);
    if (ec != std::errc() || end != seg.data() + seg.size() || n > 100000) {
      errors.push_back(display_key(full) + ": list index out of range (" + e.origin.to_string() + ")");
      return;
    }
    seen.insert(n);
  });
  std::size_t expect = 0;
  for (std::size_t n : seen) {
    if (n != expect) {
      errors.push_back(display_key(key + "." + std::to_string(expect)) +
                       ": missing (set from the environment or --set, list items are numbered from 0 without gaps)");
      break;
    }
    ++expect;
  }
  return {seen.begin(), seen.end()};
}

std::vector<std::string> map_items(const Snapshot& snap, const std::string& key, std::vector<std::string>& errors) {
  std::set<std::string> names;
  for_each_under(snap, key + ".", [&](const std::string& full, std::string_view rest, const Entry& e) {
    auto dot = rest.find('.');
    if (dot == std::string_view::npos) {
      errors.push_back(display_key(full) + ": expected a map of settings under " + display_key(key) + " (" +
                       e.origin.to_string() + ")");
      return;
    }
    names.insert(std::string(rest.substr(0, dot)));
  });
  return {names.begin(), names.end()};
}

void bind_string_map(const Snapshot& snap, const std::string& key, std::map<std::string, std::string>& out,
                     std::vector<std::string>& errors) {
  std::map<std::string, std::string> found;
  for_each_under(snap, key + ".", [&](const std::string& full, std::string_view rest, const Entry& e) {
    if (rest.find('.') != std::string_view::npos || e.is_list) {
      errors.push_back(display_key(full) + ": expected a map of strings under " + display_key(key) + " (" +
                       e.origin.to_string() + ")");
      return;
    }
    found.emplace(std::string(rest), e.value);
  });
  if (!found.empty()) out = std::move(found);
}

void check_item_keys(const Snapshot& snap, const std::string& item_prefix, const std::vector<std::string>& known,
                     std::vector<std::string>& errors) {
  for_each_under(snap, item_prefix + ".", [&](const std::string& full, std::string_view rest, const Entry& e) {
    for (const auto& k : known)
      if (rest == k || (k.ends_with('.') && rest.starts_with(k))) return;
    errors.push_back(display_key(full) + ": unknown key (" + e.origin.to_string() + ")");
  });
}

void bind_specs(const Snapshot& snap, std::string_view prefix, const std::vector<FieldSpec>& specs, void* obj,
                std::vector<std::string>& errors) {
  std::vector<std::string> set;  // keys a source other than the defaults gave
  for (auto& spec : specs) {
    if (spec.record_set) continue;
    std::string key = prefix.empty() ? spec.key : std::string(prefix) + "." + spec.key;
    if (spec.bind_tree) {
      if (const Entry* e = snap.find(key)) {
        // The key itself has a value: `key: []` empties the list; a scalar is an error.
        if (auto st = spec.assign(*e, obj); !st.ok())
          errors.push_back(display_key(key) + ": " + std::string(st.message()) + " (" + e->origin.to_string() + ")");
        continue;
      }
      std::size_t before = errors.size();
      spec.bind_tree(snap, key, obj, errors);
      if (errors.size() != before) continue;
      for (auto& check : spec.checks) {
        if (auto st = check(obj); !st.ok()) {
          errors.push_back(display_key(key) + ": " + std::string(st.message()));
          break;
        }
      }
      continue;
    }
    const Entry* e = snap.find(key);
    if (!e) {
      if (spec.required)
        errors.push_back(display_key(key) + ": required but not set (set it in a config file, " +
                         env_name("SVCKIT", key) + " or --set " + key + "=...)");
      continue;
    }
    if (auto st = spec.assign(*e, obj); !st.ok()) {
      errors.push_back(display_key(key) + ": " + std::string(st.message()) + " (" + e->origin.to_string() + ")");
      continue;
    }
    if (e->origin.source != "default") set.push_back(spec.key);
    for (auto& check : spec.checks) {
      if (auto st = check(obj); !st.ok()) {
        errors.push_back(display_key(key) + ": " + std::string(st.message()) + " (" + e->origin.to_string() + ")");
        break;
      }
    }
  }
  for (auto& spec : specs)
    if (spec.record_set) spec.record_set(set, obj);
}

Status join_errors(const std::vector<std::string>& errors) {
  if (errors.empty()) return {};
  std::string msg = errors.size() == 1 ? "invalid configuration: "
                                       : "invalid configuration (" + std::to_string(errors.size()) + " errors):";
  if (errors.size() == 1) {
    msg += errors[0];
  } else {
    for (auto& e : errors) msg += "\n  " + e;
  }
  return Status(Code::kInvalidArgument, "CONFIG_INVALID", std::move(msg));
}

}  // namespace detail

}  // namespace svckit::config
