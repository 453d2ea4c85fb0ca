// Continuity of movement across sessions (PROTOCOL.md §8.6 "Continuity across sessions"), written
// once: per GS identity, each player's last position notarized under that identity and its last
// free spawn, and which of them a new session of the identity starts from. vsd keeps one
// ContinuityLedger, rebuilt from the log at start (ContinuityReplay) and fed each session's
// notarized positions where its Revocation is placed at the log head; audit-cli replays the log
// through the same ledger and so recomputes every check.
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
  // The positions a session of `identity` leaves at its end (MovementChecker::notarized): each
  // player it named, and each carried into it that it did not name. They replace everything the
  // identity held: what the session was not carried was already outside the window at its
  // JoinAccept and no later join reaches it, and the identity's sessions follow one another
  // (one live session per identity, §8.10). Memory stays bounded by the session cap, which
  // counts carried players too; nothing is ever dropped for room, so no session can push a
  // player's position out by naming new keys.
  void record(const protocol::PublicKey& identity, const std::vector<NotarizedPosition>& positions);
  // Where the players of a new session of `identity`, whose JoinAccept is at `accept_vs_ms`,
  // start from: each position notarized less than `window_ms` before it (none for 0), at most
  // `max_players` of them, the most recently notarized first. A last spawn as old as the window
  // or older is carried as none (0): like a position, it holds only within the window.
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

// The ledger recomputed from the log, the one way: the sessions in log order, each starting from
// the ledger as it stands at its JoinAccept and giving it its positions at its Revocation, with
// its notarized digests (those the VS receipted) replayed through the movement rule, so that each
// player's last free spawn is the one the VS recorded. vsd's start, `audit-cli explain` and
// `timeline`, and the dispute report's verification use it; `audit-cli verify` feeds the ledger
// from its full replay of each session, which notarizes the same positions.
//
// Fed a stretch of the log rather than all of it, it starts from an empty ledger: a session in
// the stretch is then replayed without what sessions before the stretch carried into it. That
// changes nothing a later join reads as long as the stretch reaches back a window before the first
// session's JoinAccept it matters for; the callers say how far they read.
class ContinuityReplay {
 public:
  // A session's JoinAccept, logged at `accept_vs_ms`: its carried positions are read now.
  void joined(const protocol::JoinAccept& accept, std::uint64_t accept_vs_ms);
  // One of the session's notarized digests, in log order; a session not joined is ignored.
  void notarized(protocol::SessionId session, const protocol::TranscriptDigest& digest,
                 const DigestSample& sample);
  // The session's Revocation: its positions go to the ledger.
  void ended(protocol::SessionId session);
  // What a joined session, not yet ended, started from; nullptr for one not joined.
  [[nodiscard]] const std::vector<NotarizedPosition>* carried_into(
      protocol::SessionId session) const;

  [[nodiscard]] const ContinuityLedger& ledger() const { return ledger_; }
  [[nodiscard]] ContinuityLedger& ledger() { return ledger_; }

 private:
  struct OpenSession {
    protocol::PublicKey identity;
    std::vector<NotarizedPosition> carried;
    MovementChecker checker;
  };
  ContinuityLedger ledger_;
  std::map<protocol::SessionId, OpenSession> open_;
};

}  // namespace gsvs::rules
