// Continuity across sessions (PROTOCOL.md §8.6): the ledger of each identity's players' last
// notarized positions and last free spawns, fed where a session's Revocation is placed at the log
// head (session.cpp, recovery.cpp, reload.cpp) and rebuilt at start by replaying the sessions that
// ended within the longest window (recovery.cpp calls rebuild_continuity). The join reads it where
// its answer is placed (session_join.cpp).
#include "storage/notarized.h"
#include "vsd/server_state.h"

namespace gsvs::vsd {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

void ServerState::remember_positions(const rules::SessionRules& rules, std::uint64_t vs_time_ms) {
  continuity.record(rules.accept().gs_identity, rules.notarized());
  if (vs_time_ms > rules::kMaxContinuityWindowMs) {
    continuity.forget_before(vs_time_ms - rules::kMaxContinuityWindowMs);
  }
}

Result<ServerState::CarriedBySession> ServerState::rebuild_continuity(
    const storage::Log& log, const std::map<SessionId, EndedSession>& ended,
    const std::map<SessionId, std::uint64_t>& left_live, std::uint64_t since_ms) {
  // The sessions' JoinAccepts and Revocations in log order, through the rules' replay of the
  // ledger (rules::ContinuityReplay): each session starts from what the sessions ended before its
  // JoinAccept left, and its notarized digests (each receipt names one, §5.11) are replayed
  // through the movement rule, so the rebuilt ledger holds each player's last free spawn as well
  // as its last position.
  enum class Event : std::uint8_t { kJoined, kEnded };
  std::map<std::uint64_t, std::pair<Event, SessionId>> events;  // by log position
  for (const auto& [session, positions] : ended) {
    events.emplace(positions.accept_seq, std::make_pair(Event::kJoined, session));
    events.emplace(positions.revocation_seq, std::make_pair(Event::kEnded, session));
  }
  // A session left live joined like any other; it ends only after this start, so it gives the
  // ledger nothing here and keeps what it carried.
  for (const auto& [session, accept_seq] : left_live) {
    events.emplace(accept_seq, std::make_pair(Event::kJoined, session));
  }
  rules::ContinuityReplay replay;
  for (const auto& [seq, event] : events) {
    const SessionId session = event.second;
    if (event.first == Event::kJoined) {
      auto entry = log.get(seq);
      if (!entry)
        return Error{"the session start at entry " + std::to_string(seq) +
                     " cannot be read: " + entry.error()};
      auto accept = session_start_accept(entry->header.kind, entry->message);
      if (!accept)
        return Error{"the session start at entry " + std::to_string(seq) +
                     " does not decode: " + accept.error()};
      replay.joined(*accept, entry->header.vs_time_ms);
      continue;
    }
    Status scanned = storage::scan_notarized_digests(
        log, session, std::nullopt, [&](const storage::NotarizedDigest& notarized) {
          replay.notarized(session, *notarized.message,
                           rules::DigestSample{notarized.message->gs_time_ms,
                                               notarized.digest->header.vs_time_ms,
                                               notarized.digest->header.seq});
          return true;
        });
    if (!scanned) return Error{scanned.error()};
    replay.ended(session);
  }
  // Positions older than the longest window are out of every join's reach.
  CarriedBySession carried;
  for (const auto& [session, accept_seq] : left_live) {
    if (const auto* positions = replay.carried_into(session)) carried[session] = *positions;
  }
  replay.ledger().forget_before(since_ms);
  std::lock_guard lock(mutex);
  continuity = std::move(replay.ledger());
  return carried;
}

}  // namespace gsvs::vsd
