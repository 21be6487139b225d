#pragma once
// Internal: the DNS wire format (RFC 1035) as far as the dns backend needs it: a query for one name
// and type (with an EDNS0 OPT record advertising a larger UDP payload, RFC 6891), and a parser of
// answers that trusts nothing in the packet. Every read is bounds-checked, a compression pointer must
// point strictly before the piece of name that holds it (so pointers can neither loop nor point
// forward), names are limited to 255 octets and labels to 63, and record data must have exactly the
// length its type implies. A packet that breaks a rule is an error value, never a crash.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit::discovery::detail::dns {

namespace type {
inline constexpr std::uint16_t kA = 1;
inline constexpr std::uint16_t kCname = 5;
inline constexpr std::uint16_t kSoa = 6;
inline constexpr std::uint16_t kAaaa = 28;
inline constexpr std::uint16_t kSrv = 33;
inline constexpr std::uint16_t kOpt = 41;
}  // namespace type

inline constexpr std::uint16_t kClassIn = 1;

namespace rcode {
inline constexpr std::uint8_t kNoError = 0;
inline constexpr std::uint8_t kFormErr = 1;
inline constexpr std::uint8_t kServFail = 2;
inline constexpr std::uint8_t kNxDomain = 3;
inline constexpr std::uint8_t kNotImp = 4;
inline constexpr std::uint8_t kRefused = 5;
}  // namespace rcode

// The UDP payload size advertised with EDNS0: the DNS Flag Day 2020 value, which avoids IP
// fragmentation on any common path.
inline constexpr std::uint16_t kEdnsPayload = 1232;

// Names are kept in presentation form: lower case, dotted, without the root's trailing dot ("" is
// the root). A label byte that is not a printable character other than '.' and '\\' is written as
// \DDD, so that a hostile label such as "a.b" can never compare equal to a two-label name.
struct Question {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
};

struct Record {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
  std::uint32_t ttl = 0;
  // A (4 bytes) and AAAA (16 bytes).
  std::array<std::uint8_t, 16> address{};
  std::uint8_t address_size = 0;
  // CNAME's alias target and SRV's target host.
  std::string target;
  // SRV (RFC 2782).
  std::uint16_t priority = 0, weight = 0, port = 0;
  // SOA: the smaller of the record's TTL and its MINIMUM field: how long a negative answer holds
  // (RFC 2308).
  std::uint32_t negative_ttl = 0;
};

struct Message {
  std::uint16_t id = 0;
  bool response = false;
  std::uint8_t opcode = 0;
  bool authoritative = false;
  bool truncated = false;
  std::uint8_t rcode = 0;
  std::vector<Question> questions;
  // A truncated message's records are not parsed: it is answered again over TCP.
  std::vector<Record> answers, authority, additional;
};

// A query with the recursion-desired bit for `name` (dotted; a trailing dot is allowed and ignored).
// INVALID_ARGUMENT for a name that cannot be sent: an empty label, a label over 63 octets, over 255
// octets in all, or a backslash (escapes are not accepted).
Result<std::string> encode_query(std::uint16_t id, std::string_view name, std::uint16_t qtype, bool edns);

// The message in `packet`, or INVALID_ARGUMENT saying what is wrong with it.
Result<Message> parse(std::span<const std::uint8_t> packet);

// True when `answer` answers the query `id` for `name` and `qtype`: the id, QR set, a standard
// query, and the same question (names compared without regard to case). An error answer without a
// question section (some servers send FORMERR or REFUSED so) matches on its id alone.
bool answers(const Message& answer, std::uint16_t id, std::string_view name, std::uint16_t qtype);

// `name` as parse() writes names: lower case, no trailing dot.
std::string canonical(std::string_view name);

}  // namespace svckit::discovery::detail::dns
