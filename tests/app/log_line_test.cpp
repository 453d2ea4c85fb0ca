#include "app/log_line.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <regex>
#include <sstream>

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

}  // namespace
}  // namespace gsvs::app
