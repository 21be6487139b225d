// {{name_snake}}'s settings as the service applies them: an edit of services/{{name}}.yaml reaches the
// live value through config::Config::on_change; an edit that does not validate is refused and the
// value stays. (tests/integration_test.sh does the same through the running service and its watcher.)
#include "{{name}}/settings.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <svckit/config/config.hpp>

namespace {{name_snake}} {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::path tmp = p;
  tmp += ".new";
  std::ofstream(tmp) << text;
  fs::rename(tmp, p);  // as editors save: the watcher never sees half a file
}

TEST(SettingsTest, AnEditAppliesLiveAndABrokenEditIsRefused) {
  fs::path root = fs::temp_directory_path() / ("{{name}}-settings-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  fs::copy({{NAME}}_SOURCE_DIR "/configs", root / "configs", fs::copy_options::recursive);
  fs::path own = root / "configs" / "services" / "{{name}}.yaml";

  svckit::config::ConfigOptions options;
  options.dir = (root / "configs").string();
  options.env = "test";
  options.service = "{{name}}";
  svckit::config::Config cfg(options);
  cfg.define<Settings>("{{name_snake}}");
  ASSERT_TRUE(cfg.load().ok());
  Live<Settings> live(*cfg.get<Settings>("{{name_snake}}"));
  EXPECT_EQ(live.get()->greeting, "Hello from {{name}}");
  auto subscription = cfg.on_change<Settings>("{{name_snake}}", [&live](const Settings& s) { live.set(s); });

  write(own, "{{name_snake}}:\n  greeting: Hi there\n  page_size: 5\n");
  ASSERT_TRUE(cfg.reload().ok());
  EXPECT_EQ(live.get()->greeting, "Hi there");
  EXPECT_EQ(live.get()->page_size, 5);

  write(own, "{{name_snake}}:\n  greeting: Broken\n  page_size: 0\n");  // out of range: refused whole
  svckit::Status refused = cfg.reload();
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.message()).find("page_size"), std::string::npos) << refused.message();
  EXPECT_EQ(live.get()->greeting, "Hi there");
  EXPECT_EQ(live.get()->page_size, 5);
  fs::remove_all(root);
}

}  // namespace
}  // namespace {{name_snake}}
