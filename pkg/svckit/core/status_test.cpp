#include "svckit/core/status.hpp"

#include <gtest/gtest.h>

namespace svckit {
namespace {

struct Row {
  Code code;
  const char* name;
  int http;
};

// google.rpc.Code's HTTP equivalents: the table the code space is defined by.
constexpr Row kTable[] = {
    {Code::kOk, "OK", 200},
    {Code::kCancelled, "CANCELLED", 499},
    {Code::kUnknown, "UNKNOWN", 500},
    {Code::kInvalidArgument, "INVALID_ARGUMENT", 400},
    {Code::kDeadlineExceeded, "DEADLINE_EXCEEDED", 504},
    {Code::kNotFound, "NOT_FOUND", 404},
    {Code::kAlreadyExists, "ALREADY_EXISTS", 409},
    {Code::kPermissionDenied, "PERMISSION_DENIED", 403},
    {Code::kResourceExhausted, "RESOURCE_EXHAUSTED", 429},
    {Code::kFailedPrecondition, "FAILED_PRECONDITION", 400},
    {Code::kAborted, "ABORTED", 409},
    {Code::kOutOfRange, "OUT_OF_RANGE", 400},
    {Code::kUnimplemented, "UNIMPLEMENTED", 501},
    {Code::kInternal, "INTERNAL", 500},
    {Code::kUnavailable, "UNAVAILABLE", 503},
    {Code::kDataLoss, "DATA_LOSS", 500},
    {Code::kUnauthenticated, "UNAUTHENTICATED", 401},
};

TEST(StatusTest, CodeToHttpAndGrpcTable) {
  for (auto& row : kTable) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(code_name(row.code), row.name);
    EXPECT_EQ(code_to_http(row.code), row.http);
    EXPECT_EQ(code_from_grpc(code_to_grpc(row.code)), row.code);
    Status s(row.code, "m");
    EXPECT_EQ(s.to_http(), row.http);
    EXPECT_EQ(s.to_grpc(), static_cast<int>(row.code));
  }
  EXPECT_EQ(code_from_grpc(17), Code::kUnknown);
  EXPECT_EQ(code_from_grpc(-1), Code::kUnknown);
}

TEST(StatusTest, HttpToCodeTable) {
  struct H {
    int http;
    Code code;
  };
  const H table[] = {
      {200, Code::kOk},
      {204, Code::kOk},
      {400, Code::kInvalidArgument},
      {401, Code::kUnauthenticated},
      {403, Code::kPermissionDenied},
      {404, Code::kNotFound},
      {408, Code::kDeadlineExceeded},
      {409, Code::kAborted},
      {413, Code::kResourceExhausted},
      {418, Code::kFailedPrecondition},
      {429, Code::kResourceExhausted},
      {431, Code::kResourceExhausted},
      {499, Code::kCancelled},
      {500, Code::kInternal},
      {501, Code::kUnimplemented},
      {502, Code::kUnavailable},
      {503, Code::kUnavailable},
      {504, Code::kDeadlineExceeded},
      {599, Code::kInternal},
      {302, Code::kUnknown},
  };
  for (auto& row : table) {
    SCOPED_TRACE(row.http);
    EXPECT_EQ(code_from_http(row.http), row.code);
  }
}

TEST(StatusTest, FromHttpKeepsTheExactStatus) {
  // 431 and 413 both mean RESOURCE_EXHAUSTED, but a proxy must answer with what it got.
  auto s = Status::from_http(431, "headers too large");
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.to_http(), 431);
  EXPECT_TRUE(Status::from_http(201).ok());
  auto t = Status(Code::kInvalidArgument, "uri too long").with_http_status(414);
  EXPECT_EQ(t.to_http(), 414);
  EXPECT_EQ(t.to_grpc(), 3);
}

TEST(StatusTest, OkIsEmptyAndValueSemantics) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.code(), Code::kOk);
  EXPECT_EQ(ok.to_string(), "OK");
  EXPECT_TRUE(Status(Code::kOk, "ignored").ok());

  Status a = Status(Code::kNotFound, "USER_NOT_FOUND", "user 42").with_metadata("user_id", "42");
  Status b = a;
  b.with_metadata("user_id", "43").with_reason("OTHER");
  EXPECT_EQ(a.metadata_value("user_id"), "42");
  EXPECT_EQ(a.reason(), "USER_NOT_FOUND");
  EXPECT_EQ(b.metadata_value("user_id"), "43");
  EXPECT_EQ(a.metadata().size(), 1u);
  EXPECT_EQ(a.to_string(), "NOT_FOUND: user 42 [USER_NOT_FOUND]");
  EXPECT_FALSE(a == b);
}

Result<int> half(int v) {
  if (v % 2) return make_error(Code::kInvalidArgument, "odd");
  return v / 2;
}

TEST(StatusTest, ResultCarriesValueOrStatus) {
  EXPECT_EQ(*half(8), 4);
  auto r = half(3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(to_result(Status()).has_value());
  EXPECT_EQ(to_result(Status(Code::kInternal, "x")).error().code(), Code::kInternal);
}

}  // namespace
}  // namespace svckit
