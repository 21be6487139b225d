// svckit's HTTP client over TLS: against Python's ssl module (a server nobody here wrote) and against
// svckit's own TLS server with mutual TLS. Certificates are made per run by tests/http/make_certs.sh.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "svckit/config/config.hpp"
#include "svckit/http/client.hpp"
#include "svckit/http/server.hpp"
#include "svckit/http/settings.hpp"

using namespace std::chrono_literals;

namespace svckit::http {
namespace {

std::string source_dir() {
  const char* s = std::getenv("SVCKIT_SOURCE_DIR");
  return s ? s : ".";  // ctest sets it
}

// A child process whose first stdout line is its port; killed with the fixture.
struct Peer {
  pid_t pid = -1;
  int port = 0;
  bool start(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe(fds) != 0) return false;
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    FILE* f = ::fdopen(fds[0], "r");
    if (!f || std::fscanf(f, "%d", &port) != 1) port = 0;
    if (f) std::fclose(f);
    return port > 0;
  }
  ~Peer() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

class ClientTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::filesystem::temp_directory_path() / ("svckit-tls-" + std::to_string(::getpid())));
    std::string cmd = "bash " + source_dir() + "/tests/http/make_certs.sh " + *dir_;
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string cert(const std::string& name) { return *dir_ + "/" + name; }

  void start_python(bool require_client_cert) {
    std::vector<std::string> argv{"/usr/bin/python3", source_dir() + "/tests/http/tls_peer.py", cert("server.pem"),
                                  cert("server.key")};
    if (require_client_cert) argv.push_back(cert("ca.pem"));
    ASSERT_TRUE(peer_.start(argv));
  }
  std::string python_url(const std::string& host = "localhost") {
    return "https://" + host + ":" + std::to_string(peer_.port) + "/";
  }
  Result<ClientResponse> get(Client& client, const std::string& url) {
    return rt_.block_on(client.get(Context().with_timeout(5s), url));
  }

  static std::string* dir_;
  Runtime rt_{{.workers = 1}};
  Peer peer_;
};
std::string* ClientTlsTest::dir_ = nullptr;

TEST_F(ClientTlsTest, VerifiesThePythonServerAgainstTheCaAndReusesTheSession) {
  start_python(false);
  Client client(rt_, ClientOptions{.observe = false, .tls = {.ca_file = cert("ca.pem")}});
  auto res = get(client, python_url());
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("subject=-"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("sni=localhost"), std::string::npos) << res->body;  // SNI sent for a host name
  EXPECT_NE(res->body.find("timeout="), std::string::npos);
  EXPECT_EQ(res->body.find("timeout=-"), std::string::npos) << "the deadline travels over TLS: " << res->body;
  auto again = get(client, python_url());
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(client.stats().connections_opened, 1u);
  EXPECT_EQ(client.stats().connections_reused, 1u);
  // A new connection resumes the session of the first (Python's ssl issues TLS 1.3 tickets).
  auto closed = rt_.block_on(client.send(
      Context().with_timeout(5s), {.method = Method::kGet, .url = python_url(), .headers = {{"Connection", "close"}}}));
  ASSERT_TRUE(closed) << closed.error().to_string();
  auto resumed = rt_.block_on(client.get(Context().with_timeout(5s), python_url()));
  ASSERT_TRUE(resumed) << resumed.error().to_string();
  EXPECT_EQ(client.stats().tls_handshakes, 2u);
  EXPECT_EQ(client.stats().tls_resumed, 1u);
  // By IP address: the certificate's IP SAN is what is checked.
  auto by_ip = get(client, python_url("127.0.0.1"));
  ASSERT_TRUE(by_ip) << by_ip.error().to_string();
  EXPECT_EQ(client.stats().tls_resumed, 1u) << "a session is offered only to the host:port it came from";
}

TEST_F(ClientTlsTest, RefusesAWrongHostNameAndAnUntrustedCa) {
  start_python(false);
  Client wrong_name(
      rt_, ClientOptions{.observe = false, .tls = {.ca_file = cert("ca.pem"), .server_name = "wrong.example"}});
  auto res = get(wrong_name, python_url());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), Code::kUnavailable);
  EXPECT_NE(res.error().to_string().find("certificate verify failed"), std::string::npos) << res.error().to_string();
  // The system's bundle does not know the test CA.
  Client system_ca(rt_, ClientOptions{.observe = false});
  auto untrusted = get(system_ca, python_url());
  ASSERT_FALSE(untrusted);
  EXPECT_NE(untrusted.error().to_string().find("certificate verify failed"), std::string::npos);
  // Turning verification off is explicit, and then anything goes.
  Client unverified(rt_, ClientOptions{.observe = false, .tls = {.verify = false}});
  auto any = get(unverified, python_url());
  ASSERT_TRUE(any) << any.error().to_string();
  EXPECT_EQ(any->status, 200);
}

TEST_F(ClientTlsTest, PresentsItsClientCertificateToAServerThatRequiresOne) {
  start_python(true);
  Client anonymous(rt_, ClientOptions{.observe = false, .tls = {.ca_file = cert("ca.pem")}});
  EXPECT_FALSE(get(anonymous, python_url()));
  // Per host: only this upstream gets the client certificate.
  ClientOptions o{.observe = false};
  o.tls_hosts["localhost:" + std::to_string(peer_.port)] = {
      .ca_file = cert("ca.pem"), .cert_file = cert("client.pem"), .key_file = cert("client.key")};
  Client mtls(rt_, o);
  auto res = get(mtls, python_url());
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_NE(res->body.find("subject=orders"), std::string::npos) << res->body;
}

// The client certificate's files are looked at again (once a second at most): a failed load is
// tried again, and a rotated certificate is what the next connection presents.
TEST_F(ClientTlsTest, ClientCertificateFilesAreReadAgainWhenTheyChangeAndAfterAFailedLoad) {
  start_python(true);
  const std::string crt = *dir_ + "/rotating.pem", key = *dir_ + "/rotating.key";
  auto install = [&](const std::string& name) {
    std::filesystem::copy_file(cert(name + ".pem"), crt, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(cert(name + ".key"), key, std::filesystem::copy_options::overwrite_existing);
  };
  ClientOptions o{.observe = false};
  o.tls_hosts["localhost:" + std::to_string(peer_.port)] = {
      .ca_file = cert("ca.pem"), .cert_file = crt, .key_file = key};
  Client client(rt_, o);
  // Connection: close, so that each call opens (and handshakes) a connection of its own.
  auto call = [&] {
    return rt_.block_on(
        client.send(Context().with_timeout(5s),
                    {.method = Method::kGet, .url = python_url(), .headers = {{"Connection", "close"}}}));
  };
  auto missing = call();
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().to_string().find("rotating.pem"), std::string::npos) << missing.error().to_string();
  install("client");
  EXPECT_FALSE(call()) << "a failed load is tried again once a second at most, not on every call";
  std::this_thread::sleep_for(1100ms);
  auto loaded = call();
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_NE(loaded->body.find("subject=orders"), std::string::npos) << loaded->body;
  // Rotated to a certificate from a CA the server does not trust. The first handshake a second later
  // still uses the context in force and starts a look at the files in the background; the
  // connections after it present the new certificate.
  install("rogue");
  std::this_thread::sleep_for(1100ms);
  auto during = call();
  ASSERT_TRUE(during) << during.error().to_string();
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(call()) << "the rotated certificate was not read";
  // A rotation caught half-written (a certificate and a key that do not match) is not loaded: the
  // context in force stays, and the pair is read again a second later.
  std::filesystem::copy_file(cert("client.pem"), crt, std::filesystem::copy_options::overwrite_existing);
  std::this_thread::sleep_for(1100ms);
  EXPECT_FALSE(call());  // starts the look; the rogue context still serves
  std::this_thread::sleep_for(300ms);
  auto still = call();
  ASSERT_FALSE(still);
  EXPECT_EQ(still.error().code(), Code::kUnavailable)
      << "the rogue context's handshake failure, not a load error: " << still.error().to_string();
  std::filesystem::copy_file(cert("client.key"), key, std::filesystem::copy_options::overwrite_existing);
  std::this_thread::sleep_for(1100ms);
  (void)call();  // starts the look
  std::this_thread::sleep_for(300ms);
  auto back = call();
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(client.stats().connections_reused, 0u);
}

TEST_F(ClientTlsTest, MutualTlsBetweenSvckitClientAndServer) {
  Router router;
  router.get("/whoami", [](Request& req, Response& res) {
    const PeerCertificate* p = req.peer_certificate();
    res.text(200, p && !p->uris.empty() ? p->uris.front() : std::string("anonymous"));
  });
  router.get("/slow", [](Request& req, Response& res) -> Task<void> {
    Status st = co_await sleep_for(req.ctx, 2s);
    res.text(200, st.ok() ? "slept" : "cancelled");
  });
  ServerOptions so{.host = "127.0.0.1", .port = 0};
  so.tls = {.cert_file = cert("server.pem"),
            .key_file = cert("server.key"),
            .client_ca_file = cert("ca.pem"),
            .client_auth = "require"};
  Server server(rt_, router, so, log::Logger({.level = log::Level::kOff}));
  ASSERT_TRUE(server.start().ok());
  const std::string base = "https://localhost:" + std::to_string(server.port());
  ClientOptions co{.observe = false,
                   .tls = {.ca_file = cert("ca.pem"), .cert_file = cert("client.pem"), .key_file = cert("client.key")}};
  Client client(rt_, co);
  auto res = get(client, base + "/whoami");
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body, "spiffe://svckit.test/ns/gov/sa/orders");
  // A second connection resumes the first one's session (a TLS 1.3 ticket) and the server still
  // knows the client's certificate.
  auto closing = [&](Client& c, const std::string& url) {
    return rt_.block_on(
        c.send(Context().with_timeout(5s), {.method = Method::kGet, .url = url, .headers = {{"Connection", "close"}}}));
  };
  for (int i = 0; i < 3; ++i) {
    auto again = closing(client, base + "/whoami");
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_EQ(again->body, "spiffe://svckit.test/ns/gov/sa/orders") << "call " << i;
  }
  EXPECT_EQ(client.stats().tls_handshakes, 3u);
  EXPECT_EQ(client.stats().tls_resumed, 2u) << "the 2nd and 3rd connections resume a session";
  // A certificate from a CA the server does not trust: the handshake fails.
  Client rogue(
      rt_,
      ClientOptions{.observe = false,
                    .tls = {.ca_file = cert("ca.pem"), .cert_file = cert("rogue.pem"), .key_file = cert("rogue.key")}});
  auto refused = get(rogue, base + "/whoami");
  ASSERT_FALSE(refused);
  EXPECT_GE(server.stats().tls_handshake_failures, 1u);
  // The Context's deadline bounds a call over TLS as over plain HTTP.
  auto start = Clock::now();
  auto slow = rt_.block_on(client.get(Context().with_timeout(300ms), base + "/slow"));
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code(), Code::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, 1500ms);
  rt_.block_on(server.drain());
}

// The http.tls keys as a service's YAML gives them, bound as the App binds them.
TEST(TlsSettings, HttpTlsKeysBindAndValidate) {
  auto bind = [](const std::string& yaml) {
    auto layer = config::parse_yaml("http:\n  tls:\n" + yaml, "test.yaml");
    EXPECT_TRUE(layer) << layer.error().to_string();
    config::Snapshot snap;
    snap.values = *layer;
    return config::bind<ServerSettings>(snap, "http");
  };
  auto s = bind(
      "    {cert_file: /tls/tls.crt, key_file: /tls/tls.key, client_ca_file: /tls/ca.crt, client_auth: require,\n"
      "     min_version: '1.3', handshake_timeout: 3s, reload_interval: 0s}\n");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_TRUE(s->server.tls.enabled());
  EXPECT_EQ(s->server.tls.key_file, "/tls/tls.key");
  EXPECT_EQ(s->server.tls.client_auth, "require");
  EXPECT_EQ(s->server.tls.min_version, "1.3");
  EXPECT_EQ(s->server.tls.handshake_timeout, 3s);
  EXPECT_EQ(s->server.tls.reload_interval, 0s);
  EXPECT_FALSE(bind("    {client_auth: always}\n"));
  EXPECT_FALSE(bind("    {min_version: '1.1'}\n"));
  EXPECT_FALSE(bind("    {handshake_timeout: 1ms}\n"));
}

TEST(TlsSettings, BadFilesFailStartWithTheReason) {
  Runtime rt({.workers = 1});
  Router router;
  ServerOptions o{.host = "127.0.0.1", .port = 0};
  o.tls = {.cert_file = "/nonexistent/tls.crt", .key_file = "/nonexistent/tls.key"};
  Server server(rt, router, o, log::Logger({.level = log::Level::kOff}));
  Status st = server.start();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.to_string().find("/nonexistent/tls.crt"), std::string::npos) << st.to_string();
}

}  // namespace
}  // namespace svckit::http
