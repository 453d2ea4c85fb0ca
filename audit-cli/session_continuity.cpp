#include "audit-cli/session_continuity.h"

#include <map>
#include <optional>
#include <string>

#include "audit-cli/common.h"
#include "rules/continuity.h"
#include "storage/notarized.h"

namespace gsvs::audit {

using protocol::MessageKind;

Result<CarriedAtJoin> carried_at_join(const storage::Log& log, const SessionFacts& facts) {
  CarriedAtJoin out;
  const std::uint64_t window_ms = facts.accept.continuity_window_ms;
  if (window_ms == 0) return out;
  const std::uint64_t reach_from =
      facts.start_vs_ms > window_ms ? facts.start_vs_ms - window_ms : 0;
  // The identity's JoinAccepts before this one, then which of those sessions ended in reach.
  std::map<protocol::SessionId, EarlierSession> of_identity;
  storage::Filter accepts;
  accepts.kind = MessageKind::kJoinAccept;
  accepts.to_seq = facts.join_accept_seq;
  Status scanned = log.scan(accepts, [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    auto accept = protocol::decode<protocol::JoinAccept>(entry.message);
    if (accept && accept->gs_identity == facts.accept.gs_identity &&
        accept->session_id != facts.session_id) {
      of_identity.try_emplace(accept->session_id,
                              EarlierSession{accept->session_id, entry.header.seq, 0, {}, {}});
    }
    return true;
  });
  if (!scanned) return Error{scanned.error()};
  storage::Filter revocations;
  revocations.kind = MessageKind::kRevocation;
  revocations.to_seq = facts.join_accept_seq;
  std::map<std::uint64_t, EarlierSession> in_reach;  // by JoinAccept position
  scanned = log.scan(revocations, [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    auto revocation = protocol::decode<protocol::Revocation>(entry.message);
    if (!revocation) return true;
    auto session = of_identity.find(revocation->session_id);
    if (session == of_identity.end() || session->second.revocation_seq != 0) return true;
    session->second.revocation_seq = entry.header.seq;
    if (revocation->vs_time_ms >= reach_from && revocation->vs_time_ms <= facts.start_vs_ms) {
      in_reach.emplace(session->second.accept_seq, session->second);
    }
    return true;
  });
  if (!scanned) return Error{scanned.error()};
  rules::ContinuityReplay replay;
  // Named apart, not bound: clang 14 cannot capture a structured binding in the lambda below.
  for (auto& reached : in_reach) {
    const std::uint64_t accept_seq = reached.first;
    EarlierSession& session = reached.second;
    auto accept_entry = log.get(accept_seq);
    if (!accept_entry) return Error{accept_entry.error()};
    auto accept = protocol::decode<protocol::JoinAccept>(accept_entry->message);
    if (!accept)
      return Error{"the JoinAccept at entry " + std::to_string(accept_seq) +
                   " does not decode: " + accept.error()};
    replay.joined(*accept, accept_entry->header.vs_time_ms);
    scanned = storage::scan_notarized_digests(
        log, session.session_id, session.revocation_seq,
        [&](const storage::NotarizedDigest& notarized) {
          session.receipt_seqs.push_back(notarized.receipt->header.seq);
          session.digest_seqs.push_back(notarized.digest->header.seq);
          replay.notarized(session.session_id, *notarized.message,
                           rules::DigestSample{notarized.message->gs_time_ms,
                                               notarized.digest->header.vs_time_ms,
                                               notarized.digest->header.seq});
          return true;
        });
    if (!scanned) return Error{scanned.error()};
    replay.ended(session.session_id);
    out.sessions.push_back(std::move(session));
  }
  out.carried = replay.ledger().carried_into(facts.accept.gs_identity, facts.start_vs_ms, window_ms,
                                             facts.accept.max_players_per_session);
  return out;
}

std::optional<rules::NotarizedPosition> carried_of(
    const std::vector<rules::NotarizedPosition>& carried, const protocol::PublicKey& player) {
  for (const auto& position : carried) {
    if (position.player == player) return position;
  }
  return std::nullopt;
}

nlohmann::json carried_json(const rules::NotarizedPosition& position) {
  return {{"session_id", position.session_id},
          {"seq", position.log_seq},
          {"x_mm", position.x_mm},
          {"y_mm", position.y_mm},
          {"vs_time_ms", position.vs_time_ms},
          {"last_spawn_vs_ms", position.last_spawn_vs_ms == 0
                                   ? nlohmann::json(nullptr)
                                   : nlohmann::json(position.last_spawn_vs_ms)}};
}

std::string carried_text(const rules::NotarizedPosition& position) {
  return "from session " + std::to_string(position.session_id) + ", entry " +
         std::to_string(position.log_seq) + ": (" + fixed(position.x_mm / 1000.0, 3) + ", " +
         fixed(position.y_mm / 1000.0, 3) + ") m at " + format_utc(position.vs_time_ms) +
         "; last free spawn " +
         (position.last_spawn_vs_ms == 0 ? std::string("none within the window")
                                         : "at " + format_utc(position.last_spawn_vs_ms));
}

}  // namespace gsvs::audit
