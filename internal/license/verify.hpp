#pragma once
// Verification of a presented licence (POST /v1/licenses/verify), as pure functions over what was
// presented, the key ring and the stored licence, so that every outcome is testable without a server.
#include <optional>
#include <string>

#include "canonical.hpp"
#include "keys.hpp"
#include "store.hpp"

namespace svckit::license {

// What a verifier was shown: the canonical text it claims to be and the signature over it.
struct Presented {
  Document doc;
  std::string canonical;
  std::string signature;     // raw bytes
  bool canonical_ok = true;  // a QR text whose document is not in canonical form (or not a document)
};

// The body of a verify request: {"text": "SVCL1...."} or a licence as the API shows it (the signed
// members plus "signature"; other members are ignored). INVALID_ARGUMENT for a body that is neither.
Result<Presented> presented(const Value& body);

struct Verdict {
  std::string status;  // valid | expired | not_yet_valid | revoked | forged
  std::string reason;
  bool forged() const noexcept { return status == "forged"; }
};

// forged unless the signature verifies under a known kid; nullopt when it does.
std::optional<Verdict> check_signature(const KeyRing& keys, const Presented& p);
// After the signature: forged when no licence was issued under this id or the stored one's canonical
// text differs; then revoked; then the validity window at `now` (valid_from ≤ now < valid_until).
Verdict judge(const Presented& p, const std::optional<LicenceRow>& stored, Seconds now);

}  // namespace svckit::license
