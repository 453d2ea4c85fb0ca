#include "fleet/adoption.h"

#include <string>

#include "protocol/chains.h"
#include "rules/session_replay.h"

namespace gsvs::fleet {

using protocol::MessageKind;

Result<SessionInLog> read_session(const storage::Log& log, protocol::SessionId session,
                                  std::uint64_t log_size, const crypto::PublicKey& vs_key,
                                  const std::function<void(const storage::Entry&)>& each) {
  const std::string where = "session " + std::to_string(session);
  std::optional<storage::Entry> accept_entry;
  storage::Filter accepts;
  accepts.session_id = session;
  accepts.kind = MessageKind::kJoinAccept;
  accepts.to_seq = log_size;
  Status found = log.scan(accepts, [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    accept_entry = entry;
    return false;
  });
  if (!found) return Error{found.error()};
  if (!accept_entry) return Error{where + ": no JoinAccept"};
  auto accept = protocol::decode<protocol::JoinAccept>(accept_entry->message);
  if (!accept) return Error{where + ": its JoinAccept does not decode: " + accept.error()};
  if (!protocol::verify(*accept, vs_key)) {
    return Error{where + ": its JoinAccept is not signed by the node's key " + short_hex(vs_key)};
  }
  SessionInLog out{*accept_entry,
                   rules::SessionRules(rules::SessionStart{
                       *accept, accept_entry->header.seq, accept_entry->header.vs_time_ms,
                       chains::message_hash(accept_entry->message)}),
                   std::nullopt};
  rules::SessionReplay replay(out.rules);
  storage::Filter traffic;
  traffic.session_id = session;
  traffic.from_seq = accept_entry->header.seq + 1;
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
  protocol::SessionAdopted adopted;
  adopted.session_id = in.rules.accept().session_id;
  adopted.from_vs_key = vs_key;
  adopted.from_log_size = log_size;
  adopted.from_log_head = log_head;
  adopted.join_accept = in.join_accept.message;
  if (auto state = in.rules.adoption_state(adopted); !state) return Error{state.error()};
  return adopted;
}

}  // namespace gsvs::fleet
