#pragma once
// Internal (PostgreSQL driver): between svckit's values and libpq's. Query parameters go out as text
// (bytea as binary) with the type OIDs the server cannot infer; results come back as Rows that read
// the PGresult in place; SQLSTATEs and libpq messages become Status.
#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/db/value.hpp"

namespace svckit::db::detail {

// libpq's messages may quote the connection string: its credentials never reach an error or a log.
std::string trim_message(const char* m);

// A failed command's Status, with its SQLSTATE and constraint as metadata.
Status result_error(const PGresult* r);

// A connection-level failure: UNAVAILABLE, with libpq's message for pg.
Status conn_error(PGconn* pg, std::string_view what);

// Parameters as PQsendQueryParams takes them; values point into text.
struct Encoded {
  std::vector<std::string> text;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  std::vector<Oid> types;
};

void encode(const Params& params, Encoded& e);

// Rows::TextFn over a PGresult: the value at (row, col), or nullptr for NULL.
const char* pg_text(const void* source, std::size_t row, std::size_t col, std::uint32_t* size);

// Makes rows read r's values; rows takes ownership of r.
void collect(PGresult* r, Rows& rows);

}  // namespace svckit::db::detail
