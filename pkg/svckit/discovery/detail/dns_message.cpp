#include "svckit/discovery/detail/dns_message.hpp"

#include <algorithm>

namespace svckit::discovery::detail::dns {

namespace {

constexpr std::size_t kHeader = 12;
constexpr std::size_t kMaxName = 255;  // octets on the wire, length bytes and the root's zero included
constexpr std::size_t kMaxLabel = 63;

Status bad(std::string why) {
  return Status(Code::kInvalidArgument, "malformed DNS message: " + std::move(why));
}

// A cursor over the packet: every read checks the bytes are there.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> p) : p_(p) {}
  std::size_t pos() const noexcept { return pos_; }
  std::size_t size() const noexcept { return p_.size(); }
  bool has(std::size_t n) const noexcept { return pos_ <= p_.size() && p_.size() - pos_ >= n; }
  bool u8(std::uint8_t& v) {
    if (!has(1)) return false;
    v = p_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (!has(2)) return false;
    v = static_cast<std::uint16_t>((p_[pos_] << 8) | p_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (!has(4)) return false;
    v = (std::uint32_t(p_[pos_]) << 24) | (std::uint32_t(p_[pos_ + 1]) << 16) | (std::uint32_t(p_[pos_ + 2]) << 8) |
        std::uint32_t(p_[pos_ + 3]);
    pos_ += 4;
    return true;
  }
  bool skip(std::size_t n) {
    if (!has(n)) return false;
    pos_ += n;
    return true;
  }
  // A possibly compressed name starting here, ending no later than `end`. Pointers may lead anywhere
  // before the piece of name that holds them; the cursor moves past the name's bytes at its place.
  Status name(std::string& out, std::size_t end) {
    out.clear();
    std::size_t at = pos_;
    std::size_t limit = end;         // bytes of the current piece must lie before this
    std::size_t piece_start = pos_;  // a pointer must point before this
    std::size_t wire = 1;            // octets the name takes uncompressed (the root's zero)
    bool jumped = false;
    for (;;) {
      if (at >= limit) return bad("name runs past its bounds");
      std::uint8_t len = p_[at];
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= limit) return bad("compression pointer cut short");
        std::size_t target = (std::size_t(len & 0x3F) << 8) | p_[at + 1];
        if (target >= piece_start) return bad("compression pointer does not point backwards");
        if (!jumped) pos_ = at + 2;
        jumped = true;
        limit = piece_start;  // the earlier piece ends, at the latest, where this one began
        piece_start = target;
        at = target;
        continue;
      }
      if (len & 0xC0) return bad("unknown label type");
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        return Status();
      }
      if (len > kMaxLabel) return bad("label over 63 octets");
      if (at + 1 + len > limit) return bad("label runs past its bounds");
      wire += 1 + len;
      if (wire > kMaxName) return bad("name over 255 octets");
      if (!out.empty()) out += '.';
      for (std::size_t i = 0; i < len; ++i) {
        std::uint8_t c = p_[at + 1 + i];
        if (c >= 'A' && c <= 'Z') {
          out += static_cast<char>(c - 'A' + 'a');
        } else if (c > 0x20 && c < 0x7F && c != '.' && c != '\\') {
          out += static_cast<char>(c);
        } else {
          char esc[5] = {'\\', char('0' + c / 100), char('0' + c / 10 % 10), char('0' + c % 10), 0};
          out += esc;
        }
      }
      at += 1 + len;
    }
  }

 private:
  std::span<const std::uint8_t> p_;
  std::size_t pos_ = 0;
};

Status parse_record(Reader& r, Record& rec, bool& keep) {
  if (Status st = r.name(rec.name, r.size()); !st.ok()) return st;
  std::uint16_t rdlength = 0;
  if (!r.u16(rec.type) || !r.u16(rec.klass) || !r.u32(rec.ttl) || !r.u16(rdlength))
    return bad("record header cut short");
  // RFC 2181: a TTL with the top bit set is zero.
  if (rec.ttl & 0x80000000u) rec.ttl = 0;
  if (!r.has(rdlength)) return bad("record data runs past the packet");
  const std::size_t start = r.pos();
  const std::size_t end = start + rdlength;
  // EDNS's OPT pseudo-record and other classes than IN carry nothing the backend uses.
  keep = rec.type != type::kOpt && rec.klass == kClassIn;
  if (!keep) return r.skip(rdlength) ? Status() : bad("record data cut short");
  switch (rec.type) {
    case type::kA:
    case type::kAaaa: {
      std::size_t want = rec.type == type::kA ? 4 : 16;
      if (rdlength != want) return bad(rec.type == type::kA ? "A record not 4 octets" : "AAAA record not 16 octets");
      for (std::size_t i = 0; i < want; ++i) (void)r.u8(rec.address[i]);
      rec.address_size = static_cast<std::uint8_t>(want);
      return Status();
    }
    case type::kCname:
      if (Status st = r.name(rec.target, end); !st.ok()) return st;
      break;
    case type::kSrv:
      if (!r.u16(rec.priority) || !r.u16(rec.weight) || !r.u16(rec.port) || r.pos() > end)
        return bad("SRV record cut short");
      if (Status st = r.name(rec.target, end); !st.ok()) return st;
      break;
    case type::kSoa: {
      std::string mname, rname;
      if (Status st = r.name(mname, end); !st.ok()) return st;
      if (Status st = r.name(rname, end); !st.ok()) return st;
      std::uint32_t serial, refresh, retry, expire, minimum;
      if (r.pos() + 20 > end || !r.u32(serial) || !r.u32(refresh) || !r.u32(retry) || !r.u32(expire) || !r.u32(minimum))
        return bad("SOA record cut short");
      if (minimum & 0x80000000u) minimum = 0;
      rec.negative_ttl = std::min(rec.ttl, minimum);
      break;
    }
    default:
      return r.skip(rdlength) ? Status() : bad("record data cut short");
  }
  if (r.pos() != end) return bad("record data longer than its content");
  return Status();
}

Status parse_section(Reader& r, std::uint16_t count, std::vector<Record>& out) {
  for (std::uint16_t i = 0; i < count; ++i) {
    Record rec;
    bool keep = false;
    if (Status st = parse_record(r, rec, keep); !st.ok()) return st;
    if (keep) out.push_back(std::move(rec));
  }
  return Status();
}

}  // namespace

std::string canonical(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

Result<std::string> encode_query(std::uint16_t id, std::string_view name, std::uint16_t qtype, bool edns) {
  auto invalid = [&](std::string_view why) {
    return make_error(Code::kInvalidArgument, "DNS name \"" + std::string(name) + "\": " + std::string(why));
  };
  std::string_view rest = name;
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  if (rest.empty()) return invalid("empty");
  std::string out;
  out.reserve(kHeader + rest.size() + 2 + 4 + (edns ? 11 : 0));
  const std::uint8_t header[kHeader] = {std::uint8_t(id >> 8),
                                        std::uint8_t(id),
                                        0x01,
                                        0x00,  // RD
                                        0,
                                        1,
                                        0,
                                        0,
                                        0,
                                        0,
                                        0,
                                        std::uint8_t(edns ? 1 : 0)};
  out.append(reinterpret_cast<const char*>(header), kHeader);
  std::size_t wire = 1;
  while (!rest.empty()) {
    auto dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty()) return invalid("empty label");
    if (label.size() > kMaxLabel) return invalid("label over 63 octets");
    if (label.find('\\') != std::string_view::npos) return invalid("escapes are not accepted");
    wire += 1 + label.size();
    if (wire > kMaxName) return invalid("over 255 octets");
    out += static_cast<char>(label.size());
    out += label;
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    if (dot != std::string_view::npos && rest.empty()) return invalid("empty label");
  }
  out += '\0';
  const std::uint8_t tail[4] = {std::uint8_t(qtype >> 8), std::uint8_t(qtype), 0, kClassIn};
  out.append(reinterpret_cast<const char*>(tail), 4);
  if (edns) {
    // The root name, type OPT, the payload size as class, extended rcode/version/flags 0, no data.
    const std::uint8_t opt[11] = {
        0, 0, type::kOpt, std::uint8_t(kEdnsPayload >> 8), std::uint8_t(kEdnsPayload), 0, 0, 0, 0, 0, 0};
    out.append(reinterpret_cast<const char*>(opt), 11);
  }
  return out;
}

Result<Message> parse(std::span<const std::uint8_t> packet) {
  Reader r(packet);
  Message m;
  std::uint16_t flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
  if (!r.u16(m.id) || !r.u16(flags) || !r.u16(qd) || !r.u16(an) || !r.u16(ns) || !r.u16(ar))
    return std::unexpected(bad("shorter than its header"));
  m.response = flags & 0x8000;
  m.opcode = static_cast<std::uint8_t>((flags >> 11) & 0xF);
  m.authoritative = flags & 0x0400;
  m.truncated = flags & 0x0200;
  m.rcode = static_cast<std::uint8_t>(flags & 0xF);
  if (qd > 1) return std::unexpected(bad("more than one question"));
  for (std::uint16_t i = 0; i < qd; ++i) {
    Question q;
    if (Status st = r.name(q.name, r.size()); !st.ok()) return std::unexpected(st);
    if (!r.u16(q.type) || !r.u16(q.klass)) return std::unexpected(bad("question cut short"));
    m.questions.push_back(std::move(q));
  }
  if (m.truncated) return m;
  if (Status st = parse_section(r, an, m.answers); !st.ok()) return std::unexpected(st);
  if (Status st = parse_section(r, ns, m.authority); !st.ok()) return std::unexpected(st);
  if (Status st = parse_section(r, ar, m.additional); !st.ok()) return std::unexpected(st);
  return m;
}

bool answers(const Message& answer, std::uint16_t id, std::string_view name, std::uint16_t qtype) {
  if (answer.id != id || !answer.response || answer.opcode != 0) return false;
  if (answer.questions.empty()) return answer.rcode != rcode::kNoError;
  const Question& q = answer.questions.front();
  return q.type == qtype && q.klass == kClassIn && q.name == canonical(name);
}

}  // namespace svckit::discovery::detail::dns
