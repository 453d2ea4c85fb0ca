// What a session's players started from (PROTOCOL.md §8.6 "Continuity across sessions"), read
// from the log for one session on its own: the earlier sessions of its GS identity replayed
// through the rules' ledger (rules::ContinuityReplay), the code vsd rebuilds its ledger with, so
// that `explain`, `timeline` and the dispute report show the carried position and the carried
// last spawn that `verify` (which replays the whole log) holds the first appearance to.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit-cli/session_index.h"
#include "protocol/result.h"
#include "rules/movement.h"
#include "storage/log.h"

namespace gsvs::audit {

// An earlier session of the identity, where the log holds what continuity reads of it.
struct EarlierSession {
  protocol::SessionId session_id = 0;
  std::uint64_t accept_seq = 0;
  std::uint64_t revocation_seq = 0;
  std::vector<std::uint64_t> receipt_seqs;  // its receipts before its Revocation, in log order
  std::vector<std::uint64_t> digest_seqs;   // the digests those receipts notarize
};

struct CarriedAtJoin {
  // The sessions of the identity whose Revocation lies before the JoinAccept and less than the
  // session's continuity_window_ms of VS time before it (older ones notarized nothing a join
  // can carry), in log order of their JoinAccepts.
  std::vector<EarlierSession> sessions;
  std::vector<rules::NotarizedPosition> carried;  // ContinuityReplay::carried_into at the join
};

// Reads the JoinAccepts and Revocations through the store's (kind, seq) index and each earlier
// session's receipts through its session index. A session whose JoinAccept is a resume (no
// JoinAccept: §8.15) starts from nothing: it has no carried positions.
Result<CarriedAtJoin> carried_at_join(const storage::Log& log, const SessionFacts& facts);

// `player`'s carried position in `carried`, if any.
std::optional<rules::NotarizedPosition> carried_of(
    const std::vector<rules::NotarizedPosition>& carried, const protocol::PublicKey& player);
// One printer of a carried position, for `explain` and `timeline`: JSON, and one line of text
// ("from session 3, entry 41: (1.000, 0.000) m at ...; last free spawn at ..." ).
nlohmann::json carried_json(const rules::NotarizedPosition& position);
std::string carried_text(const rules::NotarizedPosition& position);

}  // namespace gsvs::audit
