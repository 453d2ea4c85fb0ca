// SteadyWallClock (PROTOCOL.md §8.13): given the newest time in the VS's log, it starts no earlier,
// so that no time in the log goes back across a restart even when the host's clock stepped back
// meanwhile.
#include "protocol/clock.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace gsvs {
namespace {

TEST(SteadyWallClock, ReadsTheSystemClockWhenTheLogIsNotAhead) {
  const std::uint64_t before = unix_time_ms();
  const SteadyWallClock clock(before - 60'000);
  EXPECT_FALSE(clock.held_back());
  EXPECT_GE(clock.now_ms(), before);
  EXPECT_LE(clock.now_ms(), unix_time_ms());
}

TEST(SteadyWallClock, StartsAtTheNewestLoggedTimeWhenTheSystemClockIsBehindIt) {
  const std::uint64_t newest_logged = unix_time_ms() + 3'600'000;  // the host stepped back 1 h
  const SteadyWallClock clock(newest_logged);
  EXPECT_TRUE(clock.held_back());
  const std::uint64_t now = clock.now_ms();
  EXPECT_GE(now, newest_logged);
  EXPECT_LT(now, newest_logged + 3'600'000) << "it runs on from there, not from the system clock";
  // Timers are set on the same readings: the time now is due now, not an hour from now.
  EXPECT_LE(clock.steady_at(now), std::chrono::steady_clock::now());
}

TEST(SteadyWallClock, DriftIsHowFarTheSystemClockReadsFromIt) {
  EXPECT_LE(std::abs(SteadyWallClock().drift_ms()), 1000);
  const SteadyWallClock held(unix_time_ms() + 3'600'000);
  EXPECT_NEAR(static_cast<double>(held.drift_ms()), -3'600'000.0, 1000.0);
}

// Each parting and each coming back is said once, in either direction, at the tolerance's edge.
TEST(ClockDriftWatch, SaysEachPartingAndRejoiningOnce) {
  using Change = ClockDriftWatch::Change;
  struct Step {
    std::int64_t drift_ms;
    Change expected;
  };
  const std::vector<Step> steps = {
      {0, Change::kNone},        {2'500, Change::kNone},      {2'501, Change::kParted},
      {60'000, Change::kNone},   {100, Change::kRejoined},    {-100, Change::kNone},
      {-2'501, Change::kParted}, {-2'500, Change::kRejoined},
  };
  ClockDriftWatch watch(2'500, 0);
  for (const auto& step : steps) {
    SCOPED_TRACE(step.drift_ms);
    EXPECT_EQ(watch.observe(step.drift_ms), step.expected);
  }
  // Apart from the start (held back, said then): nothing more to say until they come together.
  ClockDriftWatch held(2'500, -3'600'000);
  EXPECT_EQ(held.observe(-3'600'000), Change::kNone);
  EXPECT_EQ(held.observe(0), Change::kRejoined);
}

}  // namespace
}  // namespace gsvs
