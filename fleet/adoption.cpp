#include "fleet/adoption.h"

#include <string>

#include "protocol/chains.h"
#include "rules/quarantine.h"
#include "rules/session_replay.h"

namespace gsvs::fleet {

using protocol::MessageKind;

namespace {

// The session's rules from the entry that starts it in the log, which must verify under `vs_key`.
Result<rules::SessionRules> rules_at(const storage::Entry& start, const crypto::PublicKey& vs_key) {
  if (start.header.kind == MessageKind::kSessionAdopted) {
    auto adopted = protocol::decode<protocol::SessionAdopted>(start.message);
    if (!adopted) return Error{"its SessionAdopted does not decode: " + adopted.error()};
    if (!protocol::verify(*adopted, vs_key)) {
      return Error{"its SessionAdopted is not signed by the node's key " + short_hex(vs_key)};
    }
    return rules::SessionRules::adopt(*adopted, start.header.seq);
  }
  auto accept = protocol::decode<protocol::JoinAccept>(start.message);
  if (!accept) return Error{"its JoinAccept does not decode: " + accept.error()};
  if (!protocol::verify(*accept, vs_key)) {
    return Error{"its JoinAccept is not signed by the node's key " + short_hex(vs_key)};
  }
  return rules::SessionRules(rules::SessionStart{*accept, start.header.seq, start.header.vs_time_ms,
                                                 chains::message_hash(start.message)});
}

}  // namespace

Result<SessionInLog> read_session(const storage::Log& log, protocol::SessionId session,
                                  std::uint64_t log_size, const crypto::PublicKey& vs_key,
                                  const std::function<void(const storage::Entry&)>& each) {
  const std::string where = "session " + std::to_string(session);
  std::optional<storage::Entry> start;
  // The JoinAccept first: stores index JoinAccepts by kind, so that is one short read; a session
  // the log took up from another node (no JoinAccept) is the rare case.
  for (const MessageKind kind : {MessageKind::kJoinAccept, MessageKind::kSessionAdopted}) {
    storage::Filter starts;
    starts.session_id = session;
    starts.kind = kind;
    starts.to_seq = log_size;
    Status found = log.scan(starts, [&](const storage::Entry& entry) {
      if (entry.header.direction != chains::Direction::kIssued) return true;
      start = entry;
      return false;
    });
    if (!found) return Error{found.error()};
    if (start) break;
  }
  if (!start) return Error{where + ": no JoinAccept and no SessionAdopted"};
  auto rules = rules_at(*start, vs_key);
  if (!rules) return Error{where + ": " + rules.error()};
  SessionInLog out{*start, start->header.kind == MessageKind::kSessionAdopted,
                   std::move(rules).value(), std::nullopt};
  rules::SessionReplay replay(out.rules);
  storage::Filter traffic;
  traffic.session_id = session;
  traffic.from_seq = start->header.seq + 1;
  traffic.to_seq = log_size;
  Status replayed = log.scan(traffic, [&](const storage::Entry& entry) {
    const auto& h = entry.header;
    replay.add(rules::LoggedEntry{h.kind, h.direction, h.seq, h.vs_time_ms, entry.message});
    if (each) each(entry);
    return true;
  });
  if (!replayed) return Error{replayed.error()};
  out.owed = replay.owed();
  return out;
}

Result<protocol::SessionAdopted> adoption_of(const SessionInLog& in,
                                             const crypto::PublicKey& vs_key,
                                             std::uint64_t log_size, const Hash32& log_head) {
  if (in.adopted) {
    return Error{"session " + std::to_string(in.rules.accept().session_id) +
                 ": that log took it up from another node, and a session is taken up once"};
  }
  protocol::SessionAdopted adopted;
  adopted.session_id = in.rules.accept().session_id;
  adopted.from_vs_key = vs_key;
  adopted.from_log_size = log_size;
  adopted.from_log_head = log_head;
  adopted.join_accept = in.join_accept.message;
  if (auto state = in.rules.adoption_state(adopted); !state) return Error{state.error()};
  return adopted;
}

Result<std::optional<LeftQuarantine>> quarantine_left(const storage::Log& log,
                                                      protocol::SessionId session,
                                                      std::uint64_t log_size,
                                                      const crypto::PublicKey& vs_key,
                                                      const crypto::PublicKey& identity) {
  std::optional<LeftQuarantine> revoked;
  std::optional<std::uint64_t> undecodable;  // a Revocation that does not decode: it may quarantine
  auto in = read_session(log, session, log_size, vs_key, [&](const storage::Entry& entry) {
    if (entry.header.kind != MessageKind::kRevocation ||
        entry.header.direction != chains::Direction::kIssued) {
      return;
    }
    if (auto revocation = protocol::decode<protocol::Revocation>(entry.message)) {
      revoked = LeftQuarantine{revocation->reason, revocation->vs_time_ms, entry.header.seq, false};
    } else {
      undecodable = entry.header.seq;
    }
  });
  if (!in) return Error{in.error()};
  if (undecodable) {
    return Error{"session " + std::to_string(session) + ": its Revocation at log position " +
                 std::to_string(*undecodable) + " does not decode"};
  }
  if (in->rules.accept().gs_identity != identity) {
    return Error{"session " + std::to_string(session) + " is not a session of identity " +
                 short_hex(identity)};
  }
  if (revoked) {
    if (!rules::quarantines(revoked->reason)) return std::optional<LeftQuarantine>();
    return revoked;
  }
  if (in->owed && !in->owed->leaves) {
    if (auto reason = rules::reason_for(in->owed->verdict)) {
      const auto code = static_cast<std::uint16_t>(*reason);
      if (rules::quarantines(code)) {
        const std::uint64_t last = log_size == 0 ? 0 : log_size - 1;
        auto end = log.get(last);
        return std::optional<LeftQuarantine>(
            LeftQuarantine{code, end ? end->header.vs_time_ms : 0, log_size, true});
      }
    }
  }
  return std::optional<LeftQuarantine>();
}

}  // namespace gsvs::fleet
