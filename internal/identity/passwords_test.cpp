#include "passwords.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace svckit::identity {
namespace {

// libsodium's minimum cost: the tests check behaviour, not strength.
constexpr Argon2Params kCheap{1, 8 << 10};

TEST(Passwords, HashVerifiesAndEachHashHasItsOwnSalt) {
  PasswordHasher h(kCheap);
  auto a = h.hash("correct horse battery");
  auto b = h.hash("correct horse battery");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->starts_with("$argon2id$v=19$m=8,t=1,"));
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(h.verify(*a, "correct horse battery"));
  EXPECT_FALSE(h.verify(*a, "correct horse batterY"));
  EXPECT_FALSE(h.verify(*a, ""));
  EXPECT_FALSE(h.verify("not a hash", "correct horse battery"));
  EXPECT_FALSE(h.verify("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "x"));  // another algorithm: refused
}

TEST(Passwords, ChangedParametersAskForARehash) {
  PasswordHasher cheap(kCheap);
  PasswordHasher dearer(Argon2Params{2, 16 << 10});
  auto h = cheap.hash("a long enough password");
  ASSERT_TRUE(h);
  EXPECT_FALSE(cheap.needs_rehash(*h));
  EXPECT_TRUE(dearer.needs_rehash(*h));
  EXPECT_TRUE(dearer.verify(*h, "a long enough password"));  // the old hash still verifies
  EXPECT_TRUE(dearer.needs_rehash("garbage"));
}

TEST(Passwords, TheDecoyIsARealHashThatNothingMatches) {
  PasswordHasher h(kCheap);
  EXPECT_TRUE(h.decoy().starts_with("$argon2id$"));
  EXPECT_FALSE(h.verify(h.decoy(), ""));
  EXPECT_FALSE(h.verify(h.decoy(), "password1234"));
}

TEST(PasswordPolicy, LengthCommonListAndEmail) {
  std::string file = ::testing::TempDir() + "/common.txt";
  std::ofstream(file) << "# comment\nPassword1234\nqwertyuiop\n";
  auto policy = PasswordPolicy::load(PolicySettings{.min_length = 10, .max_length = 20}, file);
  ASSERT_TRUE(policy) << policy.error().to_string();
  EXPECT_EQ(policy->common_count(), 2u);
  EXPECT_TRUE(policy->check("tangerine-velvet-42", "ann@example.com").ok());
  auto short_pw = policy->check("short", "ann@example.com");
  EXPECT_EQ(short_pw.reason(), "WEAK_PASSWORD");
  EXPECT_NE(std::string(short_pw.message()).find("at least 10"), std::string::npos);
  EXPECT_FALSE(policy->check(std::string(21, 'x'), "ann@example.com").ok());
  // Code points, not bytes: ten CJK characters are ten characters.
  EXPECT_TRUE(policy->check("电子证照统一身份认证平台", "ann@example.com").ok());
  EXPECT_FALSE(policy->check("PASSWORD1234", "ann@example.com").ok());  // the list, case-insensitively
  EXPECT_FALSE(policy->check("annabelle77", "annabelle@example.com").ok());
  EXPECT_FALSE(PasswordPolicy::load({}, "/nonexistent/list.txt"));
}

TEST(PasswordPolicy, TheShippedListIsReadAndUsed) {
  auto policy = PasswordPolicy::load({}, std::string(SVCKIT_IDENTITY_DATA) + "/common-passwords.txt");
  ASSERT_TRUE(policy) << policy.error().to_string();
  EXPECT_GT(policy->common_count(), 300u);
  EXPECT_FALSE(policy->check("1234567890", "x@example.com").ok());
  EXPECT_FALSE(policy->check("iloveyou123", "x@example.com").ok());
}

}  // namespace
}  // namespace svckit::identity
