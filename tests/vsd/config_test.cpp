#include "vsd/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>

#include "app/config_file.h"
#include "tests/support/process.h"

namespace gsvs::vsd {
namespace {

const std::string kKey(64, 'a');

const std::string kAllow = "allowed_gs = [\"" + kKey + "\"]\nallowed_builds = [\"" + kKey + "\"]\n";

// Parses a command line the way `vsd run` does (its last arguments: --config PATH), then
// validates the result.
Status parse(std::vector<std::string> args, Config& config) {
  CLI::App app;
  app::add_config_file_option(app);
  add_config_options(app, config);
  app::decimal_integers(app);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return Error{e.what()};
  }
  return validate(config);
}

// Writes `text` to a vsd.toml and loads it as `vsd run --config vsd.toml` does.
Status load(const std::string& text, Config& config) {
  testing::TempDir dir;
  testing::write_text(dir.file("vsd.toml"), text);
  return parse({"--config", dir.file("vsd.toml")}, config);
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

// 0 waits; otherwise a second at least, also where the command line's number would be read as
// octal by CLI11 ("01000" is 512) and as decimal by a check.
TEST(VsdConfig, StoreStallIsZeroOrASecondAtLeast) {
  const std::pair<const char*, bool> cases[] = {{"0", true},    {"1000", true},   {"3600000", true},
                                                {"999", false}, {"01000", false}, {"-1", false},
                                                {"1e4", false}, {"", false}};
  for (const auto& [value, accepted] : cases) {
    Config c;
    const Status s =
        parse({"--store_stall_ms", value, "--allowed_gs", kKey, "--allowed_builds", kKey}, c);
    EXPECT_EQ(s.ok(), accepted) << value << ": " << (s.ok() ? "accepted" : s.error());
  }
}

TEST(VsdConfig, SegmentKeysHaveDefaultsAndAreValidatedInCodeToo) {
  Config c;
  ASSERT_TRUE(load(kAllow + "segment_max_bytes = 65536\nsegment_max_age_s = 0\n", c).ok());
  EXPECT_EQ(c.segment_max_bytes, 65536u);
  EXPECT_EQ(c.segment_max_age_s, 0u);
  Config defaults;
  ASSERT_TRUE(load(kAllow, defaults).ok());
  EXPECT_EQ(defaults.segment_max_bytes, std::uint64_t{1} << 30);
  EXPECT_EQ(defaults.segment_max_age_s, 86400u);
  // A Config built in code gets the same bounds as the options.
  defaults.segment_max_bytes = 10;
  const Status s = validate(defaults);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("config key 'segment_max_bytes' (10) must be between 65536"),
            std::string::npos)
      << s.error();
}

TEST(VsdConfig, UnauthenticatedBudgetKeys) {
  Config c;
  Status s = load(kAllow + "max_unauthenticated = 16\nmax_unauthenticated_per_source = 16\n", c);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(c.max_unauthenticated, 16u);
  EXPECT_EQ(c.max_unauthenticated_per_source, 16u);
  Config defaults;
  ASSERT_TRUE(load(kAllow, defaults).ok());
  EXPECT_LE(defaults.max_unauthenticated_per_source, defaults.max_unauthenticated);
}

TEST(VsdConfig, BadValuesNameTheKey) {
  const std::string& allow = kAllow;
  const std::pair<std::string, std::string> cases[] = {
      {allow + "listen = \"nowhere\"\n", "listen"},
      {allow + "ticket_period_ms = 2\n", "ticket_period_ms"},
      {allow + "ticket_period_ms = 3000\nticket_validity_ms = 1000\n", "ticket_validity_ms"},
      // The revocation ripple bound: not weeks (4294967295 ms is 49.7 days).
      {allow + "ticket_validity_ms = 1200001\n", "ticket_validity_ms"},
      {allow + "ticket_validity_ms = 4294967295\n", "ticket_validity_ms"},
      {allow + "heartbeat_interval_ms = 900\nheartbeat_timeout_ms = 800\n", "heartbeat_timeout_ms"},
      // Digests are required: no off, and a silent GS must miss its heartbeats first.
      {allow + "digest_timeout_ms = 0\n", "digest_timeout_ms"},
      {allow + "digest_timeout_ms = 3600001\n", "digest_timeout_ms"},
      {allow + "heartbeat_timeout_ms = 5000\n", "digest_timeout_ms"},
      {allow + "heartbeat_timeout_ms = 3000\ndigest_timeout_ms = 3000\n", "digest_timeout_ms"},
      {allow + "log_level = \"loud\"\n", "log_level"},
      {"allowed_builds = [\"" + kKey + "\"]\n", "allowed_gs"},
      {"allowed_gs = [\"xyz\"]\nallowed_builds = [\"" + kKey + "\"]\n", "allowed_gs"},
      {allow + "no_such_key = 1\n", "no_such_key"},
      {allow + "segment_max_bytes = 1000\n", "segment_max_bytes"},
      {allow + "segment_max_bytes = -1\n", "segment_max_bytes"},
      {allow + "segment_max_age_s = 100000000\n", "segment_max_age_s"},
      {allow + "wal_checkpoint = \"sometimes\"\n", "wal_checkpoint"},
      {allow + "wal_checkpoint_pages = 0\n", "wal_checkpoint_pages"},
      {allow + "wal_checkpoint_pages = 20000\n",
       "'wal_max_pages' (16384) must exceed 'wal_checkpoint_pages' (20000)"},
      {allow + "wal_max_pages = 100000000\n", "wal_max_pages"},
      {allow + "store_stall_ms = 999\n", "store_stall_ms"},
      {allow + "store_stall_ms = 3600001\n", "store_stall_ms"},
      {allow + "store_stall_ms = -1\n", "store_stall_ms"},
      {allow + "store_stall_ms = \"soon\"\n", "store_stall_ms"},
      {allow + "receipt_batch_max = 0\n", "receipt_batch_max"},
      {allow + "receipt_batch_max = 1025\n", "receipt_batch_max"},
      {allow + "max_unauthenticated = 0\n", "max_unauthenticated"},
      {allow + "max_unauthenticated_per_source = 0\n", "max_unauthenticated_per_source"},
      {allow + "max_joins_per_second = -1\n", "max_joins_per_second"},
      {allow + "admission_max_lag_ms = 60001\n", "admission_max_lag_ms"},
      {allow + "max_unauthenticated = 8\nmax_unauthenticated_per_source = 9\n",
       "'max_unauthenticated_per_source' (9) must not exceed 'max_unauthenticated' (8)"},
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

namespace gsvs::vsd {
namespace {

// TOML as TOML 1.0 writes it, beyond the one-line `key = value` the files began with.
TEST(VsdConfigFile, AcceptsTomlSyntax) {
  const std::string kOther(64, 'b');
  struct Case {
    const char* name;
    std::string text;
    std::function<void(const Config&)> check;
  };
  const std::vector<Case> cases = {
      {"multi-line array with comments and a trailing comma",
       "allowed_gs = [\n  \"" + kKey + "\",  # first GS\n  \"" + kOther +
           "\",\n]\nallowed_builds = [\"" + kKey + "\"]\n",
       [](const Config& c) { EXPECT_EQ(c.allowed_gs_keys.size(), 2u); }},
      {"digit separators", kAllow + "checkpoint_every_entries = 1_000\nmax_connections = 10_000\n",
       [](const Config& c) {
         EXPECT_EQ(c.checkpoint_every_entries, 1000u);
         EXPECT_EQ(c.max_connections, 10000u);
       }},
      {"byte order mark", "\xEF\xBB\xBF" + kAllow + "ticket_period_ms = 250\n",
       [](const Config& c) { EXPECT_EQ(c.ticket_period_ms, 250u); }},
      {"integer for a float key", kAllow + "max_speed_m_s = 9\n",
       [](const Config& c) { EXPECT_DOUBLE_EQ(c.max_speed_m_s, 9.0); }},
      {"exponent", kAllow + "max_excess_m = 2.5e2\n",
       [](const Config& c) { EXPECT_DOUBLE_EQ(c.max_excess_m, 250.0); }},
      {"literal string and CRLF", "listen = '127.0.0.1:9100'\r\n" + kAllow,
       [](const Config& c) { EXPECT_EQ(c.listen_port, 9100); }},
      {"comments and blank lines", "# vsd\n\n" + kAllow + "threads = 2  # two loops\n",
       [](const Config& c) { EXPECT_EQ(c.threads, 2u); }},
  };
  for (const auto& c : cases) {
    Config config;
    Status s = load(c.text, config);
    ASSERT_TRUE(s.ok()) << c.name << ": " << s.error();
    c.check(config);
  }
}

// Every refusal names the file, the line and column, the key and what is wrong.
TEST(VsdConfigFile, ErrorsNameFileLineColumnAndKey) {
  struct Case {
    const char* name;
    std::string text;
    std::vector<std::string> expected;  // substrings of the error, besides the file name
  };
  const std::vector<Case> cases = {
      {"typo",
       kAllow + "ticket_perod_ms = 500\n",
       {"vsd.toml:3:1", "unknown key 'ticket_perod_ms'", "did you mean 'ticket_period_ms'"}},
      {"section", kAllow + "[limits]\nmax_speed_m_s = 3.0\n", {"vsd.toml:3:", "limits", "section"}},
      {"dotted key", kAllow + "limits.max_speed_m_s = 3.0\n", {"vsd.toml:3:1", "limits"}},
      {"nan", kAllow + "max_speed_m_s = nan\n", {"vsd.toml:3:17", "max_speed_m_s", "nan"}},
      {"inf", kAllow + "excess_decay = -inf\n", {"vsd.toml:3:16", "excess_decay", "inf"}},
      {"out of range",
       kAllow + "ticket_period_ms = 2\n",
       {"vsd.toml:3:20", "ticket_period_ms", "10 to 600000"}},
      {"player cap of zero",
       kAllow + "max_players_per_session = 0\n",
       {"vsd.toml:3:27", "max_players_per_session", "1 to 1000000"}},
      {"float out of range",
       kAllow + "speed_tolerance = 10.5\n",
       {"vsd.toml:3:19", "speed_tolerance", "0 to 10"}},
      {"negative for unsigned",
       kAllow + "threads = -1\n",
       {"vsd.toml:3:11", "threads", "expects a non-negative integer, not -1"}},
      {"string for a number",
       kAllow + "ticket_period_ms = \"250\"\n",
       {"vsd.toml:3:20", "ticket_period_ms", "integer", "string"}},
      {"number for a string", kAllow + "listen = 7700\n", {"vsd.toml:3:10", "listen", "string"}},
      {"float for an integer",
       kAllow + "max_receipt_lag = 1.5\n",
       {"vsd.toml:3:19", "max_receipt_lag", "integer, not a floating-point"}},
      {"integer for a boolean",
       kAllow + "revoke_on_stop = 1\n",
       {"vsd.toml:3:18", "revoke_on_stop", "expects true or false, not an integer"}},
      {"string for a list",
       "allowed_gs = \"" + kKey + "\"\n",
       {"vsd.toml:1:14", "allowed_gs", "list"}},
      {"number in a list", "allowed_gs = [1]\n", {"vsd.toml:1:15", "allowed_gs", "string"}},
      {"syntax", kAllow + "listen = \"127.0.0.1:7700\n", {"vsd.toml:3:"}},
      {"duplicate key", kAllow + "threads = 1\nthreads = 2\n", {"vsd.toml:4:", "threads"}},
      {"not configurable", kAllow + "config = \"other.toml\"\n", {"vsd.toml:3:1", "'config'"}},
  };
  for (const auto& c : cases) {
    Config config;
    Status s = load(c.text, config);
    ASSERT_FALSE(s.ok()) << c.name;
    for (const auto& text : c.expected) {
      EXPECT_NE(s.error().find(text), std::string::npos) << c.name << ": " << s.error();
    }
  }
}

TEST(VsdConfigFile, PathsThatAreNotAConfigFile) {
  testing::TempDir dir;
  const std::string fifo = dir.file("fifo.toml");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::pair<std::string, std::string> cases[] = {
      {dir.file("missing.toml"), "No such file"},
      {dir.path(), "a directory"},
      {fifo, "a FIFO"},
  };
  for (const auto& [path, reason] : cases) {
    Config config;
    Status s = parse({"--config", path}, config);
    ASSERT_FALSE(s.ok()) << path;
    EXPECT_NE(s.error().find(path), std::string::npos) << s.error();
    EXPECT_NE(s.error().find(reason), std::string::npos) << s.error();
  }
}

TEST(VsdConfigFile, TheCommandLineWins) {
  testing::TempDir dir;
  testing::write_text(dir.file("vsd.toml"), kAllow + "ticket_period_ms = 250\nthreads = 3\n");
  Config config;
  Status s = parse({"--ticket_period_ms", "300", "--config", dir.file("vsd.toml")}, config);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(config.ticket_period_ms, 300u);
  EXPECT_EQ(config.threads, 3u);
}

TEST(VsdConfigFile, NonFiniteNumbersAreRefusedOnTheCommandLineToo) {
  for (const char* value : {"nan", "inf", "-inf"}) {
    Config config;
    Status s =
        parse({"--max_speed_m_s", value, "--allowed_gs", kKey, "--allowed_builds", kKey}, config);
    ASSERT_FALSE(s.ok()) << value;
    EXPECT_NE(s.error().find("max_speed_m_s"), std::string::npos) << s.error();
  }
}

}  // namespace
}  // namespace gsvs::vsd

namespace gsvs::vsd {
namespace {

// Every option of `vsd run` is either policy (a reload applies it) or fixed (a reload that
// changes it is refused): none is left out, none is both (PROTOCOL.md §8.17, Appendix A).
TEST(VsdReloadKeys, EveryKeyIsPolicyOrFixedOnce) {
  CLI::App run;
  Config config;
  add_config_options(run, config);
  std::vector<std::string> options;
  for (const CLI::Option* option : run.get_options()) {
    if (option->get_lnames().empty() || option->get_lnames()[0] == "help") continue;
    options.push_back(option->get_lnames()[0]);
  }
  std::vector<std::string> classified;
  for (auto key : policy_keys()) classified.emplace_back(key);
  for (auto key : fixed_keys()) classified.emplace_back(key);
  std::sort(options.begin(), options.end());
  std::sort(classified.begin(), classified.end());
  EXPECT_EQ(classified, options);
}

TEST(VsdReloadKeys, AChangedKeyIsNamedAndPolicyKeysAreNot) {
  Config running;
  ASSERT_TRUE(load(kAllow, running));
  struct Row {
    const char* line;
    std::optional<std::string_view> named;
  };
  const std::vector<Row> rows{
      {"", std::nullopt},
      {"ticket_period_ms = 500\n", std::nullopt},
      {"max_speed_m_s = 9.0\n", std::nullopt},
      {"threads = 7\n", "threads"},
      {"listen = \"127.0.0.1:9\"\n", "listen"},
      {"log_level = \"debug\"\n", "log_level"},
      {"resume_window_ms = 5\n", "resume_window_ms"},
  };
  for (const auto& row : rows) {
    Config reloaded;
    ASSERT_TRUE(load(kAllow + row.line, reloaded)) << row.line;
    EXPECT_EQ(fixed_key_changed(running, reloaded), row.named) << row.line;
  }
  Config faster;
  ASSERT_TRUE(load(kAllow + "max_speed_m_s = 9.0\n", faster));
  EXPECT_NE(policy_of(faster), policy_of(running));
  EXPECT_EQ(policy_of(faster).max_speed_mm_s, 9000U);
}

}  // namespace
}  // namespace gsvs::vsd
