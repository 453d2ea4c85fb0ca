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

  // A handler that keeps the loop for 400 ms: the probe due meanwhile runs at least 380 ms late
  // (it was due at most one probe period after the handler began), and its figure fades at twice
  // the pace of time, so it reads over 100 ms for at least 140 ms.
  loop.deliver([] { std::this_thread::sleep_for(milliseconds(400)); });
  EXPECT_TRUE(eventually([&] { return loop.lag() >= milliseconds(100); }))
      << "lag seen: " << loop.lag().count() << " us";
  // And the next probes run on time again.
  EXPECT_TRUE(eventually([&] { return loop.lag() < milliseconds(50); }))
      << "lag seen: " << loop.lag().count() << " us";
  loop.stop();
}

}  // namespace
}  // namespace gsvs::vsd
