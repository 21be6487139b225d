#include "service.hpp"

#include <charconv>
#include <chrono>

#include "svckit/http/message.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/json/json.hpp"

namespace svckit::user {

namespace {

constexpr std::size_t kMaxProfile = 16 * 1024;

std::string profile_rule(const json::Raw& v) {
  std::size_t i = v.text.find_first_not_of(" \t\r\n");
  if (i == std::string::npos || v.text[i] != '{') return "must be a JSON object";
  if (v.text.size() > kMaxProfile) return "must be at most 16 KiB of JSON";
  return "";
}

struct CreateUser {
  std::string email;
  std::string name;
  std::optional<std::string> external_id;
  std::optional<json::Raw> profile;
  static void json_schema(json::Schema<CreateUser>& s) {
    s.reject_unknown();
    s.field("email", &CreateUser::email).required().email().length(3, 254);
    s.field("name", &CreateUser::name).required().length(1, 100);
    s.field("external_id", &CreateUser::external_id).length(1, 128);
    s.field("profile", &CreateUser::profile).check(profile_rule);
  }
};

struct PatchUser {
  std::optional<std::string> email;
  std::optional<std::string> name;
  std::optional<json::Raw> profile;
  static void json_schema(json::Schema<PatchUser>& s) {
    s.reject_unknown();
    s.field("email", &PatchUser::email).email().length(3, 254);
    s.field("name", &PatchUser::name).length(1, 100);
    s.field("profile", &PatchUser::profile).check(profile_rule);
    s.check([](const PatchUser& p) -> std::optional<std::pair<std::string, std::string>> {
      if (!p.email && !p.name && !p.profile)
        return std::pair<std::string, std::string>{"", "set at least one of email, name, profile"};
      return std::nullopt;
    });
  }
};

struct UpsertUser {
  std::string email;
  std::string name;
  std::optional<json::Raw> profile;
  static void json_schema(json::Schema<UpsertUser>& s) {
    s.reject_unknown();
    s.field("email", &UpsertUser::email).required().email().length(3, 254);
    s.field("name", &UpsertUser::name).required().length(1, 100);
    s.field("profile", &UpsertUser::profile).check(profile_rule);
  }
};

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

db::Timestamp now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

constexpr std::string_view kColumns = "id, email, name, external_id, profile, created_at, updated_at";

// One user as JSON, straight from its row.
Status write_user(json::Writer& w, const db::Row& row) {
  std::int64_t id = 0;
  std::string email, name;
  std::optional<std::string> external_id;
  db::Json profile;
  db::Timestamp created, updated;
  if (Status st = row.scan(id, email, name, external_id, profile, created, updated); !st.ok()) return st;
  w.begin_object();
  w.key("id").integer(id).key("email").string(email).key("name").string(name);
  if (external_id) w.key("external_id").string(*external_id);
  w.key("profile").raw(profile.text.empty() ? std::string_view("{}") : std::string_view(profile.text));
  w.key("created_at").string(db::format_timestamp(created)).key("updated_at").string(db::format_timestamp(updated));
  w.end_object();
  return {};
}

void answer_error(http::Response& res, const Status& st) {
  if (st.code() == Code::kUnavailable) res.set_header("Retry-After", "1");
  res.error(st);
}

void answer_user(http::Response& res, int code, const db::Rows& rows) {
  std::string body;
  json::Writer w(body);
  if (Status st = write_user(w, rows[0]); !st.ok()) return answer_error(res, st);
  res.json(code, body);
}

// A duplicate email or external id: name the field in the 409.
Status conflict(Status st) {
  if (st.code() != Code::kAlreadyExists) return st;
  std::string text(st.message());
  std::string constraint(st.metadata_value("constraint"));
  std::string field =
      (constraint.find("external_id") != std::string::npos || text.find("external_id") != std::string::npos)
          ? "external_id"
          : "email";
  return Status(Code::kAlreadyExists, field == "email" ? "EMAIL_TAKEN" : "EXTERNAL_ID_TAKEN",
                "a user with this " + field + " already exists")
      .with_metadata("field", field);
}

Result<std::int64_t> parse_id(std::string_view text) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1)
    return make_error(Status(Code::kInvalidArgument, "BAD_ID", "id must be a positive integer")
                          .with_metadata("id", "not a positive integer"));
  return id;
}

bool valid_profile_key(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

class Handlers {
 public:
  Handlers(std::shared_ptr<db::Database> db, log::Logger logger, Options o)
      : db_(std::move(db)), logger_(std::move(logger)), o_(o) {}

  Task<void> create(http::Request& req, http::Response& res) {
    auto in = http::bind_json<CreateUser>(req);
    if (!in) co_return answer_error(res, in.error());
    const std::string sql =
        "INSERT INTO users (email, name, external_id, profile, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $5) RETURNING " +
        std::string(kColumns);
    db::Params args{lower(in->email), in->name, in->external_id, db::Json{in->profile ? in->profile->text : "{}"},
                    now()};
    auto rows = co_await db_->query(req.ctx, sql, args);
    if (!rows) co_return answer_error(res, conflict(rows.error()));
    if (auto id = (*rows)[0].get<std::int64_t>(0)) res.set_header("Location", "/v1/users/" + std::to_string(*id));
    answer_user(res, 201, *rows);
  }

  Task<void> get(http::Request& req, http::Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    const std::string sql = "SELECT " + std::string(kColumns) + " FROM users WHERE id = $1";
    db::Params args{*id};
    auto rows = co_await db_->query(req.ctx, sql, args);
    if (!rows) co_return answer_error(res, rows.error());
    if (rows->empty())
      co_return answer_error(res, Status(Code::kNotFound, "USER_NOT_FOUND", "no user " + std::to_string(*id)));
    answer_user(res, 200, *rows);
  }

  Task<void> patch(http::Request& req, http::Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    auto in = http::bind_json<PatchUser>(req);
    if (!in) co_return answer_error(res, in.error());
    // COALESCE keeps a column whose new value is NULL (not sent): one statement for every combination.
    const std::string sql =
        "UPDATE users SET email = COALESCE($2, email), name = COALESCE($3, name), "
        "profile = COALESCE($4, profile), updated_at = $5 WHERE id = $1 RETURNING " +
        std::string(kColumns);
    std::optional<db::Json> profile;
    if (in->profile) profile = db::Json{in->profile->text};
    std::optional<std::string> email;
    if (in->email) email = lower(*in->email);
    db::Params args{*id, email, in->name, profile, now()};
    auto rows = co_await db_->query(req.ctx, sql, args);
    if (!rows) co_return answer_error(res, conflict(rows.error()));
    if (rows->empty())
      co_return answer_error(res, Status(Code::kNotFound, "USER_NOT_FOUND", "no user " + std::to_string(*id)));
    answer_user(res, 200, *rows);
  }

  Task<void> remove(http::Request& req, http::Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    const std::string sql = "DELETE FROM users WHERE id = $1";
    db::Params args{*id};
    auto n = co_await db_->exec(req.ctx, sql, args);
    if (!n) co_return answer_error(res, n.error());
    if (*n == 0)
      co_return answer_error(res, Status(Code::kNotFound, "USER_NOT_FOUND", "no user " + std::to_string(*id)));
    res.status = 204;
  }

  Task<void> list(http::Request& req, http::Response& res) {
    std::int64_t cursor = 0;
    int limit = o_.default_page;
    std::string bad;
    if (auto c = req.query_param("cursor"); !c.empty()) {
      auto parsed = parse_id(http::url_decode(c, true));
      if (!parsed)
        bad = "cursor";
      else
        cursor = *parsed;
    }
    if (auto l = req.query_param("limit"); !l.empty()) {
      auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
      if (ec != std::errc() || end != l.data() + l.size() || limit < 1 || limit > o_.max_page) bad = "limit";
    }
    if (!bad.empty()) {
      co_return answer_error(res, Status(Code::kInvalidArgument, "VALIDATION_FAILED", bad + " is not valid")
                                      .with_metadata(bad, bad == "limit" ? "must be 1.." + std::to_string(o_.max_page)
                                                                         : "must be a next_cursor value"));
    }
    // Filters become WHERE terms with parameters; the SQL text only varies by which are present.
    std::string sql = "SELECT " + std::string(kColumns) + " FROM users WHERE id > $1";
    db::Params args{cursor};
    if (auto e = req.query_param("email"); !e.empty()) {
      args.emplace_back(lower(http::url_decode(e, true)));
      sql += " AND email = $" + std::to_string(args.size());
    }
    int profile_filters = 0;
    std::string query(req.query());
    for (std::size_t pos = 0; pos < query.size();) {
      std::size_t amp = query.find('&', pos);
      std::string_view pair =
          std::string_view(query).substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
      pos = amp == std::string::npos ? query.size() : amp + 1;
      if (!pair.starts_with("profile.")) continue;
      auto eq = pair.find('=');
      std::string key =
          http::url_decode(pair.substr(8, eq == std::string_view::npos ? std::string_view::npos : eq - 8), true);
      std::string value = eq == std::string_view::npos ? "" : http::url_decode(pair.substr(eq + 1), true);
      if (!valid_profile_key(key) || ++profile_filters > 1) {
        co_return answer_error(
            res, Status(Code::kInvalidArgument, "VALIDATION_FAILED", "bad profile filter")
                     .with_metadata("profile", "one profile.<field>=<value>, field of [A-Za-z0-9_]{1,64}"));
      }
      args.emplace_back(key);
      args.emplace_back(value);
      sql += " AND profile ->> CAST($" + std::to_string(args.size() - 1) + " AS TEXT) = CAST($" +
             std::to_string(args.size()) + " AS TEXT)";
    }
    args.emplace_back(limit + 1);  // one more than asked: is there a next page?
    sql += " ORDER BY id LIMIT $" + std::to_string(args.size());
    auto rows = co_await db_->query(req.ctx, sql, args);
    if (!rows) co_return answer_error(res, rows.error());
    std::string body;
    json::Writer w(body);
    w.begin_object().key("users").begin_array();
    std::size_t shown = std::min<std::size_t>(rows->size(), static_cast<std::size_t>(limit));
    for (std::size_t i = 0; i < shown; ++i)
      if (Status st = write_user(w, (*rows)[i]); !st.ok()) co_return answer_error(res, st);
    w.end_array();
    if (rows->size() > shown) w.key("next_cursor").string(std::to_string(*(*rows)[shown - 1].get<std::int64_t>(0)));
    w.end_object();
    res.json(200, body);
  }

  Task<void> upsert(http::Request& req, http::Response& res) {
    std::string ext = http::url_decode(req.param("ext"));
    if (ext.empty() || ext.size() > 128)
      co_return answer_error(
          res, Status(Code::kInvalidArgument, "VALIDATION_FAILED", "external id must be 1..128 characters")
                   .with_metadata("ext", "must be 1..128 characters"));
    auto in = http::bind_json<UpsertUser>(req);
    if (!in) co_return answer_error(res, in.error());
    const std::string sql =
        "INSERT INTO users (email, name, external_id, profile, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) "
        "ON CONFLICT (external_id) DO UPDATE SET email = excluded.email, name = excluded.name, "
        "profile = excluded.profile, updated_at = excluded.updated_at RETURNING " +
        std::string(kColumns);
    db::Params args{lower(in->email), in->name, ext, db::Json{in->profile ? in->profile->text : "{}"}, now()};
    auto rows = co_await db_->query(req.ctx, sql, args);
    if (!rows) co_return answer_error(res, conflict(rows.error()));
    answer_user(res, 200, *rows);
  }

 private:
  std::shared_ptr<db::Database> db_;
  log::Logger logger_;
  Options o_;
};

}  // namespace

void mount(http::Router& router, std::shared_ptr<db::Database> db, log::Logger logger, Options options) {
  auto h = std::make_shared<Handlers>(std::move(db), std::move(logger), options);
  auto users = router.group("/v1/users");
  users.use(http::middleware::body_limit(options.max_body));
  users.post("", [h](http::Request& req, http::Response& res) { return h->create(req, res); });
  users.get("", [h](http::Request& req, http::Response& res) { return h->list(req, res); });
  users.get("/:id", [h](http::Request& req, http::Response& res) { return h->get(req, res); });
  users.patch("/:id", [h](http::Request& req, http::Response& res) { return h->patch(req, res); });
  users.del("/:id", [h](http::Request& req, http::Response& res) { return h->remove(req, res); });
  users.put("/by-external-id/:ext", [h](http::Request& req, http::Response& res) { return h->upsert(req, res); });
}

}  // namespace svckit::user
