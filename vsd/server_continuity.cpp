// Continuity across sessions (PROTOCOL.md §8.6): the ledger of each identity's players' last
// notarized positions, fed where a session's Revocation is placed at the log head (session.cpp,
// recovery.cpp, reload.cpp) and rebuilt at start from the receipts of the sessions that ended
// within the longest window (recovery.cpp calls rebuild_continuity). The join reads it where its
// answer is placed (session_join.cpp).
#include "vsd/server_state.h"

namespace gsvs::vsd {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

void ServerState::remember_positions(const rules::SessionRules& rules, std::uint64_t vs_time_ms) {
  continuity.record(rules.accept().gs_identity, rules.notarized(),
                    rules.accept().max_players_per_session);
  if (vs_time_ms > rules::kMaxContinuityWindowMs) {
    continuity.forget_before(vs_time_ms - rules::kMaxContinuityWindowMs);
  }
}

Status ServerState::rebuild_continuity(
    const storage::Log& log, const std::map<SessionId, std::pair<PublicKey, std::uint32_t>>& ended,
    std::uint64_t since_ms) {
  // A digest is notarized when the VS issued its receipt (§5.11): each receipt names the digest's
  // log position, and the digest's entry holds the positions and the time. Sessions in id order,
  // receipts in log order, so each player's last position is the one that stays.
  for (const auto& ended_session : ended) {
    // Named apart, not bound: clang 14 cannot capture a structured binding in the lambda below.
    const SessionId session = ended_session.first;
    const PublicKey& identity = ended_session.second.first;
    const std::uint32_t max_players = ended_session.second.second;
    // Later positions of a player replace earlier ones: only the last of each is kept.
    std::map<PublicKey, rules::NotarizedPosition> last;
    std::optional<Error> bad;
    storage::Filter receipts;
    receipts.session_id = session;
    receipts.kind = MessageKind::kProtectedReceipt;
    Status scanned = log.scan(receipts, [&](const storage::Entry& entry) {
      if (entry.header.direction != chains::Direction::kIssued ||
          entry.header.vs_time_ms < since_ms) {
        return true;
      }
      auto receipt = decode<ProtectedReceipt>(entry.message);
      if (!receipt) return true;
      auto digest_entry = log.get(receipt->digest_log_seq);
      if (!digest_entry) {
        bad = Error{"the receipt at entry " + std::to_string(entry.header.seq) +
                    " names digest entry " + std::to_string(receipt->digest_log_seq) +
                    ", which cannot be read: " + digest_entry.error()};
        return false;
      }
      auto digest = decode<TranscriptDigest>(digest_entry->message);
      if (!digest || digest_entry->header.session_id != session) return true;
      for (const auto& player : digest->players) {
        last[player.player] = (rules::NotarizedPosition{player.player, player.x_mm, player.y_mm,
                                                        digest_entry->header.vs_time_ms,
                                                        digest_entry->header.seq, session});
      }
      return true;
    });
    if (!scanned) return scanned;
    if (bad) return *bad;
    std::vector<rules::NotarizedPosition> kept;
    kept.reserve(last.size());
    for (const auto& [player, position] : last) kept.push_back(position);
    std::lock_guard lock(mutex);
    continuity.record(identity, kept, max_players);
  }
  std::lock_guard lock(mutex);
  continuity.forget_before(since_ms);
  return {};
}

}  // namespace gsvs::vsd
