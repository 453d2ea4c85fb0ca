// The session model's replay of the player cap (PROTOCOL.md §8.6): a too_many_players revocation
// is supported only at the first digest over the JoinAccept's max_players_per_session, and a
// digest over it that the VS let pass is a failure. Of continuity across sessions (§8.6): a new
// session's first positions are held to those an earlier session of the identity notarized. And
// of liveness (§8.5, §8.13): the VS is held to the exact heartbeat deadline on its own clock. And
// of digests required (§8.5): a gap in the digests of a session with players is the VS's fault
// unless a digests_stopped revocation ends it.
#include "audit-cli/session_model.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/merkle.h"
#include "rules/continuity.h"

namespace gsvs::audit {
namespace {

using protocol::MessageKind;
using protocol::RevocationReason;

constexpr protocol::SessionId kSession = 5;
constexpr std::uint32_t kCap = 4;
constexpr std::uint64_t kDeadlineMs = 1000 + 2000;
constexpr std::uint32_t kDigestTimeoutMs = 5000;

// Feeds a SessionModel log entries as the verifier would, numbered from the JoinAccept at 0.
class Feeder {
 public:
  // The JoinAccept is at position 0, at 1000 ms; its heartbeat deadline is kDeadlineMs.
  Feeder() : model_(0, 1000, accept(), Hash32{}) { model_.set_observer(&observer_); }
  // A session of an identity whose earlier session left `carried` (PROTOCOL.md §8.6), its digest
  // at `carried_seq` resolved by the lookup; this session's own entries are numbered from 51.
  Feeder(const std::vector<rules::NotarizedPosition>& carried, std::uint64_t carried_seq,
         protocol::SessionId carried_session)
      : Feeder() {
    model_.carry(carried);
    position_ = 50;
    lookup_ = [=](std::uint64_t seq) -> std::optional<EntryBrief> {
      if (seq != carried_seq) return std::nullopt;
      return EntryBrief{seq, static_cast<std::uint8_t>(MessageKind::kTranscriptDigest),
                        chains::Direction::kReceived, carried_session, 500};
    };
  }

  // A digest naming players first .. first + count - 1, logged at `at_ms` (or 100 ms after the
  // previous entry); returns its position.
  std::uint64_t digest(std::uint32_t first, std::uint32_t count,
                       std::optional<std::uint64_t> at_ms = std::nullopt) {
    protocol::TranscriptDigest d;
    d.session_id = kSession;
    d.gs_counter = ++counter_;
    d.gs_time_ms = 1000 + 100 * counter_;
    for (std::uint32_t n = first; n < first + count; ++n) {
      protocol::PlayerPosition p;
      p.player.bytes[0] = static_cast<std::uint8_t>(n + 1);
      d.players.push_back(p);
    }
    return feed(chains::Direction::kReceived, protocol::AnyMessage(std::move(d)), at_ms);
  }
  // A valid Heartbeat (no receipts acknowledged) logged at `at_ms`.
  void heartbeat(std::uint64_t at_ms) {
    protocol::Heartbeat hb;
    hb.session_id = kSession;
    hb.gs_counter = ++counter_;
    hb.gs_time_ms = at_ms;
    feed(chains::Direction::kReceived, protocol::AnyMessage(hb), at_ms);
  }
  // A digest naming player 1 at (x_mm, 0), logged at `at_ms`, its GS clock reading `gs_ms` (or
  // `at_ms`).
  std::uint64_t digest_at(std::int32_t x_mm, std::uint64_t at_ms,
                          std::optional<std::uint64_t> gs_ms = std::nullopt) {
    protocol::TranscriptDigest d;
    d.session_id = kSession;
    d.gs_counter = ++counter_;
    d.gs_time_ms = gs_ms.value_or(at_ms);
    protocol::PlayerPosition p;
    p.player.bytes[0] = 1;
    p.x_mm = x_mm;
    d.players.push_back(p);
    return feed(chains::Direction::kReceived, protocol::AnyMessage(std::move(d)), at_ms);
  }
  void revocation(RevocationReason reason, std::vector<std::uint64_t> evidence,
                  std::optional<std::uint64_t> at_ms = std::nullopt) {
    protocol::Revocation r;
    r.session_id = kSession;
    r.revocation_seq = 1;
    r.reason = static_cast<std::uint16_t>(reason);
    r.evidence = std::move(evidence);
    feed(chains::Direction::kIssued, protocol::AnyMessage(std::move(r)), at_ms);
  }
  // Ticket 1, chained from the JoinAccept, issued at `issued_ms`.
  void first_ticket(std::uint64_t issued_ms) {
    protocol::PlayTicket t;
    t.session_id = kSession;
    t.ticket_seq = 1;
    t.issued_ms = issued_ms;
    t.not_after_ms = issued_ms;  // the JoinAccept's ticket_validity_ms is 0
    t.client_binding = client_binding::root({});
    feed(chains::Direction::kIssued, protocol::AnyMessage(t), issued_ms);
  }
  // The VS's receipt for the digest at `digest_position`, next in the session's receipt chain.
  void receipt_for(std::uint64_t digest_position) {
    const auto& [gs_counter, digest_hash] = digests_.at(digest_position);
    protocol::ProtectedReceipt r;
    r.session_id = kSession;
    r.gs_counter = gs_counter;
    r.digest_hash = digest_hash;
    r.digest_log_seq = digest_position;
    r.receipt_index = ++receipts_;
    r.receipt_tip = tip_ = chains::next_receipt_tip(kSession, r.receipt_index, tip_, digest_hash);
    feed(chains::Direction::kIssued, protocol::AnyMessage(r));
  }
  // The session began in a run whose VsStart (before the JoinAccept) names `version`.
  void judged_under(std::optional<std::uint32_t> version) { model_.judged_under(version); }
  // A VsStart at the next position, naming `rules_version`, which finds the session live.
  void vs_start(std::uint64_t at_ms, std::uint32_t rules_version = 1) {
    protocol::VsStart start;
    start.vs_time_ms = at_ms;
    start.resume_window_ms = 10'000;
    start.rules_version = rules_version;
    model_.on_vs_start(start, ++position_, sink_);
  }
  void finish() { model_.finish(sink_); }
  [[nodiscard]] std::uint64_t warnings() const { return sink_.warnings(); }

  [[nodiscard]] std::uint64_t failures() const { return sink_.failures(); }
  [[nodiscard]] std::string findings() const {
    std::string out;
    for (const auto& f : sink_.kept()) {
      out += std::to_string(f.seq) + " " + f.check + ": expected " + f.expected + ", found " +
             f.found + "\n";
    }
    return out;
  }
  [[nodiscard]] std::optional<Support> support() const { return observer_.support; }

 private:
  struct Observer : SessionModel::Observer {
    void on_revocation(const protocol::Revocation& /*revocation*/,
                       const RevocationAssessment& assessment) override {
      support = assessment.support;
    }
    std::optional<Support> support;
  };

  static protocol::JoinAccept accept() {
    protocol::JoinAccept a;
    a.session_id = kSession;
    rules::MovementLimits limits;
    limits.max_players = kCap;
    rules::announce_limits(limits, a);
    a.max_receipt_lag = 8;
    a.heartbeat_timeout_ms = 2000;
    a.digest_timeout_ms = kDigestTimeoutMs;
    return a;
  }

  // Logged at `at_ms` on the VS clock, or 100 ms after the previous entry.
  std::uint64_t feed(chains::Direction direction, const protocol::AnyMessage& message,
                     std::optional<std::uint64_t> at_ms = std::nullopt) {
    storage::Entry entry;
    entry.header.seq = ++position_;
    entry.header.kind = protocol::kind_of(message);
    entry.header.direction = direction;
    entry.header.session_id = kSession;
    entry.header.vs_time_ms = at_ms.value_or(1000 + 100 * position_);
    entry.message = std::visit([](const auto& m) { return protocol::encode(m); }, message);
    if (const auto* digest = std::get_if<protocol::TranscriptDigest>(&message)) {
      digests_[position_] = {digest->gs_counter, chains::message_hash(entry.message)};
    }
    const SigState valid[] = {SigState::kValid};
    ModelInput input;
    input.entry = &entry;
    input.message = &message;
    input.signatures = valid;
    input.position = position_;
    model_.add(input, sink_, lookup_);
    return position_;
  }

  SessionModel model_;
  Observer observer_;
  FindingSink sink_;
  EntryLookup lookup_;
  std::uint64_t position_ = 0;
  std::uint64_t counter_ = 0;
  std::map<std::uint64_t, std::pair<std::uint64_t, Hash32>> digests_;  // gs_counter, hash
  std::uint64_t receipts_ = 0;
  Hash32 tip_;
};

// Rows: the digests (first key, count), then which digest a revocation cites (index into the
// digests; none: no revocation), its reason, and what the audit must conclude.
struct CapCase {
  const char* name;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> digests;
  std::optional<std::size_t> cited;
  RevocationReason reason = RevocationReason::kTooManyPlayers;
  std::optional<Support> support;  // nullopt: no revocation
  bool fails = false;
};

TEST(SessionModelPlayerCap, RevocationsAreJudgedAgainstTheAnnouncedCap) {
  const CapCase cases[] = {
      {"revoked at cap + 1",
       {{0, 4}, {4, 1}},
       1,
       RevocationReason::kTooManyPlayers,
       Support::kSupported,
       false},
      {"revoked at cap + 1 in one digest",
       {{0, 5}},
       0,
       RevocationReason::kTooManyPlayers,
       Support::kSupported,
       false},
      {"at the cap, not revoked",
       {{0, 2}, {2, 2}, {0, 4}},
       std::nullopt,
       RevocationReason::kTooManyPlayers,
       std::nullopt,
       false},
      {"over the cap, not revoked",
       {{0, 4}, {4, 1}},
       std::nullopt,
       RevocationReason::kTooManyPlayers,
       std::nullopt,
       true},
      {"revoked at the cap",
       {{0, 2}, {2, 2}},
       1,
       RevocationReason::kTooManyPlayers,
       Support::kUnsupported,
       true},
      {"over the cap, revoked for speed",
       {{0, 4}, {4, 1}},
       1,
       RevocationReason::kSpeedViolation,
       Support::kUnsupported,
       true},
  };
  for (const auto& c : cases) {
    Feeder feeder;
    std::vector<std::uint64_t> positions;
    for (const auto& [first, count] : c.digests) positions.push_back(feeder.digest(first, count));
    if (c.cited) feeder.revocation(c.reason, {positions.at(*c.cited)});
    feeder.finish();
    EXPECT_EQ(feeder.support(), c.support) << c.name;
    EXPECT_EQ(feeder.failures() > 0, c.fails) << c.name << "\n" << feeder.findings();
  }
}

// Rows: the new session's first position of a player an earlier session of the identity left at
// x = 0 (its digest at entry 10), and how the VS answered it.
struct ContinuityCase {
  const char* name;
  std::int32_t x_mm;
  std::optional<std::vector<std::uint64_t>> evidence;  // of a speed_violation; nullopt: none
  std::optional<Support> support;
  bool fails;
};

TEST(SessionModelContinuity, ANewSessionsFirstPositionsAreHeldToTheEarlierSessions) {
  constexpr std::uint64_t kEarlierDigest = 10;
  constexpr std::uint64_t kFirstDigest = 51;
  const ContinuityCase cases[] = {
      {"an honest rejoin: the player did not move", 0, std::nullopt, std::nullopt, false},
      {"a teleport the VS revoked, citing both digests", 1'000'000,
       std::vector<std::uint64_t>{kEarlierDigest, kFirstDigest}, Support::kSupported, false},
      {"a teleport the VS revoked without the earlier digest", 1'000'000,
       std::vector<std::uint64_t>{kFirstDigest}, Support::kSupported, true},
      {"a teleport the VS let pass", 1'000'000, std::nullopt, std::nullopt, true},
      {"an honest rejoin the VS revoked", 0,
       std::vector<std::uint64_t>{kEarlierDigest, kFirstDigest}, Support::kUnsupported, true},
  };
  protocol::PublicKey identity;
  identity.bytes[0] = 3;
  protocol::PublicKey player;
  player.bytes[0] = 1;
  rules::ContinuityLedger ledger;
  ledger.record(identity, {rules::NotarizedPosition{player, 0, 0, 500, kEarlierDigest, 2}});
  for (const auto& c : cases) {
    Feeder feeder(ledger.carried_into(identity, 1000, 60'000, kCap), kEarlierDigest, 2);
    ASSERT_EQ(feeder.digest_at(c.x_mm, 1100), kFirstDigest);
    if (c.evidence) feeder.revocation(RevocationReason::kSpeedViolation, *c.evidence, 1200);
    feeder.finish();
    EXPECT_EQ(feeder.support(), c.support) << c.name;
    EXPECT_EQ(feeder.failures() > 0, c.fails) << c.name << "\n" << feeder.findings();
  }
}

// What a link that stalled 1.8 s delivers at once, after the digest at 0 m: the player walking
// 7 m/s on the GS's clock, and `jump_mm` more in the last step. The last step's two digests.
std::pair<std::uint64_t, std::uint64_t> stalled_walk(Feeder& feeder, std::int32_t jump_mm) {
  feeder.receipt_for(feeder.digest_at(3500, 1600));
  feeder.heartbeat(2900);
  feeder.receipt_for(feeder.digest_at(7000, 3400, 2100));
  feeder.receipt_for(feeder.digest_at(10'500, 3400, 2600));
  const std::uint64_t from = feeder.digest_at(14'000, 3400, 3100);
  feeder.receipt_for(from);
  return {from, feeder.digest_at(17'500 + jump_mm, 3400, 3600)};
}

// Rows: what a link that stalled 1.8 s delivers at once (the player walking 7 m/s on the GS's
// clock, or jumping 50 m in its last step), the rules version the run's VsStart names, the reason
// the VS revoked with, and what the audit concludes (PROTOCOL.md §8.6 "Late digests", §8.18). A
// VS of rules version 1 revoked a late step as speed_violation: supported, with a warning, also
// where no VsStart says which version ran; a VS of version 2 is wrong to.
TEST(SessionModelLateDigests, TheReasonIsHeldToThePacedClock) {
  struct Case {
    const char* name;
    std::int32_t jump_mm;
    std::optional<std::uint32_t> rules_version;
    RevocationReason reason;
    Support support;
    bool warns;
    bool fails;
  };
  const Case cases[] = {
      {"late, revoked as late", 0, 2, RevocationReason::kDigestsLate, Support::kSupported, false,
       false},
      {"late, revoked as rules version 1 did", 0, 1, RevocationReason::kSpeedViolation,
       Support::kSupported, true, false},
      {"late, revoked as speed, no VsStart read", 0, std::nullopt,
       RevocationReason::kSpeedViolation, Support::kSupported, true, false},
      {"late, revoked as speed under rules version 2", 0, 2, RevocationReason::kSpeedViolation,
       Support::kUnsupported, false, true},
      {"late, revoked as speed under a newer version", 0, 3, RevocationReason::kSpeedViolation,
       Support::kUnsupported, false, true},
      {"a jump, revoked as late", 50'000, 2, RevocationReason::kDigestsLate, Support::kUnsupported,
       false, true},
      {"a jump, revoked for speed under rules version 1", 50'000, 1,
       RevocationReason::kSpeedViolation, Support::kSupported, false, false},
  };
  for (const auto& c : cases) {
    Feeder feeder;
    feeder.judged_under(c.rules_version);
    feeder.receipt_for(feeder.digest_at(0, 1100));
    const auto [from, to] = stalled_walk(feeder, c.jump_mm);
    feeder.revocation(c.reason, {from, to}, 3400);
    feeder.finish();
    EXPECT_EQ(feeder.support(), c.support) << c.name;
    EXPECT_EQ(feeder.warnings() > 0, c.warns) << c.name << "\n" << feeder.findings();
    EXPECT_EQ(feeder.failures() > 0, c.fails) << c.name << "\n" << feeder.findings();
  }
}

// A session live across a restart is judged from the VsStart on by the version the new run names
// (PROTOCOL.md §8.18), whichever version judged it before.
TEST(SessionModelLateDigests, AfterARestartTheNewRunsVersionJudges) {
  const struct {
    std::uint32_t before;
    std::uint32_t after;
    Support support;
  } rows[] = {{1, 2, Support::kUnsupported}, {2, 1, Support::kSupported}};
  for (const auto& row : rows) {
    Feeder feeder;
    feeder.judged_under(row.before);
    feeder.receipt_for(feeder.digest_at(0, 1100));
    feeder.vs_start(1150, row.after);
    const auto [from, to] = stalled_walk(feeder, 0);
    feeder.revocation(RevocationReason::kSpeedViolation, {from, to}, 3400);
    feeder.finish();
    EXPECT_EQ(feeder.support(), row.support) << row.before << " -> " << row.after << "\n"
                                             << feeder.findings();
  }
}

// Rows: when a missed_heartbeats revocation citing the JoinAccept is logged, and whether the
// audit must find the VS at fault for it.
TEST(SessionModelLiveness, AMissedHeartbeatsRevocationIsHeldToTheDeadline) {
  const struct {
    const char* name;
    std::uint64_t at_ms;
    Support support;
  } cases[] = {
      {"193 ms after the JoinAccept", 1193, Support::kUnsupported},
      {"1 ms before the deadline", kDeadlineMs - 1, Support::kUnsupported},
      {"at the deadline", kDeadlineMs, Support::kSupported},
      {"after the deadline", kDeadlineMs + 500, Support::kSupported},
  };
  for (const auto& c : cases) {
    Feeder feeder;
    feeder.revocation(RevocationReason::kMissedHeartbeats, {0}, c.at_ms);
    feeder.finish();
    EXPECT_EQ(feeder.support(), c.support) << c.name << "\n" << feeder.findings();
    EXPECT_EQ(feeder.failures() > 0, c.support != Support::kSupported) << c.name << "\n"
                                                                       << feeder.findings();
  }
}

TEST(SessionModelLiveness, ATicketAtOrAfterTheDeadlineIsAFaultOfTheVs) {
  for (const std::uint64_t issued : {kDeadlineMs - 1, kDeadlineMs}) {
    Feeder feeder;
    feeder.first_ticket(issued);
    feeder.finish();
    EXPECT_EQ(feeder.failures() > 0, issued >= kDeadlineMs) << issued << "\n" << feeder.findings();
  }
}

// Rows: a session's digests (players named, when logged), heartbeats 1.5 s apart meanwhile, and a
// digests_stopped revocation citing one of the digests at a time, or none; what the audit must
// conclude. The JoinAccept is at 1000 ms; digest_timeout_ms is 5000.
TEST(SessionModelDigests, AGapInTheDigestsOfASessionWithPlayersMustBeRevoked) {
  struct DigestAt {
    std::uint32_t players;
    std::uint64_t at_ms;
  };
  struct Revoked {
    std::size_t cited;  // index into the digests
    std::uint64_t at_ms;
  };
  const struct {
    const char* name;
    std::vector<DigestAt> digests;
    std::uint64_t heartbeats_until_ms;
    std::optional<Revoked> revoked;
    std::optional<Support> support;  // nullopt: no revocation
    bool fails;
  } cases[] = {
      {"players, then heartbeats without digests and no revocation",
       {{1, 1100}},
       7000,
       std::nullopt,
       std::nullopt,
       true},
      {"revoked at the digest deadline",
       {{1, 1100}},
       5500,
       Revoked{0, 6100},
       Support::kSupported,
       false},
      {"revoked 1 ms before the digest deadline",
       {{1, 1100}},
       5500,
       Revoked{0, 6099},
       Support::kUnsupported,
       true},
      {"revoked though the last digest named nobody",
       {{1, 1100}, {0, 1200}},
       5500,
       Revoked{1, 6200},
       Support::kUnsupported,
       true},
      {"revoked citing an earlier digest than the last",
       {{1, 1100}, {1, 1200}},
       5500,
       Revoked{0, 6200},
       Support::kUnsupported,
       true},
      {"no player named: heartbeats alone owe no digest",
       {{0, 1100}},
       8500,
       std::nullopt,
       std::nullopt,
       false},
      {"the next digest 1 ms before the deadline",
       {{1, 1100}, {1, 6099}},
       8500,
       std::nullopt,
       std::nullopt,
       false},
  };
  for (const auto& c : cases) {
    Feeder feeder;
    std::vector<std::uint64_t> positions;
    std::uint64_t beat = 2500;
    for (const auto& d : c.digests) {
      for (; beat < d.at_ms; beat += 1500) feeder.heartbeat(beat);
      positions.push_back(feeder.digest(0, d.players, d.at_ms));
    }
    for (; beat <= c.heartbeats_until_ms; beat += 1500) feeder.heartbeat(beat);
    if (c.revoked) {
      feeder.revocation(RevocationReason::kDigestsStopped, {positions.at(c.revoked->cited)},
                        c.revoked->at_ms);
    }
    feeder.finish();
    EXPECT_EQ(feeder.support(), c.support) << c.name << "\n" << feeder.findings();
    EXPECT_EQ(feeder.failures() > 0, c.fails) << c.name << "\n" << feeder.findings();
  }
}

TEST(SessionModelDigests, ATicketAtOrAfterTheDigestDeadlineIsAFaultOfTheVs) {
  for (const std::uint64_t issued : {1100 + kDigestTimeoutMs - 1, 1100 + kDigestTimeoutMs}) {
    Feeder feeder;
    feeder.digest(0, 1, 1100);
    for (std::uint64_t beat = 2500; beat < issued; beat += 1500) feeder.heartbeat(beat);
    feeder.first_ticket(issued);
    feeder.finish();
    EXPECT_EQ(feeder.failures() > 0, issued >= 1100 + kDigestTimeoutMs) << issued << "\n"
                                                                        << feeder.findings();
  }
}

// PROTOCOL.md §8.7: a stop between a digest and its receipt leaves the digest unreceipted for
// good; the receipts of the next run go on from the next digest. A warning, not a skipped receipt.
TEST(SessionModelReceipts, ADigestAStopLeftWithoutAReceiptIsAWarningNotASkip) {
  Feeder crashed;
  crashed.receipt_for(crashed.digest(0, 1));
  crashed.digest(0, 1);  // the VS stops before its receipt
  crashed.vs_start(2000);
  crashed.receipt_for(crashed.digest(0, 1));
  crashed.finish();
  EXPECT_EQ(crashed.failures(), 0u) << crashed.findings();
  EXPECT_EQ(crashed.warnings(), 1u) << crashed.findings();

  // Without a stop between them, a receipt that passes over a digest is a failure.
  Feeder skipped;
  skipped.receipt_for(skipped.digest(0, 1));
  skipped.digest(0, 1);
  skipped.receipt_for(skipped.digest(0, 1));
  skipped.finish();
  EXPECT_EQ(skipped.failures(), 1u) << skipped.findings();
}

// Nothing the VS issues for a session follows its Revocation (PROTOCOL.md §8.7): a ticket there
// blesses a revoked GS, and is a fault of the VS, not a race to excuse.
TEST(SessionModelAfterRevocation, ATicketAfterTheRevocationIsAFaultOfTheVs) {
  Feeder before;
  before.first_ticket(1100);
  before.revocation(RevocationReason::kOperator, {0}, 1200);
  before.finish();
  EXPECT_EQ(before.failures(), 0u) << before.findings();

  Feeder after;
  after.revocation(RevocationReason::kOperator, {0}, 1100);
  after.first_ticket(1200);
  after.finish();
  EXPECT_GT(after.failures(), 0u) << after.findings();
}

}  // namespace
}  // namespace gsvs::audit
