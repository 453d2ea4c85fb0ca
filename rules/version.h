// The version of the rules in this library, as a run of vsd names it in its VsStart
// (PROTOCOL.md §5.25, §8.18): the audit then holds every verdict of that run to the rules it ran
// under, and tells a verdict a current VS would be wrong to give from one an older VS gave.
// The number goes up by one each time a rule changes a verdict that an earlier version gave for
// the same log; a change that only refuses what no version accepted, or names what no version
// named, needs none (nor one that logs and judges what an older VS dropped unlogged: its log
// holds nothing to judge).
#pragma once

#include <cstdint>

namespace gsvs::rules {

// 1: every VS before the field existed (a version-1 VsStart).
// 2: digests_late (PROTOCOL.md §8.6 "Late digests"): a refused step that the paced clock excuses
//    is revoked as digests_late (17), where version 1 said speed_violation and quarantined.
inline constexpr std::uint32_t kDigestsLateSince = 2;
inline constexpr std::uint32_t kRulesVersion = 2;

}  // namespace gsvs::rules
