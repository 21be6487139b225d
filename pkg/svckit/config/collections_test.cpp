// Enums by name, and lists and maps of described structs bound from YAML sequences and maps: values,
// defaults, errors naming the key path with file:line, unknown keys inside items, later layers
// replacing a list whole, environment variables reaching one item.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include "svckit/config/config.hpp"

using namespace std::chrono_literals;

namespace svckit::config {
namespace {

namespace fs = std::filesystem;

enum class Policy { kRoundRobin, kLeastRequest, kRandom };
constexpr auto config_names(Policy) {
  return std::array{std::pair{Policy::kRoundRobin, "round_robin"}, std::pair{Policy::kLeastRequest, "least_request"},
                    std::pair{Policy::kRandom, "random"}};
}

struct Tls {
  std::string cert;
  std::string passphrase;
  static void describe(Binder<Tls>& b) {
    b.field("cert", &Tls::cert);
    b.field("passphrase", &Tls::passphrase).secret();
  }
};

struct Upstream {
  std::string name;
  std::chrono::milliseconds timeout{1000};
  int retries = 0;
  Policy policy = Policy::kRoundRobin;
  Tls tls;
  static void describe(Binder<Upstream>& b) {
    b.field("name", &Upstream::name).required();
    b.field("timeout", &Upstream::timeout).range(1ms, 60s);
    b.field("retries", &Upstream::retries).range(0, 5);
    b.field("policy", &Upstream::policy);
    b.section("tls", &Upstream::tls);
  }
};

struct Route {
  std::string upstream;
  std::vector<std::string> methods;
  static void describe(Binder<Route>& b) {
    b.field("upstream", &Route::upstream).required();
    b.field("methods", &Route::methods);
  }
};

struct Gateway {
  Policy policy = Policy::kLeastRequest;
  std::vector<Upstream> upstreams = {Upstream{.name = "fallback"}};
  std::map<std::string, Route> routes;
  static void describe(Binder<Gateway>& b) {
    b.field("policy", &Gateway::policy);
    b.field("upstreams", &Gateway::upstreams).check([](const auto& v) { return v.size() <= 8; }, "at most 8");
    b.field("routes", &Gateway::routes);
  }
};

class CollectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("svckit-collections-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "dev");
    fs::create_directories(dir_ / "prod");
  }
  void TearDown() override {
    ::unsetenv("SVCKIT_GATEWAY_UPSTREAMS_1_TIMEOUT");
    fs::remove_all(dir_);
  }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  Result<Gateway> load(const std::string& env = "dev") {
    ConfigOptions o;
    o.dir = dir_.string();
    o.env = env;
    auto cfg = std::make_unique<Config>(o);
    cfg->define<Gateway>("gateway");
    if (Status st = cfg->load(); !st.ok()) return std::unexpected(st);
    printed_ = cfg->print();
    return cfg->get<Gateway>("gateway");
  }

  fs::path dir_;
  std::string printed_;
};

TEST_F(CollectionsTest, ListsMapsAndEnumsBindFromYaml) {
  write("base.yaml",
        "gateway:\n"
        "  policy: random\n"
        "  upstreams:\n"
        "    - name: billing\n"
        "      timeout: 2s\n"
        "      policy: least_request\n"
        "      tls: {cert: /etc/billing.pem}\n"
        "    - name: users\n"
        "      retries: 2\n"
        "  routes:\n"
        "    invoices: {upstream: billing, methods: [GET, POST]}\n"
        "    profiles:\n"
        "      upstream: users\n");
  auto g = load();
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->policy, Policy::kRandom);
  ASSERT_EQ(g->upstreams.size(), 2u);
  EXPECT_EQ(g->upstreams[0].name, "billing");
  EXPECT_EQ(g->upstreams[0].timeout, 2s);
  EXPECT_EQ(g->upstreams[0].policy, Policy::kLeastRequest);
  EXPECT_EQ(g->upstreams[0].tls.cert, "/etc/billing.pem");
  EXPECT_EQ(g->upstreams[1].name, "users");
  EXPECT_EQ(g->upstreams[1].timeout, 1000ms);  // the item's own default
  EXPECT_EQ(g->upstreams[1].retries, 2);
  ASSERT_EQ(g->routes.size(), 2u);
  EXPECT_EQ(g->routes["invoices"].upstream, "billing");
  EXPECT_EQ(g->routes["invoices"].methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(g->routes["profiles"].upstream, "users");
  // Every key of every item shows with its origin.
  EXPECT_NE(printed_.find("gateway.upstreams.0.timeout = 2s"), std::string::npos) << printed_;
  EXPECT_NE(printed_.find("gateway.policy = random"), std::string::npos) << printed_;
}

TEST_F(CollectionsTest, DefaultsStandWhenNothingIsConfigured) {
  write("base.yaml", "gateway: {}\n");
  auto g = load();
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->policy, Policy::kLeastRequest);
  ASSERT_EQ(g->upstreams.size(), 1u);
  EXPECT_EQ(g->upstreams[0].name, "fallback");
  EXPECT_TRUE(g->routes.empty());
  EXPECT_NE(printed_.find("gateway.policy = least_request"), std::string::npos) << printed_;
}

TEST_F(CollectionsTest, ErrorsNameTheItemsKeyPathAndFileLine) {
  write("base.yaml",
        "gateway:\n"             // 1
        "  policy: fastest\n"    // 2
        "  upstreams:\n"         // 3
        "    - name: a\n"        // 4
        "    - name: b\n"        // 5
        "    - name: c\n"        // 6
        "      timeout: 5min\n"  // 7
        "      retries: lots\n"  // 8
        "      timout: 1s\n"     // 9
        "    - timeout: 1s\n"    // 10
        "  routes:\n"            // 11
        "    invoices: {methods: [GET]}\n");
  auto g = load();
  ASSERT_FALSE(g);
  std::string msg(g.error().message());
  EXPECT_NE(msg.find("gateway.policy: \"fastest\" is not one of: round_robin, least_request, random"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("gateway.upstreams[2].timeout: invalid duration \"5min\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("base.yaml:7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gateway.upstreams[2].retries: \"lots\" is not an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("base.yaml:8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gateway.upstreams[2].timout: unknown key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gateway.upstreams[3].name: required but not set"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gateway.routes.invoices.upstream: required but not set"), std::string::npos) << msg;
}

TEST_F(CollectionsTest, ALaterLayerReplacesAListWholeAndTheEnvironmentReachesOneItem) {
  write("base.yaml",
        "gateway:\n"
        "  upstreams:\n"
        "    - {name: a}\n"
        "    - {name: b}\n"
        "    - {name: c}\n");
  write("prod/gateway.yaml",
        "gateway:\n"
        "  upstreams:\n"
        "    - {name: x}\n"
        "    - {name: y}\n");
  ::setenv("SVCKIT_GATEWAY_UPSTREAMS_1_TIMEOUT", "250ms", 1);
  auto g = load("prod");
  ASSERT_TRUE(g) << g.error().to_string();
  ASSERT_EQ(g->upstreams.size(), 2u);  // base.yaml's third item does not survive under prod's two
  EXPECT_EQ(g->upstreams[0].name, "x");
  EXPECT_EQ(g->upstreams[1].name, "y");
  EXPECT_EQ(g->upstreams[1].timeout, 250ms);
  EXPECT_NE(printed_.find("env SVCKIT_GATEWAY_UPSTREAMS_1_TIMEOUT"), std::string::npos) << printed_;
}

TEST_F(CollectionsTest, AScalarWhereAListBelongsAndAGapInTheIndicesAreErrors) {
  write("base.yaml", "gateway:\n  upstreams: billing\n");
  auto scalar = load();
  ASSERT_FALSE(scalar);
  EXPECT_NE(scalar.error().message().find("gateway.upstreams: expected a list or map of settings"),
            std::string_view::npos)
      << scalar.error().message();

  write("base.yaml", "gateway:\n  upstreams:\n    - {name: a}\n");
  ::setenv("SVCKIT_GATEWAY_UPSTREAMS_1_TIMEOUT", "1s", 1);  // no item 1 in any file: not a known key
  auto fine = load();
  ASSERT_TRUE(fine) << fine.error().to_string();
  EXPECT_EQ(fine->upstreams.size(), 1u);
}

TEST_F(CollectionsTest, AnEmptyListInALaterLayerEmptiesTheList) {
  write("base.yaml", "gateway:\n  upstreams:\n    - {name: a}\n    - {name: b}\n");
  write("prod/gateway.yaml", "gateway:\n  upstreams: []\n");
  auto g = load("prod");
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_TRUE(g->upstreams.empty());
  // And the struct's own default list is emptied the same way.
  write("base.yaml", "gateway:\n  upstreams: []\n");
  auto none = load("dev");
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_TRUE(none->upstreams.empty());
}

TEST_F(CollectionsTest, AHugeOrZeroPaddedIndexIsAnErrorNotACrash) {
  write("base.yaml", "gateway: {}\n");
  ConfigOptions o;
  o.dir = dir_.string();
  o.env = "dev";
  o.sets = {"gateway.upstreams.99999999999999999999.name=a"};
  Config cfg(o);
  cfg.define<Gateway>("gateway");
  Status st = cfg.load();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("list index out of range"), std::string_view::npos) << st.message();
}

// A struct reused whole inside a larger section (keys beside the section's own), integer byte counts
// written with units, and a policy laid over another key by key.
struct Limits {
  std::size_t max_body = 1 << 20;
  std::uint32_t max_line = 8192;
  static void describe(Binder<Limits>& b) {
    b.bytes("max_body", &Limits::max_body).range(1024, std::size_t(1) << 30);
    b.bytes("max_line", &Limits::max_line);
  }
};

struct Policy2 {
  std::chrono::milliseconds timeout{1000};
  int retries = 0;
  bool idempotent = true;
  std::vector<std::string> set;
  static void describe(Binder<Policy2>& b) {
    b.field("timeout", &Policy2::timeout);
    b.field("retries", &Policy2::retries).range(0, 9);
    b.field("idempotent", &Policy2::idempotent);
    b.keys_set(&Policy2::set);
  }
};

struct Rule {
  std::string name;
  std::string method;
  Policy2 policy;
  static void describe(Binder<Rule>& b) {
    b.field("name", &Rule::name).required();
    b.field("method", &Rule::method);
    b.section("", &Rule::policy);
  }
};

struct Server {
  std::string host = "0.0.0.0";
  Limits limits;
  std::vector<Rule> rules;
  std::vector<Tls> peers;
  static void describe(Binder<Server>& b) {
    b.field("host", &Server::host);
    b.section("", &Server::limits);
    b.field("rules", &Server::rules);
    b.field("peers", &Server::peers);
  }
};

class InlineTest : public CollectionsTest {
 protected:
  Result<Server> load_server() {
    ConfigOptions o;
    o.dir = dir_.string();
    o.env = "dev";
    Config cfg(o);
    cfg.define<Server>("server");
    if (Status st = cfg.load(); !st.ok()) return std::unexpected(st);
    printed_ = cfg.print();
    return cfg.get<Server>("server");
  }
};

TEST_F(InlineTest, AnInlineSectionsKeysSitBesideTheSectionsOwnWithByteUnits) {
  write("base.yaml", "server:\n  host: 127.0.0.1\n  max_body: 16MiB\n");
  auto s = load_server();
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->host, "127.0.0.1");
  EXPECT_EQ(s->limits.max_body, std::size_t(16) << 20);
  EXPECT_EQ(s->limits.max_line, 8192u);
  EXPECT_NE(printed_.find("server.max_body = 16MiB"), std::string::npos) << printed_;
  EXPECT_NE(printed_.find("server.max_line = 8KiB"), std::string::npos) << printed_;

  write("base.yaml", "server:\n  max_body: 2GiB\n  max_line: 8GiB\n");
  auto bad = load_server();
  ASSERT_FALSE(bad);
  std::string msg(bad.error().message());
  EXPECT_NE(msg.find("server.max_body: 2GiB is outside [1KiB, 1GiB]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("server.max_line: \"8GiB\" does not fit"), std::string::npos) << msg;
}

TEST_F(InlineTest, KeysSetLayAMethodRuleOverItsUpstreamsKeyByKey) {
  write("base.yaml",
        "server:\n"
        "  rules:\n"
        "    - {name: billing, timeout: 2s, retries: 3}\n"
        "    - {name: billing, method: POST /charges, retries: 0, idempotent: false}\n");
  auto s = load_server();
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_EQ(s->rules.size(), 2u);
  EXPECT_EQ(s->rules[0].policy.set, (std::vector<std::string>{"timeout", "retries"}));
  EXPECT_EQ(s->rules[1].policy.set, (std::vector<std::string>{"retries", "idempotent"}));
  Policy2 method = overlay(s->rules[0].policy, s->rules[1].policy, s->rules[1].policy.set);
  EXPECT_EQ(method.timeout, 2s);  // the upstream's
  EXPECT_EQ(method.retries, 0);   // the method's own
  EXPECT_FALSE(method.idempotent);
}

TEST_F(InlineTest, SecretsInsideListItemsAreRedacted) {
  write("base.yaml",
        "server:\n"
        "  peers:\n"
        "    - {cert: /a.pem, passphrase: hunter2}\n"
        "    - {cert: /b.pem, passphrase: swordfish}\n");
  auto s = load_server();
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->peers[1].passphrase, "swordfish");
  EXPECT_EQ(printed_.find("hunter2"), std::string::npos) << printed_;
  EXPECT_EQ(printed_.find("swordfish"), std::string::npos) << printed_;
  EXPECT_NE(printed_.find("server.peers.1.passphrase = <redacted>"), std::string::npos) << printed_;
  EXPECT_NE(printed_.find("server.peers.1.cert = /b.pem"), std::string::npos) << printed_;
}

}  // namespace
}  // namespace svckit::config
