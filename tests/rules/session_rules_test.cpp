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
#include "rules/session_replay.h"

namespace gsvs::rules {
namespace {

using protocol::AnyMessage;
using protocol::RevocationReason;

constexpr protocol::SessionId kSession = 7;
constexpr std::uint64_t kAcceptPosition = 10;
constexpr std::uint64_t kAcceptMs = 1'000'000;
constexpr std::uint32_t kTimeout = 2000;
constexpr std::uint32_t kLag = 2;
constexpr std::uint32_t kDigestTimeout = 5000;

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
  s.accept.digest_timeout_ms = kDigestTimeout;
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
            {11, 12}},
        // The link stalled for 2 s and the backlog arrived at once: the fourth of it is credited
        // no time, but the GS's clock explains the walk (§8.6 "Late digests").
        Row{"ABacklogAfterAStalledLinkIsLate",
            {digest(1, 100, {{1, 0}}), digest(2, 600, {{1, 3500}}), hb(3, 1500), hb(4, 3000),
             digest(5, 3100, {{1, 7000}}, 1100), digest(6, 3100, {{1, 10'500}}, 1600),
             digest(7, 3100, {{1, 14'000}}, 2100), digest(8, 3100, {{1, 17'500}}, 2600)},
            Verdict::kDigestsLate,
            {17, 18}},
        Row{"ABacklogHidingATeleportIsASpeedViolation",
            {digest(1, 100, {{1, 0}}), digest(2, 600, {{1, 3500}}), hb(3, 1500), hb(4, 3000),
             digest(5, 3100, {{1, 50'000}}, 1100)},
            Verdict::kSpeedViolation,
            {12, 15}},
        // Digests required (§8.5): heartbeats every 1.5 s keep the session live meanwhile.
        Row{"DigestJustBeforeTheDigestDeadline",
            {digest(1, 100, {{1, 0}}), hb(2, 1500), hb(3, 3000), hb(4, 4500),
             digest(5, 100 + kDigestTimeout - 1, {{1, 0}})},
            Verdict::kAccepted},
        Row{"DigestAtTheDigestDeadlineIsLate",
            {digest(1, 100, {{1, 0}}), hb(2, 1500), hb(3, 3000), hb(4, 4500),
             digest(5, 100 + kDigestTimeout, {{1, 0}})},
            Verdict::kDigestsStopped,
            {11}},
        Row{"HeartbeatsWithoutDigestsWhilePlayersPlay",
            {digest(1, 100, {{1, 0}, {2, 0}}), hb(2, 1500), hb(3, 3000), hb(4, 4500),
             hb(5, 100 + kDigestTimeout)},
            Verdict::kDigestsStopped,
            {11}},
        Row{"DigestDeadlineRunsFromTheLastDigest",
            {digest(1, 100, {{1, 0}}), hb(2, 1500), digest(3, 3000, {{1, 0}}), hb(4, 3400),
             hb(5, 4900), hb(6, 6400), hb(7, 3000 + kDigestTimeout)},
            Verdict::kDigestsStopped,
            {13}},
        Row{"NoDigestOwedBeforeAnyPlayer",
            {hb(1, 1500), hb(2, 3000), hb(3, 4500), hb(4, 6000), hb(5, 7500)},
            Verdict::kAccepted},
        Row{"NoDigestOwedAfterADigestWithoutPlayers",
            {digest(1, 100, {}), hb(2, 1500), hb(3, 3000), hb(4, 4500), hb(5, 6000)},
            Verdict::kAccepted},
        Row{"ADigestWithoutPlayersEndsTheMatch",
            {digest(1, 100, {{1, 0}}), hb(2, 1500), digest(3, 2000, {}), hb(4, 3000), hb(5, 4500),
             hb(6, 6000), hb(7, 7500)},
            Verdict::kAccepted},
        // A GS silent in every respect misses its heartbeats first, and ties go to them too.
        Row{"SilenceIsMissedHeartbeatsNotDigestsStopped",
            {digest(1, 100, {{1, 0}}), hb(2, 100 + kDigestTimeout)},
            Verdict::kMissedHeartbeats,
            {kAcceptPosition}},
        Row{"AtTheSameDeadlineMissedHeartbeatsDecides",
            {digest(1, 1000, {{1, 0}}), hb(2, 1900), hb(3, 3800),
             hb(4, 1000 + kDigestTimeout - kTimeout), hb(5, 1000 + kDigestTimeout)},
            Verdict::kMissedHeartbeats,
            {14}}),
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

TEST(SessionRules, DigestsAreDueExactlyAtTheDigestDeadline) {
  SessionRules rules(start());
  EXPECT_FALSE(rules.digest_deadline_ms().has_value());  // no player yet
  const AnyMessage first(digest_of(1, 100, {{1, 0}}));
  ASSERT_TRUE(
      rules.judge(Received{&first, {}, "TranscriptDigest", true, 11, kAcceptMs + 100}).accepted());
  const std::uint64_t due = kAcceptMs + 100 + kDigestTimeout;
  EXPECT_EQ(rules.digest_deadline_ms(), due);
  EXPECT_EQ(rules.next_deadline_ms(), kAcceptMs + kTimeout);  // the heartbeat deadline is sooner
  for (std::uint64_t counter = 2; counter <= 4; ++counter) {  // heartbeats 1.5 s apart
    const AnyMessage beat(heartbeat(counter));
    ASSERT_TRUE(
        rules
            .judge(Received{
                &beat, {}, "Heartbeat", true, 10 + counter, kAcceptMs + 1500 * (counter - 1)})
            .accepted());
  }
  EXPECT_EQ(rules.next_deadline_ms(), due);
  EXPECT_TRUE(rules.check_deadlines(due - 1).accepted());
  const Judgement stopped = rules.check_deadlines(due);
  EXPECT_EQ(stopped.verdict, Verdict::kDigestsStopped);
  EXPECT_EQ(reason_for(stopped.verdict), RevocationReason::kDigestsStopped);
  EXPECT_EQ(stopped.evidence(99), std::vector<std::uint64_t>{11});
  EXPECT_NE(stopped.why.find("named 1 players"), std::string::npos) << stopped.why;
  // A digest naming nobody ends the match: no digest is owed after it.
  const AnyMessage empty(digest_of(5, due - 500, {}));
  ASSERT_TRUE(
      rules.judge(Received{&empty, {}, "TranscriptDigest", true, 15, due - 500}).accepted());
  EXPECT_FALSE(rules.digest_deadline_ms().has_value());
  EXPECT_TRUE(rules.check_digests(due + 60'000).accepted());
}

// A resume within one run of the VS (a network cut) proves the GS alive, not that it sends
// digests: the digest deadline stays where the last digest put it. Only a resume after a VS
// start, during whose outage no digest could arrive, runs it afresh.
TEST(SessionRules, AResumeInTheSameRunLeavesTheDigestDeadlineWhereItWas) {
  for (const bool after_a_start : {false, true}) {
    SCOPED_TRACE(after_a_start ? "after a VS start" : "in the same run");
    SessionRules rules(start());
    const AnyMessage first(digest_of(1, 100, {{1, 0}}));
    ASSERT_TRUE(rules.judge(Received{&first, {}, "TranscriptDigest", true, 11, kAcceptMs + 100})
                    .accepted());
    const std::uint64_t due = kAcceptMs + 100 + kDigestTimeout;
    if (after_a_start) rules.suspend(kAcceptMs + 200, kDigestTimeout, 12);
    protocol::GsResume resume;
    resume.session_id = kSession;
    resume.gs_counter = 2;
    const std::uint64_t resumed_at = due - 100;
    rules.resumed(resume, resumed_at, 13);
    EXPECT_EQ(rules.digest_deadline_ms(), after_a_start ? resumed_at + kDigestTimeout : due);
  }
}

// One entry per player (§5.9) is decided where the frame decodes, check 1 of §8.5: the rules
// see a digest naming one player twice as a frame that does not decode.
TEST(SessionRules, ADigestNamingAPlayerTwiceIsMalformed) {
  struct Case {
    const char* name;
    std::vector<std::pair<std::uint8_t, std::int32_t>> players;
    Verdict verdict;
  };
  for (const Case& c : {Case{"two different players", {{1, 0}, {2, 0}}, Verdict::kAccepted},
                        Case{"one player twice", {{1, 0}, {1, 500}}, Verdict::kMalformed}}) {
    SCOPED_TRACE(c.name);
    SessionRules rules(start());
    const Bytes bytes = protocol::encode(digest_of(1, 100, c.players));
    auto decoded = protocol::decode_any(bytes);
    const Judgement j = rules.judge(Received{decoded ? &*decoded : nullptr,
                                             decoded ? std::string_view() : decoded.error(),
                                             "TranscriptDigest", true, 11, kAcceptMs + 100});
    EXPECT_EQ(verdict_name(j.verdict), verdict_name(c.verdict)) << j.why;
    if (c.verdict == Verdict::kMalformed) {
      EXPECT_EQ(j.evidence(11), std::vector<std::uint64_t>{11});
      EXPECT_NE(j.why.find("name the same player"), std::string::npos) << j.why;
      EXPECT_EQ(rules.players_tracked(), 0u);
    }
  }
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

// vsd judges on while a digest's receipt is signed (PROTOCOL.md §8.7): the next receipt chains
// after it, and it is issued only once placed, so a GS that computes its tip and claims it first
// claims more than issued.
TEST(SessionRules, AReceiptBeingSignedIsNotIssuedAndTheNextChainsAfterIt) {
  SessionRules rules(start());
  const ReceiptTerms signing = rules.next_receipt(filled(1));
  const ReceiptTerms next = rules.next_receipt(filled(2), signing);
  EXPECT_EQ(next.index, 2u);
  EXPECT_EQ(next.tip, chains::next_receipt_tip(kSession, 2, signing.tip, filled(2)));
  auto claim = [&](std::uint64_t counter, const ReceiptTerms& terms) {
    const AnyMessage m(heartbeat_with(counter, [&](auto& h) {
                         h.receipt_count = terms.index;
                         h.receipt_tip = terms.tip;
                       }).make(rules));
    return rules.judge(Received{&m, {}, "Heartbeat", true, 10 + counter, kAcceptMs + 100});
  };
  EXPECT_EQ(claim(1, signing).verdict, Verdict::kReceiptTipMismatch);
  SessionRules placed(start());
  placed.receipt_issued(signing);
  EXPECT_EQ(placed.last_receipt().index, 1u);
  EXPECT_EQ(placed.last_receipt().tip, signing.tip);
  EXPECT_EQ(placed.next_receipt(filled(2)).tip, next.tip) << "the same chain either way";
}

// ---- Resumption after a VS start (PROTOCOL.md §8.15) ------------------------------------------

constexpr std::uint64_t kStartMs = kAcceptMs + 60'000;  // the VsStart, a minute after the join
constexpr std::uint32_t kWindow = 10'000;
constexpr std::uint64_t kStartPosition = 50;
using protocol::JoinRejectReason;

// The log of the session before the restart: a heartbeat (counter 1), a digest (2) and its
// receipt, and one ticket. Built with the session's own rules, as the VS issued them.
struct Logged {
  SessionRules rules{start()};
  std::vector<Bytes> bytes;
  Hash32 ticket_hash;
  Hash32 tip;

  Logged() {
    SessionReplay replay(rules);
    auto add = [&](protocol::MessageKind kind, chains::Direction direction, Bytes b) {
      bytes.push_back(std::move(b));
      replay.add(LoggedEntry{kind, direction, 11 + bytes.size(), kAcceptMs + 100 * bytes.size(),
                             bytes.back()});
    };
    protocol::Heartbeat hb;
    hb.session_id = kSession;
    hb.gs_counter = 1;
    hb.sw_hash = filled(0xAB);
    add(protocol::MessageKind::kHeartbeat, chains::Direction::kReceived, protocol::encode(hb));
    protocol::TranscriptDigest d;
    d.session_id = kSession;
    d.gs_counter = 2;
    const Bytes digest_bytes = protocol::encode(d);
    add(protocol::MessageKind::kTranscriptDigest, chains::Direction::kReceived, digest_bytes);
    const ReceiptTerms terms = rules.next_receipt(chains::message_hash(digest_bytes));
    protocol::ProtectedReceipt receipt;
    receipt.session_id = kSession;
    receipt.receipt_index = terms.index;
    receipt.receipt_tip = terms.tip;
    tip = terms.tip;
    add(protocol::MessageKind::kProtectedReceipt, chains::Direction::kIssued,
        protocol::encode(receipt));
    const protocol::PlayTicket ticket = rules.next_ticket(kAcceptMs + 400);
    const Bytes ticket_bytes = protocol::encode(ticket);
    ticket_hash = chains::message_hash(ticket_bytes);
    add(protocol::MessageKind::kPlayTicket, chains::Direction::kIssued, ticket_bytes);
  }

  // The honest GS's resume of that state.
  [[nodiscard]] protocol::GsResume resume() const {
    protocol::GsResume r;
    r.session_id = kSession;
    r.gs_counter = 3;
    r.receipt_count = 1;
    r.receipt_tip = tip;
    r.ticket_seq = 1;
    r.ticket_hash = ticket_hash;
    return r;
  }
};

TEST(SessionReplay, RebuildsCountersReceiptsAndTicketsFromTheLog) {
  Logged log;
  EXPECT_EQ(log.rules.last_counter(), 2u);
  EXPECT_EQ(log.rules.receipts_issued(), 1u);
  EXPECT_EQ(log.rules.receipt_tip(), log.tip);
  EXPECT_EQ(log.rules.tickets_issued(), 1u);
  EXPECT_EQ(log.rules.prev_ticket_hash(), log.ticket_hash);
  EXPECT_FALSE(log.rules.ended());
}

struct ResumeRow {
  std::string name;
  std::function<void(SessionRules&, protocol::GsResume&)> change;
  std::uint64_t at_ms = kStartMs + 500;
  std::optional<JoinRejectReason> refusal;  // nullopt: resumed
};

class ResumeTable : public ::testing::TestWithParam<ResumeRow> {};

TEST_P(ResumeTable, TheResumeGetsItsAnswer) {
  const ResumeRow& row = GetParam();
  Logged log;
  log.rules.suspend(kStartMs, kWindow, kStartPosition);
  protocol::GsResume resume = log.resume();
  row.change(log.rules, resume);
  const ResumeDecision decision = log.rules.decide_resume(resume, row.at_ms);
  EXPECT_EQ(decision.refusal, row.refusal) << decision.why;
  EXPECT_EQ(decision.accepted(), decision.why.empty()) << decision.why;
}

void unchanged(SessionRules& /*rules*/, protocol::GsResume& /*resume*/) {}

// `count` more tickets after the logged one, none of which the GS got.
void issue_tickets(SessionRules& rules, std::uint32_t count) {
  for (std::uint32_t i = 0; i < count; ++i) {
    const protocol::PlayTicket ticket = rules.next_ticket(kAcceptMs + 500 + i);
    rules.ticket_issued(ticket.nonce_count, chains::message_hash(protocol::encode(ticket)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ResumeTable,
    ::testing::Values(
        ResumeRow{"honest", unchanged, kStartMs + 500, std::nullopt},
        ResumeRow{"counter_above_any_gap_allowed",
                  [](SessionRules&, protocol::GsResume& r) { r.gs_counter = 1000; }, kStartMs + 500,
                  std::nullopt},
        ResumeRow{"lagging_receipts_within_the_lag",
                  [](SessionRules&, protocol::GsResume& r) {
                    r.receipt_count = 0;
                    r.receipt_tip = Hash32{};
                  },
                  kStartMs + 500, std::nullopt},
        ResumeRow{"just_before_the_window_ends", unchanged, kStartMs + kWindow - 1, std::nullopt},
        ResumeRow{"at_the_window_end", unchanged, kStartMs + kWindow,
                  JoinRejectReason::kResumeWindowPassed},
        ResumeRow{"stale_counter_equal",
                  [](SessionRules&, protocol::GsResume& r) { r.gs_counter = 2; }, kStartMs + 500,
                  JoinRejectReason::kResumeMismatch},
        ResumeRow{"stale_counter_older",
                  [](SessionRules&, protocol::GsResume& r) { r.gs_counter = 1; }, kStartMs + 500,
                  JoinRejectReason::kResumeMismatch},
        ResumeRow{"receipts_the_vs_never_issued",
                  [](SessionRules&, protocol::GsResume& r) { r.receipt_count = 2; }, kStartMs + 500,
                  JoinRejectReason::kResumeMismatch},
        ResumeRow{"wrong_receipt_tip",
                  [](SessionRules&, protocol::GsResume& r) { r.receipt_tip = filled(0x99); },
                  kStartMs + 500, JoinRejectReason::kResumeMismatch},
        // A ticket the VS sent into the lost connection never reached the GS: within the
        // lag the resume names an older one, and the VS sends the rest again (§8.15).
        ResumeRow{"a_ticket_lost_in_the_cut",
                  [](SessionRules&, protocol::GsResume& r) {
                    r.ticket_seq = 0;
                    r.ticket_hash = Hash32{};
                  },
                  kStartMs + 500, std::nullopt},
        ResumeRow{"older_ticket_with_another_hash",
                  [](SessionRules&, protocol::GsResume& r) {
                    r.ticket_seq = 0;
                    r.ticket_hash = filled(0x97);
                  },
                  kStartMs + 500, JoinRejectReason::kResumeMismatch},
        ResumeRow{"tickets_lost_up_to_the_lag",
                  [](SessionRules& s, protocol::GsResume&) { issue_tickets(s, kLag); },
                  kStartMs + 500, std::nullopt},
        ResumeRow{"tickets_lost_beyond_the_lag",
                  [](SessionRules& s, protocol::GsResume&) { issue_tickets(s, kLag + 1); },
                  kStartMs + 500, JoinRejectReason::kResumeMismatch},
        ResumeRow{"ticket_from_the_future",
                  [](SessionRules&, protocol::GsResume& r) { r.ticket_seq = 2; }, kStartMs + 500,
                  JoinRejectReason::kResumeMismatch},
        ResumeRow{"wrong_ticket_hash",
                  [](SessionRules&, protocol::GsResume& r) { r.ticket_hash = filled(0x98); },
                  kStartMs + 500, JoinRejectReason::kResumeMismatch},
        ResumeRow{"revoked_session", [](SessionRules& s, protocol::GsResume&) { s.end(); },
                  kStartMs + 500, JoinRejectReason::kSessionEnded},
        // Live in this run (a network cut): a later resume takes the session over, and the one
        // that resumed it, replayed, is stale.
        ResumeRow{"live_after_a_cut_with_a_newer_counter",
                  [](SessionRules& s, protocol::GsResume& r) {
                    s.resumed(r, kStartMs + 100, 60);
                    ++r.gs_counter;
                  },
                  kStartMs + 500, std::nullopt},
        ResumeRow{"live_and_the_resume_replayed",
                  [](SessionRules& s, protocol::GsResume& r) { s.resumed(r, kStartMs + 100, 60); },
                  kStartMs + 500, JoinRejectReason::kResumeMismatch}),
    [](const auto& row) { return row.param.name; });

TEST(SessionResume, SuspensionMovesTheDeadlineToTheWindowAndOwesNoHeartbeat) {
  Logged log;
  log.rules.suspend(kStartMs, kWindow, kStartPosition);
  EXPECT_TRUE(log.rules.suspended());
  EXPECT_EQ(log.rules.heartbeat_deadline_ms(), kStartMs + kWindow);
  EXPECT_FALSE(log.rules.check_liveness(kStartMs + kWindow + 5000).refused());
}

TEST(SessionResume, LivenessRunsFromTheResumeAcceptWhichAMissedHeartbeatCites) {
  Logged log;
  log.rules.suspend(kStartMs, kWindow, kStartPosition);
  const protocol::GsResume resume = log.resume();
  log.rules.resumed(resume, kStartMs + 700, 61);
  EXPECT_FALSE(log.rules.suspended());
  EXPECT_EQ(log.rules.last_counter(), 3u);
  EXPECT_EQ(log.rules.heartbeat_deadline_ms(), kStartMs + 700 + kTimeout);
  EXPECT_FALSE(log.rules.check_liveness(kStartMs + 700 + kTimeout - 1).refused());
  const Judgement late = log.rules.check_liveness(kStartMs + 700 + kTimeout);
  EXPECT_EQ(late.verdict, Verdict::kMissedHeartbeats);
  EXPECT_EQ(late.prior_evidence, std::vector<std::uint64_t>{61});
}

TEST(SessionResume, TicketsGoOnFromTheLastOneLogged) {
  Logged log;
  log.rules.suspend(kStartMs, kWindow, kStartPosition);
  log.rules.resumed(log.resume(), kStartMs + 700, 61);
  const protocol::PlayTicket next = log.rules.next_ticket(kStartMs + 700);
  EXPECT_EQ(next.ticket_seq, 2u);
  EXPECT_EQ(next.prev_ticket_hash, log.ticket_hash);
}

TEST(SessionResume, TheFirstDigestAfterTheGapIsCheckedFromTheLastNotarizedPosition) {
  // A player at x = 0 before the restart; after a 10 s gap it may have walked 10 s at the limit,
  // and no further: the gap is no free teleport.
  SessionRules rules{start()};
  SessionReplay replay(rules);
  protocol::TranscriptDigest before;
  before.session_id = kSession;
  before.gs_counter = 1;
  before.gs_time_ms = kAcceptMs + 100;
  protocol::PlayerPosition p;
  p.player.bytes[0] = 1;
  before.players.push_back(p);
  const Bytes before_bytes = protocol::encode(before);
  replay.add(LoggedEntry{protocol::MessageKind::kTranscriptDigest, chains::Direction::kReceived, 11,
                         kAcceptMs + 100, before_bytes});
  ASSERT_FALSE(replay.owed());
  rules.suspend(kAcceptMs + 1000, kWindow, kStartPosition);
  protocol::GsResume resume;
  resume.session_id = kSession;
  resume.gs_counter = 2;
  // Resumed shortly before the first digest after the gap, so no heartbeat is due yet.
  ASSERT_TRUE(rules.decide_resume(resume, kAcceptMs + 9000).accepted());
  rules.resumed(resume, kAcceptMs + 9000, 20);
  const std::uint64_t gap_ms = 10'000;
  const auto limit_mm = static_cast<std::int32_t>(rules.limits().max_speed_mm_s * gap_ms / 1000);
  auto after = [&](std::uint64_t counter, std::int32_t x) {
    protocol::TranscriptDigest d = before;
    d.gs_counter = counter;
    d.gs_time_ms = kAcceptMs + 100 + gap_ms;
    d.players[0].x_mm = x;
    return protocol::AnyMessage(d);
  };
  SessionRules honest_rules = rules;
  const protocol::AnyMessage walked = after(3, limit_mm);
  EXPECT_TRUE(
      honest_rules
          .judge(Received{&walked, {}, "TranscriptDigest", true, 21, kAcceptMs + 100 + gap_ms})
          .accepted());
  const protocol::AnyMessage teleported = after(3, 40 * limit_mm);
  EXPECT_EQ(
      rules.judge(Received{&teleported, {}, "TranscriptDigest", true, 21, kAcceptMs + 100 + gap_ms})
          .verdict,
      Verdict::kSpeedViolation);
}

// A session rebuilt from the log after a restart judges on with the credited clock the live
// session had (§8.6, §8.15): every logged digest moves it, one that names no player too, so the
// first step across the gap is the same one the VS would have judged had it not stopped.
TEST(SessionResume, TheRebuiltSessionJudgesOnTheSameCreditedClock) {
  struct Sent {
    std::uint64_t vs_ms;
    protocol::TranscriptDigest digest;
  };
  // Player 1 at its first digest; player 2 alone, the GS claiming 260 ms in 10; nobody, 30 ms
  // later (the GS's clock 10 ms on): the clock ends at A + 150, between v - J and v.
  const std::vector<Sent> before{{kAcceptMs + 100, digest_of(1, kAcceptMs + 100, {{1, 0}})},
                                 {kAcceptMs + 110, digest_of(2, kAcceptMs + 360, {{2, 0}})},
                                 {kAcceptMs + 400, digest_of(3, kAcceptMs + 370, {})}};
  // After a 10 s gap through which the GS's clock ran on.
  const protocol::AnyMessage across = digest_of(5, kAcceptMs + 10'370, {{1, 70'000}, {2, 70'000}});
  const std::uint64_t across_ms = kAcceptMs + 10'400;
  auto resume_after_gap = [](SessionRules& rules) {
    rules.suspend(kAcceptMs + 1000, kWindow, kStartPosition);
    protocol::GsResume resume;
    resume.session_id = kSession;
    resume.gs_counter = 4;
    rules.resumed(resume, kAcceptMs + 10'000, 20);
  };

  SessionRules live{start()};
  SessionRules rebuilt{start()};
  SessionReplay replay(rebuilt);
  std::uint64_t position = kAcceptPosition;
  for (const auto& sent : before) {
    const protocol::AnyMessage message = sent.digest;
    ASSERT_TRUE(live.judge(Received{&message, {}, "TranscriptDigest", true, ++position, sent.vs_ms})
                    .accepted());
    replay.add(LoggedEntry{protocol::MessageKind::kTranscriptDigest, chains::Direction::kReceived,
                           position, sent.vs_ms, protocol::encode(sent.digest)});
  }
  ASSERT_FALSE(replay.owed());
  resume_after_gap(live);
  resume_after_gap(rebuilt);
  const Judgement live_judgement =
      live.judge(Received{&across, {}, "TranscriptDigest", true, 21, across_ms});
  const Judgement rebuilt_judgement =
      rebuilt.judge(Received{&across, {}, "TranscriptDigest", true, 21, across_ms});
  ASSERT_TRUE(rebuilt_judgement.accepted()) << rebuilt_judgement.why;
  ASSERT_EQ(rebuilt_judgement.steps.size(), 2u);
  // c = clamp(A + 150 + 10000, A + 10150, A + 10400): player 1's reference was A - 150, player
  // 2's A + 110. Without the digest naming nobody the clock would read A + 10370.
  EXPECT_EQ(rebuilt_judgement.steps[0].elapsed_credited_ms, 10'300u);
  EXPECT_EQ(rebuilt_judgement.steps[1].elapsed_credited_ms, 10'040u);
  EXPECT_EQ(rebuilt_judgement.steps[1].elapsed_used_ms, 10'010u);
  ASSERT_EQ(live_judgement.steps.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const MovementStep& a = live_judgement.steps[i];
    const MovementStep& b = rebuilt_judgement.steps[i];
    EXPECT_EQ(a.elapsed_credited_ms, b.elapsed_credited_ms) << i;
    EXPECT_EQ(a.elapsed_used_ms, b.elapsed_used_ms) << i;
    EXPECT_EQ(a.accumulated_excess_mm, b.accumulated_excess_mm) << i;
  }
}

TEST(SessionReplay, ARefusalTheLogDoesNotAnswerIsOwed) {
  // A crash between logging a frame and revoking for it: the replay finds the refusal owed.
  SessionRules rules{start()};
  SessionReplay replay(rules);
  protocol::Heartbeat hb;
  hb.session_id = kSession;
  hb.gs_counter = 1;
  hb.sw_hash = filled(0xCD);  // not the build pinned at join
  const Bytes bytes = protocol::encode(hb);
  replay.add(LoggedEntry{protocol::MessageKind::kHeartbeat, chains::Direction::kReceived, 11,
                         kAcceptMs + 100, bytes});
  ASSERT_TRUE(replay.owed());
  EXPECT_EQ(replay.owed()->verdict, Verdict::kSwHashChanged);
  EXPECT_EQ(*replay.owed_evidence(), (std::vector<std::uint64_t>{10, 11}));
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

// ---- Adoption in a fleet (PROTOCOL.md §8.10, §5.28) --------------------------------------------

constexpr std::uint64_t kAdoptedAt = 99;  // the SessionAdopted's position in the adopting log

// The logged session's state as a SessionAdopted carries it, its JoinAccept encoded.
protocol::SessionAdopted adoption_of(const SessionRules& rules) {
  protocol::SessionAdopted adopted;
  adopted.session_id = kSession;
  adopted.vs_time_ms = kAcceptMs + 600;
  adopted.join_accept = protocol::encode(rules.accept());
  EXPECT_TRUE(rules.adoption_state(adopted).ok());
  return adopted;
}

TEST(SessionAdoption, TheAdoptingNodeGoesOnAsTheEarlierNodeWould) {
  Logged log;
  const protocol::SessionAdopted adopted = adoption_of(log.rules);
  auto taken = SessionRules::adopt(adopted, kAdoptedAt);
  ASSERT_TRUE(taken.ok()) << taken.error();
  SessionRules& rules = *taken;
  EXPECT_EQ(rules.last_counter(), log.rules.last_counter());
  EXPECT_EQ(rules.receipts_issued(), log.rules.receipts_issued());
  EXPECT_EQ(rules.receipt_tip(), log.rules.receipt_tip());
  EXPECT_EQ(rules.tickets_issued(), log.rules.tickets_issued());
  EXPECT_EQ(rules.heartbeat_deadline_ms(), log.rules.heartbeat_deadline_ms());
  // The chains go on: the next receipt and ticket are the ones the earlier node would issue.
  const Hash32 digest = filled(0x42);
  EXPECT_EQ(rules.next_receipt(digest).tip, log.rules.next_receipt(digest).tip);
  EXPECT_EQ(protocol::encode(rules.next_ticket(kAcceptMs + 700)),
            protocol::encode(log.rules.next_ticket(kAcceptMs + 700)));
  // The GS's resume of that state is decided as the earlier node would decide it.
  const std::uint64_t at = kAcceptMs + 800;
  EXPECT_EQ(rules.decide_resume(log.resume(), at).accepted(),
            log.rules.decide_resume(log.resume(), at).accepted());
  EXPECT_TRUE(rules.decide_resume(log.resume(), at).accepted());
  // What the earlier node logged is cited at the SessionAdopted.
  const Judgement late = rules.check_liveness(rules.heartbeat_deadline_ms());
  EXPECT_EQ(late.verdict, Verdict::kMissedHeartbeats);
  EXPECT_EQ(late.prior_evidence, std::vector<std::uint64_t>{kAdoptedAt});
  // Taken up and stated again, the state is the same: nothing is lost in a second adoption.
  protocol::SessionAdopted again = adopted;
  ASSERT_TRUE(rules.adoption_state(again).ok());
  EXPECT_EQ(protocol::encode(again), protocol::encode(adopted));
}

TEST(SessionAdoption, APlayersNextStepIsCheckedFromItsLastNotarizedPosition) {
  SessionRules earlier{start()};
  protocol::TranscriptDigest before;
  before.session_id = kSession;
  before.gs_counter = 1;
  before.gs_time_ms = kAcceptMs + 100;
  before.players.push_back(protocol::PlayerPosition{player(1), 0, 0, 0});
  const protocol::AnyMessage first(before);
  ASSERT_TRUE(earlier.judge(Received{&first, {}, "TranscriptDigest", true, 11, kAcceptMs + 100})
                  .accepted());
  auto taken = SessionRules::adopt(adoption_of(earlier), kAdoptedAt);
  ASSERT_TRUE(taken.ok()) << taken.error();
  const auto limit_mm = static_cast<std::int32_t>(taken->limits().max_speed_mm_s);  // in 1 s
  protocol::TranscriptDigest after = before;
  after.gs_counter = 2;
  after.gs_time_ms = kAcceptMs + 1100;
  after.players[0].x_mm = 40 * limit_mm;
  const protocol::AnyMessage teleported(after);
  EXPECT_EQ(taken->judge(Received{&teleported, {}, "TranscriptDigest", true, 120, kAcceptMs + 1100})
                .verdict,
            Verdict::kSpeedViolation);
}

struct AdoptionFault {
  std::string name;
  std::function<void(protocol::SessionAdopted&)> change;
  std::string named;  // a piece of the error
};

class AdoptionFaults : public ::testing::TestWithParam<AdoptionFault> {};

TEST_P(AdoptionFaults, AStateTheRulesCouldNotHaveHeldIsRefused) {
  Logged log;
  protocol::SessionAdopted adopted = adoption_of(log.rules);
  GetParam().change(adopted);
  auto taken = SessionRules::adopt(adopted, kAdoptedAt);
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().find(GetParam().named), std::string::npos) << taken.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, AdoptionFaults,
    ::testing::Values(AdoptionFault{"JoinAcceptDoesNotDecode",
                                    [](auto& a) { a.join_accept.resize(3); }, "does not decode"},
                      AdoptionFault{"JoinAcceptOfAnotherSession",
                                    [](auto& a) {
                                      auto accept =
                                          protocol::decode<protocol::JoinAccept>(a.join_accept);
                                      accept->session_id = kSession + 1;
                                      a.join_accept = protocol::encode(*accept);
                                    },
                                    "is of session 8"},
                      AdoptionFault{"NoReceiptTip", [](auto& a) { a.receipt_tips.clear(); },
                                    "receipt tips"},
                      AdoptionFault{"MoreTicketHashesThanTheLagKeeps",
                                    [](auto& a) { a.ticket_hashes.assign(kLag + 2, filled(1)); },
                                    "ticket hashes"},
                      AdoptionFault{"MoreTicketHashesThanTicketsIssued",
                                    [](auto& a) {
                                      a.ticket_seq = 0;
                                      a.ticket_hashes.assign(2, filled(1));
                                    },
                                    "ticket hashes"},
                      AdoptionFault{"ReceiptsSeenAboveThoseIssued",
                                    [](auto& a) { a.receipt_count_seen = a.receipt_count + 1; },
                                    "receipt_count_seen"},
                      AdoptionFault{"MorePlayersThanTheSessionMayName",
                                    [](auto& a) {
                                      a.positions.assign(3, protocol::AdoptedPosition{});
                                      for (std::uint8_t i = 0; i < 3; ++i)
                                        a.positions[i].player = player(i);
                                    },
                                    "max_players_per_session"}),
    [](const auto& test) { return test.param.name; });

}  // namespace
}  // namespace gsvs::rules
