// The version of the rules in this library, as a run of vsd names it in its VsStart
// (PROTOCOL.md §5.25, §8.18): the audit then holds every verdict of that run to the rules it ran
// under, and tells a verdict a current VS would be wrong to give from one an older VS gave.
// The number goes up by one each time a rule changes a verdict that an earlier version gave for
// the same log; a change that only refuses what no version accepted, or names what no version
// named, needs none (nor one that logs and judges what an older VS dropped unlogged: its log
// holds nothing to judge).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/messages.h"
#include "rules/session_rules.h"

namespace gsvs::rules {

// 1: every VS before the field existed (a version-1 VsStart). Also the version the audit holds a
//    run to when the log read names none (its VsStart retired, or read from a later segment):
//    the earliest, under which every earlier reason stands.
// 2: digests_late (PROTOCOL.md §8.6 "Late digests"): a refused step that the paced clock excuses
//    is revoked as digests_late (17), where version 1 said speed_violation and quarantined.
inline constexpr std::uint32_t kEarliestRulesVersion = 1;
inline constexpr std::uint32_t kDigestsLateSince = 2;
inline constexpr std::uint32_t kRulesVersion = 2;

// A revocation reason a rules version changed: runs of a version before `since` revoked a
// message judged `verdict` with `before`; runs of `since` and later with reason_for(verdict).
struct ReasonChange {
  Verdict verdict;
  protocol::RevocationReason before;
  std::uint32_t since;
  std::string_view rule;  // where PROTOCOL.md states the change
};
inline constexpr ReasonChange kReasonChanges[] = {
    {Verdict::kDigestsLate, protocol::RevocationReason::kSpeedViolation, kDigestsLateSince,
     "PROTOCOL.md §8.6 \"Late digests\""},
};

// The change under which a run naming `rules_version` revoked a message judged `verdict` with
// `given`, a reason these rules no longer give for it: nullptr where no change explains it (the
// reason these rules give, or one no version gave, or one a later version than the run's gave).
const ReasonChange* earlier_reason(Verdict verdict, protocol::RevocationReason given,
                                   std::uint32_t rules_version);

}  // namespace gsvs::rules
