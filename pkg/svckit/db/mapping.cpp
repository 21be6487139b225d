#include "svckit/db/mapping.hpp"

#include <cxxabi.h>

#include <array>
#include <cstdlib>
#include <limits>
#include <memory>
#include <stdexcept>
#include <typeindex>

namespace svckit::db::detail {

// ---- native members ------------------------------------------------------------------------------

namespace {

bool json_typed(std::uint32_t type_oid) noexcept {
  return type_oid == oid::kJson || type_oid == oid::kJsonb;
}

template <class X>
Status decode_value(const Row& row, std::size_t col, X& out) {
  if constexpr (std::is_same_v<X, float>) {
    double d = 0;
    if (Status st = row.decode(col, d); !st.ok()) return st;
    out = static_cast<float>(d);
    return {};
  } else if constexpr (std::is_same_v<X, json::Raw>) {
    // JSON text as it is; from a column the database does not keep as JSON, checked to be JSON, since
    // a Raw is written back verbatim.
    if (Status st = row.decode(col, out.text); !st.ok()) return st;
    if (json_typed(row.rows().columns()[col].type_oid)) return {};
    json::Reader r(out.text);
    if (!r.skip() || !r.finish())
      return Status(Code::kInternal, "DECODE", "not JSON: " + std::string(r.error_status().message()));
    return {};
  } else {
    return row.decode(col, out);
  }
}

template <class X>
Status decode_plain(const Row& row, std::size_t col, void* member) {
  return decode_value(row, col, *static_cast<X*>(member));
}

template <class X>
Status decode_optional(const Row& row, std::size_t col, void* member) {
  auto& out = *static_cast<std::optional<X>*>(member);
  if (row.is_null(col)) {
    out.reset();
    return {};
  }
  if (!out) out.emplace();
  return decode_value(row, col, *out);
}

template <class X>
Status encode_value(const X& v, Param& out) {
  if constexpr (std::is_same_v<X, float>) {
    out = Param(static_cast<double>(v));
  } else if constexpr (std::is_same_v<X, json::Raw>) {
    out = v.text.empty() ? Param(nullptr) : Param(Json{v.text});
  } else if constexpr (std::is_same_v<X, std::vector<std::int64_t>> || std::is_same_v<X, std::vector<std::string>>) {
    // Lists are written as JSON (a json/jsonb column; SQLite keeps arrays as JSON text anyway); reading
    // takes a PostgreSQL array too.
    std::string text;
    json::Writer w(text);
    json::Codec<X>::encode(w, v);
    out = Param(Json{std::move(text)});
  } else if constexpr (std::is_integral_v<X> && std::is_unsigned_v<X> && sizeof(X) >= sizeof(std::int64_t)) {
    if (v > static_cast<X>(std::numeric_limits<std::int64_t>::max()))
      return Status(Code::kInvalidArgument, "ENCODE", "out of range for a 64-bit signed column");
    out = Param(v);
  } else {
    out = Param(v);
  }
  return {};
}

template <class X>
Status encode_plain(const void* member, Param& out) {
  return encode_value(*static_cast<const X*>(member), out);
}

template <class X>
Status encode_optional(const void* member, Param& out) {
  const auto& v = *static_cast<const std::optional<X>*>(member);
  if (!v) {
    out = Param(nullptr);
    return {};
  }
  return encode_value(*v, out);
}

struct NativeEntry {
  std::type_index type;
  NativeCodec codec;
};

template <class X>
void add_native(std::vector<NativeEntry>& table) {
  constexpr bool integer = std::is_integral_v<X> && !std::is_same_v<X, bool>;
  table.push_back({typeid(X), {decode_plain<X>, encode_plain<X>, false, integer}});
  table.push_back({typeid(std::optional<X>), {decode_optional<X>, encode_optional<X>, true, integer}});
}

template <class... X>
std::vector<NativeEntry> native_table() {
  std::vector<NativeEntry> table;
  (add_native<X>(table), ...);
  return table;
}

}  // namespace

const NativeCodec* native_codec(const std::type_info& type) noexcept {
  static const std::vector<NativeEntry> table =
      native_table<bool, char, signed char, unsigned char, short, unsigned short, int, unsigned, long, unsigned long,
                   long long, unsigned long long, float, double, std::string, Bytes, Json, json::Raw, Timestamp, Uuid,
                   std::vector<std::int64_t>, std::vector<std::string>>();
  for (const auto& e : table)
    if (e.type == type) return &e.codec;
  return nullptr;
}

std::string short_type_name(const std::type_info& type) {
  int rc = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(type.name(), nullptr, nullptr, &rc), std::free);
  std::string name = rc == 0 && demangled ? demangled.get() : type.name();
  if (name.find('<') == std::string::npos) {
    if (auto colon = name.rfind("::"); colon != std::string::npos) name.erase(0, colon + 2);
  }
  return name;
}

// ---- describing a table --------------------------------------------------------------------------

void TableMapBuilder::add_json_fields(const std::vector<json::FieldSpec>& fields) {
  for (const auto& spec : fields) {
    if (!spec.type || !spec.address) throw std::logic_error("db::RowSchema: a JSON field without its member");
    MappedField f;
    f.field = spec.name;
    f.column = spec.name;
    f.native = native_codec(*spec.type);
    f.optional = f.native ? f.native->optional : static_cast<bool>(spec.is_null);
    f.address = spec.address;
    if (!f.native) {
      f.json_decode = spec.decode;
      f.json_encode = spec.encode;
    }
    add(std::move(f));
  }
}

void TableMapBuilder::add(MappedField f) {
  for (const auto& other : map_.fields)
    if (other.field == f.field)
      throw std::logic_error("db::RowSchema<" + map_.type_name + ">: two fields named '" + f.field + "'");
  map_.fields.push_back(std::move(f));
}

MappedField& TableMapBuilder::field(std::string_view name, const char* what) {
  for (auto& f : map_.fields)
    if (f.field == name) return f;
  throw std::logic_error("db::RowSchema<" + map_.type_name + ">::" + what + ": no field '" + std::string(name) + "'");
}

void TableMapBuilder::rename(std::string_view field_name, std::string_view column) {
  if (column.empty()) throw std::logic_error("db::RowSchema<" + map_.type_name + ">::column: an empty column name");
  field(field_name, "column").column = std::string(column);
}

void TableMapBuilder::skip(std::string_view field_name) {
  MappedField& f = field(field_name, "skip");
  map_.fields.erase(map_.fields.begin() + (&f - map_.fields.data()));
}

TableMap TableMapBuilder::finish() && {
  if (map_.fields.empty()) throw std::logic_error("db::RowSchema<" + map_.type_name + ">: no field maps a column");
  for (std::size_t i = 0; i < map_.fields.size(); ++i)
    for (std::size_t j = i + 1; j < map_.fields.size(); ++j)
      if (map_.fields[i].column == map_.fields[j].column)
        throw std::logic_error("db::RowSchema<" + map_.type_name + ">: fields '" + map_.fields[i].field + "' and '" +
                               map_.fields[j].field + "' both map column '" + map_.fields[i].column + "'");
  return std::move(map_);
}

const MappedField* TableMap::find_column(std::string_view column) const noexcept {
  for (const auto& f : fields)
    if (f.column == column) return &f;
  return nullptr;
}

namespace {

Status field_status(const TableMap& map, const MappedField& f, std::string_view reason, std::string_view why) {
  return Status(Code::kInternal, std::string(reason),
                map.type_name + "." + f.field + " (column \"" + f.column + "\"): " + std::string(why))
      .with_metadata("struct", map.type_name)
      .with_metadata("field", f.field)
      .with_metadata("column", f.column);
}

// A value's error from Row::decode names the column itself ("column 'x': ..."); ours says it once.
Status value_error(const TableMap& map, const MappedField& f, const Status& st) {
  std::string_view why = st.message();
  std::string prefix = "column '" + f.column + "': ";
  if (why.starts_with(prefix)) why.remove_prefix(prefix.size());
  return field_status(map, f, st.reason().empty() ? std::string_view("DECODE") : st.reason(), why);
}

bool looks_like_json_container(std::string_view text) noexcept {
  std::size_t i = text.find_first_not_of(" \t\r\n");
  return i != std::string_view::npos && (text[i] == '{' || text[i] == '[' || text[i] == '"');
}

// A member read through its JSON codec. The column's text is JSON when the database keeps it as JSON,
// holds a number, or starts an object, array or string; any other text is the value of a JSON string
// (an enum's name in a text column).
Status decode_json(const MappedField& f, const Plan::Step& s, const Row& row, void* obj) {
  std::string text;
  if (row.is_null(s.col)) {
    if (!f.optional) return Status(Code::kInternal, "DECODE", "NULL (make the field std::optional)");
    text = "null";
  } else {
    if (Status st = row.decode(s.col, text); !st.ok()) return st;
    CellKind kind = row.kind(s.col);
    if (!s.json_as_is && kind != CellKind::kInteger && kind != CellKind::kReal && !looks_like_json_container(text)) {
      std::string quoted;
      quoted.reserve(text.size() + 2);
      json::append_string(quoted, text);
      text = std::move(quoted);
    }
  }
  json::Reader r(text);
  json::Decoder d;
  std::size_t mark = d.push_key(f.field);
  bool ok = f.json_decode(r, obj, d);
  d.pop(mark);
  if (r.failed() || (ok && !r.finish()))
    return Status(Code::kInternal, "DECODE", "not JSON: " + std::string(r.error_status().message()));
  if (!d.errors.empty()) return Status(Code::kInternal, "DECODE", std::string(d.status().message()));
  if (!ok) return Status(Code::kInternal, "DECODE", "not a valid value");
  return {};
}

std::string column_list(const Rows& rows) {
  std::string out;
  for (const auto& c : rows.columns()) {
    if (out.size() > 200) return out + ", ...";
    out += (out.empty() ? "" : ", ") + c.name;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

Status TableMap::encode(const MappedField& f, const void* obj, Param& out) const {
  if (f.native) {
    Status st = f.native->encode(f.address(const_cast<void*>(obj)), out);
    return st.ok() ? st : value_error(*this, f, st);
  }
  std::string text;
  json::Writer w(text);
  f.json_encode(w, obj);
  if (text == "null") {
    out = Param(nullptr);
  } else if (text.front() == '"') {  // an enum's name (or any value whose JSON is a string): the text itself
    json::Reader r(text);
    std::string s;
    r.read_string(s);
    out = Param(std::move(s));
  } else {
    out = Param(Json{std::move(text)});
  }
  return {};
}

// ---- reading results -----------------------------------------------------------------------------

Result<Plan> resolve(const TableMap& map, const Rows& rows) {
  const auto& cols = rows.columns();
  Plan plan;
  plan.map = &map;
  plan.steps.reserve(std::min(cols.size(), map.fields.size()));
  std::vector<bool> seen(map.fields.size());
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const MappedField* f = map.find_column(cols[i].name);
    if (!f) {
      if (map.reject_unknown_columns)
        return make_error(Status(Code::kInternal, "ROW_MAPPING",
                                 map.type_name + ": the result has a column \"" + cols[i].name +
                                     "\" that no field maps (the struct rejects unknown columns)")
                              .with_metadata("struct", map.type_name)
                              .with_metadata("column", cols[i].name));
      continue;
    }
    auto index = static_cast<std::size_t>(f - map.fields.data());
    if (seen[index]) return make_error(field_status(map, *f, "ROW_MAPPING", "the result has two columns of this name"));
    seen[index] = true;
    plan.steps.push_back({i, f,
                          json_typed(cols[i].type_oid) || cols[i].type_oid == oid::kInt2 ||
                              cols[i].type_oid == oid::kInt4 || cols[i].type_oid == oid::kInt8 ||
                              cols[i].type_oid == oid::kFloat4 || cols[i].type_oid == oid::kFloat8 ||
                              cols[i].type_oid == oid::kNumeric});
  }
  for (std::size_t i = 0; i < map.fields.size(); ++i) {
    const MappedField& f = map.fields[i];
    if (!seen[i] && !f.optional)
      return make_error(
          field_status(map, f, "ROW_MAPPING", "the result has no such column (it has: " + column_list(rows) + ")"));
  }
  return plan;
}

Status decode(const Plan& plan, const Row& row, void* obj) {
  for (const Plan::Step& s : plan.steps) {
    const MappedField& f = *s.field;
    Status st = f.native ? f.native->decode(row, s.col, f.address(obj)) : decode_json(f, s, row, obj);
    if (!st.ok()) [[unlikely]]
      return value_error(*plan.map, f, st);
  }
  return {};
}

Status check_scalar(const Rows& rows, const std::type_info& type) {
  if (rows.columns().size() == 1) return {};
  return Status(Code::kInternal, "ROW_MAPPING",
                "a single value (" + short_type_name(type) + ") from a result of " +
                    std::to_string(rows.columns().size()) + " columns (select exactly one)");
}

}  // namespace svckit::db::detail
