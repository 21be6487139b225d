#pragma once
// Internal: the row mapping's type-erased form (svckit/db/mapping.hpp is the API). A TableMap is built
// once per struct from its descriptions; a Plan pairs a result's columns with the map's fields once
// per result set, so a row costs one decode per column.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "svckit/core/status.hpp"
#include "svckit/db/value.hpp"
#include "svckit/json/json.hpp"

namespace svckit::db::detail {

// How a member whose type the database reads natively (bool, integers, floating point, strings,
// Bytes, Json, json::Raw, Timestamp, Uuid, integer and string vectors, and std::optional of each)
// moves between a column and the member. Other members go through their JSON codec.
struct NativeCodec {
  Status (*decode)(const Row& row, std::size_t col, void* member);
  Status (*encode)(const void* member, Param& out);
  bool optional;
  bool integer;  // an integer type (what a version column must be)
};
// nullptr when members of this type are read and written as JSON.
const NativeCodec* native_codec(const std::type_info& type) noexcept;

template <class M>
struct IsOptional : std::false_type {};
template <class M>
struct IsOptional<std::optional<M>> : std::true_type {};

template <class M, class... L>
inline constexpr bool kOneOf = (std::is_same_v<M, L> || ...);

template <class M>
struct NativeType
    : std::bool_constant<kOneOf<M, bool, char, signed char, unsigned char, short, unsigned short, int, unsigned, long,
                                unsigned long, long long, unsigned long long, float, double> ||
                         std::is_same_v<M, std::string> || std::is_same_v<M, Bytes> || std::is_same_v<M, Json> ||
                         std::is_same_v<M, json::Raw> || std::is_same_v<M, Timestamp> || std::is_same_v<M, Uuid> ||
                         std::is_same_v<M, std::vector<std::int64_t>> || std::is_same_v<M, std::vector<std::string>>> {
};
template <class M>
struct NativeType<std::optional<M>> : NativeType<M> {};
template <class M>
inline constexpr bool kNative = NativeType<M>::value;

struct MappedField {
  std::string field;   // its name in errors: the JSON key, or the column of a row-only member
  std::string column;  // the result column it reads, the table column it writes
  const NativeCodec* native = nullptr;
  bool optional = false;  // NULL ↔ nullopt; a result without its column leaves it empty
  std::function<void*(void*)> address;
  // JSON members (native == nullptr): read and write the member of the object they are given.
  std::function<bool(json::Reader&, void*, json::Decoder&)> json_decode;
  std::function<void(json::Writer&, const void*)> json_encode;
};

struct TableMap {
  std::string type_name;  // in errors: "Licence.number"
  std::vector<MappedField> fields;
  bool reject_unknown_columns = false;

  const MappedField* find_column(std::string_view column) const noexcept;
  // The value of one field of obj as a query parameter: natives as themselves, enums (anything whose
  // JSON is a string) as that text, other JSON as db::Json, null as NULL.
  Status encode(const MappedField& f, const void* obj, Param& out) const;
};

// Builds a TableMap; RowSchema<T> is its typed face.
class TableMapBuilder {
 public:
  explicit TableMapBuilder(std::string type_name) { map_.type_name = std::move(type_name); }
  void add_json_fields(const std::vector<json::FieldSpec>& fields);
  void add(MappedField f);
  void rename(std::string_view field, std::string_view column);
  void skip(std::string_view field);
  void reject_unknown_columns() noexcept { map_.reject_unknown_columns = true; }
  void name(std::string_view type_name) { map_.type_name = std::string(type_name); }
  TableMap finish() &&;

 private:
  MappedField& field(std::string_view name, const char* what);
  TableMap map_;
  std::vector<std::string> skipped_;
};

// "Licence" for ns::Licence (the demangled name, without its namespaces unless it is a template).
std::string short_type_name(const std::type_info& type);

// Which column feeds which field, for one result set.
struct Plan {
  struct Step {
    std::size_t col;
    const MappedField* field;
    bool json_as_is;  // the column's text is JSON (json/jsonb, a number) rather than a bare string
  };
  const TableMap* map = nullptr;
  std::vector<Step> steps;
};
Result<Plan> resolve(const TableMap& map, const Rows& rows);
// Fills obj's mapped members from row.
Status decode(const Plan& plan, const Row& row, void* obj);
// A result of one column into a scalar (query_as<std::int64_t>).
Status check_scalar(const Rows& rows, const std::type_info& type);

}  // namespace svckit::db::detail
