// The VS's policy (PROTOCOL.md §8.17), written once: whether a session (its GS identity and its
// build) is allowed under a policy, and the terms a JoinAccept placed under a policy carries.
// vsd asks it when it judges a join or a resume and when a reload withdraws live sessions;
// audit-cli asks it to hold every JoinAccept and every policy_withdrawn revocation to the
// policy in force where it is logged.
//
// Pure: no I/O, no clock, no keys.
#pragma once

#include <optional>
#include <string>

#include "protocol/messages.h"

namespace gsvs::rules {

// What keeps a session out under a policy: its identity, or else its build, is not on the
// policy's allowlist.
enum class PolicyBar : std::uint8_t { kIdentityRemoved, kBuildRemoved };

// nullopt: `policy` allows the session of `identity` running `sw_hash`. The identity is asked
// first, as a join asks it first (PROTOCOL.md §8.3).
std::optional<PolicyBar> session_barred(const protocol::Policy& policy,
                                        const protocol::PublicKey& identity, const Hash32& sw_hash);
bool allows_identity(const protocol::Policy& policy, const protocol::PublicKey& identity);
bool allows_build(const protocol::Policy& policy, const Hash32& sw_hash);

// "identity 0a1b2c3d4e5f6a7b... removed" or "build ... removed": what a revocation's detail and
// an explanation name.
std::string describe_bar(PolicyBar bar, const protocol::PublicKey& identity, const Hash32& sw_hash);

// Writes the policy's timings and movement limits into a JoinAccept: a session is judged for its
// whole life by the terms of the policy in force where its JoinAccept was placed.
void announce_policy(const protocol::Policy& policy, protocol::JoinAccept& accept);
// The first JoinAccept term that is not the policy's, by name; nullopt when all agree.
std::optional<std::string> term_differing(const protocol::Policy& policy,
                                          const protocol::JoinAccept& accept);

// Sorts and deduplicates the allowlists, so that the policy has its one canonical encoding.
void canonicalize(protocol::Policy& policy);

}  // namespace gsvs::rules
