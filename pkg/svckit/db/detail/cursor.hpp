#pragma once
// Internal: keyset pagination cursors. A cursor is the page key of the last row a page returned,
// serialised with its types, bound to the listing it came from (table, key, order, condition and its
// parameters) and signed with HMAC-SHA256 (keyed by TableOptions::cursor_secret; without one the MAC
// still catches corruption and cursors of another listing, but anyone can forge one). Encoded as
// base64url without padding, so it is opaque and URL-safe.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/db/value.hpp"

namespace svckit::db::detail {

std::array<std::uint8_t, 32> sha256(std::string_view data);
std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view data);

// Appends a parameter's type and value (the cursor's payload, and what binds a cursor to a listing).
void serialize(const Param& p, std::string& out);
// The tag serialize writes first for p's type.
std::uint8_t type_tag(const Param& p) noexcept;

std::string base64url(std::string_view bytes);
bool from_base64url(std::string_view text, std::string& out);

// `listing` is what the cursor is valid for (see above); `values` the page key of the last row.
std::string make_cursor(std::string_view secret, std::string_view listing, const Params& values);
// The values back, when token is a cursor made for this listing with this secret and holds
// `expected_tags.size()` values of those types; INVALID_ARGUMENT/BAD_CURSOR otherwise.
Result<Params> read_cursor(std::string_view secret, std::string_view listing, std::string_view token,
                           const std::vector<std::uint8_t>& expected_tags);

}  // namespace svckit::db::detail
