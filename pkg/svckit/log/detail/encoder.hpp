#pragma once
// JSON and console encoding of log lines and fields (internal to log, used by tests and benchmarks).
#include <chrono>
#include <cstdint>
#include <source_location>
#include <string_view>

#include "svckit/log/detail/buffer.hpp"
#include "svckit/log/field.hpp"

namespace svckit::log::detail {

void append_json_string(Buffer& out, std::string_view s);
// `,"key":value` (JSON) or ` key=value` (console).
void append_field_json(Buffer& out, const Field& f);
void append_field_console(Buffer& out, const Field& f);
// The same for a string field known to need no escaping or quoting (RenderedLogFields::plain).
void append_plain_field(Buffer& out, bool json, std::string_view key, std::string_view value);
// RFC 3339 UTC with microseconds, e.g. 2026-11-26T18:04:05.123456Z (27 bytes).
void append_timestamp(Buffer& out, std::int64_t unix_nanos);
// "dir/file.cpp:42": the last directory and the file name.
void append_caller(Buffer& out, const std::source_location& loc);

}  // namespace svckit::log::detail
