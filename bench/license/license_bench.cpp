// What verifying a licence costs beyond the signature check itself: POST /v1/licenses/verify's work
// without the HTTP server and the database lookup (parse the body, decode the QR text or rebuild the
// canonical form from the licence JSON, check the signature, judge against the stored licence),
// beside a raw Ed25519 verify of the same bytes through OpenSSL's EVP interface and through
// auth::Key. Run: make bench-license.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include "canonical.hpp"
#include "keys.hpp"
#include "store.hpp"
#include "svckit/auth/base64url.hpp"
#include "verify.hpp"

namespace svckit::license {
namespace {

struct Fixture {
  KeyRing keys;
  LicenceRow row;
  std::string signature;  // raw
  std::string qr_body;    // {"text": "SVCL1..."}
  std::string json_body;  // the licence as the API shows it

  static Fixture make() {
    auto ring = KeyRing::of(*auth::Key::generate(auth::Algorithm::kEdDSA));
    Document d;
    d.id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    d.type = "business_licence";
    d.number = "91310115MA1K4ABC2X";
    d.holder = "1000042";
    d.authority = "Shanghai Pudong New Area Administration for Market Regulation";
    d.valid_from = *parse_time("2026-01-01T00:00:00Z");
    d.valid_until = *parse_time("2046-01-01T00:00:00Z");
    d.attributes = *parse(R"({"company_name":"上海示例科技有限公司","legal_representative":"韩梅梅",)"
                          R"("registered_capital_cny":10000000,"company_type":"limited_liability",)"
                          R"("business_scope":"软件开发；信息技术咨询服务；数据处理服务"})");
    d.issued_at = *parse_time("2026-01-01T00:00:00Z");
    d.kid = ring->signing().kid();
    LicenceRow row;
    row.id = d.id;
    row.type = d.type;
    row.number = d.number;
    row.holder = d.holder;
    row.authority = d.authority;
    row.valid_from = to_db(d.valid_from);
    row.valid_until = to_db(d.valid_until);
    row.attributes = canonical(d.attributes);
    row.issued_at = to_db(d.issued_at);
    row.kid = d.kid;
    row.canonical = canonical_document(d);
    std::string sig = *ring->sign(row.canonical);
    row.signature = auth::base64url_encode(sig);
    std::string qr_body = "{\"text\":\"" + qr_text(row.canonical, sig) + "\"}";
    std::string json_body = licence_json(row);
    return Fixture{std::move(*ring), std::move(row), std::move(sig), std::move(qr_body), std::move(json_body)};
  }
};

const Fixture& fixture() {
  static const Fixture f = Fixture::make();
  return f;
}

const Seconds kNow = *parse_time("2030-06-01T00:00:00Z");

void BM_RawEd25519Verify(benchmark::State& state) {
  const Fixture& f = fixture();
  auto* pkey = static_cast<EVP_PKEY*>(f.keys.signing().native_handle());
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey);
    int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(f.signature.data()), f.signature.size(),
                              reinterpret_cast<const unsigned char*>(f.row.canonical.data()), f.row.canonical.size());
    EVP_MD_CTX_free(ctx);
    if (ok != 1) state.SkipWithError("raw verify failed");
    benchmark::DoNotOptimize(ok);
  }
  state.counters["bytes"] = static_cast<double>(f.row.canonical.size());
}
BENCHMARK(BM_RawEd25519Verify);

void BM_KeyRingVerify(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) {
    auto r = f.keys.verify(f.row.kid, f.row.canonical, f.signature);
    if (r != KeyRing::Check::kValid) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_KeyRingVerify);

void verify_body(benchmark::State& state, const std::string& body) {
  const Fixture& f = fixture();
  std::optional<LicenceRow> stored = f.row;
  for (auto _ : state) {
    auto v = parse(body);
    auto p = presented(*v);
    auto forged = check_signature(f.keys, *p);
    Verdict verdict = forged ? *forged : judge(*p, stored, kNow);
    if (verdict.status != "valid") state.SkipWithError(verdict.reason.c_str());
    benchmark::DoNotOptimize(verdict);
  }
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_VerifyQrText(benchmark::State& state) {
  verify_body(state, fixture().qr_body);
}
BENCHMARK(BM_VerifyQrText);

void BM_VerifyLicenceJson(benchmark::State& state) {
  verify_body(state, fixture().json_body);
}
BENCHMARK(BM_VerifyLicenceJson);

void BM_CanonicalDocument(benchmark::State& state) {
  auto doc = parse_document(fixture().row.canonical);
  for (auto _ : state) benchmark::DoNotOptimize(canonical_document(*doc));
}
BENCHMARK(BM_CanonicalDocument);

}  // namespace
}  // namespace svckit::license

BENCHMARK_MAIN();
