#include "vsd/session.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "app/log_line.h"
#include "protocol/chains.h"
#include "vsd/server_state.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using net::tcp;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol
using std::chrono::milliseconds;

Session::Session(std::shared_ptr<ServerState> server, tcp::socket socket, SessionLoop& loop)
    : server_(std::move(server)),
      config_(server_->config),
      loop_(loop),
      conn_(std::make_shared<net::FramedConnection>(
          std::move(socket), net::ConnectionLimits{config_.max_frame_bytes, 1024 * 1024})),
      ticket_timer_(conn_->executor()),
      watchdog_timer_(conn_->executor()),
      commit_wait_(conn_->executor()),
      receipts_placed_(conn_->executor(), std::chrono::steady_clock::time_point::max()) {
  server_->session_objects.fetch_add(1);
}

Session::~Session() { server_->session_objects.fetch_sub(1); }

void Session::revoke_from_outside(RevocationReason reason, std::string detail) {
  asio::co_spawn(
      conn_->executor(),
      [self = shared_from_this(), reason, detail = std::move(detail)] {
        return self->revoke_with_join_evidence(reason, detail);
      },
      server_->on_escape("the revocation of session " + std::to_string(session_id_)));
}

void Session::revoke_for_policy(std::string detail, std::uint64_t policy_position) {
  asio::post(conn_->executor(), [self = shared_from_this(), detail = std::move(detail),
                                 policy_position]() mutable {
    if (self->handed_over_) {
      self->server_->revoke_handed_over(self->session_id_, RevocationReason::kPolicyWithdrawn,
                                        std::move(detail), policy_position);
      return;
    }
    self->pending_withdrawal_.emplace(std::move(detail), policy_position);
    if (self->joined_) self->revoke_pending_withdrawal();
  });
}

void Session::revoke_pending_withdrawal() {
  if (!pending_withdrawal_ || revoked_ || ended_) return;
  auto [detail, policy_position] = std::move(*pending_withdrawal_);
  pending_withdrawal_.reset();
  std::vector<std::uint64_t> evidence{join_accept_seq_, policy_position};
  asio::co_spawn(
      conn_->executor(),
      [self = shared_from_this(), detail = std::move(detail), evidence = std::move(evidence)] {
        return self->revoke(RevocationReason::kPolicyWithdrawn, detail, evidence);
      },
      server_->on_escape("the revocation of session " + std::to_string(session_id_)));
}

void Session::close_for_restart() {
  asio::post(conn_->executor(), [self = shared_from_this()] {
    if (self->revoked_ || self->ended_ || self->closing_for_restart_) return;
    // Nothing more is issued or judged, and what is logged already goes out before the close:
    // a ticket or receipt in the log that its GS never got would make its resume name an older
    // one, and be refused (resume_mismatch, PROTOCOL.md §8.15).
    self->closing_for_restart_ = true;
    self->ticket_timer_.cancel();
    self->finish_close_for_restart();
  });
}

void Session::finish_close_for_restart() {
  if (!closing_for_restart_ || uncommitted_ > 0 || ended_) return;
  spdlog::info("session {}: connection closed for a VS restart; the session stays resumable",
               session_id_);
  end(CloseConnection::kAfterFlush);
}

asio::awaitable<void> Session::revoke_with_join_evidence(RevocationReason reason,
                                                         std::string detail) {
  if (handed_over_) {
    // Asked of this connection before the session left it: the session is revoked where it is.
    server_->revoke_handed_over(session_id_, reason, std::move(detail), std::nullopt);
    co_return;
  }
  std::vector<std::uint64_t> evidence(1, join_accept_seq_);
  co_await revoke(reason, std::move(detail), std::move(evidence));
}

asio::awaitable<void> Session::until_receipts_placed() {
  while (receipts_signing_ > 0) {
    boost::system::error_code ec;
    co_await receipts_placed_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Session::run() {
  conn_->start(server_->stop_on_fault());
  const bool joined = co_await join();
  if (joined) {
    auto self = shared_from_this();
    const std::string session = "session " + std::to_string(session_id_);
    asio::co_spawn(
        conn_->executor(), [self] { return self->ticket_loop(); },
        server_->on_escape(session + "'s ticket loop"));
    asio::co_spawn(
        conn_->executor(), [self] { return self->watchdog_loop(); },
        server_->on_escape(session + "'s watchdog"));
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
            self->finish_close_for_restart();
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

asio::awaitable<void> Session::read_loop() {
  // A GS sends at least a heartbeat per interval; silence longer than the timeout is caught by
  // the watchdog, and a dead TCP peer by this read's own limit.
  // The session's own terms, signed in its JoinAccept: a reload changes only new sessions'.
  const milliseconds idle(std::uint64_t{rules_->accept().heartbeat_timeout_ms} * 2);
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
  if (revoked_ || ended_ || closing_for_restart_) co_return;
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
  server_->metrics.messages_received.inc(*kind);
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
  // A digest naming players may set a digest deadline before the one the watchdog sleeps to.
  if (server_->clock.steady_at(rules_->next_deadline_ms()) < watchdog_timer_.expiry()) {
    watchdog_timer_.cancel();
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
  if (const auto* heartbeat = std::get_if<Heartbeat>(&message)) {
    replies_.receipts_held(heartbeat->receipt_count);
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
    // Chained after the receipt still being signed, if any: it is issued once placed.
    const rules::ReceiptTerms terms =
        receipts_signing_ > 0 ? rules_->next_receipt(receipt.digest_hash, last_receipt_signing_)
                              : rules_->next_receipt(receipt.digest_hash);
    receipt.receipt_index = terms.index;
    receipt.receipt_tip = terms.tip;
    // Signed with the receipts of the other sessions of this loop turn (PROTOCOL.md §5.11.1),
    // while the session judges on. Meanwhile a revocation or a hand-over waits
    // (until_receipts_placed), so the receipt is in the log before either, and a graceful stop
    // counts it among what it waits to send.
    ++receipts_signing_;
    last_receipt_signing_ = terms;
    ++uncommitted_;
    // Weak: a loop that stops drops the batcher's callbacks unrun, and the session with them.
    server_->receipt_batcher(loop_).sign(
        std::move(receipt),
        [weak = weak_from_this()](const ProtectedReceipt& signed_receipt, Bytes receipt_bytes) {
          if (auto self = weak.lock())
            self->place_receipt(signed_receipt, std::move(receipt_bytes));
        });
  }
}

void Session::place_receipt(const ProtectedReceipt& receipt, Bytes receipt_bytes) {
  --uncommitted_;
  rules_->receipt_issued(rules::ReceiptTerms{receipt.receipt_index, receipt.receipt_tip});
  replies_.receipt_issued(receipt.receipt_index, receipt_bytes);
  std::vector<storage::PendingEntry> receipt_entries{
      pending(MessageKind::kProtectedReceipt, chains::Direction::kIssued, session_id_,
              receipt.vs_time_ms, receipt_bytes)};
  // A failed submit has already ended the session; there is nothing more to do either way.
  static_cast<void>(
      log_then(std::move(receipt_entries), [this, receipt_bytes = std::move(receipt_bytes)] {
        if (!ended_) conn_->send(receipt_bytes);
      }));
  // Placed: whatever waited may go now.
  if (--receipts_signing_ == 0) receipts_placed_.cancel();
}

asio::awaitable<void> Session::ticket_loop() {
  auto self = shared_from_this();
  auto next = std::chrono::steady_clock::now();
  // Not once a revocation is under way: no ticket may follow it in the log.
  while (!ended_ && !revoked_ && !closing_for_restart_ && conn_->is_open()) {
    const std::uint64_t now = server_->clock.now_ms();
    // No ticket for a session past its heartbeat or digest deadline: it is revoked instead, even
    // if the watchdog has not woken yet (an auditor checks that no ticket follows a deadline).
    const rules::Judgement overdue = rules_->check_deadlines(now);
    if (overdue.refused()) {
      co_await revoke(*rules::reason_for(overdue.verdict), overdue.why, overdue.prior_evidence);
      co_return;
    }
    PlayTicket ticket = rules_->next_ticket(now);
    Bytes ticket_bytes = server_->sign_and_encode(ticket);
    rules_->ticket_issued(ticket.nonce_count, chains::message_hash(ticket_bytes));
    replies_.ticket_issued(ticket.ticket_seq, ticket_bytes);
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
    server_->metrics.tickets_issued.inc();
    next += milliseconds(rules_->accept().ticket_period_ms);
    ticket_timer_.expires_at(next);
    boost::system::error_code ec;
    co_await ticket_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Session::watchdog_loop() {
  auto self = shared_from_this();
  while (!ended_) {
    // Missed heartbeats, and digests stopped while the session has players: both are revoked
    // at their deadline, whether or not anything arrives.
    const rules::Judgement overdue = rules_->check_deadlines(server_->clock.now_ms());
    if (overdue.refused()) {
      co_await revoke(*rules::reason_for(overdue.verdict), overdue.why, overdue.prior_evidence);
      co_return;
    }
    watchdog_timer_.expires_at(server_->clock.steady_at(rules_->next_deadline_ms()));
    boost::system::error_code ec;
    co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Session::revoke(RevocationReason reason, std::string detail,
                                      std::vector<std::uint64_t> evidence,
                                      std::optional<storage::PendingEntry> received) {
  if (revoked_ || !joined_) co_return;
  // Claimed before the wait for a receipt being signed: meanwhile nothing more is judged or
  // issued, and no hand-over takes the session (hand_over_for_resume waits too, then sees this).
  revoked_ = true;
  co_await until_receipts_placed();
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
    {
      // Free from the Revocation's place in the log on: a join logged after it may take it, and
      // a resume of the session is refused as ended. Quarantined from the same place (§8.16), so
      // a join placed after it is refused: no join can race the revocation to its commit.
      std::lock_guard lock(server_->mutex);
      server_->revoked_at_head(revocation, identity_, size + entries.size());
      server_->remember_positions(*rules_, revocation.vs_time_ms);
    }
    entries.push_back(pending(MessageKind::kRevocation, chains::Direction::kIssued, session_id_,
                              revocation.vs_time_ms, bytes));
    return entries;
  };
  const bool durable = co_await log_at_head(build);
  if (durable) server_->metrics.revocations.inc(reason);
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

void Session::end(CloseConnection close) {
  if (ended_) return;
  ended_ = true;
  ticket_timer_.cancel();
  watchdog_timer_.cancel();
  commit_wait_.cancel();
  // The per-player and per-nonce state goes now, not when the last handler lets go of the
  // object (a read may wait up to its idle limit for a peer that stopped reading).
  if (rules_) rules_->end();
  if (joined_) server_->session_ended(session_id_, identity_);
  if (revoked_) return;  // the revocation notice closes it after the flush
  if (close == CloseConnection::kAfterFlush) {
    conn_->close_after_flush();
  } else {
    conn_->close();
  }
}

}  // namespace gsvs::vsd
