#include "rules/movement.h"

#include <gtest/gtest.h>

#include <optional>
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
  l.max_lateness_ms = 3000;
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
  (void)checker.check(digest_at(0), sample(10'000, 10'000));
  auto steps = checker.check(digest_at(1000), sample(70'000, 10'200));
  EXPECT_EQ(steps[0].elapsed_gs_ms, 60'000u);
  EXPECT_EQ(steps[0].elapsed_vs_ms, 200u);
  EXPECT_EQ(steps[0].elapsed_credited_ms, 450u);
  EXPECT_EQ(steps[0].elapsed_used_ms, 450u);
}

// ---- The credited clock (PROTOCOL.md §8.6 "The arithmetic") ---------------------------------

// One digest of a schedule: when the VS received it, what the GS's clock read, where the player
// stood.
struct Timed {
  std::uint64_t vs_ms;
  std::uint64_t gs_ms;
  std::int32_t x_mm;
};

// Rows: a session's digests naming one player, in log order, and what the rule must make of
// them: the first digest whose step is a violation (none: every step accepted), where given the
// time each step from the second digest on is judged over (elapsed_used_ms), and whether the
// violation is late (digests_late: within the limit on the paced clock, §8.6 "Late digests").
struct ClockRow {
  const char* name;
  std::vector<Timed> digests;
  std::optional<std::size_t> violation_at;
  std::vector<std::uint64_t> used_ms = {};
  bool late = false;
};

constexpr std::uint64_t kT0 = 1'000'000;  // far above the jitter allowance, as a VS clock is

// Digests every `vs_every_ms` of VS time whose GS clock claims `gs_every_ms` each, the player
// covering 7 m/s (the speed limit, inside its tolerance) of the claimed time: from `from` on.
std::vector<Timed> digests_claiming(Timed from, std::uint64_t vs_every_ms,
                                    std::uint64_t gs_every_ms, int count) {
  std::vector<Timed> out;
  for (int i = 1; i <= count; ++i) {
    const auto n = static_cast<std::uint64_t>(i);
    out.push_back({from.vs_ms + n * vs_every_ms, from.gs_ms + n * gs_every_ms,
                   from.x_mm + static_cast<std::int32_t>(7 * n * gs_every_ms)});
  }
  return out;
}

std::vector<Timed> concatenated(std::vector<Timed> a, const std::vector<Timed>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// An honest GS walking its player at 7 m/s, a digest every `every_ms`, each received
// `delay_ms[i]` after it was sent (in order, as over one TCP connection).
std::vector<Timed> walking_with_delays(const std::vector<std::uint64_t>& delay_ms,
                                       std::uint64_t every_ms) {
  std::vector<Timed> out;
  for (std::size_t i = 0; i < delay_ms.size(); ++i) {
    const std::uint64_t sent = kT0 + i * every_ms;
    out.push_back({sent + delay_ms[i], sent, static_cast<std::int32_t>(7 * i * every_ms)});
  }
  return out;
}

// Digests every `vs_every_ms` of VS time, each claiming `gs_every_ms` and moving the player
// `step_mm`: from `from` on.
std::vector<Timed> digests_moving(Timed from, std::uint64_t vs_every_ms, std::uint64_t gs_every_ms,
                                  std::int32_t step_mm, int count) {
  std::vector<Timed> out;
  for (int i = 1; i <= count; ++i) {
    const auto n = static_cast<std::uint64_t>(i);
    out.push_back(
        {from.vs_ms + n * vs_every_ms, from.gs_ms + n * gs_every_ms, from.x_mm + step_mm * i});
  }
  return out;
}

std::vector<ClockRow> clock_rows() {
  const Timed start{kT0, kT0, 0};
  // A GS that froze its clock for 1 s of digests, its player standing still.
  std::vector<Timed> stalled{start};
  for (std::uint64_t i = 1; i <= 10; ++i) stalled.push_back({kT0 + 100 * i, kT0, 0});
  const Timed stall_end = stalled.back();
  // Claims of 0 and 260 ms in turn, a digest every 10 ms: the player moves on the claims.
  std::vector<Timed> alternating{start};
  for (std::uint64_t i = 1; i <= 20; ++i) {
    const Timed& last = alternating.back();
    const bool claim = i % 2 == 0;
    alternating.push_back(
        {last.vs_ms + 10, last.gs_ms + (claim ? 260 : 0), last.x_mm + (claim ? 1820 : 0)});
  }
  return {
      // Each step alone passes today's e = min(e_gs, e_vs + J) = 260 ms: 26 times the speed
      // limit for ever. The credited clock grants J once, at the first step.
      {"gs_claims_260_ms_every_10_ms", concatenated({start}, digests_claiming(start, 10, 260, 50)),
       2},
      // A clock that stood still and then caught up looks to the VS like digests that came
      // late (below), so both are refused as digests_late: refused all the same.
      {"stall_then_spend_the_bank_in_small_claims",
       concatenated(stalled, digests_claiming({stall_end.vs_ms, kT0, 0}, 10, 260, 50)),
       12,
       {},
       true},
      {"stall_then_jump",
       concatenated(stalled, {{stall_end.vs_ms + 100, kT0 + 1100, 7700}}),
       11,
       {},
       true},
      // A clock frozen for 10 s banks no more than max_lateness_ms on the paced clock: 80 m
      // claimed over the 10.5 s is too far for it too, and a speed violation.
      {"a_long_bank_is_no_lateness",
       [&] {
         std::vector<Timed> frozen{start};
         for (std::uint64_t i = 1; i <= 100; ++i) frozen.push_back({kT0 + 100 * i, kT0, 0});
         frozen.push_back({kT0 + 10'100, kT0 + 10'500, 80'000});
         return frozen;
       }(),
       101},
      {"alternating_stall_and_claim", alternating, 4},
      // Honest: a digest every 100 ms, one delayed by J and the next arriving in the same
      // millisecond; each step is judged on its own GS time.
      {"bunching_within_the_allowance",
       walking_with_delays({0, 0, 0, 250, 150, 50, 0}, 100),
       std::nullopt,
       {100, 100, 100, 100, 100, 100}},
      // Every delay of the session within J of the others: no step loses time.
      {"steady_delay_spread_within_the_allowance",
       walking_with_delays({40, 250, 150, 120, 250, 150, 50, 10}, 100),
       std::nullopt,
       {100, 100, 100, 100, 100, 100, 100}},
      // A digest every 500 ms (gsd's default), one delayed by 400 ms: the next step loses
      // 400 - J = 150 ms, as under the per-step rule.
      {"a_delay_over_the_allowance_loses_the_rest",
       walking_with_delays({0, 0, 0, 400, 0, 0}, 500),
       std::nullopt,
       {500, 500, 500, 350, 500}},
      // A 10 s gap (a VS restart and a resume; the GS's clock ran on): judged over the gap.
      {"gap_walked_at_the_limit",
       {start, {kT0 + 500, kT0 + 500, 3500}, {kT0 + 11'000, kT0 + 11'000, 3500 + 73'500}},
       std::nullopt,
       {500, 10'500}},
      // The terms that grew with the digest rate. A burst of digests in one instant of VS time,
      // each claiming 1 ms and moving the player 7.7 mm (the limit over 1 ms) plus 99 mm: under
      // a 1 ms floor and a decay per step the excess settled at 990 mm, under the limit, and the
      // player went 106 m in no time. With no floor and a decay by credited time it piles up.
      {"a_burst_in_one_instant", concatenated({start}, digests_moving(start, 0, 1, 107, 1000)), 11},
      // A digest every 10 ms, on time, each 99 mm over the limit for its 10 ms (about 10 m/s
      // over it): a decay per step forgave it for ever.
      {"digests_every_10_ms_each_99_mm_over",
       concatenated({start}, digests_moving(start, 10, 10, 77 + 99, 1000)), 11},
      // Honest at the limit, whatever the pace: 100 Hz for a minute, 20 Hz, 10 Hz.
      {"honest_at_100_hz_for_a_minute",
       concatenated({start}, digests_moving(start, 10, 10, 70, 6000)), std::nullopt},
      {"honest_at_20_hz", concatenated({start}, digests_moving(start, 50, 50, 350, 1200)),
       std::nullopt},
      {"honest_at_10_hz", concatenated({start}, digests_moving(start, 100, 100, 700, 600)),
       std::nullopt},
      // The GS claims a minute over the same gap: it gets the gap and J, once.
      {"gap_with_an_inflated_claim",
       {start, {kT0 + 500, kT0 + 500, 3500}, {kT0 + 11'000, kT0 + 71'000, 3500 + 420'000}},
       2,
       {500, 10'750}},
      // Late digests. gsd's pace, the link stalled for 2 s and the backlog arriving at once: the
      // second step of the backlog gets the J left, 250 ms, and the rest none; but the GS's own
      // clock
      // explains every metre, so the refusal is digests_late, not speed_violation.
      {"a_stalled_link_then_the_backlog_at_once",
       walking_with_delays({0, 0, 0, 2000, 1500, 1000, 500, 0, 0}, 500),
       4,
       {500, 500, 500, 250},
       true},
      // The same backlog with a 5 m jump in it: too far for the GS's own clock too.
      {"a_backlog_hiding_a_jump",
       [] {
         auto digests = walking_with_delays({0, 0, 0, 2000, 1500, 1000, 500, 0, 0}, 500);
         for (std::size_t i = 4; i < digests.size(); ++i) digests[i].x_mm += 5000;
         return digests;
       }(),
       4,
       {500, 500, 500, 250}},
      // Digests sent each 500 ms but delivered 400 ms apart, 2 s behind: once the credited clock
      // has caught up with the VS's, each step is credited its VS gap, 400 ms; the GS's clock
      // gives 500.
      {"a_backlog_delivered_slowly",
       walking_with_delays({0, 2000, 1900, 1800, 1700, 1600, 1500, 1400, 1300, 1200, 1100}, 500),
       7,
       {500, 500, 500, 450, 400, 400, 400},
       true},
  };
}

TEST(Physics, CreditedClockTable) {
  for (const auto& row : clock_rows()) {
    MovementChecker checker(limits());
    std::optional<std::size_t> violation_at;
    bool late = false;
    std::vector<std::uint64_t> used_ms;
    for (std::size_t i = 0; i < row.digests.size() && !violation_at; ++i) {
      const Timed& d = row.digests[i];
      const auto steps = checker.check(digest_at(d.x_mm), sample(d.gs_ms, d.vs_ms, i));
      ASSERT_EQ(steps.size(), 1u) << row.name;
      if (i > 0) used_ms.push_back(steps[0].elapsed_used_ms);
      if (steps[0].violation) {
        violation_at = i;
        late = steps[0].late;
      }
      // Never more generous than the per-step bound of the VS's own clock.
      EXPECT_LE(steps[0].elapsed_credited_ms, steps[0].elapsed_vs_ms + limits().jitter_allowance_ms)
          << row.name << " digest " << i;
    }
    EXPECT_EQ(violation_at, row.violation_at) << row.name;
    EXPECT_EQ(late, row.late) << row.name;
    if (!row.used_ms.empty()) {
      EXPECT_EQ(used_ms, row.used_ms) << row.name;
    }
  }
}

// The clock lies in [v - J, v] after every digest, and a step's credited time is the clock's
// advance between the player's two digests.
TEST(Physics, CreditedClockStaysWithinTheAllowanceOfTheVsClock) {
  MovementChecker checker(limits());
  EXPECT_FALSE(checker.credited_ms());
  (void)checker.check(digest_at(0), sample(kT0, kT0));
  EXPECT_EQ(checker.credited_ms(), kT0 - 250);
  (void)checker.check(TranscriptDigest{}, sample(kT0 + 60'000, kT0 + 100));  // names nobody
  EXPECT_EQ(checker.credited_ms(), kT0 + 100);
  (void)checker.check(TranscriptDigest{}, sample(kT0, kT0 + 1000));  // the GS clock went back
  EXPECT_EQ(checker.credited_ms(), kT0 + 750);
  const auto steps = checker.check(digest_at(0), sample(kT0 + 10, kT0 + 1100));
  EXPECT_EQ(steps[0].elapsed_credited_ms, kT0 + 850 - (kT0 - 250));
  EXPECT_EQ(steps[0].elapsed_vs_ms, 1100u);
  EXPECT_EQ(checker.credited_ms(), kT0 + 850);
  // A GS time at the top of the range cannot overflow the clock.
  (void)checker.check(TranscriptDigest{}, sample(~std::uint64_t{0}, kT0 + 1200));
  EXPECT_EQ(checker.credited_ms(), kT0 + 1200);
  // Early in the VS's epoch the lower bound stops at 0.
  MovementChecker early(limits());
  (void)early.check(digest_at(0), sample(5, 100));
  EXPECT_EQ(early.credited_ms(), 0u);
}

// A refused digest is not notarized: it does not move the clock either, and a display that
// judges on past it (OnViolation::kApplyPositions) moves both.
TEST(Physics, OnlyAnAcceptedDigestMovesTheClock) {
  for (const auto on_violation : {OnViolation::kKeepState, OnViolation::kApplyPositions}) {
    MovementChecker checker(limits());
    (void)checker.check(digest_at(0), sample(kT0, kT0));
    ASSERT_TRUE(checker.check(digest_at(50'000), sample(kT0 + 1000, kT0 + 1000), on_violation)[0]
                    .violation);
    EXPECT_EQ(checker.credited_ms(),
              on_violation == OnViolation::kKeepState ? kT0 - 250 : kT0 + 750);
  }
}

// The paced clock (§8.6 "Late digests") moves by the GS's clock alone, never ahead of the VS's:
// a late digest lifts the credited clock and not the paced one, which keeps the time.
TEST(Physics, ThePacedClockKeepsTheTimeALateDigestForfeits) {
  MovementChecker checker(limits());
  EXPECT_FALSE(checker.paced_ms());
  (void)checker.check(digest_at(0), sample(kT0, kT0));
  EXPECT_EQ(checker.paced_ms(), kT0 - 250);
  (void)checker.check(digest_at(3500), sample(kT0 + 500, kT0 + 2500));  // 2 s late
  EXPECT_EQ(checker.credited_ms(), kT0 + 2250);
  EXPECT_EQ(checker.paced_ms(), kT0 + 250);
  (void)checker.check(TranscriptDigest{}, sample(kT0 + 60'000, kT0 + 2600));  // names nobody
  EXPECT_EQ(checker.credited_ms(), kT0 + 2600);
  EXPECT_EQ(checker.paced_ms(), kT0 + 2600);
  // Lifted only to max_lateness_ms behind the VS's clock: a frozen GS clock banks no more.
  (void)checker.check(TranscriptDigest{}, sample(kT0 + 60'000, kT0 + 20'000));
  EXPECT_EQ(checker.credited_ms(), kT0 + 20'000 - 250);
  EXPECT_EQ(checker.paced_ms(), kT0 + 20'000 - limits().max_lateness_ms);
  // A step from a carried position uses the VS's gap on both clocks: never late.
  MovementChecker next(limits());
  next.carry({NotarizedPosition{kPlayer, 0, 0, kT0 - 2000, 3, 1}});
  const auto steps = next.check(digest_at(50'000), sample(kT0, kT0));
  ASSERT_TRUE(steps[0].violation);
  EXPECT_EQ(steps[0].elapsed_paced_ms, steps[0].elapsed_used_ms);
  EXPECT_FALSE(steps[0].late);
}

// A jump beside a late step is no lateness: the digest's violation is the jump, a speed
// violation, whichever player comes first in it.
TEST(Physics, AJumpBesideALateStepIsTheViolation) {
  protocol::PublicKey jumper = kPlayer;
  jumper.bytes[1] = 1;
  const auto both = [&](std::int32_t walker_mm, std::int32_t jumper_mm) {
    TranscriptDigest d = digest_at(walker_mm);
    d.players.push_back(PlayerPosition{jumper, jumper_mm, 0, 0});
    return d;
  };
  MovementChecker checker(limits());
  (void)checker.check(both(0, 0), sample(kT0, kT0));
  (void)checker.check(both(3500, 0), sample(kT0 + 500, kT0 + 2500));  // 2 s late
  const auto steps = checker.check(both(7000, 50'000), sample(kT0 + 1000, kT0 + 2500));
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_FALSE(steps[0].violation);  // late, and over the limit on the credited clock only
  EXPECT_GT(steps[0].accumulated_excess_mm, limits().max_excess_mm);
  EXPECT_TRUE(steps[1].violation);
  EXPECT_FALSE(steps[1].late);
}

TEST(Physics, TheLateDetailNamesBothClocks) {
  MovementChecker checker(limits());
  (void)checker.check(digest_at(0), sample(kT0, kT0));
  (void)checker.check(digest_at(3500), sample(kT0 + 500, kT0 + 2500));
  const auto steps = checker.check(digest_at(7000), sample(kT0 + 1000, kT0 + 2500));
  ASSERT_TRUE(steps[0].violation);
  ASSERT_TRUE(steps[0].late);
  EXPECT_EQ(describe_violation(steps[0], limits()),
            "player 0700000000000000 moved 3.500 m in 0.500 s by the GS's clock (paced 0.500 s): "
            "accumulated excess 0.000 m on that clock, within 1.000 m at 7.00 m/s x 1.10 "
            "tolerance; but its digests arrived later than the 0.250 s jitter allowance covers: "
            "VS-credited 0.250 s (VS-observed 0.000 s), accumulated excess 1.575 m > 1.000 m");
}

// A first appearance checked from an earlier session's position uses the VS-observed gap plus
// the allowance, whatever this session's clock says: the two sessions' GS clocks are not one.
TEST(Physics, AStepFromACarriedPositionIgnoresTheSessionClock) {
  MovementChecker checker(limits());
  checker.carry({NotarizedPosition{kPlayer, 0, 0, kT0 - 2000, 3, 1}});
  protocol::PublicKey other = kPlayer;
  other.bytes[1] = 1;
  TranscriptDigest first;
  first.players.push_back(PlayerPosition{other, 0, 0, 0});
  (void)checker.check(first, sample(kT0, kT0));
  const auto steps = checker.check(digest_at(16'000), sample(kT0 + 60'000, kT0 + 100));
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].from_session, 1u);
  EXPECT_EQ(steps[0].elapsed_gs_ms, 0u);
  EXPECT_EQ(steps[0].elapsed_credited_ms, 0u);
  EXPECT_EQ(steps[0].elapsed_used_ms, 2100u + 250u);
  EXPECT_FALSE(steps[0].violation);
}

TEST(Physics, TheViolationDetailNamesTheCreditedTime) {
  MovementChecker checker(limits());
  (void)checker.check(digest_at(0), sample(kT0, kT0));
  (void)checker.check(digest_at(1820), sample(kT0 + 260, kT0 + 10));
  const auto steps = checker.check(digest_at(3640), sample(kT0 + 520, kT0 + 20));
  ASSERT_TRUE(steps[0].violation);
  EXPECT_EQ(describe_violation(steps[0], limits()),
            "player 0700000000000000 moved 1.820 m in 0.010 s (GS-reported 0.260 s, "
            "VS-credited 0.010 s, VS-observed 0.010 s + 0.250 s jitter allowance): 182.00 m/s "
            "against a limit of 7.00 m/s x 1.10 tolerance; accumulated excess 1.743 m > 1.000 m");
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
