#include "svckit/core/status.hpp"

#include <array>

namespace svckit {

namespace {
struct CodeInfo {
  std::string_view name;
  int http;
};
// google.rpc.Code documents the HTTP equivalents used here.
constexpr std::array<CodeInfo, 17> kCodes{{
    {"OK", 200},
    {"CANCELLED", 499},
    {"UNKNOWN", 500},
    {"INVALID_ARGUMENT", 400},
    {"DEADLINE_EXCEEDED", 504},
    {"NOT_FOUND", 404},
    {"ALREADY_EXISTS", 409},
    {"PERMISSION_DENIED", 403},
    {"RESOURCE_EXHAUSTED", 429},
    {"FAILED_PRECONDITION", 400},
    {"ABORTED", 409},
    {"OUT_OF_RANGE", 400},
    {"UNIMPLEMENTED", 501},
    {"INTERNAL", 500},
    {"UNAVAILABLE", 503},
    {"DATA_LOSS", 500},
    {"UNAUTHENTICATED", 401},
}};
const Status::Metadata kNoMetadata;
}  // namespace

std::string_view code_name(Code code) noexcept {
  auto i = static_cast<std::size_t>(code);
  return i < kCodes.size() ? kCodes[i].name : std::string_view("UNKNOWN");
}

int code_to_http(Code code) noexcept {
  auto i = static_cast<std::size_t>(code);
  return i < kCodes.size() ? kCodes[i].http : 500;
}

Code code_from_http(int s) noexcept {
  if (s >= 200 && s < 300) return Code::kOk;
  switch (s) {
    case 400:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 405:
      return Code::kUnimplemented;
    case 408:
      return Code::kDeadlineExceeded;
    case 409:
      return Code::kAborted;
    case 412:
      return Code::kFailedPrecondition;
    case 413:
      return Code::kResourceExhausted;
    case 414:
      return Code::kInvalidArgument;
    case 416:
      return Code::kOutOfRange;
    case 429:
      return Code::kResourceExhausted;
    case 431:
      return Code::kResourceExhausted;
    case 499:
      return Code::kCancelled;
    case 501:
      return Code::kUnimplemented;
    case 502:
      return Code::kUnavailable;
    case 503:
      return Code::kUnavailable;
    case 504:
      return Code::kDeadlineExceeded;
    default:
      break;
  }
  if (s >= 400 && s < 500) return Code::kFailedPrecondition;
  if (s >= 500 && s < 600) return Code::kInternal;
  return Code::kUnknown;
}

Code code_from_grpc(int c) noexcept {
  return (c >= 0 && c <= 16) ? static_cast<Code>(c) : Code::kUnknown;
}

Status::Status(Code code, std::string message) : Status(code, {}, std::move(message)) {}

Status::Status(Code code, std::string reason, std::string message) {
  if (code == Code::kOk) return;  // OK carries nothing
  rep_ = std::make_unique<Rep>();
  rep_->code = code;
  rep_->reason = std::move(reason);
  rep_->message = std::move(message);
}

Status::Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}

Status::Status(Status&&) noexcept = default;
Status& Status::operator=(Status&&) noexcept = default;
Status::~Status() = default;

Status Status::from_http(int http_status, std::string message) {
  Code code = code_from_http(http_status);
  if (code == Code::kOk) return Status();
  Status s(code, std::move(message));
  s.rep_->http_status = http_status;
  return s;
}

Code Status::code() const noexcept {
  return rep_ ? rep_->code : Code::kOk;
}
std::string_view Status::reason() const noexcept {
  return rep_ ? std::string_view(rep_->reason) : std::string_view();
}
std::string_view Status::message() const noexcept {
  return rep_ ? std::string_view(rep_->message) : std::string_view();
}
const Status::Metadata& Status::metadata() const noexcept {
  return rep_ ? rep_->metadata : kNoMetadata;
}

int Status::to_http() const noexcept {
  if (!rep_) return 200;
  return rep_->http_status ? rep_->http_status : code_to_http(rep_->code);
}

Status& Status::with_reason(std::string reason) & {
  if (rep_) rep_->reason = std::move(reason);
  return *this;
}
Status&& Status::with_reason(std::string reason) && {
  return std::move(with_reason(std::move(reason)));
}

Status& Status::with_metadata(std::string key, std::string value) & {
  if (rep_) {
    for (auto& [k, v] : rep_->metadata) {
      if (k == key) {
        v = std::move(value);
        return *this;
      }
    }
    rep_->metadata.emplace_back(std::move(key), std::move(value));
  }
  return *this;
}
Status&& Status::with_metadata(std::string key, std::string value) && {
  return std::move(with_metadata(std::move(key), std::move(value)));
}

Status& Status::with_http_status(int http_status) & {
  if (rep_) rep_->http_status = http_status;
  return *this;
}
Status&& Status::with_http_status(int http_status) && {
  return std::move(with_http_status(http_status));
}

std::string_view Status::metadata_value(std::string_view key) const noexcept {
  if (rep_) {
    for (auto& [k, v] : rep_->metadata)
      if (k == key) return v;
  }
  return {};
}

std::string Status::to_string() const {
  if (!rep_) return "OK";
  std::string out(code_name(rep_->code));
  if (!rep_->message.empty()) {
    out += ": ";
    out += rep_->message;
  }
  if (!rep_->reason.empty()) {
    out += " [";
    out += rep_->reason;
    out += ']';
  }
  return out;
}

}  // namespace svckit
