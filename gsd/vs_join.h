// Joining the VS (docs/PROTOCOL.md §8.2): connect, answer the VsChallenge with a JoinRequest
// signed by the long-term identity and by a session key made for this session, and check the
// JoinAccept (rules/gs_checks.h). Every message exchanged is recorded; every failure is logged.
#pragma once

#include <memory>
#include <optional>

#include "gsd/config.h"
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

// Joins the VS node `node`. Empty when the join failed (the reason is logged) or the daemon began
// stopping meanwhile.
net::asio::awaitable<std::optional<JoinedSession>> join_vs(SharedState& shared, const VsNode& node,
                                                           const crypto::SecretKey& identity,
                                                           const Hash32& own_sw_hash);

// Resuming a session on a new connection (PROTOCOL.md §8.15), with one VS node.
struct ResumeAttempt {
  enum class Outcome : std::uint8_t {
    kResumed,      // ResumeAccept checked: `vs` carries the session on
    kRefused,      // a JoinReject signed by a key of the set: the session is over for this GS
    kTurnedAway,   // closed unanswered, or an answer that fails its checks: the node does not
                   // hold the session (vs_link.cpp decides what that means)
    kUnreachable,  // no connection or no challenge
  };
  Outcome outcome = Outcome::kUnreachable;
  // The GsResume went out: its gs_counter is spent, whatever came back (a VS that logged it and
  // lost its answer would refuse the same counter again).
  bool sent = false;
  std::shared_ptr<net::FramedConnection> vs;
};
// `checks` gives the state to resume and checks the answer (a ResumeAccept of another node of
// the set hands the session over to it, rules/gs_checks.h); `gs_counter` is the next value of
// the session counter, `session_key` the key the JoinAccept binds.
net::asio::awaitable<ResumeAttempt> resume_vs(SharedState& shared, const VsNode& node,
                                              const crypto::SecretKey& identity,
                                              const crypto::SecretKey& session_key,
                                              rules::GsSessionChecks& checks,
                                              std::uint64_t gs_counter);

}  // namespace gsvs::gsd
