// What the GS sessions of one vsd share: the configuration, the VS clock and key, the store's
// writer, the live sessions and busy identities, the numbers that rise in log order, and the
// checkpoint published for the GSes. Also the daemon-wide work on it, one file each: the
// listener (listener.cpp), checkpoints (checkpoints.cpp), recovery at start-up (recovery.cpp),
// and stopping (server_state.cpp). Sessions run on their own loops (session_loop.h): what they
// change here is atomic or behind a lock, the writer takes submits from any thread, and the rest
// is fixed once the server has started.
#pragma once

#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.h"
#include "net/escape.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "protocol/result.h"
#include "rules/continuity.h"
#include "rules/quarantine.h"
#include "rules/session_rules.h"
#include "storage/fleet.h"
#include "storage/log.h"
#include "vsd/admin.h"
#include "vsd/config.h"
#include "vsd/connection_budget.h"
#include "vsd/log_at_start.h"
#include "vsd/metrics.h"
#include "vsd/receipt_batcher.h"
#include "vsd/reply_backlog.h"
#include "vsd/session_loop.h"

namespace gsvs::vsd {

class Session;

// An entry to log: `bytes`, of `kind`, received or issued for `session` at `vs_time`.
inline storage::PendingEntry pending(protocol::MessageKind kind, chains::Direction direction,
                                     protocol::SessionId session, std::uint64_t vs_time,
                                     Bytes bytes) {
  return storage::PendingEntry{kind, direction, session, vs_time, std::move(bytes)};
}

// What the VS knows of a session a GsResume may name (PROTOCOL.md §8.15 check 4): its keys, and
// whether it is suspended (left live by an earlier run), live on a connection, or ended.
struct KnownSession {
  enum class State : std::uint8_t { kSuspended, kLive, kEnded };
  protocol::PublicKey identity;
  protocol::PublicKey session_key;
  State state = State::kLive;
  Hash32 sw_hash;  // pinned at join: a reload's policy may withdraw the build (§8.17)
};

// A quarantine of `identity` this node began, as the fleet's database holds it (§8.16 "In a
// fleet"); and the text of a refusal for one another node began.
storage::Fleet::Quarantine fleet_quarantine(const protocol::PublicKey& identity,
                                            const rules::Quarantine& quarantine);
std::string fleet_quarantine_detail(const storage::Fleet::Quarantine& quarantine);

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(net::asio::io_context& io_context, std::vector<SessionLoop*> loops, Config cfg,
              crypto::SecretKey secret, std::unique_ptr<storage::Log> log);

  net::asio::io_context& io;
  const SteadyWallClock clock;  // the VS clock (PROTOCOL.md §8.13)
  // Each accepted connection goes to the next loop in turn, and stays there.
  std::vector<SessionLoop*> session_loops;
  std::size_t next_loop = 0;  // accept_loop only
  Config config;
  crypto::SecretKey key;
  // One per session loop, in the same order: what signs that loop's receipts.
  std::vector<std::unique_ptr<ReceiptBatcher>> receipt_batchers;
  ReceiptBatcher& receipt_batcher(const SessionLoop& loop);
  // Before `writer`, which reports its commits to it and ends first.
  VsdMetrics metrics;
  std::unique_ptr<storage::BatchWriter> writer;
  net::tcp::acceptor acceptor;
  AdminServer admin;
  net::asio::strand<net::asio::io_context::executor_type> checkpoint_strand;
  net::asio::steady_timer checkpoint_timer;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint32_t> connections{0};
  // Who may hold a connection to the GS port (made by listen(); listener.cpp).
  std::unique_ptr<ConnectionBudget> connection_budget;
  std::unique_ptr<JoinPacer> join_pacer;  // the pace of joins (made by listen())
  // How late the latest lag probe of the latest session loop ran (SessionLoop::lag).
  [[nodiscard]] std::chrono::microseconds session_loop_lag() const;
  // Joins held back while the loops run late (session_join.cpp): one log line when that starts,
  // one when it ends.
  std::atomic<bool> joins_held_by_lag{false};
  // Authenticated joins closed unanswered since the last summary (listener.cpp): their turn too
  // far off at max_joins_per_second, or the loops late for as long as a join may wait.
  std::atomic<std::uint64_t> joins_closed_paced{0};
  std::atomic<std::uint64_t> joins_closed_by_lag{0};
  // Session objects in memory: live sessions and connections still closing. Once a session has
  // ended nothing holds it, so this falls back with the live count (`vsd status` reports it).
  std::atomic<std::uint64_t> session_objects{0};

  // Shared across sessions; guarded by mutex.
  std::mutex mutex;
  std::map<protocol::SessionId, std::shared_ptr<Session>> live;  // accepted and not yet revoked
  // The live session of each identity (PROTOCOL.md §8.10), changed only while an entry is placed
  // at the log head (the JoinAccept that claims it, the Revocation that frees it), so that the
  // log's order is the order of the VS's decisions: an auditor sees the same busy identities.
  std::map<protocol::PublicKey, protocol::SessionId> busy_identities;
  // Frees `identity` if `session` still holds it, and gives back its claim in the fleet. Under
  // `mutex`.
  void release_identity(const protocol::PublicKey& identity, protocol::SessionId session) {
    auto it = busy_identities.find(identity);
    if (it == busy_identities.end() || it->second != session) return;
    busy_identities.erase(it);
    release_in_fleet(identity);
  }

  // ---- The fleet (docs/STORE.md §11.6, PROTOCOL.md §8.10; server_fleet.cpp) ----
  // Null for a single node. Its calls wait for the database, so sessions make them on
  // `fleet_thread`, in the order they are made (but for the quarantine a revocation begins, see
  // revoked_at_head).
  std::unique_ptr<storage::Fleet> fleet;
  // The logs of dead nodes whose sessions this node adopts (session_adopt.cpp), read-only, each
  // opened once for the adoptions that follow a node's death: every read asks the database (a
  // size, a scan), so what one holds is never stale. On fleet_thread only.
  std::map<std::string, std::unique_ptr<storage::Log>> dead_node_logs;
  net::asio::thread_pool fleet_thread{1};
  // Joins the fleet the configuration names, if any (before recover()).
  Status join_fleet();
  // What the fleet answers a join (checks 11 and 12 of §8.3): the claim on its identity and, once
  // it is granted, the quarantine another node began that holds at the join's VS time.
  struct FleetJoin {
    storage::Fleet::Claim claim;
    std::optional<storage::Fleet::Quarantine> quarantine;
    // The claim's node was found down and this node could not take the claim over (logged).
    bool takeover_failed = false;
  };
  // Asks it from a session's loop. A granted claim is one hold, given back by release_in_fleet.
  net::asio::awaitable<Result<FleetJoin>> ask_fleet_for_join(const protocol::PublicKey& identity,
                                                             std::uint64_t vs_time_ms);
  // Gives back one hold on `identity` (nothing for a single node). From any thread.
  void release_in_fleet(const protocol::PublicKey& identity);
  // Records in the fleet which session holds the claim on `identity` (nothing for a single node),
  // once its JoinAccept is placed. From any thread.
  void claimed_for_in_fleet(const protocol::PublicKey& identity, protocol::SessionId session);
  // On fleet_thread: takes over the claim on `identity` of a node that is not alive, for a join,
  // once its log shows how the session that held it ended there: a quarantine it began (or owes)
  // is written for it first (§8.16 "In a fleet"). False when the holder is alive or the claim
  // gone; an error when the dead node's log cannot say (the join is then refused as busy).
  Result<bool> take_claim_of_dead_node(const protocol::PublicKey& identity);
  // On fleet_thread: the log of dead node `node`, read-only, opened once (dead_node_logs).
  Result<storage::Log*> dead_node_log(const std::string& node);
  // At the start, once its entries are durable: replaces this node's quarantines in the fleet's
  // database with those its log holds in force at `vs_time_ms`, then deletes the claims its
  // previous run left that no session kept for a resume holds again.
  Status settle_fleet_at_start(std::uint64_t vs_time_ms);
  // The next session id, at the log head under `mutex`: in a fleet, from a block reserved in the
  // fleet's database (unique across its nodes), reserved again when it runs out.
  Result<protocol::SessionId> take_session_id();
  protocol::SessionId session_id_block_end = 0;  // under mutex
  // Sessions a GsResume may name: the suspended, the live, and the last kMaxEndedKnown that
  // ended in this run or at its start (older ones are unknown: their resume is turned away).
  static constexpr std::size_t kMaxEndedKnown = 65536;
  std::map<protocol::SessionId, KnownSession> known_sessions;
  std::deque<protocol::SessionId> ended_order;  // oldest first, for forgetting
  // The rebuilt state of each suspended session, handed to the connection that resumes it.
  std::map<protocol::SessionId, std::unique_ptr<rules::SessionRules>> suspended;
  // What a session handed over by its connection (a network cut) issued lately, for the
  // connection that resumes it to send again (vsd/reply_backlog.h). Under `mutex`.
  std::map<protocol::SessionId, ReplyBacklog> handed_over_replies;
  // A Revocation of a session of `identity` is being placed at the log head at `position`: the
  // quarantine it begins, if any, holds from here (§8.16), its identity is free, and a resume of
  // it is refused as ended. In a fleet the quarantine is written to the fleet's database before
  // the claim on the identity is given back, so that no node can take the identity and miss it:
  // a database round trip, under `mutex`, for a quarantining revocation only. Under `mutex`.
  void revoked_at_head(const protocol::Revocation& revocation, const protocol::PublicKey& identity,
                       std::uint64_t position);
  // The quarantines (PROTOCOL.md §8.16), as the log says up to its head: rebuilt from the log by
  // recover(), then told of each Revocation, PolicyApplied and Pardon while it is placed at the
  // log head, so a join is judged against exactly the entries logged before it. Under `mutex`.
  rules::QuarantineLedger quarantine;
  // Each identity's players' last notarized positions (PROTOCOL.md §8.6 "Continuity across
  // sessions"), which a new session of the identity starts from: rebuilt from the log by
  // recover() for the sessions that ended within rules::kMaxContinuityWindowMs, then given each
  // session's positions where its Revocation is placed (remember_positions). Under `mutex`.
  rules::ContinuityLedger continuity;
  // The session's Revocation is being placed at the log head at `vs_time_ms`: its players' last
  // notarized positions go to the ledger, and positions no window reaches any more are forgotten.
  // Call before the rules end(). Under `mutex` (server_continuity.cpp).
  void remember_positions(const rules::SessionRules& rules, std::uint64_t vs_time_ms);
  // What each session left live by the previous run started from (session -> positions).
  using CarriedBySession = std::map<protocol::SessionId, std::vector<rules::NotarizedPosition>>;
  // recover(): the ledger as the sessions in `ended` (those whose Revocation lies at or after
  // `since_ms`) leave it, their notarized digests replayed in log order through the movement
  // rule; positions notarized before `since_ms` are left out. Replaces `continuity`. Returns
  // what each session in `left_live` (session -> its JoinAccept's position) started from, read
  // at its JoinAccept in the same replay, for its rebuilt rules.
  Result<CarriedBySession> rebuild_continuity(
      const storage::Log& log, const std::map<protocol::SessionId, EndedSession>& ended,
      const std::map<protocol::SessionId, std::uint64_t>& left_live, std::uint64_t since_ms);
  // The VsStart of this run (PROTOCOL.md §5.25): where and when, and when suspended sessions
  // that were not resumed are revoked.
  std::uint64_t vs_start_position = 0;
  std::uint64_t vs_start_ms = 0;
  net::asio::steady_timer resume_window_timer;
  // Taken only while building entries at the log head (BatchWriter::submit_at_head), so the
  // numbers rise in log order, as an auditor checks.
  std::atomic<protocol::SessionId> next_session_id{1};
  // The highest session id the log holds, adopted ones included (an adoption takes another node's
  // id, not one of next_session_id's): what a carry's session_id_high must reach. Under `mutex`.
  protocol::SessionId highest_session_logged = 0;
  std::atomic<std::uint64_t> next_revocation_seq{1};

  // ---- The policy (PROTOCOL.md §8.17; reload.cpp) ----
  // The policy in force and the PolicyApplied that logged it. Replaced only while a
  // PolicyApplied is placed at the log head, under `mutex`, so that the policy a join or resume
  // is judged by where its answer is placed is the one the log shows in force there.
  struct PolicyInForce {
    protocol::Policy policy;
    std::uint64_t seq = 0;       // policy_seq
    std::uint64_t position = 0;  // of its PolicyApplied in the log
  };
  std::shared_ptr<const PolicyInForce> policy;  // guarded by mutex
  std::uint64_t next_policy_seq = 1;            // under mutex, at the log head
  std::shared_ptr<const PolicyInForce> current_policy() {
    std::lock_guard lock(mutex);
    return policy;
  }
  // Reads the configuration again (the same file and command line as at the start); set by
  // the program before start(). Without it a reload is refused.
  std::function<Result<Config>()> reread_config;
  // The PolicyApplied for `applied` at log position `position`, and the policy made current.
  // Under `mutex`, while placing entries at the log head.
  storage::PendingEntry apply_policy_at_head(const protocol::Policy& applied,
                                             std::uint64_t position, std::uint64_t vs_time_ms);
  // The revocation, with policy_withdrawn, of a suspended session the policy in force no longer
  // allows, to be placed at log position `position`; built at the log head under `mutex`, like
  // expire_suspended's.
  storage::PendingEntry withdraw_suspended(protocol::SessionId session,
                                           const rules::SessionRules& rules, const std::string& why,
                                           std::uint64_t vs_time_ms, std::uint64_t position);
  // SIGHUP and `vsd reload`: reads the configuration again and applies its policy live, or
  // refuses the whole reload, naming the key or the error, and keeps the policy in force. Live
  // sessions the new policy bars are revoked with policy_withdrawn after its PolicyApplied.
  // On the main io_context. The summary for the operator, or why it was refused.
  Result<std::string> reload(std::string_view trigger);
  std::uint64_t last_checkpoint_size = 0;
  std::uint64_t last_checkpoint_ms = 0;
  // The last StateCarried's (checkpoints.cpp): the log's size after it, and when it was built.
  std::uint64_t last_carry_size = 0;
  std::uint64_t last_carry_ms = 0;
  // Entries the checkpoint loop wrote itself since the last carry: an idle log, which grows only
  // by them, gets no new carry (checkpoint_strand).
  std::uint64_t own_entries_since_carry = 0;
  std::uint64_t last_published_ms =
      0;  // vs_time_ms of the last one for the GSes; checkpoint_strand
  std::atomic<std::uint64_t> published_generation{0};
  std::mutex published_mutex;
  std::shared_ptr<const Bytes> published_checkpoint;  // guarded by published_mutex

  // Rebuilds the sessions a previous run left live from the log, logs the VsStart, and suspends
  // them for resume_window_ms, or revokes them (recovery.cpp).
  Status recover();
  // Revokes, with vs_shutdown, the sessions a start suspended that nobody resumed in time
  // (recovery.cpp).
  void expire_suspended();
  // A session taken from its connection for a resume (a network cut, PROTOCOL.md §8.15) waits in
  // `suspended` with its liveness running. What to revoke it with, given its rules and the VS
  // clock, or nullopt when nothing is due; session_id, revocation_seq, vs_time_ms and the
  // signature are filled in at the log head.
  using SuspendedVerdict =
      std::function<std::optional<protocol::Revocation>(const rules::SessionRules&, std::uint64_t)>;
  // Revokes the suspended session `id` as `verdict` says, at the log head, if it is still
  // suspended there. From any thread (session_resume.cpp).
  void revoke_suspended(protocol::SessionId id, const SuspendedVerdict& verdict);
  // At `deadline_ms` on the VS clock: missed_heartbeats for session `id` if it is still waiting
  // in `suspended` for its resume and its liveness has lapsed (session_resume.cpp).
  void expire_at_heartbeat_deadline(protocol::SessionId id, std::uint64_t deadline_ms);
  // An outside revocation (operator, reload, stop) for a session its connection handed over:
  // to the connection that resumed it, or at the log head while it waits (session_resume.cpp).
  // A reload's withdrawal names the PolicyApplied at `policy_position`.
  void revoke_handed_over(protocol::SessionId id, protocol::RevocationReason reason,
                          std::string detail, std::optional<std::uint64_t> policy_position);
  // Binds the GS port; then accept_loop hands each connection to a Session (listener.cpp).
  Status listen();
  net::asio::awaitable<void> accept_loop();
  // Logs what was closed before authenticating since the last summary, a few lines at most
  // (listener.cpp): once a second, and once more when the server stops.
  void summarise_refusals();
  // The store writer's options: group commit and the rotation of a segmented store, whose seals
  // are checkpoints signed with `key` (built in the constructor, before `writer`).
  storage::BatchWriter::Options writer_options();
  // A signed Checkpoint over the first `size` entries, whose Merkle root is `root`, as the entry
  // that records it (checkpoints.cpp); built at the log head.
  storage::PendingEntry checkpoint_entry(std::uint64_t size, const Hash32& root,
                                         std::uint64_t vs_time_ms);
  // The parts of a StateCarried placed at log position `position` (PROTOCOL.md §5.29): the
  // quarantines, numbers and policy as they stand at the log head; `restated` is set to the
  // quarantines it restates. Under `mutex`, at the log head.
  std::vector<storage::PendingEntry> carry_entries(std::uint64_t position, std::uint64_t vs_time_ms,
                                                   std::size_t& restated);
  // On checkpoint_strand (checkpoints.cpp).
  net::asio::awaitable<void> checkpoint_loop();
  net::asio::awaitable<void> write_checkpoint();
  net::asio::awaitable<void> write_carry();
  net::asio::awaitable<void> shutdown();

  template <class M>
  Bytes sign_and_encode(M& message) {
    protocol::sign(message, key);
    return protocol::encode(message);
  }
  // The store refused an append (disk full, I/O error, another writer). The writer takes nothing
  // after a failed commit, so no session can log anything more: the first failure says so once
  // and stops the server, whose owner exits non-zero; a restart on a healthy store takes up the
  // sessions left live (recover()). From any thread.
  void store_failed(std::string_view what, const std::string& error);
  // The `done` of a submit that nothing waits on: store_failed(what) if its commit fails, so
  // that the failure stops the server then, not at the next submit.
  storage::BatchWriter::Done stop_if_not_durable(std::string what);
  // Refuses new connections and revokes live sessions, then stops `io` (see Server::stop).
  void begin_stop();
  std::atomic<bool> store_broken{false};
  // co_spawn's completion for every coroutine vsd runs (net/escape.h): an exception that ends
  // one is logged, and vsd stops as after a store failure, with exit code 1.
  net::EscapeHandler on_escape(std::string what);
  net::Failure stop_on_fault();      // what on_escape calls
  std::atomic<bool> faulted{false};  // a coroutine ended by an exception

  void session_ended(protocol::SessionId id, const protocol::PublicKey& identity) {
    std::lock_guard lock(mutex);
    live.erase(id);
    release_identity(identity, id);
  }
  // The checkpoint for the GSes: each session sends the newest with its next ticket, so the
  // frames for thousands of sessions spread over a ticket period and share the tickets' writes
  // instead of leaving in one burst.
  void publish_checkpoint(Bytes checkpoint);
  // The newest published checkpoint if it is not the one `seen` names (and `seen` then names
  // it), else null. Cheap when nothing is new: one atomic load.
  std::shared_ptr<const Bytes> checkpoint_newer_than(std::uint64_t& seen);
  nlohmann::json status_json();
  std::string revoke_by_operator(protocol::SessionId id, const std::string& reason,
                                 OperatorRevocation kind);
  // The quarantines in force now, with when each lapses, for `vsd status`
  // (server_quarantine.cpp).
  nlohmann::json quarantine_json();
  // `vsd pardon`: logs a Pardon of `identity` for the operator's `reason` and lifts its
  // quarantine, once durable; what was lifted and where the Pardon is, or why nothing was logged
  // (no quarantine in force, a stopping VS, a store failure). On the main io_context.
  Result<nlohmann::json> pardon_by_operator(const protocol::PublicKey& identity,
                                            const std::string& reason);
};

}  // namespace gsvs::vsd
