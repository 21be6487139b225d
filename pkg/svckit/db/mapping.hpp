#pragma once
// Rows into structs, described once: the JSON description of a struct (json_schema) maps its rows too,
// field name = column name. Executor::query_as<T>, query_one_as<T> and stream_as<T> use it; so does
// Repository<T>. A row-only hook, static void row_schema(db::RowSchema<T>&), renames a column, leaves a
// JSON field out, adds members that rows have and JSON must not (a password hash, the version) and
// can reject result columns no field maps (by default they are ignored).
//
// ```cpp
//   enum class Standing { kActive, kRevoked };
//   constexpr auto json_names(Standing) {
//     return std::array<std::pair<Standing, std::string_view>, 2>{
//         {{Standing::kActive, "active"}, {Standing::kRevoked, "revoked"}}};
//   }
//   struct Holder {
//     std::string name;
//     static void json_schema(json::Schema<Holder>& s) { s.field("name", &Holder::name).required(); }
//   };
//   struct Licence {
//     std::int64_t id = 0;
//     std::string number;
//     Standing standing = Standing::kActive;       // a text column holding "active" / "revoked"
//     std::optional<db::Timestamp> expires_at;     // NULL ↔ nullopt
//     Holder holder;                               // a JSON/JSONB column (TEXT holding JSON in SQLite)
//     std::int64_t version = 0;                    // rows only: the ETag, not part of the body
//     static void json_schema(json::Schema<Licence>& s) {
//       s.field("id", &Licence::id);
//       s.field("number", &Licence::number).required();
//       s.field("standing", &Licence::standing);
//       s.field("expires_at", &Licence::expires_at).omit_empty();
//       s.field("holder", &Licence::holder).required();
//     }
//     static void row_schema(db::RowSchema<Licence>& s) {
//       s.column("holder", "holder_doc");          // the JSON key differs from the column
//       s.field("version", &Licence::version);
//     }
//   };
//   Task<Result<std::vector<Licence>>> expiring(db::Database& db, const Context& ctx, db::Timestamp before) {
//     db::Params args{before};
//     co_return co_await db.query_as<Licence>(
//         ctx, "SELECT * FROM licences WHERE expires_at < $1 ORDER BY expires_at", args);
//   }
// ```
//
// Columns are matched by name, exactly (case-sensitive, as the database reports them), once per result
// set. A field whose column is missing from the result is an error naming the struct, the field and
// the column, unless the field is std::optional (it stays empty). Values convert with the checks of
// Row::get (integer ranges, NULL only into std::optional, bool from 0/1 or t/f, timestamps from
// timestamptz or ISO text); enums by their json_names; structs, vectors and maps through their JSON
// codec, and db::Json and json::Raw as the JSON text, from a json/jsonb column (SQLite: TEXT holding
// JSON). Errors are INTERNAL: reason ROW_MAPPING when the columns do not fit the struct, DECODE when a
// value does not, with metadata struct, field and column.
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "svckit/db/detail/mapping.hpp"
#include "svckit/db/value.hpp"
#include "svckit/json/json.hpp"

namespace svckit::db {

// The row-only side of a struct's description (see the header comment).
template <class T>
class RowSchema {
 public:
  explicit RowSchema(detail::TableMapBuilder& b) : b_(b) {}
  // The column of a JSON field, when it differs from the field's name.
  RowSchema& column(std::string_view field, std::string_view column) {
    b_.rename(field, column);
    return *this;
  }
  // A JSON field with no column (computed, or stored elsewhere): neither read nor written.
  RowSchema& skip(std::string_view field) {
    b_.skip(field);
    return *this;
  }
  // A member that rows have and JSON does not.
  template <class M>
  RowSchema& field(std::string_view column, M T::*member) {
    detail::MappedField f;
    f.field = std::string(column);
    f.column = std::string(column);
    f.native = detail::native_codec(typeid(M));
    f.optional = detail::IsOptional<M>::value;
    f.address = [member](void* obj) -> void* { return &(static_cast<T*>(obj)->*member); };
    if constexpr (!detail::kNative<M>) {
      f.json_decode = [member](json::Reader& r, void* obj, json::Decoder& d) {
        return json::Codec<M>::decode(r, static_cast<T*>(obj)->*member, d);
      };
      f.json_encode = [member](json::Writer& w, const void* obj) {
        json::Codec<M>::encode(w, static_cast<const T*>(obj)->*member);
      };
    }
    b_.add(std::move(f));
    return *this;
  }
  // A result column that no field maps is an error (ROW_MAPPING) instead of being ignored.
  RowSchema& reject_unknown_columns() {
    b_.reject_unknown_columns();
    return *this;
  }
  // The struct's name in errors (by default its C++ name without namespaces).
  RowSchema& name(std::string_view type_name) {
    b_.name(type_name);
    return *this;
  }

 private:
  detail::TableMapBuilder& b_;
};

// The row-only description of T: T's own static row_schema(RowSchema<T>&) by default; specialise it
// (with a static schema(RowSchema<T>&)) for a type you cannot edit.
template <class T>
struct DescribeRows {};
template <class T>
requires requires(RowSchema<T>& s) {
  T::row_schema(s);
}
struct DescribeRows<T> {
  static void schema(RowSchema<T>& s) { T::row_schema(s); }
};

template <class T>
concept RowDescribed = json::Described<T> || requires(RowSchema<T>& s) {
  DescribeRows<T>::schema(s);
};
// A result of one column read straight into a value (query_as<std::int64_t>).
template <class T>
concept RowScalar = detail::kNative<T>;

// T's mapping, built on first use. A description that names a field it does not have, a column twice,
// or maps nothing throws std::logic_error (a programmer error, found by the first query).
template <class T>
requires RowDescribed<T>
const detail::TableMap& row_map_of() {
  static const detail::TableMap map = [] {
    detail::TableMapBuilder b(detail::short_type_name(typeid(T)));
    if constexpr (json::Described<T>) b.add_json_fields(json::schema_of<T>().fields());
    if constexpr (requires(RowSchema<T> & s) { DescribeRows<T>::schema(s); }) {
      RowSchema<T> s(b);
      DescribeRows<T>::schema(s);
    }
    return std::move(b).finish();
  }();
  return map;
}

// Every row of a result as a T.
template <class T>
requires(RowDescribed<T> || RowScalar<T>) Result<std::vector<T>> map_rows(const Rows& rows) {
  std::vector<T> out;
  out.reserve(rows.size());
  if constexpr (RowScalar<T>) {
    if (Status st = detail::check_scalar(rows, typeid(T)); !st.ok()) return std::unexpected(std::move(st));
    const auto* codec = detail::native_codec(typeid(T));
    for (Row row : rows) {
      T v{};
      if (Status st = codec->decode(row, 0, &v); !st.ok()) return std::unexpected(std::move(st));
      out.push_back(std::move(v));
    }
  } else {
    auto plan = detail::resolve(row_map_of<T>(), rows);
    if (!plan) return std::unexpected(std::move(plan.error()));
    for (Row row : rows) {
      if (Status st = detail::decode(*plan, row, &out.emplace_back()); !st.ok()) return std::unexpected(std::move(st));
    }
  }
  return out;
}

// One row as a T (its result's columns are matched for this row alone: for many rows of one result,
// map_rows or a RowMapper resolves them once).
template <class T>
requires(RowDescribed<T> || RowScalar<T>) Result<T> map_row(const Row& row) {
  Result<T> out{std::in_place};
  if constexpr (RowScalar<T>) {
    if (Status st = detail::check_scalar(row.rows(), typeid(T)); !st.ok()) return std::unexpected(std::move(st));
    if (Status st = detail::native_codec(typeid(T))->decode(row, 0, &*out); !st.ok())
      return std::unexpected(std::move(st));
  } else {
    auto plan = detail::resolve(row_map_of<T>(), row.rows());
    if (!plan) return std::unexpected(std::move(plan.error()));
    if (Status st = detail::decode(*plan, row, &*out); !st.ok()) return std::unexpected(std::move(st));
  }
  return out;
}

// Rows of one result set one at a time (a stream): matches the columns on the first row, then reuses
// that for every row.
template <class T>
requires(RowDescribed<T> || RowScalar<T>) class RowMapper {
 public:
  Result<T> operator()(const Row& row) {
    Result<T> out{std::in_place};
    if constexpr (RowScalar<T>) {
      if (!checked_) {
        if (Status st = detail::check_scalar(row.rows(), typeid(T)); !st.ok()) return std::unexpected(std::move(st));
        checked_ = true;
      }
      if (Status st = detail::native_codec(typeid(T))->decode(row, 0, &*out); !st.ok())
        return std::unexpected(std::move(st));
    } else {
      if (!plan_) {
        auto plan = detail::resolve(row_map_of<T>(), row.rows());
        if (!plan) return std::unexpected(std::move(plan.error()));
        plan_ = std::move(*plan);
      }
      if (Status st = detail::decode(*plan_, row, &*out); !st.ok()) return std::unexpected(std::move(st));
    }
    return out;
  }

 private:
  std::optional<detail::Plan> plan_;
  bool checked_ = false;
};

}  // namespace svckit::db
