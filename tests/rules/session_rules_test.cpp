// The session rules as tables: each row is a short session (messages with their VS receive
// times) and the verdict the last message must get, as WireGuard's counter self-test pins its
// replay window. No sockets, no clock, no sleeps: the time is part of each row.
#include "rules/session_rules.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protocol/chains.h"
#include "protocol/merkle.h"

namespace gsvs::rules {
namespace {

using protocol::AnyMessage;
using protocol::RevocationReason;

constexpr protocol::SessionId kSession = 7;
constexpr std::uint64_t kAcceptPosition = 10;
constexpr std::uint64_t kAcceptMs = 1'000'000;
constexpr std::uint32_t kTimeout = 2000;
constexpr std::uint32_t kLag = 2;

Hash32 filled(std::uint8_t byte) {
  Hash32 h;
  h.bytes.fill(byte);
  return h;
}

protocol::PublicKey player(std::uint8_t id) {
  protocol::PublicKey k;
  k.bytes[0] = id;
  return k;
}

SessionStart start() {
  SessionStart s;
  s.accept.session_id = kSession;
  s.accept.sw_hash = filled(0xAB);
  s.accept.heartbeat_interval_ms = 500;
  s.accept.heartbeat_timeout_ms = kTimeout;
  s.accept.ticket_period_ms = 1000;
  s.accept.ticket_validity_ms = 2000;
  MovementLimits limits;
  limits.max_players = 2;
  announce_limits(limits, s.accept);
  s.accept.max_receipt_lag = kLag;
  s.accept_position = kAcceptPosition;
  s.accept_vs_ms = kAcceptMs;
  s.accept_hash = filled(0x11);
  return s;
}

// One message of a script: what the GS sent, whether its signature verifies, and when (ms after
// the JoinAccept) the VS received it.
struct Step {
  std::function<AnyMessage(const SessionRules&)> make;
  std::uint64_t at_ms = 100;
  bool signature_valid = true;
};

protocol::Heartbeat heartbeat(std::uint64_t counter) {
  protocol::Heartbeat hb;
  hb.session_id = kSession;
  hb.gs_counter = counter;
  hb.sw_hash = filled(0xAB);
  return hb;
}

Step hb(std::uint64_t counter, std::uint64_t at_ms = 100) {
  return {[counter](const SessionRules&) { return AnyMessage(heartbeat(counter)); }, at_ms};
}

protocol::TranscriptDigest digest_of(std::uint64_t counter, std::uint64_t gs_ms,
                                     const std::vector<std::pair<std::uint8_t, std::int32_t>>& at) {
  protocol::TranscriptDigest d;
  d.session_id = kSession;
  d.gs_counter = counter;
  d.gs_time_ms = gs_ms;
  for (auto [id, x] : at) {
    protocol::PlayerPosition p;
    p.player = player(id);
    p.x_mm = x;
    d.players.push_back(p);
  }
  return d;
}

// A digest received at `at_ms` whose GS clock reads `gs_ms` (by default the same).
Step digest(std::uint64_t counter, std::uint64_t at_ms,
            const std::vector<std::pair<std::uint8_t, std::int32_t>>& players,
            std::optional<std::uint64_t> gs_ms = std::nullopt) {
  return {[=](const SessionRules&) {
            return AnyMessage(digest_of(counter, gs_ms.value_or(at_ms), players));
          },
          at_ms};
}

struct Row {
  std::string name;
  std::vector<Step> script;
  Verdict last;                              // the verdict of the script's last message
  std::vector<std::uint64_t> evidence = {};  // of the last message, when refused
};

// Runs a script: message i is logged at kAcceptPosition + 1 + i.
struct Replay {
  SessionRules rules{start()};
  std::vector<Judgement> judgements;
  std::vector<AnyMessage> messages;
  explicit Replay(const std::vector<Step>& script) {
    messages.reserve(script.size());
    for (std::size_t i = 0; i < script.size(); ++i) {
      messages.push_back(script[i].make(rules));
      const auto* m = &messages.back();
      judgements.push_back(rules.judge(Received{m,
                                                {},
                                                "message",
                                                script[i].signature_valid,
                                                kAcceptPosition + 1 + i,
                                                kAcceptMs + script[i].at_ms}));
      if (judgements.back().accepted() && std::holds_alternative<protocol::TranscriptDigest>(*m)) {
        rules.receipt_issued(rules.next_receipt(filled(static_cast<std::uint8_t>(i))));
      }
    }
  }
};

class SessionRulesTable : public ::testing::TestWithParam<Row> {};

TEST_P(SessionRulesTable, LastMessageGetsItsVerdict) {
  const Row& row = GetParam();
  Replay run(row.script);
  const Judgement& last = run.judgements.back();
  EXPECT_EQ(verdict_name(last.verdict), verdict_name(row.last)) << last.why;
  for (std::size_t i = 0; i + 1 < run.judgements.size(); ++i) {
    EXPECT_TRUE(run.judgements[i].accepted()) << "message " << i << ": " << run.judgements[i].why;
  }
  if (last.refused()) {
    EXPECT_FALSE(last.why.empty());
    EXPECT_EQ(last.evidence(kAcceptPosition + row.script.size()), row.evidence);
  }
}

Step with_signature(Step s, bool valid) {
  s.signature_valid = valid;
  return s;
}

Step heartbeat_with(std::uint64_t counter, const std::function<void(protocol::Heartbeat&)>& edit) {
  return {[=](const SessionRules&) {
            auto h = heartbeat(counter);
            edit(h);
            return AnyMessage(h);
          },
          100};
}

// A heartbeat acknowledging the first `count` receipts, with their tip. Replay issues a receipt for
// each accepted digest, hashing the digest at script index i as filled(i); the rows that use
// this put their digests first.
Step heartbeat_acknowledging(std::uint64_t counter, std::uint64_t count, std::uint64_t at_ms) {
  return {[=](const SessionRules&) {
            auto h = heartbeat(counter);
            h.receipt_count = count;
            for (std::uint64_t i = 0; i < count; ++i) {
              h.receipt_tip = chains::next_receipt_tip(kSession, i + 1, h.receipt_tip,
                                                       filled(static_cast<std::uint8_t>(i)));
            }
            return AnyMessage(h);
          },
          at_ms};
}

INSTANTIATE_TEST_SUITE_P(
    Rules, SessionRulesTable,
    ::testing::Values(
        Row{"HeartbeatIsAccepted", {hb(1)}, Verdict::kAccepted},
        Row{"NotSessionTrafficIsMalformed",
            {{[](const SessionRules&) { return AnyMessage(protocol::Checkpoint{}); }}},
            Verdict::kMalformed,
            {11}},
        Row{"OtherSessionIsAMismatch",
            {heartbeat_with(1, [](auto& h) { h.session_id = kSession + 1; })},
            Verdict::kSessionMismatch,
            {11}},
        Row{"BadSignature", {with_signature(hb(1), false)}, Verdict::kBadSignature, {11}},
        Row{"EqualCounterRegresses", {hb(5), hb(5)}, Verdict::kCounterRegression, {12}},
        Row{"LowerCounterRegresses", {hb(5), hb(4)}, Verdict::kCounterRegression, {12}},
        Row{"CounterGapsAreAllowed", {hb(1), hb(100)}, Verdict::kAccepted},
        Row{"SignatureIsCheckedBeforeTheCounter",
            {hb(5), with_signature(hb(5), false)},
            Verdict::kBadSignature,
            {12}},
        Row{"OtherBuildChangesSwHash",
            {heartbeat_with(1, [](auto& h) { h.sw_hash = filled(0xCD); })},
            Verdict::kSwHashChanged,
            {kAcceptPosition, 11}},
        Row{"HeartbeatJustBeforeTheDeadline", {hb(1, kTimeout - 1)}, Verdict::kAccepted},
        Row{"HeartbeatAtTheDeadlineIsLate",
            {hb(1, kTimeout)},
            Verdict::kMissedHeartbeats,
            {kAcceptPosition}},
        Row{"DeadlineRunsFromTheLastValidHeartbeat",
            {hb(1, 1500), hb(2, 1500 + kTimeout)},
            Verdict::kMissedHeartbeats,
            {11}},
        Row{"ClaimsMoreReceiptsThanIssued",
            {heartbeat_with(1, [](auto& h) { h.receipt_count = 1; })},
            Verdict::kReceiptTipMismatch,
            {11}},
        Row{"WrongTipForZeroReceipts",
            {heartbeat_with(1, [](auto& h) { h.receipt_tip = filled(1); })},
            Verdict::kReceiptTipMismatch,
            {11}},
        Row{"TipOfTheReceiptsIssuedIsAccepted",
            {digest(1, 100, {{1, 0}}), digest(2, 200, {{1, 100}}),
             heartbeat_acknowledging(3, 2, 300)},
            Verdict::kAccepted},
        Row{"LagWithinMaxReceiptLagIsAccepted",
            {digest(1, 100, {{1, 0}}), digest(2, 200, {{1, 100}}),
             heartbeat_acknowledging(3, 0, 300)},
            Verdict::kAccepted},
        Row{"LagBeyondMaxReceiptLagIsRefused",
            {digest(1, 100, {{1, 0}}), digest(2, 200, {{1, 100}}), digest(3, 300, {{1, 200}}),
             heartbeat_acknowledging(4, 0, 400)},
            Verdict::kReceiptTipMismatch,
            {14}},
        Row{"ReceiptCountMayNotGoBack",
            {digest(1, 100, {{1, 0}}), heartbeat_acknowledging(2, 1, 200),
             heartbeat_acknowledging(3, 0, 300)},
            Verdict::kReceiptTipMismatch,
            {13}},
        Row{"PlayersUpToTheCapAreAccepted", {digest(1, 100, {{1, 0}, {2, 0}})}, Verdict::kAccepted},
        Row{"OnePlayerOverTheCap",
            {digest(1, 100, {{1, 0}, {2, 0}}), digest(2, 200, {{3, 0}})},
            Verdict::kTooManyPlayers,
            {12}},
        Row{"APlayerNamedTwiceCountsOnce", {digest(1, 100, {{1, 0}, {1, 0}})}, Verdict::kAccepted},
        Row{"WalkingPaceIsAccepted",
            {digest(1, 100, {{1, 0}}), digest(2, 1100, {{1, 5000}})},
            Verdict::kAccepted},
        // The GS claims 60 s passed so that 50 m looks like a walk; the VS saw 0.2 s.
        Row{"InflatedGsTimeDoesNotHideATeleport",
            {digest(1, 100, {{1, 0}}), digest(2, 300, {{1, 50'000}}, 60'100)},
            Verdict::kSpeedViolation,
            {11, 12}},
        Row{"TeleportIsASpeedViolation",
            {digest(1, 100, {{1, 0}}), digest(2, 1100, {{1, 50'000}})},
            Verdict::kSpeedViolation,
            {11, 12}}),
    [](const auto& test) { return test.param.name; });

TEST(SessionRules, AFrameThatDoesNotDecodeIsMalformedAndCited) {
  SessionRules rules(start());
  const Judgement j =
      rules.judge(Received{nullptr, "truncated", "Heartbeat", false, 11, kAcceptMs});
  EXPECT_EQ(j.verdict, Verdict::kMalformed);
  EXPECT_NE(j.why.find("truncated"), std::string::npos);
  EXPECT_EQ(j.evidence(11), std::vector<std::uint64_t>{11});
}

TEST(SessionRules, ARefusedHeartbeatDoesNotExtendLiveness) {
  SessionRules rules(start());
  const AnyMessage stale(heartbeat_with(1, [](auto& h) { h.receipt_count = 5; }).make(rules));
  EXPECT_TRUE(rules.judge(Received{&stale, {}, "Heartbeat", true, 11, kAcceptMs + 1000}).refused());
  EXPECT_EQ(rules.heartbeat_deadline_ms(), kAcceptMs + kTimeout);
}

TEST(SessionRules, LeavingEndsTheSessionWithoutAFault) {
  SessionRules rules(start());
  protocol::GsLeaving leaving;
  leaving.session_id = kSession;
  leaving.gs_counter = 1;
  const AnyMessage m(leaving);
  const Judgement j = rules.judge(Received{&m, {}, "GsLeaving", true, 11, kAcceptMs + 10});
  EXPECT_TRUE(j.accepted());
  EXPECT_TRUE(j.leaves);
}

TEST(SessionRules, AfterEndEveryMessageIsAfterRevocation) {
  SessionRules rules(start());
  rules.end();
  const AnyMessage m(heartbeat(1));
  EXPECT_EQ(rules.judge(Received{&m, {}, "Heartbeat", true, 11, kAcceptMs}).verdict,
            Verdict::kAfterRevocation);
}

TEST(SessionRules, LivenessIsDueExactlyAtTheDeadline) {
  SessionRules rules(start());
  EXPECT_EQ(rules.heartbeat_deadline_ms(), kAcceptMs + kTimeout);
  EXPECT_TRUE(rules.check_liveness(kAcceptMs + kTimeout - 1).accepted());
  const Judgement due = rules.check_liveness(kAcceptMs + kTimeout);
  EXPECT_EQ(due.verdict, Verdict::kMissedHeartbeats);
  EXPECT_EQ(due.evidence(99), std::vector<std::uint64_t>{kAcceptPosition});
}

TEST(SessionRules, TicketsChainFromTheJoinAcceptAndBindTheNoncesReceived) {
  SessionRules rules(start());
  protocol::NonceBatch batch;
  batch.session_id = kSession;
  batch.gs_counter = 1;
  batch.nonces = {Nonce32{}, Nonce32{}};
  batch.nonces[1].bytes[0] = 1;
  const AnyMessage m(batch);
  ASSERT_TRUE(rules.judge(Received{&m, {}, "NonceBatch", true, 11, kAcceptMs + 5}).accepted());
  const protocol::PlayTicket first = rules.next_ticket(kAcceptMs + 10);
  EXPECT_EQ(first.ticket_seq, 1u);
  EXPECT_EQ(first.prev_ticket_hash, start().accept_hash);
  EXPECT_EQ(first.not_after_ms, kAcceptMs + 10 + 2000);
  EXPECT_EQ(first.nonce_count, 2u);
  EXPECT_EQ(first.client_binding, client_binding::root(batch.nonces));
  rules.ticket_issued(first.nonce_count, filled(0x22));
  const protocol::PlayTicket second = rules.next_ticket(kAcceptMs + 1010);
  EXPECT_EQ(second.ticket_seq, 2u);
  EXPECT_EQ(second.prev_ticket_hash, filled(0x22));
  EXPECT_EQ(second.nonce_count, 0u);
}

TEST(SessionRules, ReceiptsFollowTheTipChain) {
  SessionRules rules(start());
  const ReceiptTerms first = rules.next_receipt(filled(1));
  EXPECT_EQ(first.index, 1u);
  EXPECT_EQ(first.tip, chains::next_receipt_tip(kSession, 1, Hash32{}, filled(1)));
  rules.receipt_issued(first);
  const ReceiptTerms second = rules.next_receipt(filled(2));
  EXPECT_EQ(second.index, 2u);
  EXPECT_EQ(second.tip, chains::next_receipt_tip(kSession, 2, first.tip, filled(2)));
}

// §8.5 check 6 in its order: each row's claim trips the first fault that applies, so a claim
// that breaks several rules gets the earliest one's verdict, live, in replay and in a report.
TEST(ReceiptClaimRule, TheFirstFaultInCheckSixOrderDecides) {
  struct ClaimRow {
    const char* name;
    std::uint64_t count;
    std::uint8_t tip;
    std::uint64_t issued;
    std::uint32_t lag;
    std::optional<std::uint64_t> last_seen;
    std::optional<std::uint8_t> issued_tip;
    ReceiptClaimFault expected;
  };
  const ClaimRow rows[] = {
      {"all caught up", 5, 7, 5, 2, 5, 7, ReceiptClaimFault::kNone},
      {"nothing issued yet", 0, 0, 0, 2, std::nullopt, 0, ReceiptClaimFault::kNone},
      {"behind within the lag", 3, 7, 5, 2, 3, 7, ReceiptClaimFault::kNone},
      {"more than issued", 6, 7, 5, 2, 5, 7, ReceiptClaimFault::kMoreThanIssued},
      {"more than issued and went back", 6, 7, 5, 0, 9, 7, ReceiptClaimFault::kMoreThanIssued},
      {"one past the lag", 2, 7, 5, 2, 2, 7, ReceiptClaimFault::kLagTooLarge},
      {"past the lag and went back", 1, 7, 5, 2, 4, 7, ReceiptClaimFault::kLagTooLarge},
      {"went back", 3, 7, 5, 2, 4, 7, ReceiptClaimFault::kCountWentBack},
      {"went back with a wrong tip", 3, 8, 5, 2, 4, 7, ReceiptClaimFault::kCountWentBack},
      {"going back unknown", 3, 7, 5, 2, std::nullopt, 7, ReceiptClaimFault::kNone},
      {"tip not at hand", 4, 7, 5, 2, 4, std::nullopt, ReceiptClaimFault::kTipUnknown},
      {"wrong tip", 5, 8, 5, 2, 5, 7, ReceiptClaimFault::kTipMismatch},
  };
  for (const auto& row : rows) {
    std::optional<Hash32> issued_tip;
    if (row.issued_tip) issued_tip = filled(*row.issued_tip);
    EXPECT_EQ(judge_receipt_claim({row.count, filled(row.tip)}, row.issued, row.lag, row.last_seen,
                                  issued_tip),
              row.expected)
        << row.name;
  }
}

}  // namespace
}  // namespace gsvs::rules
