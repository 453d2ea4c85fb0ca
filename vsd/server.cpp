#include "vsd/server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "app/log_line.h"
#include "net/accept_backoff.h"
#include "net/framed_connection.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/merkle.h"
#include "protocol/messages.h"
#include "rules/session_rules.h"
#include "vsd/admin.h"
#include "vsd/vs_clock.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using net::tcp;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol
using std::chrono::milliseconds;

namespace {

// Session ids and revocation numbers stay below 2^63: the store keeps session ids in a signed
// 64-bit INTEGER (STORE.md §8), and the VS counts both up from what it finds at start-up.
constexpr std::uint64_t kMaxStoredId = std::uint64_t{1} << 63;

storage::PendingEntry pending(MessageKind kind, chains::Direction direction, SessionId session,
                              std::uint64_t vs_time, Bytes bytes) {
  return storage::PendingEntry{kind, direction, session, vs_time, std::move(bytes)};
}

// Lets a coroutine wait for the BatchWriter's durability callback, which runs on the writer
// thread: the callback posts the status to the coroutine's executor and wakes it. (Plain objects
// rather than a completion-token adapter: g++ 12 mishandles lambda temporaries in co_await.)
struct Durability {
  explicit Durability(const asio::any_io_executor& executor)
      : wake(executor, std::chrono::steady_clock::time_point::max()) {}
  asio::steady_timer wake;
  std::optional<Status> status;
};

storage::BatchWriter::Done notify(const std::shared_ptr<Durability>& durability) {
  return [durability](const Status& status) {
    asio::post(durability->wake.get_executor(), [durability, status] {
      durability->status = status;
      durability->wake.cancel();
    });
  };
}

asio::awaitable<Status> until_durable(Durability& durability) {
  while (!durability.status) {
    boost::system::error_code ec;
    co_await durability.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return *durability.status;
}

// The outcome of a submit: its refusal, or once it was placed, its commit. (An `if`, never a
// `co_await` inside `?:`: g++ 12 miscompiles that, destroying the awaited temporary twice.)
asio::awaitable<Status> durable_or_refused(const Result<std::vector<storage::Entry>>& placed,
                                           Durability& durability) {
  if (!placed) co_return Status(Error{placed.error()});
  co_return co_await until_durable(durability);
}

// An event loop for GS sessions: an io_context run by one thread (told so, so that asio skips
// the locking it would need for several), which keeps each session's handlers in order without a
// strand. Work from the store's writer thread arrives through an inbox: one commit completes
// entries of many sessions at once, and one wake-up of the loop serves them all.
class SessionLoop {
 public:
  SessionLoop() : guard_(context_.get_executor()) {}
  SessionLoop(const SessionLoop&) = delete;
  SessionLoop& operator=(const SessionLoop&) = delete;
  ~SessionLoop() { stop(); }

  [[nodiscard]] asio::any_io_executor executor() { return context_.get_executor(); }
  void start() {
    thread_ = std::thread([this] { context_.run(); });
  }
  void stop() {
    guard_.reset();
    context_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // From any thread: runs `fn` on this loop, after everything delivered before it.
  void deliver(std::function<void()> fn) {
    const std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(std::move(fn));
    if (drain_posted_) return;
    drain_posted_ = true;
    asio::post(context_, [this] { drain(); });
  }

 private:
  void drain() {
    std::vector<std::function<void()>> ready;
    {
      const std::lock_guard lock(inbox_mutex_);
      ready.swap(inbox_);
      drain_posted_ = false;
    }
    for (auto& fn : ready) fn();
  }

  asio::io_context context_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
  // Declared after the context, so destroyed before it: callbacks delivered after the loop
  // stopped still hold sessions, whose sockets must close while their context exists.
  std::mutex inbox_mutex_;
  std::vector<std::function<void()>> inbox_;
  bool drain_posted_ = false;
};

}  // namespace

class Session;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io_context, std::vector<SessionLoop*> loops, Config cfg,
       crypto::SecretKey secret, std::unique_ptr<storage::Log> log)
      : io(io_context),
        session_loops(std::move(loops)),
        config(std::move(cfg)),
        key(std::move(secret)),
        acceptor(io_context),
        admin(io_context, config.admin_socket,
              AdminOperations{[this] { return status_json(); },
                              [this](SessionId id, const std::string& reason) {
                                return revoke_by_operator(id, reason);
                              }}),
        checkpoint_strand(asio::make_strand(io_context)),
        checkpoint_timer(checkpoint_strand) {
    storage::BatchWriter::Options options;
    options.max_delay_us = config.commit_max_delay_us;
    writer = std::make_unique<storage::BatchWriter>(std::move(log), options);
  }

  asio::io_context& io;
  const VsClock clock;
  // Each accepted connection goes to the next loop in turn, and stays there.
  std::vector<SessionLoop*> session_loops;
  std::size_t next_loop = 0;  // accept_loop only
  Config config;
  crypto::SecretKey key;
  std::unique_ptr<storage::BatchWriter> writer;
  tcp::acceptor acceptor;
  AdminServer admin;
  asio::strand<asio::io_context::executor_type> checkpoint_strand;
  asio::steady_timer checkpoint_timer;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint32_t> connections{0};
  // Session objects in memory: live sessions and connections still closing. Once a session has
  // ended nothing holds it, so this falls back with the live count (`vsd status` reports it).
  std::atomic<std::uint64_t> session_objects{0};

  // Shared across sessions; guarded by mutex.
  std::mutex mutex;
  std::map<SessionId, std::shared_ptr<Session>> live;  // accepted and not yet revoked
  std::set<PublicKey> busy_identities;
  // Taken only while building entries at the log head (BatchWriter::submit_at_head), so the
  // numbers rise in log order, as an auditor checks.
  std::atomic<SessionId> next_session_id{1};
  std::atomic<std::uint64_t> next_revocation_seq{1};
  std::uint64_t last_checkpoint_size = 0;
  std::uint64_t last_checkpoint_ms = 0;
  std::uint64_t last_published_ms =
      0;  // vs_time_ms of the last one for the GSes; checkpoint_strand
  std::atomic<std::uint64_t> published_generation{0};
  std::mutex published_mutex;
  std::shared_ptr<const Bytes> published_checkpoint;  // guarded by published_mutex

  Status recover();
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> checkpoint_loop();
  asio::awaitable<void> write_checkpoint();
  asio::awaitable<void> shutdown();

  template <class M>
  Bytes sign_and_encode(M& message) {
    sign(message, key);
    return encode(message);
  }
  // The store refused an append (disk full, I/O error, another writer). The writer takes nothing
  // after a failed commit, so no session can log anything more: the first failure says so once
  // and stops the server, whose owner exits non-zero; a restart on a healthy store revokes the
  // sessions left live. From any thread.
  void store_failed(std::string_view what, const std::string& error);
  // Refuses new connections and revokes live sessions, then stops `io` (see Server::stop).
  void begin_stop();
  std::atomic<bool> store_broken{false};

  void session_ended(SessionId id, const PublicKey& identity) {
    std::lock_guard lock(mutex);
    live.erase(id);
    busy_identities.erase(identity);
  }
  // The checkpoint for the GSes: each session sends the newest with its next ticket, so the
  // frames for thousands of sessions spread over a ticket period and share the tickets' writes
  // instead of leaving in one burst.
  void publish_checkpoint(Bytes checkpoint);
  // The newest published checkpoint if it is not the one `seen` names (and `seen` then names
  // it), else null. Cheap when nothing is new: one atomic load.
  std::shared_ptr<const Bytes> checkpoint_newer_than(std::uint64_t& seen);
  nlohmann::json status_json();
  std::string revoke_by_operator(SessionId id, const std::string& reason);
};

// One GS connection and, once joined, its session. All members are touched only on the
// connection's loop (one thread), except `info` (guarded by info_mutex, read by `vsd status`).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Server::Impl> server, tcp::socket socket, SessionLoop& loop)
      : server_(std::move(server)),
        config_(server_->config),
        loop_(loop),
        conn_(std::make_shared<net::FramedConnection>(
            std::move(socket), net::ConnectionLimits{config_.max_frame_bytes, 1024 * 1024})),
        ticket_timer_(conn_->executor()),
        watchdog_timer_(conn_->executor()),
        commit_wait_(conn_->executor()) {
    server_->session_objects.fetch_add(1);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { server_->session_objects.fetch_sub(1); }

  asio::awaitable<void> run();
  // From any thread: revokes on the session's loop.
  void revoke_from_outside(RevocationReason reason, std::string detail) {
    asio::co_spawn(
        conn_->executor(),
        [self = shared_from_this(), reason, detail = std::move(detail)] {
          return self->revoke_with_join_evidence(reason, detail);
        },
        asio::detached);
  }
  struct Info {
    SessionId session_id = 0;
    PublicKey identity;
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
  asio::awaitable<bool> join();
  asio::awaitable<void> reject(const Bytes& request_bytes, JoinRejectReason reason,
                               std::string detail);
  asio::awaitable<void> read_loop();
  asio::awaitable<void> ticket_loop();
  asio::awaitable<void> watchdog_loop();
  asio::awaitable<void> handle(const Bytes& frame);
  // What an accepted message leads to: a receipt for a digest, the end of a GsLeaving.
  asio::awaitable<void> act_on(const AnyMessage& message, const rules::Judgement& judgement,
                               std::uint64_t seq, std::uint64_t vs_time, const Bytes& bytes);
  asio::awaitable<void> revoke(RevocationReason reason, std::string detail,
                               std::vector<std::uint64_t> evidence,
                               std::optional<storage::PendingEntry> received = std::nullopt);
  asio::awaitable<void> revoke_with_join_evidence(RevocationReason reason, std::string detail) {
    std::vector<std::uint64_t> evidence(1, join_accept_seq_);
    co_await revoke(reason, std::move(detail), std::move(evidence));
  }
  // Logs entries and waits until they are durable; false (and the session ends) if the store
  // failed, because nothing may be acted on that is not in the log.
  asio::awaitable<bool> log(std::vector<storage::PendingEntry> entries,
                            std::vector<storage::Entry>* assigned = nullptr);
  // The same for entries built under the writer's lock from the log head, for numbers that must
  // rise in log order (session ids, revocation_seq) and entries that cite their own positions.
  asio::awaitable<bool> log_at_head(const storage::BatchWriter::BuildAtHead& build,
                                    std::vector<storage::Entry>* assigned = nullptr);
  // Logs entries without waiting, so the next message is verified while this batch commits.
  // `then` runs on the session's loop once they are durable: whatever it sends leaves after
  // its entry is in the log, and after everything logged before it (the writer keeps the
  // submission order). On a store failure the session ends instead and the error is returned.
  Result<std::vector<storage::Entry>> log_then(std::vector<storage::PendingEntry> entries,
                                               std::function<void()> then);
  void store_failed(const std::string& error);
  void end();
  template <class Fn>
  void update_info(Fn&& fn) {
    std::lock_guard lock(info_mutex_);
    fn(info_);
  }

  std::shared_ptr<Server::Impl> server_;
  const Config& config_;
  SessionLoop& loop_;  // the loop conn_ runs on
  std::shared_ptr<net::FramedConnection> conn_;
  asio::steady_timer ticket_timer_;
  asio::steady_timer watchdog_timer_;
  asio::steady_timer commit_wait_;  // the read loop waits here while too much is uncommitted
  bool waiting_for_commits_ = false;
  std::size_t uncommitted_ = 0;  // log_then submits with a `then` that has not run yet
  // The judge of this session's traffic (rules/session_rules.h), from the JoinAccept on.
  std::optional<rules::SessionRules> rules_;

  SessionId session_id_ = 0;
  PublicKey identity_;
  PublicKey session_key_;
  Hash32 sw_hash_;
  std::uint64_t join_accept_seq_ = 0;
  bool joined_ = false;
  bool ended_ = false;
  bool revoked_ = false;
  std::uint64_t checkpoint_seen_ = 0;  // generation of the last checkpoint sent to this GS

  std::mutex info_mutex_;
  Info info_;
};

// ---- Session --------------------------------------------------------------------------------

asio::awaitable<void> Session::run() {
  conn_->start();
  const bool joined = co_await join();
  if (joined) {
    auto self = shared_from_this();
    asio::co_spawn(
        conn_->executor(), [self] { return self->ticket_loop(); }, asio::detached);
    asio::co_spawn(
        conn_->executor(), [self] { return self->watchdog_loop(); }, asio::detached);
    co_await read_loop();
  } else {
    conn_->close_after_flush();
  }
  server_->connections.fetch_sub(1);
}

asio::awaitable<bool> Session::log(std::vector<storage::PendingEntry> entries,
                                   std::vector<storage::Entry>* assigned) {
  const storage::BatchWriter::BuildAtHead build = [&entries](std::uint64_t, const Hash32&) {
    return std::move(entries);
  };
  co_return co_await log_at_head(build, assigned);
}

asio::awaitable<bool> Session::log_at_head(const storage::BatchWriter::BuildAtHead& build,
                                           std::vector<storage::Entry>* assigned) {
  auto durability = std::make_shared<Durability>(conn_->executor());
  auto placed = server_->writer->submit_at_head(build, notify(durability));
  const Status status = co_await durable_or_refused(placed, *durability);
  if (!status) {
    store_failed(status.error());
    co_return false;
  }
  if (assigned) *assigned = std::move(placed).value();
  co_return true;
}

Result<std::vector<storage::Entry>> Session::log_then(std::vector<storage::PendingEntry> entries,
                                                      std::function<void()> then) {
  if (!then) {
    // Nothing waits on these: no callback, so no wake-up of this loop per message. Whatever
    // they lead to is logged after them and waits in their place; a failed commit fails every
    // later submit, which ends the session.
    auto placed = server_->writer->submit(std::move(entries), nullptr);
    if (!placed) store_failed(placed.error());
    return placed;
  }
  auto self = shared_from_this();
  auto placed = server_->writer->submit(
      std::move(entries), [self, then = std::move(then)](const Status& status) mutable {
        self->loop_.deliver([self, status, then = std::move(then)] {
          --self->uncommitted_;
          if (self->waiting_for_commits_) self->commit_wait_.cancel();
          if (!status) {
            self->store_failed(status.error());
          } else {
            then();
          }
        });
      });
  if (!placed) {
    store_failed(placed.error());
    return placed;
  }
  ++uncommitted_;
  return placed;
}

void Session::store_failed(const std::string& error) {
  if (ended_) return;
  spdlog::error("session {}: store append failed: {}; closing the connection", session_id_,
                app::log_text(error));
  end();
  server_->store_failed("session " + std::to_string(session_id_), error);
}

asio::awaitable<bool> Session::join() {
  VsChallenge challenge;
  challenge.challenge = crypto::random_fixed<32>();
  challenge.vs_time_ms = server_->clock.now_ms();
  conn_->send(encode(challenge));

  auto frame = co_await conn_->read_frame(milliseconds(config_.handshake_timeout_ms));
  if (!frame) {
    spdlog::info("join from {}: no JoinRequest: {}", conn_->peer(), app::log_text(frame.error()));
    co_return false;
  }
  const Bytes& bytes = *frame;
  // Until the peer has shown a JoinRequest from an allowed identity that signed it, it is
  // nobody: nothing is logged and nothing signed goes back (PROTOCOL.md §8.3), so a stray or
  // hostile peer can neither grow the log nor collect VS signatures. Info level, so a flood of
  // them cannot fill the operator's disk at the default log level either.
  auto turn_away = [&](std::string_view why) {
    spdlog::info("join from {} turned away (not logged, no answer): {}", conn_->peer(),
                 app::log_text(why));
  };
  auto request = decode<JoinRequest>(bytes);
  if (!request) {
    turn_away("not a JoinRequest: " + request.error());
    co_return false;
  }
  const JoinRequest& r = *request;
  if (!config_.allowed_gs_keys.contains(r.gs_identity)) {
    turn_away("GS identity " + to_hex(r.gs_identity) + " is not in allowed_gs");
    co_return false;
  }
  if (!verify(r, r.gs_identity, 0)) {
    turn_away("the identity signature of " + to_hex(r.gs_identity) + " does not verify");
    co_return false;
  }
  if (!config_.allowed_build_hashes.contains(r.sw_hash)) {
    co_await reject(bytes, JoinRejectReason::kBuildNotAllowed,
                    "build " + to_hex(r.sw_hash) + " is not in allowed_builds");
    co_return false;
  }
  if (!verify(r, r.session_key, 1)) {
    co_await reject(bytes, JoinRejectReason::kBadSessionSignature,
                    "session-key signature does not verify");
    co_return false;
  }
  if (r.challenge != challenge.challenge) {
    co_await reject(bytes, JoinRejectReason::kBadChallenge,
                    "challenge is not the one this connection was given (replayed join?)");
    co_return false;
  }
  const std::uint64_t vs_time = server_->clock.now_ms();
  const std::uint64_t skew =
      vs_time > r.gs_time_ms ? vs_time - r.gs_time_ms : r.gs_time_ms - vs_time;
  if (skew > config_.max_clock_skew_ms) {
    co_await reject(bytes, JoinRejectReason::kClockSkew,
                    "GS clock differs from the VS clock by " + std::to_string(skew) +
                        " ms; at most " + std::to_string(config_.max_clock_skew_ms) + " allowed");
    co_return false;
  }
  bool identity_busy = false;
  {
    std::lock_guard lock(server_->mutex);
    if (server_->stopping) {
      // Fall through to a reject outside the lock.
    } else if (server_->busy_identities.contains(r.gs_identity)) {
      identity_busy = true;
    } else {
      server_->busy_identities.insert(r.gs_identity);
    }
  }
  if (server_->stopping) {
    co_await reject(bytes, JoinRejectReason::kServerBusy, "the VS is shutting down");
    co_return false;
  }
  if (identity_busy) {
    co_await reject(bytes, JoinRejectReason::kIdentityBusy,
                    "identity " + to_hex(r.gs_identity) +
                        " already has a live session; it ends by revocation or after "
                        "heartbeat_timeout_ms without heartbeats");
    co_return false;
  }
  identity_ = r.gs_identity;
  session_key_ = r.session_key;
  sw_hash_ = r.sw_hash;

  JoinAccept accept;
  accept.gs_identity = r.gs_identity;
  accept.session_key = r.session_key;
  accept.sw_hash = r.sw_hash;
  accept.join_request_hash = chains::message_hash(bytes);
  accept.vs_time_ms = vs_time;
  accept.heartbeat_interval_ms = config_.heartbeat_interval_ms;
  accept.heartbeat_timeout_ms = config_.heartbeat_timeout_ms;
  accept.ticket_period_ms = config_.ticket_period_ms;
  accept.ticket_validity_ms = config_.ticket_validity_ms;
  rules::announce_limits(config_.physics(), accept);
  accept.max_receipt_lag = config_.max_receipt_lag;
  Bytes accept_bytes;
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t, const Hash32&) {
    session_id_ = server_->next_session_id.fetch_add(1);
    {
      std::lock_guard lock(server_->mutex);
      server_->live[session_id_] = shared_from_this();
    }
    accept.session_id = session_id_;
    accept_bytes = server_->sign_and_encode(accept);
    return std::vector<storage::PendingEntry>{
        pending(MessageKind::kJoinRequest, chains::Direction::kReceived, session_id_, vs_time,
                bytes),
        pending(MessageKind::kJoinAccept, chains::Direction::kIssued, session_id_, vs_time,
                accept_bytes)};
  };
  std::vector<storage::Entry> placed;
  if (!co_await log_at_head(build, &placed)) {
    server_->session_ended(session_id_, identity_);
    co_return false;
  }
  join_accept_seq_ = placed.back().header.seq;
  // Judged by exactly the terms the VS signed, as an auditor will.
  rules_.emplace(
      rules::SessionStart{accept, join_accept_seq_, vs_time, chains::message_hash(accept_bytes)});
  joined_ = true;
  update_info([&](Info& i) {
    i.session_id = session_id_;
    i.identity = identity_;
    i.sw_hash = sw_hash_;
    i.peer = conn_->peer();
    i.joined_vs_ms = vs_time;
  });
  conn_->send(accept_bytes);
  spdlog::info("session {}: joined from {} identity {} build {}", session_id_, conn_->peer(),
               short_hex(identity_), short_hex(sw_hash_));
  co_return true;
}

asio::awaitable<void> Session::reject(const Bytes& request_bytes, JoinRejectReason reason,
                                      std::string detail) {
  JoinReject reject;
  reject.join_request_hash = chains::message_hash(request_bytes);
  reject.vs_time_ms = server_->clock.now_ms();
  reject.reason = static_cast<std::uint16_t>(reason);
  reject.detail = std::move(detail);
  reject.detail = truncate_utf8(reject.detail, kMaxDetailBytes);
  Bytes reject_bytes = server_->sign_and_encode(reject);
  spdlog::warn("join from {} rejected: {}: {}", conn_->peer(), reason_name(reason),
               app::log_text(reject.detail));
  std::vector<storage::PendingEntry> reject_entries{
      pending(MessageKind::kJoinRequest, chains::Direction::kReceived, 0, reject.vs_time_ms,
              request_bytes),
      pending(MessageKind::kJoinReject, chains::Direction::kIssued, 0, reject.vs_time_ms,
              reject_bytes)};
  if (co_await log(std::move(reject_entries))) {
    conn_->send(reject_bytes);
  }
}

asio::awaitable<void> Session::read_loop() {
  // A GS sends at least a heartbeat per interval; silence longer than the timeout is caught by
  // the watchdog, and a dead TCP peer by this read's own limit.
  const milliseconds idle(std::uint64_t{config_.heartbeat_timeout_ms} * 2);
  while (!ended_ && !revoked_) {
    // A GS that sends faster than the disk commits waits here, and TCP holds it back.
    while (uncommitted_ >= config_.max_uncommitted_per_session && !ended_) {
      waiting_for_commits_ = true;
      commit_wait_.expires_at(std::chrono::steady_clock::time_point::max());
      boost::system::error_code ec;
      co_await commit_wait_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      waiting_for_commits_ = false;
    }
    if (ended_) co_return;
    auto frame = co_await conn_->read_frame(idle);
    if (!frame) {
      if (!ended_) {
        spdlog::info("session {}: GS connection from {} ended: {}", session_id_, conn_->peer(),
                     app::log_text(frame.error()));
      }
      // The session stays live until revoked: a GS that vanished is revoked by the watchdog
      // for missed heartbeats, so the log says why it ended.
      co_return;
    }
    co_await handle(*frame);
  }
}

asio::awaitable<void> Session::handle(const Bytes& bytes) {
  // A revocation (by the operator, say) may have begun while this frame was being read; nothing
  // the session sends after it is acted on, so nothing can follow the revocation in the log.
  if (revoked_ || ended_) co_return;
  const std::uint64_t vs_time = server_->clock.now_ms();
  auto message = decode_any(bytes);
  auto kind = peek_kind(bytes);
  if (!kind) {
    // Not a message of any kind (PROTOCOL.md §8.5): the store files entries by kind and any
    // kind would misname it, and a revocation must cite what it rests on. The connection
    // closes; no ticket follows, and the watchdog revokes the session for missed heartbeats.
    spdlog::warn(
        "session {}: {} (frame of {} bytes, SHA-256 {}): not logged; closing the connection, "
        "the session is revoked when its heartbeats stop",
        session_id_, kind.error(), bytes.size(), to_hex(crypto::sha256(bytes)));
    conn_->close();
    co_return;
  }
  // Only session traffic can verify under the session key; the judge refuses anything else
  // before it looks at the signature.
  bool signature_valid = false;
  if (message) {
    std::visit(
        [&](const auto& m) {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, Heartbeat> || std::is_same_v<M, TranscriptDigest> ||
                        std::is_same_v<M, NonceBatch> || std::is_same_v<M, GsLeaving>) {
            signature_valid = verify(m, session_key_);
          }
        },
        *message);
  }
  rules::Received received{message ? &*message : nullptr,
                           message ? std::string_view() : std::string_view(message.error()),
                           kind_name(*kind),
                           signature_valid,
                           0,
                           vs_time};
  auto as_entry = [&] {
    return pending(*kind, chains::Direction::kReceived, session_id_, vs_time, bytes);
  };
  // The envelope first (PROTOCOL.md §8.5 checks 1-4 and liveness). A refused frame is logged in
  // the same submit as the revocation that cites it. A frame of a kind the GS may not send (a
  // JoinAccept, Checkpoint, Revocation... it made up) is kept with direction "received", which
  // no reader takes for something the VS issued (recover() reads only issued entries).
  const rules::Judgement envelope = rules_->check_envelope(received);
  if (envelope.refused()) {
    std::optional<storage::PendingEntry> cited;
    if (envelope.cites_message) cited = as_entry();
    co_await revoke(*rules::reason_for(envelope.verdict), envelope.why, envelope.prior_evidence,
                    std::move(cited));
    co_return;
  }
  // Positions are assigned at submit. What the message leads to (a receipt, a revocation) is
  // logged after it and sent only once durable, so the message is durable first.
  std::vector<storage::PendingEntry> received_entries{as_entry()};
  auto placed = log_then(std::move(received_entries), nullptr);
  if (!placed) co_return;
  received.position = placed->front().header.seq;
  const std::size_t nonces_before = rules_->pending_nonces().size();
  const rules::Judgement judgement = rules_->judge(received);
  update_info([&](Info& i) { i.gs_counter = rules_->last_counter(); });
  if (judgement.refused()) {
    co_await revoke(*rules::reason_for(judgement.verdict), judgement.why,
                    judgement.evidence(received.position));
    co_return;
  }
  if (const auto* batch = std::get_if<NonceBatch>(&*message)) {
    const std::size_t taken = rules_->pending_nonces().size() - nonces_before;
    if (taken < batch->nonces.size()) {
      spdlog::warn("session {}: {} client nonces over the per-ticket cap of {} dropped",
                   session_id_, batch->nonces.size() - taken, kMaxNoncesPerTicket);
    }
  }
  co_await act_on(*message, judgement, received.position, vs_time, bytes);
}

asio::awaitable<void> Session::act_on(const AnyMessage& message, const rules::Judgement& judgement,
                                      std::uint64_t seq, std::uint64_t vs_time,
                                      const Bytes& bytes) {
  if (std::holds_alternative<Heartbeat>(message)) {
    update_info([](Info& i) { ++i.heartbeats; });
  } else if (judgement.leaves) {
    const auto& leaving = std::get<GsLeaving>(message);
    spdlog::info("session {}: GsLeaving received (gs_counter {}, log position {})", session_id_,
                 leaving.gs_counter, seq);
    std::vector<std::uint64_t> leaving_evidence{seq};
    co_await revoke(RevocationReason::kGsLeft,
                    "the GS left cleanly (GsLeaving with gs_counter " +
                        std::to_string(leaving.gs_counter) + " at log position " +
                        std::to_string(seq) + ")",
                    std::move(leaving_evidence));
  } else if (const auto* digest = std::get_if<TranscriptDigest>(&message)) {
    update_info([&](Info& i) {
      ++i.digests;
      i.players = digest->players.size();
    });
    ProtectedReceipt receipt;
    receipt.session_id = session_id_;
    receipt.gs_counter = digest->gs_counter;
    receipt.digest_hash = chains::message_hash(bytes);
    receipt.digest_log_seq = seq;
    receipt.vs_time_ms = vs_time;
    const rules::ReceiptTerms terms = rules_->next_receipt(receipt.digest_hash);
    rules_->receipt_issued(terms);
    receipt.receipt_index = terms.index;
    receipt.receipt_tip = terms.tip;
    Bytes receipt_bytes = server_->sign_and_encode(receipt);
    std::vector<storage::PendingEntry> receipt_entries{
        pending(MessageKind::kProtectedReceipt, chains::Direction::kIssued, session_id_, vs_time,
                receipt_bytes)};
    // A failed submit has already ended the session; there is nothing more to do either way.
    static_cast<void>(
        log_then(std::move(receipt_entries), [this, receipt_bytes = std::move(receipt_bytes)] {
          if (!ended_) conn_->send(receipt_bytes);
        }));
  }
}

asio::awaitable<void> Session::ticket_loop() {
  auto self = shared_from_this();
  auto next = std::chrono::steady_clock::now();
  // Not once a revocation is under way: no ticket may follow it in the log.
  while (!ended_ && !revoked_ && conn_->is_open()) {
    const std::uint64_t now = server_->clock.now_ms();
    // No ticket for a session past its heartbeat deadline: it is revoked instead, even if the
    // watchdog has not woken yet (an auditor checks that no ticket follows the deadline).
    const rules::Judgement liveness = rules_->check_liveness(now);
    if (liveness.refused()) {
      co_await revoke(RevocationReason::kMissedHeartbeats, liveness.why, liveness.prior_evidence);
      co_return;
    }
    PlayTicket ticket = rules_->next_ticket(now);
    Bytes ticket_bytes = server_->sign_and_encode(ticket);
    rules_->ticket_issued(ticket.nonce_count, chains::message_hash(ticket_bytes));
    std::vector<storage::PendingEntry> ticket_entries{
        pending(MessageKind::kPlayTicket, chains::Direction::kIssued, session_id_, ticket.issued_ms,
                ticket_bytes)};
    const std::uint64_t ticket_seq = ticket.ticket_seq;
    if (!log_then(std::move(ticket_entries), [this, ticket_seq, ticket_bytes] {
          if (ended_) return;
          conn_->send(ticket_bytes);
          if (auto checkpoint = server_->checkpoint_newer_than(checkpoint_seen_)) {
            conn_->send(*checkpoint);
          }
          update_info([&](Info& i) { i.tickets = ticket_seq; });
        })) {
      co_return;
    }
    next += milliseconds(config_.ticket_period_ms);
    ticket_timer_.expires_at(next);
    boost::system::error_code ec;
    co_await ticket_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Session::watchdog_loop() {
  auto self = shared_from_this();
  while (!ended_) {
    const rules::Judgement liveness = rules_->check_liveness(server_->clock.now_ms());
    if (liveness.refused()) {
      co_await revoke(RevocationReason::kMissedHeartbeats, liveness.why, liveness.prior_evidence);
      co_return;
    }
    watchdog_timer_.expires_at(server_->clock.steady_at(rules_->heartbeat_deadline_ms()));
    boost::system::error_code ec;
    co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Session::revoke(RevocationReason reason, std::string detail,
                                      std::vector<std::uint64_t> evidence,
                                      std::optional<storage::PendingEntry> received) {
  if (revoked_ || !joined_) co_return;
  revoked_ = true;
  Revocation revocation;
  revocation.session_id = session_id_;
  revocation.vs_time_ms = server_->clock.now_ms();
  revocation.reason = static_cast<std::uint16_t>(reason);
  detail = truncate_utf8(detail, kMaxDetailBytes);
  revocation.detail = std::move(detail);
  Bytes bytes;
  // The offending message is evidence too. It and the revocation go in one submit, built at the
  // log head so the revocation can cite the message's position and no crash can leave the
  // message in the log without the revocation that explains it.
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t size, const Hash32&) {
    std::vector<storage::PendingEntry> entries;
    if (received) {
      evidence.push_back(size);
      entries.push_back(std::move(*received));
    }
    if (evidence.size() > kMaxEvidence) evidence.resize(kMaxEvidence);
    revocation.evidence = evidence;
    revocation.revocation_seq = server_->next_revocation_seq.fetch_add(1);
    bytes = server_->sign_and_encode(revocation);
    entries.push_back(pending(MessageKind::kRevocation, chains::Direction::kIssued, session_id_,
                              revocation.vs_time_ms, bytes));
    return entries;
  };
  const bool durable = co_await log_at_head(build);
  std::string evidence_text;
  for (auto e : revocation.evidence)
    evidence_text += (evidence_text.empty() ? "" : ",") + std::to_string(e);
  spdlog::warn("session {}: revoked: {}: {} (evidence at log positions [{}])", session_id_,
               reason_name(reason), app::log_text(revocation.detail), evidence_text);
  if (durable) {
    conn_->send(bytes);
    conn_->close_after_flush();
  }
  end();
}

void Session::end() {
  if (ended_) return;
  ended_ = true;
  ticket_timer_.cancel();
  watchdog_timer_.cancel();
  commit_wait_.cancel();
  // The per-player and per-nonce state goes now, not when the last handler lets go of the
  // object (a read may wait up to its idle limit for a peer that stopped reading).
  if (rules_) rules_->end();
  if (joined_) server_->session_ended(session_id_, identity_);
  if (!revoked_) conn_->close();
}

// ---- Server ---------------------------------------------------------------------------------

Status Server::Impl::recover() {
  // Sessions live when the VS last stopped are revoked now: their liveness cannot be vouched
  // for across the gap, so the VS fails closed instead of forgetting who was late.
  std::map<SessionId, std::uint64_t> open_sessions;  // session -> JoinAccept position
  std::uint64_t max_session = 0;
  std::uint64_t max_revocation = 0;
  auto reader = storage::Log::open(config.store, storage::OpenMode::kReadOnly);
  if (!reader) return Error{reader.error()};
  std::optional<Error> out_of_range;
  Status scanned = (*reader)->scan({}, [&](const storage::Entry& entry) {
    // Only what this VS issued: a GS can send a frame of any kind, which is logged as received
    // evidence and must never open, close or number a session here.
    if (entry.header.direction != chains::Direction::kIssued) return true;
    if (entry.header.kind == MessageKind::kJoinAccept) {
      if (auto accept = decode<JoinAccept>(entry.message)) {
        if (accept->session_id == 0 || accept->session_id >= kMaxStoredId) {
          out_of_range = Error{"JoinAccept at entry " + std::to_string(entry.header.seq) +
                               " has session_id " + std::to_string(accept->session_id) +
                               ", outside 1.." + std::to_string(kMaxStoredId - 1)};
          return false;
        }
        open_sessions[accept->session_id] = entry.header.seq;
        max_session = std::max(max_session, accept->session_id);
      }
    } else if (entry.header.kind == MessageKind::kRevocation) {
      if (auto revocation = decode<Revocation>(entry.message)) {
        if (revocation->revocation_seq >= kMaxStoredId) {
          out_of_range = Error{"Revocation at entry " + std::to_string(entry.header.seq) +
                               " has revocation_seq " + std::to_string(revocation->revocation_seq) +
                               ", outside 1.." + std::to_string(kMaxStoredId - 1)};
          return false;
        }
        open_sessions.erase(revocation->session_id);
        max_revocation = std::max(max_revocation, revocation->revocation_seq);
      }
    }
    return true;
  });
  if (!scanned) return scanned;
  if (out_of_range) {
    return Error{"store " + config.store + ": " + out_of_range->message +
                 "; the VS cannot number what comes next. Hand this store to an investigator "
                 "('audit-cli verify') and start on a new one"};
  }
  next_session_id.store(max_session + 1);
  next_revocation_seq.store(max_revocation + 1);
  std::vector<storage::PendingEntry> entries;
  for (const auto& [session, accept_seq] : open_sessions) {
    Revocation revocation;
    revocation.session_id = session;
    revocation.revocation_seq = next_revocation_seq++;
    revocation.vs_time_ms = clock.now_ms();
    revocation.reason = static_cast<std::uint16_t>(RevocationReason::kVsShutdown);
    revocation.detail =
        "the VS stopped while this session was live; its liveness cannot be vouched for across "
        "the restart";
    revocation.evidence = {accept_seq};
    entries.push_back(pending(MessageKind::kRevocation, chains::Direction::kIssued, session,
                              revocation.vs_time_ms, sign_and_encode(revocation)));
    spdlog::warn("session {}: revoked at start-up: left live by the previous run", session);
  }
  if (!entries.empty()) {
    auto submitted = writer->submit(std::move(entries), [](const Status&) {});
    if (!submitted) return Error{submitted.error()};
    Status flushed = writer->flush();
    if (!flushed) return flushed;
  }
  last_checkpoint_size = 0;
  last_checkpoint_ms = clock.now_ms();
  return {};
}

asio::awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  net::AcceptBackoff backoff(io.get_executor(), "GS listener");
  while (!stopping) {
    boost::system::error_code ec;
    SessionLoop& loop = *session_loops[next_loop++ % session_loops.size()];
    tcp::socket socket(loop.executor());
    co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      const bool waited = co_await backoff.after_failure(ec);
      if (waited) continue;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    backoff.after_success();
    if (connections.load() >= config.max_connections) {
      spdlog::warn("connection from {} refused: max_connections ({}) reached",
                   socket.remote_endpoint(ec).address().to_string(), config.max_connections);
      socket.close(ec);
      continue;
    }
    connections.fetch_add(1);
    auto executor = socket.get_executor();
    auto session = std::make_shared<Session>(shared_from_this(), std::move(socket), loop);
    asio::co_spawn(
        executor, [session] { return session->run(); }, asio::detached);
  }
}

void Server::Impl::publish_checkpoint(Bytes checkpoint) {
  const std::lock_guard lock(published_mutex);
  published_checkpoint = std::make_shared<const Bytes>(std::move(checkpoint));
  published_generation.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const Bytes> Server::Impl::checkpoint_newer_than(std::uint64_t& seen) {
  if (published_generation.load(std::memory_order_acquire) == seen) return nullptr;
  const std::lock_guard lock(published_mutex);
  seen = published_generation.load(std::memory_order_relaxed);
  return published_checkpoint;
}

asio::awaitable<void> Server::Impl::write_checkpoint() {
  Bytes checkpoint_bytes;
  std::uint64_t signed_at_ms = 0;
  // Built under the writer's lock, so the checkpoint lands exactly at position log_size.
  auto build = [this, &checkpoint_bytes, &signed_at_ms](std::uint64_t size, const Hash32& root) {
    Checkpoint checkpoint;
    checkpoint.log_size = size;
    checkpoint.root = root;
    checkpoint.vs_time_ms = signed_at_ms = clock.now_ms();
    checkpoint_bytes = sign_and_encode(checkpoint);
    return std::vector<storage::PendingEntry>{pending(MessageKind::kCheckpoint,
                                                      chains::Direction::kIssued, 0,
                                                      checkpoint.vs_time_ms, checkpoint_bytes)};
  };
  auto durability = std::make_shared<Durability>(checkpoint_strand);
  auto placed = writer->submit_at_head(build, notify(durability));
  const Status status = co_await durable_or_refused(placed, *durability);
  if (!status) {
    store_failed("checkpoint", status.error());
    co_return;
  }
  const std::uint64_t position = placed->front().header.seq;
  last_checkpoint_size = position + 1;
  last_checkpoint_ms = clock.now_ms();
  spdlog::debug("checkpoint at position {} over {} entries", position, position);
  // Sending costs a frame per live session, so the GSes get a checkpoint at most once per
  // checkpoint_interval_ms however busy the log is (every 1000 entries across 5,000 sessions
  // would be tens of thousands of frames a second). The GS needs only some checkpoints: any
  // two are linked by a consistency proof. Judged by the signed vs_time_ms, so the GS sees the
  // spacing in what it holds. Each session sends it with its next ticket.
  if (signed_at_ms >= last_published_ms + config.checkpoint_interval_ms) {
    last_published_ms = signed_at_ms;
    publish_checkpoint(std::move(checkpoint_bytes));
  }
}

asio::awaitable<void> Server::Impl::checkpoint_loop() {
  auto self = shared_from_this();
  const std::uint64_t poll_ms = std::min<std::uint64_t>(100, config.checkpoint_interval_ms);
  while (!stopping) {
    checkpoint_timer.expires_after(milliseconds(poll_ms));
    boost::system::error_code ec;
    co_await checkpoint_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping) co_return;
    const std::uint64_t size = writer->size();
    const bool grown = size > last_checkpoint_size;
    const bool by_count = size >= last_checkpoint_size + config.checkpoint_every_entries;
    const bool by_time = clock.now_ms() >= last_checkpoint_ms + config.checkpoint_interval_ms;
    if (grown && (by_count || by_time)) co_await write_checkpoint();
  }
}

asio::awaitable<void> Server::Impl::shutdown() {
  auto self = shared_from_this();
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mutex);
    for (auto& [id, session] : live) sessions.push_back(session);
  }
  for (auto& session : sessions) {
    session->revoke_from_outside(RevocationReason::kVsShutdown,
                                 "the VS is shutting down (operator stop)");
  }
  // Wait (bounded) for the revocations to be logged and the sessions to leave the live set.
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(mutex);
      if (live.empty()) break;
    }
    checkpoint_timer.expires_after(milliseconds(20));
    boost::system::error_code ec;
    co_await checkpoint_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!store_broken) co_await write_checkpoint();
  Status flushed = writer->flush();
  if (!flushed) {
    spdlog::critical("stopped: the store failed: {}", app::log_text(flushed.error()));
  } else {
    spdlog::info("stopped: store flushed, final checkpoint covers {} entries",
                 last_checkpoint_size - 1);
  }
  admin.close();
  boost::system::error_code ec;
  // Give the revocation notices a moment to leave the socket buffers, then stop.
  checkpoint_timer.expires_after(milliseconds(200));
  co_await checkpoint_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  io.stop();
}

nlohmann::json Server::Impl::status_json() {
  nlohmann::json sessions = nlohmann::json::array();
  std::vector<std::shared_ptr<Session>> snapshot;
  {
    std::lock_guard lock(mutex);
    for (auto& [id, session] : live) snapshot.push_back(session);
  }
  for (auto& session : snapshot) {
    auto i = session->info();
    sessions.push_back({{"session_id", i.session_id},
                        {"gs_identity", to_hex(i.identity)},
                        {"sw_hash", to_hex(i.sw_hash)},
                        {"peer", i.peer},
                        {"joined_vs_ms", i.joined_vs_ms},
                        {"gs_counter", i.gs_counter},
                        {"heartbeats", i.heartbeats},
                        {"digests", i.digests},
                        {"tickets", i.tickets},
                        {"players", i.players}});
  }
  return {{"vs_public_key", to_hex(key.public_key())},
          {"log_size", writer->size()},
          {"session_objects", session_objects.load()},
          {"sessions", sessions}};
}

std::string Server::Impl::revoke_by_operator(SessionId id, const std::string& reason) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mutex);
    auto it = live.find(id);
    if (it != live.end()) session = it->second;
  }
  if (!session) return "no live session " + std::to_string(id);
  // Cut on a character boundary: a detail that ends inside a character is not UTF-8, and the GS
  // would refuse the whole notice as malformed.
  spdlog::warn("session {}: operator revocation requested: {}", id, app::log_text(reason));
  session->revoke_from_outside(RevocationReason::kOperator,
                               truncate_utf8("operator: " + reason, kMaxDetailBytes));
  return {};
}

struct Server::SessionLoops {
  explicit SessionLoops(unsigned count) {
    for (unsigned i = 0; i < count; ++i) loops.push_back(std::make_unique<SessionLoop>());
  }
  [[nodiscard]] std::vector<SessionLoop*> pointers() const {
    std::vector<SessionLoop*> out;
    for (const auto& loop : loops) out.push_back(loop.get());
    return out;
  }
  std::vector<std::unique_ptr<SessionLoop>> loops;
};

namespace {
unsigned session_thread_count(const Config& config) {
  return config.threads != 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

Server::Server(asio::io_context& io, Config config, crypto::SecretKey key,
               std::unique_ptr<storage::Log> log)
    : loops_(std::make_unique<SessionLoops>(session_thread_count(config))),
      impl_(std::make_shared<Impl>(io, loops_->pointers(), std::move(config), std::move(key),
                                   std::move(log))) {}

Server::~Server() {
  // No session handler runs after this, so nothing more is submitted.
  for (auto& loop : loops_->loops) loop->stop();
  // Durability callbacks still queued post into the stopped loops, which must still exist.
  static_cast<void>(impl_->writer->flush());
  loops_.reset();  // destroys the handlers left, and with them the sessions they hold
}

std::uint16_t Server::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

Status Server::start() {
  auto& s = *impl_;
  // The admin socket first: a second vsd started on the same configuration by mistake stops
  // here, before its recovery revokes the running daemon's sessions in the shared store.
  Status admin_opened = s.admin.open();
  if (!admin_opened) return admin_opened;
  Status recovered = s.recover();
  if (!recovered) return recovered;

  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.config.listen_host, ec);
  if (ec) return Error{"listen address '" + s.config.listen_host + "' is not an IP address"};
  tcp::endpoint endpoint(address, s.config.listen_port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + s.config.listen + ": " + ec.message()};

  for (auto& loop : loops_->loops) loop->start();
  asio::co_spawn(s.io, s.accept_loop(), asio::detached);
  s.admin.start(impl_);
  asio::co_spawn(s.checkpoint_strand, s.checkpoint_loop(), asio::detached);
  spdlog::info("listening on {}:{}; store {} at {} entries; VS key {}", s.config.listen_host,
               port(), app::log_text(s.config.store), s.writer->size(), to_hex(s.key.public_key()));
  return {};
}

void Server::stop() { impl_->begin_stop(); }

bool Server::store_failed() const { return impl_->store_broken.load(); }

void Server::Impl::begin_stop() {
  asio::post(io, [self = shared_from_this()] {
    if (self->stopping.exchange(true)) return;
    spdlog::info("stopping: no new connections; revoking live sessions");
    boost::system::error_code ec;
    self->acceptor.close(ec);
    self->checkpoint_timer.cancel();
    asio::co_spawn(self->checkpoint_strand, self->shutdown(), asio::detached);
  });
}

void Server::Impl::store_failed(std::string_view what, const std::string& error) {
  if (store_broken.exchange(true)) return;
  spdlog::critical(
      "{}: store append failed: {}; vsd stops: the store takes no more entries, and nothing may "
      "be acted on that is not logged (a restart on a healthy store revokes the sessions left "
      "live)",
      app::log_text(what), app::log_text(error));
  begin_stop();
}

}  // namespace gsvs::vsd
