#pragma once
// Status is svckit's error value: a code from one code space (gRPC's canonical codes) that maps both
// ways to HTTP statuses, a machine-readable reason (UPPER_SNAKE, as Kratos uses), a human message and
// string metadata. Result<T> is std::expected<T, Status>. An OK Status costs one null pointer.
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace svckit {

enum class Code : std::uint8_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "NOT_FOUND" etc., as gRPC spells them.
std::string_view code_name(Code code) noexcept;
// The HTTP status a code answers with when no exact HTTP status was recorded.
int code_to_http(Code code) noexcept;
// The code an HTTP status means (2xx -> kOk; unmapped 4xx -> kFailedPrecondition; 5xx -> kInternal...).
Code code_from_http(int http_status) noexcept;
// The gRPC wire value is the enum value; anything outside 0..16 is kUnknown.
Code code_from_grpc(int grpc_code) noexcept;
inline int code_to_grpc(Code code) noexcept {
  return static_cast<int>(code);
}

class [[nodiscard]] Status {
 public:
  using Metadata = std::vector<std::pair<std::string, std::string>>;

  Status() noexcept = default;
  Status(Code code, std::string message);
  Status(Code code, std::string reason, std::string message);
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept;
  Status& operator=(Status&&) noexcept;
  ~Status();

  // A Status from an HTTP response: keeps the exact HTTP status so that to_http() gives it back.
  static Status from_http(int http_status, std::string message = {});

  bool ok() const noexcept { return rep_ == nullptr; }
  explicit operator bool() const noexcept { return ok(); }
  Code code() const noexcept;
  std::string_view reason() const noexcept;
  std::string_view message() const noexcept;
  const Metadata& metadata() const noexcept;
  // The exact HTTP status if one was set (from_http/with_http_status), else code_to_http(code()).
  int to_http() const noexcept;
  int to_grpc() const noexcept { return code_to_grpc(code()); }

  Status& with_reason(std::string reason) &;
  Status&& with_reason(std::string reason) &&;
  Status& with_metadata(std::string key, std::string value) &;
  Status&& with_metadata(std::string key, std::string value) &&;
  Status& with_http_status(int http_status) &;
  Status&& with_http_status(int http_status) &&;
  std::string_view metadata_value(std::string_view key) const noexcept;

  // "NOT_FOUND: user 42 does not exist [USER_NOT_FOUND]"
  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) noexcept {
    return a.code() == b.code() && a.reason() == b.reason() && a.message() == b.message();
  }

 private:
  struct Rep {
    Code code = Code::kUnknown;
    int http_status = 0;  // 0: derive from code
    std::string reason;
    std::string message;
    Metadata metadata;
  };
  std::unique_ptr<Rep> rep_;
};

template <class T>
using Result = std::expected<T, Status>;

inline std::unexpected<Status> make_error(Code code, std::string message) {
  return std::unexpected<Status>(Status(code, std::move(message)));
}
inline std::unexpected<Status> make_error(Status status) {
  return std::unexpected<Status>(std::move(status));
}

// Result<void> from a Status.
inline Result<void> to_result(Status status) {
  if (status.ok()) return {};
  return std::unexpected<Status>(std::move(status));
}

}  // namespace svckit
