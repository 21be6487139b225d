#pragma once
// Query parameters and result rows, the same for every backend. Parameters are typed values
// (`$1`, `$2`… in SQL, for PostgreSQL and SQLite alike); never build SQL from strings. Rows decode
// into C++ types with get<T>(column) or scan(out...), NULL into std::optional.
//
// ```cpp
//   Task<Status> list(db::Database& db, const Context& ctx, std::int64_t cursor) {
//     db::Params args{cursor, 50};   // named: GCC 12 rejects a braced list inside co_await
//     auto rows = co_await db.query(ctx, "SELECT id, email, profile FROM users WHERE id > $1 LIMIT $2", args);
//     if (!rows) co_return rows.error();
//     for (db::Row row : *rows) {
//       std::int64_t id; std::string email; std::optional<db::Json> profile;
//       if (auto st = row.scan(id, email, profile); !st.ok()) co_return st;
//     }
//     co_return Status();
//   }
// ```
#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/json/codec.hpp"
#include "svckit/json/type_schema.hpp"

namespace svckit::db {

struct Bytes {  // bytea (PostgreSQL), blob (SQLite)
  std::string data;
  bool operator==(const Bytes&) const = default;
};
struct Json {  // json/jsonb (PostgreSQL), text holding JSON (SQLite)
  std::string text;
  bool operator==(const Json&) const = default;
};
// timestamptz (PostgreSQL, sent and read in UTC), ISO 8601 text in UTC (SQLite).
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
struct Uuid {
  std::array<std::uint8_t, 16> bytes{};
  static Result<Uuid> parse(std::string_view text);  // 8-4-4-4-12 hex, either case
  static Uuid random();                              // version 4
  std::string str() const;                           // lower-case 8-4-4-4-12
  bool operator==(const Uuid&) const = default;
};

// "2026-11-27T11:52:15.123456Z"; parse also takes PostgreSQL's "2026-11-27 11:52:15.123+00".
std::string format_timestamp(Timestamp t);
Result<Timestamp> parse_timestamp(std::string_view text);

class Param {
 public:
  using Value = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Bytes, Json, Timestamp, Uuid,
                             std::vector<std::int64_t>, std::vector<std::string>>;
  Param(std::nullptr_t) : v_(nullptr) {}
  Param(bool b) : v_(b) {}
  template <std::integral I>
  requires(!std::same_as<I, bool>) Param(I i) : v_(static_cast<std::int64_t>(i)) {}
  Param(double d) : v_(d) {}
  Param(std::string s) : v_(std::move(s)) {}
  Param(std::string_view s) : v_(std::string(s)) {}
  Param(const char* s) : v_(std::string(s)) {}
  Param(Bytes b) : v_(std::move(b)) {}
  Param(Json j) : v_(std::move(j)) {}
  Param(Timestamp t) : v_(t) {}
  Param(Uuid u) : v_(u) {}
  Param(std::vector<std::int64_t> v) : v_(std::move(v)) {}
  Param(std::vector<std::string> v) : v_(std::move(v)) {}
  template <class T>
  Param(std::optional<T> o) : v_(nullptr) {
    if (o) v_ = Param(std::move(*o)).v_;
  }
  const Value& value() const noexcept { return v_; }
  bool is_null() const noexcept { return std::holds_alternative<std::nullptr_t>(v_); }

 private:
  Value v_;
};
using Params = std::vector<Param>;

enum class CellKind : std::uint8_t { kNull, kInteger, kReal, kText, kBlob };

class Rows;

// One row of a result; valid while its Rows lives.
class Row {
 public:
  Row(const Rows* rows, std::size_t index) : rows_(rows), index_(index) {}
  std::size_t size() const noexcept;
  bool is_null(std::size_t col) const noexcept;
  // The column's raw text (PostgreSQL's text format; SQLite text and blobs); empty for NULL.
  std::string_view raw(std::size_t col) const noexcept;
  // The column's index by name; nullopt if the result has no such column.
  std::optional<std::size_t> column(std::string_view name) const noexcept;
  // How the backend handed the value over: SQLite's storage class; PostgreSQL's are all text (its
  // type is the column's type_oid).
  CellKind kind(std::size_t col) const noexcept;
  // The result this row belongs to: its column names and types.
  const Rows& rows() const noexcept { return *rows_; }

  // T: bool, integers, double, std::string, Bytes, Json, Timestamp, Uuid, std::vector<std::int64_t>,
  // std::vector<std::string>, or std::optional of one (NULL → nullopt; NULL into a non-optional is an
  // error). Errors are INTERNAL and name the column.
  template <class T>
  Result<T> get(std::size_t col) const {
    T out{};
    if (auto st = decode(col, out); !st.ok()) return std::unexpected(std::move(st));
    return out;
  }
  template <class T>
  Result<T> get(std::string_view name) const {
    auto c = column(name);
    if (!c) return make_error(Code::kInternal, "result has no column '" + std::string(name) + "'");
    return get<T>(*c);
  }
  // Decodes columns 0, 1, 2… into out...
  template <class... T>
  Status scan(T&... out) const {
    if (sizeof...(T) > size()) return Status(Code::kInternal, "scan: more targets than columns");
    Status st;
    std::size_t col = 0;
    ((st.ok() ? (void)(st = decode(col++, out)) : (void)0), ...);
    return st;
  }

  Status decode(std::size_t col, bool& out) const;
  Status decode(std::size_t col, std::int64_t& out) const;
  Status decode(std::size_t col, double& out) const;
  Status decode(std::size_t col, std::string& out) const;
  Status decode(std::size_t col, Bytes& out) const;
  Status decode(std::size_t col, Json& out) const;
  Status decode(std::size_t col, Timestamp& out) const;
  Status decode(std::size_t col, Uuid& out) const;
  Status decode(std::size_t col, std::vector<std::int64_t>& out) const;
  Status decode(std::size_t col, std::vector<std::string>& out) const;
  template <std::integral I>
  requires(!std::same_as<I, bool> && !std::same_as<I, std::int64_t>) Status decode(std::size_t col, I& out)
  const {
    std::int64_t v = 0;
    if (auto st = decode(col, v); !st.ok()) return st;
    if (v < static_cast<std::int64_t>(std::numeric_limits<I>::min()) ||
        static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<I>::max()))
      return out_of_range(col);
    out = static_cast<I>(v);
    return {};
  }
  template <class T>
  Status decode(std::size_t col, std::optional<T>& out) const {
    if (is_null(col)) {
      out.reset();
      return {};
    }
    T v{};
    if (auto st = decode(col, v); !st.ok()) return st;
    out = std::move(v);
    return {};
  }

 private:
  Status out_of_range(std::size_t col) const;
  const Rows* rows_;
  std::size_t index_;
};

// A whole result: column names, rows, and the count of rows an INSERT/UPDATE/DELETE changed.
class Rows {
 public:
  struct Column {
    std::string name;
    std::uint32_t type_oid = 0;  // PostgreSQL's type; 0 for SQLite
  };
  const std::vector<Column>& columns() const noexcept { return columns_; }
  std::size_t size() const noexcept { return rows_; }
  bool empty() const noexcept { return rows_ == 0; }
  Row operator[](std::size_t i) const noexcept { return Row(this, i); }
  std::uint64_t affected() const noexcept { return affected_; }

  class iterator {
   public:
    iterator(const Rows* r, std::size_t i) : r_(r), i_(i) {}
    Row operator*() const { return Row(r_, i_); }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const iterator&) const = default;

   private:
    const Rows* r_;
    std::size_t i_;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, rows_}; }

  Rows() = default;
  Rows(Rows&&) noexcept = default;
  Rows& operator=(Rows&&) noexcept = default;
  Rows(const Rows&) = delete;  // cells point into storage this object owns
  Rows& operator=(const Rows&) = delete;

  // For backends.
  void add_column(std::string name, std::uint32_t type_oid = 0) { columns_.push_back({std::move(name), type_oid}); }
  void reserve(std::size_t cells) { cells_.reserve(cells); }
  void add_null() { cells_.push_back(Cell{CellKind::kNull, 0, {.number = 0}}); }
  void add_integer(std::int64_t v) { cells_.push_back(Cell{CellKind::kInteger, 0, {.number = v}}); }
  void add_real(double v);
  // Copies s into storage of its own.
  void add_text(std::string_view s, CellKind kind = CellKind::kText);
  // Refers to s without copying: its storage must be kept alive with keep() (PostgreSQL's PGresult).
  void add_view(std::string_view s) {
    cells_.push_back(Cell{CellKind::kText, static_cast<std::uint32_t>(s.size()), {.text = s.data()}});
  }
  void keep(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  // Cells read on demand from a backend's own result instead of copied into this object (PostgreSQL:
  // the PGresult, which keep() holds): `text(source, row, col, &size)` returns the value or nullptr
  // for NULL. Building nothing per cell is what keeps a 10,000-row fetch at libpq's own speed.
  using TextFn = const char* (*)(const void* source, std::size_t row, std::size_t col, std::uint32_t* size);
  void set_source(const void* source, TextFn text, std::size_t rows) noexcept {
    source_ = source;
    source_text_ = text;
    rows_ = rows;
  }
  void end_row() { ++rows_; }
  void set_affected(std::uint64_t n) noexcept { affected_ = n; }
  // Drops the rows but keeps the columns and the storage (streaming reuses one Rows per result).
  void clear_rows() noexcept {
    source_ = nullptr;
    source_text_ = nullptr;
    cells_.clear();
    owners_.clear();
    rows_ = 0;
    if (!chunks_.empty()) {
      chunks_.resize(1);
      free_ = chunks_[0].get();
      free_left_ = first_chunk_size_;
    }
  }

 private:
  friend class Row;
  struct Cell {
    CellKind kind;
    std::uint32_t size;
    union {
      const char* text;
      std::int64_t number;  // integer value, or a double's bits
    };
  };
  Cell cell(std::size_t row, std::size_t col) const noexcept {
    if (source_text_) {
      std::uint32_t size = 0;
      const char* text = source_text_(source_, row, col, &size);
      return text ? Cell{CellKind::kText, size, {.text = text}} : Cell{CellKind::kNull, 0, {.number = 0}};
    }
    return cells_[row * columns_.size() + col];
  }
  std::vector<Column> columns_;
  std::vector<Cell> cells_;
  std::vector<std::unique_ptr<char[]>> chunks_;  // copied text, in chunks that never move
  char* free_ = nullptr;
  std::size_t free_left_ = 0;
  std::size_t first_chunk_size_ = 0;
  const void* source_ = nullptr;
  TextFn source_text_ = nullptr;
  std::vector<std::shared_ptr<const void>> owners_;
  std::size_t rows_ = 0;
  std::uint64_t affected_ = 0;
};

// PostgreSQL type OIDs the decoders and encoders use.
namespace oid {
inline constexpr std::uint32_t kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kJson = 114,
                               kFloat4 = 700, kFloat8 = 701, kInt8Array = 1016, kTextArray = 1009, kTimestamp = 1114,
                               kTimestamptz = 1184, kNumeric = 1700, kUuid = 2950, kJsonb = 3802;
}

// Text forms shared by the encoders: "{1,2,3}" and {"a","b \"c\""} (PostgreSQL array literals).
std::string array_literal(const std::vector<std::int64_t>& v);
std::string array_literal(const std::vector<std::string>& v);

// A result of exactly one row that owns its data (what query_one returns): the Row interface (get,
// scan, column, rows() for the column names and types) over it, valid for as long as the OneRow lives.
class OneRow : public Row {
 public:
  explicit OneRow(std::unique_ptr<Rows> rows) : Row(rows.get(), 0), rows_(std::move(rows)) {}

 private:
  std::unique_ptr<Rows> rows_;  // on the heap: the Row base points at it, and a move must not move it
};

}  // namespace svckit::db

// Timestamps and UUIDs in JSON are strings ("2026-11-27T11:52:15.123456Z", 8-4-4-4-12), and a db::Json
// member is any JSON value written verbatim, so one struct can describe a row and its JSON alike.
namespace svckit::json {

template <>
struct Codec<db::Timestamp> {
  static bool decode(Reader& r, db::Timestamp& out, Decoder& d) {
    std::string_view text;
    if (!r.read_string(text)) return d.type_error(r, "string");
    auto t = db::parse_timestamp(text);
    if (!t) {
      d.add("must be a timestamp (2026-11-27T11:52:15Z)");
      return false;
    }
    out = *t;
    return true;
  }
  static void encode(Writer& w, db::Timestamp v) { w.string(db::format_timestamp(v)); }
  static bool empty(db::Timestamp v) { return v.time_since_epoch().count() == 0; }
};

template <>
struct Codec<db::Uuid> {
  static bool decode(Reader& r, db::Uuid& out, Decoder& d) {
    std::string_view text;
    if (!r.read_string(text)) return d.type_error(r, "string");
    auto u = db::Uuid::parse(text);
    if (!u) {
      d.add("must be a UUID");
      return false;
    }
    out = *u;
    return true;
  }
  static void encode(Writer& w, const db::Uuid& v) { w.string(v.str()); }
  static bool empty(const db::Uuid& v) { return v == db::Uuid{}; }
};

template <>
struct Codec<db::Json> {
  static bool decode(Reader& r, db::Json& out, Decoder&) {
    std::string_view text;
    if (!r.skip(&text)) return false;
    out.text.assign(text);
    return true;
  }
  static void encode(Writer& w, const db::Json& v) { w.raw(v.text.empty() ? std::string_view("null") : v.text); }
  static bool empty(const db::Json& v) { return v.text.empty() || v.text == "null"; }
};

template <>
struct TypeSchema<db::Timestamp> {
  static void write(SchemaObject& o, SchemaSet&) { o.set("type", "\"string\"").set("format", "\"date-time\""); }
};
template <>
struct TypeSchema<db::Uuid> {
  static void write(SchemaObject& o, SchemaSet&) { o.set("type", "\"string\"").set("format", "\"uuid\""); }
};

}  // namespace svckit::json
