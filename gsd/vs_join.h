// Joining the VS (docs/PROTOCOL.md §8.2): connect, answer the VsChallenge with a JoinRequest
// signed by the long-term identity and by a session key made for this session, and check the
// JoinAccept (rules/gs_checks.h). Every message exchanged is recorded; every failure is logged.
#pragma once

#include <memory>
#include <optional>

#include "net/asio.h"
#include "net/framed_connection.h"
#include "protocol/messages.h"
#include "rules/gs_checks.h"

namespace gsvs::gsd {

struct SharedState;

struct JoinedSession {
  std::shared_ptr<net::FramedConnection> vs;
  crypto::SecretKey session_key;  // never leaves this process
  Hash32 sw_hash;                 // as sent in the JoinRequest
  crypto::PublicKey vs_key;       // of the VS node that accepted it (one of a fleet's key set)
  protocol::JoinAccept accept;
  Bytes accept_bytes;
};

// Empty when the join failed (the reason is logged) or the daemon began stopping meanwhile.
net::asio::awaitable<std::optional<JoinedSession>> join_vs(SharedState& shared,
                                                           const crypto::SecretKey& identity,
                                                           const Hash32& own_sw_hash);

// Resuming a session on a new connection (PROTOCOL.md §8.15).
struct ResumeAttempt {
  enum class Outcome : std::uint8_t {
    kResumed,      // ResumeAccept checked: `vs` carries the session on
    kRefused,      // a JoinReject, or the VS answered nothing: the session is over for this GS
    kUnreachable,  // no connection or no challenge: try again later
  };
  Outcome outcome = Outcome::kUnreachable;
  std::shared_ptr<net::FramedConnection> vs;
};
// `checks` gives the state to resume and checks the answer; `gs_counter` is the next value of
// the session counter, `session_key` the key the JoinAccept binds.
net::asio::awaitable<ResumeAttempt> resume_vs(SharedState& shared,
                                              const crypto::SecretKey& identity,
                                              const crypto::SecretKey& session_key,
                                              const rules::GsSessionChecks& checks,
                                              std::uint64_t gs_counter);

}  // namespace gsvs::gsd
