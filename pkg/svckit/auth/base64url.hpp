#pragma once
// base64url without padding (RFC 4648 §5), as JWS and JWK use it. Decoding is strict: padding,
// characters outside the URL-safe alphabet, a length no encoding has, and non-canonical encodings
// (unused trailing bits set) are all refused, so that one byte string has exactly one textual form
// and a token cannot be altered without changing what was signed.
#include <string>
#include <string_view>

#include "svckit/core/status.hpp"

namespace svckit::auth {

std::string base64url_encode(std::string_view bytes);
void base64url_append(std::string& out, std::string_view bytes);
// INVALID_ARGUMENT naming the first fault.
Result<std::string> base64url_decode(std::string_view text);

}  // namespace svckit::auth
