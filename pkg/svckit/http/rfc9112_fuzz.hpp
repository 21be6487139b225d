#pragma once
// The fuzz oracles' own reading of RFC 9110/9112's character classes (response_fuzz.cpp,
// chunked_fuzz.cpp): written from the RFC, apart from the parser they check.
#include <cstdlib>
#include <string_view>

namespace svckit::http::fuzz {

inline void require(bool ok) {
  if (!ok) std::abort();
}
// RFC 9110 §5.6.2 token characters.
inline bool tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
// RFC 9110 §5.5 field-vchar, SP and HTAB (obs-text included).
inline bool value_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

}  // namespace svckit::http::fuzz
