// TLS at the gateway: the public port terminates TLS for curl, and https:// upstreams are reached
// with the gateway's client certificate (mutual TLS to a svckit service that requires one).
#include <cstdio>
#include <cstdlib>

#include "detail/gateway_fixture.hpp"

namespace svckit::gateway::testing {
namespace {

std::string run(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

class GatewayTlsTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    const char* src = std::getenv("SVCKIT_SOURCE_DIR");
    certs_ = (dir_ / "certs").string();
    ASSERT_EQ(std::system(("bash " + std::string(src ? src : ".") + "/tests/http/make_certs.sh " + certs_).c_str()), 0);
    // The upstream requires a client certificate from the test CA and answers whom it saw.
    up_routers_[0].get("/who", [](http::Request& req, http::Response& res) {
      const http::PeerCertificate* p = req.peer_certificate();
      res.text(200, std::string(p && !p->uris.empty() ? p->uris.front() : "anonymous") +
                        " proto=" + std::string(req.header("X-Forwarded-Proto")));
    });
    up_port_ = start_upstream(up_routers_[0], {.cert_file = cert("server.pem"),
                                               .key_file = cert("server.key"),
                                               .client_ca_file = cert("ca.pem"),
                                               .client_auth = "require"});
    front_tls_ = {.cert_file = cert("server.pem"), .key_file = cert("server.key")};
  }
  std::string cert(const std::string& name) const { return certs_ + "/" + name; }
  std::string routes() const {
    return "routes: [{name: who, path: /who, upstream: ['https://localhost:" + std::to_string(up_port_) + "']}]";
  }
  // curl over TLS to the gateway's public port: "<status> <body>".
  std::string curl(const std::string& path) const {
    return run("curl -s -m 10 --cacert " + cert("ca.pem") +
               " -w ' %{http_code}' https://localhost:" + std::to_string(port_) + path);
  }
  std::string certs_;
  std::uint16_t up_port_ = 0;
};

TEST_F(GatewayTlsTest, TerminatesTlsAndCallsTheUpstreamWithItsClientCertificate) {
  GatewaySettings s;
  s.upstream_tls_hosts.push_back(
      {.address = "localhost:" + std::to_string(up_port_),
       .tls = {.ca_file = cert("ca.pem"), .cert_file = cert("client.pem"), .key_file = cert("client.key")}});
  start_gateway(routes(), s);
  EXPECT_EQ(curl("/who"), "spiffe://svckit.test/ns/gov/sa/orders proto=https 200");
  // Plain HTTP to the TLS port gets no answer.
  EXPECT_EQ(run("curl -s -m 5 http://127.0.0.1:" + std::to_string(port_) + "/who"), "");
}

TEST_F(GatewayTlsTest, WithoutAClientCertificateTheUpstreamRefusesTheGateway) {
  GatewaySettings s;
  s.upstream_tls = {.ca_file = cert("ca.pem")};  // trusts the upstream, presents nothing
  start_gateway(routes(), s);
  std::string out = curl("/who");
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(out.substr(out.size() - 3, 1), "5") << out;  // the gateway's own 502/503
  EXPECT_EQ(out.find("spiffe://"), std::string::npos) << out;
  EXPECT_GE(upstreams_.front()->stats().tls_handshake_failures, 1u);
}

TEST_F(GatewayTlsTest, AnUpstreamCertificateFromAnUntrustedCaIsRefused) {
  GatewaySettings s;
  s.upstream_tls = {.ca_file = cert("other-ca.pem"), .cert_file = cert("client.pem"), .key_file = cert("client.key")};
  start_gateway(routes(), s);
  std::string out = curl("/who");
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(out.substr(out.size() - 3, 1), "5") << out;
}

// The keys as a gateway's YAML gives them, bound as the App binds them.
TEST(GatewayTlsSettings, UpstreamTlsKeysBind) {
  auto layer = config::parse_yaml(
      "gateway:\n"
      "  upstream_tls: {ca_file: /etc/gov/ca.pem}\n"
      "  upstream_tls_hosts:\n"
      "    - {address: 'orders.gov.svc:8443', ca_file: /etc/gov/mesh-ca.pem, cert_file: /etc/gov/gw.pem,\n"
      "       key_file: /etc/gov/gw.key, server_name: orders.gov.svc}\n",
      "gateway.yaml");
  ASSERT_TRUE(layer) << layer.error().to_string();
  config::Snapshot snap;
  snap.values = *layer;
  auto s = config::bind<GatewaySettings>(snap, "gateway");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->upstream_tls.ca_file, "/etc/gov/ca.pem");
  EXPECT_TRUE(s->upstream_tls.verify);
  ASSERT_EQ(s->upstream_tls_hosts.size(), 1u);
  EXPECT_EQ(s->upstream_tls_hosts[0].address, "orders.gov.svc:8443");
  EXPECT_EQ(s->upstream_tls_hosts[0].tls.cert_file, "/etc/gov/gw.pem");
  EXPECT_EQ(s->upstream_tls_hosts[0].tls.server_name, "orders.gov.svc");
  snap.values = *config::parse_yaml("gateway:\n  upstream_tls: {min_version: '1.1'}\n", "bad.yaml");
  EXPECT_FALSE(config::bind<GatewaySettings>(snap, "gateway"));
}

}  // namespace
}  // namespace svckit::gateway::testing
