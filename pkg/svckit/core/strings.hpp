#pragma once
// ASCII case folding for protocol text: HTTP header names and tokens, gRPC metadata keys, config
// keywords. Bytes outside A-Z are left as they are and no locale is consulted, so the result does not
// depend on the process's locale; inline, since the HTTP parser compares header names on every request.
#include <string>
#include <string_view>

namespace svckit {

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
}

// True when a and b are equal ignoring ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

inline void ascii_lower_in_place(std::string& s) noexcept {
  for (char& c : s) c = ascii_lower(c);
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  ascii_lower_in_place(out);
  return out;
}

}  // namespace svckit
