// The link to the VS: joins (gsd/vs_join.h), again after each session ends with backoff, and
// resumes the session instead when only the connection was lost (PROTOCOL.md §8.15); keeps
// the session alive (heartbeats, transcript digests, nonce batches); checks and records what the
// VS sends (tickets, forwarded to the clients with their nonce proofs; receipts; checkpoints;
// revocations) and ends the match on a revocation or a lost connection; on stop, leaves with a
// GsLeaving. Held by shared_from_this while its coroutines run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/asio.h"
#include "protocol/messages.h"

namespace gsvs::gsd {

struct SharedState;
struct VsSession;  // one VS session: vs_link.cpp

// The wait before joining the VS again (PROTOCOL.md §8.11): exponential backoff with full
// jitter, so that GSes that lost the same VS (a restart) do not all come back at once. After
// `failures` failed joins in a row (0: a session just ended) the ceiling is
// min_ms × 2^(failures + 1), at most max_ms, and the wait is spread uniformly from min_ms to the
// ceiling by `random` (a uniformly random number). Pure: the caller supplies the randomness.
std::uint64_t reconnect_delay_ms(std::uint32_t failures, std::uint64_t min_ms, std::uint64_t max_ms,
                                 std::uint64_t random);

// How long the VS may stay silent on a joined session's connection before the GS takes it for
// lost, closes it and resumes on a new one (PROTOCOL.md §8.15 "A silent VS"): the smaller of four
// ticket periods and half the heartbeat timeout, never below one ticket period. From the
// JoinAccept's signed terms, so that it holds for the session whatever the VS's policy becomes.
std::uint64_t vs_silence_limit_ms(const protocol::JoinAccept& accept);

class VsLink : public std::enable_shared_from_this<VsLink> {
 public:
  // `identity` is the long-term key on the VS allowlist; `own_sw_hash` the SHA-256 of this
  // executable.
  VsLink(std::shared_ptr<SharedState> shared, crypto::SecretKey identity,
         const Hash32& own_sw_hash);
  ~VsLink();
  VsLink(const VsLink&) = delete;
  VsLink& operator=(const VsLink&) = delete;

  // Joins the VS, and again whenever the session ends, until the daemon stops.
  void run();
  // Stops joining. While a session is live, sends its GsLeaving (PROTOCOL.md §8.11) and calls
  // `then` once the VS answered or closed, or after a bounded wait; otherwise calls it at once.
  void leave(std::function<void()> then);
  // Ends the match being served, if any: its clients are closed.
  void end(const std::string& why);

 private:
  net::asio::awaitable<void> join_loop();
  // True when the VS admitted this GS (the session then ran until it ended or lost its VS).
  net::asio::awaitable<bool> run_session();
  // Takes the session whose VS connection was lost up again: its node first, then the others of
  // a fleet; true when a node resumed it (it then ran until it ended or lost its VS again). A
  // signed refusal ends the match, and so does, with one VS, a resume turned away unanswered;
  // with several, the session's heartbeat deadline passing before any node resumed it.
  net::asio::awaitable<bool> resume_session();
  // Runs the session on its connection: the loops that send, and the reads.
  net::asio::awaitable<void> serve(std::shared_ptr<VsSession> s);
  // The VS connection is gone but the session is not over: the match and its clients stay, the
  // session waits to be resumed.
  void lose_vs(const std::shared_ptr<VsSession>& s, const std::string& why);
  net::asio::awaitable<void> read_loop(std::shared_ptr<VsSession> s);
  void handle_frame(const std::shared_ptr<VsSession>& s, const Bytes& frame);
  void on_ticket(VsSession& s, const Bytes& bytes, const protocol::PlayTicket& ticket);
  // Takes `s` by value: it may be `session_`.
  void end_match(const std::shared_ptr<VsSession>& s, const std::string& why,
                 const Bytes* revocation);
  net::asio::awaitable<void> heartbeat_loop(std::shared_ptr<VsSession> s);
  net::asio::awaitable<void> digest_loop(std::shared_ptr<VsSession> s);
  net::asio::awaitable<void> nonce_loop(std::shared_ptr<VsSession> s);
  void send_heartbeat(VsSession& s);
  void send_digest(VsSession& s);
  void send_nonce_batches(VsSession& s);
  void send_leaving(VsSession& s);
  template <class M>
  void send(VsSession& s, M& message);

  std::shared_ptr<SharedState> shared_;
  crypto::SecretKey identity_;
  Hash32 own_sw_hash_;
  net::asio::steady_timer backoff_timer_;
  net::asio::steady_timer leaving_timer_;  // the bounded wait for the answer to a GsLeaving
  std::shared_ptr<VsSession> session_;     // the latest session; null before the first join
  std::size_t join_node_ = 0;  // the index in Config::vs_nodes of the node the next join tries
};

}  // namespace gsvs::gsd
