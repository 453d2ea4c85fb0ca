#include "vsd/config.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "tests/support/process.h"

namespace gsvs::vsd {
namespace {

const std::string kKey(64, 'a');

// Parses a config file the way `vsd run --config` does, then validates it.
Status load(const std::string& text, Config& config) {
  testing::TempDir dir;
  testing::write_text(dir.file("vsd.toml"), text);
  CLI::App app;
  app.set_config("--config");
  add_config_options(app, config);
  try {
    app.parse(std::vector<std::string>{dir.file("vsd.toml"), "--config"});
  } catch (const CLI::ParseError& e) {
    return Error{e.what()};
  }
  return validate(config);
}

TEST(VsdConfig, ReadsEveryKindOfKey) {
  Config c;
  Status s = load("listen = \"127.0.0.1:9000\"\nallowed_gs = [\"" + kKey + "\"]\n" +
                      "allowed_builds = [\"" + kKey + "\", \"" + std::string(64, 'b') + "\"]\n" +
                      "ticket_period_ms = 250\nmax_speed_m_s = 9.5\n",
                  c);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.ticket_period_ms, 250u);
  EXPECT_DOUBLE_EQ(c.max_speed_m_s, 9.5);
  EXPECT_EQ(c.allowed_build_hashes.size(), 2u);
}

TEST(VsdConfig, BadValuesNameTheKey) {
  const std::string allow =
      "allowed_gs = [\"" + kKey + "\"]\nallowed_builds = [\"" + kKey + "\"]\n";
  const std::pair<std::string, std::string> cases[] = {
      {allow + "listen = \"nowhere\"\n", "listen"},
      {allow + "ticket_period_ms = 2\n", "ticket_period_ms"},
      {allow + "ticket_period_ms = 3000\nticket_validity_ms = 1000\n", "ticket_validity_ms"},
      {allow + "heartbeat_interval_ms = 900\nheartbeat_timeout_ms = 800\n", "heartbeat_timeout_ms"},
      {allow + "log_level = \"loud\"\n", "log_level"},
      {"allowed_builds = [\"" + kKey + "\"]\n", "allowed_gs"},
      {"allowed_gs = [\"xyz\"]\nallowed_builds = [\"" + kKey + "\"]\n", "allowed_gs"},
      {allow + "no_such_key = 1\n", "no_such_key"},
  };
  for (const auto& [text, key] : cases) {
    Config c;
    Status s = load(text, c);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.error().find(key), std::string::npos) << s.error();
  }
}

}  // namespace
}  // namespace gsvs::vsd
