#include "gsd/client_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

#include "app/log_line.h"
#include "gsd/input_check.h"
#include "gsd/shared_state.h"
#include "net/framed_connection.h"
#include "net/listen.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/messages.h"

namespace gsvs::gsd {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol
using std::chrono::milliseconds;

ClientSession::ClientSession(std::shared_ptr<SharedState> shared, ClientId id,
                             net::tcp::socket socket)
    : shared_(std::move(shared)),
      id_(id),
      source_(net::budget_source(socket)),
      conn_(std::make_shared<net::FramedConnection>(std::move(socket), shared_->limits())) {}

const std::string& ClientSession::peer() const { return conn_->peer(); }

void ClientSession::send(const Bytes& payload) { conn_->send(payload); }

void ClientSession::close() { conn_->close(); }

void ClientSession::close_after_flush() { conn_->close_after_flush(); }

void ClientSession::close_displaced() {
  refusal_ = ClientRefusal::kDisplaced;
  conn_->close();
}

void ClientSession::close_replaced() {
  replaced_ = true;
  conn_->close_after_flush();
}

void ClientSession::run() {
  asio::co_spawn(
      shared_->io, [self = shared_from_this()] { return self->serve(); },
      shared_->on_escape("client " + std::to_string(id_) + "'s session"));
}

void ClientSession::forward_ticket(Bytes payload, milliseconds hold) {
  if (hold.count() == 0) {
    conn_->send(payload);
    return;
  }
  asio::co_spawn(
      shared_->io,
      [self = shared_from_this(), payload = std::move(payload), hold]() mutable {
        return self->send_later(std::move(payload), hold);
      },
      shared_->on_escape("a held ticket for client " + std::to_string(id_)));
}

asio::awaitable<void> ClientSession::send_later(Bytes payload, milliseconds hold) {
  asio::steady_timer timer(shared_->io);
  timer.expires_after(hold);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  conn_->send(payload);
}

asio::awaitable<void> ClientSession::serve() {
  auto self = shared_from_this();
  conn_->start(shared_->stop_on_fault());
  std::string why = co_await handshake_and_play();
  // Closed from here, not by the peer: the read's "Operation canceled" says nothing.
  if (replaced_) why = "replaced by a newer connection of the same player";
  if (!match_ && refusal_ == ClientRefusal::kDisplaced) {
    why =
        "displaced by a newer connection: the budget of connections before their ClientHello "
        "is full";
  }
  conn_->close_after_flush();
  shared_->clients.erase(id_);
  shared_->pending.release(id_);
  if (match_) {
    auto& m = *match_;
    auto it = m.online.find(key_);
    if (it != m.online.end() && it->second == id_) {
      m.online.erase(it);
      if (m.roster.left(key_, mono_ms())) m.forget(key_);
    }
    spdlog::info("session {}: client {} (player {}) left: {}; {} input(s) accepted, {} rejected",
                 m.session_id, conn_->peer(), short_hex(key_), app::log_text(why), accepted_,
                 rejected_);
  } else if (shared_->stopping) {
    // Closed by the stop before its player joined: no refusal of the client's doing.
    spdlog::debug("client {} closed before its player joined: gsd is stopping", conn_->peer());
  } else if (shared_->refuse_client(refusal_, source_)) {
    // The rest until the listener's next summary are counted, not logged one by one: a port scan
    // or a flood must not fill the journal.
    spdlog::info("client {} refused: {}", conn_->peer(), app::log_text(why));
  }
}

asio::awaitable<std::string> ClientSession::handshake_and_play() {
  const Config& config = shared_->config;
  // The hello must sign a value fresh to this connection, so a recorded hello proves nothing.
  ClientChallenge challenge;
  challenge.challenge = crypto::random_fixed<32>();
  conn_->send(encode(challenge));
  auto frame = co_await conn_->read_frame(milliseconds(config.handshake_timeout_ms));
  if (!frame) co_return "no ClientHello: " + frame.error();
  auto hello = decode<ClientHello>(*frame);
  if (!hello) co_return "malformed ClientHello: " + hello.error();
  if (hello->gs_challenge != challenge.challenge) {
    co_return "ClientHello does not sign this connection's challenge (a replayed hello?)";
  }
  if (!verify(*hello, hello->client_key)) co_return "ClientHello signature does not verify";
  auto m = shared_->match;
  if (!m || shared_->stopping) {
    refusal_ = ClientRefusal::kNoVsSession;
    co_return "no VS session at the moment (joining the VS)";
  }
  // The sender holds the key now: a connection still playing under it (one the player left
  // behind, half-open) gives way to it.
  std::shared_ptr<ClientSession> previous;
  if (auto it = m->online.find(hello->client_key); it != m->online.end()) {
    if (auto p = shared_->clients.find(it->second); p != shared_->clients.end()) {
      previous = p->second.lock();
    }
  }
  // Players are counted once their handshake is complete; connections before that have a
  // budget of their own.
  refusal_ = ClientRefusal::kFull;
  if (!previous && shared_->clients.size() - shared_->pending.size() >= config.max_players) {
    co_return "max_players (" + std::to_string(config.max_players) + ") reached";
  }
  // Players keep their position when they reconnect (a returning player must not appear to
  // teleport), within a bounded roster (gsd/admission.h).
  auto admission = m->roster.join(hello->client_key, mono_ms());
  for (const auto& forgotten : admission.forget) m->forget(forgotten);
  if (!admission.admitted) {
    co_return "this session remembers " + std::to_string(m->roster.size()) +
        " players who played in the last seconds (" + std::to_string(kDistinctPlayersPerSlot) +
        " x max_players)";
  }
  shared_->pending.release(id_);
  key_ = hello->client_key;
  match_ = m;
  if (previous) {
    spdlog::info("session {}: player {} connected again from {}; closing its connection from {}",
                 m->session_id, short_hex(key_), conn_->peer(), previous->peer());
    previous->close_replaced();
  }
  m->online[key_] = id_;
  m->world.add_player(key_);

  ServerHello server_hello;
  server_hello.session_id = m->session_id;
  server_hello.client_key = hello->client_key;
  server_hello.client_nonce = hello->client_nonce;
  server_hello.gs_time_ms = shared_->clock.now_ms();
  server_hello.join_accept = m->accept_bytes;
  sign(server_hello, m->session_key);
  conn_->send(encode(server_hello));
  if (!m->current_ticket.empty()) {
    TicketForward forward;
    forward.ticket = m->current_ticket;
    conn_->send(encode(forward));
  }
  ready_ = true;
  // The hello nonce is the client's first nonce for client_binding.
  m->note_nonce(id_, hello->client_nonce);
  spdlog::info("session {}: client {} joined as player {}", m->session_id, conn_->peer(),
               short_hex(key_));

  // An honest client sends a nonce every half ticket period; this much silence means it is gone.
  const milliseconds idle(std::max<std::uint64_t>(config.handshake_timeout_ms,
                                                  std::uint64_t{m->accept.ticket_period_ms} * 4));
  while (true) {
    auto next = co_await conn_->read_frame(idle);
    if (m->ended && !m->zombie) co_return "the match stopped";
    if (!next) co_return next.error();
    handle_frame(*next);
  }
}

void ClientSession::handle_frame(const Bytes& frame) {
  Match& m = *match_;
  InputContext context;
  context.hello_key = key_;
  context.session_id = m.session_id;
  context.tickets = &m.tickets;
  context.now_ms = mono_ms();
  context.input_grace_ms = shared_->config.input_grace_ms;
  if (auto it = m.last_client_seq.find(key_); it != m.last_client_seq.end()) {
    context.last_client_seq = it->second;
  }
  auto verdict = check_client_frame(frame, context);
  if (auto* nonce = std::get_if<NonceReceived>(&verdict)) {
    m.note_nonce(id_, nonce->nonce);
    return;
  }
  if (auto* rejected = std::get_if<InputRejected>(&verdict)) {
    ++rejected_;
    shared_->metrics.inputs_rejected.inc(static_cast<InputRejectReason>(rejected->reject.reason));
    spdlog::debug("session {}: input {} from player {} rejected: {}: {}", m.session_id,
                  rejected->reject.client_seq, short_hex(key_),
                  reason_name(static_cast<InputRejectReason>(rejected->reject.reason)),
                  app::log_text(rejected->reject.detail));
    conn_->send(encode(rejected->reject));
    return;
  }
  const ClientInput& input = std::get<InputAccepted>(verdict).input;
  ++accepted_;
  shared_->metrics.inputs_accepted.inc();
  m.last_client_seq[key_] = input.client_seq;
  m.roster.played(key_);
  Behaviour& behaviour = *shared_->behaviour;
  const Position before = *m.world.position(key_);
  const Position after = m.world.move(key_, input.move_x_mm, input.move_y_mm, mono_ms(),
                                      behaviour.move_credit_factor());
  const double factor = behaviour.applied_move_factor();
  if (factor != 1.0) {
    const auto scaled = [factor](std::int32_t from, std::int32_t to) {
      return static_cast<std::int64_t>((static_cast<double>(to) - from) * (factor - 1.0));
    };
    m.world.displace(key_, scaled(before.x_mm, after.x_mm), scaled(before.y_mm, after.y_mm));
  }
  m.inputs_hash = chains::next_inputs_hash(m.inputs_hash, frame);
}

}  // namespace gsvs::gsd
