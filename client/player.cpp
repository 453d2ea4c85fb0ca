#include "client/player.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "app/log_line.h"
#include "client/input.h"
#include "client/verifier.h"
#include "net/escape.h"
#include "net/framed_connection.h"
#include "protocol/clock.h"
#include "protocol/messages.h"

namespace gsvs::client {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

SteadyTime steady_now() { return std::chrono::steady_clock::now(); }

std::int64_t ms_from(SteadyTime from, SteadyTime to) {
  return std::chrono::duration_cast<milliseconds>(to - from).count();
}

// FramedConnection reports a bad frame header (zero length, over the cap) with the text of
// framing::parse_header; every other read error is the transport's.
bool is_framing_error(const std::string& error) {
  return error.starts_with("empty frame") || error.starts_with("frame header") ||
         error.find("exceeds the limit") != std::string::npos;
}

std::string exit_reason(ExitCode code) {
  switch (code) {
    case ExitCode::kOk:
      return "duration_reached";
    case ExitCode::kInternalError:
      return "internal_error";
    case ExitCode::kUsage:
      return "usage";
    case ExitCode::kRevoked:
      return "revoked";
    case ExitCode::kStarved:
      return "ticket_starvation";
    case ExitCode::kHandshakeFailed:
      return "handshake_failed";
    case ExitCode::kConnectionLost:
      return "connection_lost";
    case ExitCode::kProtocolViolation:
      return "protocol_violation";
  }
  return "unknown";
}

}  // namespace

struct Player::Impl : std::enable_shared_from_this<Player::Impl> {
  Impl(asio::io_context& io_context, PlayerOptions opts, const crypto::SecretKey& secret,
       EventLog& event_log)
      : io(io_context),
        options(std::move(opts)),
        key(secret),
        events(event_log),
        watchdog(io_context),
        nonce_timer(io_context),
        input_timer(io_context),
        duration_timer(io_context),
        walk(options.speed_m_s, options.cheat,
             options.seed != 0 ? options.seed : std::random_device{}()) {
    gs_text = options.gs_host + ":" + std::to_string(options.gs_port);
  }

  asio::io_context& io;
  PlayerOptions options;
  const crypto::SecretKey& key;
  EventLog& events;
  std::string gs_text;
  std::optional<TicketVerifier> verifier;
  std::optional<InputSigner> signer;
  std::shared_ptr<net::FramedConnection> conn;
  asio::steady_timer watchdog;
  asio::steady_timer nonce_timer;
  asio::steady_timer input_timer;
  asio::steady_timer duration_timer;
  RandomWalk walk;
  SteadyTime started;
  bool finished = false;
  ExitCode exit = ExitCode::kOk;
  std::function<void()> on_finished;

  asio::awaitable<void> run();
  // A frame of the handshake (`what` names it in errors); nullopt once finish() was called.
  asio::awaitable<std::optional<Bytes>> read_handshake_frame(std::string_view what);
  asio::awaitable<void> read_loop();
  asio::awaitable<void> watchdog_loop();
  asio::awaitable<void> nonce_loop();
  asio::awaitable<void> input_loop();
  asio::awaitable<void> duration_wait();
  void handle(const Bytes& frame);
  void on_ticket(const Bytes& frame, SteadyTime now);
  void on_revocation(const Bytes& frame);
  void on_input_reject(const Bytes& frame);
  void starve(SteadyTime now);
  void finish(ExitCode code, const std::string& detail, const Revocation* revocation = nullptr,
              const std::string& reason = {});
  // Writes an event; one that cannot be written stops the client (exit 2).
  void record(const Event& event) {
    if (auto written = events.write(event); !written) finish(ExitCode::kUsage, written.error());
  }
  // Ends the session with exit 1 where an exception ends a loop (net/escape.h).
  net::Failure on_fault() {
    return [weak = weak_from_this()](const std::string& fault) {
      if (auto self = weak.lock()) self->finish(ExitCode::kInternalError, fault);
    };
  }
  void spawn(asio::awaitable<void> (Impl::*loop)(), std::string what) {
    auto self = shared_from_this();
    asio::co_spawn(
        io, [self, loop] { return ((*self).*loop)(); },
        net::EscapeHandler(std::move(what), on_fault()));
  }
};

asio::awaitable<void> Player::Impl::run() {
  auto self = shared_from_this();
  started = steady_now();
  verifier.emplace(options.vs_keys, options.skew, started + options.handshake_timeout);
  spawn(&Impl::watchdog_loop, "the watchdog");
  if (options.duration.count() > 0) spawn(&Impl::duration_wait, "the duration timer");

  auto executor = io.get_executor();
  auto socket =
      co_await net::connect(executor, options.gs_host, options.gs_port, options.handshake_timeout);
  if (finished) co_return;
  if (!socket) {
    finish(ExitCode::kConnectionLost, socket.error(), nullptr, "connection_refused");
    co_return;
  }
  net::ConnectionLimits limits;
  limits.max_frame_bytes = options.max_frame_bytes;
  conn = std::make_shared<net::FramedConnection>(std::move(socket).value(), limits);
  conn->start(on_fault());

  // The GS speaks first: the hello signs its challenge, so a recorded hello is worth nothing.
  auto challenge_frame = co_await read_handshake_frame("ClientChallenge");
  if (!challenge_frame) co_return;
  auto challenge = decode<ClientChallenge>(*challenge_frame);
  if (!challenge) {
    finish(ExitCode::kHandshakeFailed, "expected a ClientChallenge: " + challenge.error());
    co_return;
  }
  ClientHello hello;
  hello.client_key = key.public_key();
  hello.client_nonce = crypto::random_fixed<32>();
  hello.gs_challenge = challenge->challenge;
  hello.client_time_ms = unix_time_ms();
  sign(hello, key);
  verifier->record_nonce(hello.client_nonce, steady_now());
  conn->send(encode(hello));

  auto frame = co_await read_handshake_frame("ServerHello");
  if (!frame) co_return;
  auto info = verifier->accept_server_hello(*frame, hello.client_key, hello.client_nonce);
  if (!info) {
    finish(ExitCode::kHandshakeFailed, info.error());
    co_return;
  }
  // client_seq continues above any earlier run with this key in this session.
  signer.emplace(key, info->session_id, unix_time_ms() * 1000);
  spdlog::info("{}: session {} of GS {} (build {}), tickets every {} ms valid {} ms", gs_text,
               info->session_id, to_hex(info->gs_identity).substr(0, 16),
               to_hex(info->sw_hash).substr(0, 16), info->ticket_period.count(),
               info->ticket_validity.count());
  ConnectedEvent connected;
  connected.session = info->session_id;
  connected.gs = gs_text;
  connected.gs_identity = info->gs_identity;
  connected.session_key = info->session_key;
  connected.sw_hash = info->sw_hash;
  connected.ticket_period_ms = static_cast<std::uint32_t>(info->ticket_period.count());
  connected.ticket_validity_ms = static_cast<std::uint32_t>(info->ticket_validity.count());
  record(connected);
  spawn(&Impl::nonce_loop, "the nonce loop");
  if (options.bot) spawn(&Impl::input_loop, "the input loop");
  co_await read_loop();
}

asio::awaitable<std::optional<Bytes>> Player::Impl::read_handshake_frame(std::string_view what) {
  const auto left =
      std::max(milliseconds(1),
               std::chrono::duration_cast<milliseconds>(verifier->deadline() - steady_now()));
  auto frame = co_await conn->read_frame(left);
  if (finished) co_return std::nullopt;
  if (frame) co_return std::move(frame).value();
  if (frame.error().starts_with("timed out")) {
    finish(ExitCode::kHandshakeFailed,
           "no " + std::string(what) + " within the handshake timeout of " +
               std::to_string(options.handshake_timeout.count()) + " ms");
  } else if (is_framing_error(frame.error())) {
    finish(ExitCode::kHandshakeFailed,
           "malformed frame instead of a " + std::string(what) + ": " + frame.error());
  } else {
    finish(ExitCode::kConnectionLost,
           "the GS closed the connection during the handshake: " + frame.error());
  }
  co_return std::nullopt;
}

asio::awaitable<void> Player::Impl::read_loop() {
  // The trust deadline ends a silent GS long before this; the read limit only bounds a dead
  // peer in case the deadline logic never runs.
  const milliseconds idle = std::max(milliseconds(10000), 4 * verifier->session()->ticket_validity);
  while (!finished) {
    auto frame = co_await conn->read_frame(idle);
    if (finished) co_return;
    if (!frame) {
      if (is_framing_error(frame.error())) {
        finish(ExitCode::kProtocolViolation, "malformed frame: " + frame.error());
      } else {
        finish(ExitCode::kConnectionLost, "connection to the GS lost: " + frame.error());
      }
      co_return;
    }
    handle(*frame);
  }
}

void Player::Impl::handle(const Bytes& frame) {
  const auto now = steady_now();
  // Nothing the GS sends after the deadline can revive the session.
  if (verifier->expired(now)) {
    starve(now);
    return;
  }
  auto kind = peek_kind(frame);
  if (!kind) {
    finish(ExitCode::kProtocolViolation, "malformed frame: " + kind.error());
    return;
  }
  switch (*kind) {
    case MessageKind::kTicketForward:
      on_ticket(frame, now);
      return;
    case MessageKind::kRevocation:
      on_revocation(frame);
      return;
    case MessageKind::kInputReject:
      on_input_reject(frame);
      return;
    default:
      finish(ExitCode::kProtocolViolation,
             "the GS sent a " + std::string(kind_name(*kind)) + ", which a client never expects");
      return;
  }
}

void Player::Impl::on_ticket(const Bytes& frame, SteadyTime now) {
  auto outcome = verifier->accept_ticket(frame, now, unix_time_ms());
  if (!outcome) {
    finish(ExitCode::kProtocolViolation, outcome.error());
    return;
  }
  TicketAcceptedEvent event;
  event.seq = outcome->ticket_seq;
  event.proven = outcome->proven;
  event.wall_clock_ok = outcome->wall_clock_ok;
  event.credit = std::string(credit_name(outcome->credit));
  event.deadline_in_ms = ms_from(now, outcome->deadline);
  event.note = outcome->note;
  record(event);
  if (outcome->anchor) {
    spdlog::info("{}: first ticket {} accepted; trust deadline in {} ms", gs_text,
                 outcome->ticket_seq, event.deadline_in_ms);
  } else {
    spdlog::debug("{}: ticket {} accepted, credit {}, trust deadline in {} ms", gs_text,
                  outcome->ticket_seq, event.credit, event.deadline_in_ms);
  }
  if (outcome->handed_over_to) {
    spdlog::info(
        "{}: the VS node changed: ticket {} is signed by VS key {}, which holds the "
        "session from here on",
        gs_text, outcome->ticket_seq, short_hex(*outcome->handed_over_to));
  }
  if (!outcome->note.empty()) {
    spdlog::warn("{}: ticket {}: {}", gs_text, outcome->ticket_seq, app::log_text(outcome->note));
  }
  if (verifier->expired(now)) {
    starve(now);
    return;
  }
  watchdog.cancel();  // the deadline may have moved either way (the anchor replaces it)
}

void Player::Impl::on_revocation(const Bytes& frame) {
  auto revocation = verifier->check_revocation(frame);
  if (!revocation) {
    finish(ExitCode::kProtocolViolation, revocation.error());
    return;
  }
  const std::string reason(reason_name(static_cast<RevocationReason>(revocation->reason)));
  // A GS that stops cleanly ends its session with gs_left (PROTOCOL.md §8.5): the match is over,
  // by nobody's fault, and the VS signed as much. No error, and exit 0.
  if (revocation->reason == static_cast<std::uint16_t>(RevocationReason::kGsLeft)) {
    finish(ExitCode::kOk,
           "the GS ended its match cleanly: the VS closed session " +
               std::to_string(revocation->session_id) + " (gs_left): " + revocation->detail,
           &*revocation, reason);
    return;
  }
  finish(ExitCode::kRevoked,
         "the VS revoked session " + std::to_string(revocation->session_id) + " (" + reason +
             "): " + revocation->detail,
         &*revocation);
}

void Player::Impl::on_input_reject(const Bytes& frame) {
  auto reject = decode<InputReject>(frame);
  if (!reject) {
    finish(ExitCode::kProtocolViolation, "InputReject does not decode: " + reject.error());
    return;
  }
  InputRejectedEvent event;
  event.client_seq = reject->client_seq;
  event.reason = std::string(reason_name(static_cast<InputRejectReason>(reject->reason)));
  event.detail = reject->detail;
  record(event);
  spdlog::warn("{}: input {} rejected: {}: {}", gs_text, event.client_seq, event.reason,
               app::log_text(event.detail));
}

void Player::Impl::starve(SteadyTime now) {
  if (!verifier->session()) {
    finish(ExitCode::kHandshakeFailed, "no ServerHello within the handshake timeout of " +
                                           std::to_string(options.handshake_timeout.count()) +
                                           " ms");
  } else if (!verifier->has_ticket()) {
    finish(ExitCode::kStarved, "no ticket within the handshake timeout of " +
                                   std::to_string(options.handshake_timeout.count()) + " ms");
  } else {
    finish(ExitCode::kStarved,
           "trust deadline passed " + std::to_string(ms_from(verifier->deadline(), now)) +
               " ms ago: no fresh VS ticket for this session (last accepted ticket " +
               std::to_string(verifier->last_ticket_seq()) + "); dropping the GS whatever it says");
  }
}

asio::awaitable<void> Player::Impl::watchdog_loop() {
  auto self = shared_from_this();
  while (!finished) {
    watchdog.expires_at(verifier->deadline());
    boost::system::error_code ec;
    co_await watchdog.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (finished) co_return;
    const auto now = steady_now();
    if (verifier->expired(now)) {
      starve(now);
      co_return;
    }
  }
}

asio::awaitable<void> Player::Impl::nonce_loop() {
  auto self = shared_from_this();
  const milliseconds period = std::max(milliseconds(10), verifier->session()->ticket_period / 2);
  auto next = steady_now();
  while (!finished) {
    next += period;
    nonce_timer.expires_at(next);
    boost::system::error_code ec;
    co_await nonce_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (finished) co_return;
    ClientNonce nonce;
    nonce.nonce = crypto::random_fixed<32>();
    verifier->record_nonce(nonce.nonce, steady_now());
    conn->send(encode(nonce));
  }
}

asio::awaitable<void> Player::Impl::input_loop() {
  auto self = shared_from_this();
  auto last = steady_now();
  auto next = last;
  while (!finished) {
    next += options.input_interval;
    if (next < steady_now() - options.input_interval) next = steady_now();  // no catch-up burst
    input_timer.expires_at(next);
    boost::system::error_code ec;
    co_await input_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (finished) co_return;
    const auto now = steady_now();
    const double elapsed_ms = std::chrono::duration<double, std::milli>(now - last).count();
    last = now;
    if (!verifier->has_ticket()) continue;  // nothing to bind an input to yet
    const auto [dx, dy] = walk.step(elapsed_ms);
    conn->send(signer->sign(verifier->last_ticket_seq(), verifier->last_ticket_hash(), dx, dy,
                            unix_time_ms()));
  }
}

asio::awaitable<void> Player::Impl::duration_wait() {
  auto self = shared_from_this();
  duration_timer.expires_after(options.duration);
  boost::system::error_code ec;
  co_await duration_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (ec || finished) co_return;
  finish(ExitCode::kOk,
         "ran for the requested " + std::to_string(options.duration.count()) + " ms");
}

void Player::Impl::finish(ExitCode code, const std::string& detail, const Revocation* revocation,
                          const std::string& reason) {
  if (finished) return;
  finished = true;
  exit = code;
  const auto now = steady_now();
  DisconnectedEvent event;
  event.reason = reason.empty() ? exit_reason(code) : reason;
  event.exit_code = static_cast<int>(code);
  event.detail = detail;
  if (verifier && verifier->last_ticket_at()) {
    event.ms_since_last_valid_ticket = ms_from(*verifier->last_ticket_at(), now);
  }
  if (verifier && verifier->session()) event.session = verifier->session()->session_id;
  if (revocation != nullptr) {
    RevocationFacts facts;
    facts.reason = std::string(reason_name(static_cast<RevocationReason>(revocation->reason)));
    facts.detail = revocation->detail;
    facts.vs_time_ms = revocation->vs_time_ms;
    facts.revocation_seq = revocation->revocation_seq;
    facts.evidence = revocation->evidence;
    event.revocation = facts;
  }
  // The last event: a failure to write it has nothing left to stop.
  (void)events.write(event);
  if (code == ExitCode::kOk) {
    spdlog::info("{}: leaving: {}", gs_text, app::log_text(detail));
  } else {
    spdlog::error("{}: dropping the GS ({}, exit {}): {}", gs_text, event.reason,
                  static_cast<int>(code), app::log_text(detail));
  }
  watchdog.cancel();
  nonce_timer.cancel();
  input_timer.cancel();
  duration_timer.cancel();
  if (conn) conn->close();
  if (on_finished) {
    auto callback = std::move(on_finished);
    on_finished = nullptr;
    callback();
  }
}

Player::Player(asio::io_context& io, PlayerOptions options, const crypto::SecretKey& key,
               EventLog& events)
    : impl_(std::make_shared<Impl>(io, std::move(options), key, events)) {}

Player::~Player() = default;

void Player::start(std::function<void()> on_finished) {
  impl_->on_finished = std::move(on_finished);
  impl_->spawn(&Impl::run, "the session");
}

void Player::stop(const std::string& why) { impl_->finish(ExitCode::kOk, why, nullptr, "stopped"); }

int Player::exit_code() const { return static_cast<int>(impl_->exit); }

int play(const PlayerOptions& options, const crypto::SecretKey& key, EventLog& events) {
  asio::io_context io(1);
  Player player(io, options, key, events);
  player.start();
  io.run();
  return player.exit_code();
}

}  // namespace gsvs::client
