#include "service.hpp"

#include <charconv>

#include "gate.hpp"
#include "qr.hpp"
#include "schema.hpp"
#include "store.hpp"
#include "svckit/auth/base64url.hpp"
#include "svckit/auth/principal.hpp"
#include "svckit/auth_http/middleware.hpp"
#include "svckit/db/value.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/http/openapi.hpp"
#include "svckit/json/json.hpp"
#include "verify.hpp"

namespace svckit::license {

namespace {

bool decimal_id(const std::string& s) {
  if (s.empty() || s.size() > 20 || s[0] == '0') return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

struct IssueRequest {
  std::string holder;
  std::string type;
  std::string number;
  std::string valid_from;
  std::string valid_until;
  json::Raw attributes;
  static void json_schema(json::Schema<IssueRequest>& s) {
    s.reject_unknown();
    s.field("holder", &IssueRequest::holder).required().check([](const std::string& h) {
      return decimal_id(h) ? std::string() : std::string("must be a user id (a positive decimal integer, as a string)");
    });
    s.field("type", &IssueRequest::type).required().length(1, 64);
    s.field("number", &IssueRequest::number).required().length(1, 64);
    s.field("valid_from", &IssueRequest::valid_from).required().length(1, 64);
    s.field("valid_until", &IssueRequest::valid_until).required().length(1, 64);
    s.field("attributes", &IssueRequest::attributes).required();
  }
};

struct RevokeRequest {
  std::string reason;
  static void json_schema(json::Schema<RevokeRequest>& s) {
    s.reject_unknown();
    s.field("reason", &RevokeRequest::reason).required().length(1, 500);
  }
};

// The shapes of the answers, for the generated document: the handlers write them with json::Writer
// (store.cpp's write_licence and write_audit), so a change there must be mirrored here.
struct VerifyRequest {
  std::string text;
  static void json_schema(json::Schema<VerifyRequest>& s) {
    s.field("text", &VerifyRequest::text).required().describe("the QR text of a licence");
  }
};
struct LicenceDoc {
  std::string id, type, number, holder, authority, valid_from, valid_until;
  json::Raw attributes;
  std::string issued_at, kid, signature, qr, status;
  std::optional<std::string> revoked_at, revocation_reason;
  static void json_schema(json::Schema<LicenceDoc>& s) {
    using L = LicenceDoc;
    s.field("id", &L::id).required();
    s.field("type", &L::type).required();
    s.field("number", &L::number).required();
    s.field("holder", &L::holder).required().describe("the holder's user id");
    s.field("authority", &L::authority).required().describe("the issuing authority");
    s.field("valid_from", &L::valid_from).required().format("date-time");
    s.field("valid_until", &L::valid_until).required().format("date-time");
    s.field("attributes", &L::attributes).required().describe("a JSON object, as the licence type's schema says");
    s.field("issued_at", &L::issued_at).required().format("date-time");
    s.field("kid", &L::kid).required();
    s.field("signature", &L::signature).required().describe("Ed25519 over the canonical form, base64url");
    s.field("qr", &L::qr).required().describe("the text a QR code carries; POST /v1/licenses/verify checks it");
    s.field("status", &L::status).required().one_of({"active", "revoked"});
    s.field("revoked_at", &L::revoked_at).omit_empty().format("date-time");
    s.field("revocation_reason", &L::revocation_reason).omit_empty();
  }
};
struct LicencePageDoc {
  std::vector<LicenceDoc> licenses;
  std::string next_cursor;
  static void json_schema(json::Schema<LicencePageDoc>& s) {
    s.field("licenses", &LicencePageDoc::licenses).required();
    s.field("next_cursor", &LicencePageDoc::next_cursor).omit_empty();
  }
};
struct VerdictDoc {
  std::string status, reason;
  std::optional<LicenceDoc> license;
  static void json_schema(json::Schema<VerdictDoc>& s) {
    s.field("status", &VerdictDoc::status).required();
    s.field("reason", &VerdictDoc::reason).required();
    s.field("license", &VerdictDoc::license).omit_empty().describe("the stored licence, unless the text is forged");
  }
};
struct AuditEntryDoc {
  std::int64_t id = 0;
  std::string at, subject, role, action, license_id, client_ip;
  std::optional<std::string> forwarded_for;
  std::string request_id;
  static void json_schema(json::Schema<AuditEntryDoc>& s) {
    using A = AuditEntryDoc;
    s.field("id", &A::id).required();
    s.field("at", &A::at).required().format("date-time");
    s.field("subject", &A::subject).required();
    s.field("role", &A::role).required();
    s.field("action", &A::action).required();
    s.field("license_id", &A::license_id).required();
    s.field("client_ip", &A::client_ip).required();
    s.field("forwarded_for", &A::forwarded_for).omit_empty();
    s.field("request_id", &A::request_id).required();
  }
};
struct AuditPageDoc {
  std::vector<AuditEntryDoc> entries;
  std::string next_cursor;
  static void json_schema(json::Schema<AuditPageDoc>& s) {
    s.field("entries", &AuditPageDoc::entries).required();
    s.field("next_cursor", &AuditPageDoc::next_cursor).omit_empty();
  }
};
struct LicenceTypeDoc {
  std::string code, name;
  json::Raw schema;
  static void json_schema(json::Schema<LicenceTypeDoc>& s) {
    s.field("code", &LicenceTypeDoc::code).required();
    s.field("name", &LicenceTypeDoc::name).required();
    s.field("schema", &LicenceTypeDoc::schema).required().describe("the attributes' schema");
  }
};
struct TypesDoc {
  std::vector<LicenceTypeDoc> types;
  static void json_schema(json::Schema<TypesDoc>& s) { s.field("types", &TypesDoc::types).required(); }
};
struct PageQuery {
  int limit = 0;
  std::string cursor;
  static void json_schema(json::Schema<PageQuery>& s) {
    s.field("limit", &PageQuery::limit).describe("page size, 1..license.max_page");
    s.field("cursor", &PageQuery::cursor).describe("next_cursor of the previous page");
  }
};

void answer_error(http::Response& res, const Status& st) {
  if (st.code() == Code::kUnavailable) res.set_header("Retry-After", "1");
  res.error(st);
}

Status invalid(const std::string& field, const std::string& why) {
  return Status(Code::kInvalidArgument, "VALIDATION_FAILED", field + ": " + why).with_metadata(field, why);
}

Status not_found(std::string_view id) {
  return Status(Code::kNotFound, "LICENSE_NOT_FOUND", "no licence " + std::string(id));
}

std::string etag(std::int64_t version) {
  return "\"" + std::to_string(version) + "\"";
}

// Who is asking, in the roles this service knows. A token may carry several roles: each adds what it
// may see.
struct Caller {
  std::string subject;
  bool admin = false, clerk = false, citizen = false;
  std::string authority;  // a clerk's authority claim
  bool sees(const LicenceRow& l) const {
    return admin || (clerk && !authority.empty() && l.authority == authority) || (citizen && l.holder == subject);
  }
  bool may_revoke(const LicenceRow& l) const {
    return admin || (clerk && !authority.empty() && l.authority == authority);
  }
};

Caller caller_of(const Context& ctx) {
  Caller c;
  const auth::Principal* p = auth::principal_of(ctx);
  if (!p) return c;
  c.subject = p->subject;
  c.admin = p->has_role("admin");
  c.clerk = p->has_role("clerk");
  c.citizen = p->has_role("citizen");
  c.authority = p->claims.string("authority").value_or("");
  return c;
}

// If-Match: absent, "*" or one strong ETag ("3"); anything else never matches.
struct Precondition {
  std::optional<std::int64_t> version;
  bool matchable = true;
};

Precondition if_match(const http::Request& req) {
  Precondition p;
  std::string_view v = req.header("If-Match");
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty() || v == "*") return p;
  std::int64_t n = 0;
  if (v.size() < 3 || v.front() != '"' || v.back() != '"' ||
      std::from_chars(v.data() + 1, v.data() + v.size() - 1, n).ptr != v.data() + v.size() - 1) {
    p.matchable = false;
    return p;
  }
  p.version = n;
  return p;
}

void answer_precondition(http::Response& res, std::string_view if_match) {
  res.error(Status(Code::kFailedPrecondition, "VERSION_MISMATCH",
                   "the licence changed since the ETag in If-Match (" + std::string(if_match) + "): read it again")
                .with_http_status(412));
}

Result<std::size_t> page_limit(const http::Request& req, const Options& o) {
  auto l = req.query_param("limit");
  if (l.empty()) return static_cast<std::size_t>(o.default_page);
  int limit = 0;
  auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
  if (ec != std::errc() || end != l.data() + l.size() || limit < 1 || limit > o.max_page)
    return make_error(invalid("limit", "must be 1.." + std::to_string(o.max_page)));
  return static_cast<std::size_t>(limit);
}

Status bad_cursor(const Status& st) {
  if (st.reason() == "BAD_CURSOR") return invalid("cursor", "must be a next_cursor value of the same listing");
  return st;
}

AuditRow audit_of(const http::Request& req, const http::Response& res, const Caller& c, std::string role,
                  std::string action, std::string license_id) {
  AuditRow a;
  a.at = now();
  a.subject = c.subject;
  a.role = std::move(role);
  a.action = std::move(action);
  a.license_id = std::move(license_id);
  a.client_ip = std::string(req.client_ip());
  if (auto xff = req.header("X-Forwarded-For"); !xff.empty()) a.forwarded_for = std::string(xff.substr(0, 512));
  a.request_id = std::string(res.header("X-Request-Id"));
  return a;
}

Status idempotency_key_valid(std::string_view key) {
  if (key.size() > 255) return invalid("Idempotency-Key", "must be 1..255 characters");
  for (char c : key)
    if (c < 0x21 || c > 0x7e) return invalid("Idempotency-Key", "must be visible ASCII characters");
  return Status();
}

class Handlers {
 public:
  Handlers(std::shared_ptr<db::Database> db, std::shared_ptr<const KeyRing> keys, log::Logger logger, Options o)
      : db_(std::move(db)),
        keys_(std::move(keys)),
        logger_(std::move(logger)),
        o_(std::move(o)),
        licences_(licence_table(o_.cursor_secret)),
        audit_(audit_table(o_.cursor_secret)) {}

  Task<void> types(http::Request& req, http::Response& res) {
    auto rows = co_await db_->query_as<LicenceType>(
        req.ctx, "SELECT code, name, CAST(schema AS TEXT) AS schema FROM license_types ORDER BY code");
    if (!rows) co_return answer_error(res, rows.error());
    std::string body;
    json::Writer w(body);
    w.begin_object().key("types").begin_array();
    for (const auto& t : *rows) {
      w.begin_object().key("code").string(t.code).key("name").string(t.name);
      auto schema = parse(t.schema, "schema");  // PostgreSQL's jsonb text has spaces: shown canonical
      w.key("schema").raw(schema ? canonical(*schema) : std::string("{}"));
      w.end_object();
    }
    w.end_array().end_object();
    res.json(200, body);
  }

  void keys(http::Request&, http::Response& res) {
    res.json(200, keys_->jwks());
    res.set_header("Cache-Control", "public, max-age=300");
  }

  Task<void> issue(http::Request& req, http::Response& res) {
    Caller c = caller_of(req.ctx);
    if (c.authority.empty())
      co_return answer_error(res, Status(Code::kPermissionDenied, "NO_AUTHORITY",
                                         "the token names no issuing authority (claim authority)"));
    auto in = http::bind_json<IssueRequest>(req);
    if (!in) co_return answer_error(res, in.error());
    std::string key(req.header("Idempotency-Key"));
    if (Status st = idempotency_key_valid(key); !st.ok()) co_return answer_error(res, st);
    // The licence: fields checked, attributes against the type's schema.
    Document d;
    d.type = in->type;
    d.number = in->number;
    d.holder = in->holder;
    d.authority = c.authority;
    std::map<std::string, std::string> problems;
    auto from = parse_time(in->valid_from);
    auto until = parse_time(in->valid_until);
    if (!from) problems["valid_from"] = std::string(from.error().message());
    if (!until) problems["valid_until"] = std::string(until.error().message());
    if (from && until && *until <= *from) problems["valid_until"] = "must be later than valid_from";
    auto attributes = parse(in->attributes.text, "attributes");
    if (!attributes) co_return answer_error(res, attributes.error());
    db::Params type_arg{d.type};
    auto type = co_await db_->query_as<LicenceType>(
        req.ctx, "SELECT code, name, CAST(schema AS TEXT) AS schema FROM license_types WHERE code = $1", type_arg);
    if (!type) co_return answer_error(res, type.error());
    if (type->empty()) {
      problems["type"] = "is not a licence type of the catalogue (GET /v1/license-types)";
    } else {
      auto schema = AttributeSchema::compile((*type)[0].schema);
      if (!schema)
        co_return answer_error(res, Status(Code::kInternal, "BAD_CATALOGUE", std::string(schema.error().message())));
      problems.merge(schema->check(*attributes));
    }
    if (!problems.empty()) {
      Status st(Code::kInvalidArgument, "VALIDATION_FAILED", "the licence is not valid");
      for (auto& [field, why] : problems) st.with_metadata(field, why);
      co_return answer_error(res, st);
    }
    d.valid_from = *from;
    d.valid_until = *until;
    d.attributes = std::move(*attributes);
    d.id = db::Uuid::random().str();
    d.issued_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    d.kid = keys_->signing().kid();
    LicenceRow row;
    row.id = d.id;
    row.type = d.type;
    row.number = d.number;
    row.holder = d.holder;
    row.authority = d.authority;
    row.valid_from = to_db(d.valid_from);
    row.valid_until = to_db(d.valid_until);
    row.attributes = canonical(d.attributes);
    row.issued_at = to_db(d.issued_at);
    row.kid = d.kid;
    row.canonical = canonical_document(d);
    auto sig = keys_->sign(row.canonical);
    if (!sig) co_return answer_error(res, sig.error());
    row.signature = auth::base64url_encode(*sig);
    row.version = 1;
    // The request hash: the body's canonical form, so that whitespace and member order do not matter.
    auto body = parse(req.body());
    std::string request_hash = sha256_hex(body ? canonical(*body) : std::string(req.body()));

    std::optional<IdempotencyRow> earlier;
    std::string answer;
    AuditRow audit = audit_of(req, res, c, "clerk", "license.issue", row.id);
    auto pass = co_await enter_write();
    Status st = co_await db_->transaction(req.ctx, [&](db::Tx& tx) -> Task<Status> {
      if (!key.empty()) {
        db::Params reserve{c.subject, key, request_hash, now()};
        auto n =
            co_await tx.exec(req.ctx,
                             "INSERT INTO idempotency_keys (subject, idem_key, request_hash, status, response, "
                             "created_at) VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (subject, idem_key) DO NOTHING",
                             reserve);
        if (!n) co_return n.error();
        if (*n == 0) {
          db::Params which{c.subject, key};
          auto found = co_await tx.query_one_as<IdempotencyRow>(
              req.ctx,
              "SELECT request_hash, status, response FROM idempotency_keys WHERE subject = $1 AND idem_key = $2",
              which);
          if (!found) co_return found.error();
          earlier = std::move(*found);
          co_return Status();
        }
      }
      auto saved = co_await licences_.insert(tx, req.ctx, row);
      if (!saved) co_return saved.error();
      row = std::move(*saved);
      answer = licence_json(row);
      auto logged = co_await audit_.insert(tx, req.ctx, audit);
      if (!logged) co_return logged.error();
      if (!key.empty()) {
        db::Params done{c.subject, key, std::string(answer), row.id};
        auto n = co_await tx.exec(req.ctx,
                                  "UPDATE idempotency_keys SET status = 201, response = $3, license_id = $4 "
                                  "WHERE subject = $1 AND idem_key = $2",
                                  done);
        if (!n) co_return n.error();
      }
      co_return Status();
    });
    if (!st.ok()) {
      if (st.code() == Code::kAlreadyExists)
        st = Status(Code::kAlreadyExists, "LICENSE_NUMBER_TAKEN", "a licence of this type with this number exists")
                 .with_metadata("number", "is taken for type " + d.type);
      co_return answer_error(res, st);
    }
    if (earlier) {
      if (earlier->request_hash != request_hash)
        co_return answer_error(res, Status(Code::kFailedPrecondition, "IDEMPOTENCY_KEY_REUSED",
                                           "this Idempotency-Key was used for a different request")
                                        .with_http_status(422));
      res.set_header("Idempotent-Replayed", "true");
      co_return res.json(static_cast<int>(earlier->status), earlier->response);
    }
    res.set_header("Location", "/v1/licenses/" + row.id);
    res.set_header("ETag", etag(row.version));
    res.json(201, answer);
  }

  Task<void> get(http::Request& req, http::Response& res) {
    Caller c = caller_of(req.ctx);
    std::string id(req.param("id"));
    auto l = co_await licences_.get(*db_, req.ctx, id);
    if (!l) co_return answer_error(res, l.error().code() == Code::kNotFound ? not_found(id) : l.error());
    if (!c.sees(*l)) co_return answer_error(res, not_found(id));  // not 403: its existence is not told
    res.set_header("ETag", etag(l->version));
    res.json(200, licence_json(*l));
  }

  // The licence's verification text as a QR code, for whoever may read the licence.
  Task<void> qr(http::Request& req, http::Response& res) {
    Caller c = caller_of(req.ctx);
    std::string id(req.param("id"));
    auto l = co_await licences_.get(*db_, req.ctx, id);
    if (!l) co_return answer_error(res, l.error().code() == Code::kNotFound ? not_found(id) : l.error());
    if (!c.sees(*l)) co_return answer_error(res, not_found(id));
    auto sig = auth::base64url_decode(l->signature);
    auto m = qr_encode(qr_text(l->canonical, sig ? *sig : std::string()));
    if (!m) co_return answer_error(res, m.error());
    res.status = 200;
    res.set_header("Content-Type", "image/svg+xml");
    // Shown as an image, never as a page: no script runs in it even when opened on its own.
    res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "private, no-cache");
    res.set_header("ETag", etag(l->version));
    res.body = qr_svg(*m);
  }

  Task<void> list(http::Request& req, http::Response& res) {
    Caller c = caller_of(req.ctx);
    auto limit = page_limit(req, o_);
    if (!limit) co_return answer_error(res, limit.error());
    db::Where where;
    auto add = [&](std::string term) { where.sql += (where.sql.empty() ? "" : " AND ") + term; };
    auto param = [&](db::Param p) {
      where.params.push_back(std::move(p));
      return "$" + std::to_string(where.params.size());
    };
    if (!c.admin) {
      // What the caller's roles see: their authority's licences, their own, or both.
      std::string visible;
      if (c.clerk && !c.authority.empty()) visible = "authority = " + param(c.authority);
      if (c.citizen) visible += (visible.empty() ? "" : " OR ") + ("holder = " + param(c.subject));
      if (visible.empty()) visible = "1 = 0";
      add("(" + visible + ")");
    }
    if (auto h = req.query_param("holder"); !h.empty()) {
      std::string holder = http::url_decode(h, true);
      if (!decimal_id(holder)) co_return answer_error(res, invalid("holder", "must be a user id"));
      add("holder = " + param(holder));
    }
    db::PageRequest page{.cursor = http::url_decode(req.query_param("cursor"), true), .limit = *limit};
    auto found = co_await licences_.page(*db_, req.ctx, page, where);
    if (!found) co_return answer_error(res, bad_cursor(found.error()));
    std::string body;
    json::Writer w(body);
    w.begin_object().key("licenses").begin_array();
    for (const auto& l : found->items) write_licence(w, l);
    w.end_array();
    if (!found->next_cursor.empty()) w.key("next_cursor").string(found->next_cursor);
    w.end_object();
    res.json(200, body);
  }

  // Revocation: clerks of the licence's authority and admins. Read, check, write at the version read
  // with the audit line in the same transaction; a stale If-Match is 412, a revoked licence 409.
  Task<void> revoke(http::Request& req, http::Response& res) {
    Caller c = caller_of(req.ctx);
    if (!c.admin && !c.clerk)
      co_return answer_error(res,
                             Status(Code::kPermissionDenied, "MISSING_ROLE", "revoking needs role clerk or admin"));
    std::string id(req.param("id"));
    auto in = http::bind_json<RevokeRequest>(req);
    if (!in) co_return answer_error(res, in.error());
    if (json::utf8_length(in->reason) > o_.max_reason)
      co_return answer_error(res,
                             invalid("reason", "must be at most " + std::to_string(o_.max_reason) + " characters"));
    Precondition pre = if_match(req);
    for (int attempt = 0;; ++attempt) {
      auto l = co_await licences_.get(*db_, req.ctx, id);
      if (!l) co_return answer_error(res, l.error().code() == Code::kNotFound ? not_found(id) : l.error());
      if (!c.may_revoke(*l)) co_return answer_error(res, not_found(id));
      if (l->revoked_at)
        co_return answer_error(res, Status(Code::kAborted, "ALREADY_REVOKED", "the licence is revoked already"));
      if (!pre.matchable || (pre.version && *pre.version != l->version))
        co_return answer_precondition(res, req.header("If-Match"));
      l->revoked_at = now();
      l->revoked_reason = in->reason;
      l->revoked_by = c.subject;
      AuditRow audit = audit_of(req, res, c, c.admin ? "admin" : "clerk", "license.revoke", id);
      std::optional<LicenceRow> saved;
      auto pass = co_await enter_write();
      Status st = co_await db_->transaction(req.ctx, [&](db::Tx& tx) -> Task<Status> {
        auto u = co_await licences_.update(tx, req.ctx, *l);
        if (!u) co_return u.error();
        saved = std::move(*u);
        auto logged = co_await audit_.insert(tx, req.ctx, audit);
        co_return logged ? Status() : logged.error();
      });
      if (st.ok()) {
        res.set_header("ETag", etag(saved->version));
        co_return res.json(200, licence_json(*saved));
      }
      if (st.reason() != "VERSION_CONFLICT") co_return answer_error(res, st);
      if (pre.version) co_return answer_precondition(res, req.header("If-Match"));
      if (attempt == 3) co_return answer_error(res, st);
    }
  }

  Task<void> verify(http::Request& req, http::Response& res) {
    if (Status st = http::check_json_request(req); !st.ok()) co_return answer_error(res, st);
    auto body = parse(req.body());
    if (!body) co_return answer_error(res, body.error());
    auto p = presented(*body);
    if (!p) co_return answer_error(res, p.error());
    std::optional<Verdict> verdict = check_signature(*keys_, *p);
    std::optional<LicenceRow> stored;
    if (!verdict) {
      auto l = co_await licences_.get(*db_, req.ctx, p->doc.id);
      if (l)
        stored = std::move(*l);
      else if (l.error().code() != Code::kNotFound)
        co_return answer_error(res, l.error());
      verdict = judge(*p, stored, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    }
    std::string out;
    json::Writer w(out);
    w.begin_object().key("status").string(verdict->status).key("reason").string(verdict->reason);
    if (!verdict->forged() && stored) {
      w.key("license");
      write_licence(w, *stored);
    }
    w.end_object();
    res.json(200, out);
  }

  Task<void> audit(http::Request& req, http::Response& res) {
    auto limit = page_limit(req, o_);
    if (!limit) co_return answer_error(res, limit.error());
    db::PageRequest page{.cursor = http::url_decode(req.query_param("cursor"), true), .limit = *limit};
    db::Where all;  // named: a defaulted argument of a coroutine is destroyed twice by GCC 12
    auto found = co_await audit_.page(*db_, req.ctx, page, all);
    if (!found) co_return answer_error(res, bad_cursor(found.error()));
    std::string body;
    json::Writer w(body);
    w.begin_object().key("entries").begin_array();
    for (const auto& a : found->items) write_audit(w, a);
    w.end_array();
    if (!found->next_cursor.empty()) w.key("next_cursor").string(found->next_cursor);
    w.end_object();
    res.json(200, body);
  }

 private:
  // Write transactions queue here on SQLite (gate.hpp); PostgreSQL's pool waits without threads.
  Task<WriteGate::Pass> enter_write() {
    if (db_->driver() != "sqlite") co_return WriteGate::Pass();
    co_return co_await gate_.enter();
  }

  std::shared_ptr<db::Database> db_;
  std::shared_ptr<const KeyRing> keys_;
  WriteGate gate_;
  log::Logger logger_;
  Options o_;
  db::Repository<LicenceRow> licences_;
  db::Repository<AuditRow> audit_;
};

}  // namespace

void Settings::describe(config::Binder<Settings>& b) {
  b.field("signing_key_file", &Settings::signing_key_file)
      .non_empty()
      .doc("the Ed25519 private JWK that signs licences (mode 0600); generated on first start when missing");
  b.field("verification_keys_file", &Settings::verification_keys_file)
      .doc("a JWKS of earlier signing keys' public halves, so that their licences still verify; empty: none");
  b.field("cursor_secret", &Settings::cursor_secret)
      .secret()
      .doc("signs page cursors (HMAC-SHA256; cursor_secret_file for a secret file); empty: checked, not signed");
  b.bytes("max_body", &Settings::max_body).range(1024, 1 << 20).doc("largest request body (413 beyond)");
  b.field("default_page", &Settings::default_page).range(1, 1000).doc("page size of listings without limit");
  b.field("max_page", &Settings::max_page).range(1, 1000).doc("largest limit of a listing");
  b.field("max_reason", &Settings::max_reason).range(1, 500).doc("characters of a revocation reason");
}

Options Options::from(const Settings& s) {
  return {.default_page = s.default_page,
          .max_page = s.max_page,
          .max_body = s.max_body,
          .max_reason = static_cast<std::size_t>(s.max_reason),
          .cursor_secret = s.cursor_secret};
}

void mount(http::Router& router, std::shared_ptr<db::Database> db, std::shared_ptr<const KeyRing> keys,
           std::shared_ptr<const auth::Verifier> verifier, log::Logger logger, Options options) {
  auto h = std::make_shared<Handlers>(std::move(db), std::move(keys), std::move(logger), options);
  auto authn = auth::middleware::authenticate(verifier, {.realm = "license"});
  const std::string idem = "retries with the same key and body answer the first licence again";
  const std::string if_match = "the licence's ETag: 412 when it changed since";
  router.get("/v1/license-types", [h](http::Request& req, http::Response& res) { return h->types(req, res); })
      .doc(http::RouteDoc().summary("The catalogue of licence types").tags({"catalogue"}).returns<TypesDoc>(200));
  auto l = router.group("/v1/licenses");
  l.use(http::middleware::body_limit(options.max_body));
  l.post("", [h](http::Request& req, http::Response& res) { return h->issue(req, res); })
      .use(authn)
      .use(auth::middleware::require_role("clerk"))
      .doc(http::RouteDoc()
               .summary("Issue a signed licence")
               .tags({"licenses"})
               .bearer({"clerk"})
               .header("Idempotency-Key", idem)
               .body<IssueRequest>()
               .example("driving", R"({"holder":"7","type":"driving_licence","number":"DL-0001",)"
                                   R"("valid_from":"2026-01-01T00:00:00Z","valid_until":"2036-01-01T00:00:00Z",)"
                                   R"("attributes":{"name":"Ann","class":"C1"}})")
               .returns<LicenceDoc>(201, "the licence")
               .errors({409, 412, 413}));
  l.get("", [h](http::Request& req, http::Response& res) { return h->list(req, res); })
      .use(authn)
      .doc(http::RouteDoc()
               .summary("The licences the caller may see")
               .tags({"licenses"})
               .bearer()
               .query<PageQuery>()
               .returns<LicencePageDoc>(200));
  l.get("/keys", [h](http::Request& req, http::Response& res) {
     h->keys(req, res);
   }).doc(http::RouteDoc().summary("The verification keys (a JWK Set)").tags({"verification"}).returns<json::Raw>(200));
  l.post("/verify", [h](http::Request& req, http::Response& res) { return h->verify(req, res); })
      .doc(http::RouteDoc()
               .summary("Verify a licence from its QR text")
               .tags({"verification"})
               .body<VerifyRequest>()
               .example("qr", R"({"text":"SVCKIT-LIC1.eyJpZCI6IjEifQ.c2ln"})")
               .returns<VerdictDoc>(200, "the verdict"));
  l.get("/:id", [h](http::Request& req, http::Response& res) { return h->get(req, res); })
      .use(authn)
      .doc(http::RouteDoc()
               .summary("A licence")
               .tags({"licenses"})
               .bearer()
               .returns<LicenceDoc>(200)
               .errors({403, 404}));
  l.get("/:id/qr.svg", [h](http::Request& req, http::Response& res) { return h->qr(req, res); })
      .use(authn)
      .doc(http::RouteDoc()
               .summary("A licence's verification text as a QR code (SVG)")
               .tags({"licenses"})
               .bearer()
               .returns_empty(200, "image/svg+xml: the QR code of the licence's qr text")
               .errors({404}));
  l.post("/:id/revoke", [h](http::Request& req, http::Response& res) { return h->revoke(req, res); })
      .use(authn)
      .doc(http::RouteDoc()
               .summary("Revoke a licence")
               .tags({"licenses"})
               .bearer({"clerk", "admin"})
               .header("If-Match", if_match)
               .body<RevokeRequest>()
               .example("lost", R"({"reason":"reported lost"})")
               .returns<LicenceDoc>(200, "the revoked licence")
               .errors({404, 409, 412}));
  router.get("/v1/audit", [h](http::Request& req, http::Response& res) { return h->audit(req, res); })
      .use(authn)
      .use(auth::middleware::require_role("admin"))
      .doc(http::RouteDoc()
               .summary("The audit log, a page at a time")
               .tags({"audit"})
               .bearer({"admin"})
               .query<PageQuery>()
               .returns<AuditPageDoc>(200));
}

}  // namespace svckit::license
