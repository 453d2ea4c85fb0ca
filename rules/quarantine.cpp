#include "rules/quarantine.h"

namespace gsvs::rules {

using protocol::RevocationReason;

bool quarantines(std::uint16_t revocation_reason) {
  switch (static_cast<RevocationReason>(revocation_reason)) {
    case RevocationReason::kBadSignature:
    case RevocationReason::kCounterRegression:
    case RevocationReason::kSwHashChanged:
    case RevocationReason::kSpeedViolation:
    case RevocationReason::kReceiptTipMismatch:
    case RevocationReason::kMalformedMessage:
    case RevocationReason::kOperatorQuarantine:
    // Heartbeats went on while the digests of a session with players stopped: its moves were
    // kept from the physics rule. A crash or a cut link stops both, and is missed_heartbeats
    // (PROTOCOL.md §8.16).
    case RevocationReason::kDigestsStopped:
      return true;
    // Liveness ends and clean ends: an honest GS meets them (a network cut, a VS restart).
    case RevocationReason::kMissedHeartbeats:
    case RevocationReason::kVsShutdown:
    case RevocationReason::kGsLeft:
    // Decided before the signature is checked: anybody on the path could have sent it.
    case RevocationReason::kSessionMismatch:
    // A configuration disagreement (max_players_per_session), not a forged record.
    case RevocationReason::kTooManyPlayers:
    case RevocationReason::kOperator:
    // The operator's policy changed; the GS did nothing wrong (§8.17).
    case RevocationReason::kPolicyWithdrawn:
      return false;
  }
  return false;
}

void QuarantineLedger::revoked(const protocol::PublicKey& identity, protocol::SessionId session_id,
                               std::uint16_t reason, std::uint64_t vs_time_ms,
                               std::uint64_t position) {
  if (!quarantines(reason)) return;
  in_force_[identity] = Quarantine{session_id, reason, vs_time_ms, position};
}

bool QuarantineLedger::pardoned(const protocol::PublicKey& identity) {
  return in_force_.erase(identity) > 0;
}

std::optional<Quarantine> QuarantineLedger::quarantine_of(
    const protocol::PublicKey& identity) const {
  auto it = in_force_.find(identity);
  if (it == in_force_.end()) return std::nullopt;
  return it->second;
}

std::string quarantine_detail(const protocol::PublicKey& identity, const Quarantine& quarantine) {
  const auto reason = static_cast<RevocationReason>(quarantine.reason);
  return "identity " + to_hex(identity) + " is quarantined since " +
         std::to_string(quarantine.since_ms) + " ms (session " +
         std::to_string(quarantine.session_id) + " revoked for " +
         std::string(protocol::reason_name(reason)) + " at log position " +
         std::to_string(quarantine.position) + "): its joins are refused (PROTOCOL.md §8.16)";
}

}  // namespace gsvs::rules
