#include "vsd/server_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "app/log_line.h"
#include "app/program.h"
#include "vsd/session.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol
using std::chrono::milliseconds;

namespace {
// The time before which this run's clock does not start (PROTOCOL.md §8.13): the newest
// vs_time_ms of the entries from the last Checkpoint or StateCarried on. Those two are signed at
// the log head by a clock that starts here each run, so they hold the highest time the VS has
// signed at the head; an entry after them may be a received message stamped before them (on its
// arrival), and the last entry alone could start the clock below a carry. A Checkpoint comes every
// checkpoint_every_entries at most; the walk stops after a million entries all the same.
std::uint64_t newest_logged_ms(const storage::Log& log) {
  constexpr std::uint64_t kMostRead = 1'000'000;
  std::uint64_t newest = 0;
  const std::uint64_t stop = log.size() > kMostRead ? log.size() - kMostRead : 0;
  for (std::uint64_t seq = log.size(); seq > stop; --seq) {
    auto entry = log.get(seq - 1);
    if (!entry) break;
    newest = std::max(newest, entry->header.vs_time_ms);
    if (entry->header.direction == chains::Direction::kIssued &&
        (entry->header.kind == MessageKind::kCheckpoint ||
         entry->header.kind == MessageKind::kStateCarried)) {
      break;
    }
  }
  return newest;
}
}  // namespace

std::chrono::microseconds ServerState::session_loop_lag() const {
  std::chrono::microseconds lag{0};
  for (const SessionLoop* loop : session_loops) lag = std::max(lag, loop->lag());
  return lag;
}

ServerState::ServerState(asio::io_context& io_context, std::vector<SessionLoop*> loops, Config cfg,
                         crypto::SecretKey secret, std::unique_ptr<storage::Log> log)
    : io(io_context),
      clock(newest_logged_ms(*log)),
      session_loops(std::move(loops)),
      config(std::move(cfg)),
      key(std::move(secret)),
      writer(std::make_unique<storage::BatchWriter>(std::move(log), writer_options())),
      acceptor(io_context),
      admin(
          io_context, config.admin_socket,
          AdminOperations{[this] { return status_json(); },
                          [this](SessionId id, const std::string& reason, OperatorRevocation kind) {
                            return revoke_by_operator(id, reason, kind);
                          },
                          [this] { return reload("vsd reload"); },
                          [this](const PublicKey& identity, const std::string& reason) {
                            return pardon_by_operator(identity, reason);
                          }}),
      checkpoint_strand(asio::make_strand(io_context)),
      checkpoint_timer(checkpoint_strand),
      resume_window_timer(io_context) {
  for (SessionLoop* loop : session_loops) {
    receipt_batchers.push_back(std::make_unique<ReceiptBatcher>(
        loop->executor(), key, config.receipt_batch_max, [this](std::size_t receipts) {
          metrics.receipt_batch_receipts.observe(static_cast<double>(receipts));
        }));
  }
}

ReceiptBatcher& ServerState::receipt_batcher(const SessionLoop& loop) {
  for (std::size_t i = 0; i < session_loops.size(); ++i) {
    if (session_loops[i] == &loop) return *receipt_batchers[i];
  }
  throw std::logic_error("a session on a loop that is not the server's");
}

void ServerState::revoked_at_head(const protocol::Revocation& revocation, const PublicKey& identity,
                                  std::uint64_t position) {
  const SessionId session = revocation.session_id;
  quarantine.revoked(identity, session, revocation.reason, revocation.vs_time_ms, position);
  if (fleet && rules::quarantines(revocation.reason)) {
    if (auto begun = quarantine.quarantine_of(identity, revocation.vs_time_ms)) {
      fleet->quarantined(fleet_quarantine(identity, *begun));
    }
  }
  release_identity(identity, session);
  handed_over_replies.erase(session);  // an ended session is resumed no more
  auto it = known_sessions.find(session);
  if (it == known_sessions.end() || it->second.state == KnownSession::State::kEnded) return;
  it->second.state = KnownSession::State::kEnded;
  ended_order.push_back(session);
  while (ended_order.size() > kMaxEndedKnown) {
    known_sessions.erase(ended_order.front());
    ended_order.pop_front();
  }
}

storage::BatchWriter::Options ServerState::writer_options() {
  storage::BatchWriter::Options options;
  options.max_delay_us = config.commit_max_delay_us;
  options.segment_max_bytes = config.segment_max_bytes;
  options.segment_max_age_ms = config.segment_max_age_s * 1000;
  options.wal.mode = config.wal_checkpoint == "inline" ? storage::WalCheckpointMode::kInline
                                                       : storage::WalCheckpointMode::kBackground;
  options.wal.start_pages = config.wal_checkpoint_pages;
  options.wal.max_pages = config.wal_max_pages;
  options.stall_after = std::chrono::milliseconds(config.store_stall_ms);
  options.on_stall = app::exit_when_store_stalls("vsd", storage::printable_store(config.store));
  options.on_commit = [this](const storage::CommitStats& stats) { metrics.commit(stats); };
  // The writer's own checkpoint at wal_max_pages (the background checkpointer fell behind, or a
  // reader of the store holds old pages) and the checkpoints that failed.
  options.on_notice = app::log_store_notice;
  // The seal of a full segment: a checkpoint at the head, like the periodic ones (checkpoints.cpp).
  options.seal = [this](std::uint64_t size, const Hash32& root) {
    return checkpoint_entry(size, root, clock.now_ms());
  };
  return options;
}

asio::awaitable<void> ServerState::shutdown() {
  auto self = shared_from_this();
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mutex);
    for (auto& [id, session] : live) sessions.push_back(session);
  }
  // By default the sessions stay live in the log and the next start suspends them for their GSes
  // to resume (PROTOCOL.md §8.11, §8.15); revoke_on_stop ends them here, as earlier versions did.
  for (auto& session : sessions) {
    if (config.revoke_on_stop) {
      session->revoke_from_outside(RevocationReason::kVsShutdown,
                                   "the VS is shutting down (operator stop)");
    } else {
      session->close_for_restart();
    }
  }
  // Wait (bounded) for the revocations to be logged, or each connection to send what it logged,
  // and the sessions to leave the live set. Tens of thousands of sessions on a loaded core take
  // seconds: one cut short loses a ticket its GS never got, and its resume is refused (20,000
  // sessions behind a 2 s bound lost 69, docs/PERFORMANCE.md). 30 s stays inside systemd's stop
  // timeout.
  for (int i = 0; i < 1500; ++i) {
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

nlohmann::json ServerState::status_json() {
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
          {"sessions", sessions},
          {"quarantined", quarantine_json()}};
}

std::string ServerState::revoke_by_operator(SessionId id, const std::string& reason,
                                            OperatorRevocation kind) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mutex);
    auto it = live.find(id);
    if (it != live.end()) session = it->second;
  }
  if (!session) return "no live session " + std::to_string(id);
  // Cut on a character boundary: a detail that ends inside a character is not UTF-8, and the GS
  // would refuse the whole notice as malformed.
  const bool quarantines = kind == OperatorRevocation::kQuarantine;
  spdlog::warn("session {}: operator revocation{} requested: {}", id,
               quarantines ? " with quarantine" : "", app::log_text(reason));
  session->revoke_from_outside(
      quarantines ? RevocationReason::kOperatorQuarantine : RevocationReason::kOperator,
      truncate_utf8("operator: " + reason, kMaxDetailBytes));
  return {};
}

void ServerState::begin_stop() {
  asio::post(io, [self = shared_from_this()] {
    if (self->stopping.exchange(true)) return;
    spdlog::info(self->config.revoke_on_stop
                     ? "stopping: no new connections; revoking live sessions (revoke_on_stop)"
                     : "stopping: no new connections; live sessions stay resumable for the "
                       "next start");
    boost::system::error_code ec;
    self->acceptor.close(ec);
    // The refusals of the last, unfinished second: a short run must not end with them unsaid.
    self->summarise_refusals();
    self->resume_window_timer.cancel();
    self->checkpoint_timer.cancel();
    // Where the stop itself ends by an exception, nothing is left to wait for.
    asio::co_spawn(self->checkpoint_strand, self->shutdown(),
                   net::EscapeHandler("the stop", [weak = self->weak_from_this()](const auto&) {
                     if (auto stopped = weak.lock()) {
                       stopped->faulted = true;
                       stopped->io.stop();
                     }
                   }));
  });
}

storage::BatchWriter::Done ServerState::stop_if_not_durable(std::string what) {
  return [weak = weak_from_this(), what = std::move(what)](const Status& status) {
    if (status) return;
    if (auto self = weak.lock()) self->store_failed(what, status.error());
  };
}

net::Failure ServerState::stop_on_fault() {
  return [weak = weak_from_this()](const std::string&) {
    if (auto self = weak.lock()) {
      self->faulted = true;
      self->begin_stop();
    }
  };
}

net::EscapeHandler ServerState::on_escape(std::string what) {
  return {std::move(what), stop_on_fault()};
}

void ServerState::store_failed(std::string_view what, const std::string& error) {
  if (store_broken.exchange(true)) return;
  spdlog::critical(
      "{}: store append failed: {}; vsd stops: the store takes no more entries, and nothing may "
      "be acted on that is not logged (a restart on a healthy store keeps the sessions left live "
      "resumable for resume_window_ms, and revokes those their GSes do not resume)",
      app::log_text(what), app::log_text(error));
  begin_stop();
}

}  // namespace gsvs::vsd
