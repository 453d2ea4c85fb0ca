// Continuity across sessions and spawn zones (PROTOCOL.md §8.6), with vsd as a real process on
// 127.0.0.1 and a GS scripted by hand: a GS that joins again and teleports a player is revoked,
// an honest one whose players did not move is not, a spawn outside every zone is a move, and a
// rejoin buys no spawn within the rate limit (also after a restart of the VS).
// The rule itself is tabled in tests/rules/continuity_test.cpp.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "protocol/clock.h"
#include "tests/support/vs_fixture.h"
#include "vsd/config.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

class VsdContinuity : public ::testing::Test {
 protected:
  void start(std::string extra = {}) {
    VsOptions options;
    options.heartbeat_timeout_ms = 800;  // the first session of a test lapses
    options.extra = std::move(extra);
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{gs_.public_key()},
                                      std::vector<Hash32>{build_}, options);
  }
  // One digest naming the player at x_mm; whether the VS receipted it.
  static bool notarized(ScriptedGs& gs, std::int32_t x_mm, std::uint8_t flags = 0) {
    PlayerPosition p;
    p.player = kPlayer;
    p.x_mm = x_mm;
    p.flags = flags;
    gs.send_signed(gs.make_digest({p}, unix_time_ms()));
    return gs.expect<ProtectedReceipt>(std::chrono::seconds(5)).has_value();
  }
  // The session ends the way an honest GS's does when its link breaks: it goes silent.
  void lapse(ScriptedGs& gs) {
    auto revocation = gs.expect<Revocation>(std::chrono::seconds(5));
    ASSERT_TRUE(revocation.has_value()) << vs_->process().output();
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(RevocationReason::kMissedHeartbeats));
  }
  // A first session of the identity: the player spawns at x = 0, then the GS goes silent.
  void spawn_then_lapse() {
    ScriptedGs first(vs_->port(), gs_, build_);
    first.join();
    ASSERT_TRUE(notarized(first, 0, kPlayerSpawn));
    lapse(first);
  }
  // A digest placing the player at x_mm, answered with a speed_violation revocation.
  Revocation expect_revoked_for(ScriptedGs& gs, std::int32_t x_mm, std::uint8_t flags = 0) {
    PlayerPosition p;
    p.player = kPlayer;
    p.x_mm = x_mm;
    p.flags = flags;
    gs.send_signed(gs.make_digest({p}, unix_time_ms()));
    auto revocation = gs.expect<Revocation>(std::chrono::seconds(5));
    EXPECT_TRUE(revocation.has_value()) << vs_->process().output();
    if (!revocation) return {};
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(RevocationReason::kSpeedViolation))
        << revocation->detail;
    return *revocation;
  }
  // The log position of the received TranscriptDigest that session `session` sent last.
  std::uint64_t last_digest_of(SessionId session) {
    std::uint64_t seq = 0;
    for (const auto& entry : vs_->entries()) {
      if (entry.header.session_id == session &&
          entry.header.kind == MessageKind::kTranscriptDigest &&
          entry.header.direction == chains::Direction::kReceived) {
        seq = entry.header.seq;
      }
    }
    return seq;
  }
  void expect_store_verifies() {
    std::string output;
    EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  }

  static inline const crypto::PublicKey kPlayer = crypto::SecretKey::generate().public_key();
  TempDir dir_;
  crypto::SecretKey gs_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("honest build 1.0"));
  std::unique_ptr<VsProcess> vs_;
};

TEST_F(VsdContinuity, ARejoinThatTeleportsAPlayerIsRevokedAndAnHonestRejoinPasses) {
  start();
  {
    ScriptedGs first(vs_->port(), gs_, build_);
    first.join();
    ASSERT_TRUE(notarized(first, 0));
    lapse(first);
  }
  {
    // The honest counterpart: it joins again and its player is where it was.
    ScriptedGs honest(vs_->port(), gs_, build_);
    honest.join();
    ASSERT_TRUE(notarized(honest, 0)) << vs_->process().output();
    lapse(honest);
  }
  const SessionId honest_session = 2;
  const std::uint64_t last_notarized = last_digest_of(honest_session);
  ScriptedGs rogue(vs_->port(), gs_, build_);
  rogue.join();
  // 1 km from where the last session left it, a second or two later.
  const Revocation revocation = expect_revoked_for(rogue, 1'000'000);
  ASSERT_EQ(revocation.evidence.size(), 2U);
  EXPECT_EQ(revocation.evidence[0], last_notarized) << "the earlier session's digest";
  EXPECT_EQ(revocation.evidence[1], last_digest_of(rogue.session_id()));
  EXPECT_NE(revocation.detail.find("in session " + std::to_string(honest_session)),
            std::string::npos)
      << revocation.detail;
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

// A GS cannot push a player's position out of the ledger by naming throwaway keys in a session
// between: the carried player counts against that session's cap, so the throwaways are revoked
// at the cap and the player is still held to where it was in the next session (PROTOCOL.md §8.6,
// "Continuity across sessions").
TEST_F(VsdContinuity, ThrowawayKeysInAMiddleSessionCannotFreeACarriedPlayer) {
  start("max_players_per_session = 3\n");
  spawn_then_lapse();
  {
    ScriptedGs middle(vs_->port(), gs_, build_);
    middle.join();
    for (int i = 0; i < 2; ++i) {  // with the carried player: at the cap
      PlayerPosition p;
      p.player = crypto::SecretKey::generate().public_key();
      middle.send_signed(middle.make_digest({p}, unix_time_ms()));
      ASSERT_TRUE(middle.expect<ProtectedReceipt>(std::chrono::seconds(5)))
          << vs_->process().output();
    }
    PlayerPosition over;
    over.player = crypto::SecretKey::generate().public_key();
    middle.send_signed(middle.make_digest({over}, unix_time_ms()));
    const auto revocation = middle.expect<Revocation>(std::chrono::seconds(5));
    ASSERT_TRUE(revocation.has_value()) << vs_->process().output();
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(RevocationReason::kTooManyPlayers));
    EXPECT_NE(revocation->detail.find("(1 of them carried"), std::string::npos)
        << revocation->detail;
  }
  // A too_many_players revocation does not quarantine: the GS joins again, and the player it
  // tried to free is still held to its position in the first session.
  ScriptedGs rogue(vs_->port(), gs_, build_);
  rogue.join();
  const Revocation revocation = expect_revoked_for(rogue, 1'000'000);
  ASSERT_EQ(revocation.evidence.size(), 2U);
  EXPECT_EQ(revocation.evidence[0], last_digest_of(1)) << "the first session's digest";
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
  // The middle session's dispute report carries the first session, whose player counted against
  // the cap, and verify-report confirms the verdict from the report alone.
  const std::string report = dir_.file("report.json");
  const std::string vs_key = to_hex(vs_->public_key());
  ChildProcess make_report({program("audit-cli"), "report", vs_->store_path(), "--session", "2",
                            "-o", report, "--vs-pubkey", vs_key},
                           dir_.file("report.out"));
  ASSERT_EQ(make_report.wait(std::chrono::seconds(60)), 0) << make_report.output();
  ChildProcess check_report({program("audit-cli"), "verify-report", report, "--vs-pubkey", vs_key},
                            dir_.file("verify-report.out"));
  EXPECT_EQ(check_report.wait(std::chrono::seconds(60)), 0) << check_report.output();
  EXPECT_NE(check_report.output().find("confirmed"), std::string::npos) << check_report.output();
}

TEST_F(VsdContinuity, PositionsSurviveARestartOfTheVs) {
  start();
  {
    ScriptedGs first(vs_->port(), gs_, build_);
    first.join();
    ASSERT_TRUE(notarized(first, 0));
    lapse(first);
  }
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start();  // rebuilt from the log: the receipts of the sessions that ended within the window
  ScriptedGs rogue(vs_->port(), gs_, build_);
  rogue.join();
  expect_revoked_for(rogue, -2'000'000);
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

TEST_F(VsdContinuity, ASpawnOutsideEveryZoneIsAMoveAndOneInsideIsFree) {
  start(
      "spawn_zones = [\"rect:400000,-1000,600000,1000\", \"circle:-500000,0,1000\"]\n"
      "spawn_min_interval_ms = 0\n");
  ScriptedGs gs(vs_->port(), gs_, build_);
  const JoinAccept accept = gs.join();
  ASSERT_EQ(accept.spawn_zones.size(), 2U) << "the zones are signed into the JoinAccept";
  ASSERT_TRUE(notarized(gs, 0));
  // Legitimate respawns, each inside a zone, far from the last position.
  ASSERT_TRUE(notarized(gs, 500'000, kPlayerSpawn)) << vs_->process().output();
  ASSERT_TRUE(notarized(gs, -500'000, kPlayerSpawn)) << vs_->process().output();
  // A spawn outside every zone, 1.5 km away: checked as a move.
  expect_revoked_for(gs, 1'000'000, kPlayerSpawn);
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

// The spawn rate limit carries across sessions (§8.6 "Spawn zones"): the player spawned at x = 0
// in the first session; the second session names it with the spawn flag 1 km away.
TEST_F(VsdContinuity, ARejoinBuysNoSpawnWithinTheRateLimit) {
  start("spawn_min_interval_ms = 600000\n");
  ASSERT_NO_FATAL_FAILURE(spawn_then_lapse());
  const std::uint64_t spawned = last_digest_of(1);
  ScriptedGs rogue(vs_->port(), gs_, build_);
  rogue.join();
  const Revocation revocation = expect_revoked_for(rogue, 1'000'000, kPlayerSpawn);
  ASSERT_EQ(revocation.evidence.size(), 2U);
  EXPECT_EQ(revocation.evidence[0], spawned) << "the earlier session's digest";
  EXPECT_NE(revocation.detail.find("in session 1"), std::string::npos) << revocation.detail;
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

// The honest counterpart: a GS that restarts and respawns its players far from where they were,
// once their last spawn is past the rate limit, is not revoked.
TEST_F(VsdContinuity, AnHonestRestartRespawnsItsPlayersOnceTheirLastSpawnIsPast) {
  start("spawn_min_interval_ms = 1\n");
  ASSERT_NO_FATAL_FAILURE(spawn_then_lapse());
  ScriptedGs restarted(vs_->port(), gs_, build_);
  restarted.join();
  ASSERT_TRUE(notarized(restarted, 1'000'000, kPlayerSpawn)) << vs_->process().output();
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

TEST_F(VsdContinuity, TheLedgerRebuiltAtStartCarriesTheLastSpawn) {
  const std::string config = "spawn_min_interval_ms = 600000\n";
  start(config);
  ASSERT_NO_FATAL_FAILURE(spawn_then_lapse());
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start(config);  // the ledger replayed from the log, spawn times included
  ScriptedGs rogue(vs_->port(), gs_, build_);
  rogue.join();
  const Revocation revocation = expect_revoked_for(rogue, 1'000'000, kPlayerSpawn);
  ASSERT_EQ(revocation.evidence.size(), 2U);
  EXPECT_EQ(revocation.evidence[0], last_digest_of(1));
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

// A session that a graceful stop leaves live is rebuilt at the next start from the log, with
// what it carried at its JoinAccept: a player it had not named yet is still held to its position
// in the earlier session after the resume.
TEST_F(VsdContinuity, ASessionLeftLiveKeepsWhatItCarriedAcrossARestart) {
  start();
  ASSERT_NO_FATAL_FAILURE(spawn_then_lapse());
  const std::uint64_t spawned = last_digest_of(1);
  ScriptedGs gs(vs_->port(), gs_, build_);
  gs.join();
  PlayerPosition bystander;
  bystander.player = crypto::SecretKey::generate().public_key();
  gs.send_signed(gs.make_digest({bystander}, unix_time_ms()));
  ASSERT_TRUE(gs.expect<ProtectedReceipt>(std::chrono::seconds(5))) << vs_->process().output();
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start();
  gs.send_unsigned(gs.reconnect_and_make_resume(vs_->port()));
  ASSERT_TRUE(gs.expect<ResumeAccept>(std::chrono::seconds(5))) << vs_->process().output();
  const Revocation revocation = expect_revoked_for(gs, 1'000'000);
  ASSERT_EQ(revocation.evidence.size(), 2U);
  EXPECT_EQ(revocation.evidence[0], spawned) << "the earlier session's digest";
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

struct ZoneTextRow {
  std::string text;
  std::optional<SpawnZone> zone;  // nullopt: refused
};

TEST(VsdSpawnZoneConfig, ParsesEachZoneOrSaysWhatIsWrong) {
  constexpr auto kRect = static_cast<std::uint8_t>(SpawnZoneShape::kRectangle);
  constexpr auto kCircle = static_cast<std::uint8_t>(SpawnZoneShape::kCircle);
  const ZoneTextRow rows[] = {
      {"rect:-10,-20,30,40", SpawnZone{kRect, -10, -20, 30, 40}},
      {"rect:30,40,-10,-20", SpawnZone{kRect, -10, -20, 30, 40}},  // any two opposite corners
      {"circle:5,6,7", SpawnZone{kCircle, 5, 6, 7, 0}},
      {"circle:5,6,-7", std::nullopt},
      {"circle:5,6", std::nullopt},
      {"rect:1,2,3", std::nullopt},
      {"rect:1,2,3,x", std::nullopt},
      {"rect:1,2,3,4,", std::nullopt},
      {"rect:1,2,3,2147483648", std::nullopt},
      {"square:0,0,10", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& row : rows) {
    auto parsed = vsd::parse_spawn_zone(row.text);
    ASSERT_EQ(parsed.ok(), row.zone.has_value()) << "'" << row.text << "'";
    if (parsed) {
      EXPECT_EQ(*parsed, *row.zone) << row.text;
    } else {
      EXPECT_FALSE(parsed.error().empty());
    }
  }
}

}  // namespace
}  // namespace gsvs::testing
