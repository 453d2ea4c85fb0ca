#include "rules/movement.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace gsvs::rules {
namespace {

using protocol::PlayerPosition;
using protocol::TranscriptDigest;

const protocol::PublicKey kPlayer = [] {
  protocol::PublicKey k;
  k.bytes[0] = 7;
  return k;
}();

TranscriptDigest digest_at(std::int32_t x_mm, std::uint8_t flags = 0) {
  TranscriptDigest d;
  PlayerPosition p;
  p.player = kPlayer;
  p.x_mm = x_mm;
  p.flags = flags;
  d.players.push_back(p);
  return d;
}

DigestSample sample(std::uint64_t gs_ms, std::uint64_t vs_ms, std::uint64_t seq = 0) {
  return DigestSample{gs_ms, vs_ms, seq};
}

MovementLimits limits() {
  MovementLimits l;
  l.max_speed_mm_s = 7000;
  l.tolerance = 0.1;
  l.jitter_allowance_ms = 250;
  l.decay = 0.9;
  l.max_excess_mm = 1000;
  l.spawn_min_interval_ms = 5000;
  return l;
}

TEST(Physics, FirstAppearanceIsFree) {
  MovementChecker checker(limits());
  auto steps = checker.check(digest_at(1'000'000), sample(1000, 1000));
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_TRUE(steps[0].spawn);
  EXPECT_FALSE(steps[0].violation);
}

// Rows: distance moved (mm), GS-reported ms, VS-observed ms, expected violation.
struct StepRow {
  std::int32_t distance_mm;
  std::uint64_t gs_ms;
  std::uint64_t vs_ms;
  bool violation;
};

TEST(Physics, SingleStepTable) {
  const StepRow rows[] = {
      {7000, 1000, 1000, false},  // exactly at the limit
      {7700, 1000, 1000, false},  // at limit x tolerance
      {8600, 1000, 1000, false},  // 900 mm over: under the 1 m excess budget
      {8800, 1000, 1000, true},   // 1.1 m over
      {50000, 60000, 200, true},  // inflated GS time: VS saw 0.2 s (+0.25 s jitter)
      {3000, 1000, 100, false},   // burst after lag: GS time 1 s, VS 0.1 s + jitter = 0.35 s
                                  // -> 3 m in 0.35 s = 8.6 m/s: 0.3 m excess, tolerated
      {0, 0, 0, false},           // a stall never counts
  };
  for (const auto& row : rows) {
    MovementChecker checker(limits());
    (void)checker.check(digest_at(0), sample(10'000, 10'000, 1));
    auto steps = checker.check(digest_at(row.distance_mm),
                               sample(10'000 + row.gs_ms, 10'000 + row.vs_ms, 2));
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0].violation, row.violation)
        << row.distance_mm << " mm, gs " << row.gs_ms << " ms, vs " << row.vs_ms << " ms: speed "
        << steps[0].speed_mm_s << " excess " << steps[0].excess_mm;
    if (row.violation) {
      EXPECT_EQ(steps[0].from_log_seq, 1u);
      EXPECT_EQ(steps[0].to_log_seq, 2u);
      EXPECT_FALSE(describe_violation(steps[0], limits()).empty());
    }
  }
}

TEST(Physics, ElapsedTimeIsBoundedByTheVsClock) {
  MovementChecker checker(limits());
  (void)checker.check(digest_at(0), sample(0, 0));
  auto steps = checker.check(digest_at(1000), sample(60'000, 200));
  EXPECT_EQ(steps[0].elapsed_gs_ms, 60'000u);
  EXPECT_EQ(steps[0].elapsed_vs_ms, 200u);
  EXPECT_EQ(steps[0].elapsed_used_ms, 450u);
}

TEST(Physics, SmallRepeatedExcessDecaysInsteadOfAccumulatingForever) {
  MovementChecker checker(limits());
  std::int32_t x = 0;
  std::uint64_t t = 0;
  (void)checker.check(digest_at(x), sample(t, t));
  // 0.2 m over per second, forever: accumulates to 0.2 / (1 - 0.9) = 2 m in the limit...
  // ...so a persistent small cheat is caught, but a single 0.5 m burst is not.
  bool caught = false;
  for (int i = 0; i < 100 && !caught; ++i) {
    x += 7700 + 200;
    t += 1000;
    caught = checker.check(digest_at(x), sample(t, t))[0].violation;
  }
  EXPECT_TRUE(caught);

  MovementChecker lenient(limits());
  x = 0;
  t = 0;
  (void)lenient.check(digest_at(x), sample(t, t));
  x += 7700 + 500;
  t += 1000;
  EXPECT_FALSE(lenient.check(digest_at(x), sample(t, t))[0].violation);
  for (int i = 0; i < 50; ++i) {
    x += 7000;
    t += 1000;
    EXPECT_FALSE(lenient.check(digest_at(x), sample(t, t))[0].violation);
  }
}

TEST(Physics, SpawnIsFreeButRateLimited) {
  MovementChecker checker(limits());
  (void)checker.check(digest_at(0), sample(0, 0));
  auto respawn = checker.check(digest_at(900'000, protocol::kPlayerSpawn), sample(6000, 6000));
  EXPECT_TRUE(respawn[0].spawn);
  EXPECT_FALSE(respawn[0].violation);
  // A second teleport one second later is checked as movement.
  auto again = checker.check(digest_at(0, protocol::kPlayerSpawn), sample(7000, 7000));
  EXPECT_FALSE(again[0].spawn);
  EXPECT_TRUE(again[0].violation);
}

protocol::PublicKey player_key(std::uint32_t n) {
  protocol::PublicKey k;
  for (std::size_t i = 0; i < 4; ++i) k.bytes[i] = static_cast<std::uint8_t>(n >> (8 * i));
  k.bytes[31] = 0xaa;  // never kPlayer
  return k;
}

// A digest naming players first .. first + count - 1.
TranscriptDigest digest_naming(std::uint32_t first, std::uint32_t count) {
  TranscriptDigest d;
  for (std::uint32_t n = first; n < first + count; ++n) {
    PlayerPosition p;
    p.player = player_key(n);
    d.players.push_back(p);
  }
  return d;
}

// Rows: the cap, the digests (first key, count) fed in order, and whether the last digest is
// refused. Keys named again in a later digest do not count twice.
struct CapRow {
  const char* name;
  std::uint32_t cap;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> digests;
  bool last_refused;
};

TEST(Physics, PlayerCapTable) {
  const CapRow rows[] = {
      {"at the cap in one digest", 4, {{0, 4}}, false},
      {"one over in one digest", 4, {{0, 5}}, true},
      {"at the cap over digests", 4, {{0, 2}, {2, 2}}, false},
      {"one over over digests", 4, {{0, 2}, {2, 2}, {4, 1}}, true},
      {"known players after the cap", 4, {{0, 4}, {0, 4}, {1, 3}}, false},
      {"known and one fresh after the cap", 4, {{0, 4}, {3, 2}}, true},
      {"cap of one", 1, {{0, 1}, {0, 1}}, false},
      {"cap of one, second key", 1, {{0, 1}, {1, 1}}, true},
      {"full digest at a cap of 256", 256, {{0, 256}}, false},
      {"cap + 1 at 255", 255, {{0, 256}}, true},
  };
  for (const auto& row : rows) {
    MovementLimits l = limits();
    l.max_players = row.cap;
    MovementChecker checker(l);
    bool refused = false;
    std::uint64_t t = 0;
    for (const auto& [first, count] : row.digests) {
      const auto digest = digest_naming(first, count);
      refused = checker.over_player_cap(digest);
      const auto before = checker.players_tracked();
      const auto steps = checker.check(digest, sample(t, t));
      t += 1000;
      if (refused) {
        // Refused whole: nothing new is tracked.
        EXPECT_TRUE(steps.empty()) << row.name;
        EXPECT_EQ(checker.players_tracked(), before) << row.name;
      } else {
        EXPECT_EQ(steps.size(), count) << row.name;
      }
      EXPECT_LE(checker.players_tracked(), row.cap) << row.name;
    }
    EXPECT_EQ(refused, row.last_refused) << row.name;
  }
}

TEST(Physics, PlayerCapTravelsInTheJoinAccept) {
  MovementLimits l = limits();
  l.max_players = 12345;
  protocol::JoinAccept accept;
  announce_limits(l, accept);
  EXPECT_EQ(accept.max_players_per_session, 12345u);
  EXPECT_EQ(limits_from(accept).max_players, 12345u);
}

}  // namespace
}  // namespace gsvs::rules
