// The session index: one read-only pass over a store that gathers, per session, the facts of its
// JoinAccept (who, which build, which limits), how much traffic it had and how it ended. It
// checks no signature and no chain (that is verifier.h's job): it reports what the log *says*.
// `sessions`, `timeline`, `explain` and `report` all look sessions up here.
//
// Memory: O(number of sessions + players per session), never O(entries).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/messages.h"
#include "protocol/result.h"
#include "rules/movement.h"
#include "storage/log.h"

namespace gsvs::audit {

// How a session ended, as the log shows it:
//   kActive   no Revocation names it (the VS was still running when the copy was taken, or the
//             tail of the log is missing);
//   kEnded    revoked with vs_shutdown (the VS stopped) or gs_left (the GS left cleanly):
//             nothing is held against the GS;
//   kRevoked  revoked for any other reason (a verdict against the GS, or an operator's).
enum class Outcome { kActive, kEnded, kRevoked };
std::string_view outcome_name(Outcome outcome);

struct RevocationFacts {
  std::uint64_t seq = 0;  // log position of the Revocation entry
  std::uint64_t vs_time_ms = 0;
  protocol::Revocation message;  // decoded
};

struct SessionFacts {
  protocol::SessionId session_id = 0;
  std::optional<std::uint64_t> join_request_seq;  // the JoinRequest the accept answers
  std::uint64_t join_accept_seq = 0;
  std::uint64_t start_vs_ms = 0;  // vs_time_ms of the JoinAccept entry
  protocol::JoinAccept accept;    // decoded: gs_identity, session_key, sw_hash, timing, limits
  Bytes accept_bytes;             // exactly as stored (ticket 1 anchors at its hash)
  rules::MovementLimits limits;   // rules::limits_from(accept): the rule the session is judged by
  // A session taken up from another node of a fleet (PROTOCOL.md §8.10) starts at its
  // SessionAdopted (join_accept_seq), which carries `accept` and the state that node left.
  std::optional<protocol::SessionAdopted> adopted;

  std::uint64_t last_seq = 0;  // last entry carrying this session id
  std::uint64_t last_vs_ms = 0;
  std::optional<RevocationFacts> revocation;  // the first Revocation naming the session
  std::uint64_t revocations = 0;              // more than 1 is itself a finding (verify)

  // Entries with this session id, by kind. `received_other` counts received entries that are
  // not Heartbeat/TranscriptDigest/NonceBatch/GsLeaving (malformed or unexpected frames the VS
  // logged).
  std::uint64_t entries = 0;
  std::uint64_t heartbeats = 0;
  std::uint64_t digests = 0;
  std::uint64_t nonce_batches = 0;
  std::uint64_t receipts = 0;
  std::uint64_t tickets = 0;
  std::uint64_t received_other = 0;
  std::uint64_t players = 0;  // distinct player keys across its digests

  [[nodiscard]] Outcome outcome() const;
  // vs_time_ms of the Revocation, else of the session's last entry.
  [[nodiscard]] std::uint64_t end_vs_ms() const;
};

struct StoreIndex {
  std::uint64_t entries = 0;  // rows read (== one past the last seq in an intact store)
  std::uint64_t checkpoints = 0;
  std::uint64_t rejected_joins = 0;  // JoinReject entries
  std::map<protocol::SessionId, SessionFacts> sessions;
  // Rows the index could not use (unknown session id, undecodable JoinAccept/Revocation): a
  // sign that `verify` has something to say. Counted, not listed.
  std::uint64_t unindexed = 0;

  [[nodiscard]] const SessionFacts* find(protocol::SessionId id) const;
  // The session `id`, or an error that names `store` and how to list its sessions.
  [[nodiscard]] Result<const SessionFacts*> session(protocol::SessionId id,
                                                    std::string_view store) const;
};

// One scan of the store. Fails only when the store cannot be read; damaged rows are skipped and
// counted in `unindexed` (or left to `verify`, which names them).
Result<StoreIndex> build_index(const storage::Log& log);

}  // namespace gsvs::audit
