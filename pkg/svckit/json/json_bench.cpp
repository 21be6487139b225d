// Decode-and-validate and encode of a typical API body, svckit against the C++ JSON libraries Debian
// ships, each doing the same work: the same struct filled, the same rules checked (make bench-json).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "svckit/json/json.hpp"

#if __has_include(<nlohmann/json.hpp>)
#include <nlohmann/json.hpp>
#define HAVE_NLOHMANN 1
#endif
#if __has_include(<rapidjson/document.h>)
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#define HAVE_RAPIDJSON 1
#endif
#if defined(SVCKIT_HAVE_SIMDJSON) && __has_include(<simdjson.h>)
#include <simdjson.h>
#define HAVE_SIMDJSON 1
#endif

namespace {

using namespace svckit;

struct Item {
  std::string sku;
  std::int32_t quantity = 1;
  std::optional<std::string> note;
  static void json_schema(json::Schema<Item>& s) {
    s.field("sku", &Item::sku).required().length(3, 12);
    s.field("quantity", &Item::quantity).range(1, 100);
    s.field("note", &Item::note).omit_empty();
  }
};

struct Order {
  std::uint64_t id = 0;
  std::string customer;
  bool gift = false;
  std::vector<Item> items;
  static void json_schema(json::Schema<Order>& s) {
    s.field("id", &Order::id);
    s.field("customer", &Order::customer).required().email();
    s.field("gift", &Order::gift);
    s.field("items", &Order::items).required().length(1, 50);
  }
};

const std::string kBody = R"({"id":4711,"customer":"ann.smith@example.com","gift":true,"items":[)"
                          R"({"sku":"ABC-1001","quantity":2,"note":"blue, size M"},{"sku":"XYZ-77","quantity":1},)"
                          R"({"sku":"QQQ-9","quantity":12,"note":"gift wrap \"please\""}]})";

// The checks the schema runs, written out by hand for the peers.
bool valid(const Order& o) {
  if (!json::detail::looks_like_email(o.customer) || o.items.empty() || o.items.size() > 50) return false;
  for (const auto& i : o.items) {
    auto n = json::utf8_length(i.sku);
    if (n < 3 || n > 12 || i.quantity < 1 || i.quantity > 100) return false;
  }
  return true;
}

Order sample() {
  auto o = json::decode<Order>(kBody);
  return *o;
}

void BM_Decode_svckit(benchmark::State& state) {
  for (auto _ : state) {
    Order o;
    Status st = json::decode_into(kBody, o);
    benchmark::DoNotOptimize(st.ok());
    benchmark::DoNotOptimize(o);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBody.size()));
}
BENCHMARK(BM_Decode_svckit);

void BM_Encode_svckit(benchmark::State& state) {
  Order o = sample();
  std::string out;
  for (auto _ : state) {
    out.clear();
    json::encode_to(out, o);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Encode_svckit);

#ifdef HAVE_NLOHMANN
void BM_Decode_nlohmann(benchmark::State& state) {
  for (auto _ : state) {
    Order o;
    auto j = nlohmann::json::parse(kBody, nullptr, false);
    bool ok = !j.is_discarded() && j.is_object();
    if (ok) {
      o.id = j.value("id", std::uint64_t{0});
      o.customer = j.at("customer").get<std::string>();
      o.gift = j.value("gift", false);
      for (const auto& it : j.at("items")) {
        Item& i = o.items.emplace_back();
        i.sku = it.at("sku").get<std::string>();
        i.quantity = it.value("quantity", 1);
        if (it.contains("note")) i.note = it["note"].get<std::string>();
      }
      ok = valid(o);
    }
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(o);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBody.size()));
}
BENCHMARK(BM_Decode_nlohmann);

void BM_Encode_nlohmann(benchmark::State& state) {
  Order o = sample();
  for (auto _ : state) {
    nlohmann::json j;
    j["id"] = o.id;
    j["customer"] = o.customer;
    j["gift"] = o.gift;
    auto& items = j["items"] = nlohmann::json::array();
    for (const auto& i : o.items) {
      nlohmann::json it{{"sku", i.sku}, {"quantity", i.quantity}};
      if (i.note) it["note"] = *i.note;
      items.push_back(std::move(it));
    }
    std::string out = j.dump();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Encode_nlohmann);
#endif

#ifdef HAVE_RAPIDJSON
void BM_Decode_rapidjson(benchmark::State& state) {
  for (auto _ : state) {
    Order o;
    rapidjson::Document d;
    d.Parse(kBody.data(), kBody.size());
    bool ok = !d.HasParseError() && d.IsObject() && d.HasMember("customer") && d["customer"].IsString() &&
              d.HasMember("items") && d["items"].IsArray();
    if (ok) {
      if (d.HasMember("id") && d["id"].IsUint64()) o.id = d["id"].GetUint64();
      o.customer.assign(d["customer"].GetString(), d["customer"].GetStringLength());
      if (d.HasMember("gift") && d["gift"].IsBool()) o.gift = d["gift"].GetBool();
      for (const auto& it : d["items"].GetArray()) {
        Item& i = o.items.emplace_back();
        if (!it.IsObject() || !it.HasMember("sku") || !it["sku"].IsString()) {
          ok = false;
          break;
        }
        i.sku.assign(it["sku"].GetString(), it["sku"].GetStringLength());
        if (it.HasMember("quantity") && it["quantity"].IsInt()) i.quantity = it["quantity"].GetInt();
        if (it.HasMember("note") && it["note"].IsString()) i.note = it["note"].GetString();
      }
      ok = ok && valid(o);
    }
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(o);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBody.size()));
}
BENCHMARK(BM_Decode_rapidjson);

void BM_Encode_rapidjson(benchmark::State& state) {
  Order o = sample();
  for (auto _ : state) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("id");
    w.Uint64(o.id);
    w.Key("customer");
    w.String(o.customer.data(), static_cast<rapidjson::SizeType>(o.customer.size()));
    w.Key("gift");
    w.Bool(o.gift);
    w.Key("items");
    w.StartArray();
    for (const auto& i : o.items) {
      w.StartObject();
      w.Key("sku");
      w.String(i.sku.data(), static_cast<rapidjson::SizeType>(i.sku.size()));
      w.Key("quantity");
      w.Int(i.quantity);
      if (i.note) {
        w.Key("note");
        w.String(i.note->data(), static_cast<rapidjson::SizeType>(i.note->size()));
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::string out(buf.GetString(), buf.GetSize());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Encode_rapidjson);
#endif

#ifdef HAVE_SIMDJSON
void BM_Decode_simdjson_ondemand(benchmark::State& state) {
  simdjson::ondemand::parser parser;
  for (auto _ : state) {
    Order o;
    bool ok = true;
    simdjson::padded_string body(kBody);
    auto doc = parser.iterate(body);
    for (auto field : doc.get_object()) {
      std::string_view key = field.unescaped_key();
      if (key == "id") {
        o.id = field.value().get_uint64();
      } else if (key == "customer") {
        o.customer = std::string_view(field.value().get_string());
      } else if (key == "gift") {
        o.gift = field.value().get_bool();
      } else if (key == "items") {
        for (auto it : field.value().get_array()) {
          Item& i = o.items.emplace_back();
          for (auto f : it.get_object()) {
            std::string_view k = f.unescaped_key();
            if (k == "sku")
              i.sku = std::string_view(f.value().get_string());
            else if (k == "quantity")
              i.quantity = static_cast<std::int32_t>(std::int64_t(f.value().get_int64()));
            else if (k == "note")
              i.note = std::string(std::string_view(f.value().get_string()));
          }
        }
      }
    }
    ok = valid(o);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(o);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBody.size()));
}
BENCHMARK(BM_Decode_simdjson_ondemand);
#endif

}  // namespace

BENCHMARK_MAIN();
