#include "{{name}}/handler.hpp"

#include <charconv>
#include <svckit/http/message.hpp>
#include <svckit/http/openapi.hpp>

namespace {{name_snake}} {

namespace {

using svckit::Code;
using svckit::Status;
using svckit::Task;
using svckit::http::Request;
using svckit::http::Response;

// GET /v1/items's query, for the OpenAPI document (list() reads it itself: limit defaults to a live setting).
struct ListQuery {
  int limit = 0;
  std::string cursor;
  static void json_schema(svckit::json::Schema<ListQuery>& s) {
    s.field("limit", &ListQuery::limit).range(1, 100).describe("page size ({{name_snake}}.page_size by default)");
    s.field("cursor", &ListQuery::cursor).describe("next_cursor of the previous page");
  }
};

struct Greeting {
  std::string greeting;
  static void json_schema(svckit::json::Schema<Greeting>& s) { s.field("greeting", &Greeting::greeting); }
};

svckit::Result<std::int64_t> parse_id(std::string_view text) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1)
    return svckit::make_error(Status(Code::kInvalidArgument, "BAD_ID", "id must be a positive integer"));
  return id;
}

void answer_error(Response& res, const Status& st) {
  if (st.code() == Code::kUnavailable) res.set_header("Retry-After", "1");
  res.error(st);
}

void answer_item(Response& res, int code, const Item& item) {
  res.set_header("ETag", "\"" + std::to_string(item.version) + "\"");
  res.json(code, item);
}

class Handlers {
 public:
  Handlers(std::shared_ptr<const ItemService> items, std::shared_ptr<const Live<Settings>> settings)
      : items_(std::move(items)), settings_(std::move(settings)) {}

  Task<void> create(Request& req, Response& res) {
    auto in = svckit::http::bind_json<ItemInput>(req);
    if (!in) co_return answer_error(res, in.error());
    auto item = co_await items_->create(req.ctx, *in);
    if (!item) co_return answer_error(res, item.error());
    res.set_header("Location", "/v1/items/" + std::to_string(item->id));
    answer_item(res, 201, *item);
  }

  Task<void> get(Request& req, Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    auto item = co_await items_->get(req.ctx, *id);
    if (!item) co_return answer_error(res, item.error());
    answer_item(res, 200, *item);
  }

  Task<void> replace(Request& req, Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    auto in = svckit::http::bind_json<ItemInput>(req);
    if (!in) co_return answer_error(res, in.error());
    auto item = co_await items_->update(req.ctx, *id, *in);
    if (!item) co_return answer_error(res, item.error());
    answer_item(res, 200, *item);
  }

  Task<void> remove(Request& req, Response& res) {
    auto id = parse_id(req.param("id"));
    if (!id) co_return answer_error(res, id.error());
    Status st = co_await items_->remove(req.ctx, *id);
    if (!st.ok()) co_return answer_error(res, st);
    res.status = 204;
  }

  Task<void> list(Request& req, Response& res) {
    std::size_t limit = static_cast<std::size_t>(settings_->get()->page_size);
    if (auto l = req.query_param("limit"); !l.empty()) {
      int n = 0;
      auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), n);
      if (ec != std::errc() || end != l.data() + l.size() || n < 1 || n > 100)
        co_return answer_error(res, Status(Code::kInvalidArgument, "VALIDATION_FAILED", "limit is not valid")
                                        .with_metadata("limit", "must be 1..100"));
      limit = static_cast<std::size_t>(n);
    }
    std::string cursor = svckit::http::url_decode(req.query_param("cursor"), true);
    auto page = co_await items_->list(req.ctx, cursor, limit);
    if (!page) co_return answer_error(res, page.error());
    res.json(200, *page);
  }

  void greeting(Request&, Response& res) { res.json(200, Greeting{settings_->get()->greeting}); }

 private:
  std::shared_ptr<const ItemService> items_;
  std::shared_ptr<const Live<Settings>> settings_;
};

}  // namespace

void mount_http(svckit::http::Router& router, std::shared_ptr<const ItemService> items,
                std::shared_ptr<const Live<Settings>> settings) {
  auto h = std::make_shared<Handlers>(std::move(items), std::move(settings));
  // Each route says what it reads and answers: the OpenAPI document at /openapi.json is generated
  // from these and from the structs' json_schema.
  using svckit::http::RouteDoc;
  router.post("/v1/items", [h](Request& req, Response& res) { return h->create(req, res); })
      .doc(RouteDoc()
               .summary("Create an item")
               .tags({"items"})
               .body<ItemInput>()
               .example("lamp", R"({"name":"lamp","description":"a desk lamp"})")
               .returns<Item>(201, "the item, with its ETag"));
  router.get("/v1/items", [h](Request& req, Response& res) { return h->list(req, res); })
      .doc(RouteDoc().summary("List items by page").tags({"items"}).query<ListQuery>().returns<ItemPage>(200));
  router.get("/v1/items/:id", [h](Request& req, Response& res) { return h->get(req, res); })
      .doc(RouteDoc().summary("Get an item").tags({"items"}).returns<Item>(200).errors({400, 404}));
  router.put("/v1/items/:id", [h](Request& req, Response& res) { return h->replace(req, res); })
      .doc(RouteDoc()
               .summary("Replace an item")
               .tags({"items"})
               .body<ItemInput>()
               .example("rename", R"({"name":"floor lamp"})")
               .returns<Item>(200)
               .errors({404}));
  router.del("/v1/items/:id", [h](Request& req, Response& res) { return h->remove(req, res); })
      .doc(RouteDoc().summary("Delete an item").tags({"items"}).returns_empty(204, "deleted").errors({400, 404}));
  router.get("/v1/greeting", [h](Request& req, Response& res) { h->greeting(req, res); })
      .doc(RouteDoc().summary("The greeting (a setting applied live)").tags({"greeting"}).returns<Greeting>(200));
}

}  // namespace {{name_snake}}
