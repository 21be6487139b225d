#pragma once
// OpenAPI 3.1 documents generated from the router: every route is an operation (path parameters
// from its `:param` and `*wildcard` segments), and what a route declares with .doc() (request and
// response types, query parameters, summary, examples, error statuses) is described with the JSON
// Schema that JSON binding's own descriptions give (svckit/json/type_schema.hpp). A route without
// .doc() is listed all the same, with empty schemas, so the document names every served path.
//
// ```cpp
//   struct CreateUser {
//     std::string email, name;
//     static void json_schema(json::Schema<CreateUser>& s) {
//       s.field("email", &CreateUser::email).required().email();
//       s.field("name", &CreateUser::name).required().length(1, 100);
//     }
//   };
//   struct User {
//     std::int64_t id = 0;
//     static void json_schema(json::Schema<User>& s) { s.field("id", &User::id); }
//   };
//   Task<void> create_user(http::Request& req, http::Response& res);
//   http::Router r;
//   r.post("/v1/users", create_user)
//       .doc(http::RouteDoc()
//                .summary("Create a user")
//                .tags({"users"})
//                .body<CreateUser>()
//                .example("ann", R"({"email":"ann@example.com","name":"Ann"})")
//                .returns<User>(201, "the user")
//                .errors({409}));
//   http::serve_openapi(r, {.title = "users", .version = "1.0.0"});   // GET /openapi.json
// ```
//
// Every operation answers its error statuses with the one error format (Response::error), the
// shared response `#/components/responses/Error`; a body adds 400 and 415, a query 400, a bearer
// token 401 (and 403 with roles), and "default" covers the rest.
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/http/router.hpp"
#include "svckit/json/json.hpp"

namespace svckit::http {

struct RouteDoc {
  using SchemaFn = std::function<json::SchemaObject(json::SchemaSet&)>;
  struct Param {
    std::string name;
    std::string in;  // "query" or "header"
    bool required = false;
    std::string description;
    SchemaFn schema;
  };
  struct Reply {
    int status = 200;
    std::string description;
    SchemaFn schema;  // empty: no body
  };
  struct Example {
    std::string name;
    std::string json;
  };
  // Read by the generator; the builder methods below fill them.
  struct Spec {
    std::string summary, description, operation_id;
    std::vector<std::string> tags;
    SchemaFn body;
    std::vector<Example> examples;
    std::vector<Param> params;
    std::vector<Reply> replies;
    std::vector<int> errors;
    bool bearer = false;
    std::vector<std::string> roles;
    bool deprecated = false;
  } spec;

  RouteDoc& summary(std::string text) {
    spec.summary = std::move(text);
    return *this;
  }
  RouteDoc& description(std::string text) {
    spec.description = std::move(text);
    return *this;
  }
  RouteDoc& tags(std::initializer_list<std::string_view> names) {
    for (auto n : names) spec.tags.emplace_back(n);
    return *this;
  }
  RouteDoc& operation_id(std::string id) {
    spec.operation_id = std::move(id);
    return *this;
  }
  // The JSON request body, as bind_json<T> reads it.
  template <class T>
  RouteDoc& body() {
    spec.body = [](json::SchemaSet& set) { return set.schema<T>(); };
    return *this;
  }
  // An example request body (JSON text); tests validate each against the document's schemas.
  RouteDoc& example(std::string name, std::string json_text) {
    spec.examples.push_back({std::move(name), std::move(json_text)});
    return *this;
  }
  // The query string, as bind_query<T> reads it: one parameter per field of described T.
  template <class T>
  RouteDoc& query() {
    for (const auto& f : json::schema_of<T>().fields()) {
      const json::FieldSpec* field = &f;  // schema_of's fields live for the program
      spec.params.push_back({f.name, "query", f.required, f.facts.description, [field](json::SchemaSet& set) {
                               json::SchemaObject o;
                               if (field->type_schema) field->type_schema(o, set);
                               json::apply_facts(o, field->facts);
                               return o;
                             }});
    }
    return *this;
  }
  RouteDoc& header(std::string name, std::string description, bool required = false) {
    spec.params.push_back({std::move(name), "header", required, std::move(description),
                           [](json::SchemaSet&) { return json::SchemaObject().set("type", "\"string\""); }});
    return *this;
  }
  // A JSON response of type T (encoded as res.json(status, value) encodes it).
  template <class T>
  RouteDoc& returns(int status, std::string description = {}) {
    spec.replies.push_back({status, std::move(description), [](json::SchemaSet& set) { return set.schema<T>(); }});
    return *this;
  }
  // A response without a body (204, 304).
  RouteDoc& returns_empty(int status, std::string description = {}) {
    spec.replies.push_back({status, std::move(description), nullptr});
    return *this;
  }
  // Error statuses this route answers with the error format, beyond those its declarations imply.
  RouteDoc& errors(std::initializer_list<int> statuses) {
    spec.errors.insert(spec.errors.end(), statuses);
    return *this;
  }
  // The route needs `Authorization: Bearer <token>`, with one of roles when any are given.
  RouteDoc& bearer(std::initializer_list<std::string_view> roles = {}) {
    spec.bearer = true;
    for (auto r : roles) spec.roles.emplace_back(r);
    return *this;
  }
  RouteDoc& deprecated() {
    spec.deprecated = true;
    return *this;
  }
};

struct OpenApiInfo {
  std::string title;
  std::string version;
  std::string description;
};

// The OpenAPI 3.1 document (JSON) of every route of router.
std::string openapi_document(const Router& router, const OpenApiInfo& info);

// Registers GET path, which serves the document of every route of router, itself included. The
// document is built once, when the router freezes before serving.
void serve_openapi(Router& router, OpenApiInfo info, std::string_view path = "/openapi.json");

}  // namespace svckit::http
