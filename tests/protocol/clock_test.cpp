// SteadyWallClock (PROTOCOL.md §8.13): given the newest time in the VS's log, it starts no earlier,
// so that no time in the log goes back across a restart even when the host's clock stepped back
// meanwhile.
#include "protocol/clock.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace gsvs
