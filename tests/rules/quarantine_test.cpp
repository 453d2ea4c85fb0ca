// Quarantine of a GS identity (PROTOCOL.md §8.16): which revocations quarantine, one row per
// reason, and the ledger that says whether an identity is quarantined after a stretch of log.
#include "rules/quarantine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace gsvs::rules {
namespace {

using protocol::RevocationReason;

protocol::PublicKey identity(std::uint8_t fill) {
  protocol::PublicKey key;
  key.bytes.fill(fill);
  return key;
}

struct ReasonCase {
  std::string name;
  RevocationReason reason;
  bool quarantines;
};

class QuarantineReason : public ::testing::TestWithParam<ReasonCase> {};

TEST_P(QuarantineReason, IntegrityFaultsQuarantineAndLivenessEndsDoNot) {
  const auto& c = GetParam();
  EXPECT_EQ(quarantines(static_cast<std::uint16_t>(c.reason)), c.quarantines);
}

INSTANTIATE_TEST_SUITE_P(
    Reasons, QuarantineReason,
    ::testing::Values(ReasonCase{"BadSignature", RevocationReason::kBadSignature, true},
                      ReasonCase{"CounterRegression", RevocationReason::kCounterRegression, true},
                      ReasonCase{"SwHashChanged", RevocationReason::kSwHashChanged, true},
                      ReasonCase{"SpeedViolation", RevocationReason::kSpeedViolation, true},
                      ReasonCase{"ReceiptTipMismatch", RevocationReason::kReceiptTipMismatch, true},
                      ReasonCase{"MalformedMessage", RevocationReason::kMalformedMessage, true},
                      ReasonCase{"OperatorQuarantine", RevocationReason::kOperatorQuarantine, true},
                      // Digests withheld while heartbeats go on: a crash stops both.
                      ReasonCase{"DigestsStopped", RevocationReason::kDigestsStopped, true},
                      // The honest counterparts: an honest GS meets each of these.
                      ReasonCase{"MissedHeartbeats", RevocationReason::kMissedHeartbeats, false},
                      // A stalled link, or a paused VS (PROTOCOL.md §8.6 "Late digests").
                      ReasonCase{"DigestsLate", RevocationReason::kDigestsLate, false},
                      ReasonCase{"VsShutdown", RevocationReason::kVsShutdown, false},
                      ReasonCase{"GsLeft", RevocationReason::kGsLeft, false},
                      ReasonCase{"Operator", RevocationReason::kOperator, false},
                      ReasonCase{"SessionMismatch", RevocationReason::kSessionMismatch, false},
                      ReasonCase{"TooManyPlayers", RevocationReason::kTooManyPlayers, false},
                      ReasonCase{"Unassigned", static_cast<RevocationReason>(13), false},
                      ReasonCase{"Unknown", static_cast<RevocationReason>(999), false}),
    [](const ::testing::TestParamInfo<ReasonCase>& param) { return param.param.name; });

// One step of log, at VS time `at_ms`: a revocation of an identity (reason), a pardon of it, or a
// PolicyApplied that sets the quarantine_ms later revocations begin with.
struct LedgerStep {
  enum class What : std::uint8_t { kRevoked, kPardoned, kPolicy };
  What what;
  std::uint8_t identity = 0;
  RevocationReason reason{};
  std::uint64_t at_ms = 0;
  std::uint32_t quarantine_ms = 0;  // kPolicy
  bool pardon_lifts = true;         // kPardoned: whether a quarantine held to lift
};

LedgerStep revoke(std::uint8_t id, RevocationReason reason, std::uint64_t at_ms) {
  return {LedgerStep::What::kRevoked, id, reason, at_ms};
}
LedgerStep pardon(std::uint8_t id, std::uint64_t at_ms, bool lifts = true) {
  return {LedgerStep::What::kPardoned, id, {}, at_ms, 0, lifts};
}
LedgerStep policy(std::uint32_t quarantine_ms, std::uint64_t at_ms) {
  return {LedgerStep::What::kPolicy, 0, {}, at_ms, quarantine_ms};
}

struct LedgerCase {
  std::string name;
  std::vector<LedgerStep> log;
  std::uint64_t asked_at_ms;              // the VS time of the join asked about
  std::vector<std::uint8_t> quarantined;  // after the whole log, at asked_at_ms
};

class Ledger : public ::testing::TestWithParam<LedgerCase> {};

TEST_P(Ledger, QuarantinedAfterTheLog) {
  const auto& c = GetParam();
  QuarantineLedger ledger;
  std::uint64_t position = 1;
  for (const auto& step : c.log) {
    switch (step.what) {
      case LedgerStep::What::kRevoked:
        ledger.revoked(identity(step.identity), position, static_cast<std::uint16_t>(step.reason),
                       step.at_ms, position);
        break;
      case LedgerStep::What::kPardoned:
        EXPECT_EQ(ledger.pardoned(identity(step.identity), step.at_ms).has_value(),
                  step.pardon_lifts)
            << "pardon at step " << position;
        break;
      case LedgerStep::What::kPolicy:
        ledger.policy_applied(step.quarantine_ms);
        break;
    }
    ++position;
  }
  std::vector<std::uint8_t> got;
  for (const auto& [key, quarantine] : ledger.holding_at(c.asked_at_ms)) {
    got.push_back(key.bytes[0]);
  }
  EXPECT_EQ(got, c.quarantined);
  for (std::uint8_t id = 1; id < 5; ++id) {
    const bool expected =
        std::find(c.quarantined.begin(), c.quarantined.end(), id) != c.quarantined.end();
    EXPECT_EQ(ledger.quarantine_of(identity(id), c.asked_at_ms).has_value(), expected)
        << "identity " << int{id};
  }
}

constexpr auto kSpeed = RevocationReason::kSpeedViolation;
constexpr auto kMissed = RevocationReason::kMissedHeartbeats;

INSTANTIATE_TEST_SUITE_P(
    Logs, Ledger,
    ::testing::Values(
        LedgerCase{"Empty", {}, 0, {}},
        LedgerCase{"RogueRevokedForSpeed", {revoke(1, kSpeed, 100)}, 200, {1}},
        // The honest counterpart: a GS revoked for missed heartbeats reconnects freely.
        LedgerCase{"HonestMissedHeartbeats", {revoke(2, kMissed, 100)}, 200, {}},
        LedgerCase{"PardonLifts", {revoke(1, kSpeed, 100), pardon(1, 150)}, 200, {}},
        LedgerCase{"PardonOfNothingLiftsNothing", {pardon(1, 50, false)}, 200, {}},
        LedgerCase{"PardonOfAnotherIdentityDoesNot",
                   {revoke(1, kSpeed, 100), pardon(2, 150, false)},
                   200,
                   {1}},
        LedgerCase{
            "APardonDoesNotProtectAhead", {pardon(1, 50, false), revoke(1, kSpeed, 100)}, 200, {1}},
        LedgerCase{"ASecondPardonLiftsNothing",
                   {revoke(1, kSpeed, 100), pardon(1, 150), pardon(1, 160, false)},
                   200,
                   {}},
        LedgerCase{"ALaterLivenessEndDoesNotLift",
                   {revoke(1, kSpeed, 100), revoke(1, kMissed, 150)},
                   200,
                   {1}},
        LedgerCase{"TwoRogues",
                   {revoke(1, kSpeed, 100), revoke(3, RevocationReason::kBadSignature, 120)},
                   200,
                   {1, 3}},
        // quarantine_ms: it holds on [since, since + quarantine_ms) and lapses at the boundary.
        LedgerCase{"UntilPardonedByDefault", {revoke(1, kSpeed, 100)}, 1'000'000'000, {1}},
        LedgerCase{
            "HoldsOneMsBeforeTheBoundary", {policy(1000, 0), revoke(1, kSpeed, 100)}, 1099, {1}},
        LedgerCase{
            "LapsesExactlyAtTheBoundary", {policy(1000, 0), revoke(1, kSpeed, 100)}, 1100, {}},
        LedgerCase{"APardonAfterTheLapseLiftsNothing",
                   {policy(1000, 0), revoke(1, kSpeed, 100), pardon(1, 1100, false)},
                   1100,
                   {}},
        LedgerCase{"ARevocationAfterTheLapseBeginsAnew",
                   {policy(1000, 0), revoke(1, kSpeed, 100), revoke(1, kSpeed, 2000)},
                   2500,
                   {1}},
        // A reload keeps a running quarantine's term: the quarantine_ms in force where the
        // Revocation was placed, not the one in force at the join.
        LedgerCase{"AReloadDoesNotShortenARunningQuarantine",
                   {revoke(1, kSpeed, 100), policy(1000, 200)},
                   5000,
                   {1}},
        LedgerCase{"AReloadDoesNotLengthenARunningQuarantine",
                   {policy(1000, 0), revoke(1, kSpeed, 100), policy(0, 200)},
                   1100,
                   {}},
        LedgerCase{
            "ARevocationAfterTheReloadTakesItsTerm",
            {policy(1000, 0), revoke(1, kSpeed, 100), policy(0, 200), revoke(2, kSpeed, 300)},
            5000,
            {2}}),
    [](const ::testing::TestParamInfo<LedgerCase>& param) { return param.param.name; });

TEST(Ledger, TheLastQuarantiningRevocationIsTheOneInForce) {
  QuarantineLedger ledger;
  ledger.revoked(identity(1), 4, static_cast<std::uint16_t>(kSpeed), 1000, 40);
  ledger.revoked(identity(1), 9, static_cast<std::uint16_t>(RevocationReason::kBadSignature), 5000,
                 90);
  const auto q = ledger.quarantine_of(identity(1), 6000);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->session_id, 9U);
  EXPECT_EQ(q->since_ms, 5000U);
  EXPECT_EQ(q->position, 90U);
  const auto lifted = ledger.pardoned(identity(1), 6000);
  ASSERT_TRUE(lifted);
  EXPECT_EQ(lifted->position, 90U);  // what a Pardon cites
  EXPECT_FALSE(ledger.pardoned(identity(1), 6000));
}

TEST(Ledger, ALapsedQuarantineIsKeptButNoLongerHolds) {
  QuarantineLedger ledger;
  ledger.policy_applied(500);
  ledger.revoked(identity(1), 4, static_cast<std::uint16_t>(kSpeed), 1000, 40);
  EXPECT_EQ(ledger.all().size(), 1U);
  EXPECT_EQ(ledger.all().begin()->second.lapses_at_ms(), std::optional<std::uint64_t>{1500});
  EXPECT_TRUE(ledger.holding_at(1500).empty());
  EXPECT_EQ(ledger.holding_at(1499).size(), 1U);
}

// Carried forward (PROTOCOL.md §8.16): a ledger restated from another's carry answers every
// question at or after the carry's time as the other does, lapsed quarantines left out.
TEST(Ledger, ARestatedLedgerAnswersAsTheOneItWasCarriedFrom) {
  QuarantineLedger original;
  original.policy_applied(0);
  original.revoked(identity(3), 3, static_cast<std::uint16_t>(kSpeed), 1000, 30);  // until pardoned
  original.policy_applied(2000);
  original.revoked(identity(1), 1, static_cast<std::uint16_t>(kSpeed), 1500, 40);  // to 3500
  original.revoked(identity(2), 2, static_cast<std::uint16_t>(kSpeed), 500, 20);   // to 2500
  original.policy_applied(700);
  // A carry restates what holds kCarryLookbackMs before it: from 3000 ms on.
  const std::uint64_t from_ms = 3000;
  const auto carried = original.carried_at(from_ms + kCarryLookbackMs);
  ASSERT_EQ(carried.size(), 2U);  // identity 2's lapsed at 2500
  EXPECT_LT(carried[0].gs_identity, carried[1].gs_identity);
  EXPECT_EQ(carried[0].gs_identity, identity(1));
  EXPECT_EQ(carried[0].quarantine_ms, 2000U);
  EXPECT_EQ(carried[0].revocation_position, 40U);

  QuarantineLedger restated;
  restated.revoked(identity(4), 4, static_cast<std::uint16_t>(kSpeed), 100, 10);  // replaced
  restated.restate(carried, original.term());
  EXPECT_EQ(restated.term(), 700U);
  for (const std::uint64_t at : {from_ms, std::uint64_t{3499}, std::uint64_t{3500}}) {
    EXPECT_EQ(restated.holding_at(at).size(), original.holding_at(at).size()) << at;
    for (const int id : {1, 2, 3, 4}) {
      const auto of = identity(static_cast<std::uint8_t>(id));
      EXPECT_EQ(restated.quarantine_of(of, at), original.quarantine_of(of, at))
          << id << " at " << at;
    }
  }
  // Both go on alike: a revocation after the carry takes the term in force.
  for (QuarantineLedger* ledger : {&original, &restated}) {
    ledger->revoked(identity(5), 5, static_cast<std::uint16_t>(kSpeed), 3100, 50);
  }
  EXPECT_EQ(restated.quarantine_of(identity(5), 3700), original.quarantine_of(identity(5), 3700));
  EXPECT_FALSE(restated.quarantine_of(identity(5), 3800));
  EXPECT_EQ(restated.pardoned(identity(3), 4000)->position, 30U);
}

TEST(Ledger, DetailNamesSessionReasonAndRule) {
  const Quarantine q{7, static_cast<std::uint16_t>(kSpeed), 1000, 70, 0};
  const std::string detail = quarantine_detail(identity(0xab), q);
  for (const char* part :
       {"abab", "session 7", "speed_violation", "position 70", "until pardoned", "§8.16"}) {
    EXPECT_NE(detail.find(part), std::string::npos) << part << " in " << detail;
  }
  const Quarantine lapsing{7, static_cast<std::uint16_t>(kSpeed), 1000, 70, 250};
  EXPECT_NE(quarantine_detail(identity(0xab), lapsing).find("until 1250 ms"), std::string::npos);
}

}  // namespace
}  // namespace gsvs::rules
