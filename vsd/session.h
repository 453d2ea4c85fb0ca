// One GS connection and, once joined, its session: the join handshake (session_join.cpp), then
// a read loop that asks the session's rules (rules/session_rules.h) for a verdict on each
// message, logs it and what it leads to, and replies once that is durable; a ticket loop; a
// watchdog for missed heartbeats; and the revocation that ends it (session.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/asio.h"
#include "net/framed_connection.h"
#include "net/pending_budget.h"
#include "protocol/messages.h"
#include "rules/session_rules.h"
#include "storage/log.h"
#include "vsd/config.h"
#include "vsd/reply_backlog.h"
#include "vsd/session_loop.h"

namespace gsvs::vsd {

struct ServerState;

// All members are touched only on the connection's loop (one thread), except `info` (guarded by
// info_mutex, read by `vsd status`).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerState> server, net::tcp::socket socket, SessionLoop& loop);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  net::asio::awaitable<void> run();
  // The connection's number in the GS port's budget (vsd/connection_budget.h), set by the
  // listener before run(); the join moves it out of the unauthenticated budget.
  void set_connection_id(net::ConnectionId id) { connection_id_ = id; }
  // From any thread: closes the connection, whose peer has not authenticated, to make room for
  // a newer one (session_join.cpp).
  void displace();
  // From any thread: revokes on the session's loop.
  void revoke_from_outside(protocol::RevocationReason reason, std::string detail);
  // From any thread: revokes with policy_withdrawn, citing the JoinAccept and the PolicyApplied
  // at `policy_position` that no longer allows the session (a reload, PROTOCOL.md §8.17). A
  // session whose JoinAccept is placed but not yet durable is revoked as soon as it is.
  void revoke_for_policy(std::string detail, std::uint64_t policy_position);
  // From any thread: closes the connection and leaves the session live in the log, for the
  // next start to suspend and its GS to resume (a graceful stop, PROTOCOL.md §8.11).
  void close_for_restart();
  // On this session's loop, for a connection whose GsResume proved the session key (a network
  // cut, PROTOCOL.md §8.15): the session leaves this connection, which is closed at once, and
  // waits in ServerState::suspended for the resume to be decided at the log head. False when
  // there is nothing to hand over: revoked, ended, or still being joined or resumed.
  net::asio::awaitable<bool> hand_over_for_resume();
  struct Info {
    protocol::SessionId session_id = 0;
    protocol::PublicKey identity;
    Hash32 sw_hash;
    std::string peer;
    std::uint64_t joined_vs_ms = 0;
    std::uint64_t gs_counter = 0;
    std::uint64_t heartbeats = 0;
    std::uint64_t digests = 0;
    std::uint64_t tickets = 0;
    std::uint64_t players = 0;
  };
  Info info() {
    std::lock_guard lock(info_mutex_);
    return info_;
  }

 private:
  net::asio::awaitable<bool> join();
  // After check 4 of a join or 5 of a resume: the connection leaves the budget of strangers and
  // waits its turn at the pace of joins; false when it is closed unanswered instead.
  net::asio::awaitable<bool> admitted(const protocol::PublicKey& identity);
  // A join closed unanswered `why`: logged if it is the first counted in `closed_since_summary`.
  void log_first_closed(std::atomic<std::uint64_t>& closed_since_summary, const std::string& why,
                        const protocol::PublicKey& identity) const;
  // The first frame was a GsResume (PROTOCOL.md §8.15, session_resume.cpp).
  net::asio::awaitable<bool> resume(const Bytes& bytes, const Nonce32& challenge,
                                    std::uint64_t received_ms);
  // Check 4 of a resume in a fleet: a session this node does not know, which a dead node held,
  // taken up from that node's log (session_adopt.cpp). True once it waits here for this resume.
  net::asio::awaitable<bool> adopt(const protocol::GsResume& resume);
  // Starts judging a session from `rules` (a join's, or a resumed one's).
  void take_up(std::unique_ptr<rules::SessionRules> rules, std::uint64_t joined_vs_ms);
  net::asio::awaitable<void> reject(const Bytes& request_bytes, protocol::JoinRejectReason reason,
                                    std::string detail);
  // At `vs_time_ms` when the refusal was decided at that time (a join or resume judged where its
  // answer is placed: the answer carries the time it was judged at, as an auditor recomputes a
  // quarantine's lapse from it); else at the VS clock now.
  [[nodiscard]] protocol::JoinReject make_reject(
      const Bytes& request_bytes, protocol::JoinRejectReason reason, const std::string& detail,
      std::optional<std::uint64_t> vs_time_ms = std::nullopt) const;
  static std::vector<storage::PendingEntry> reject_entries(protocol::MessageKind request_kind,
                                                           const Bytes& request_bytes,
                                                           const protocol::JoinReject& reject,
                                                           const Bytes& reject_bytes);
  net::asio::awaitable<void> read_loop();
  net::asio::awaitable<void> ticket_loop();
  net::asio::awaitable<void> watchdog_loop();
  net::asio::awaitable<void> handle(const Bytes& bytes);
  // What an accepted message leads to: a receipt for a digest, the end of a GsLeaving.
  net::asio::awaitable<void> act_on(const protocol::AnyMessage& message,
                                    const rules::Judgement& judgement, std::uint64_t seq,
                                    std::uint64_t vs_time, const Bytes& bytes);
  net::asio::awaitable<void> revoke(protocol::RevocationReason reason, std::string detail,
                                    std::vector<std::uint64_t> evidence,
                                    std::optional<storage::PendingEntry> received = std::nullopt);
  net::asio::awaitable<void> revoke_with_join_evidence(protocol::RevocationReason reason,
                                                       std::string detail);
  // Logs entries and waits until they are durable; false (and the session ends) if the store
  // failed, because nothing may be acted on that is not in the log.
  net::asio::awaitable<bool> log(std::vector<storage::PendingEntry> entries,
                                 std::vector<storage::Entry>* assigned = nullptr);
  // The same for entries built under the writer's lock from the log head, for numbers that must
  // rise in log order (session ids, revocation_seq) and entries that cite their own positions.
  net::asio::awaitable<bool> log_at_head(const storage::BatchWriter::BuildAtHead& build,
                                         std::vector<storage::Entry>* assigned = nullptr);
  // Logs entries without waiting, so the next message is verified while this batch commits.
  // `then` runs on the session's loop once they are durable: whatever it sends leaves after
  // its entry is in the log, and after everything logged before it (the writer keeps the
  // submission order). On a store failure the session ends instead and the error is returned.
  Result<std::vector<storage::Entry>> log_then(std::vector<storage::PendingEntry> entries,
                                               std::function<void()> then);
  void store_failed(const std::string& error);
  enum class CloseConnection : std::uint8_t { kNow, kAfterFlush };
  void end(CloseConnection close = CloseConnection::kNow);
  template <class Fn>
  void update_info(Fn&& fn) {
    std::lock_guard lock(info_mutex_);
    fn(info_);
  }

  std::shared_ptr<ServerState> server_;
  const Config& config_;
  SessionLoop& loop_;  // the loop conn_ runs on
  std::shared_ptr<net::FramedConnection> conn_;
  net::asio::steady_timer ticket_timer_;
  net::asio::steady_timer watchdog_timer_;
  net::asio::steady_timer commit_wait_;  // the read loop waits here while too much is uncommitted
  bool waiting_for_commits_ = false;
  // Replies not yet durable: log_then submits whose `then` has not run, and receipts still being
  // signed (receipts_signing_ counts those apart, for what must wait until they are placed).
  std::size_t uncommitted_ = 0;
  // Receipts of judged digests being signed with their loop's batch (act_on) while the session
  // judges on: what would end the session or move it elsewhere first waits until they are all
  // placed in the log (until_receipts_placed), so none follows its Revocation.
  std::size_t receipts_signing_ = 0;
  rules::ReceiptTerms last_receipt_signing_;  // the newest of them: the next chains after it
  net::asio::steady_timer receipts_placed_;
  net::asio::awaitable<void> until_receipts_placed();
  // A receipt back from the batcher: issued (rules_), logged, and sent once durable.
  void place_receipt(const protocol::ProtectedReceipt& receipt, Bytes receipt_bytes);
  // The judge of this session's traffic (rules/session_rules.h), from the JoinAccept on.
  std::unique_ptr<rules::SessionRules> rules_;
  // What it issued lately, for its GS to get again after a cut (PROTOCOL.md §8.15); it goes with
  // the session to the connection that resumes it.
  ReplyBacklog replies_;

  net::ConnectionId connection_id_ = 0;
  protocol::SessionId session_id_ = 0;
  protocol::PublicKey identity_;
  protocol::PublicKey session_key_;
  Hash32 sw_hash_;
  std::uint64_t join_accept_seq_ = 0;
  bool joined_ = false;
  bool ended_ = false;
  bool revoked_ = false;
  // The session went to a resuming connection (hand_over_for_resume): this one acts for it no
  // more, and passes an outside revocation on (ServerState::revoke_handed_over).
  bool handed_over_ = false;
  // A graceful stop (close_for_restart): nothing more is judged or issued; the connection
  // closes once every reply already logged has gone out (finish_close_for_restart).
  bool closing_for_restart_ = false;
  void finish_close_for_restart();
  // A reload withdrew the session while its JoinAccept or ResumeAccept was being logged: the
  // detail and the PolicyApplied's position, for the revocation once it is taken up.
  std::optional<std::pair<std::string, std::uint64_t>> pending_withdrawal_;
  void revoke_pending_withdrawal();
  std::uint64_t checkpoint_seen_ = 0;  // generation of the last checkpoint sent to this GS

  std::mutex info_mutex_;
  Info info_;
};

}  // namespace gsvs::vsd
