#include "svckit/http/openapi.hpp"

#include <algorithm>
#include <memory>
#include <set>

#include "svckit/http/message.hpp"
#include "svckit/http/parser.hpp"

namespace svckit::http {

RouteBuilder& RouteBuilder::doc(RouteDoc d) {
  route_.doc = std::make_shared<const RouteDoc>(std::move(d));
  return *this;
}

namespace {

std::string quoted(std::string_view s) {
  std::string out;
  json::append_string(out, s);
  return out;
}

// "/v1/users/:id/*rest" → "/v1/users/{id}/{rest}", and the parameters' names in order.
std::string openapi_path(std::string_view pattern, std::vector<std::string>& params) {
  std::string out;
  std::size_t i = 0;
  while (i < pattern.size()) {
    char c = pattern[i];
    bool starts_segment = i == 0 || pattern[i - 1] == '/';
    if (starts_segment && (c == ':' || c == '*')) {
      std::size_t end = pattern.find('/', i);
      if (end == std::string_view::npos) end = pattern.size();
      std::string name(pattern.substr(i + 1, end - i - 1));
      if (name.empty()) name = "path";
      params.push_back(name);
      out += '{' + name + '}';
      i = end;
    } else {
      out += c;
      ++i;
    }
  }
  return out.empty() ? "/" : out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// "get" + "/v1/users/{id}" → "get_v1_users_id"
std::string default_operation_id(std::string_view method, std::string_view path) {
  std::string out(method);
  bool gap = true;
  for (char c : path) {
    bool word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (word) {
      if (gap) out += '_';
      out += c;
      gap = false;
    } else {
      gap = true;
    }
  }
  return out;
}

std::string status_description(int status, const std::string& given) {
  if (!given.empty()) return given;
  std::string_view phrase = reason_phrase(status);
  return phrase.empty() ? std::to_string(status) : std::string(phrase);
}

// The one error format, as Response::error writes it.
std::string error_schema() {
  std::string codes = "[";
  for (int c = 1; c <= static_cast<int>(Code::kUnauthenticated); ++c) {
    if (codes.size() > 1) codes += ',';
    codes += quoted(code_name(static_cast<Code>(c)));
  }
  codes += ']';
  return R"({"type":"object","description":"svckit's one error format","required":["code","message"],)"
         R"("properties":{"code":{"type":"string","enum":)" +
         codes +
         R"(},"reason":{"type":"string","description":"a machine-readable cause, such as USER_NOT_FOUND"},)"
         R"("message":{"type":"string"},"metadata":{"type":"object","additionalProperties":{"type":"string"},)"
         R"("description":"details, such as a field path and its reason for VALIDATION_FAILED"}}})";
}

void write_operation(json::Writer& w, const Route& route, const std::string& path,
                     const std::vector<std::string>& path_params, std::set<std::string>& operation_ids,
                     json::SchemaSet& schemas) {
  static const RouteDoc kEmpty;
  const RouteDoc::Spec& d = route.doc ? route.doc->spec : kEmpty.spec;
  std::string method = lower(method_name(route.method));
  w.key(method).begin_object();
  if (!d.tags.empty()) {
    w.key("tags").begin_array();
    for (const auto& t : d.tags) w.string(t);
    w.end_array();
  }
  if (!d.summary.empty()) w.field("summary", d.summary);
  if (!d.description.empty()) w.field("description", d.description);
  std::string id = d.operation_id.empty() ? default_operation_id(method, path) : d.operation_id;
  for (int i = 2; !operation_ids.insert(id).second; ++i)
    id = (d.operation_id.empty() ? default_operation_id(method, path) : d.operation_id) + "_" + std::to_string(i);
  w.field("operationId", id);

  if (!path_params.empty() || !d.params.empty()) {
    w.key("parameters").begin_array();
    for (const auto& p : path_params) {
      w.begin_object().field("name", p).key("in").string("path").field("required", true);
      w.key("schema").raw(R"({"type":"string"})");
      w.end_object();
    }
    for (const auto& p : d.params) {
      w.begin_object().field("name", p.name).field("in", p.in);
      if (p.required) w.field("required", true);
      if (!p.description.empty()) w.field("description", p.description);
      w.key("schema").raw(p.schema ? p.schema(schemas).text() : "{}");
      w.end_object();
    }
    w.end_array();
  }

  if (d.body) {
    w.key("requestBody").begin_object().field("required", true);
    w.key("content").begin_object().key("application/json").begin_object();
    w.key("schema").raw(d.body(schemas).text());
    if (!d.examples.empty()) {
      w.key("examples").begin_object();
      for (const auto& e : d.examples) w.key(e.name).begin_object().key("value").raw(e.json).end_object();
      w.end_object();
    }
    w.end_object().end_object().end_object();
  }

  // Statuses in order: the declared replies, then the errors.
  std::vector<int> errors = d.errors;
  if (d.body) errors.insert(errors.end(), {400, 415});
  if (!d.params.empty()) errors.push_back(400);
  if (d.bearer) errors.push_back(401);
  if (d.bearer && !d.roles.empty()) errors.push_back(403);
  std::sort(errors.begin(), errors.end());
  errors.erase(std::unique(errors.begin(), errors.end()), errors.end());

  w.key("responses").begin_object();
  std::set<int> written;
  for (const auto& r : d.replies) {
    if (!written.insert(r.status).second) continue;
    w.key(std::to_string(r.status)).begin_object().field("description", status_description(r.status, r.description));
    if (r.schema) {
      w.key("content").begin_object().key("application/json").begin_object();
      w.key("schema").raw(r.schema(schemas).text());
      w.end_object().end_object();
    }
    w.end_object();
  }
  if (d.replies.empty()) {
    // Undocumented: the route answers something; the document cannot say what.
    w.key("200").begin_object().key("description").string("OK (not described)");
    w.key("content").begin_object().key("*/*").begin_object().key("schema").raw("{}").end_object().end_object();
    w.end_object();
  }
  for (int status : errors) {
    if (!written.insert(status).second) continue;
    w.key(std::to_string(status)).raw(R"({"$ref":"#/components/responses/Error"})");
  }
  w.key("default").raw(R"({"$ref":"#/components/responses/Error"})");
  w.end_object();

  if (d.bearer) {
    w.key("security").begin_array().begin_object().key("bearer").begin_array();
    for (const auto& r : d.roles) w.string(r);
    w.end_array().end_object().end_array();
  }
  if (d.deprecated) w.field("deprecated", true);
  w.end_object();
}

}  // namespace

std::string openapi_document(const Router& router, const OpenApiInfo& info) {
  // Paths in the order their first route was registered; each with its routes' operations.
  struct PathItem {
    std::string path;
    std::vector<std::string> params;
    std::vector<const Route*> routes;
  };
  std::vector<PathItem> items;
  bool any_bearer = false;
  for (const auto& route : router.routes()) {
    std::vector<std::string> params;
    std::string path = openapi_path(route.pattern, params);
    auto it = std::find_if(items.begin(), items.end(), [&](const PathItem& p) { return p.path == path; });
    if (it == items.end()) it = items.insert(items.end(), PathItem{path, params, {}});
    it->routes.push_back(&route);
    if (route.doc && route.doc->spec.bearer) any_bearer = true;
  }

  std::string out;
  json::Writer w(out);
  json::SchemaSet schemas;
  schemas.reserve("Error");
  w.begin_object().key("openapi").string("3.1.0");
  w.key("jsonSchemaDialect").string("https://spec.openapis.org/oas/3.1/dialect/base");
  w.key("info").begin_object().field("title", info.title).field("version", info.version);
  if (!info.description.empty()) w.field("description", info.description);
  w.end_object();
  std::set<std::string> operation_ids;
  w.key("paths").begin_object();
  for (const auto& item : items) {
    w.key(item.path).begin_object();
    for (const Route* r : item.routes) {
      if (r->method == Method::kConnect || r->method == Method::kOther) continue;  // not OpenAPI operations
      write_operation(w, *r, item.path, item.params, operation_ids, schemas);
    }
    w.end_object();
  }
  w.end_object();

  w.key("components").begin_object();
  w.key("schemas").begin_object();
  for (const auto& [name, schema] : schemas.definitions()) w.key(name).raw(schema);
  w.key("Error").raw(error_schema());
  w.end_object();
  w.key("responses")
      .begin_object()
      .key("Error")
      .raw(R"({"description":"an error, in svckit's one error format","content":{"application/json":)"
           R"({"schema":{"$ref":"#/components/schemas/Error"}}}})");
  w.end_object();
  if (any_bearer) {
    w.key("securitySchemes")
        .begin_object()
        .key("bearer")
        .raw(R"({"type":"http","scheme":"bearer","bearerFormat":"JWT"})");
    w.end_object();
  }
  w.end_object();
  w.end_object();
  return out;
}

void serve_openapi(Router& router, OpenApiInfo info, std::string_view path) {
  auto document = std::make_shared<std::string>();
  router.get(path, [document](Request&, Response& res) { res.json(200, std::string_view(*document)); })
      .doc(RouteDoc()
               .summary("This document")
               .tags({"meta"})
               .operation_id("openapi")
               .returns<json::Raw>(200, "the OpenAPI 3.1 document of this service's routes"));
  router.on_freeze([document, info = std::move(info)](const Router& r) { *document = openapi_document(r, info); });
}

}  // namespace svckit::http
