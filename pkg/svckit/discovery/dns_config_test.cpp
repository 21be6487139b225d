// The dns backend's configuration: resolv.conf read as glibc reads it, the names glibc's res_search
// tries (a Kubernetes pod's ndots:5 search list included), servers, ports and the name template, the
// discovery.dns section bound from YAML, and how answers become instances (ids, endpoints, SRV
// weights and the grouping of schemes by address).
#include "svckit/discovery/detail/dns_config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "svckit/config/config.hpp"
#include "svckit/discovery/detail/dns_instances.hpp"
#include "svckit/discovery/settings.hpp"

namespace svckit::discovery::detail::dns {
namespace {

using Names = std::vector<std::string>;

TEST(DnsConfig, ReadsResolvConfAsGlibcDoes) {
  auto rc = parse_resolv_conf(
      "# generated\n"
      "nameserver 10.96.0.10\n"
      "; a comment\n"
      "nameserver fd00::10\n"
      "nameserver not-an-address\n"
      "domain first.example\n"
      "search ns.svc.cluster.local svc.cluster.local. cluster.local\n"
      "options rotate ndots:5 timeout:1\n"
      "nameserver 10.0.0.3\n"
      "nameserver 10.0.0.4\n");
  EXPECT_EQ(rc.nameservers, (std::vector<Server>{{"10.96.0.10", 53}, {"fd00::10", 53}, {"10.0.0.3", 53}}))
      << "the first three that parse";
  EXPECT_EQ(rc.search, (Names{"ns.svc.cluster.local", "svc.cluster.local", "cluster.local"})) << "the last line wins";
  EXPECT_TRUE(rc.has_search);
  EXPECT_EQ(rc.ndots, 5);
  EXPECT_EQ(parse_resolv_conf("options ndots:40\n").ndots, 15);
  EXPECT_EQ(parse_resolv_conf("nameserver 1.1.1.1\n").ndots, 1);
  EXPECT_EQ(parse_resolv_conf("search a.example b.example\ndomain c.example\n").search, (Names{"c.example"}));
  EXPECT_FALSE(parse_resolv_conf("nameserver 1.1.1.1\n").has_search);
  EXPECT_FALSE(read_resolv_conf("/nonexistent/resolv.conf"));
}

TEST(DnsConfig, TriesSearchDomainsInGlibcsOrder) {
  const Names k8s = {"ns.svc.cluster.local", "svc.cluster.local", "cluster.local"};
  // A Kubernetes pod (ndots:5): a short name goes through the search list first, as-is last.
  EXPECT_EQ(search_names("user-svc", k8s, 5), (Names{"user-svc.ns.svc.cluster.local", "user-svc.svc.cluster.local",
                                                     "user-svc.cluster.local", "user-svc"}));
  EXPECT_EQ(search_names("_http._tcp.user-svc", k8s, 5).front(), "_http._tcp.user-svc.ns.svc.cluster.local");
  // Enough dots: as-is first.
  EXPECT_EQ(search_names("api.example.com", {"corp.example"}, 1),
            (Names{"api.example.com", "api.example.com.corp.example"}));
  EXPECT_EQ(search_names("a.b.c.d.e", k8s, 5).back(), "a.b.c.d.e") << "four dots: fewer than ndots";
  EXPECT_EQ(search_names("a.b.c.d.e.f", k8s, 5).front(), "a.b.c.d.e.f") << "five dots: as it is first";
  // A trailing dot: that name only.
  EXPECT_EQ(search_names("user-svc.ns.svc.cluster.local.", k8s, 5), (Names{"user-svc.ns.svc.cluster.local"}));
  // The root on the search list stands for the name as it is, in its place.
  EXPECT_EQ(search_names("svc", {"a.example", ".", "b.example"}, 1), (Names{"svc.a.example", "svc", "svc.b.example"}));
  EXPECT_EQ(search_names("svc", {}, 1), (Names{"svc"}));
}

TEST(DnsConfig, ParsesServers) {
  EXPECT_EQ(*parse_server("10.0.0.10"), (Server{"10.0.0.10", 53}));
  EXPECT_EQ(*parse_server("127.0.0.1:5353"), (Server{"127.0.0.1", 5353}));
  EXPECT_EQ(*parse_server("[::1]:5353"), (Server{"::1", 5353}));
  EXPECT_EQ(*parse_server("[fd00::10]"), (Server{"fd00::10", 53}));
  EXPECT_EQ(*parse_server("fd00::10"), (Server{"fd00::10", 53}));
  EXPECT_EQ(to_string(Server{"::1", 53}), "[::1]:53");
  for (const char* bad :
       {"", "dns.example", "dns.example:53", "10.0.0.1:0", "10.0.0.1:70000", "[::1", "[::1]53", "10.0.0.1:", "1.2.3"})
    EXPECT_FALSE(parse_server(bad)) << bad;
}

TEST(DnsConfig, ParsesPortsAndTheNameTemplate) {
  auto ports = parse_ports({"http:8080", "grpc:9090"});
  ASSERT_TRUE(ports) << ports.error().to_string();
  ASSERT_EQ(ports->size(), 2u);
  EXPECT_EQ((*ports)[1].scheme, "grpc");
  EXPECT_EQ((*ports)[1].port, 9090);
  for (const char* bad : {"http", "http:0", "http:65536", "http:80x", "HTTP:80", ":80"})
    EXPECT_FALSE(parse_ports({bad})) << bad;
  EXPECT_FALSE(parse_ports({"http:80", "http:81"})) << "a scheme twice";

  auto srv = parse_srv_ports({"http", "grpc:grpc-api"});
  ASSERT_TRUE(srv) << srv.error().to_string();
  EXPECT_EQ((*srv)[0].port_name, "http");
  EXPECT_EQ((*srv)[1].port_name, "grpc-api");
  EXPECT_FALSE(parse_srv_ports({"grpc:bad_name"}));
  EXPECT_FALSE(parse_srv_ports({"grpc:"}));

  EXPECT_EQ(*expand_name("{service}", "user-svc"), "user-svc");
  EXPECT_EQ(*expand_name("{service}.prod.svc.cluster.local.", "user-svc"), "user-svc.prod.svc.cluster.local.");
  EXPECT_FALSE(expand_name("{service}", "user svc"));
  EXPECT_FALSE(expand_name("{service}", "a..b"));
  EXPECT_FALSE(expand_name("{service}", std::string(64, 'a')));
  EXPECT_TRUE(valid_name("_http._tcp.user-svc"));
}

// ---- answers into instances ------------------------------------------------------------------------

TEST(DnsInstances, AddressModeGivesEachAddressTheConfiguredPorts) {
  AddressLookup found{"user-svc.ns.svc.cluster.local", {"10.0.0.8", "10.0.0.7", "fd00::7"}, 5};
  auto ports = *parse_ports({"http:8080", "grpc:9090"});
  auto set = address_instances("user-svc", found, ports);
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set[0].id, "10.0.0.7:8080");
  EXPECT_EQ(set[1].id, "10.0.0.8:8080");
  EXPECT_EQ(set[2].id, "[fd00::7]:8080");
  EXPECT_EQ(set[2].name, "user-svc");
  EXPECT_EQ(set[2].endpoints, (std::vector<std::string>{"http://[fd00::7]:8080", "grpc://[fd00::7]:9090"}));
  EXPECT_EQ(set[0].weight, 100u);
  EXPECT_EQ(set[0].metadata.at("dns_name"), "user-svc.ns.svc.cluster.local");
  for (const auto& i : set)
    for (const auto& e : i.endpoints) EXPECT_TRUE(validate_endpoint(e).ok()) << e;
}

TEST(DnsInstances, SrvModeGroupsSchemesByAddressAndKeepsWeights) {
  auto specs = *parse_srv_ports({"http", "grpc"});
  SrvLookup http{"_http._tcp.u",
                 {{"p1.u", 8080, 60, {"10.0.0.1"}}, {"p2.u", 8080, 40, {"10.0.0.2"}}, {"p3.u", 8081, 0, {"10.0.0.2"}}},
                 5,
                 true};
  SrvLookup grpc{"_grpc._tcp.u", {{"p1.u", 9090, 0, {"10.0.0.1"}}, {"p4.u", 9090, 0, {"10.0.0.4"}}}, 5, true};
  auto set = srv_instances("u", {{specs[0], http}, {specs[1], grpc}});
  ASSERT_EQ(set.size(), 4u);
  EXPECT_EQ(set[0].id, "10.0.0.1:8080");
  EXPECT_EQ(set[0].endpoints, (std::vector<std::string>{"http://10.0.0.1:8080", "grpc://10.0.0.1:9090"}));
  EXPECT_EQ(set[0].weight, 60u);
  EXPECT_EQ(set[0].metadata.at("dns_name"), "p1.u");
  EXPECT_EQ(set[1].id, "10.0.0.2:8080");
  EXPECT_EQ(set[1].weight, 40u);
  EXPECT_EQ(set[2].id, "10.0.0.2:8081") << "two ports at one address are two instances";
  EXPECT_EQ(set[2].weight, 0u) << "a weight 0 beside others is kept";
  EXPECT_EQ(set[3].id, "10.0.0.4:9090") << "an address only the second scheme names";
  EXPECT_EQ(set[3].endpoints, (std::vector<std::string>{"grpc://10.0.0.4:9090"}));
  EXPECT_EQ(set[3].weight, 100u) << "all of a scheme's weights 0: no preference, the default weight";

  SrvLookup unweighted{"_http._tcp.u", {{"p1.u", 80, 0, {"10.0.0.1"}}, {"p2.u", 80, 0, {"10.0.0.2"}}}, 5, true};
  for (const auto& i : srv_instances("u", {{specs[0], unweighted}})) EXPECT_EQ(i.weight, 100u);
}

// ---- the discovery.dns section ---------------------------------------------------------------------

class DnsSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("svckit-dns-settings-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "dev");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Result<DiscoverySettings> load(const std::string& yaml) {
    std::ofstream(dir_ / "base.yaml") << yaml;
    config::Config cfg(config::ConfigOptions{.dir = dir_.string(), .env = "dev"});
    cfg.define<DiscoverySettings>("discovery");
    if (Status st = cfg.load(); !st.ok()) return std::unexpected(st);
    return cfg.get<DiscoverySettings>("discovery");
  }
  std::string error_of(const std::string& yaml) {
    auto s = load(yaml);
    return s ? std::string("(accepted)") : s.error().to_string();
  }
  std::filesystem::path dir_;
};

TEST_F(DnsSettingsTest, BindsTheDnsSection) {
  auto s = load(
      "discovery:\n"
      "  backend: dns\n"
      "  dns:\n"
      "    servers: [10.96.0.10, \"[fd00::10]:53\"]\n"
      "    name: \"{service}.shop.svc.cluster.local.\"\n"
      "    mode: srv\n"
      "    srv_ports: [http, grpc:grpc-api]\n"
      "    family: ipv4\n"
      "    timeout: 500ms\n"
      "    attempts: 3\n"
      "    min_refresh: 2s\n"
      "    max_refresh: 1m\n");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->backend, Backend::kDns);
  EXPECT_EQ(s->dns.servers, (std::vector<std::string>{"10.96.0.10", "[fd00::10]:53"}));
  EXPECT_EQ(s->dns.mode, DnsMode::kSrv);
  EXPECT_EQ(s->dns.family, DnsFamily::kIPv4);
  EXPECT_EQ(s->dns.attempts, 3);
  EXPECT_EQ(s->dns.max_refresh, std::chrono::milliseconds(60000));
  EXPECT_EQ(s->dns.ports, (std::vector<std::string>{"http:8080"})) << "the default";

  auto d = load("discovery:\n  backend: dns\n");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->dns.name, "{service}");
  EXPECT_EQ(d->dns.resolv_conf, "/etc/resolv.conf");
  EXPECT_TRUE(d->dns.servers.empty());
}

TEST_F(DnsSettingsTest, RefusesWhatCannotWork) {
  EXPECT_NE(error_of("discovery:\n  dns: {servers: [dns.example]}\n").find("dns.servers"), std::string::npos);
  EXPECT_NE(error_of("discovery:\n  dns: {ports: [http]}\n").find("dns.ports"), std::string::npos);
  EXPECT_NE(error_of("discovery:\n  dns: {name: user-svc}\n").find("{service}"), std::string::npos);
  EXPECT_NE(error_of("discovery:\n  dns: {mode: mx}\n").find("address, srv"), std::string::npos);
  EXPECT_NE(error_of("discovery:\n  dns: {min_refresh: 10s, max_refresh: 5s}\n").find("min_refresh"),
            std::string::npos);
  EXPECT_NE(error_of("discovery:\n  dns: {mode: srv, srv_ports: []}\n").find("srv_ports"), std::string::npos);
  EXPECT_NE(error_of("discovery:\n  dns: {attempts: 0}\n").find("attempts"), std::string::npos);
}

}  // namespace
}  // namespace svckit::discovery::detail::dns
