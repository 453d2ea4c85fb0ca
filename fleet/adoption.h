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
  // The entry that starts the session in the log: its JoinAccept as the node issued it, or the
  // SessionAdopted with which the node took it up from another (`adopted`).
  storage::Entry join_accept;
  bool adopted = false;
  rules::SessionRules rules;  // after the session's entries read
  // A refusal the log holds no revocation for (a crash between the message and its revocation).
  std::optional<rules::Judgement> owed;
};

// Session `session` as the first `log_size` entries of `log` leave it: its JoinAccept (or the
// SessionAdopted that took it up), issued by the node whose key is `vs_key` (it must verify),
// then each of its entries below `log_size`
// replayed through its rules as a start replays its own (rules::SessionReplay), and handed to
// `each` as well. Players' positions carried into it at its join are not read: a step from one
// is then unchecked, never refused (the rules are more lenient here, not stricter).
Result<SessionInLog> read_session(const storage::Log& log, protocol::SessionId session,
                                  std::uint64_t log_size, const crypto::PublicKey& vs_key,
                                  const std::function<void(const storage::Entry&)>& each = {});

// The SessionAdopted that takes up `in` from the node with `vs_key`, whose log's first `log_size`
// entries end in the entry hash `log_head`: every field but vs_time_ms and the signature. A
// session that log itself took up is not taken up again (PROTOCOL.md §8.10): an error.
Result<protocol::SessionAdopted> adoption_of(const SessionInLog& in,
                                             const crypto::PublicKey& vs_key,
                                             std::uint64_t log_size, const Hash32& log_head);

// The quarantine that session `session` of a dead node's log began there, as the first
// `log_size` entries show it (PROTOCOL.md §8.16 "In a fleet"): what a node that takes over the
// dead node's claim on `identity` must know, since the dead node may have died before it told the
// fleet. Its quarantining Revocation, or the revocation the log owes it for a fault (`owed`:
// then `position` is the log's end, where that node's start places it); nullopt when the session
// is live there or ended otherwise. An error when the log does not show the session as a session
// of `identity`.
struct LeftQuarantine {
  std::uint16_t reason = 0;  // the RevocationReason
  std::uint64_t since_ms = 0;
  std::uint64_t position = 0;
  bool owed = false;
};
Result<std::optional<LeftQuarantine>> quarantine_left(const storage::Log& log,
                                                      protocol::SessionId session,
                                                      std::uint64_t log_size,
                                                      const crypto::PublicKey& vs_key,
                                                      const crypto::PublicKey& identity);

}  // namespace gsvs::fleet
