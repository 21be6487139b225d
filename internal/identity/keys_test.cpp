// The signing key ring and the refresh token store on a real SQLite database with the service's
// migrations.
#include "keys.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "refresh_tokens.hpp"
#include "svckit/auth/verifier.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/db/migrate.hpp"
#include "svckit/db/sqlite.hpp"

namespace svckit::identity {
namespace {

using namespace std::chrono_literals;

class IdentityStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("identity-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    auto db = db::SqliteDatabase::open(rt_, {.path = (dir_ / "identity.db").string()});
    ASSERT_TRUE(db) << db.error().to_string();
    db_ = *db;
    auto migrations = db::load_migrations(std::string(SVCKIT_IDENTITY_MIGRATIONS) + "/sqlite");
    ASSERT_TRUE(migrations) << migrations.error().to_string();
    auto applied = rt_.block_on(db::migrate_up(Context(), *db_, *migrations));
    ASSERT_TRUE(applied) << applied.error().to_string();
  }
  void TearDown() override {
    if (db_) db_->close();
    std::filesystem::remove_all(dir_);
  }
  KeyRingOptions options(std::chrono::seconds publish_ahead = 0s) {
    KeyRingOptions o;
    o.rotate_every = 0s;
    o.publish_ahead = publish_ahead;
    o.retire_after = 2s;
    o.issuer = {.issuer = "https://id.test", .audience = {"svckit"}, .ttl = 60s};
    return o;
  }
  template <class T>
  T run(Task<T> t) {
    return rt_.block_on(std::move(t));
  }

  Runtime rt_{RuntimeOptions{.workers = 1}};
  std::filesystem::path dir_;
  std::shared_ptr<db::Database> db_;
  const std::string sealing_ = std::string(32, '\x07');
};

Result<auth::Claims> verify(const auth::Issuer& issuer, const std::string& token) {
  auth::Verifier v(std::make_shared<auth::StaticKeys>(issuer.keys().public_set()),
                   {.issuer = "https://id.test", .audiences = {"svckit"}});
  return v.verify(token);
}

TEST_F(IdentityStore, TheFirstStartCreatesASealedKeyAndTheNextLoadsTheSameOne) {
  KeyRing ring(db_, sealing_, options());
  ASSERT_TRUE(run(ring.refresh(Context())).ok());
  auto issuer = ring.issuer();
  ASSERT_TRUE(issuer);
  EXPECT_EQ(issuer->active().algorithm(), auth::Algorithm::kEdDSA);
  // At rest the private key is sealed: the row holds no JWK member "d" in the clear.
  auto sealed = run(db_->query_as<std::string>(Context(), "SELECT sealed FROM signing_keys"));
  ASSERT_TRUE(sealed && sealed->size() == 1);
  EXPECT_EQ((*sealed)[0].find("\"d\""), std::string::npos);
  auto token = issuer->issue(auth::Claims().set_subject("7"));
  ASSERT_TRUE(token);

  KeyRing again(db_, sealing_, options());  // a restart, or a second instance
  ASSERT_TRUE(run(again.refresh(Context())).ok());
  EXPECT_EQ(again.issuer()->active().kid(), issuer->active().kid());
  EXPECT_TRUE(verify(*again.issuer(), *token));
}

TEST_F(IdentityStore, AWrongSealingKeyCannotOpenTheKeys) {
  KeyRing ring(db_, sealing_, options());
  ASSERT_TRUE(run(ring.refresh(Context())).ok());
  KeyRing thief(db_, std::string(32, '\x08'), options());
  Status st = run(thief.refresh(Context()));
  EXPECT_EQ(st.code(), Code::kDataLoss) << st.to_string();
  EXPECT_EQ(thief.issuer(), nullptr);
}

TEST_F(IdentityStore, RotationPublishesFirstSignsLaterAndRetiresTheOldKeyAfterItsTokens) {
  KeyRing ring(db_, sealing_, options(1s));
  ASSERT_TRUE(run(ring.refresh(Context())).ok());
  const std::string old_kid = ring.issuer()->active().kid();
  auto old_token = ring.issuer()->issue(auth::Claims().set_subject("7"));
  auto kid = run(ring.rotate(Context()));
  ASSERT_TRUE(kid) << kid.error().to_string();
  EXPECT_NE(*kid, old_kid);
  // Published at once, not yet signing.
  EXPECT_NE(ring.jwks().find(*kid), std::string::npos);
  EXPECT_EQ(ring.issuer()->active().kid(), old_kid);
  std::this_thread::sleep_for(1100ms);
  ASSERT_TRUE(run(ring.refresh(Context())).ok());
  EXPECT_EQ(ring.issuer()->active().kid(), *kid);
  // The old key still verifies the tokens it signed (retire_after 2 s)...
  EXPECT_NE(ring.jwks().find(old_kid), std::string::npos);
  EXPECT_TRUE(verify(*ring.issuer(), *old_token));
  std::this_thread::sleep_for(2100ms);
  ASSERT_TRUE(run(ring.refresh(Context())).ok());
  // ...and leaves the JWKS once they have expired.
  EXPECT_EQ(ring.jwks().find(old_kid), std::string::npos);
  EXPECT_FALSE(verify(*ring.issuer(), *old_token));
}

TEST_F(IdentityStore, RefreshTokensRotateAndAReuseRevokesTheFamily) {
  RefreshTokens tokens(db_, 3600s);
  auto first = run(tokens.issue(Context(), 42));
  ASSERT_TRUE(first);
  // Only the hash is stored.
  auto stored = run(db_->query_as<std::string>(Context(), "SELECT token_hash FROM refresh_tokens"));
  ASSERT_TRUE(stored && stored->size() == 1);
  EXPECT_NE((*stored)[0], first->token);
  EXPECT_EQ((*stored)[0], RefreshTokens::hash(first->token));

  auto second = run(tokens.rotate(Context(), first->token));
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->user_id, 42);
  EXPECT_EQ(second->next.family, first->family);
  EXPECT_NE(second->next.token, first->token);
  auto third = run(tokens.rotate(Context(), second->next.token));
  ASSERT_TRUE(third);

  // The first token again: theft. The family dies, including the newest token.
  auto replay = run(tokens.rotate(Context(), first->token));
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().reason(), "REFRESH_TOKEN_REUSED");
  auto after = run(tokens.rotate(Context(), third->next.token));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().reason(), "REFRESH_TOKEN_REVOKED");

  // Another login's family is untouched; unknown tokens are refused.
  auto other = run(tokens.issue(Context(), 42));
  ASSERT_TRUE(other);
  EXPECT_TRUE(run(tokens.rotate(Context(), other->token)));
  EXPECT_EQ(run(tokens.rotate(Context(), "made-up")).error().reason(), "REFRESH_TOKEN_UNKNOWN");
}

TEST_F(IdentityStore, LogoutRevokesTheFamilyAndExpiredTokensAreRefused) {
  RefreshTokens tokens(db_, 3600s);
  auto t = run(tokens.issue(Context(), 1));
  ASSERT_TRUE(t);
  auto next = run(tokens.rotate(Context(), t->token));
  ASSERT_TRUE(next);
  ASSERT_TRUE(run(tokens.revoke_family_of(Context(), t->token)).ok());  // any token of the family names it
  EXPECT_EQ(run(tokens.rotate(Context(), next->next.token)).error().reason(), "REFRESH_TOKEN_REVOKED");
  EXPECT_TRUE(run(tokens.revoke_family_of(Context(), "unknown")).ok());

  RefreshTokens short_lived(db_, 1s);
  auto s = run(short_lived.issue(Context(), 2));
  ASSERT_TRUE(s);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(run(short_lived.rotate(Context(), s->token)).error().reason(), "REFRESH_TOKEN_EXPIRED");
}

}  // namespace
}  // namespace svckit::identity
