#include "svckit/http/openapi.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace svckit::http {
namespace {

using nlohmann::json;

enum class Plan { kFree, kPro };
constexpr std::pair<Plan, const char*> kPlans[] = {{Plan::kFree, "free"}, {Plan::kPro, "pro"}};
const auto& json_names(Plan) {
  return kPlans;
}

struct Address {
  std::string city;
  static void json_schema(svckit::json::Schema<Address>& s) { s.field("city", &Address::city).required(); }
};

struct Account {
  std::string email;
  std::string name;
  int age = 0;
  double score = 0;
  std::uint16_t port = 0;
  std::optional<std::string> nickname;
  std::optional<Address> home;
  std::vector<Address> offices;
  std::vector<std::string> tags;
  std::map<std::string, std::string> labels;
  std::string colour;
  Plan plan = Plan::kFree;
  std::string id;
  svckit::json::Raw extra;
  static void json_schema(svckit::json::Schema<Account>& s) {
    s.field("email", &Account::email).required().email();
    s.field("name", &Account::name).required().length(1, 100).describe("display name");
    s.field("age", &Account::age).range(0, 150);
    s.field("score", &Account::score).range(0.5, 9.5);
    s.field("port", &Account::port);
    s.field("nickname", &Account::nickname).length(2, 20);
    s.field("home", &Account::home);
    s.field("offices", &Account::offices).max_items(3);
    s.field("tags", &Account::tags).non_empty();
    s.field("labels", &Account::labels).length(1, 5);
    s.field("colour", &Account::colour).one_of({"red", "green"});
    s.field("plan", &Account::plan);
    s.field("id", &Account::id)
        .format("uuid")
        .pattern("^[0-9a-f-]{36}$")
        .example("8d1e5f9e-0000-4000-8000-000000000000");
    s.field("extra", &Account::extra);
  }
};

struct Strict {
  std::string a;
  static void json_schema(svckit::json::Schema<Strict>& s) {
    s.field("a", &Strict::a);
    s.reject_unknown();
  }
};

struct Node {
  std::string name;
  std::vector<Node> children;
  static void json_schema(svckit::json::Schema<Node>& s) {
    s.field("name", &Node::name);
    s.field("children", &Node::children);
  }
};

struct ListQuery {
  int limit = 20;
  std::string cursor;
  static void json_schema(svckit::json::Schema<ListQuery>& s) {
    s.field("limit", &ListQuery::limit).range(1, 100).describe("page size");
    s.field("cursor", &ListQuery::cursor).required();
  }
};

json schema_doc(const std::function<void(Router&)>& add) {
  Router r;
  add(r);
  return json::parse(openapi_document(r, {.title = "t", .version = "1"}));
}

json account_schema() {
  auto doc = schema_doc([](Router& r) { r.post("/a", [](Request&, Response&) {}).doc(RouteDoc().body<Account>()); });
  return doc["components"]["schemas"]["Account"];
}

TEST(OpenApiSchema, RequiredAndTypes) {
  json s = account_schema();
  EXPECT_EQ(s["type"], "object");
  EXPECT_EQ(s["required"], json::array({"email", "name"}));
  EXPECT_EQ(s["properties"]["age"]["type"], "integer");
  EXPECT_EQ(s["properties"]["age"]["format"], "int32");
  EXPECT_EQ(s["properties"]["score"]["type"], "number");
  EXPECT_EQ(s["properties"]["port"]["minimum"], 0);
  EXPECT_EQ(s["properties"]["port"]["maximum"], 65535);
  EXPECT_EQ(s["properties"]["extra"], json::object());  // any value
  EXPECT_FALSE(s.contains("additionalProperties"));
}

TEST(OpenApiSchema, LengthsRangesFormatsEnums) {
  json p = account_schema()["properties"];
  EXPECT_EQ(p["email"]["format"], "email");
  EXPECT_EQ(p["name"]["minLength"], 1);
  EXPECT_EQ(p["name"]["maxLength"], 100);
  EXPECT_EQ(p["name"]["description"], "display name");
  EXPECT_EQ(p["age"]["minimum"], 0);
  EXPECT_EQ(p["age"]["maximum"], 150);
  EXPECT_EQ(p["score"]["minimum"], 0.5);
  EXPECT_EQ(p["score"]["maximum"], 9.5);
  EXPECT_EQ(p["offices"]["maxItems"], 3);
  EXPECT_FALSE(p["offices"].contains("minItems"));
  EXPECT_EQ(p["tags"]["minItems"], 1);
  EXPECT_EQ(p["tags"]["items"]["type"], "string");
  EXPECT_EQ(p["labels"]["type"], "object");
  EXPECT_EQ(p["labels"]["minProperties"], 1);
  EXPECT_EQ(p["labels"]["maxProperties"], 5);
  EXPECT_EQ(p["labels"]["additionalProperties"]["type"], "string");
  EXPECT_EQ(p["colour"]["enum"], json::array({"red", "green"}));
  EXPECT_EQ(p["plan"]["enum"], json::array({"free", "pro"}));
  EXPECT_EQ(p["id"]["format"], "uuid");
  EXPECT_EQ(p["id"]["pattern"], "^[0-9a-f-]{36}$");
  EXPECT_EQ(p["id"]["examples"], json::array({"8d1e5f9e-0000-4000-8000-000000000000"}));
}

TEST(OpenApiSchema, OptionalIsNullableAndNestedStructsAreReferences) {
  json doc = schema_doc([](Router& r) { r.post("/a", [](Request&, Response&) {}).doc(RouteDoc().body<Account>()); });
  json p = doc["components"]["schemas"]["Account"]["properties"];
  EXPECT_EQ(p["nickname"]["type"], json::array({"string", "null"}));
  EXPECT_EQ(p["nickname"]["minLength"], 2);
  EXPECT_EQ(p["home"]["anyOf"], json::parse(R"([{"$ref":"#/components/schemas/Address"},{"type":"null"}])"));
  EXPECT_EQ(p["offices"]["items"]["$ref"], "#/components/schemas/Address");
  EXPECT_EQ(doc["components"]["schemas"]["Address"]["required"], json::array({"city"}));
  EXPECT_EQ(doc["paths"]["/a"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Account");
}

TEST(OpenApiSchema, RejectUnknownClosesTheObjectAndRecursionEnds) {
  json doc = schema_doc([](Router& r) {
    r.post("/s", [](Request&, Response&) {}).doc(RouteDoc().body<Strict>());
    r.post("/n", [](Request&, Response&) {}).doc(RouteDoc().body<Node>());
  });
  EXPECT_EQ(doc["components"]["schemas"]["Strict"]["additionalProperties"], false);
  EXPECT_EQ(doc["components"]["schemas"]["Node"]["properties"]["children"]["items"]["$ref"],
            "#/components/schemas/Node");
}

TEST(OpenApi, PathParamsBecomeTemplates) {
  json doc = schema_doc([](Router& r) {
    r.get("/v1/users/:id", [](Request&, Response&) {});
    r.get("/files/*rest", [](Request&, Response&) {});
  });
  ASSERT_TRUE(doc["paths"].contains("/v1/users/{id}"));
  json params = doc["paths"]["/v1/users/{id}"]["get"]["parameters"];
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0]["name"], "id");
  EXPECT_EQ(params[0]["in"], "path");
  EXPECT_EQ(params[0]["required"], true);
  EXPECT_EQ(doc["paths"]["/files/{rest}"]["get"]["parameters"][0]["name"], "rest");
}

TEST(OpenApi, UndocumentedRoutesAreStillListed) {
  json doc = schema_doc([](Router& r) {
    r.get("/documented", [](Request&, Response&) {}).doc(RouteDoc().summary("x").returns<Address>(200));
    r.del("/bare/:id", [](Request&, Response&) {});
    r.put("/bare/:id", [](Request&, Response&) {});
  });
  ASSERT_TRUE(doc["paths"].contains("/bare/{id}"));
  EXPECT_TRUE(doc["paths"]["/bare/{id}"].contains("delete"));
  EXPECT_TRUE(doc["paths"]["/bare/{id}"].contains("put"));
  EXPECT_EQ(doc["paths"]["/bare/{id}"]["delete"]["responses"]["200"]["content"]["*/*"]["schema"], json::object());
  EXPECT_EQ(doc["paths"]["/documented"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Address");
}

TEST(OpenApi, OperationDetailsAndTheErrorFormat) {
  json doc = schema_doc([](Router& r) {
    r.post("/v1/accounts", [](Request&, Response&) {})
        .doc(RouteDoc()
                 .summary("Create")
                 .description("Creates an account")
                 .tags({"accounts"})
                 .body<Account>()
                 .example("ann", R"({"email":"ann@example.com","name":"Ann"})")
                 .header("Idempotency-Key", "retries answer the same", true)
                 .returns<Account>(201, "created")
                 .returns_empty(204)
                 .errors({409})
                 .bearer({"admin"}));
    r.get("/v1/accounts", [](Request&, Response&) {}).doc(RouteDoc().query<ListQuery>().returns<Account>(200));
  });
  json op = doc["paths"]["/v1/accounts"]["post"];
  EXPECT_EQ(op["summary"], "Create");
  EXPECT_EQ(op["description"], "Creates an account");
  EXPECT_EQ(op["tags"], json::array({"accounts"}));
  EXPECT_EQ(op["operationId"], "post_v1_accounts");
  EXPECT_EQ(op["requestBody"]["content"]["application/json"]["examples"]["ann"]["value"]["name"], "Ann");
  EXPECT_EQ(op["parameters"][0]["in"], "header");
  EXPECT_EQ(op["parameters"][0]["required"], true);
  EXPECT_EQ(op["responses"]["201"]["description"], "created");
  EXPECT_FALSE(op["responses"]["204"].contains("content"));
  for (const char* status : {"400", "401", "403", "409", "415", "default"})
    EXPECT_EQ(op["responses"][status]["$ref"], "#/components/responses/Error") << status;
  EXPECT_EQ(op["security"], json::parse(R"([{"bearer":["admin"]}])"));
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

  json error = doc["components"]["schemas"]["Error"];
  EXPECT_EQ(error["required"], json::array({"code", "message"}));
  EXPECT_NE(
      std::find(error["properties"]["code"]["enum"].begin(), error["properties"]["code"]["enum"].end(), "NOT_FOUND"),
      error["properties"]["code"]["enum"].end());

  json list = doc["paths"]["/v1/accounts"]["get"];
  ASSERT_EQ(list["parameters"].size(), 2u);
  EXPECT_EQ(list["parameters"][0]["name"], "limit");
  EXPECT_EQ(list["parameters"][0]["in"], "query");
  EXPECT_EQ(list["parameters"][0]["schema"]["maximum"], 100);
  EXPECT_EQ(list["parameters"][0]["description"], "page size");
  EXPECT_FALSE(list["parameters"][0].contains("required"));
  EXPECT_EQ(list["parameters"][1]["required"], true);
  EXPECT_EQ(list["responses"]["400"]["$ref"], "#/components/responses/Error");
  EXPECT_EQ(doc["openapi"], "3.1.0");
}

TEST(OpenApi, ServedDocumentIsBuiltAtFreezeAndListsItself) {
  Router r;
  r.get("/hello", [](Request&, Response&) {});
  serve_openapi(r, {.title = "hello", .version = "2"});
  r.post("/later", [](Request&, Response&) {});  // registered after serve_openapi: still in the document
  r.freeze();
  Request req;
  auto m = r.find(Method::kGet, "/openapi.json", req);
  ASSERT_EQ(m.status, 200);
  Response res;
  m.route->chain.sync(req, res);
  EXPECT_EQ(res.status, 200);
  json doc = json::parse(res.body);
  EXPECT_EQ(doc["info"]["version"], "2");
  EXPECT_TRUE(doc["paths"].contains("/hello"));
  EXPECT_TRUE(doc["paths"].contains("/later"));
  EXPECT_TRUE(doc["paths"]["/openapi.json"].contains("get"));
}

TEST(OpenApi, SameNamedStructsGetDistinctComponents) {
  struct Local {
    std::string x;
    static void json_schema(svckit::json::Schema<Local>& s) { s.field("x", &Local::x); }
  };
  svckit::json::SchemaSet set;
  std::string a = set.ref<Address>();
  std::string b = set.ref<Local>();
  EXPECT_NE(a, b);
  EXPECT_EQ(set.ref<Address>(), a);
  EXPECT_EQ(set.definitions().size(), 2u);
}

}  // namespace
}  // namespace svckit::http
