// Quarantine of a GS identity (PROTOCOL.md §8.16), written once: which revocations quarantine the
// identity of the revoked session, and whether an identity is quarantined at a point of the log
// given the revocations and pardons logged before it and the VS time of the question (a
// quarantine may lapse after the policy's quarantine_ms). vsd keeps one QuarantineLedger,
// rebuilt from the log at start and fed each revocation and pardon as it is placed at the log
// head, and refuses joins and resumes of a quarantined identity; audit-cli replays the log
// through the same ledger and holds every join, resume and pardon to it.
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

// One identity's quarantine: the revocation that began it, and how long it lasts.
struct Quarantine {
  protocol::SessionId session_id = 0;  // the revoked session
  std::uint16_t reason = 0;            // its RevocationReason, as logged
  std::uint64_t since_ms = 0;          // the Revocation's vs_time_ms
  std::uint64_t position = 0;          // where the log holds the Revocation
  // The policy's quarantine_ms in force where the Revocation was placed (PROTOCOL.md §8.16):
  // fixed when the quarantine begins, so a later reload neither shortens nor lengthens it.
  // 0: until pardoned.
  std::uint32_t quarantine_ms = 0;

  // The VS time from which it no longer holds, or nullopt when only a Pardon lifts it.
  [[nodiscard]] std::optional<std::uint64_t> lapses_at_ms() const;
  // Whether it still holds at VS time `vs_time_ms`: it holds on [since_ms, since_ms +
  // quarantine_ms) and has lapsed from the boundary on.
  [[nodiscard]] bool holds_at(std::uint64_t vs_time_ms) const;
  friend bool operator==(const Quarantine&, const Quarantine&) = default;
};

// The quarantines after the entries fed so far, and which of them hold at a given VS time. A
// lapse needs no entry: it follows from the Revocation's time and the quarantine_ms it began
// with, both in the log. Not thread-safe.
class QuarantineLedger {
 public:
  // A PolicyApplied was logged: quarantines that begin from here on last `quarantine_ms` (0:
  // until pardoned). Those already begun keep their term. Before any, the term is 0.
  void policy_applied(std::uint32_t quarantine_ms) { quarantine_ms_ = quarantine_ms; }
  // A Revocation of a session of `identity` was logged at `position`. One that quarantines
  // begins (or renews) the identity's quarantine, for the term of the policy in force; any other
  // changes nothing.
  void revoked(const protocol::PublicKey& identity, protocol::SessionId session_id,
               std::uint16_t reason, std::uint64_t vs_time_ms, std::uint64_t position);
  // A Pardon of `identity` was logged at VS time `vs_time_ms`: the quarantine that holds then is
  // lifted and returned; nullopt (and nothing changes) when none holds, lapsed or never begun.
  std::optional<Quarantine> pardoned(const protocol::PublicKey& identity, std::uint64_t vs_time_ms);

  // The identity's quarantine that holds at VS time `vs_time_ms`, or nullopt.
  [[nodiscard]] std::optional<Quarantine> quarantine_of(const protocol::PublicKey& identity,
                                                        std::uint64_t vs_time_ms) const;
  // Every quarantine that holds at VS time `vs_time_ms`, by identity.
  [[nodiscard]] std::map<protocol::PublicKey, Quarantine> holding_at(
      std::uint64_t vs_time_ms) const;
  // Every quarantine begun and not pardoned, lapsed ones included.
  [[nodiscard]] const std::map<protocol::PublicKey, Quarantine>& all() const { return begun_; }

  // Carried forward (PROTOCOL.md §8.16 "Carried forward"): what a StateCarried built at VS time
  // `vs_time_ms` restates, by identity, ascending: every quarantine begun and not pardoned that
  // still holds kCarryLookbackMs before it (a lapsed one changes no answer, so restating it is
  // safe; one lapsed long ago is left out), and the term a quarantine begun now would have. A
  // ledger fed a carry's quarantines and term in place of every entry before it (restate)
  // answers every question at or after vs_time_ms - kCarryLookbackMs as this one does: the
  // lookback covers a join stamped on arrival and answered after the carry.
  [[nodiscard]] std::vector<protocol::CarriedQuarantine> carried_at(std::uint64_t vs_time_ms) const;
  [[nodiscard]] std::uint32_t term() const { return quarantine_ms_; }
  void restate(const std::vector<protocol::CarriedQuarantine>& carried,
               std::uint32_t quarantine_ms);

 private:
  std::map<protocol::PublicKey, Quarantine> begun_;
  std::uint32_t quarantine_ms_ = 0;  // of the policy in force
};

// How long before its own time a carry still restates a quarantine (carried_at): twice the
// longest a join may wait for its answer, which is stamped with its arrival time (vsd turns away a
// join that waited longer than half of it); every other question is asked at the log head's time.
inline constexpr std::uint64_t kCarryLookbackMs = 600'000;
// The earliest VS time a carry built at `vs_time_ms` answers for: kCarryLookbackMs before it.
[[nodiscard]] constexpr std::uint64_t carry_reach_ms(std::uint64_t vs_time_ms) {
  return vs_time_ms > kCarryLookbackMs ? vs_time_ms - kCarryLookbackMs : 0;
}

// One quarantine as a StateCarried restates it, and back.
[[nodiscard]] protocol::CarriedQuarantine as_carried(const protocol::PublicKey& identity,
                                                     const Quarantine& quarantine);
[[nodiscard]] Quarantine as_quarantine(const protocol::CarriedQuarantine& carried);

// The text of a refusal for a quarantined identity: since when, for which session and reason,
// and until when if it lapses.
[[nodiscard]] std::string quarantine_detail(const protocol::PublicKey& identity,
                                            const Quarantine& quarantine);

}  // namespace gsvs::rules
