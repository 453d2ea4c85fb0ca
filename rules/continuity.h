// Continuity of movement across sessions (PROTOCOL.md §8.6 "Continuity across sessions"), written
// once: per GS identity, each player's last position notarized under that identity, and which of
// them a new session of the identity starts from. vsd keeps one ContinuityLedger, rebuilt from the
// log at start and fed each session's notarized positions where its Revocation is placed at the
// log head; audit-cli replays the log through the same ledger and so recomputes every check.
//
// Pure and deterministic: no I/O, no clock. Positions are fed in log order.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "protocol/messages.h"
#include "rules/movement.h"

namespace gsvs::rules {

// The longest continuity_window_ms a VS accepts. It bounds what the VS must remember, and what
// its start rebuilds from the log, whatever a later reload sets.
inline constexpr std::uint32_t kMaxContinuityWindowMs = 600'000;

class ContinuityLedger {
 public:
  // Positions a session of `identity` notarized (MovementChecker::notarized, or the players of
  // an accepted digest), newer than any fed before for their players. Each replaces its player's
  // earlier one; then the identity keeps its `max_players` most recently notarized players (by
  // vs_time_ms, then log_seq, then player key), so memory stays bounded by the session cap.
  void record(const protocol::PublicKey& identity, const std::vector<NotarizedPosition>& positions,
              std::uint32_t max_players);
  // Where the players of a new session of `identity`, whose JoinAccept is at `accept_vs_ms`,
  // start from: each position notarized less than `window_ms` before it (none for 0), at most
  // `max_players` of them, the most recently notarized first.
  [[nodiscard]] std::vector<NotarizedPosition> carried_into(const protocol::PublicKey& identity,
                                                            std::uint64_t accept_vs_ms,
                                                            std::uint64_t window_ms,
                                                            std::uint32_t max_players) const;
  // Forgets positions notarized before `vs_time_ms`, and identities left with none: no window a
  // VS accepts reaches them any more.
  void forget_before(std::uint64_t vs_time_ms);

  [[nodiscard]] std::size_t identities() const { return by_identity_.size(); }
  [[nodiscard]] std::size_t positions() const;

 private:
  std::map<protocol::PublicKey, std::map<protocol::PublicKey, NotarizedPosition>> by_identity_;
};

}  // namespace gsvs::rules
