// A session as another node's log leaves it (PROTOCOL.md §8.10 "When a node dies"): what a node
// of a fleet reads to adopt it (vsd) and what an audit reads to check an adoption (audit-cli
// check-adoption). One reading for both, so that what a node claims it took over and what the
// log shows cannot be computed two ways.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "protocol/messages.h"
#include "rules/session_rules.h"
#include "storage/log.h"

namespace gsvs::fleet {

struct SessionInLog {
  storage::Entry join_accept;  // as the node issued it
  rules::SessionRules rules;   // after the session's entries read
  // A refusal the log holds no revocation for (a crash between the message and its revocation).
  std::optional<rules::Judgement> owed;
};

// Session `session` as the first `log_size` entries of `log` leave it: its JoinAccept, issued by
// the node whose key is `vs_key` (it must verify), then each of its entries below `log_size`
// replayed through its rules as a start replays its own (rules::SessionReplay), and handed to
// `each` as well. Players' positions carried into it at its join are not read: a step from one
// is then unchecked, never refused (the rules are more lenient here, not stricter).
Result<SessionInLog> read_session(const storage::Log& log, protocol::SessionId session,
                                  std::uint64_t log_size, const crypto::PublicKey& vs_key,
                                  const std::function<void(const storage::Entry&)>& each = {});

// The SessionAdopted that takes up `in` from the node with `vs_key`, whose log's first `log_size`
// entries end in the entry hash `log_head`: every field but vs_time_ms and the signature.
Result<protocol::SessionAdopted> adoption_of(const SessionInLog& in,
                                             const crypto::PublicKey& vs_key,
                                             std::uint64_t log_size, const Hash32& log_head);

}  // namespace gsvs::fleet
