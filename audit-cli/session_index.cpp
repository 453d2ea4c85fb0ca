#include "audit-cli/session_index.h"

#include <set>
#include <string>

namespace gsvs::audit {

using protocol::MessageKind;

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kActive:
      return "active";
    case Outcome::kEnded:
      return "ended";
    case Outcome::kRevoked:
      return "revoked";
  }
  return "unknown";
}

Outcome SessionFacts::outcome() const {
  if (!revocation) return Outcome::kActive;
  using protocol::RevocationReason;
  const auto reason = static_cast<RevocationReason>(revocation->message.reason);
  if (reason == RevocationReason::kVsShutdown || reason == RevocationReason::kGsLeft) {
    return Outcome::kEnded;
  }
  return Outcome::kRevoked;
}

std::uint64_t SessionFacts::end_vs_ms() const {
  return revocation ? revocation->vs_time_ms : last_vs_ms;
}

const SessionFacts* StoreIndex::find(protocol::SessionId id) const {
  auto it = sessions.find(id);
  return it == sessions.end() ? nullptr : &it->second;
}

Result<const SessionFacts*> StoreIndex::session(protocol::SessionId id,
                                                std::string_view store) const {
  if (const SessionFacts* facts = find(id)) return facts;
  const std::string shown = storage::printable_store(store);
  return Error{"no session " + std::to_string(id) + " in " + shown + " (see `audit-cli sessions " +
               shown + "`)"};
}

Result<StoreIndex> build_index(const storage::Log& log) {
  StoreIndex index;
  // Requests waiting for their JoinAccept, by message hash; cleared as they are answered.
  std::map<Hash32, std::uint64_t> pending_requests;
  std::map<protocol::SessionId, std::set<protocol::PublicKey>> players;
  const auto index_entry = [&](const storage::Entry& entry) {
    ++index.entries;
    const auto& h = entry.header;
    // A frame of a VS-only kind that a GS sent is logged as received, in its session, as evidence
    // (PROTOCOL.md §8.5): it counts as that session's traffic, never as the VS's word.
    const bool forged_vs_kind =
        protocol::vs_signed(h.kind) && h.direction != chains::Direction::kIssued;
    switch (forged_vs_kind ? MessageKind{} : h.kind) {
      case MessageKind::kCheckpoint:
        ++index.checkpoints;
        return true;
      case MessageKind::kJoinReject:
        ++index.rejected_joins;
        return true;
      case MessageKind::kJoinRequest:
        if (h.session_id != 0 && !index.sessions.contains(h.session_id)) {
          pending_requests[chains::message_hash(entry.message)] = h.seq;
          return true;
        }
        break;
      case MessageKind::kJoinAccept:
      case MessageKind::kSessionAdopted: {
        auto accept = protocol::session_start_accept(h.kind, entry.message);
        if (!accept || index.sessions.contains(accept->session_id)) {
          ++index.unindexed;
          return true;
        }
        SessionFacts facts;
        facts.session_id = accept->session_id;
        facts.join_accept_seq = h.seq;
        facts.start_vs_ms = h.vs_time_ms;
        facts.accept = *accept;
        facts.accept_bytes = entry.message;
        if (h.kind == MessageKind::kSessionAdopted) {
          facts.adopted = protocol::decode<protocol::SessionAdopted>(entry.message).value();
          facts.accept_bytes = facts.adopted->join_accept;
        }
        facts.limits = rules::limits_from(*accept);
        if (auto it = pending_requests.find(accept->join_request_hash);
            it != pending_requests.end()) {
          facts.join_request_seq = it->second;
          pending_requests.erase(it);
        }
        facts.last_seq = h.seq;
        facts.last_vs_ms = h.vs_time_ms;
        facts.entries = 1 + (facts.join_request_seq ? 1 : 0);
        index.sessions.emplace(facts.session_id, std::move(facts));
        return true;
      }
      default:
        break;
    }
    if (h.session_id == 0) return true;
    auto it = index.sessions.find(h.session_id);
    if (it == index.sessions.end()) {
      ++index.unindexed;
      return true;
    }
    SessionFacts& s = it->second;
    ++s.entries;
    s.last_seq = h.seq;
    s.last_vs_ms = h.vs_time_ms;
    const bool received = h.direction == chains::Direction::kReceived;
    switch (forged_vs_kind ? MessageKind{} : h.kind) {
      case MessageKind::kHeartbeat:
        if (received) ++s.heartbeats;
        break;
      case MessageKind::kTranscriptDigest:
        if (received) {
          ++s.digests;
          if (s.revocation) break;
          if (auto digest = protocol::decode<protocol::TranscriptDigest>(entry.message)) {
            auto& seen = players[s.session_id];
            for (const auto& p : digest->players) seen.insert(p.player);
            s.players = seen.size();
          }
        }
        break;
      case MessageKind::kNonceBatch:
        if (received) ++s.nonce_batches;
        break;
      case MessageKind::kProtectedReceipt:
        ++s.receipts;
        break;
      case MessageKind::kPlayTicket:
        ++s.tickets;
        break;
      case MessageKind::kRevocation: {
        ++s.revocations;
        auto revocation = protocol::decode<protocol::Revocation>(entry.message);
        if (!revocation) {
          ++index.unindexed;
        } else if (!s.revocation) {
          s.revocation = RevocationFacts{h.seq, h.vs_time_ms, *revocation};
          players.erase(s.session_id);  // no more digests count once it is over
        }
        break;
      }
      default:
        break;
    }
    if (received && !protocol::gs_session_traffic(h.kind)) ++s.received_other;
    return true;
  };
  // Rows that cannot be read are read past: `verify` names them.
  Status scanned = log.scan({}, index_entry, storage::Log::read_past_bad_rows);
  if (!scanned) return Error{scanned.error()};
  return index;
}

}  // namespace gsvs::audit
