// libFuzzer target for the JSON reader and the typed binding (make fuzz). Besides crashes it checks:
// a document the reader accepts is accepted again when re-encoded through json::Raw containers, and a
// struct that decodes re-encodes to text that decodes to the same encoding (a fixed point).
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "svckit/json/json.hpp"

namespace {

struct Inner {
  std::string s;
  std::optional<double> d;
  static void json_schema(svckit::json::Schema<Inner>& s) {
    s.field("s", &Inner::s).length(0, 50);
    s.field("d", &Inner::d);
  }
};

struct Doc {
  std::int64_t i = 0;
  std::uint8_t u = 0;
  bool b = false;
  std::string name;
  std::vector<Inner> items;
  std::map<std::string, std::vector<int>> m;
  svckit::json::Raw raw;
  std::optional<Inner> inner;
  static void json_schema(svckit::json::Schema<Doc>& s) {
    s.field("i", &Doc::i);
    s.field("u", &Doc::u);
    s.field("b", &Doc::b);
    s.field("name", &Doc::name).length(0, 64);  // rules that the defaults satisfy: encode(decode(x)) must decode
    s.field("items", &Doc::items).max_items(20);
    s.field("m", &Doc::m);
    s.field("raw", &Doc::raw);
    s.field("inner", &Doc::inner);
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  svckit::json::Reader r(text);
  bool valid = r.skip() && r.finish();
  if (valid) {
    auto raw = svckit::json::decode<svckit::json::Raw>(text);
    check(raw.has_value());
  }
  auto doc = svckit::json::decode<Doc>(text);
  if (doc) {
    check(valid);
    std::string once = svckit::json::encode(*doc);
    auto again = svckit::json::decode<Doc>(once);
    check(again.has_value());
    check(svckit::json::encode(*again) == once);
  }
  return 0;
}
