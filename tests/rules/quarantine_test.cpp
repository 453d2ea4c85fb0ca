// Quarantine of a GS identity (PROTOCOL.md §8.16): which revocations quarantine, one row per
// reason, and the ledger that says whether an identity is quarantined after a stretch of log.
#include "rules/quarantine.h"

#include <gtest/gtest.h>

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
                      ReasonCase{"VsShutdown", RevocationReason::kVsShutdown, false},
                      ReasonCase{"GsLeft", RevocationReason::kGsLeft, false},
                      ReasonCase{"Operator", RevocationReason::kOperator, false},
                      ReasonCase{"SessionMismatch", RevocationReason::kSessionMismatch, false},
                      ReasonCase{"TooManyPlayers", RevocationReason::kTooManyPlayers, false},
                      ReasonCase{"Unassigned", static_cast<RevocationReason>(13), false},
                      ReasonCase{"Unknown", static_cast<RevocationReason>(999), false}),
    [](const ::testing::TestParamInfo<ReasonCase>& param) { return param.param.name; });

// One step of log: a revocation (reason) or a pardon (nullopt) of an identity.
struct LedgerStep {
  std::uint8_t identity;
  std::optional<RevocationReason> revoked;
};

struct LedgerCase {
  std::string name;
  std::vector<LedgerStep> log;
  std::vector<std::uint8_t> quarantined;  // after the whole log
};

class Ledger : public ::testing::TestWithParam<LedgerCase> {};

TEST_P(Ledger, QuarantinedAfterTheLog) {
  const auto& c = GetParam();
  QuarantineLedger ledger;
  std::uint64_t position = 1;
  for (const auto& step : c.log) {
    if (step.revoked) {
      ledger.revoked(identity(step.identity), position, static_cast<std::uint16_t>(*step.revoked),
                     position * 100, position);
    } else {
      ledger.pardoned(identity(step.identity));
    }
    ++position;
  }
  std::vector<std::uint8_t> got;
  for (const auto& [key, quarantine] : ledger.all()) got.push_back(key.bytes[0]);
  EXPECT_EQ(got, c.quarantined);
  for (std::uint8_t id : c.quarantined) EXPECT_TRUE(ledger.quarantine_of(identity(id)));
}

constexpr auto kSpeed = RevocationReason::kSpeedViolation;
constexpr auto kMissed = RevocationReason::kMissedHeartbeats;

INSTANTIATE_TEST_SUITE_P(
    Logs, Ledger,
    ::testing::Values(
        LedgerCase{"Empty", {}, {}}, LedgerCase{"RogueRevokedForSpeed", {{1, kSpeed}}, {1}},
        // The honest counterpart: a GS revoked for missed heartbeats reconnects freely.
        LedgerCase{"HonestMissedHeartbeats", {{2, kMissed}}, {}},
        LedgerCase{"PardonLifts", {{1, kSpeed}, {1, std::nullopt}}, {}},
        LedgerCase{"PardonOfAnotherIdentityDoesNot", {{1, kSpeed}, {2, std::nullopt}}, {1}},
        LedgerCase{"APardonDoesNotProtectAhead", {{1, std::nullopt}, {1, kSpeed}}, {1}},
        LedgerCase{"ALaterLivenessEndDoesNotLift", {{1, kSpeed}, {1, kMissed}}, {1}},
        LedgerCase{"TwoRogues", {{1, kSpeed}, {3, RevocationReason::kBadSignature}}, {1, 3}}),
    [](const ::testing::TestParamInfo<LedgerCase>& param) { return param.param.name; });

TEST(Ledger, TheLastQuarantiningRevocationIsTheOneInForce) {
  QuarantineLedger ledger;
  ledger.revoked(identity(1), 4, static_cast<std::uint16_t>(kSpeed), 1000, 40);
  ledger.revoked(identity(1), 9, static_cast<std::uint16_t>(RevocationReason::kBadSignature), 5000,
                 90);
  const auto q = ledger.quarantine_of(identity(1));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->session_id, 9U);
  EXPECT_EQ(q->since_ms, 5000U);
  EXPECT_EQ(q->position, 90U);
  EXPECT_TRUE(ledger.pardoned(identity(1)));
  EXPECT_FALSE(ledger.pardoned(identity(1)));
}

TEST(Ledger, DetailNamesSessionReasonAndRule) {
  const Quarantine q{7, static_cast<std::uint16_t>(kSpeed), 1000, 70};
  const std::string detail = quarantine_detail(identity(0xab), q);
  for (const char* part : {"abab", "session 7", "speed_violation", "position 70", "§8.16"}) {
    EXPECT_NE(detail.find(part), std::string::npos) << part << " in " << detail;
  }
}

}  // namespace
}  // namespace gsvs::rules
