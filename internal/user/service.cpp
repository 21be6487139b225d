#include "service.hpp"

#include <charconv>
#include <chrono>
#include <random>

#include "svckit/core/runtime.hpp"
#include "svckit/db/repository.hpp"
#include "svckit/http/message.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/http/openapi.hpp"
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
    s.field("profile", &CreateUser::profile).check(profile_rule).describe("any JSON object, at most 16 KiB");
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
    s.field("profile", &PatchUser::profile).check(profile_rule).describe("any JSON object, at most 16 KiB");
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
    s.field("profile", &UpsertUser::profile).check(profile_rule).describe("any JSON object, at most 16 KiB");
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

// A user as stored and as the API shows it: one description for both. The version is the row's
// optimistic-concurrency counter, shown as the ETag rather than in the body.
struct User {
  std::int64_t id = 0;
  std::string email;
  std::string name;
  std::optional<std::string> external_id;
  json::Raw profile{"{}"};
  db::Timestamp created_at;
  db::Timestamp updated_at;
  std::int64_t version = 0;
  static void json_schema(json::Schema<User>& s) {
    s.field("id", &User::id);
    s.field("email", &User::email);
    s.field("name", &User::name);
    s.field("external_id", &User::external_id).omit_empty();
    s.field("profile", &User::profile).describe("a JSON object");
    s.field("created_at", &User::created_at);
    s.field("updated_at", &User::updated_at);
  }
  static void row_schema(db::RowSchema<User>& s) { s.field("version", &User::version); }
};

// A page of GET /v1/users.
struct UserPage {
  std::vector<User> users;
  std::string next_cursor;
  static void json_schema(json::Schema<UserPage>& s) {
    s.field("users", &UserPage::users).required();
    s.field("next_cursor", &UserPage::next_cursor)
        .omit_empty()
        .describe("the cursor of the next page; absent on the last");
  }
};

// GET /v1/users's query, for the document: list() reads it itself, as its limit bound is a setting
// and profile.<field>=<value> filters have no fixed names.
struct ListQuery {
  int limit = 0;
  std::string cursor;
  std::string email;
  static void json_schema(json::Schema<ListQuery>& s) {
    s.field("limit", &ListQuery::limit).describe("page size, 1..user.max_page (default user.default_page)");
    s.field("cursor", &ListQuery::cursor).describe("next_cursor of the previous page, with the same filters");
    s.field("email", &ListQuery::email).describe("only the user with this email");
  }
};

db::TableOptions user_table(std::string cursor_secret) {
  return {
      .table = "users", .version = "version", .insert_only = {"created_at"}, .cursor_secret = std::move(cursor_secret)};
}

std::string etag(const User& u) {
  return "\"" + std::to_string(u.version) + "\"";
}

void answer_error(http::Response& res, const Status& st) {
  if (st.code() == Code::kUnavailable || st.to_http() == 503) res.set_header("Retry-After", "1");  // a full disk too
  res.error(st);
}

void answer_user(http::Response& res, int code, const User& u) {
  res.set_header("ETag", etag(u));
  res.json(code, json::encode(u));
}

Status user_not_found(std::int64_t id) {
  return Status(Code::kNotFound, "USER_NOT_FOUND", "no user " + std::to_string(id));
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

// 412: the If-Match the client sent no longer names the user's version.
void answer_precondition(http::Response& res, std::string_view if_match) {
  res.error(Status(Code::kFailedPrecondition, "VERSION_MISMATCH",
                   "the user changed since the ETag in If-Match (" + std::string(if_match) + "): read it again")
                .with_metadata("If-Match", std::string(if_match)));
  res.status = 412;
}

// If-Match: absent (any version), "*" (any version, the user must exist) or one strong ETag ("3").
// Anything else cannot match.
struct Precondition {
  bool present = false;
  std::optional<std::int64_t> version;
  bool matchable = true;
};

Precondition if_match(const http::Request& req) {
  Precondition p;
  std::string_view v = req.header("If-Match");
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return p;
  p.present = true;
  if (v == "*") return p;
  std::int64_t n = 0;
  if (v.size() < 3 || v.front() != '"' || v.back() != '"' ||
      std::from_chars(v.data() + 1, v.data() + v.size() - 1, n).ptr != v.data() + v.size() - 1) {
    p.matchable = false;
    return p;
  }
  p.version = n;
  return p;
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

void apply(const PatchUser& in, User& u) {
  if (in.email) u.email = lower(*in.email);
  if (in.name) u.name = *in.name;
  if (in.profile) u.profile = *in.profile;
  u.updated_at = now();
}

// A listing's condition from the query string: email=, and at most one profile.<field>=<value>.
Result<db::Where> list_filter(const http::Request& req) {
  db::Where where;
  auto add = [&](std::string term) { where.sql += (where.sql.empty() ? "" : " AND ") + term; };
  if (auto e = req.query_param("email"); !e.empty()) {
    where.params.emplace_back(lower(http::url_decode(e, true)));
    add("email = $" + std::to_string(where.params.size()));
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
    if (!valid_profile_key(key) || ++profile_filters > 1)
      return make_error(Status(Code::kInvalidArgument, "VALIDATION_FAILED", "bad profile filter")
                            .with_metadata("profile", "one profile.<field>=<value>, field of [A-Za-z0-9_]{1,64}"));
    where.params.emplace_back(key);
    where.params.emplace_back(value);
    add("profile ->> CAST($" + std::to_string(where.params.size() - 1) + " AS TEXT) = CAST($" +
        std::to_string(where.params.size()) + " AS TEXT)");
  }
  return where;
}

class Handlers {
 public:
  Handlers(std::shared_ptr<db::Database> db, log::Logger logger, Options o)
      : db_(std::move(db)), logger_(std::move(logger)), o_(o), users_(user_table(o_.cursor_secret)) {}

  Task<void> create(http::Request& req, http::Response& res) {
    auto in = http::bind_json<CreateUser>(req);
    if (!in) co_return answer_error(res, in.error());
    User u;
    u.email = lower(in->email);
    u.name = in->name;
    u.external_id = in->external_id;
    if (in->profile) u.profile = *in->profile;
    u.created_at = u.updated_at = now();
    auto saved = co_await users_.insert(*db_, req.ctx, u);
    if (!saved) co_return answer_error(res, conflict(saved.error()));
    res.set_header("Location", "/v1/users/" + std::to_string(saved->id));
    answer_user(res, 201, *saved);
  }

  Task<void> get(http::Request& req, http::Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    auto u = co_await users_.get(*db_, req.ctx, *id);
    if (!u) co_return answer_error(res, u.error().code() == Code::kNotFound ? user_not_found(*id) : u.error());
    answer_user(res, 200, *u);
  }

  // Read, change, write at the version read: a concurrent writer makes the write fail and it is done
  // again on the row as it is now (each field of the patch wins or loses whole, as with a single UPDATE).
  // With If-Match, the client's version must still be the row's: 412 otherwise.
  Task<void> patch(http::Request& req, http::Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    auto in = http::bind_json<PatchUser>(req);
    if (!in) co_return answer_error(res, in.error());
    Precondition pre = if_match(req);
    for (int attempt = 0;; ++attempt) {
      auto u = co_await users_.get(*db_, req.ctx, *id);
      if (!u) co_return answer_error(res, u.error().code() == Code::kNotFound ? user_not_found(*id) : u.error());
      if (!pre.matchable || (pre.version && *pre.version != u->version))
        co_return answer_precondition(res, req.header("If-Match"));
      apply(*in, *u);
      auto saved = co_await users_.update(*db_, req.ctx, *u);
      if (saved) co_return answer_user(res, 200, *saved);
      const Status& st = saved.error();
      if (st.code() == Code::kNotFound) co_return answer_error(res, user_not_found(*id));
      if (st.reason() != "VERSION_CONFLICT") co_return answer_error(res, conflict(st));
      if (pre.version) co_return answer_precondition(res, req.header("If-Match"));
      if (attempt == 4) co_return answer_error(res, st);  // ABORTED (409): heavy contention on one user
      // Two writers of one row in lockstep would collide on every try: a random pause, doubling per
      // try (up to 0.5, 1, 2, 4 ms), breaks the tie.
      thread_local std::minstd_rand jitter{std::random_device{}()};
      auto pause = std::chrono::microseconds(jitter() % (500u << attempt));
      if (Status slept = co_await sleep_for(req.ctx, pause); !slept.ok()) co_return answer_error(res, slept);
    }
  }

  Task<void> remove(http::Request& req, http::Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    Precondition pre = if_match(req);
    if (!pre.matchable) co_return answer_precondition(res, req.header("If-Match"));
    Status st;
    if (pre.version)
      st = co_await users_.remove(*db_, req.ctx, *id, *pre.version);
    else
      st = co_await users_.remove(*db_, req.ctx, *id);
    if (st.code() == Code::kNotFound) co_return answer_error(res, user_not_found(*id));
    if (st.reason() == "VERSION_CONFLICT") co_return answer_precondition(res, req.header("If-Match"));
    if (!st.ok()) co_return answer_error(res, st);
    res.status = 204;
  }

  Task<void> list(http::Request& req, http::Response& res) {
    db::PageRequest page{.cursor = http::url_decode(req.query_param("cursor"), true),
                         .limit = static_cast<std::size_t>(o_.default_page)};
    if (auto l = req.query_param("limit"); !l.empty()) {
      int limit = 0;
      auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
      if (ec != std::errc() || end != l.data() + l.size() || limit < 1 || limit > o_.max_page)
        co_return answer_error(res, Status(Code::kInvalidArgument, "VALIDATION_FAILED", "limit is not valid")
                                        .with_metadata("limit", "must be 1.." + std::to_string(o_.max_page)));
      page.limit = static_cast<std::size_t>(limit);
    }
    auto where = list_filter(req);
    if (!where) co_return answer_error(res, where.error());
    auto found = co_await users_.page(*db_, req.ctx, page, *where);
    if (!found) {
      if (found.error().reason() == "BAD_CURSOR")
        co_return answer_error(res, Status(Code::kInvalidArgument, "VALIDATION_FAILED", "cursor is not valid")
                                        .with_metadata("cursor", "must be a next_cursor value of the same filters"));
      co_return answer_error(res, found.error());
    }
    UserPage out{.users = std::move(found->items), .next_cursor = std::move(found->next_cursor)};
    res.json(200, out);
  }

  Task<void> upsert(http::Request& req, http::Response& res) {
    std::string ext = http::url_decode(req.param("ext"));
    if (ext.empty() || ext.size() > 128)
      co_return answer_error(
          res, Status(Code::kInvalidArgument, "VALIDATION_FAILED", "external id must be 1..128 characters")
                   .with_metadata("ext", "must be 1..128 characters"));
    auto in = http::bind_json<UpsertUser>(req);
    if (!in) co_return answer_error(res, in.error());
    // Beyond the repository's trunk: plain SQL, mapped the same way.
    const std::string sql =
        "INSERT INTO users (email, name, external_id, profile, created_at, updated_at, version) "
        "VALUES ($1, $2, $3, $4, $5, $5, 1) ON CONFLICT (external_id) DO UPDATE SET email = excluded.email, "
        "name = excluded.name, profile = excluded.profile, updated_at = excluded.updated_at, "
        "version = users.version + 1 RETURNING " +
        users_.columns();
    db::Params args{lower(in->email), in->name, ext, db::Json{in->profile ? in->profile->text : "{}"}, now()};
    auto u = co_await db_->query_one_as<User>(req.ctx, sql, args);
    if (!u) co_return answer_error(res, conflict(u.error()));
    answer_user(res, 200, *u);
  }

 private:
  std::shared_ptr<db::Database> db_;
  log::Logger logger_;
  Options o_;
  db::Repository<User> users_;
};

}  // namespace

void mount(http::Router& router, std::shared_ptr<db::Database> db, log::Logger logger, Options options) {
  auto h = std::make_shared<Handlers>(std::move(db), std::move(logger), options);
  auto users = router.group("/v1/users");
  users.use(http::middleware::body_limit(options.max_body));
  const std::string if_match = "the user's ETag: refused with 412 when it changed since; * for any version";
  users.post("", [h](http::Request& req, http::Response& res) { return h->create(req, res); })
      .doc(http::RouteDoc()
               .summary("Create a user")
               .tags({"users"})
               .body<CreateUser>()
               .example("ann", R"({"email":"ann@example.com","name":"Ann","profile":{"city":"Oslo"}})")
               .example("with_external_id", R"({"email":"bob@example.com","name":"Bob","external_id":"crm-42"})")
               .returns<User>(201, "the user, with its ETag")
               .errors({409}));
  users.get("", [h](http::Request& req, http::Response& res) { return h->list(req, res); })
      .doc(http::RouteDoc()
               .summary("List users, a page at a time")
               .description("Keyset pages in id order; one profile.<field>=<value> filter may be added.")
               .tags({"users"})
               .query<ListQuery>()
               .returns<UserPage>(200, "a page of users"));
  users.get("/:id", [h](http::Request& req, http::Response& res) { return h->get(req, res); })
      .doc(http::RouteDoc()
               .summary("Get a user")
               .tags({"users"})
               .returns<User>(200, "the user, with its ETag")
               .errors({400, 404}));
  users.patch("/:id", [h](http::Request& req, http::Response& res) { return h->patch(req, res); })
      .doc(http::RouteDoc()
               .summary("Change a user's email, name or profile")
               .tags({"users"})
               .header("If-Match", if_match)
               .body<PatchUser>()
               .example("rename", R"({"name":"Ann B."})")
               .returns<User>(200, "the user, with its new ETag")
               .errors({404, 409, 412}));
  users.del("/:id", [h](http::Request& req, http::Response& res) { return h->remove(req, res); })
      .doc(http::RouteDoc()
               .summary("Delete a user")
               .tags({"users"})
               .header("If-Match", if_match)
               .returns_empty(204, "deleted")
               .errors({400, 404, 412}));
  users.put("/by-external-id/:ext", [h](http::Request& req, http::Response& res) { return h->upsert(req, res); })
      .doc(http::RouteDoc()
               .summary("Create or replace the user with this external id")
               .tags({"users"})
               .body<UpsertUser>()
               .example("crm", R"({"email":"carol@example.com","name":"Carol"})")
               .returns<User>(200, "the user, with its ETag")
               .errors({409}));
}

}  // namespace svckit::user
