// SessionLoop's lag probe: what holds joins back while the loops run late (PROTOCOL.md §8.14).
#include "vsd/session_loop.h"

#include <gtest/gtest.h>

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
  // A probe has run once the loop is up; an idle loop runs its probes about on time.
  ASSERT_TRUE(eventually([&] { return loop.lag() < milliseconds(50); }));

  // A handler that keeps the loop for 2 s: the probe due meanwhile runs at least 1980 ms late
  // (it was due at most one probe period after the handler began), and its figure halves each
  // probe period, so it reads over 100 ms for at least 80 ms.
  loop.deliver([] { std::this_thread::sleep_for(milliseconds(2000)); });
  EXPECT_TRUE(eventually([&] { return loop.lag() >= milliseconds(100); }))
      << "lag seen: " << loop.lag().count() << " us";
  // And the next probes run on time again.
  EXPECT_TRUE(eventually([&] { return loop.lag() < milliseconds(50); }))
      << "lag seen: " << loop.lag().count() << " us";
  loop.stop();
}

// How a late probe's figure fades: rows of the figure, the time since, and what it reads then.
TEST(SessionLoopLag, ALateFigureHalvesEachProbePeriod) {
  using std::chrono::microseconds;
  struct FadeRow {
    const char* name;
    microseconds previous;
    microseconds elapsed;
    microseconds expected;
  };
  const FadeRow rows[] = {
      {"no time", microseconds(400'000), microseconds(0), microseconds(400'000)},
      {"one period", microseconds(400'000), SessionLoop::kLagProbePeriod, microseconds(200'000)},
      {"half a period", microseconds(400'000), SessionLoop::kLagProbePeriod / 2,
       microseconds(282'842)},
      {"three periods", microseconds(400'000), 3 * SessionLoop::kLagProbePeriod,
       microseconds(50'000)},
      // A 10 s pause of the process is under admission_max_lag_ms's default (200 ms) six probes
      // after the loop runs on time again, not five seconds later.
      {"a 10 s pause, six periods on", microseconds(10'000'000), 6 * SessionLoop::kLagProbePeriod,
       microseconds(156'250)},
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
