#pragma once
// A typed log field: a key and a value of one of a fixed set of types, held by reference for the
// duration of one log call (Zap's zapcore.Field). Built implicitly from `{"key", value}`, so a call
// reads `logger.info("user created", {{"user_id", id}, {"admin", false}, {"elapsed", dt}})` and
// allocates nothing. Nested objects: `log::object("db", {{"host", h}, {"port", p}})`.
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace svckit {
class Status;
}

namespace svckit::log {

struct Field {
  enum class Type : std::uint8_t { kString, kInt, kUint, kDouble, kBool, kDuration, kTime, kStatus, kObject, kNull };

  std::string_view key;
  Type type = Type::kNull;
  union {
    std::string_view str;
    std::int64_t i64;
    std::uint64_t u64;
    double f64;
    bool boolean;
    std::int64_t nanos;  // kDuration: nanoseconds; kTime: nanoseconds since the Unix epoch
    const Status* status;
    struct {
      const Field* data;
      std::size_t size;
    } object;
  };

  constexpr Field() noexcept : str() {}
  constexpr Field(std::string_view k, std::string_view v) noexcept : key(k), type(Type::kString), str(v) {}
  constexpr Field(std::string_view k, const char* v) noexcept : key(k), type(Type::kString), str(v) {}
  Field(std::string_view k, const std::string& v) noexcept : key(k), type(Type::kString), str(v) {}
  constexpr Field(std::string_view k, bool v) noexcept : key(k), type(Type::kBool), boolean(v) {}
  template <std::signed_integral T>
  constexpr Field(std::string_view k, T v) noexcept : key(k), type(Type::kInt), i64(v) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) constexpr Field(std::string_view k, T v) noexcept
      : key(k), type(Type::kUint), u64(v) {}
  template <std::floating_point T>
  constexpr Field(std::string_view k, T v) noexcept : key(k), type(Type::kDouble), f64(static_cast<double>(v)) {}
  template <class Rep, class Period>
  constexpr Field(std::string_view k, std::chrono::duration<Rep, Period> d) noexcept
      : key(k), type(Type::kDuration), nanos(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) {}
  template <class Dur>
  constexpr Field(std::string_view k, std::chrono::time_point<std::chrono::system_clock, Dur> t) noexcept
      : key(k),
        type(Type::kTime),
        nanos(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count()) {}
  // A Status is written as {"code":..,"reason":..,"message":..}; an OK one as null.
  Field(std::string_view k, const Status& s) noexcept : key(k), type(Type::kStatus), status(&s) {}
  constexpr Field(std::string_view k, std::nullptr_t) noexcept : key(k), type(Type::kNull), str() {}
};

// A nested object. The list must outlive the log call (it does when written inline in the call).
inline Field object(std::string_view key, std::initializer_list<Field> fields) noexcept {
  Field f;
  f.key = key;
  f.type = Field::Type::kObject;
  f.object = {fields.begin(), fields.size()};
  return f;
}

}  // namespace svckit::log
