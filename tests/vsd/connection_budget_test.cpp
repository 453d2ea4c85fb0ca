// The GS port's budget (vsd/connection_budget.h, PROTOCOL.md §8.14): who is displaced, who keeps
// a place, and what the summary line says; and the pace of joins.
#include "vsd/connection_budget.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace gsvs::vsd {
namespace {

// A budget of 2 authenticated and 3 unauthenticated connections, 2 from one address; closing a
// displaced connection records its id.
class Budget : public ::testing::Test {
 protected:
  ConnectionBudget::Admission admit(net::ConnectionId id, const std::string& source) {
    auto admission = budget_.admit(id, source, [this, id] { closed_.push_back(id); });
    if (admission.close_displaced) admission.close_displaced();
    return admission;
  }

  ConnectionBudget budget_{ConnectionBudget::Limits{2, 3, 2}};
  std::vector<net::ConnectionId> closed_;
};

TEST_F(Budget, StrangersDisplaceStrangersNeverTheAuthenticated) {
  ASSERT_TRUE(admit(1, "gs").admitted);
  ASSERT_TRUE(budget_.authenticate(1));
  for (net::ConnectionId id = 2; id <= 9; ++id) EXPECT_TRUE(admit(id, "flood").admitted);
  // The flood holds its share of two; each newcomer closed its own oldest.
  EXPECT_EQ(closed_, (std::vector<net::ConnectionId>{2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(budget_.counts().authenticated, 1u);
  EXPECT_EQ(budget_.counts().unauthenticated, 2u);
  // A GS from another address gets a place, and authenticates; a displaced one cannot.
  EXPECT_TRUE(admit(10, "other gs").admitted);
  EXPECT_TRUE(budget_.authenticate(10));
  EXPECT_FALSE(budget_.authenticate(2));
}

TEST_F(Budget, AFullBudgetDisplacesTheAddressHoldingTheMost) {
  admit(1, "a");
  admit(2, "flood");
  admit(3, "flood");
  admit(4, "b");  // full: the flood's oldest gives way, not "a", which is older
  EXPECT_EQ(closed_, (std::vector<net::ConnectionId>{2}));
}

TEST_F(Budget, MaxConnectionsCountsAuthenticatedPeersOnly) {
  admit(1, "a");
  admit(2, "b");
  admit(3, "c");
  EXPECT_TRUE(budget_.authenticate(1));
  EXPECT_TRUE(budget_.authenticate(2));
  EXPECT_FALSE(budget_.authenticate(3));  // max_connections (2) authenticated
  EXPECT_FALSE(admit(4, "d").admitted);
  budget_.release(1);
  EXPECT_TRUE(admit(5, "d").admitted);
  EXPECT_TRUE(budget_.authenticate(5));
}

TEST_F(Budget, RefusalsAreSummarisedNotLoggedOneByOne) {
  EXPECT_FALSE(budget_.take_summary());
  admit(1, "a");
  admit(2, "a");
  EXPECT_TRUE(budget_.turned_away(1));    // the first of the window: a line of its own
  EXPECT_FALSE(budget_.turned_away(2));   // the rest go into the summary
  EXPECT_FALSE(budget_.turned_away(42));  // not counted (displaced, or unknown)
  admit(3, "b");
  admit(4, "b");
  admit(5, "b");  // displaces 3
  const auto line = budget_.take_summary();
  ASSERT_TRUE(line);
  for (const char* part : {"3 connections closed before authenticating", "from 2 addresses",
                           "1 displaced by newer ones (max_unauthenticated 3, per address 2)",
                           "2 without an acceptable JoinRequest"}) {
    EXPECT_NE(line->find(part), std::string::npos) << *line << "\nlacks: " << part;
  }
  EXPECT_FALSE(budget_.take_summary());  // a new window
  EXPECT_EQ(budget_.counts().refused, 3u);
}

// ---- JoinPacer: joins arriving at the given times, and the wait each is given ---------------

struct PaceRow {
  std::string name;
  std::uint32_t per_second;
  std::vector<int> arrivals_ms;              // after a fixed start
  std::vector<std::optional<int>> waits_ms;  // nullopt: refused, would wait past max_wait
};

TEST(JoinPacer, AJoinWaitsItsTurnUpToTheLongestWait) {
  const std::vector<PaceRow> rows{
      {"a second's worth at once, then one per interval", 2, {0, 0, 0, 0}, {0, 0, 500, 1000}},
      {"past the longest wait: refused, nothing reserved",
       2,
       {0, 0, 0, 0, 0, 1000},
       {0, 0, 500, 1000, std::nullopt, 500}},
      {"the pace recovers while nobody joins", 2, {0, 0, 0, 5000, 5000}, {0, 0, 500, 0, 0}},
      {"unpaced", 0, {0, 0, 0, 0}, {0, 0, 0, 0}},
  };
  const auto start = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  for (const auto& row : rows) {
    JoinPacer pacer(row.per_second, std::chrono::milliseconds(1000));
    for (std::size_t i = 0; i < row.arrivals_ms.size(); ++i) {
      const auto wait = pacer.reserve(start + std::chrono::milliseconds(row.arrivals_ms[i]));
      std::optional<int> wait_ms;
      if (wait) {
        wait_ms =
            static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(*wait).count());
      }
      EXPECT_EQ(wait_ms, row.waits_ms[i]) << row.name << " #" << i + 1;
    }
  }
}

}  // namespace
}  // namespace gsvs::vsd
