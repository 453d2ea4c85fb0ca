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
    // The link held the GS's digests back, or the VS did: an honest GS meets it too (§8.6).
    case RevocationReason::kDigestsLate:
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

std::optional<std::uint64_t> Quarantine::lapses_at_ms() const {
  if (quarantine_ms == 0) return std::nullopt;
  return since_ms + quarantine_ms;
}

bool Quarantine::holds_at(std::uint64_t vs_time_ms) const {
  const auto lapses = lapses_at_ms();
  return !lapses || vs_time_ms < *lapses;
}

void QuarantineLedger::revoked(const protocol::PublicKey& identity, protocol::SessionId session_id,
                               std::uint16_t reason, std::uint64_t vs_time_ms,
                               std::uint64_t position) {
  if (!quarantines(reason)) return;
  begun_[identity] = Quarantine{session_id, reason, vs_time_ms, position, quarantine_ms_};
}

std::optional<Quarantine> QuarantineLedger::pardoned(const protocol::PublicKey& identity,
                                                     std::uint64_t vs_time_ms) {
  auto it = begun_.find(identity);
  if (it == begun_.end() || !it->second.holds_at(vs_time_ms)) return std::nullopt;
  Quarantine lifted = it->second;
  begun_.erase(it);
  return lifted;
}

std::optional<Quarantine> QuarantineLedger::quarantine_of(const protocol::PublicKey& identity,
                                                          std::uint64_t vs_time_ms) const {
  auto it = begun_.find(identity);
  if (it == begun_.end() || !it->second.holds_at(vs_time_ms)) return std::nullopt;
  return it->second;
}

std::map<protocol::PublicKey, Quarantine> QuarantineLedger::holding_at(
    std::uint64_t vs_time_ms) const {
  std::map<protocol::PublicKey, Quarantine> out;
  for (const auto& [identity, quarantine] : begun_) {
    if (quarantine.holds_at(vs_time_ms)) out.emplace(identity, quarantine);
  }
  return out;
}

std::vector<protocol::CarriedQuarantine> QuarantineLedger::carried_at(
    std::uint64_t vs_time_ms) const {
  const std::uint64_t from_ms = carry_reach_ms(vs_time_ms);
  std::vector<protocol::CarriedQuarantine> out;
  for (const auto& [identity, quarantine] : begun_) {
    if (quarantine.holds_at(from_ms)) out.push_back(as_carried(identity, quarantine));
  }
  return out;
}

void QuarantineLedger::restate(const std::vector<protocol::CarriedQuarantine>& carried,
                               std::uint32_t quarantine_ms) {
  begun_.clear();
  for (const auto& quarantine : carried) begun_[quarantine.gs_identity] = as_quarantine(quarantine);
  quarantine_ms_ = quarantine_ms;
}

protocol::CarriedQuarantine as_carried(const protocol::PublicKey& identity,
                                       const Quarantine& quarantine) {
  return {identity,
          quarantine.session_id,
          quarantine.reason,
          quarantine.since_ms,
          quarantine.quarantine_ms,
          quarantine.position};
}

Quarantine as_quarantine(const protocol::CarriedQuarantine& carried) {
  return {carried.session_id, carried.reason, carried.since_vs_ms, carried.revocation_position,
          carried.quarantine_ms};
}

std::string quarantine_detail(const protocol::PublicKey& identity, const Quarantine& quarantine) {
  const auto reason = static_cast<RevocationReason>(quarantine.reason);
  const auto lapses = quarantine.lapses_at_ms();
  return "identity " + to_hex(identity) + " is quarantined since " +
         std::to_string(quarantine.since_ms) + " ms (session " +
         std::to_string(quarantine.session_id) + " revoked for " +
         std::string(protocol::reason_name(reason)) + " at log position " +
         std::to_string(quarantine.position) + ")" +
         (lapses ? " until " + std::to_string(*lapses) + " ms" : std::string(" until pardoned")) +
         ": its joins are refused (PROTOCOL.md §8.16)";
}

}  // namespace gsvs::rules
