#include "svckit/config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace svckit::config {
namespace {

struct PoolConfig {
  int max_connections = 10;
  std::chrono::milliseconds idle_timeout{30000};
  static void describe(Binder<PoolConfig>& b) {
    b.field("max_connections", &PoolConfig::max_connections).range(1, 1000);
    b.field("idle_timeout", &PoolConfig::idle_timeout);
  }
};

struct DbConfig {
  std::string driver = "sqlite";
  std::string host = "localhost";
  int port = 5432;
  std::string password;
  std::chrono::milliseconds timeout{250};
  ByteSize max_row = 4_MiB;
  bool tls = false;
  double ratio = 0.5;
  std::vector<std::string> replicas;
  PoolConfig pool;
  static void describe(Binder<DbConfig>& b) {
    b.field("driver", &DbConfig::driver).one_of({"sqlite", "postgres"});
    b.field("host", &DbConfig::host).non_empty();
    b.field("port", &DbConfig::port).range(1, 65535);
    b.field("password", &DbConfig::password);
    b.field("timeout", &DbConfig::timeout).range(1ms, 1min);
    b.field("max_row", &DbConfig::max_row).range(1_KiB, 1_GiB);
    b.field("tls", &DbConfig::tls);
    b.field("ratio", &DbConfig::ratio).range(0.0, 1.0);
    b.field("replicas", &DbConfig::replicas);
    b.section("pool", &DbConfig::pool);
    b.validate([](const DbConfig& c) {
      return c.driver == "postgres" && c.tls && c.host == "localhost"
                 ? Status(Code::kInvalidArgument, "tls needs a real host name")
                 : Status();
    });
  }
};

struct AppConfig {
  std::string name;
  std::string api_key;
  static void describe(Binder<AppConfig>& b) {
    b.field("name", &AppConfig::name).required();
    b.field("api_key", &AppConfig::api_key);
  }
};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("svckit-config-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "dev");
    fs::create_directories(dir_ / "prod");
  }
  void TearDown() override {
    for (auto& v : env_set_) ::unsetenv(v.c_str());
    fs::remove_all(dir_);
  }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  // Like an editor that saves safely: write a temp file, then rename it over the original.
  void write_by_rename(const std::string& rel, const std::string& text) {
    auto tmp = dir_ / (rel + ".swp~");
    std::ofstream(tmp) << text;
    fs::rename(tmp, dir_ / rel);
  }
  void setenv(const std::string& k, const std::string& v) {
    ::setenv(k.c_str(), v.c_str(), 1);
    env_set_.push_back(k);
  }
  ConfigOptions opts(std::string env = "dev") {
    ConfigOptions o;
    o.dir = dir_.string();
    o.env = std::move(env);
    o.debounce = 50ms;
    return o;
  }

  fs::path dir_;
  std::vector<std::string> env_set_;
};

TEST_F(ConfigTest, DefaultsComeFromTheStruct) {
  Config cfg(opts());
  cfg.define<DbConfig>("db");
  ASSERT_TRUE(cfg.load().ok());
  auto db = cfg.get<DbConfig>("db");
  ASSERT_TRUE(db) << db.error().to_string();
  EXPECT_EQ(db->port, 5432);
  EXPECT_EQ(db->max_row.bytes, 4u << 20);
  EXPECT_EQ(db->pool.max_connections, 10);
  EXPECT_EQ(cfg.snapshot()->find("db.timeout")->value, "250ms");
  EXPECT_EQ(cfg.snapshot()->find("db.timeout")->origin.source, "default");
}

TEST_F(ConfigTest, PrecedenceDefaultsBaseEnvFileEnvVarFlag) {
  write("base.yaml",
        "db:\n  host: base-host\n  port: 1111\n  timeout: 1s\n  ratio: 0.1\n  pool:\n    max_connections: 20\n");
  write("dev/db.yaml", "db:\n  port: 2222\n  timeout: 2s\n");
  write("dev/zz.json", "{\"db\": {\"timeout\": \"3s\", \"replicas\": [\"r1\", \"r2\"]}}");
  write("prod/db.yaml", "db:\n  port: 9999\n");
  setenv("SVCKIT_DB_TIMEOUT", "4s");
  setenv("SVCKIT_DB_POOL_MAX_CONNECTIONS", "30");
  auto o = opts();
  o.sets = {"db.ratio=0.9"};
  Config cfg(o);
  cfg.define<DbConfig>("db");
  auto st = cfg.load();
  ASSERT_TRUE(st.ok()) << st.to_string();
  auto db = *cfg.get<DbConfig>("db");
  EXPECT_EQ(db.host, "base-host");                                 // base only
  EXPECT_EQ(db.port, 2222);                                        // env folder beats base; prod folder not read
  EXPECT_EQ(db.timeout, 4s);                                       // env var beats files
  EXPECT_EQ(db.ratio, 0.9);                                        // flag beats everything
  EXPECT_EQ(db.pool.max_connections, 30);                          // nested key via env var
  EXPECT_EQ(db.replicas, (std::vector<std::string>{"r1", "r2"}));  // JSON file
  EXPECT_EQ(db.driver, "sqlite");                                  // default
  auto snap = cfg.snapshot();
  EXPECT_EQ(snap->find("db.port")->origin.to_string(), (dir_ / "dev/db.yaml").string() + ":2");
  EXPECT_EQ(snap->find("db.timeout")->origin.source, "env SVCKIT_DB_TIMEOUT");
  EXPECT_EQ(snap->find("db.ratio")->origin.source, "flag --set");
}

TEST_F(ConfigTest, AServiceFileSitsBetweenBaseAndTheEnvironment) {
  fs::create_directories(dir_ / "services");
  write("base.yaml", "db:\n  host: base-host\n  port: 1111\n  driver: sqlite\n");
  write("services/auth-svc.yaml", "db:\n  host: auth-host\n  port: 3333\n");
  write("services/other-svc.yaml", "db:\n  host: other-host\n");
  write("dev/db.yaml", "db:\n  port: 2222\n");
  auto o = opts();
  o.service = "auth-svc";
  Config cfg(o);
  cfg.define<DbConfig>("db");
  ASSERT_TRUE(cfg.load().ok());
  auto db = *cfg.get<DbConfig>("db");
  EXPECT_EQ(db.host, "auth-host");  // its own file beats base; another service's file is not read
  EXPECT_EQ(db.port, 2222);         // the environment beats the service file
  EXPECT_EQ(cfg.snapshot()->find("db.host")->origin.to_string(), (dir_ / "services/auth-svc.yaml").string() + ":2");
  // Without a service name (or for a service with no file) only base and the environment count.
  Config plain(opts());
  plain.define<DbConfig>("db");
  ASSERT_TRUE(plain.load().ok());
  EXPECT_EQ(plain.get<DbConfig>("db")->host, "base-host");
}

TEST_F(ConfigTest, EnvironmentVariableSelectsTheProfile) {
  write("prod/db.yaml", "db:\n  port: 9999\n");
  setenv("SVCKIT_ENV", "prod");
  auto o = opts("");
  Config cfg(o);
  cfg.define<DbConfig>("db");
  ASSERT_TRUE(cfg.load().ok());
  EXPECT_EQ(cfg.env(), "prod");
  EXPECT_EQ(cfg.get<DbConfig>("db")->port, 9999);
  // A profile with no folder is a typo, not an empty profile.
  Config typo(opts("prdo"));
  typo.define<DbConfig>("db");
  auto st = typo.load();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("prdo"), std::string_view::npos);
}

// Runs fn with the working directory at `dir`, then restores it.
template <class F>
void in_directory(const fs::path& dir, F fn) {
  auto before = fs::current_path();
  fs::current_path(dir);
  fn();
  fs::current_path(before);
}

TEST_F(ConfigTest, TheWorkingDirectoryDoesNotSilentlyDecideTheConfiguration) {
  write("base.yaml", "db:\n  port: 7000\n");
  // Started from a folder with no configs/ (and none beside the test binary): an error naming what
  // was searched, never a silent run on defaults.
  fs::create_directories(dir_ / "elsewhere");
  in_directory(dir_ / "elsewhere", [&] {
    Config cfg(ConfigOptions{});
    cfg.define<DbConfig>("db");
    Status st = cfg.load();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kNotFound);
    EXPECT_NE(st.message().find((dir_ / "elsewhere" / "configs").string()), std::string_view::npos) << st.message();
    EXPECT_NE(st.message().find("--config-dir"), std::string_view::npos) << st.message();
  });
  // $SVCKIT_CONFIG_DIR names the folder from anywhere.
  setenv("SVCKIT_CONFIG_DIR", dir_.string());
  in_directory(dir_ / "elsewhere", [&] {
    Config cfg(ConfigOptions{});
    cfg.define<DbConfig>("db");
    ASSERT_TRUE(cfg.load().ok());
    EXPECT_EQ(cfg.get<DbConfig>("db")->port, 7000);
    EXPECT_EQ(fs::path(cfg.dir()), fs::canonical(dir_));
  });
  // A folder named explicitly must exist.
  ConfigOptions missing;
  missing.dir = (dir_ / "nope").string();
  Config cfg(missing);
  cfg.define<DbConfig>("db");
  Status st = cfg.load();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("nope\" (--config-dir) does not exist"), std::string_view::npos) << st.message();
}

TEST_F(ConfigTest, ConfigsInTheWorkingDirectoryAreFoundAndNoneRunsOnDefaults) {
  fs::create_directories(dir_ / "svc" / "configs");
  std::ofstream(dir_ / "svc" / "configs" / "base.yaml") << "db:\n  port: 7100\n";
  in_directory(dir_ / "svc", [&] {
    Config cfg(ConfigOptions{});
    cfg.define<DbConfig>("db");
    ASSERT_TRUE(cfg.load().ok());
    EXPECT_EQ(cfg.get<DbConfig>("db")->port, 7100);
    // Relative paths resolve against the service's root (the folder holding configs/), not the
    // working directory.
    EXPECT_EQ(cfg.resolve("internal/svc/migrations"),
              (fs::canonical(dir_ / "svc") / "internal/svc/migrations").string());
    EXPECT_EQ(cfg.resolve("/abs/path"), "/abs/path");
  });
  ConfigOptions none;
  none.dir = "none";
  Config defaults(none);
  defaults.define<DbConfig>("db");
  ASSERT_TRUE(defaults.load().ok());
  EXPECT_EQ(defaults.dir(), "");
  EXPECT_EQ(defaults.get<DbConfig>("db")->port, DbConfig{}.port);
  // An environment asked for by name with no folder to hold it is an error.
  none.env = "prod";
  Config prod(none);
  prod.define<DbConfig>("db");
  Status st = prod.load();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("\"prod\" (--env) needs a configuration folder"), std::string_view::npos) << st.message();
}

TEST_F(ConfigTest, ValidationErrorsNameKeySourceAndLine) {
  write("base.yaml",
        "db:\n"
        "  driver: mysql\n"
        "  port: abc\n"
        "  timeout: 10\n"
        "  max_row: 5 parsecs\n"
        "  prot: 1\n"
        "  pool:\n"
        "    max_connections: 0\n");
  Config cfg(opts());
  cfg.define<DbConfig>("db");
  cfg.define<AppConfig>("app");
  Status st = cfg.load();
  ASSERT_FALSE(st.ok());
  std::string m(st.message());
  std::string base = (dir_ / "base.yaml").string();
  EXPECT_NE(m.find("db.driver: \"mysql\" is not one of: sqlite, postgres (" + base + ":2)"), std::string::npos) << m;
  EXPECT_NE(m.find("db.port: \"abc\" is not an integer (" + base + ":3)"), std::string::npos) << m;
  EXPECT_NE(m.find("db.timeout: invalid duration \"10\": missing unit"), std::string::npos) << m;
  EXPECT_NE(m.find("db.max_row: invalid size \"5 parsecs\""), std::string::npos) << m;
  EXPECT_NE(m.find("db.prot: unknown key (" + base + ":6)"), std::string::npos) << m;
  EXPECT_NE(m.find("db.pool.max_connections: 0 is outside [1, 1000] (" + base + ":8)"), std::string::npos) << m;
  EXPECT_NE(m.find("app.name: required but not set"), std::string::npos) << m;
  EXPECT_EQ(st.reason(), "CONFIG_INVALID");
}

TEST_F(ConfigTest, SyntaxErrorNamesFileLineAndColumn) {
  write("base.yaml", "db:\n  host: [unclosed\n  port: 1\n");
  Config cfg(opts());
  cfg.define<DbConfig>("db");
  Status st = cfg.load();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find((dir_ / "base.yaml").string() + ":"), std::string_view::npos) << st.message();
}

TEST_F(ConfigTest, CrossFieldRule) {
  write("base.yaml", "db:\n  driver: postgres\n  tls: true\n");
  Config cfg(opts());
  cfg.define<DbConfig>("db");
  Status st = cfg.load();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("db: tls needs a real host name"), std::string_view::npos) << st.message();
}

struct LinksConfig {
  std::string dsn;
  std::string url;
  static void describe(Binder<LinksConfig>& b) {
    b.field("dsn", &LinksConfig::dsn);
    b.field("url", &LinksConfig::url);
  }
};

TEST_F(ConfigTest, CredentialsInsideDsnsAndUrlsAreRedactedWhenPrinted) {
  write("base.yaml",
        "links:\n  dsn: host=db port=5432 user=app password=hunter2 dbname=users\n"
        "  url: postgresql://app:swordfish@db:5432/users\n");
  Config cfg(opts());
  cfg.define<LinksConfig>("links");
  ASSERT_TRUE(cfg.load().ok());
  EXPECT_EQ(cfg.get<LinksConfig>("links")->dsn, "host=db port=5432 user=app password=hunter2 dbname=users");
  std::string printed = cfg.print();
  EXPECT_EQ(printed.find("hunter2"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("swordfish"), std::string::npos) << printed;
  EXPECT_NE(printed.find("links.dsn = host=db port=5432 user=app password=<redacted> dbname=users"), std::string::npos)
      << printed;
  EXPECT_NE(printed.find("links.url = postgresql://app:<redacted>@db:5432/users"), std::string::npos) << printed;
  EXPECT_NE(cfg.print(false).find("hunter2"), std::string::npos);
}

TEST_F(ConfigTest, SecretsFromFilesAndRedaction) {
  write("db-password.txt", "s3cr3t\n");
  write("base.yaml",
        "app:\n  name: users\n  api_key: abc123\ndb:\n  password_file: " + (dir_ / "db-password.txt").string() + "\n");
  Config cfg(opts());
  cfg.define<DbConfig>("db");
  cfg.define<AppConfig>("app");
  ASSERT_TRUE(cfg.load().ok());
  EXPECT_EQ(cfg.get<DbConfig>("db")->password, "s3cr3t");
  std::string printed = cfg.print();
  EXPECT_EQ(printed.find("s3cr3t"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("abc123"), std::string::npos) << printed;
  EXPECT_NE(printed.find("db.password = <redacted>"), std::string::npos) << printed;
  EXPECT_NE(printed.find("app.api_key = <redacted>"), std::string::npos) << printed;
  EXPECT_NE(printed.find("app.name = users"), std::string::npos) << printed;
  EXPECT_NE(printed.find("# default"), std::string::npos);
  EXPECT_NE(cfg.print(false).find("s3cr3t"), std::string::npos);

  // The same from the environment: SVCKIT_DB_PASSWORD_FILE (a Pod's env naming a mounted Secret).
  write("env-password.txt", "from-env\n");
  write("base.yaml", "app:\n  name: users\n");
  setenv("SVCKIT_DB_PASSWORD_FILE", (dir_ / "env-password.txt").string());
  Config from_env(opts());
  from_env.define<DbConfig>("db");
  from_env.define<AppConfig>("app");
  ASSERT_TRUE(from_env.load().ok());
  EXPECT_EQ(from_env.get<DbConfig>("db")->password, "from-env");
  EXPECT_NE(from_env.print().find("db.password = <redacted>"), std::string::npos);
  ::unsetenv("SVCKIT_DB_PASSWORD_FILE");

  write("base.yaml", "app:\n  name: x\ndb:\n  password_file: /nonexistent/secret\n");
  Config bad(opts());
  bad.define<DbConfig>("db");
  bad.define<AppConfig>("app");
  Status st = bad.load();
  EXPECT_NE(st.message().find("db.password_file: cannot read \"/nonexistent/secret\""), std::string_view::npos)
      << st.message();
}

TEST_F(ConfigTest, HotReloadAppliesGoodEditsAndKeepsOldOnBadOnes) {
  write("base.yaml", "db:\n  port: 1000\n");
  write("dev/db.yaml", "db:\n  host: a\n");
  Config cfg(opts());
  cfg.define<DbConfig>("db");
  ASSERT_TRUE(cfg.load().ok());

  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> ports;
  int other_calls = 0;
  auto sub = cfg.on_change<DbConfig>("db", [&](const DbConfig& c) {
    std::lock_guard lock(mu);
    ports.push_back(c.port);
    cv.notify_all();
  });
  auto other = cfg.subscribe("http", [&](const Snapshot&) { other_calls++; });
  std::vector<ReloadEvent> events;  // what the App would log
  cfg.on_reload([&](const ReloadEvent& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  ASSERT_TRUE(cfg.watch().ok());
  auto wait_for = [&](std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return ports.size() >= n; });
  };
  auto wait_reloads = [&](std::uint64_t done) {
    for (int i = 0; i < 400 && cfg.reloads() + cfg.reload_failures() < done; ++i) std::this_thread::sleep_for(25ms);
  };

  // 1. A plain write.
  write("base.yaml", "db:\n  port: 2000\n");
  ASSERT_TRUE(wait_for(1));
  EXPECT_EQ(cfg.get<DbConfig>("db")->port, 2000);

  // 2. A broken save: old config kept, failure counted.
  write_by_rename("base.yaml", "db:\n  port: [\n");
  wait_reloads(2);
  EXPECT_EQ(cfg.reload_failures(), 1u);
  EXPECT_EQ(cfg.get<DbConfig>("db")->port, 2000);
  // 3. An invalid value: also kept.
  write_by_rename("base.yaml", "db:\n  port: 70000\n");
  wait_reloads(3);
  EXPECT_EQ(cfg.reload_failures(), 2u);
  EXPECT_EQ(cfg.get<DbConfig>("db")->port, 2000);
  {
    std::lock_guard lock(mu);
    ASSERT_FALSE(events.empty());
    EXPECT_TRUE(events[0].error.ok());
    EXPECT_EQ(events[0].changed_keys, 1u);
    std::vector<ReloadEvent> rejected;
    for (auto& e : events)
      if (!e.error.ok()) rejected.push_back(e);
    ASSERT_EQ(rejected.size(), 2u);
    EXPECT_EQ(rejected[1].failures, 2u);
    EXPECT_NE(rejected[1].error.message().find("db.port"), std::string_view::npos) << rejected[1].error.message();
  }

  // 4. The next good save, by rename in the env folder, applies.
  write_by_rename("dev/db.yaml", "db:\n  host: b\n  port: 3000\n");
  ASSERT_TRUE(wait_for(2));
  EXPECT_EQ(cfg.get<DbConfig>("db")->port, 3000);
  EXPECT_EQ(cfg.get<DbConfig>("db")->host, "b");

  // 5. A burst of writes is debounced into few reloads, and the last one wins.
  auto before = cfg.reloads();
  for (int p = 4001; p <= 4010; ++p) write("base.yaml", "db:\n  port: " + std::to_string(p) + "\n");
  for (int i = 0; i < 400 && cfg.get<DbConfig>("db")->port != 3000; ++i) std::this_thread::sleep_for(25ms);
  // dev/db.yaml still says 3000 and wins over base: the burst changes nothing visible.
  write_by_rename("dev/db.yaml", "db:\n  host: b\n");
  for (int i = 0; i < 400 && cfg.get<DbConfig>("db")->port != 4010; ++i) std::this_thread::sleep_for(25ms);
  EXPECT_EQ(cfg.get<DbConfig>("db")->port, 4010);
  EXPECT_LT(cfg.reloads() - before, 11u);
  EXPECT_EQ(other_calls, 0);  // nothing under http changed
}

TEST_F(ConfigTest, HotReloadWatchesTheServicesOwnFile) {
  std::filesystem::create_directories(dir_ / "services");
  write("services/users.yaml", "db:\n  port: 1000\n");
  auto o = opts();
  o.service = "users";
  Config cfg(o);
  cfg.define<DbConfig>("db");
  ASSERT_TRUE(cfg.load().ok());
  ASSERT_TRUE(cfg.watch().ok());
  write_by_rename("services/users.yaml", "db:\n  port: 2000\n");
  for (int i = 0; i < 400 && cfg.get<DbConfig>("db")->port != 2000; ++i) std::this_thread::sleep_for(25ms);
  EXPECT_EQ(cfg.get<DbConfig>("db")->port, 2000);
  write_by_rename("services/users.yaml", "db:\n  port: 70000\n");  // invalid: refused, the old value kept
  for (int i = 0; i < 400 && cfg.reload_failures() == 0; ++i) std::this_thread::sleep_for(25ms);
  EXPECT_EQ(cfg.reload_failures(), 1u);
  EXPECT_EQ(cfg.get<DbConfig>("db")->port, 2000);
}

TEST_F(ConfigTest, SubscriptionMayOutliveTheConfig) {
  Config::Subscription sub;
  {
    Config cfg(opts());
    cfg.define<DbConfig>("db");
    ASSERT_TRUE(cfg.load().ok());
    sub = cfg.subscribe("db", [](const Snapshot&) {});
  }
  sub.reset();  // must not touch the destroyed Config (ASan would report it)
  SUCCEED();
}

TEST(CommandLineTest, ParsesFlags) {
  const char* argv[] = {"svc",   "--set", "db.port=1",           "--set=http.port=2",
                        "--env", "prod",  "--config-dir=/etc/x", "--print-config"};
  auto cl = parse_command_line(8, argv);
  ASSERT_TRUE(cl) << cl.error().to_string();
  EXPECT_EQ(cl->options.sets, (std::vector<std::string>{"db.port=1", "http.port=2"}));
  EXPECT_EQ(cl->options.env, "prod");
  EXPECT_EQ(cl->options.dir, "/etc/x");
  EXPECT_TRUE(cl->print_config);
  const char* bad1[] = {"svc", "--bogus"};
  EXPECT_FALSE(parse_command_line(2, bad1));
  const char* bad2[] = {"svc", "--set", "novalue"};
  EXPECT_FALSE(parse_command_line(3, bad2));
  const char* bad3[] = {"svc", "--set"};
  EXPECT_FALSE(parse_command_line(2, bad3));
}

// Found by the config fuzzer: an alias inside its own anchor made flattening recurse until the stack
// overflowed; nested aliases that multiply are refused too instead of expanding into billions of keys.
TEST(YamlTest, RecursiveAndExpandingAliasesAreErrors) {
  auto self = parse_yaml("svc: &a\n  host: *a\n", "self.yaml");
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message().find("self.yaml"), std::string::npos);
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    laughs += std::string(1, c) + ": &" + c + " [*" + prev;
    for (int i = 0; i < 9; ++i) laughs += ", *" + prev;
    laughs += "]\n";
  }
  EXPECT_FALSE(parse_yaml(laughs, "laughs.yaml"));
  std::string deep = "a:";
  for (int i = 0; i < 40; ++i) deep += " [";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "]";
  auto ok = parse_yaml(deep + "\n", "deep.yaml");  // deep but finite documents still load
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->size(), 1u);
}

TEST(UnitsTest, DurationsAndSizes) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("1h30m"), 90min);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_duration("100us"), 100us);
  EXPECT_EQ(*parse_duration("0"), 0s);
  EXPECT_FALSE(parse_duration("10"));
  EXPECT_FALSE(parse_duration("5 fortnights"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(parse_size("4MiB")->bytes, 4u << 20);
  EXPECT_EQ(parse_size("512KB")->bytes, 512000u);
  EXPECT_EQ(parse_size("1.5KiB")->bytes, 1536u);
  EXPECT_EQ(parse_size("100")->bytes, 100u);
  EXPECT_FALSE(parse_size("0.5B"));
  EXPECT_FALSE(parse_size("lots"));
  EXPECT_EQ(format_size(4_MiB), "4MiB");
  EXPECT_EQ(format_size(ByteSize(1000)), "1000");
}

}  // namespace
}  // namespace svckit::config
