#include "svckit/db/repository.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "svckit/db/detail/cursor.hpp"

namespace svckit::db::detail {

namespace {

bool identifier(std::string_view s) noexcept {
  if (s.empty() || s.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Identifiers are quoted, so that a column may be called "order" or "user", and matched exactly, as
// result columns are.
std::string quote(std::string_view name) {
  return "\"" + std::string(name) + "\"";
}

std::string placeholder(std::size_t n) {
  return "$" + std::to_string(n);
}

// A value for messages: "42", "'L-7'".
std::string describe(const Param& p) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::int64_t>) return std::to_string(v);
        if constexpr (std::is_same_v<V, std::string>) return "'" + v.substr(0, 64) + "'";
        if constexpr (std::is_same_v<V, Uuid>) return v.str();
        if constexpr (std::is_same_v<V, std::nullptr_t>) return "NULL";
        return "?";
      },
      p.value());
}

}  // namespace

TableSql::TableSql(const TableMap& map, TableOptions o, const void* probe)
    : map_(map), table_(o.table), descending_(o.descending), secret_(std::move(o.cursor_secret)) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("db::Repository<" + map_.type_name + "> on '" + o.table + "': " + why);
  };
  // The table: name or schema.name.
  std::string_view t = o.table;
  auto dot = t.find('.');
  if (dot == std::string_view::npos ? !identifier(t)
                                    : (!identifier(t.substr(0, dot)) || !identifier(t.substr(dot + 1))))
    fail("not an identifier (letters, digits, _; schema.table)");
  quoted_table_ = dot == std::string_view::npos ? quote(t) : quote(t.substr(0, dot)) + "." + quote(t.substr(dot + 1));

  for (const auto& f : map_.fields) {
    if (!identifier(f.column)) fail("column '" + f.column + "' of field '" + f.field + "' is not an identifier");
    columns_ += (columns_.empty() ? "" : ", ") + quote(f.column);
  }
  auto column = [&](const std::string& name, const char* role) -> const MappedField* {
    const MappedField* f = map_.find_column(name);
    if (!f) fail(std::string(role) + " '" + name + "' is not a column the struct maps");
    return f;
  };
  id_ = column(o.id, "id");
  if (id_->optional) fail("the id '" + o.id + "' must not be std::optional");
  if (!o.version.empty()) {
    version_ = column(o.version, "version");
    if (!version_->native || !version_->native->integer || version_->optional)
      fail("the version '" + o.version + "' must be an integer, not std::optional");
    if (version_ == id_) fail("the version cannot be the id");
  }
  std::vector<const MappedField*> insert_only, read_only;
  for (const auto& name : o.insert_only) insert_only.push_back(column(name, "insert_only column"));
  for (const auto& name : o.read_only) read_only.push_back(column(name, "read_only column"));
  auto in = [](const std::vector<const MappedField*>& v, const MappedField* f) {
    return std::find(v.begin(), v.end(), f) != v.end();
  };
  if (version_ && (in(insert_only, version_) || in(read_only, version_)))
    fail("the version column is written by the repository: not insert_only or read_only");
  if (in(read_only, id_) && !o.id_generated) fail("a read_only id must be id_generated");
  for (const auto& f : map_.fields) {
    if (&f == version_ || in(read_only, &f)) continue;
    if (&f == id_ && o.id_generated) continue;
    insert_.push_back(&f);
  }
  for (const auto& f : map_.fields) {
    if (&f == id_ || &f == version_ || in(insert_only, &f) || in(read_only, &f)) continue;
    update_.push_back(&f);
  }
  if (o.page_key.empty()) o.page_key = {o.id};
  for (const auto& name : o.page_key) {
    const MappedField* f = column(name, "page_key column");
    if (f->optional) fail("page_key column '" + name + "' must not be std::optional (NULLs have no order)");
    if (in(key_, f)) fail("page_key column '" + name + "' twice");
    key_.push_back(f);
    Param p(nullptr);
    if (Status st = map_.encode(*f, probe, p); !st.ok()) fail(std::string(st.message()));
    if (p.is_null() || std::holds_alternative<std::vector<std::int64_t>>(p.value()) ||
        std::holds_alternative<std::vector<std::string>>(p.value()) || std::holds_alternative<Json>(p.value()))
      fail("page_key column '" + name + "' must hold a scalar (a number, text, timestamp, uuid)");
    key_tags_.push_back(type_tag(p));
  }

  // The statements.
  const char* dir = descending_ ? " DESC" : "";
  for (const auto* f : key_) order_by_ += (order_by_.empty() ? "" : ", ") + quote(f->column) + dir;
  if (key_.size() == 1) {
    key_tuple_ = quote(key_[0]->column);
  } else {
    for (const auto* f : key_) key_tuple_ += (key_tuple_.empty() ? "(" : ", ") + quote(f->column);
    key_tuple_ += ")";
  }
  sql_ = std::make_unique<RepositorySql>();
  auto& s = *sql_;
  const std::string returning = " RETURNING " + columns_;
  const std::string select = "SELECT " + columns_ + " FROM " + quoted_table_;
  std::string names, values;
  std::size_t n = 0;
  for (const auto* f : insert_) {
    names += (names.empty() ? "" : ", ") + quote(f->column);
    values += (values.empty() ? "" : ", ") + placeholder(++n);
  }
  if (version_) {
    names += (names.empty() ? "" : ", ") + quote(version_->column);
    values += values.empty() ? "1" : ", 1";
  }
  s.insert = names.empty() ? "INSERT INTO " + quoted_table_ + " DEFAULT VALUES" + returning
                           : "INSERT INTO " + quoted_table_ + " (" + names + ") VALUES (" + values + ")" + returning;
  const std::string by_id = " WHERE " + quote(id_->column) + " = $1";
  s.get = select + by_id;
  s.remove = "DELETE FROM " + quoted_table_ + by_id;
  if (version_) {
    s.remove_versioned = s.remove + " AND " + quote(version_->column) + " = $2";
    s.current_version = "SELECT " + quote(version_->column) + " FROM " + quoted_table_ + by_id;
  }
  std::string sets;
  n = 0;
  for (const auto* f : update_) sets += (sets.empty() ? "" : ", ") + quote(f->column) + " = " + placeholder(++n);
  if (version_) {
    sets += (sets.empty() ? "" : ", ") + quote(version_->column) + " = " + quote(version_->column) + " + 1";
  }
  if (!sets.empty()) {
    s.update = "UPDATE " + quoted_table_ + " SET " + sets + " WHERE " + quote(id_->column) + " = " + placeholder(++n);
    if (version_) s.update += " AND " + quote(version_->column) + " = " + placeholder(++n);
    s.update += returning;
  }
  Where none;
  s.page_first = page_query("", 1, none)->sql;
  s.page_next = select + " WHERE " + key_tuple_ + (descending_ ? " < " : " > ");
  std::string tuple;
  for (std::size_t i = 0; i < key_.size(); ++i) tuple += (i ? ", " : "") + placeholder(i + 1);
  s.page_next += (key_.size() == 1 ? tuple : "(" + tuple + ")") + " ORDER BY " + order_by_ + " LIMIT " +
                 placeholder(key_.size() + 1);
  s.find = select + " WHERE (<where>) ORDER BY " + order_by_;
}

TableSql::~TableSql() = default;

Status TableSql::insert_params(const void* obj, Params& out) const {
  out.clear();
  out.reserve(insert_.size());
  for (const auto* f : insert_) {
    Param& p = out.emplace_back(nullptr);
    if (Status st = map_.encode(*f, obj, p); !st.ok()) return st;
  }
  return {};
}

Status TableSql::update_params(const void* obj, Params& out) const {
  if (sql_->update.empty())
    return Status(Code::kFailedPrecondition, "NOTHING_TO_UPDATE",
                  table_ + ": every column is insert_only or read_only");
  out.clear();
  out.reserve(update_.size() + 2);
  for (const auto* f : update_) {
    Param& p = out.emplace_back(nullptr);
    if (Status st = map_.encode(*f, obj, p); !st.ok()) return st;
  }
  Param& id = out.emplace_back(nullptr);
  if (Status st = map_.encode(*id_, obj, id); !st.ok()) return st;
  if (version_) {
    Param& v = out.emplace_back(nullptr);
    if (Status st = map_.encode(*version_, obj, v); !st.ok()) return st;
  }
  return {};
}

Status TableSql::id_of(const void* obj, Param& out) const {
  return map_.encode(*id_, obj, out);
}

std::optional<std::int64_t> TableSql::version_of(const void* obj) const {
  if (!version_) return std::nullopt;
  Param p(nullptr);
  if (!map_.encode(*version_, obj, p).ok()) return std::nullopt;
  const auto* v = std::get_if<std::int64_t>(&p.value());
  return v ? std::optional<std::int64_t>(*v) : std::nullopt;
}

Status TableSql::not_found(const Param& id) const {
  return Status(Code::kNotFound, "NO_ROWS", table_ + ": no row with " + id_->column + " " + describe(id))
      .with_metadata("table", table_)
      .with_metadata(id_->column, describe(id));
}

Task<Status> TableSql::explain_missing(Executor& ex, const Context& ctx, Param id,
                                       std::optional<std::int64_t> version) const {
  if (!version_ || !version) co_return not_found(id);
  Params args{id};
  auto current = co_await ex.query(ctx, sql_->current_version, std::move(args));
  if (!current) co_return current.error();
  if (current->empty()) co_return not_found(id);
  auto at = (*current)[0].get<std::int64_t>(0);
  std::string now = at ? std::to_string(*at) : std::string("?");
  co_return Status(Code::kAborted, "VERSION_CONFLICT",
                   table_ + ": the row with " + id_->column + " " + describe(id) + " is at version " + now + ", not " +
                       std::to_string(*version) + " (it changed since it was read)")
      .with_metadata("table", table_)
      .with_metadata("expected_version", std::to_string(*version))
      .with_metadata("current_version", now);
}

std::string TableSql::listing(const Where& where) const {
  std::string out = quoted_table_ + '\n' + order_by_ + '\n' + where.sql + '\n';
  for (const auto& p : where.params) serialize(p, out);
  return out;
}

Result<TableSql::Query> TableSql::page_query(std::string_view cursor, std::size_t limit, const Where& where) const {
  if (limit < 1 || limit > 10000)
    return make_error(Status(Code::kInvalidArgument, "BAD_LIMIT", "limit must be 1..10000")
                          .with_metadata("limit", "must be 1..10000"));
  Query q;
  q.params = where.params;
  q.sql = "SELECT " + columns_ + " FROM " + quoted_table_;
  std::string cond = where.sql.empty() ? std::string() : "(" + where.sql + ")";
  if (!cursor.empty()) {
    auto after = read_cursor(secret_, listing(where), cursor, key_tags_);
    if (!after) return std::unexpected(after.error());
    std::string tuple;
    for (auto& v : *after) {
      q.params.push_back(std::move(v));
      tuple += (tuple.empty() ? "" : ", ") + placeholder(q.params.size());
    }
    if (key_.size() > 1) tuple = "(" + tuple + ")";
    cond += (cond.empty() ? "" : " AND ") + key_tuple_ + (descending_ ? " < " : " > ") + tuple;
  }
  if (!cond.empty()) q.sql += " WHERE " + cond;
  q.params.emplace_back(static_cast<std::int64_t>(limit) + 1);  // one more: is there a next page?
  q.sql += " ORDER BY " + order_by_ + " LIMIT " + placeholder(q.params.size());
  return q;
}

TableSql::Query TableSql::find_query(const Where& where) const {
  Query q;
  q.params = where.params;
  q.sql = "SELECT " + columns_ + " FROM " + quoted_table_;
  if (!where.sql.empty()) q.sql += " WHERE (" + where.sql + ")";
  q.sql += " ORDER BY " + order_by_;
  return q;
}

Result<std::string> TableSql::cursor_after(const void* obj, const Where& where) const {
  Params values;
  for (const auto* f : key_) {
    Param& p = values.emplace_back(nullptr);
    if (Status st = map_.encode(*f, obj, p); !st.ok()) return std::unexpected(std::move(st));
  }
  return make_cursor(secret_, listing(where), values);
}

}  // namespace svckit::db::detail
