#include "gsd/world.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gsvs::gsd {
namespace {

const crypto::PublicKey kAlice = crypto::sha256(as_bytes("alice"));
const crypto::PublicKey kBob = crypto::sha256(as_bytes("bob"));

WorldLimits limits() {
  WorldLimits l;
  l.width_mm = 100'000;
  l.height_mm = 50'000;
  l.max_speed_mm_s = 7000.0;  // 7 mm per ms
  l.max_step_ms = 50;
  return l;
}

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

// Each row: elapsed since the previous move (0 = first move), requested (dx, dy), expected
// applied distance.
struct SpeedCase {
  std::uint64_t elapsed_ms;
  std::int32_t dx, dy;
  double expected_mm;
};

TEST(World, DisplacementIsCappedAtMaxSpeedTimesElapsed) {
  const SpeedCase cases[] = {
      {0, 100'000, 0, 350.0},     // first move: one step (50 ms) at 7 mm/ms
      {0, 100, 0, 100.0},         // within the cap: applied as asked
      {10, 1000, 0, 70.0},        // 10 ms since the last move
      {10, 0, -1000, 70.0},       // any direction
      {10, 600, 800, 70.0},       // diagonal: the length is capped, not each axis
      {20, 30, 40, 50.0},         // under the cap
      {5000, 100'000, 0, 350.0},  // an idle player gets at most one step of credit
      {0, 0, 0, 0.0},
  };
  for (const auto& c : cases) {
    World world(limits());
    world.add_player(kAlice);
    std::uint64_t now = 1'000'000;
    if (c.elapsed_ms != 0) {
      world.move(kAlice, 0, 0, now);  // the previous move
      now += c.elapsed_ms;
    }
    const Position before = *world.position(kAlice);
    const Position after = world.move(kAlice, c.dx, c.dy, now);
    EXPECT_NEAR(length(before, after), c.expected_mm, 1.0)
        << "elapsed " << c.elapsed_ms << " move (" << c.dx << ", " << c.dy << ")";
    EXPECT_LE(length(before, after), c.expected_mm + 1e-9);
  }
}

TEST(World, TheCapNeverLetsAPlayerOutrunTheLimitOverManyInputs) {
  World world(limits());
  world.add_player(kAlice);
  const Position start = *world.position(kAlice);
  std::uint64_t now = 1'000'000;
  // 200 inputs asking for 10 m each, every 5 ms: 1 s of play.
  for (int i = 0; i < 200; ++i) {
    now += 5;
    world.move(kAlice, 10'000, 0, now);
  }
  // 1 s at 7 m/s, plus the first move's one-step credit.
  EXPECT_LE(length(start, *world.position(kAlice)), 7000.0 + 350.0);
  EXPECT_GE(length(start, *world.position(kAlice)), 6500.0);
}

TEST(World, ClockGoingBackwardsGivesNoCredit) {
  World world(limits());
  world.add_player(kAlice);
  world.move(kAlice, 0, 0, 5000);
  const Position before = *world.position(kAlice);
  EXPECT_EQ(world.move(kAlice, 1000, 0, 4000), before);
}

TEST(World, PositionsAreClampedToTheWorld) {
  WorldLimits l = limits();
  l.max_step_ms = 100'000;  // enough credit to reach any edge
  World world(l);
  world.add_player(kAlice);
  // Moves 200 s apart: each has the full step of credit (700 km).
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
  const Position after = world.move(kAlice, 100'000, 0, 1000, 10.0);
  EXPECT_NEAR(length(before, after), 3500.0, 1.0);
}

TEST(World, DisplaceIsClampedToo) {
  World world(limits());
  world.add_player(kBob);
  EXPECT_EQ(world.displace(kBob, 1'000'000'000'000, 0), (Position{100'000, 25'000}));
}

}  // namespace
}  // namespace gsvs::gsd
