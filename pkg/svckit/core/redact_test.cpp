#include "svckit/core/redact.hpp"

#include <gtest/gtest.h>

namespace svckit {
namespace {

TEST(Redact, PasswordsInLibpqKeyValueStringsGo) {
  EXPECT_EQ(redact_credentials("host=db.internal port=5432 user=app password=s3cr3t dbname=users"),
            "host=db.internal port=5432 user=app password=<redacted> dbname=users");
  EXPECT_EQ(redact_credentials("host=x password = 'a \\' b' sslmode=require"),
            "host=x password = <redacted> sslmode=require");
  EXPECT_EQ(redact_credentials("password='a b c' host=x"), "password=<redacted> host=x");
  EXPECT_EQ(redact_credentials("sslpassword=k1 PASSWORD=k2"), "sslpassword=<redacted> PASSWORD=<redacted>");
}

TEST(Redact, UserInfoPasswordsInUrlsGo) {
  EXPECT_EQ(redact_credentials("postgresql://app:s3cr3t@db:5432/users?sslmode=require"),
            "postgresql://app:<redacted>@db:5432/users?sslmode=require");
  EXPECT_EQ(redact_credentials("redis://:pw@127.0.0.1:6379/0"), "redis://:<redacted>@127.0.0.1:6379/0");
  // A password containing '@' is cut at the last '@' of the authority.
  EXPECT_EQ(redact_credentials("postgres://u:p@ss@h/db"), "postgres://u:<redacted>@h/db");
  EXPECT_EQ(redact_credentials("https://api.example.com/v1?token=abc&x=1"),
            "https://api.example.com/v1?token=<redacted>&x=1");
}

TEST(Redact, WhatIsNotACredentialStays) {
  for (std::string_view s : {"host=x port=5432 user=app dbname=users", "postgresql://app@db/users",
                             "http://127.0.0.1:8080/hello", "keyboard=1 monkey=2", "plain text, no secrets"})
    EXPECT_EQ(redact_credentials(s), s);
}

}  // namespace
}  // namespace svckit
