#include "gsd/admission.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gsvs::gsd {
namespace {

// ---- Roster -----------------------------------------------------------------------------------

crypto::PublicKey key(int i) { return crypto::sha256(as_bytes("player " + std::to_string(i))); }

constexpr std::uint64_t kRespawnAfter = 6000;

TEST(Roster, AKeyThatNeverPlayedIsForgottenWhenItLeaves) {
  Roster roster(2, kRespawnAfter);
  for (int i = 0; i < 10; ++i) {  // throw-away keys, one after another
    ASSERT_TRUE(roster.join(key(i), 1000).admitted) << i;
    EXPECT_TRUE(roster.left(key(i), 1000));
  }
  EXPECT_EQ(roster.size(), 0u);
}

TEST(Roster, APlayerWhoPlayedIsRememberedAndKeepsItsPlace) {
  Roster roster(2, kRespawnAfter);
  ASSERT_TRUE(roster.join(key(1), 0).admitted);
  roster.played(key(1));
  EXPECT_FALSE(roster.left(key(1), 10));
  auto again = roster.join(key(1), 20);  // it comes back: nothing to forget
  EXPECT_TRUE(again.admitted);
  EXPECT_TRUE(again.forget.empty());
  EXPECT_EQ(roster.size(), 1u);
}

struct RosterRow {
  std::string name;
  std::uint64_t now_ms;                       // when the newcomer joins
  std::optional<std::uint64_t> spawned_ms_1;  // when player 1 (left first) was reported spawning
  std::optional<std::uint64_t> spawned_ms_2;  // player 2 (left later)
  bool player_2_online;
  bool admitted;
  std::vector<int> forgotten;
};

// Full roster (two players who played); a third key arrives.
TEST(Roster, WhenFullTheLongestGoneIsForgottenOnceTheVsAcceptsItsRespawn) {
  const std::vector<RosterRow> rows = {
      {"never reported: forgettable at once", 100, {}, {}, false, true, {1}},
      {"both respawnable: the one gone longest", 10'000, 0, 0, false, true, {1}},
      {"the longest gone spawned too recently: the next one", 10'000, 5'000, 0, false, true, {2}},
      {"nobody respawnable yet: refused", 5'000, 0, 0, false, false, {}},
      {"online players are never forgotten", 10'000, 5'000, 0, true, false, {}},
  };
  for (const auto& row : rows) {
    Roster roster(2, kRespawnAfter);
    ASSERT_TRUE(roster.join(key(1), 0).admitted);
    ASSERT_TRUE(roster.join(key(2), 0).admitted);
    roster.played(key(1));
    roster.played(key(2));
    if (row.spawned_ms_1) roster.spawned(key(1), *row.spawned_ms_1);
    if (row.spawned_ms_2) roster.spawned(key(2), *row.spawned_ms_2);
    roster.left(key(1), 50);
    if (!row.player_2_online) roster.left(key(2), 60);
    auto admission = roster.join(key(3), row.now_ms);
    EXPECT_EQ(admission.admitted, row.admitted) << row.name;
    std::vector<crypto::PublicKey> expected;
    for (int i : row.forgotten) expected.push_back(key(i));
    EXPECT_EQ(admission.forget, expected) << row.name;
    EXPECT_LE(roster.size(), 2u) << row.name;
  }
}

}  // namespace
}  // namespace gsvs::gsd
