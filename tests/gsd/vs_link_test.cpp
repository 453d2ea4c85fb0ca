// The GS's wait before joining the VS again: exponential backoff with full jitter
// (gsd/vs_link.h, reconnect_delay_ms), and how long it lets the VS be silent (vs_silence_limit_ms),
// one row per case.
#include "gsd/vs_link.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace gsvs::gsd {
namespace {

constexpr std::uint64_t kMaxRandom = std::numeric_limits<std::uint64_t>::max();

struct DelayRow {
  std::string name;
  std::uint32_t failures;
  std::uint64_t min_ms;
  std::uint64_t max_ms;
  std::uint64_t random;
  std::uint64_t expected_ms;
};

TEST(ReconnectDelay, IsDrawnBetweenTheMinimumAndADoublingCeiling) {
  const std::vector<DelayRow> rows{
      {"after a session: lowest draw", 0, 200, 10000, 0, 200},
      {"after a session: ceiling is twice the minimum", 0, 200, 10000, 200, 400},
      {"after a session: the draw wraps past the ceiling", 0, 200, 10000, 201, 200},
      {"one failure: ceiling four times the minimum", 1, 200, 10000, 600, 800},
      {"two failures: eight times", 2, 200, 10000, 1400, 1600},
      {"capped at the maximum", 10, 200, 10000, 9800, 10000},
      {"capped: the draw wraps at the maximum", 10, 200, 10000, 9801, 200},
      {"many failures do not overflow", 64, 200, 10000, 9800, 10000},
      {"huge minimum does not overflow", 40, 3600000, 3600000, kMaxRandom, 3600000},
      {"minimum equals maximum: no jitter left", 3, 500, 500, 12345, 500},
      {"maximum below minimum: the minimum", 3, 500, 100, 12345, 500},
      {"largest random stays in range", 0, 10, 20, kMaxRandom, 10 + kMaxRandom % 11},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(reconnect_delay_ms(row.failures, row.min_ms, row.max_ms, row.random), row.expected_ms)
        << row.name;
  }
}

// Whatever the draw, the wait stays between the minimum and the ceiling for that many failures.
TEST(ReconnectDelay, StaysWithinItsBoundsForEveryDraw) {
  for (std::uint32_t failures = 0; failures < 70; ++failures) {
    // 400, 800, ..., 6400, then 10000 from the sixth failure on.
    const std::uint64_t ceiling =
        failures < 5 ? std::uint64_t{200} << (failures + 1) : std::uint64_t{10000};
    for (const std::uint64_t random :
         {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{7777}, kMaxRandom / 3, kMaxRandom}) {
      const auto delay = reconnect_delay_ms(failures, 200, 10000, random);
      EXPECT_GE(delay, 200u) << failures;
      EXPECT_LE(delay, ceiling) << failures;
    }
  }
}

// How long the GS lets its VS be silent before it resumes on a new connection: short enough
// that the resume beats the VS's heartbeat deadline, never shorter than a ticket period.
struct SilenceRow {
  std::string name;
  std::uint32_t ticket_period_ms;
  std::uint32_t heartbeat_timeout_ms;
  std::uint64_t expected_ms;
};

TEST(VsSilenceLimit, EndsWellBeforeTheVsHeartbeatDeadline) {
  const std::vector<SilenceRow> rows{
      {"defaults: half the heartbeat timeout, one period", 1000, 2000, 1000},
      {"long heartbeat timeout: four periods", 1000, 20000, 4000},
      {"between: half the heartbeat timeout", 1000, 6000, 3000},
      {"short periods: four periods", 100, 2000, 400},
      {"heartbeat timeout below two periods: one period", 1000, 1500, 1000},
      {"largest terms do not overflow", 0xffffffffU, 0xffffffffU, 0xffffffffU},
  };
  for (const auto& row : rows) {
    protocol::JoinAccept accept;
    accept.ticket_period_ms = row.ticket_period_ms;
    accept.heartbeat_timeout_ms = row.heartbeat_timeout_ms;
    EXPECT_EQ(vs_silence_limit_ms(accept), row.expected_ms) << row.name;
  }
}

}  // namespace
}  // namespace gsvs::gsd
