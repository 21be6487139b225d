#include "svckit/auth/key_set.hpp"

#include "svckit/json/json.hpp"

namespace svckit::auth {

Result<KeySet> KeySet::from_jwks(std::string_view text, std::vector<std::string>* skipped, std::size_t max_keys) {
  auto bad = [](std::string why) { return make_error(Code::kInvalidArgument, "JWKS: " + std::move(why)); };
  json::Reader r(text, json::ReaderOptions{.max_depth = 8});
  KeySet set;
  bool have_keys = false;
  if (!r.begin_object()) return bad(r.failed() ? std::string(r.error().message) : "not a JSON object");
  for (std::string_view key; r.next_key(key);) {
    if (key != "keys") {
      if (!r.skip()) break;
      continue;
    }
    if (have_keys) return bad("duplicate member \"keys\"");
    have_keys = true;
    if (!r.begin_array()) return bad(r.failed() ? std::string(r.error().message) : "\"keys\" must be an array");
    std::size_t index = 0;
    while (r.next_item()) {
      std::string_view raw;
      if (!r.skip(&raw)) break;
      if (++index > max_keys) return bad("more than " + std::to_string(max_keys) + " keys");
      auto k = Key::from_jwk(raw);
      if (!k) {
        if (skipped) skipped->push_back("key " + std::to_string(index - 1) + ": " + std::string(k.error().message()));
        continue;
      }
      if (set.find(k->kid())) return bad("duplicate kid \"" + k->kid() + "\"");
      set.keys_.push_back(std::move(*k));
    }
  }
  if (r.failed() || !r.finish()) return bad(std::string(r.error().message));
  if (!have_keys) return bad("no \"keys\" member");
  return set;
}

Status KeySet::add(Key key) {
  if (key.kid().empty()) return Status(Code::kInvalidArgument, "a key in a KeySet needs a kid");
  if (find(key.kid())) return Status(Code::kInvalidArgument, "the KeySet already has a key with kid " + key.kid());
  keys_.push_back(std::move(key));
  return {};
}

const Key* KeySet::find(std::string_view kid) const noexcept {
  for (const auto& k : keys_)
    if (k.kid() == kid) return &k;
  return nullptr;
}

std::string KeySet::to_jwks() const {
  std::string out = R"({"keys":[)";
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (i) out += ',';
    out += keys_[i].to_jwk(false);
  }
  out += "]}";
  return out;
}

KeySet KeySet::public_set() const {
  KeySet out;
  for (const auto& k : keys_) out.keys_.push_back(k.public_key());
  return out;
}

}  // namespace svckit::auth
