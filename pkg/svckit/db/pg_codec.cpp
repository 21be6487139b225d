#include "svckit/db/detail/pg_codec.hpp"

#include <charconv>
#include <cstring>
#include <memory>
#include <type_traits>
#include <variant>

#include "svckit/core/redact.hpp"

namespace svckit::db::detail {

// ---- errors ----------------------------------------------------------------------------------------

namespace {

Status map_sqlstate(std::string_view state, std::string message) {
  auto is = [&](std::string_view s) { return state == s; };
  auto starts = [&](std::string_view s) { return state.starts_with(s); };
  if (is("23505")) return Status(Code::kAlreadyExists, "UNIQUE_VIOLATION", std::move(message));
  if (is("23503")) return Status(Code::kFailedPrecondition, "FOREIGN_KEY_VIOLATION", std::move(message));
  if (is("23514")) return Status(Code::kFailedPrecondition, "CHECK_VIOLATION", std::move(message));
  if (is("23502")) return Status(Code::kFailedPrecondition, "NOT_NULL_VIOLATION", std::move(message));
  if (starts("23")) return Status(Code::kFailedPrecondition, "INTEGRITY_VIOLATION", std::move(message));
  if (is("40001")) return Status(Code::kAborted, "SERIALIZATION_FAILURE", std::move(message));
  if (is("40P01")) return Status(Code::kAborted, "DEADLOCK_DETECTED", std::move(message));
  if (is("57014")) return Status(Code::kDeadlineExceeded, "QUERY_CANCELED", std::move(message));
  if (is("53100"))  // disk_full: as SQLite's, RESOURCE_EXHAUSTED answered 503
    return Status(Code::kResourceExhausted, "DISK_FULL", "database disk full: " + message).with_http_status(503);
  if (starts("08") || is("57P01") || is("57P02") || is("57P03") || starts("53"))
    return Status(Code::kUnavailable, "DATABASE_UNAVAILABLE", std::move(message));
  if (starts("22")) return Status(Code::kInvalidArgument, "DATA_EXCEPTION", std::move(message));
  if (starts("28")) return Status(Code::kUnavailable, "AUTHENTICATION_FAILED", std::move(message));
  return Status(Code::kInternal, "SQL_ERROR", std::move(message));
}

}  // namespace

std::string trim_message(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return redact_credentials(s);
}

Status result_error(const PGresult* r) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  Status st = map_sqlstate(state ? state : "", trim_message(PQresultErrorMessage(r)));
  if (state) st.with_metadata("sqlstate", state);
  if (const char* c = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME)) st.with_metadata("constraint", c);
  return st;
}

Status conn_error(PGconn* pg, std::string_view what) {
  return Status(Code::kUnavailable, "DATABASE_UNAVAILABLE",
                std::string(what) + (pg ? ": " + trim_message(PQerrorMessage(pg)) : std::string()));
}

// ---- parameters ----------------------------------------------------------------------------------

void encode(const Params& params, Encoded& e) {
  const std::size_t n = params.size();
  e.text.resize(n);
  e.values.assign(n, nullptr);
  e.lengths.assign(n, 0);
  e.formats.assign(n, 0);
  e.types.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>) {
            return;  // values[i] stays null: SQL NULL
          } else if constexpr (std::is_same_v<T, bool>) {
            e.text[i] = v ? "t" : "f";
            e.types[i] = oid::kBool;
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            e.text[i] = std::to_string(v);
            e.types[i] = oid::kInt8;
          } else if constexpr (std::is_same_v<T, double>) {
            char buf[32];
            auto r = std::to_chars(buf, buf + sizeof buf, v);
            e.text[i].assign(buf, r.ptr);
            e.types[i] = oid::kFloat8;
          } else if constexpr (std::is_same_v<T, std::string>) {
            e.text[i] = v;  // unknown type: the server infers it from the context
          } else if constexpr (std::is_same_v<T, Bytes>) {
            e.text[i] = v.data;
            e.formats[i] = 1;  // binary: bytea needs no escaping
            e.types[i] = oid::kBytea;
          } else if constexpr (std::is_same_v<T, Json>) {
            e.text[i] = v.text;  // json or jsonb, as the column says
          } else if constexpr (std::is_same_v<T, Timestamp>) {
            e.text[i] = format_timestamp(v);
            e.types[i] = oid::kTimestamptz;
          } else if constexpr (std::is_same_v<T, Uuid>) {
            e.text[i] = v.str();
            e.types[i] = oid::kUuid;
          } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
            e.text[i] = array_literal(v);
            e.types[i] = oid::kInt8Array;
          } else {
            e.text[i] = array_literal(v);
            e.types[i] = oid::kTextArray;
          }
          e.values[i] = e.text[i].data();
          e.lengths[i] = static_cast<int>(e.text[i].size());
        },
        params[i].value());
  }
}

const char* pg_text(const void* source, std::size_t row, std::size_t col, std::uint32_t* size) {
  auto* r = static_cast<PGresult*>(const_cast<void*>(source));
  int i = static_cast<int>(row), c = static_cast<int>(col);
  if (PQgetisnull(r, i, c)) return nullptr;
  *size = static_cast<std::uint32_t>(PQgetlength(r, i, c));
  return PQgetvalue(r, i, c);
}

// The rows read their values from the PGresult itself (kept alive by the Rows): nothing is copied or
// built per value.
void collect(PGresult* r, Rows& rows) {
  std::shared_ptr<const void> owner(
      r, [](const void* p) { PQclear(const_cast<PGresult*>(static_cast<const PGresult*>(p))); });
  int cols = PQnfields(r);
  for (int c = 0; c < cols; ++c) rows.add_column(PQfname(r, c), PQftype(r, c));
  rows.set_source(r, pg_text, static_cast<std::size_t>(PQntuples(r)));
  const char* affected = PQcmdTuples(r);
  std::uint64_t a = 0;
  if (affected && *affected) std::from_chars(affected, affected + std::strlen(affected), a);
  rows.set_affected(a);
  rows.keep(std::move(owner));
}

}  // namespace svckit::db::detail
