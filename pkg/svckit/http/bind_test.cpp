// JSON binding, typed JSON responses, and the body-limit / timeout middleware, through a real server.
#include <gtest/gtest.h>

#include <atomic>

#include "svckit/core/runtime.hpp"
#include "svckit/http/middleware.hpp"
#include "svckit/http/server.hpp"
#include "svckit/testing/raw_http_client.hpp"

using namespace std::chrono_literals;

namespace svckit::http {
namespace {

using testing::RawClient;

struct NewItem {
  std::string sku;
  std::int32_t quantity = 1;
  std::optional<std::string> note;
  static void json_schema(json::Schema<NewItem>& s) {
    s.field("sku", &NewItem::sku).required().length(3, 12);
    s.field("quantity", &NewItem::quantity).range(1, 100);
    s.field("note", &NewItem::note).omit_empty();
  }
};

struct Order {
  std::uint64_t id = 0;
  std::string customer;
  std::vector<NewItem> items;
  static void json_schema(json::Schema<Order>& s) {
    s.field("id", &Order::id);
    s.field("customer", &Order::customer).required().email();
    s.field("items", &Order::items).required().length(1, 5);
  }
};

struct ListBooks {
  std::string author;
  int limit = 20;
  bool available = false;
  std::vector<std::string> tags;
  static void json_schema(json::Schema<ListBooks>& s) {
    s.field("author", &ListBooks::author).required();
    s.field("limit", &ListBooks::limit).range(1, 100);
    s.field("available", &ListBooks::available);
    s.field("tag", &ListBooks::tags);
  }
};

std::string post(std::string_view path, std::string_view body, std::string_view type = "application/json") {
  std::string r = "POST " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n";
  if (!type.empty()) r += "Content-Type: " + std::string(type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  return r;
}

Task<void> slow(Request& req, Response& res) {
  Status st = co_await sleep_for(req.ctx, 10s);
  if (st.ok())
    res.text(200, "slept");
  else
    res.error(st);
}

Task<void> report_deadline(Request& req, Response& res) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(req.ctx.remaining()).count();
  res.text(200, std::to_string(left));
  co_return;
}

class BindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.use(middleware::body_limit(1024));
    router_.post("/orders", [this](Request& req, Response& res) {
      auto in = bind_json<Order>(req);
      if (!in) return res.error(in.error());
      in->id = ++next_id_;
      res.json(201, *in);
    });
    auto uploads = router_.group("/uploads");
    uploads.use(middleware::body_limit(64 * 1024));  // the inner limit wins for this group
    uploads.post("/blob", [](Request& req, Response& res) { res.text(200, std::to_string(req.body().size())); });
    uploads.post("/tiny", [](Request& req, Response& res) { res.text(200, std::to_string(req.body().size())); })
        .body_limit(8);  // and the route's own option beats both
    router_.post("/echo", [](Request& req, Response& res) { res.text(200, std::to_string(req.body().size())); });

    router_.get("/books", [](Request& req, Response& res) {
      auto q = bind_query<ListBooks>(req);
      if (!q) return res.error(q.error());
      res.json(200, *q);
    });
    router_.get("/typed", [](Request& req, Response& res) {
      auto limit = req.query<int>("limit");
      if (!limit) return res.error(limit.error());
      auto tags = req.query<std::vector<std::string>>("tag");
      if (!tags) return res.error(tags.error());
      std::string out = "limit=" + (*limit ? std::to_string(**limit) : std::string("absent"));
      out += " q=" + req.query_value("q").value_or("<none>") + " tags=";
      for (auto& t : tags->value_or(std::vector<std::string>{})) out += t + ";";
      out += " raw=" + std::string(req.query_param("q"));
      res.text(200, out);
    });

    router_.get("/whoami", [](Request& req, Response& res) {
      res.text(200, "session=" + std::string(req.cookie("session").value_or("<none>")) +
                        " theme=" + std::string(req.cookie("theme").value_or("<none>")));
    });

    auto timed = router_.group("/timed");
    timed.use(middleware::timeout(100ms));
    timed.get("/slow", slow);
    timed.get("/deadline", report_deadline);
    timed.get("/narrower", report_deadline).use(middleware::timeout(20ms));
    timed.get("/wider", report_deadline).use(middleware::timeout(10s));  // cannot extend the group's

    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<Server>(rt_, router_, o, log::Logger({.level = log::Level::kOff}));
    ASSERT_TRUE(server_->start().ok());
    port_ = server_->port();
  }
  void TearDown() override { rt_.block_on(server_->drain()); }

  Runtime rt_{{.workers = 1}};
  Router router_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> next_id_{0};
};

TEST_F(BindTest, ValidBodyBindsAndTheResponseIsEncodedFromTheStruct) {
  RawClient c(port_);
  c.send(post("/orders", R"({"customer":"ann@example.com","items":[{"sku":"ABC-1","quantity":2},
                             {"sku":"XYZ","note":"gift \"wrap\""}]})"));
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(r->body, R"({"id":1,"customer":"ann@example.com","items":[{"sku":"ABC-1","quantity":2},)"
                     R"({"sku":"XYZ","quantity":1,"note":"gift \"wrap\""}]})");
}

TEST_F(BindTest, EveryKindOfBadBodyGetsAPreciseAnswerAndTheConnectionLives) {
  RawClient c(port_);
  struct Case {
    std::string request;
    int status;
    std::string body;
  };
  std::vector<Case> cases = {
      {post("/orders", R"j({"customer": "a@b.io", "items": [})j"), 400,
       R"j({"code":"INVALID_ARGUMENT","reason":"MALFORMED_JSON","message":"malformed JSON at line 1, column 34: )j"
       R"j(expected a value","metadata":{"line":"1","column":"34","offset":"33"}})j"},
      {post("/orders", R"j({"customer":"nope","items":[{"sku":"AB","quantity":0},{"quantity":"2"}]})j"), 400,
       R"j({"code":"INVALID_ARGUMENT","reason":"VALIDATION_FAILED","message":"items[0].sku: must be at least 3 )j"
       R"j(characters; items[0].quantity: must be between 1 and 100; items[1].quantity: expected integer, got )j"
       R"j(string (and 2 more)","metadata":{"items[0].sku":"must be at least 3 characters",)j"
       R"j("items[0].quantity":"must be between 1 and 100","items[1].quantity":"expected integer, got string",)j"
       R"j("items[1].sku":"is required","customer":"must be an email address"}})j"},
      {post("/orders", "", "application/json"), 400,
       R"j({"code":"INVALID_ARGUMENT","reason":"EMPTY_BODY","message":"the request body is empty; a JSON document )j"
       R"j(is expected"})j"},
      {post("/orders", "customer=a", "application/x-www-form-urlencoded"), 415,
       R"j({"code":"INVALID_ARGUMENT","reason":"UNSUPPORTED_MEDIA_TYPE","message":"Content-Type )j"
       R"j(application/x-www-form-urlencoded is not JSON (application/json expected)"})j"},
  };
  for (const auto& k : cases) {
    c.send(k.request);
    auto r = c.response();
    ASSERT_TRUE(r) << k.request;
    EXPECT_EQ(r->status, k.status) << k.request;
    EXPECT_EQ(r->body, k.body) << k.request;
    EXPECT_FALSE(r->headers.count("connection")) << "a bad body is the client's mistake, not the stream's";
  }
  // The same connection still serves, and nothing was created by the failures.
  c.send(
      post("/orders", R"({"customer":"b@b.io","items":[{"sku":"OK1"}]})", "application/vnd.api+json; charset=UTF-8"));
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body.substr(0, 7), R"({"id":1)");
}

TEST_F(BindTest, Latin1CharsetIsRefused) {
  RawClient c(port_);
  c.send(post("/orders", R"({"customer":"a@b.io","items":[{"sku":"abc"}]})", "application/json; charset=iso-8859-1"));
  EXPECT_EQ(c.response()->status, 415);
}

TEST_F(BindTest, BodyLimitMiddlewareIsEnforcedBeforeTheBodyIsRead) {
  // Global 1 KiB: refused with no 100 Continue, before any body byte is sent.
  {
    RawClient c(port_);
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n");
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.closed());
  }
  // Unmatched paths are bounded by the global limit too.
  {
    RawClient c(port_);
    c.send(post("/nowhere", std::string(2000, 'x'), "text/plain"));
    EXPECT_EQ(c.response()->status, 413);
  }
  // The group raised it to 64 KiB.
  {
    RawClient c(port_);
    c.send(post("/uploads/blob", std::string(50000, 'x'), "application/octet-stream"));
    auto r = c.response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "50000");
    c.send(post("/uploads/blob", std::string(70000, 'x'), "application/octet-stream"));
    EXPECT_EQ(c.response()->status, 413);
  }
  // The route's own .body_limit(8) beats both; chunked bodies are bounded as they arrive.
  {
    RawClient c(port_);
    c.send(
        "POST /uploads/tiny HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
        "chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
    EXPECT_EQ(c.response()->status, 413);
  }
  {
    RawClient c(port_);
    c.send(post("/echo", std::string(1024, 'x'), "text/plain"));
    EXPECT_EQ(c.response()->body, "1024");
  }
}

TEST_F(BindTest, TimeoutMiddlewareBoundsTheContextAndAnswers504) {
  RawClient c(port_);
  auto t0 = std::chrono::steady_clock::now();
  c.send("GET /timed/slow HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_NE(r->body.find("DEADLINE_EXCEEDED"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // not the handler's 10 s

  auto left = [&](std::string_view path) {
    c.send("GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto res = c.response();
    return res && res->status == 200 ? std::stoi(res->body) : -1;
  };
  int group = left("/timed/deadline");
  EXPECT_GT(group, 50);
  EXPECT_LE(group, 100);
  int narrow = left("/timed/narrower");
  EXPECT_GE(narrow, 0);
  EXPECT_LE(narrow, 20);
  int wide = left("/timed/wider");
  EXPECT_LE(wide, 100);  // an inner timeout can only shorten the deadline
}

TEST(RouterFold, BodyLimitMiddlewareLeavesTheOnion) {
  Router r;
  r.use(middleware::body_limit(100));
  r.use(middleware::request_id());
  auto g = r.group("/g");
  g.use(middleware::body_limit(5000));
  g.get("/a", [](Request&, Response&) {});
  r.get("/b", [](Request&, Response&) {}).body_limit(7);
  r.get("/c", [](Request&, Response&) {});
  r.freeze();
  for (const auto& route : r.routes()) {
    EXPECT_EQ(route.chain.middleware.size(), 1u) << route.pattern;  // only request_id remains
    std::uint64_t want = route.pattern == "/g/a" ? 5000 : route.pattern == "/b" ? 7 : 100;
    EXPECT_EQ(route.max_body, want) << route.pattern;
  }
  EXPECT_EQ(r.default_body_limit(), 100u);
  EXPECT_EQ(r.fallback_chain().middleware.size(), 1u);
}

// Query strings: decoded, typed, validated with the JSON binding's rules and paths.
TEST_F(BindTest, QueryParametersAreDecodedTypedAndValidated) {
  RawClient c(port_);
  auto get = [&](std::string target) {
    c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.response();
    EXPECT_TRUE(r);
    return r ? *r : RawClient::Response{};
  };
  auto ok = get("/books?author=Ursula%20K.+Le%20Guin&limit=10&tag=sf&tag=classic&available=true");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"author":"Ursula K. Le Guin","limit":10,"available":true,"tag":["sf","classic"]})");
  // One tag is a list of one; absent fields keep their defaults.
  EXPECT_EQ(get("/books?author=x&tag=only").body, R"({"author":"x","limit":20,"available":false,"tag":["only"]})");

  auto bad = get("/books?limit=ten&available=maybe");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find(R"("limit":"must be an integer")"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find(R"("available":"must be true or false")"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find(R"("author":"is required")"), std::string::npos) << bad.body;
  auto range = get("/books?author=x&limit=500");
  EXPECT_EQ(range.status, 400);
  EXPECT_NE(range.body.find(R"("limit":"must be between 1 and 100")"), std::string::npos) << range.body;

  EXPECT_EQ(get("/typed?limit=5&q=a+b%26c&tag=x&tag=y").body, "limit=5 q=a b&c tags=x;y; raw=a+b%26c");
  EXPECT_EQ(get("/typed").body, "limit=absent q=<none> tags= raw=");
  auto typed_bad = get("/typed?limit=5.5");
  EXPECT_EQ(typed_bad.status, 400);
  EXPECT_NE(typed_bad.body.find(R"("message":"limit: must be an integer")"), std::string::npos) << typed_bad.body;
  // Cookies, from one or several Cookie headers.
  c.send("GET /whoami HTTP/1.1\r\nHost: x\r\nCookie: lang=en; session=\"abc123\"\r\nCookie: theme=dark\r\n\r\n");
  auto who = c.response();
  ASSERT_TRUE(who);
  EXPECT_EQ(who->body, "session=abc123 theme=dark");
  EXPECT_EQ(get("/whoami").body, "session=<none> theme=<none>");
  // The connection served every one of them.
  EXPECT_EQ(get("/typed?limit=-3").body.substr(0, 9), "limit=-3 ");
}

}  // namespace
}  // namespace svckit::http
