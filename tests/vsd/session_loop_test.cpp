// SessionLoop's lag probe: what holds joins back while the loops run late (PROTOCOL.md §8.14).
#include "vsd/session_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace gsvs::vsd {
namespace {

using std::chrono::milliseconds;

// Polls `condition` until it holds or five seconds pass; whether it held.
template <typename Condition>
bool eventually(Condition condition) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

TEST(SessionLoopLag, AHandlerThatHoldsTheLoopShowsAsLagUntilTheLoopCatchesUp) {
  SessionLoop loop;
  loop.start();
  // An idle loop runs its probes about on time.
  ASSERT_TRUE(eventually([&] { return loop.lag() < milliseconds(50); }));

  // A handler that keeps the loop for 400 ms: the probe due meanwhile is overdue from at most
  // one probe period after the handler began, and runs at least 380 ms late; its figure halves
  // each 100 ms, so once the loop is free it still reads over 100 ms for about 190 ms.
  std::atomic<bool> free_again{false};
  loop.deliver([] { std::this_thread::sleep_for(milliseconds(400)); });
  loop.deliver([&free_again] { free_again = true; });
  ASSERT_TRUE(eventually([&] { return free_again.load(); }));
  EXPECT_GE(loop.lag(), milliseconds(100));
  // And the next probes run on time again.
  EXPECT_TRUE(eventually([&] { return loop.lag() < milliseconds(50); }))
      << "lag seen: " << loop.lag().count() << " us";
  loop.stop();
}

// A loop stuck in a handler shows as late while it is stuck, before its probe runs.
TEST(SessionLoopLag, ALoopStuckInAHandlerIsLateWhileStuck) {
  SessionLoop loop;
  loop.start();
  ASSERT_TRUE(eventually([&] { return loop.lag() < milliseconds(50); }));
  std::atomic<bool> release{false};
  loop.deliver([&release] {
    while (!release.load()) std::this_thread::sleep_for(milliseconds(1));
  });
  // Nothing runs on the loop until it is released: only the overdue probe can show it.
  const bool seen = eventually([&] { return loop.lag() >= milliseconds(200); });
  const auto lag = loop.lag();
  release = true;  // before any assertion: the loop's thread must end
  EXPECT_TRUE(seen) << "lag seen: " << lag.count() << " us";
  loop.stop();
}

// How a late probe's figure fades: rows of the figure, the time since, and what it reads then.
TEST(SessionLoopLag, ALateFigureHalvesEachHalfLife) {
  using std::chrono::microseconds;
  struct FadeRow {
    const char* name;
    microseconds previous;
    microseconds elapsed;
    microseconds expected;
  };
  const FadeRow rows[] = {
      {"no time", microseconds(400'000), microseconds(0), microseconds(400'000)},
      {"one half-life", microseconds(400'000), SessionLoop::kLagHalfLife, microseconds(200'000)},
      {"half a half-life", microseconds(400'000), SessionLoop::kLagHalfLife / 2,
       microseconds(282'842)},
      {"three half-lives", microseconds(400'000), 3 * SessionLoop::kLagHalfLife,
       microseconds(50'000)},
      // A 10 s pause of the process is under admission_max_lag_ms's default (200 ms) 0.6 s after
      // the loop runs on time again, not five seconds later.
      {"a 10 s pause, 0.6 s on", microseconds(10'000'000), 6 * SessionLoop::kLagHalfLife,
       microseconds(156'250)},
      // A loop stalling 1 s every 150 ms stays over it between the stalls.
      {"a 1 s stall, 150 ms on", microseconds(1'000'000), milliseconds(150), microseconds(353'553)},
      {"a clock read backwards", microseconds(1'000), microseconds(-5'000), microseconds(1'000)},
      {"nothing to fade", microseconds(0), SessionLoop::kLagProbePeriod, microseconds(0)},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_NEAR(static_cast<double>(SessionLoop::faded_lag(row.previous, row.elapsed).count()),
                static_cast<double>(row.expected.count()), 1.0);
  }
}

}  // namespace
}  // namespace gsvs::vsd
