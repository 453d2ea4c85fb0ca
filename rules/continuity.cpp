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
                              const std::vector<NotarizedPosition>& positions,
                              std::uint32_t max_players) {
  if (positions.empty()) return;
  auto& players = by_identity_[identity];
  for (const auto& position : positions) players[position.player] = position;
  if (players.size() > max_players) {
    std::vector<NotarizedPosition> kept;
    kept.reserve(players.size());
    for (const auto& [player, position] : players) kept.push_back(position);
    const auto cut = kept.begin() + static_cast<std::ptrdiff_t>(max_players);
    std::nth_element(kept.begin(), cut, kept.end(), notarized_later);
    for (auto dropped = cut; dropped != kept.end(); ++dropped) players.erase(dropped->player);
  }
  if (players.empty()) by_identity_.erase(identity);
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

std::size_t ContinuityLedger::positions() const {
  std::size_t count = 0;
  for (const auto& [identity, players] : by_identity_) count += players.size();
  return count;
}

}  // namespace gsvs::rules
