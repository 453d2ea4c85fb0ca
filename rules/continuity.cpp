#include "rules/continuity.h"

#include <algorithm>
#include <tuple>

namespace gsvs::rules {

namespace {

// The order "most recently notarized" means: later first; ties (one digest names many players)
// by the player key, so that every implementation keeps and carries the same players.
bool notarized_later(const NotarizedPosition& a, const NotarizedPosition& b) {
  return std::tie(a.vs_time_ms, a.log_seq, a.player) > std::tie(b.vs_time_ms, b.log_seq, b.player);
}

}  // namespace

void ContinuityLedger::record(const protocol::PublicKey& identity,
                              const std::vector<NotarizedPosition>& positions) {
  if (positions.empty()) {
    by_identity_.erase(identity);
    return;
  }
  auto& players = by_identity_[identity];
  players.clear();
  for (const auto& position : positions) players[position.player] = position;
}

std::vector<NotarizedPosition> ContinuityLedger::carried_into(const protocol::PublicKey& identity,
                                                              std::uint64_t accept_vs_ms,
                                                              std::uint64_t window_ms,
                                                              std::uint32_t max_players) const {
  std::vector<NotarizedPosition> out;
  const auto found = by_identity_.find(identity);
  if (window_ms == 0 || found == by_identity_.end()) return out;
  for (const auto& [player, position] : found->second) {
    // Strictly within the window, and not after the JoinAccept (a VS clock set back between
    // runs cannot make a position from the future hold a player).
    if (position.vs_time_ms <= accept_vs_ms && accept_vs_ms - position.vs_time_ms < window_ms) {
      out.push_back(position);
      // The spawn is at or before its position's time, so it may have left the window alone.
      if (accept_vs_ms - out.back().last_spawn_vs_ms >= window_ms) out.back().last_spawn_vs_ms = 0;
    }
  }
  std::sort(out.begin(), out.end(), notarized_later);
  if (out.size() > max_players) out.resize(max_players);
  return out;
}

void ContinuityLedger::forget_before(std::uint64_t vs_time_ms) {
  for (auto identity = by_identity_.begin(); identity != by_identity_.end();) {
    std::erase_if(identity->second,
                  [&](const auto& entry) { return entry.second.vs_time_ms < vs_time_ms; });
    identity = identity->second.empty() ? by_identity_.erase(identity) : std::next(identity);
  }
}

void ContinuityReplay::joined(const protocol::JoinAccept& accept, std::uint64_t accept_vs_ms) {
  OpenSession session{
      accept.gs_identity,
      ledger_.carried_into(accept.gs_identity, accept_vs_ms, accept.continuity_window_ms,
                           accept.max_players_per_session),
      MovementChecker(limits_from(accept))};
  session.checker.carry(session.carried);
  open_.insert_or_assign(accept.session_id, std::move(session));
}

void ContinuityReplay::notarized(protocol::SessionId session,
                                 const protocol::TranscriptDigest& digest,
                                 const DigestSample& sample) {
  const auto open = open_.find(session);
  if (open == open_.end()) return;
  // The VS notarized the digest: its positions are the players' references whatever a replay
  // that lacks some earlier context would say of its steps.
  (void)open->second.checker.check(digest, sample, OnViolation::kApplyPositions);
}

void ContinuityReplay::ended(protocol::SessionId session) {
  const auto open = open_.find(session);
  if (open == open_.end()) return;
  ledger_.record(open->second.identity, open->second.checker.notarized(session));
  open_.erase(open);
}

const std::vector<NotarizedPosition>* ContinuityReplay::carried_into(
    protocol::SessionId session) const {
  const auto open = open_.find(session);
  return open == open_.end() ? nullptr : &open->second.carried;
}

std::size_t ContinuityLedger::positions() const {
  std::size_t count = 0;
  for (const auto& [identity, players] : by_identity_) count += players.size();
  return count;
}

}  // namespace gsvs::rules
