#include "svckit/core/redact.hpp"

#include <cctype>

namespace svckit {

namespace {

bool key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  s = s.substr(s.size() - suffix.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != suffix[i]) return false;
  return true;
}

bool credential_key(std::string_view key) {
  for (std::string_view k : {"password", "passwd", "secret", "token", "apikey", "api_key", "access_key"})
    if (ends_with_nocase(key, k)) return true;
  return key.size() == 3 && ends_with_nocase(key, "pwd");
}

// The end of a value starting at i: a quoted value ('...' with \' escapes, as libpq writes them) or
// up to the next space, '&' or ';'.
std::size_t value_end(std::string_view s, std::size_t i) {
  if (i < s.size() && (s[i] == '\'' || s[i] == '"')) {
    char q = s[i];
    for (std::size_t j = i + 1; j < s.size(); ++j) {
      if (s[j] == '\\') {
        ++j;
        continue;
      }
      if (s[j] == q) return j + 1;
    }
    return s.size();
  }
  std::size_t j = i;
  while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])) && s[j] != '&' && s[j] != ';') ++j;
  return j;
}

}  // namespace

std::string redact_credentials(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    // scheme://user:password@host: the password goes.
    if (s.compare(i, 3, "://") == 0) {
      std::size_t start = i + 3;
      std::size_t end = start;
      while (end < s.size() && s[end] != '/' && s[end] != '?' && s[end] != '#' &&
             !std::isspace(static_cast<unsigned char>(s[end])))
        ++end;
      std::string_view authority = s.substr(start, end - start);
      auto at = authority.rfind('@');
      auto colon = at == std::string_view::npos ? std::string_view::npos : authority.substr(0, at).find(':');
      out.append("://");
      if (colon != std::string_view::npos) {
        out.append(authority.substr(0, colon + 1)).append(kRedacted).append(authority.substr(at));
      } else {
        out.append(authority);
      }
      i = end;
      continue;
    }
    // key=value with a credential key: the value goes.
    if (key_char(s[i]) && (i == 0 || !key_char(s[i - 1]))) {
      std::size_t k = i;
      while (k < s.size() && key_char(s[k])) ++k;
      std::size_t eq = k;
      while (eq < s.size() && s[eq] == ' ') ++eq;
      if (eq < s.size() && s[eq] == '=' && credential_key(s.substr(i, k - i))) {
        std::size_t v = eq + 1;
        while (v < s.size() && s[v] == ' ') ++v;
        out.append(s.substr(i, v - i)).append(kRedacted);
        i = value_end(s, v);
        continue;
      }
      out.append(s.substr(i, k - i));
      i = k;
      continue;
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}

}  // namespace svckit
