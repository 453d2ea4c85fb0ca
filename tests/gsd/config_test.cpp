#include "gsd/config.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <vector>

#include "app/config_file.h"
#include "protocol/keyfile.h"
#include "tests/support/process.h"

namespace gsvs::gsd {
namespace {

const std::string kVsKey(64, 'a');

// Parses a config file the way `gsd run --config` does, then validates it.
Status load(const std::string& text, Config& config) {
  testing::TempDir dir;
  testing::write_text(dir.file("gsd.toml"), text);
  CLI::App app;
  app::add_config_file_option(app);
  add_config_options(app, config);
  try {
    app.parse(std::vector<std::string>{dir.file("gsd.toml"), "--config"});  // last first
  } catch (const CLI::ParseError& e) {
    return Error{e.what()};
  }
  return validate(config);
}

TEST(GsdConfig, ReadsEveryKey) {
  Config c;
  Status s = load("vs = \"10.0.0.1:7700\"\nvs_public_key = \"" + kVsKey +
                      "\"\nkey = \"id.key\"\nlisten = \"0.0.0.0:0\"\nstore = \"g.db\"\n"
                      "tick_rate_hz = 30\nmax_players = 8\nworld_width_m = 250.5\n"
                      "world_height_m = 40\nmax_speed_m_s = 5.5\ndigest_interval_ms = 250\n"
                      "input_grace_ms = 300\nhandshake_timeout_ms = 1000\n"
                      "reconnect_backoff_min_ms = 50\nreconnect_backoff_max_ms = 5000\n"
                      "max_frame_bytes = 4096\nlog_level = \"debug\"\n",
                  c);
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(c.vs_nodes.size(), 1u);
  EXPECT_EQ(c.vs_nodes[0].host, "10.0.0.1");
  EXPECT_EQ(c.vs_nodes[0].port, 7700);
  EXPECT_EQ(c.vs_keys, std::vector<crypto::PublicKey>{*fixed_from_hex<32>(kVsKey)});
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.tick_rate_hz, 30u);
  EXPECT_EQ(c.max_players, 8u);
  EXPECT_DOUBLE_EQ(c.world_width_m, 250.5);
  EXPECT_DOUBLE_EQ(c.max_speed_m_s, 5.5);
  EXPECT_EQ(c.digest_interval_ms, 250u);
  EXPECT_EQ(c.reconnect_backoff_max_ms, 5000u);
  EXPECT_EQ(c.log_level, "debug");
}

TEST(GsdConfig, VsPublicKeyMayBeAFile) {
  testing::TempDir dir;
  auto key = crypto::SecretKey::generate();
  ASSERT_TRUE(keyfile::write_key_pair(dir.file("vs.key"), key).ok());
  Config c;
  Status s = load("vs_public_key = \"" + dir.file("vs.key.pub") + "\"\n", c);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(c.vs_keys, std::vector<crypto::PublicKey>{key.public_key()});
}

// A fleet's key set (docs/OPERATIONS.md "Running a fleet"): inline, or a file of one key a line.
TEST(GsdConfig, VsPublicKeyMayBeAFleetsKeySet) {
  testing::TempDir dir;
  const auto a = crypto::SecretKey::generate().public_key();
  const auto b = crypto::SecretKey::generate().public_key();
  const std::vector<crypto::PublicKey> both{a, b};
  Config inline_set;
  ASSERT_TRUE(load("vs_public_key = \"" + to_hex(a) + "," + to_hex(b) + "\"\n", inline_set));
  EXPECT_EQ(inline_set.vs_keys, both);
  const std::string file = dir.file("fleet.keys");
  {
    std::ofstream out(file);
    out << "# the fleet's nodes\n" << to_hex(a) << "  # node_a\n\n  " << to_hex(b) << "\n";
  }
  Config from_file;
  ASSERT_TRUE(load("vs_public_key = \"" + file + "\"\n", from_file));
  EXPECT_EQ(from_file.vs_keys, both);
  const struct {
    std::string value;
    const char* error;
  } refused[] = {
      {to_hex(a) + "," + to_hex(a), "listed twice"},
      {to_hex(a) + ",12", "key 2: not a public key"},
      {dir.file("absent"), "neither 64 hex characters"},
  };
  for (const auto& c : refused) {
    Config config;
    Status s = load("vs_public_key = \"" + c.value + "\"\n", config);
    ASSERT_FALSE(s.ok()) << c.value;
    EXPECT_NE(s.error().find(c.error), std::string::npos) << s.error();
  }
}

// A fleet's nodes (docs/OPERATIONS.md "Running a fleet"): `vs` lists them, in the order a resume
// tries them after the session's own.
TEST(GsdConfig, VsMayListAFleetsNodes) {
  const std::string vs_key = "vs_public_key = \"" + kVsKey + "\"\n";
  Config c;
  Status s = load(vs_key + "vs = \"10.0.0.1:7700, vs-b.example:7701,[::1]:7700\"\n", c);
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(c.vs_nodes.size(), 3u);
  const struct {
    const char* address;
    const char* host;
    std::uint16_t port;
  } expected[] = {
      {"10.0.0.1:7700", "10.0.0.1", 7700},
      {"vs-b.example:7701", "vs-b.example", 7701},
      {"[::1]:7700", "::1", 7700},
  };
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(c.vs_nodes[i].address, expected[i].address);
    EXPECT_EQ(c.vs_nodes[i].host, expected[i].host);
    EXPECT_EQ(c.vs_nodes[i].port, expected[i].port);
  }
  const std::pair<std::string, std::string> refused[] = {
      {"", "config key 'vs': empty"},
      {"a:1,,b:2", "config key 'vs': item 2: empty"},
      {"a:1,", "item 2: empty"},
      {" , a:1", "item 1: empty"},
      {"a:1,b", "item 2: 'b' is not HOST:PORT"},
      {"a:1,b:70000", "item 2: 'b:70000': port must be a number"},
      {"a:1,b:0", "item 2: 'b:0': port must be a number"},
      {"a:1,b:2,a:1", "item 3: 'a:1' is listed twice"},
      {"[::1]:7700,::1:7700", "item 2: '::1:7700' is listed twice"},
  };
  for (const auto& [list, error] : refused) {
    Config config;
    Status bad = load(vs_key + "vs = \"" + list + "\"\n", config);
    ASSERT_FALSE(bad.ok()) << list;
    EXPECT_NE(bad.error().find(error), std::string::npos) << list << ": " << bad.error();
  }
}

// The TOML that the configuration file format allows beyond `key = value` lines.
TEST(GsdConfig, ReadsTomlSyntax) {
  Config c;
  Status s = load("\xEF\xBB\xBFvs_public_key = \"" + kVsKey +
                      "\"\nmax_players = 1_00  # digit separator\n"
                      "world_width_m = 1e3\nlisten = '127.0.0.1:0'\r\n",
                  c);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(c.max_players, 100u);
  EXPECT_DOUBLE_EQ(c.world_width_m, 1000.0);
  EXPECT_EQ(c.listen_port, 0);
}

TEST(GsdConfig, BadValuesNameTheKey) {
  const std::string vs_key = "vs_public_key = \"" + kVsKey + "\"\n";
  const std::pair<std::string, std::string> cases[] = {
      {"", "vs_public_key"},
      {"vs_public_key = \"nope\"\n", "vs_public_key"},
      {vs_key + "vs = \"nowhere\"\n", "vs"},
      {vs_key + "vs = \"host:0\"\n", "vs"},
      {vs_key + "listen = \"127.0.0.1\"\n", "listen"},
      {vs_key + "tick_rate_hz = 0\n", "tick_rate_hz"},
      {vs_key + "max_players = 257\n", "max_players"},
      {vs_key + "world_width_m = 0\n", "world_width_m"},
      {vs_key + "world_height_m = 2000000\n", "world_height_m"},
      {vs_key + "max_speed_m_s = -1\n", "max_speed_m_s"},
      {vs_key + "digest_interval_ms = 5\n", "digest_interval_ms"},
      {vs_key + "tick_rate_hz = 10\ndigest_interval_ms = 50\n", "digest_interval_ms"},
      {vs_key + "input_grace_ms = 700000\n", "input_grace_ms"},
      {vs_key + "handshake_timeout_ms = 1\n", "handshake_timeout_ms"},
      {vs_key + "reconnect_backoff_min_ms = 5000\nreconnect_backoff_max_ms = 1000\n",
       "reconnect_backoff_max_ms"},
      {vs_key + "max_frame_bytes = 100\n", "max_frame_bytes"},
      {vs_key + "log_level = \"loud\"\n", "log_level"},
      {vs_key + "store = \"\"\n", "store"},
      {vs_key + "key = \"\"\n", "key"},
      {vs_key + "no_such_key = 1\n", "no_such_key"},
      {vs_key + "max_speed_m_s = nan\n", "max_speed_m_s"},
      {vs_key + "world_width_m = inf\n", "world_width_m"},
      {vs_key + "[world]\nwidth = 3\n", "world"},
      {vs_key + "max_player = 8\n", "did you mean 'max_players'"},
  };
  for (const auto& [text, key] : cases) {
    Config c;
    Status s = load(text, c);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.error().find(key), std::string::npos) << text << " -> " << s.error();
  }
}

}  // namespace
}  // namespace gsvs::gsd
