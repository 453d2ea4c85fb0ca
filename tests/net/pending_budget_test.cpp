// The budget of connections before authentication (net/pending_budget.h), shared by the VS's GS
// port and the GS's client port.
#include "net/pending_budget.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gsvs::net {
namespace {

// Each row admits connections in order and names who is displaced.

struct PendingRow {
  std::string name;
  std::size_t capacity;
  std::size_t per_source;
  std::vector<std::string> sources;                    // connection i+1 comes from sources[i]
  std::vector<std::optional<ConnectionId>> displaced;  // what each admission displaces
};

TEST(PendingBudget, ANewcomerTakesThePlaceOfTheOldest) {
  const std::vector<PendingRow> rows = {
      {"room for all", 3, 3, {"a", "b", "c"}, {{}, {}, {}}},
      {"full: the oldest of all goes", 2, 2, {"a", "b", "c"}, {{}, {}, 1}},
      {"a source at its share displaces its own oldest",
       4,
       2,
       {"a", "b", "a", "a"},
       {{}, {}, {}, 1}},
      {"one source cannot push out another below its share",
       3,
       1,
       {"a", "b", "a", "a"},
       {{}, {}, 1, 3}},
      {"full: the address holding the most gives way, however new",
       4,
       3,
       {"a", "flood", "flood", "flood", "b"},
       {{}, {}, {}, {}, 2}},
      {"full, equal shares: the oldest of all", 2, 1, {"a", "b", "c"}, {{}, {}, 1}},
  };
  for (const auto& row : rows) {
    PendingBudget budget(row.capacity, row.per_source);
    for (std::size_t i = 0; i < row.sources.size(); ++i) {
      EXPECT_EQ(budget.admit(i + 1, row.sources[i]), row.displaced[i]) << row.name << " #" << i + 1;
    }
    EXPECT_LE(budget.size(), row.capacity) << row.name;
  }
}

TEST(PendingBudget, ReleaseFreesTheSlotAndIgnoresUnknownIds) {
  PendingBudget budget(2, 1);
  EXPECT_FALSE(budget.admit(1, "a"));
  budget.release(1);
  budget.release(42);
  EXPECT_EQ(budget.size(), 0u);
  EXPECT_FALSE(budget.admit(2, "a"));  // the source's share is free again
  EXPECT_FALSE(budget.admit(3, "b"));
  EXPECT_EQ(budget.admit(4, "c"), ConnectionId{2});
}

TEST(PendingBudget, ContainsOnlyWhatIsStillCounted) {
  PendingBudget budget(1, 1);
  EXPECT_FALSE(budget.admit(1, "a"));
  EXPECT_TRUE(budget.contains(1));
  EXPECT_EQ(budget.admit(2, "b"), ConnectionId{1});
  EXPECT_FALSE(budget.contains(1));
  EXPECT_FALSE(budget.release(1));
  EXPECT_TRUE(budget.release(2));
}

}  // namespace
}  // namespace gsvs::net
