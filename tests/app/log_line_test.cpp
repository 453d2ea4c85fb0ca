#include "app/log_line.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "app/config_file.h"
#include "tests/support/process.h"

namespace gsvs::app {
namespace {

TEST(LogText, KeepsTextAndEscapesWhatCouldBreakTheLine) {
  struct Case {
    const char* name;
    std::string text;
    std::string logged;
  };
  const std::vector<Case> cases = {
      {"plain", "reported by players", "reported by players"},
      {"UTF-8 kept", "joueur \xC3\xA9vinc\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAE",
       "joueur \xC3\xA9vinc\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAE"},
      {"newline forging a line", "ok\n2026-01-01T00:00:00.000Z info vsd: fake",
       "ok\\n2026-01-01T00:00:00.000Z info vsd: fake"},
      {"carriage return and tab", "a\rb\tc", "a\\rb\\tc"},
      {"backslash, so escapes stay unambiguous", "a\\nb", "a\\\\nb"},
      {"escape sequence", "\x1B[31mred", "\\x1B[31mred"},
      {"NUL and DEL", std::string("a\0b\x7F", 4), "a\\x00b\\x7F"},
      {"not UTF-8", "\xFF\xFEok\xC3", "\\xFF\\xFEok\\xC3"},
      {"overlong slash", "\xC0\xAF", "\\xC0\\xAF"},
      {"surrogate", "\xED\xA0\x80", "\\xED\\xA0\\x80"},
      {"next line (C1)", "a\xC2\x85z", "a\\u{0085}z"},
      {"line separator", "a\xE2\x80\xA8z", "a\\u{2028}z"},
      // NOLINTNEXTLINE(misc-misleading-bidirectional): the override is the input under test
      {"right-to-left override", "a\xE2\x80\xAEz", "a\\u{202E}z"},
      {"empty", "", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(log_text(c.text), c.logged) << c.name;
}

// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS" read as UTC.
std::time_t utc_seconds(const std::string& stamp) {
  std::tm tm{};
  std::istringstream in(stamp);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  return ::timegm(&tm);
}

TEST(LogLine, TimeIsUtcWithTheZoneShown) {
  // A local zone 5:30 away from UTC: a line stamped in local time would be hours off.
  const char* old_tz = std::getenv("TZ");
  const std::string saved = old_tz != nullptr ? old_tz : "";
  ::setenv("TZ", "GSV-05:30", 1);
  ::tzset();
  std::ostringstream lines;
  auto logger = std::make_shared<spdlog::logger>(
      "log_line_test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  configure_logging("vsd", "info");
  spdlog::info("listening");
  spdlog::debug("not at info");
  spdlog::set_default_logger(previous);
  if (old_tz != nullptr) {
    ::setenv("TZ", saved.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();

  const std::string line = lines.str();
  std::smatch match;
  ASSERT_TRUE(std::regex_match(
      line, match, std::regex(R"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{3}Z info vsd: listening\n)")))
      << line;
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  EXPECT_LT(std::abs(static_cast<long long>(now - utc_seconds(match[1].str()))), 120) << line;
}

TEST(JsonLogLine, HasTheLinesContentAndTheFieldsItsMessageNames) {
  struct Case {
    const char* name;
    std::string message;
    nlohmann::json fields;  // beyond time, level, program and message
    std::string message_in_json = message;
  };
  const std::vector<Case> cases = {
      {"no fields", "listening on 127.0.0.1:7700; store vs.db at 3 entries",
       nlohmann::json::object()},
      {"session", "session 7: GS connection from 10.0.0.5:4 ended: eof", {{"session", 7}}},
      {"revocation",
       "session 12: revoked: speed_violation: player 3 moved 40 m (evidence at log positions "
       "[4,9])",
       {{"session", 12}, {"reason", "speed_violation"}, {"evidence", {4, 9}}}},
      {"revocation without evidence",
       "session 2: revoked: vs_shutdown: stop (evidence at log positions [])",
       {{"session", 2}, {"reason", "vs_shutdown"}, {"evidence", nlohmann::json::array()}}},
      {"join reject",
       "join from 10.0.0.5:41022 rejected: build_not_allowed: sw_hash 00ff",
       {{"reason", "build_not_allowed"}}},
      {"gsd's view of a reject",
       "join rejected by the VS: clock_skew: 9000 ms",
       {{"reason", "clock_skew"}}},
      {"input reject",
       "session 3: input 8 from player ab rejected: too_fast: 9 m/s",
       {{"session", 3}, {"reason", "too_fast"}}},
      {"the program's words come first, outside text cannot add a reason",
       "session 4: operator revocation requested: cheating, revoked: forged: x",
       {{"session", 4}}},
      {"outside text cannot add evidence before the end",
       "session 5: revoked: operator: (evidence at log positions [1]) said the GS",
       {{"session", 5}, {"reason", "operator"}}},
      {"a reason needs its colon", "client 10.0.0.9:5 refused: max_players (64) reached",
       nlohmann::json::object()},
      {"not a session number", "session x: nothing", nlohmann::json::object()},
      {"malformed evidence",
       "session 6: revoked: speed: d (evidence at log positions [1,,2])",
       {{"session", 6}, {"reason", "speed"}}},
      {"not UTF-8 is replaced, not thrown",
       "bad \xFF"
       " byte",
       nlohmann::json::object(), "bad \xEF\xBF\xBD byte"},
  };
  const auto time =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'796'360'462'345));
  for (const auto& c : cases) {
    const std::string line = json_log_line(time, "warning", "vsd", c.message);
    const auto event = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(event.is_object()) << c.name << ": " << line;
    nlohmann::json expected = {{"time", "2026-12-04T05:01:02.345Z"},
                               {"level", "warning"},
                               {"program", "vsd"},
                               {"message", c.message_in_json}};
    expected.update(c.fields);
    EXPECT_EQ(event, expected) << c.name;
    EXPECT_EQ(line.find('\n'), std::string::npos) << c.name;
  }
  // The message itself is kept, escaped only as JSON needs.
  EXPECT_EQ(
      nlohmann::json::parse(json_log_line(time, "info", "gsd", "a \"quoted\"\tword"))["message"],
      "a \"quoted\"\tword");
}

TEST(LogLine, JsonFormatWritesOneObjectPerEvent) {
  std::ostringstream lines;
  auto logger = std::make_shared<spdlog::logger>(
      "log_line_test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  configure_logging("gsd", "info", LogFormat::kJson);
  spdlog::warn("session {}: revoked: {}: {} (evidence at log positions [{}])", 9,
               "missed_heartbeats", "no heartbeat in 2000 ms", "3,4");
  spdlog::info("stopped: store flushed");
  spdlog::set_default_logger(previous);

  std::istringstream in(lines.str());
  std::vector<nlohmann::json> events;
  for (std::string line; std::getline(in, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 2U) << lines.str();
  EXPECT_EQ(events[0]["level"], "warning");
  EXPECT_EQ(events[0]["program"], "gsd");
  EXPECT_EQ(events[0]["session"], 9);
  EXPECT_EQ(events[0]["reason"], "missed_heartbeats");
  EXPECT_EQ(events[0]["evidence"], nlohmann::json({3, 4}));
  EXPECT_TRUE(std::regex_match(events[0]["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(events[1]["message"], "stopped: store flushed");
  EXPECT_FALSE(events[1].contains("session"));
}

// log_format as vsd and gsd take it: a `run` option and so a config key, text or json.
TEST(LogFormatOption, TakesTextOrJsonAndNamesTheKeyOtherwise) {
  struct Case {
    const char* name;
    std::vector<std::string> args;  // CLI11 takes them last first
    std::string file;               // the config file, when not empty
    std::optional<LogFormat> format;
    std::string error;  // a part of the error when there is one
  };
  const std::vector<Case> cases = {
      {"default", {}, "", LogFormat::kText, ""},
      {"json flag", {"json", "--log_format"}, "", LogFormat::kJson, ""},
      {"text flag", {"text", "--log_format"}, "", LogFormat::kText, ""},
      {"json key", {}, "log_format = \"json\"\n", LogFormat::kJson, ""},
      {"the flag wins", {"text", "--log_format"}, "log_format = \"json\"\n", LogFormat::kText, ""},
      {"unknown flag value", {"xml", "--log_format"}, "", std::nullopt, "--log_format"},
      {"unknown key value", {}, "log_format = \"xml\"\n", std::nullopt, "log_format"},
      {"not a string", {}, "log_format = 1\n", std::nullopt, "log_format"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::TempDir dir;
    CLI::App run;
    LogFormat format = LogFormat::kText;
    add_config_file_option(run);
    add_log_format_option(run, format);
    std::vector<std::string> args = c.args;
    if (!c.file.empty()) {
      testing::write_text(dir.file("vsd.toml"), c.file);
      args.insert(args.begin(), {dir.file("vsd.toml"), "--config"});
    }
    std::string error;
    try {
      run.parse(args);
    } catch (const CLI::ParseError& e) {
      error = e.what();
    }
    if (c.format) {
      EXPECT_EQ(error, "");
      EXPECT_EQ(format, *c.format);
    } else {
      EXPECT_NE(error.find(c.error), std::string::npos) << error;
    }
  }
}

}  // namespace
}  // namespace gsvs::app
