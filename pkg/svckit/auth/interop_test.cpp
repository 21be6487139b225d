// Interop with a JWT library nobody here wrote: PyJWT with pyca/cryptography (Debian's python3-jwt,
// python3-cryptography; scripts/deps.sh test). Tokens PyJWT signs (EdDSA, ES256, RS256, keys in a
// JWKS written from the keys' numbers) verify in svckit; tokens svckit signs verify in PyJWT, which
// takes its keys from svckit's JWKS through PyJWKSet.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "svckit/auth/issuer.hpp"
#include "svckit/auth/verifier.hpp"
#include "svckit/json/json.hpp"

namespace svckit::auth {
namespace {

namespace fs = std::filesystem;

struct Dir {
  fs::path path = fs::temp_directory_path() / ("svckit_pyjwt_" + std::to_string(::getpid()));
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
};

std::string script() {
  const char* src = std::getenv("SVCKIT_SOURCE_DIR");
  return std::string(src ? src : ".") + "/pkg/svckit/auth/testdata/pyjwt_interop.py";
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a command, returns its exit status and standard output.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, out};
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

TEST(PyJwtInterop, TokensPyJwtSignsVerifyInSvckit) {
  Dir dir;
  auto [rc, out] = run("/usr/bin/python3 " + script() + " sign " + dir.path.string() + " 2>&1");
  ASSERT_EQ(rc, 0) << out;
  auto keys = StaticKeys::from_jwks(read(dir.path / "jwks.json"));
  ASSERT_TRUE(keys.has_value()) << keys.error().to_string();
  EXPECT_EQ((*keys)->keys()->size(), 3u);
  auto tokens = json::decode<std::map<std::string, std::string>>(read(dir.path / "tokens.json"));
  ASSERT_TRUE(tokens.has_value());
  ASSERT_EQ(tokens->size(), 3u);
  Verifier v(*keys, {.algorithms = {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256},
                     .issuer = "https://id.example",
                     .audiences = {"orders"},
                     .required_claims = {"exp", "iat", "sub"},
                     .typ = "at+jwt"});
  for (const auto& [alg, token] : *tokens) {
    SCOPED_TRACE(alg);
    auto claims = v.verify(token);
    ASSERT_TRUE(claims.has_value()) << claims.error().to_string();
    EXPECT_EQ(claims->subject(), "py-user");
    EXPECT_EQ(claims->strings("roles"), std::vector<std::string>{"admin"});
    EXPECT_EQ(parse_jws(token)->header.alg, alg);
    std::string tampered = token;
    tampered[token.find('.') + 5] ^= 1;
    EXPECT_FALSE(v.verify(tampered).has_value());
  }
}

TEST(PyJwtInterop, TokensSvckitSignsVerifyInPyJwt) {
  Dir dir;
  KeySet keys;
  std::map<std::string, std::string> tokens;
  for (Algorithm alg : {Algorithm::kEdDSA, Algorithm::kES256, Algorithm::kRS256}) {
    auto key = Key::generate(alg);
    ASSERT_TRUE(key.has_value());
    ASSERT_TRUE(keys.add(*key).ok());
    KeySet one;
    ASSERT_TRUE(one.add(*key).ok());
    auto issuer = Issuer::create(one, key->kid(), {.issuer = "https://id.example", .audience = {"orders"}});
    ASSERT_TRUE(issuer.has_value());
    Claims c;
    c.set_subject("svckit-" + std::string(algorithm_name(alg)));
    tokens[std::string(algorithm_name(alg))] = issuer->issue(c).value();
  }
  std::ofstream(dir.path / "jwks.json") << keys.to_jwks();  // public parts only
  std::ofstream(dir.path / "tokens.json") << json::encode(tokens);
  auto [rc, out] = run("/usr/bin/python3 " + script() + " verify " + (dir.path / "jwks.json").string() + " " +
                       (dir.path / "tokens.json").string() + " 2>&1");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out, R"({"ES256": "svckit-ES256", "EdDSA": "svckit-EdDSA", "RS256": "svckit-RS256"})"
                 "\n");
}

}  // namespace
}  // namespace svckit::auth
