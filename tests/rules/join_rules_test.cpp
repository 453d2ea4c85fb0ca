// The admission order of PROTOCOL.md §8.3: vsd's decision and the audit's judgement of a logged
// answer, one table each.
#include "rules/join_rules.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace gsvs::rules {
namespace {

using protocol::JoinRejectReason;
using C = JoinCheck;

constexpr std::uint16_t code(JoinRejectReason reason) { return static_cast<std::uint16_t>(reason); }

JoinFacts all_pass() {
  JoinFacts facts;
  for (const auto& rule : join_order()) facts.set(rule.check, true);
  return facts;
}

TEST(JoinOrder, IsTheDocumentedOrder) {
  const std::vector<std::pair<C, std::optional<JoinRejectReason>>> documented{
      {C::kDecodes, std::nullopt},
      {C::kIdentityAllowed, std::nullopt},
      {C::kChallenge, std::nullopt},
      {C::kIdentitySignature, std::nullopt},
      {C::kBuildAllowed, JoinRejectReason::kBuildNotAllowed},
      {C::kSessionSignature, JoinRejectReason::kBadSessionSignature},
      {C::kClockSkew, JoinRejectReason::kClockSkew},
      {C::kVsTakesSessions, JoinRejectReason::kServerBusy},
      {C::kIdentityFree, JoinRejectReason::kIdentityBusy},
      {C::kNotQuarantined, JoinRejectReason::kQuarantined},
      {C::kFreeInFleet, JoinRejectReason::kIdentityBusyInFleet},
      {C::kNotQuarantinedInFleet, JoinRejectReason::kQuarantinedInFleet},
  };
  ASSERT_EQ(join_order().size(), documented.size());
  for (std::size_t i = 0; i < documented.size(); ++i) {
    EXPECT_EQ(join_order()[i].check, documented[i].first) << i;
    EXPECT_EQ(join_order()[i].reason, documented[i].second) << i;
    EXPECT_EQ(&rule_of(documented[i].first), &join_order()[i]);
  }
}

struct DecideCase {
  std::string name;
  std::vector<C> failing;
  JoinOutcome outcome;
  std::optional<C> decided_by;
  std::optional<JoinRejectReason> reason;
  std::string detail_has;
};

class Decide : public ::testing::TestWithParam<DecideCase> {};

TEST_P(Decide, TheFirstFailureDecides) {
  const auto& c = GetParam();
  JoinFacts facts = all_pass();
  for (C check : c.failing) facts.set(check, false);
  protocol::JoinRequest request;
  request.sw_hash.bytes[0] = 0xab;
  const JoinSubject subject{&request, {}, 7001, 5000, {}, "node_b", "node node_c"};
  const JoinDecision d = decide_join(facts, subject);
  EXPECT_EQ(d.outcome, c.outcome);
  EXPECT_EQ(d.check, c.decided_by);
  EXPECT_EQ(d.reason, c.reason);
  EXPECT_NE(d.detail.find(c.detail_has), std::string::npos) << d.detail;
}

// A claim whose node this VS found down and could not take over waits for an operator: the
// refusal says so instead of promising a takeover once that node is down.
TEST(Decide, BusyInFleetSaysWhenTheTakeoverFailed) {
  JoinFacts facts = all_pass();
  facts.set(C::kFreeInFleet, false);
  protocol::JoinRequest request;
  JoinSubject subject{&request, {}, 0, 0, {}, "node_b", {}};
  EXPECT_NE(decide_join(facts, subject).detail.find("taken over by a join once that node is down"),
            std::string::npos);
  subject.fleet_takeover_failed = true;
  const std::string detail = decide_join(facts, subject).detail;
  EXPECT_NE(detail.find("found that node down and could not take the session over"),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find("once that node is down"), std::string::npos) << detail;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Decide,
    ::testing::Values(
        DecideCase{"AllPass", {}, JoinOutcome::kAccept, std::nullopt, std::nullopt, ""},
        DecideCase{"NotAJoinRequest",
                   {C::kDecodes},
                   JoinOutcome::kTurnAway,
                   C::kDecodes,
                   std::nullopt,
                   "not a JoinRequest"},
        DecideCase{"UnknownIdentity",
                   {C::kIdentityAllowed, C::kBuildAllowed},
                   JoinOutcome::kTurnAway,
                   C::kIdentityAllowed,
                   std::nullopt,
                   "allowed_gs"},
        // A replayed request: turned away before its signatures are checked.
        DecideCase{"ReplayedChallengeBeforeIdentitySignature",
                   {C::kChallenge, C::kIdentitySignature, C::kBuildAllowed},
                   JoinOutcome::kTurnAway,
                   C::kChallenge,
                   std::nullopt,
                   "replayed"},
        DecideCase{"BadIdentitySignatureBeforeBuild",
                   {C::kIdentitySignature, C::kBuildAllowed},
                   JoinOutcome::kTurnAway,
                   C::kIdentitySignature,
                   std::nullopt,
                   "identity"},
        DecideCase{"Build",
                   {C::kBuildAllowed, C::kSessionSignature},
                   JoinOutcome::kReject,
                   C::kBuildAllowed,
                   JoinRejectReason::kBuildNotAllowed,
                   "ab"},
        DecideCase{"SessionSignature",
                   {C::kSessionSignature, C::kClockSkew},
                   JoinOutcome::kReject,
                   C::kSessionSignature,
                   JoinRejectReason::kBadSessionSignature,
                   "session-key"},
        DecideCase{"ClockSkew",
                   {C::kClockSkew, C::kVsTakesSessions},
                   JoinOutcome::kReject,
                   C::kClockSkew,
                   JoinRejectReason::kClockSkew,
                   "by 7001 ms; at most 5000"},
        DecideCase{"Stopping",
                   {C::kVsTakesSessions, C::kIdentityFree},
                   JoinOutcome::kReject,
                   C::kVsTakesSessions,
                   JoinRejectReason::kServerBusy,
                   "shutting down"},
        DecideCase{"Busy",
                   {C::kIdentityFree, C::kNotQuarantined},
                   JoinOutcome::kReject,
                   C::kIdentityFree,
                   JoinRejectReason::kIdentityBusy,
                   "live session"},
        DecideCase{"Quarantined",
                   {C::kNotQuarantined, C::kFreeInFleet},
                   JoinOutcome::kReject,
                   C::kNotQuarantined,
                   JoinRejectReason::kQuarantined,
                   "is quarantined"},
        DecideCase{"BusyInFleet",
                   {C::kFreeInFleet, C::kNotQuarantinedInFleet},
                   JoinOutcome::kReject,
                   C::kFreeInFleet,
                   JoinRejectReason::kIdentityBusyInFleet,
                   "live session on node node_b of this VS's fleet"},
        DecideCase{"QuarantinedInFleet",
                   {C::kNotQuarantinedInFleet},
                   JoinOutcome::kReject,
                   C::kNotQuarantinedInFleet,
                   JoinRejectReason::kQuarantinedInFleet,
                   "identity quarantined by node node_c"}),
    [](const ::testing::TestParamInfo<DecideCase>& param) { return param.param.name; });

// vsd asks for each fact in order and stops at the first failure: no signature is verified for
// an identity not on the allowlist, nor for a request that names another connection's challenge
// (a replay costs a comparison).
TEST(Decide, AsksInOrderOnlyUntilAFailure) {
  const std::vector<std::pair<C, std::vector<C>>> rows{
      {C::kIdentityAllowed, {C::kDecodes, C::kIdentityAllowed}},
      {C::kChallenge, {C::kDecodes, C::kIdentityAllowed, C::kChallenge}},
      {C::kIdentitySignature,
       {C::kDecodes, C::kIdentityAllowed, C::kChallenge, C::kIdentitySignature}},
  };
  for (const auto& row : rows) {
    const C failing = row.first;  // a copy: clang 14 cannot capture a structured binding
    std::vector<C> asked;
    JoinFacts facts;
    const auto d = decide_join(facts,
                               [&](C check) -> std::optional<bool> {
                                 asked.push_back(check);
                                 return check != failing;
                               },
                               {});
    EXPECT_EQ(d.outcome, JoinOutcome::kTurnAway) << rule_of(failing).name;
    EXPECT_EQ(asked, row.second) << rule_of(failing).name;
  }
}

// Only a fresh signature of an allowed identity is logged and answered: every check before the
// identity signature turns the peer away, every check after it logs a JoinReject.
TEST(JoinOrder, OnlyAnAuthenticatedPeerIsLoggedAndAnswered) {
  bool authenticated = false;
  for (const auto& rule : join_order()) {
    EXPECT_EQ(rule.reason.has_value(), authenticated) << rule.name;
    EXPECT_NE(rule.reason.has_value(), rule.former_reason.has_value()) << rule.name;
    if (rule.check == C::kIdentitySignature) authenticated = true;
  }
}

TEST(Decide, StopsAtAnUnknownFactAndGoesOnFromIt) {
  // vsd: the checks that need no log position first, then busy-ness where the answer is placed.
  JoinFacts facts;
  auto before_placement = [](C check) -> std::optional<bool> {
    if (check >= C::kVsTakesSessions) return std::nullopt;
    return true;
  };
  const auto first = decide_join(facts, before_placement, {});
  EXPECT_FALSE(first.decided());
  EXPECT_EQ(first.check, C::kVsTakesSessions);
  EXPECT_EQ(facts.passes(C::kClockSkew), true);

  std::vector<C> asked;
  const auto second = decide_join(facts,
                                  [&](C check) -> std::optional<bool> {
                                    asked.push_back(check);
                                    return check != C::kIdentityFree;
                                  },
                                  {});
  EXPECT_EQ(asked, (std::vector<C>{C::kVsTakesSessions, C::kIdentityFree}));
  EXPECT_FALSE(facts.passes(C::kNotQuarantined).has_value());
  EXPECT_EQ(second.reason, JoinRejectReason::kIdentityBusy);
}

TEST(Decide, ClockSkewIsAbsoluteAndInclusive) {
  EXPECT_EQ(clock_skew_ms(1000, 400), 600u);
  EXPECT_EQ(clock_skew_ms(400, 1000), 600u);
  EXPECT_TRUE(within_clock_skew(1000, 400, 600));
  EXPECT_FALSE(within_clock_skew(400, 1001, 600));
}

// ---- The audit: a logged answer against what the log shows ---------------------------------

struct AnswerCase {
  std::string name;
  std::vector<std::pair<C, bool>> known;  // every other fact unknown
  std::optional<std::uint16_t> reason;    // nullopt: a JoinAccept
  bool agrees;
  std::string why_has;
};

// What an auditor knows of a logged JoinRequest whose signatures both verify and whose identity
// has no live session: decodes, signatures 0 and 1, identity free.
std::vector<std::pair<C, bool>> honest(std::initializer_list<std::pair<C, bool>> changes = {}) {
  std::vector<std::pair<C, bool>> known{{C::kDecodes, true},
                                        {C::kIdentitySignature, true},
                                        {C::kSessionSignature, true},
                                        {C::kIdentityFree, true},
                                        {C::kNotQuarantined, true}};
  for (const auto& change : changes) {
    for (auto& fact : known) {
      if (fact.first == change.first) fact.second = change.second;
    }
  }
  return known;
}

class Answer : public ::testing::TestWithParam<AnswerCase> {};

TEST_P(Answer, AgreesWithTheOrder) {
  const auto& c = GetParam();
  JoinFacts known;
  for (const auto& [check, passes] : c.known) known.set(check, passes);
  const Status status = check_join_answer(known, c.reason);
  EXPECT_EQ(status.ok(), c.agrees) << (status.ok() ? "agrees" : status.error());
  if (!status.ok()) {
    EXPECT_NE(status.error().find(c.why_has), std::string::npos) << status.error();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Answer,
    ::testing::Values(
        AnswerCase{"AcceptHonest", honest(), std::nullopt, true, ""},
        AnswerCase{"AcceptBusy", honest({{C::kIdentityFree, false}}), std::nullopt, false,
                   "check 9"},
        AnswerCase{"AcceptBadSession", honest({{C::kSessionSignature, false}}), std::nullopt, false,
                   "check 6"},
        // Quarantine (§8.16): the log decides it, so an accept while quarantined is a finding.
        AnswerCase{"AcceptQuarantined", honest({{C::kNotQuarantined, false}}), std::nullopt, false,
                   "check 10 (gs_identity not quarantined) fails"},
        AnswerCase{"QuarantinedThatIs", honest({{C::kNotQuarantined, false}}),
                   code(JoinRejectReason::kQuarantined), true, ""},
        AnswerCase{"QuarantinedThatIsNot", honest(), code(JoinRejectReason::kQuarantined), false,
                   "check 10 (gs_identity not quarantined) passes"},
        // The VS's word: the log cannot decide these checks.
        AnswerCase{"BuildNotAllowed", honest(), code(JoinRejectReason::kBuildNotAllowed), true, ""},
        // The fleet's claims are in its database, not in a node's log (§8.10).
        AnswerCase{"BusyInFleet", honest(), code(JoinRejectReason::kIdentityBusyInFleet), true, ""},
        AnswerCase{"BusyInFleetWhileBusyHere", honest({{C::kIdentityFree, false}}),
                   code(JoinRejectReason::kIdentityBusyInFleet), false,
                   "check 9 (no live session of gs_identity) fails before it"},
        AnswerCase{"BusyInFleetWhileQuarantined", honest({{C::kNotQuarantined, false}}),
                   code(JoinRejectReason::kIdentityBusyInFleet), false, "answers quarantined"},
        // Another node's quarantine is in the fleet's database too (§8.16 "In a fleet").
        AnswerCase{"QuarantinedInFleet", honest(), code(JoinRejectReason::kQuarantinedInFleet),
                   true, ""},
        AnswerCase{"QuarantinedInFleetWhileQuarantinedHere", honest({{C::kNotQuarantined, false}}),
                   code(JoinRejectReason::kQuarantinedInFleet), false, "answers quarantined"},
        AnswerCase{"ClockSkew", honest(), code(JoinRejectReason::kClockSkew), true, ""},
        AnswerCase{"ServerBusy", honest(), code(JoinRejectReason::kServerBusy), true, ""},
        // Decidable checks.
        AnswerCase{"BadSessionSignatureThatFails", honest({{C::kSessionSignature, false}}),
                   code(JoinRejectReason::kBadSessionSignature), true, ""},
        AnswerCase{"BadSessionSignatureThatVerifies", honest(),
                   code(JoinRejectReason::kBadSessionSignature), false, "passes"},
        AnswerCase{"BusyWithALiveSession", honest({{C::kIdentityFree, false}}),
                   code(JoinRejectReason::kIdentityBusy), true, ""},
        AnswerCase{"BusyWithoutALiveSession", honest(), code(JoinRejectReason::kIdentityBusy),
                   false, "check 9 (no live session of gs_identity) passes"},
        // Out of order: an earlier check that the log decides fails.
        AnswerCase{"ClockSkewOverABadSessionSignature", honest({{C::kSessionSignature, false}}),
                   code(JoinRejectReason::kClockSkew), false, "answers bad_session_signature (5)"},
        AnswerCase{"BusyOverABadSessionSignature",
                   honest({{C::kSessionSignature, false}, {C::kIdentityFree, false}}),
                   code(JoinRejectReason::kIdentityBusy), false, "check 6"},
        AnswerCase{"BuildOverABadIdentitySignature", honest({{C::kIdentitySignature, false}}),
                   code(JoinRejectReason::kBuildNotAllowed), false, "turns such a peer away"},
        AnswerCase{"AnythingForAFrameThatDoesNotDecode",
                   {{C::kDecodes, false}},
                   code(JoinRejectReason::kServerBusy),
                   false,
                   "check 1"},
        // Reasons an earlier vsd logged for the checks it now turns away.
        AnswerCase{"FormerMalformed",
                   {{C::kDecodes, false}},
                   code(JoinRejectReason::kMalformed),
                   true,
                   ""},
        AnswerCase{"FormerMalformedThatDecodes", honest(), code(JoinRejectReason::kMalformed),
                   false, "passes"},
        AnswerCase{"FormerUnknownIdentity", honest(), code(JoinRejectReason::kUnknownIdentity),
                   true, ""},
        // bad_challenge: logged by an earlier vsd after both signatures verified; the log cannot
        // decide the challenge, so the auditor takes the VS's word for it, as it did then, and
        // holds it to the signatures that vsd checked first.
        AnswerCase{"FormerBadChallenge", honest(), code(JoinRejectReason::kBadChallenge), true, ""},
        AnswerCase{"FormerBadChallengeOverABadIdentitySignature",
                   honest({{C::kIdentitySignature, false}}), code(JoinRejectReason::kBadChallenge),
                   false, "turns such a peer away"},
        AnswerCase{"FormerBadChallengeOverABadSessionSignature",
                   honest({{C::kSessionSignature, false}}), code(JoinRejectReason::kBadChallenge),
                   false, "answers bad_session_signature (5)"},
        AnswerCase{"FormerBadIdentitySignature", honest({{C::kIdentitySignature, false}}),
                   code(JoinRejectReason::kBadIdentitySignature), true, ""},
        AnswerCase{"FormerBadIdentitySignatureThatVerifies", honest(),
                   code(JoinRejectReason::kBadIdentitySignature), false, "passes"},
        AnswerCase{"UndefinedReason", honest(), std::uint16_t{42}, false, "not a defined"},
        AnswerCase{"ReasonZero", honest(), std::uint16_t{0}, false, "not a defined"}),
    [](const ::testing::TestParamInfo<AnswerCase>& param) { return param.param.name; });

}  // namespace
}  // namespace gsvs::rules
