#include "svckit/core/strings.hpp"

#include <gtest/gtest.h>

#include <string>

namespace svckit {
namespace {

TEST(Strings, IequalsIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("KEEP-ALIVE", "keep-alive"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("content-length", "content-lengt"));
  EXPECT_FALSE(iequals("host", "hosts"));
  EXPECT_FALSE(iequals("a-b", "a_b"));
  // '@' and '`' sit next to 'A' and 'a'; '[' and '{' next to 'Z' and 'z': only A-Z fold.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  // Bytes outside ASCII are compared as they are, whatever the locale.
  EXPECT_TRUE(iequals("\xc3\x89t\xc3\xa9", "\xc3\x89T\xc3\xa9"));
  EXPECT_FALSE(iequals("\xc3\x89", "\xc3\xa9"));
  static_assert(iequals("X-Request-Id", "x-request-id"));
}

TEST(Strings, AsciiLowerFoldsAtoZOnly) {
  EXPECT_EQ(ascii_lower("Traceparent"), "traceparent");
  EXPECT_EQ(ascii_lower("X-B3-TraceId"), "x-b3-traceid");
  EXPECT_EQ(ascii_lower("already lower 123 @[`{"), "already lower 123 @[`{");
  EXPECT_EQ(ascii_lower(""), "");
  EXPECT_EQ(ascii_lower("\xc3\x89"), "\xc3\x89");
  static_assert(ascii_lower('Q') == 'q' && ascii_lower('q') == 'q' && ascii_lower('@') == '@');
  std::string s = "YES";
  ascii_lower_in_place(s);
  EXPECT_EQ(s, "yes");
}

}  // namespace
}  // namespace svckit
