#include "rules/continuity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "rules/movement.h"
#include "rules/session_rules.h"

namespace gsvs::rules {
namespace {

using protocol::SpawnZone;
using protocol::SpawnZoneShape;

protocol::PublicKey tagged_key(std::uint8_t tag) {
  protocol::PublicKey k;
  k.bytes[0] = tag;
  return k;
}
const protocol::PublicKey kIdentity = tagged_key(1);
const protocol::PublicKey kOtherIdentity = tagged_key(2);
const protocol::PublicKey kWalkingPlayer = tagged_key(7);
constexpr protocol::SessionId kEarlierSession = 4;
constexpr std::uint64_t kEarlierDigestSeq = 40;
constexpr std::uint64_t kNewDigestSeq = 90;
constexpr std::uint64_t kLastNotarizedMs = 1'000'000;  // the earlier session's last digest
constexpr std::uint64_t kWindowMs = 60'000;

SpawnZone rectangle(std::int32_t x1, std::int32_t y1, std::int32_t x2, std::int32_t y2) {
  return SpawnZone{static_cast<std::uint8_t>(SpawnZoneShape::kRectangle), x1, y1, x2, y2};
}
SpawnZone circle(std::int32_t x, std::int32_t y, std::int32_t radius) {
  return SpawnZone{static_cast<std::uint8_t>(SpawnZoneShape::kCircle), x, y, radius, 0};
}

MovementLimits limits_with(std::uint64_t window_ms, std::vector<SpawnZone> zones) {
  MovementLimits l;             // the defaults: 7 m/s, 10 %, 0.9 decay, 1 m excess
  l.jitter_allowance_ms = 250;  // the rows' distances are set against it
  l.continuity_window_ms = window_ms;
  l.spawn_zones = std::move(zones);
  return l;
}

protocol::TranscriptDigest one_player_at(std::int32_t x_mm, std::uint8_t flags = 0) {
  protocol::TranscriptDigest d;
  d.players.push_back(protocol::PlayerPosition{kWalkingPlayer, x_mm, 0, flags});
  return d;
}

// ---- The zones themselves ----

struct ZoneRow {
  std::string name;
  SpawnZone zone;
  std::int32_t x, y;
  bool inside;
};

TEST(SpawnZones, ContainmentTable) {
  constexpr auto kMin = std::numeric_limits<std::int32_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int32_t>::max();
  const ZoneRow rows[] = {
      {"rectangle interior", rectangle(0, 0, 10, 10), 5, 5, true},
      {"rectangle corner is inside", rectangle(0, 0, 10, 10), 10, 0, true},
      {"just past the rectangle", rectangle(0, 0, 10, 10), 11, 5, false},
      {"circle centre", circle(100, 100, 5), 100, 100, true},
      {"circle edge is inside", circle(100, 100, 5), 103, 104, true},
      {"just past the circle", circle(100, 100, 5), 104, 104, false},
      {"circle of radius 0 holds its centre", circle(3, 3, 0), 3, 3, true},
      {"the far corner of a huge circle, no overflow", circle(kMin, kMin, kMax), kMax, kMax, false},
      {"a huge circle holds its own rim", circle(0, 0, kMax), kMax, 0, true},
      {"a shape no decoder accepts holds nothing", SpawnZone{9, 0, 0, 10, 10}, 5, 5, false},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(in_spawn_zone(row.zone, row.x, row.y), row.inside) << row.name;
  }
  EXPECT_TRUE(spawn_place_allowed({}, kMax, kMin)) << "no zones: anywhere";
}

// ---- Continuity across sessions and spawn zones, one rule (PROTOCOL.md §8.6) ----

struct ContinuityRow {
  std::string name;
  protocol::PublicKey earlier_identity;  // whose session notarized the player at x = 0
  std::uint64_t window_ms;
  std::vector<SpawnZone> zones;
  std::uint64_t join_after_ms;    // the new session's JoinAccept, after the last notarized digest
  std::uint64_t digest_after_ms;  // its first digest naming the player
  std::int32_t x_mm;
  std::uint8_t flags;
  bool checked;  // a step from the earlier position (else a free first appearance)
  bool violation;
};

TEST(Continuity, FirstPositionOfANewSessionTable) {
  constexpr std::uint8_t kSpawn = protocol::kPlayerSpawn;
  const std::vector<SpawnZone> spawn_area = {rectangle(500'000, -1000, 600'000, 1000)};
  const ContinuityRow rows[] = {
      {"an honest GS reconnects; its players did not move",
       kIdentity,
       kWindowMs,
       {},
       500,
       1000,
       0,
       0,
       true,
       false},
      {"an honest GS reconnects; a player walked at the limit",
       kIdentity,
       kWindowMs,
       {},
       500,
       1000,
       7000,
       0,
       true,
       false},
      {"a rogue GS reconnects and teleports a player",
       kIdentity,
       kWindowMs,
       {},
       500,
       1000,
       1'000'000,
       0,
       true,
       true},
      {"the gap buys distance: 100 s at 7 m/s",
       kIdentity,
       200'000,
       {},
       500,
       100'000,
       700'000,
       0,
       true,
       false},
      {"a reconnect after the window passes whatever the position",
       kIdentity,
       kWindowMs,
       {},
       kWindowMs,
       kWindowMs + 500,
       1'000'000,
       0,
       false,
       false},
      {"a window of 0 carries nothing", kIdentity, 0, {}, 500, 1000, 1'000'000, 0, false, false},
      {"another identity's players are not this one's",
       kOtherIdentity,
       kWindowMs,
       {},
       500,
       1000,
       1'000'000,
       0,
       false,
       false},
      {"no zones: a spawn is free anywhere, as before zones",
       kIdentity,
       kWindowMs,
       {},
       500,
       1000,
       1'000'000,
       kSpawn,
       false,
       false},
      {"a legitimate respawn inside a zone is free", kIdentity, kWindowMs, spawn_area, 500, 1000,
       550'000, kSpawn, false, false},
      {"a spawn outside every zone, too far, is revoked", kIdentity, kWindowMs, spawn_area, 500,
       1000, 1'000'000, kSpawn, true, true},
      {"a spawn outside every zone, near enough, passes as a move", kIdentity, kWindowMs,
       spawn_area, 500, 1000, 5000, kSpawn, true, false},
  };
  for (const auto& row : rows) {
    ContinuityLedger ledger;
    ledger.record(row.earlier_identity, {NotarizedPosition{kWalkingPlayer, 0, 0, kLastNotarizedMs,
                                                           kEarlierDigestSeq, kEarlierSession}});
    MovementChecker checker(limits_with(row.window_ms, row.zones));
    checker.carry(
        ledger.carried_into(kIdentity, kLastNotarizedMs + row.join_after_ms, row.window_ms, 4096));
    const auto steps =
        checker.check(one_player_at(row.x_mm, row.flags),
                      DigestSample{1, kLastNotarizedMs + row.digest_after_ms, kNewDigestSeq});
    ASSERT_EQ(steps.size(), 1u) << row.name;
    const MovementStep& step = steps[0];
    EXPECT_EQ(step.from_session.has_value(), row.checked) << row.name;
    EXPECT_EQ(step.violation, row.violation) << row.name << ": excess " << step.excess_mm;
    if (row.checked) {
      EXPECT_EQ(step.from_log_seq, kEarlierDigestSeq) << row.name;
      EXPECT_EQ(step.to_log_seq, kNewDigestSeq) << row.name;
      EXPECT_EQ(step.elapsed_gs_ms, 0u) << row.name << ": the GS's clock is not used";
      EXPECT_EQ(step.elapsed_used_ms, row.digest_after_ms + 250) << row.name;  // + the allowance
    }
  }
}

// Rows: the player's last notarized position under the identity is at x = 0 at
// kLastNotarizedMs, with a free spawn `spawned_before_ms` before it; the new session joins 500 ms
// later and first names the player with the spawn flag `digest_after_ms` after kLastNotarizedMs.
struct CarriedSpawnRow {
  std::string name;
  std::vector<SpawnZone> zones;
  std::uint64_t spawned_before_ms;
  std::uint64_t digest_after_ms;
  std::int32_t x_mm;
  bool free;  // a free spawn (else a step from the carried position)
  bool violation;
};

TEST(Continuity, TheSpawnRateLimitCarriesAcrossSessionsTable) {
  const std::vector<SpawnZone> spawn_area = {rectangle(500'000, -1000, 600'000, 1000)};
  const CarriedSpawnRow rows[] = {
      {"an honest GS restarts and respawns its players at its spawn point long after their last "
       "spawn",
       spawn_area, 30'000, 1000, 550'000, true, false},
      {"no zones, long after the last spawn: free anywhere, as inside one session",
       {},
       30'000,
       1000,
       1'000'000,
       true,
       false},
      {"a rogue reconnects and spawns its players far away within the rate limit",
       {},
       1000,
       1000,
       1'000'000,
       false,
       true},
      {"inside a zone within the rate limit: checked from the carried position", spawn_area, 1000,
       1000, 550'000, false, true},
      {"exactly spawn_min_interval_ms after the carried spawn: free",
       {},
       4000,
       1000,
       1'000'000,
       true,
       false},
      {"one millisecond short of the interval: checked", {}, 3999, 1000, 1'000'000, false, true},
      {"no free spawn carried (0): free", {}, kLastNotarizedMs, 1000, 1'000'000, true, false},
  };
  for (const auto& row : rows) {
    ContinuityLedger ledger;
    ledger.record(kIdentity,
                  {NotarizedPosition{kWalkingPlayer, 0, 0, kLastNotarizedMs, kEarlierDigestSeq,
                                     kEarlierSession, kLastNotarizedMs - row.spawned_before_ms}});
    MovementChecker checker(limits_with(kWindowMs, row.zones));
    checker.carry(ledger.carried_into(kIdentity, kLastNotarizedMs + 500, kWindowMs, 4096));
    const auto steps =
        checker.check(one_player_at(row.x_mm, protocol::kPlayerSpawn),
                      DigestSample{1, kLastNotarizedMs + row.digest_after_ms, kNewDigestSeq});
    ASSERT_EQ(steps.size(), 1u) << row.name;
    EXPECT_EQ(steps[0].spawn, row.free) << row.name;
    EXPECT_EQ(steps[0].from_session.has_value(), !row.free) << row.name;
    EXPECT_EQ(steps[0].violation, row.violation) << row.name;
    if (row.violation) {
      EXPECT_EQ(steps[0].from_log_seq, kEarlierDigestSeq)
          << row.name << ": cites the earlier digest";
    }
  }
}

TEST(Continuity, TheCarriedSpawnStaysThePlayersLastUntilItSpawnsAgain) {
  constexpr std::uint64_t kSpawnedMs = kLastNotarizedMs - 1000;
  MovementChecker checker(limits_with(kWindowMs, {}));
  checker.carry({NotarizedPosition{kWalkingPlayer, 0, 0, kLastNotarizedMs, kEarlierDigestSeq,
                                   kEarlierSession, kSpawnedMs}});
  // Named first without the flag, near its carried position: a checked step, no spawn.
  auto steps = checker.check(one_player_at(100), DigestSample{1, kLastNotarizedMs + 1000, 91});
  ASSERT_FALSE(steps[0].violation);
  // A spawn flag within the rate limit of the carried spawn is a normal move, not a teleport.
  steps = checker.check(one_player_at(1'000'000, protocol::kPlayerSpawn),
                        DigestSample{2, kLastNotarizedMs + 2000, 92});
  EXPECT_FALSE(steps[0].spawn);
  EXPECT_TRUE(steps[0].violation);
  // The ledger gets the carried spawn back with the session's positions.
  auto notarized = checker.notarized(5);
  ASSERT_EQ(notarized.size(), 1u);
  EXPECT_EQ(notarized[0].last_spawn_vs_ms, kSpawnedMs);
  // Once the interval has passed, the spawn is free and becomes the last one.
  steps = checker.check(one_player_at(1'000'000, protocol::kPlayerSpawn),
                        DigestSample{3, kSpawnedMs + 5000, 93});
  EXPECT_TRUE(steps[0].spawn);
  notarized = checker.notarized(5);
  EXPECT_EQ(notarized[0].last_spawn_vs_ms, kSpawnedMs + 5000);
}

TEST(ContinuityReplay, ReplaysSessionsInLogOrderWithTheirSpawns) {
  protocol::JoinAccept first;
  first.session_id = 1;
  first.gs_identity = kIdentity;
  announce_limits(limits_with(kWindowMs, {}), first);
  protocol::JoinAccept second = first;
  second.session_id = 2;
  ContinuityReplay replay;
  replay.joined(first, 1000);
  replay.notarized(1, one_player_at(0, protocol::kPlayerSpawn), DigestSample{1, 2000, 11});
  replay.notarized(1, one_player_at(3000), DigestSample{2, 3000, 12});
  // Not free (sooner than the interval): the spawn at 2000 stays the last.
  replay.notarized(1, one_player_at(3500, protocol::kPlayerSpawn), DigestSample{3, 4000, 13});
  EXPECT_EQ(replay.carried_into(1)->size(), 0u);
  replay.ended(1);
  EXPECT_EQ(replay.carried_into(1), nullptr);
  replay.joined(second, 4500);
  const auto* carried = replay.carried_into(2);
  ASSERT_NE(carried, nullptr);
  ASSERT_EQ(carried->size(), 1u);
  EXPECT_EQ((*carried)[0],
            (NotarizedPosition{kWalkingPlayer, 3500, 0, 4000, 13, 1, /*last_spawn_vs_ms=*/2000}));
  // A session never joined in the stretch is ignored.
  replay.notarized(7, one_player_at(0), DigestSample{1, 5000, 20});
  replay.ended(7);
  EXPECT_EQ(replay.ledger().positions(), 1u);
}

// Rows: a player's second digest in one session, 6 s after its first (the spawn rate limit is
// met unless the row says otherwise).
struct ZoneSpawnRow {
  std::string name;
  std::vector<SpawnZone> zones;
  std::uint64_t after_ms;
  std::int32_t x_mm;
  bool spawn;  // taken as a free spawn
  bool violation;
};

TEST(SpawnZones, ASpawnOutsideEveryZoneIsANormalMoveTable) {
  const std::vector<SpawnZone> zones = {rectangle(100'000, -10, 110'000, 10),
                                        circle(-200'000, 0, 5000)};
  const ZoneSpawnRow rows[] = {
      {"no zones: free anywhere (as before zones)", {}, 6000, 1'000'000, true, false},
      {"inside the rectangle: free", zones, 6000, 105'000, true, false},
      {"inside the circle: free", zones, 6000, -203'000, true, false},
      {"outside every zone, too far: revoked", zones, 6000, 1'000'000, false, true},
      {"outside every zone, within the speed limit: passes", zones, 6000, 40'000, false, false},
      {"inside a zone but sooner than spawn_min_interval_ms: checked", zones, 1000, 105'000, false,
       true},
  };
  for (const auto& row : rows) {
    MovementChecker checker(limits_with(0, row.zones));
    (void)checker.check(one_player_at(0, protocol::kPlayerSpawn), DigestSample{1000, 1000, 1});
    const auto steps = checker.check(one_player_at(row.x_mm, protocol::kPlayerSpawn),
                                     DigestSample{1000 + row.after_ms, 1000 + row.after_ms, 2});
    ASSERT_EQ(steps.size(), 1u) << row.name;
    EXPECT_EQ(steps[0].spawn, row.spawn) << row.name;
    EXPECT_EQ(steps[0].violation, row.violation) << row.name;
  }
}

TEST(Continuity, ARefusedDigestIsNotNotarized) {
  MovementChecker checker(limits_with(0, {}));
  (void)checker.check(one_player_at(0), DigestSample{1000, 1000, 1});
  const auto steps = checker.check(one_player_at(1'000'000), DigestSample{2000, 2000, 2});
  ASSERT_TRUE(steps[0].violation);
  const auto notarized = checker.notarized(3);
  ASSERT_EQ(notarized.size(), 1u);
  EXPECT_EQ(notarized[0].x_mm, 0);
  EXPECT_EQ(notarized[0].log_seq, 1u);
  EXPECT_EQ(notarized[0].session_id, 3u);
}

protocol::TranscriptDigest players_at_zero(std::initializer_list<std::uint8_t> tags) {
  protocol::TranscriptDigest d;
  for (const auto tag : tags)
    d.players.push_back(protocol::PlayerPosition{tagged_key(tag), 0, 0, 0});
  return d;
}

TEST(Continuity, CarriedPlayersCountAgainstTheCapFromTheStart) {
  MovementLimits l = limits_with(kWindowMs, {});
  l.max_players = 3;
  MovementChecker checker(l);
  checker.carry({NotarizedPosition{tagged_key(20), 0, 0, 1000, 1, 1}});
  // One carried, two new: three, at the cap.
  EXPECT_EQ(checker.players_after(players_at_zero({30, 31})), 3u);
  EXPECT_FALSE(checker.over_player_cap(players_at_zero({30, 31})));
  (void)checker.check(players_at_zero({30, 31}), DigestSample{1, 2000, 2});
  // A third new key is over it, though the carried player was never named.
  EXPECT_EQ(checker.players_after(players_at_zero({32})), 4u);
  EXPECT_TRUE(checker.over_player_cap(players_at_zero({32})));
  EXPECT_EQ(checker.players_carried(), 1u);
  EXPECT_NE(describe_player_cap(4, 1, l).find("to 4 (1 of them carried from the identity's "
                                              "earlier session), over max_players_per_session 3"),
            std::string::npos)
      << describe_player_cap(4, 1, l);
  // Naming the carried player costs nothing more: it was counted already.
  EXPECT_FALSE(checker.over_player_cap(players_at_zero({20})));
}

// The attack the cap with carried players closes: a GS whose player was somewhere names throwaway
// keys in a middle session, as many as the cap allows, to push that player out of the identity's
// ledger, and joins again to place the player anywhere for free. Rows: how many throwaway keys
// the middle session names (one per digest), with a cap of 4.
struct FlushRow {
  std::string name;
  std::size_t throwaway_keys;
  std::size_t refused;  // digests over the cap (the VS revokes the session at the first)
};

TEST(Continuity, NoSessionCanPushACarriedPlayerOutOfTheLedgerTable) {
  const FlushRow rows[] = {
      {"an honest middle session with three players of its own", 3, 0},
      {"a fourth key would push the carried player out: over the cap", 4, 1},
      {"four thousand keys: every one after the third over the cap", 4000, 3997},
  };
  for (const auto& row : rows) {
    protocol::JoinAccept accept;
    accept.gs_identity = kIdentity;
    MovementLimits l = limits_with(kWindowMs, {});
    l.max_players = 4;
    announce_limits(l, accept);
    ContinuityReplay replay;
    accept.session_id = 1;
    replay.joined(accept, 1000);
    replay.notarized(1, one_player_at(0), DigestSample{1, 2000, 10});
    replay.ended(1);

    accept.session_id = 2;
    replay.joined(accept, 3000);
    MovementChecker middle(l);  // what the VS judges the middle session's digests with
    middle.carry(*replay.carried_into(2));
    std::size_t refused = 0;
    for (std::size_t i = 0; i < row.throwaway_keys; ++i) {
      protocol::TranscriptDigest digest;
      protocol::PublicKey key;
      key.bytes[0] = 0xee;
      key.bytes[1] = static_cast<std::uint8_t>(i);
      key.bytes[2] = static_cast<std::uint8_t>(i >> 8);
      digest.players.push_back(protocol::PlayerPosition{key, 0, 0, 0});
      if (middle.over_player_cap(digest)) {
        ++refused;  // refused whole: not notarized, so the replay never sees it
        continue;
      }
      const DigestSample sample{i, 4000 + i, 100 + i};
      (void)middle.check(digest, sample);
      replay.notarized(2, digest, sample);
    }
    replay.ended(2);
    EXPECT_EQ(refused, row.refused) << row.name;

    accept.session_id = 3;
    replay.joined(accept, 9000);
    const auto* carried = replay.carried_into(3);
    ASSERT_NE(carried, nullptr);
    bool held = false;
    for (const auto& position : *carried) {
      if (position.player != kWalkingPlayer) continue;
      held = true;
      EXPECT_EQ(position.log_seq, 10u) << row.name << ": the first session's digest";
      EXPECT_EQ(position.session_id, 1u) << row.name;
    }
    EXPECT_TRUE(held) << row.name << ": the player's position was pushed out of the ledger";
    EXPECT_LE(replay.ledger().positions(), 4u) << row.name << ": memory stays within the cap";
  }
}

TEST(ContinuityLedger, HoldsWhatTheIdentitysLastSessionLeft) {
  ContinuityLedger ledger;
  ledger.record(kIdentity, {NotarizedPosition{tagged_key(10), 1, 0, 1000, 5, 1}});
  // The next session named player 10 again and a new player 11.
  ledger.record(kIdentity, {NotarizedPosition{tagged_key(10), 2, 0, 2000, 8, 2},
                            NotarizedPosition{tagged_key(11), 3, 0, 2000, 8, 2}});
  auto carried = ledger.carried_into(kIdentity, 3000, 10'000, 10);
  ASSERT_EQ(carried.size(), 2u);
  EXPECT_EQ(carried[0].x_mm, 3) << "most recent first; ties by player key, the greater first";
  EXPECT_EQ(carried[1].x_mm, 2) << "a later position replaces the earlier one";
  // A new session's own cap bounds what it starts from (a reload may have lowered it).
  EXPECT_EQ(ledger.carried_into(kIdentity, 3000, 10'000, 1).size(), 1u);
  // Strictly within the window: a position exactly window_ms old is no longer carried.
  EXPECT_EQ(ledger.carried_into(kIdentity, 2000 + 1000, 1000, 10).size(), 0u);
  // Nor a position from after the JoinAccept.
  EXPECT_TRUE(ledger.carried_into(kIdentity, 1999, 10'000, 10).empty());
  // A session replaces what the identity held: what it was not carried was outside the window.
  ledger.record(kIdentity, {NotarizedPosition{tagged_key(12), 4, 0, 2500, 9, 3, 1500}});
  EXPECT_EQ(ledger.positions(), 1u);
  // A last spawn as old as the window is carried as none, while its position still holds.
  EXPECT_EQ(ledger.carried_into(kIdentity, 2499 + 1000, 1000, 10)[0].last_spawn_vs_ms, 0u);
  EXPECT_EQ(ledger.carried_into(kIdentity, 2600, 1200, 10)[0].last_spawn_vs_ms, 1500u);
  // A session that leaves nothing (it named nobody and was carried nothing) empties it.
  ledger.record(kOtherIdentity, {NotarizedPosition{tagged_key(13), 4, 0, 2500, 9, 4}});
  ledger.record(kOtherIdentity, {});
  EXPECT_EQ(ledger.identities(), 1u);
  ledger.forget_before(2600);
  EXPECT_EQ(ledger.identities(), 0u);
  EXPECT_EQ(ledger.positions(), 0u);
}

TEST(Continuity, SessionRulesCiteTheEarlierSessionsDigest) {
  SessionStart start;
  start.accept.session_id = 9;
  start.accept.gs_identity = kIdentity;
  start.accept.heartbeat_timeout_ms = 100'000;
  announce_limits(limits_with(kWindowMs, {}), start.accept);
  start.accept_position = 80;
  start.accept_vs_ms = kLastNotarizedMs + 500;
  SessionRules rules(start);
  rules.carry({NotarizedPosition{kWalkingPlayer, 0, 0, kLastNotarizedMs, kEarlierDigestSeq,
                                 kEarlierSession}});
  protocol::TranscriptDigest digest = one_player_at(1'000'000);
  digest.session_id = 9;
  digest.gs_counter = 1;
  const protocol::AnyMessage message(digest);
  const Judgement j = rules.judge(
      Received{&message, {}, "TranscriptDigest", true, kNewDigestSeq, kLastNotarizedMs + 1000});
  ASSERT_EQ(j.verdict, Verdict::kSpeedViolation);
  EXPECT_EQ(j.evidence(kNewDigestSeq),
            (std::vector<std::uint64_t>{kEarlierDigestSeq, kNewDigestSeq}));
  EXPECT_NE(j.why.find("since its last notarized position in session 4"), std::string::npos)
      << j.why;
  // The refused digest notarizes nobody: the player is left at its carried position.
  const auto left = rules.notarized();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].log_seq, kEarlierDigestSeq);
  EXPECT_EQ(left[0].x_mm, 0);
}

}  // namespace
}  // namespace gsvs::rules
