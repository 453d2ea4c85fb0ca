// Quarantine of a GS identity (PROTOCOL.md §8.16), written once: which revocations quarantine the
// identity of the revoked session, and whether an identity is quarantined at a point of the log
// given the revocations and pardons logged before it. vsd keeps one QuarantineLedger, rebuilt
// from the log at start and fed each revocation and pardon as it is placed at the log head, and
// refuses joins and resumes of a quarantined identity; audit-cli replays the log through the same
// ledger and holds every accepted join to it.
//
// Pure and deterministic: no I/O, no clock. Entries are fed in log order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace gsvs::rules {

// Whether a revocation for `reason` (the code as logged) quarantines the session's identity: the
// integrity faults (a message the GS signed that breaks a rule, or a frame that is not one) and
// the operator's revocation that asks for it. Liveness ends (missed_heartbeats, vs_shutdown,
// gs_left), a message naming another session, the player cap and unknown codes do not.
[[nodiscard]] bool quarantines(std::uint16_t revocation_reason);

// One identity's quarantine: the revocation that began it.
struct Quarantine {
  protocol::SessionId session_id = 0;  // the revoked session
  std::uint16_t reason = 0;            // its RevocationReason, as logged
  std::uint64_t since_ms = 0;          // the Revocation's vs_time_ms
  std::uint64_t position = 0;          // where the log holds the Revocation
};

// The quarantines in force after the entries fed so far. Not thread-safe.
class QuarantineLedger {
 public:
  // A Revocation of a session of `identity` was logged at `position`. One that quarantines
  // begins (or renews) the identity's quarantine; any other changes nothing.
  void revoked(const protocol::PublicKey& identity, protocol::SessionId session_id,
               std::uint16_t reason, std::uint64_t vs_time_ms, std::uint64_t position);
  // A Pardon of `identity` was logged: its quarantine, if any, is lifted. Returns whether there
  // was one to lift. (The Pardon entry, kind 24, is not logged by this version yet: PROTOCOL.md
  // §8.16.)
  bool pardoned(const protocol::PublicKey& identity);

  // The identity's quarantine in force, or nullopt.
  [[nodiscard]] std::optional<Quarantine> quarantine_of(const protocol::PublicKey& identity) const;
  [[nodiscard]] const std::map<protocol::PublicKey, Quarantine>& all() const { return in_force_; }

 private:
  std::map<protocol::PublicKey, Quarantine> in_force_;
};

// The text of a refusal for a quarantined identity: since when, for which session and reason.
[[nodiscard]] std::string quarantine_detail(const protocol::PublicKey& identity,
                                            const Quarantine& quarantine);

}  // namespace gsvs::rules
