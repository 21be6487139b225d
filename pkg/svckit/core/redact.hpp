#pragma once
// Credentials hidden inside text that is shown, logged or put in an error: the password of a URL's
// user info (postgresql://user:secret@host/db) and the values of password-like keys in key=value
// strings (libpq's "host=x password=y", query strings). What is not a credential is left as it is, so
// the redacted text still says where a connection goes.
#include <string>
#include <string_view>

namespace svckit {

inline constexpr std::string_view kRedacted = "<redacted>";

std::string redact_credentials(std::string_view text);

}  // namespace svckit
