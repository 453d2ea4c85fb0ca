// Which reason a run of each rules version gave (rules/version.h, PROTOCOL.md §8.18): the table
// the audit holds a revocation to.
#include "rules/version.h"

#include <gtest/gtest.h>

#include <optional>

namespace gsvs::rules {
namespace {

using protocol::RevocationReason;

TEST(RulesVersion, EachChangeIsOfALaterVersionThanTheFirstAndNamesAReasonNoLongerGiven) {
  for (const auto& change : kReasonChanges) {
    EXPECT_GT(change.since, kEarliestRulesVersion);
    EXPECT_LE(change.since, kRulesVersion);
    // A change names a reason these rules no longer give for the verdict.
    EXPECT_NE(reason_for(change.verdict), change.before);
    EXPECT_FALSE(change.rule.empty());
  }
}

// Rows: verdict, reason the run gave, the run's rules version, whether a change explains it
// (the earlier version's reason), and since which version the reason changed.
TEST(RulesVersion, AnEarlierReasonStandsOnlyForARunBeforeItsChange) {
  struct VersionRow {
    const char* name;
    Verdict verdict;
    RevocationReason given;
    std::uint32_t rules_version;
    std::optional<std::uint32_t> changed_since;  // nullopt: no change explains the reason
  };
  const VersionRow rows[] = {
      {"late step as speed, version 1", Verdict::kDigestsLate, RevocationReason::kSpeedViolation, 1,
       kDigestsLateSince},
      {"late step as speed, version 2", Verdict::kDigestsLate, RevocationReason::kSpeedViolation, 2,
       std::nullopt},
      {"late step as speed, a newer version", Verdict::kDigestsLate,
       RevocationReason::kSpeedViolation, kRulesVersion + 1, std::nullopt},
      {"late step as late: the current reason, no change", Verdict::kDigestsLate,
       RevocationReason::kDigestsLate, 1, std::nullopt},
      {"a jump as late: no version gave it", Verdict::kSpeedViolation,
       RevocationReason::kDigestsLate, 1, std::nullopt},
      {"a late step as missed heartbeats", Verdict::kDigestsLate,
       RevocationReason::kMissedHeartbeats, 1, std::nullopt},
      {"missed heartbeats as speed", Verdict::kMissedHeartbeats, RevocationReason::kSpeedViolation,
       1, std::nullopt},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    const ReasonChange* change = earlier_reason(row.verdict, row.given, row.rules_version);
    ASSERT_EQ(change != nullptr, row.changed_since.has_value());
    if (change) {
      EXPECT_EQ(change->since, *row.changed_since);
      EXPECT_EQ(change->before, row.given);
    }
  }
}

TEST(RulesVersion, TheVerdictOnAViolationIsNamedByThePacedClock) {
  MovementStep step;
  step.violation = true;
  EXPECT_EQ(verdict_on_violation(step), Verdict::kSpeedViolation);
  step.late = true;
  EXPECT_EQ(verdict_on_violation(step), Verdict::kDigestsLate);
}

}  // namespace
}  // namespace gsvs::rules
