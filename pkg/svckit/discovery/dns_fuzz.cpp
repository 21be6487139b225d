// libFuzzer target for the dns backend's answer parser (make fuzz). Besides crashes and reads out of
// bounds it checks what callers rely on: a parsed name never exceeds what 255 octets can spell (each
// octet at most 4 characters, \DDD), and the answer matcher and CNAME chase terminate on any input.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "svckit/discovery/detail/dns_message.hpp"

using namespace svckit::discovery::detail::dns;

namespace {

void check_name(const std::string& name) {
  if (name.size() > 4 * 255) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = parse(std::span<const std::uint8_t>(data, size));
  if (!m) return 0;
  for (const Question& q : m->questions) check_name(q.name);
  for (const auto* section : {&m->answers, &m->authority, &m->additional}) {
    for (const Record& r : *section) {
      check_name(r.name);
      check_name(r.target);
      if ((r.type == type::kA && r.address_size != 4) || (r.type == type::kAaaa && r.address_size != 16)) std::abort();
    }
  }
  if (!m->questions.empty()) (void)answers(*m, m->id, m->questions.front().name, m->questions.front().type);
  return 0;
}
