#include "gsd/world.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

namespace gsvs::gsd {
namespace {

const crypto::PublicKey kAlice = crypto::sha256(as_bytes("alice"));
const crypto::PublicKey kBob = crypto::sha256(as_bytes("bob"));

WorldLimits limits() {
  WorldLimits l;
  l.width_mm = 100'000;
  l.height_mm = 50'000;
  l.max_speed_mm_s = 7000.0;  // 7 mm per ms
  l.tick_ms = 50;
  l.slack_ms = 10;
  return l;
}

constexpr std::int64_t kWindow = 1'000'000;  // when the current digest window began

double length(const Position& a, const Position& b) {
  return std::hypot(static_cast<double>(a.x_mm) - b.x_mm, static_cast<double>(a.y_mm) - b.y_mm);
}

TEST(World, PlayersSpawnAtTheCentreAndKeepTheirPositionWhenAddedAgain) {
  World world(limits());
  EXPECT_TRUE(world.add_player(kAlice));
  EXPECT_EQ(*world.position(kAlice), (Position{50'000, 25'000}));
  world.move(kAlice, 100, 0, 1000);
  const Position moved = *world.position(kAlice);
  EXPECT_FALSE(world.add_player(kAlice));  // a reconnecting player continues where it was
  EXPECT_EQ(*world.position(kAlice), moved);
  EXPECT_FALSE(world.position(kBob).has_value());
}

// Rows: the VS's spawn zones and the world (100 m x 50 m), and where gsd puts a new player.
struct SpawnPointRow {
  const char* name;
  std::vector<protocol::SpawnZone> zones;
  std::optional<Position> expected;
};

protocol::SpawnZone zone(protocol::SpawnZoneShape shape, std::int32_t x, std::int32_t y,
                         std::int32_t x2, std::int32_t y2) {
  return protocol::SpawnZone{static_cast<std::uint8_t>(shape), x, y, x2, y2};
}

TEST(World, PlayersSpawnInsideTheVsSpawnZonesTable) {
  using enum protocol::SpawnZoneShape;
  const SpawnPointRow rows[] = {
      {"no zones: the centre, as before zones", {}, std::nullopt},
      {"a rectangle inside the world: its centre",
       {zone(kRectangle, 10'000, 10'000, 20'000, 30'000)},
       Position{15'000, 20'000}},
      {"the example zone around (0, 0): the centre of its overlap with the world",
       {zone(kRectangle, -5000, -5000, 5000, 5000)},
       Position{2500, 2500}},
      {"a circle around a point of the world: that point",
       {zone(kCircle, 40'000, 20'000, 3000, 0)},
       Position{40'000, 20'000}},
      {"a circle centred off the world that reaches into it: the centre clamped in",
       {zone(kCircle, -1000, 10'000, 3000, 0)},
       Position{0, 10'000}},
      {"a zone off the world, then one on it: the one on it",
       {zone(kRectangle, 200'000, 0, 300'000, 10'000), zone(kCircle, 50'000, 25'000, 10, 0)},
       Position{50'000, 25'000}},
      {"no zone meets the world", {zone(kCircle, -10'000, -10'000, 3000, 0)}, std::nullopt},
  };
  for (const auto& row : rows) {
    const auto at = spawn_point(row.zones, 100'000, 50'000);
    EXPECT_EQ(at, row.expected) << row.name;
    WorldLimits l = limits();
    l.spawn = at;
    World world(l);
    world.add_player(kAlice);
    EXPECT_EQ(*world.position(kAlice), row.expected.value_or(Position{50'000, 25'000})) << row.name;
  }
}

// Each row: when the previous move was (relative to the start of the digest window; none for a
// first move), when this one is, the request, and the distance the GS grants.
struct SpeedCase {
  std::optional<std::int64_t> previous_ms;
  std::int64_t now_ms;
  std::int32_t dx, dy;
  double expected_mm;
};

TEST(World, DisplacementIsCappedAtMaxSpeedTimesElapsed) {
  const SpeedCase cases[] = {
      {std::nullopt, 100, 100'000, 0, 350.0},  // first move: one tick (50 ms) at 7 mm/ms
      {std::nullopt, 5, 100'000, 0, 105.0},    // ... but not beyond the window + slack (15 ms)
      {std::nullopt, 100, 100, 0, 100.0},      // within the cap: applied as asked
      {20, 30, 1000, 0, 70.0},                 // 10 ms since the last move
      {20, 30, 0, -1000, 70.0},                // any direction
      {20, 30, 600, 800, 70.0},                // diagonal: the length is capped, not each axis
      {0, 20, 30, 40, 50.0},                   // under the cap
      {-5000, 40, 100'000, 0, 350.0},  // idle before the window: 40 ms + 10 ms slack, no more
      {-5000, 0, 100'000, 0, 70.0},    // at the window's start: the slack only
      {-3, 0, 100'000, 0, 21.0},       // 3 ms since the last move
      {20, 30, 0, 0, 0.0},
  };
  for (const auto& c : cases) {
    World world(limits());
    world.add_player(kAlice);
    if (c.previous_ms) {
      world.begin_window(0);
      world.move(kAlice, 0, 0, static_cast<std::uint64_t>(kWindow + *c.previous_ms));
    }
    world.begin_window(kWindow);
    const Position before = *world.position(kAlice);
    const Position after =
        world.move(kAlice, c.dx, c.dy, static_cast<std::uint64_t>(kWindow + c.now_ms));
    EXPECT_NEAR(length(before, after), c.expected_mm, 1.0)
        << "previous " << (c.previous_ms ? std::to_string(*c.previous_ms) : "none") << " now "
        << c.now_ms << " move (" << c.dx << ", " << c.dy << ")";
    EXPECT_LE(length(before, after), c.expected_mm + 1e-9);
  }
}

// Plays one second with a digest every 100 ms and an input every `input_every_ms`, each asking
// for 10 m. Returns the distance covered; every window stays within the limit plus the slack.
double play_one_second(std::uint64_t input_every_ms, std::uint64_t first_input_ms) {
  World world(limits());
  world.add_player(kAlice);
  const std::uint64_t base = 1'000'000;
  world.begin_window(base);
  Position window_start = *world.position(kAlice);
  const Position start = window_start;
  std::uint64_t next_input = base + first_input_ms;
  for (std::uint64_t t = base; t <= base + 1000; ++t) {
    if (t == next_input) {
      world.move(kAlice, 10'000, 0, t);
      next_input += input_every_ms;
    }
    if ((t - base) % 100 == 0 && t != base) {
      const Position here = *world.position(kAlice);
      EXPECT_LE(length(window_start, here), 7.0 * (100 + 10) + 1e-9) << "window ending at " << t;
      window_start = here;
      world.begin_window(t);
    }
  }
  return length(start, *world.position(kAlice));
}

TEST(World, NoDigestWindowExceedsTheLimitAndSteadyInputKeepsNearFullSpeed) {
  EXPECT_GE(play_one_second(5, 3), 6500.0);
  EXPECT_GE(play_one_second(50, 25), 5500.0);
  // The worst phase: each window's first input comes just after the digest, and the time
  // before it is not banked (at most 100 - (50 - slack) ms of each 100 are credited).
  EXPECT_GE(play_one_second(50, 5), 4500.0);
  EXPECT_GE(play_one_second(33, 17), 5500.0);
  // Whatever the pace, never more than 1 s at 7 m/s plus one slack.
  for (std::uint64_t every : {1u, 7u, 20u, 45u, 99u, 150u}) {
    EXPECT_LE(play_one_second(every, 1), 7000.0 + 70.0) << every;
  }
}

TEST(World, ClockGoingBackwardsGivesNoCredit) {
  World world(limits());
  world.add_player(kAlice);
  world.begin_window(4000);
  world.move(kAlice, 0, 0, 5000);
  const Position before = *world.position(kAlice);
  EXPECT_EQ(world.move(kAlice, 1000, 0, 4000), before);
}

TEST(World, PositionsAreClampedToTheWorld) {
  WorldLimits l = limits();
  l.tick_ms = 200'000;  // enough credit to reach any edge
  World world(l);
  world.add_player(kAlice);
  // Moves 200 s apart, in one long window: each has 700 km of credit.
  EXPECT_EQ(world.move(kAlice, -200'000, 0, 200'000), (Position{0, 25'000}));
  EXPECT_EQ(world.move(kAlice, 0, 200'000, 400'000), (Position{0, 50'000}));
  EXPECT_EQ(world.move(kAlice, 400'000, -400'000, 600'000), (Position{100'000, 0}));
  // Extreme requests do not overflow.
  EXPECT_EQ(world.move(kAlice, INT32_MIN, INT32_MIN, 800'000), (Position{0, 0}));
  EXPECT_EQ(world.move(kAlice, INT32_MAX, INT32_MAX, 1'000'000), (Position{100'000, 50'000}));
}

TEST(World, CreditFactorScalesTheCap) {
  World world(limits());
  world.add_player(kAlice);
  const Position before = *world.position(kAlice);
  world.begin_window(900);
  const Position after = world.move(kAlice, 100'000, 0, 1000, 10.0);  // one tick, x10
  EXPECT_NEAR(length(before, after), 3500.0, 1.0);
}

TEST(World, DisplaceIsClampedToo) {
  World world(limits());
  world.add_player(kBob);
  EXPECT_EQ(world.displace(kBob, 1'000'000'000'000, 0), (Position{100'000, 25'000}));
}

}  // namespace
}  // namespace gsvs::gsd
