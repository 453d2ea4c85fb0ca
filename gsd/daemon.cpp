#include "gsd/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "app/log_line.h"
#include "gsd/admission.h"
#include "gsd/input_check.h"
#include "gsd/nonce_book.h"
#include "gsd/vs_checks.h"
#include "gsd/world.h"
#include "net/accept_backoff.h"
#include "net/framed_connection.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/messages.h"

// Threading: the daemon runs on ONE thread (the io_context is run by a single thread, which makes
// it one implicit strand for the whole match). The world, the ticket window, the nonce book, the
// replay counters and the VS link are shared by every client connection, so a strand per
// connection would only move the locking elsewhere. The heaviest work per input is one Ed25519
// verification (about 70 µs here): 256 players sending 20 inputs a second use about a third of a
// core. The store's writer thread is the only other thread; its callbacks post back to this one.

namespace gsvs::gsd {

namespace asio = net::asio;
using net::tcp;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol
using std::chrono::milliseconds;

namespace {

std::uint64_t mono_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Player keys one session remembers, per max_players slot (gsd/admission.h, Roster).
constexpr std::size_t kDistinctPlayersPerSlot = 8;
// A remembered player is forgotten only this long after the VS's spawn interval has passed since
// its last reported spawn, so that the VS accepts its respawn whatever the latency (§8.6).
constexpr std::uint64_t kRespawnMarginMs = 1000;
// Connections before their handshake completes (gsd/admission.h, PendingBudget): at least this
// many, or twice max_players; one address holds at most a quarter of them.
constexpr std::size_t kMinPendingConnections = 64;
std::size_t pending_capacity(std::uint32_t max_players) {
  return std::max(kMinPendingConnections, std::size_t{2} * max_players);
}

// How long a stopping GS waits for the VS to answer its GsLeaving (PROTOCOL.md §8.11).
constexpr milliseconds kLeavingWait(1000);

std::string revocation_reason_text(std::uint16_t reason) {
  auto name = reason_name(static_cast<RevocationReason>(reason));
  return name.empty() ? "unknown reason " + std::to_string(reason) : std::string(name);
}

}  // namespace

struct Match;

// One client connection. `match` is set once its handshake succeeded.
struct Client {
  Client(ClientId client_id, std::shared_ptr<net::FramedConnection> connection)
      : id(client_id), conn(std::move(connection)) {}
  ClientId id;
  std::shared_ptr<net::FramedConnection> conn;
  std::shared_ptr<Match> match;
  PublicKey key;
  bool ready = false;  // ServerHello sent: receives every new ticket
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
};

// One VS session and the match played under it.
struct Match {
  Match(const asio::any_io_executor& executor, const PublicKey& vs_key, JoinAccept join_accept,
        Bytes join_accept_bytes, crypto::SecretKey key, Hash32 sw_hash,
        std::shared_ptr<net::FramedConnection> vs_connection, WorldLimits limits,
        std::size_t remembered_players)
      : session_id(join_accept.session_id),
        accept(std::move(join_accept)),
        accept_bytes(std::move(join_accept_bytes)),
        session_key(std::move(key)),
        joined_sw_hash(sw_hash),
        vs(std::move(vs_connection)),
        checks(vs_key, accept, accept_bytes),
        world(limits),
        roster(remembered_players, accept.spawn_min_interval_ms + kRespawnMarginMs),
        started_ms(mono_ms()),
        heartbeat_timer(executor),
        digest_timer(executor),
        nonce_timer(executor) {
    world.begin_window(started_ms);
  }

  SessionId session_id;
  JoinAccept accept;
  Bytes accept_bytes;
  crypto::SecretKey session_key;
  Hash32 joined_sw_hash;
  std::shared_ptr<net::FramedConnection> vs;
  SessionChecks checks;
  World world;
  Roster roster;  // which player keys the world keeps
  NonceBook nonces;
  TicketWindow tickets;
  Bytes current_ticket;
  Hash32 inputs_hash;  // over the inputs accepted since the last digest
  std::uint64_t gs_counter = 0;
  std::uint64_t started_ms;
  std::map<PublicKey, std::uint64_t> last_client_seq;
  std::set<PublicKey> reported;          // players listed in a digest already
  std::map<PublicKey, ClientId> online;  // handshaken clients, by player key
  asio::steady_timer heartbeat_timer;
  asio::steady_timer digest_timer;
  asio::steady_timer nonce_timer;
  bool nonce_loop_idle = false;  // waiting for a nonce: add() may wake it
  bool announced = false;        // "listening for clients" logged
  bool ended = false;            // no more VS traffic
  bool zombie = false;           // ended, but the clients are kept (a suppressing rogue)
  bool leaving = false;          // GsLeaving sent: nothing more goes to the VS

  std::uint64_t next_counter() { return ++gs_counter; }
  // Drops everything the session keeps about a player the roster no longer remembers.
  void forget(const PublicKey& player) {
    world.remove_player(player);
    reported.erase(player);
    last_client_seq.erase(player);
  }
};

struct Daemon::Impl : std::enable_shared_from_this<Daemon::Impl> {
  Impl(asio::io_context& io_context, Config cfg, crypto::SecretKey identity_key, Hash32 own_hash,
       std::unique_ptr<storage::Log> store, std::shared_ptr<Behaviour> rules)
      : io(io_context),
        config(std::move(cfg)),
        identity(std::move(identity_key)),
        own_sw_hash(own_hash),
        behaviour(std::move(rules)),
        writer(std::make_unique<storage::BatchWriter>(std::move(store),
                                                      storage::BatchWriter::Options{})),
        acceptor(io_context),
        backoff_timer(io_context),
        leaving_timer(io_context),
        stop_timer(io_context),
        pending(pending_capacity(config.max_players), pending_capacity(config.max_players) / 4) {}

  asio::io_context& io;
  Config config;
  crypto::SecretKey identity;
  Hash32 own_sw_hash;
  std::shared_ptr<Behaviour> behaviour;
  std::unique_ptr<storage::BatchWriter> writer;
  tcp::acceptor acceptor;
  asio::steady_timer backoff_timer;
  asio::steady_timer leaving_timer;  // the bounded wait for the VS's answer to a GsLeaving
  asio::steady_timer stop_timer;
  bool stopping = false;
  bool stop_finished = false;
  bool store_failed = false;
  std::shared_ptr<Match> match;  // the session being served; null while (re)joining
  std::map<ClientId, std::shared_ptr<Client>> clients;
  PendingBudget pending;  // the clients above that have not completed the handshake
  ClientId next_client_id = 1;

  [[nodiscard]] net::ConnectionLimits limits() const {
    return net::ConnectionLimits{config.max_frame_bytes, 1024 * 1024};
  }
  [[nodiscard]] std::string client_address() const {
    boost::system::error_code ec;
    auto endpoint = acceptor.local_endpoint(ec);
    return config.listen_host + ":" + std::to_string(ec ? 0 : endpoint.port());
  }

  // ---- store ----
  void record(MessageKind kind, chains::Direction direction, SessionId session, const Bytes& bytes);
  void on_store_failure(const std::string& error);

  // ---- VS link ----
  asio::awaitable<void> vs_loop();
  asio::awaitable<bool> run_session();
  asio::awaitable<void> vs_read_loop(std::shared_ptr<Match> m);
  void handle_vs_frame(const std::shared_ptr<Match>& m, const Bytes& frame);
  void on_ticket(const std::shared_ptr<Match>& m, const Bytes& bytes, const PlayTicket& ticket);
  // Takes `m` by value: it may be `match`, which this resets.
  void end_match(std::shared_ptr<Match> m, const std::string& why, const Bytes* revocation);
  asio::awaitable<void> heartbeat_loop(std::shared_ptr<Match> m);
  asio::awaitable<void> digest_loop(std::shared_ptr<Match> m);
  asio::awaitable<void> nonce_loop(std::shared_ptr<Match> m);
  void send_heartbeat(Match& m);
  void send_digest(Match& m);
  void send_nonce_batches(Match& m);
  void send_leaving(Match& m);
  template <class M>
  void send_to_vs(Match& m, M& message) {
    // After the GsLeaving, the session's last message, the GS sends nothing more.
    if (m.leaving) return;
    if constexpr (std::is_same_v<M, GsLeaving>) m.leaving = true;
    sign(message, m.session_key);
    Bytes bytes = encode(message);
    if constexpr (std::is_same_v<M, TranscriptDigest>) {
      m.checks.digest_sent(message.gs_counter, chains::message_hash(bytes));
    }
    record(M::kKind, chains::Direction::kIssued, m.session_id, bytes);
    m.vs->send(bytes);
  }

  // ---- clients ----
  asio::awaitable<void> accept_loop();
  void admit_client(tcp::socket socket);
  asio::awaitable<void> client_loop(std::shared_ptr<Client> c);
  asio::awaitable<std::string> serve_client(std::shared_ptr<Client> c);
  void handle_client_frame(Client& c, const Bytes& frame);
  void note_nonce(Match& m, ClientId client, const Nonce32& nonce);
  asio::awaitable<void> send_later(std::shared_ptr<Client> c, Bytes payload, milliseconds hold);

  void stop();
  // The rest of stop(), once the VS answered the GsLeaving, closed, or did not answer in time.
  void finish_stop();
};

// ---- store ------------------------------------------------------------------------------------

// Entries are submitted in the order messages are sent or received, and the message goes out
// without waiting for the commit: the GS's store is its own record for reconciliation, the VS's
// log is the authority, and a crash loses at most the last group commit (a few ms). A failed
// commit stops the daemon.
void Daemon::Impl::record(MessageKind kind, chains::Direction direction, SessionId session,
                          const Bytes& bytes) {
  if (store_failed) return;
  std::vector<storage::PendingEntry> entries(1);
  entries[0] = storage::PendingEntry{kind, direction, session, unix_time_ms(), bytes};
  std::weak_ptr<Impl> weak = weak_from_this();
  auto* context = &io;
  auto placed = writer->submit(std::move(entries), [weak, context](const Status& status) {
    if (status) return;
    // On the writer thread: only hand the error to the daemon's thread.
    asio::post(*context, [weak, error = status.error()] {
      if (auto self = weak.lock()) self->on_store_failure(error);
    });
  });
  if (!placed) on_store_failure(placed.error());
}

void Daemon::Impl::on_store_failure(const std::string& error) {
  if (store_failed) return;
  store_failed = true;
  spdlog::critical(
      "store {}: append failed: {}; stopping (a GS does not serve what it cannot "
      "record)",
      config.store, error);
  stop();
}

// ---- VS link ----------------------------------------------------------------------------------

asio::awaitable<void> Daemon::Impl::vs_loop() {
  auto self = shared_from_this();
  std::uint64_t delay = config.reconnect_backoff_min_ms;
  while (!stopping) {
    const bool joined = co_await run_session();
    if (stopping) break;
    if (match && match->zombie) co_return;  // the suppressing rogue keeps its old match
    if (joined) delay = config.reconnect_backoff_min_ms;
    spdlog::info("joining the VS again in {} ms", delay);
    backoff_timer.expires_after(milliseconds(delay));
    boost::system::error_code ec;
    co_await backoff_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!joined) delay = std::min<std::uint64_t>(delay * 2, config.reconnect_backoff_max_ms);
  }
}

asio::awaitable<bool> Daemon::Impl::run_session() {
  const milliseconds handshake(config.handshake_timeout_ms);
  auto socket = co_await net::connect(io.get_executor(), config.vs_host, config.vs_port, handshake);
  if (!socket) {
    spdlog::warn("VS unreachable: {}", socket.error());
    co_return false;
  }
  auto conn = std::make_shared<net::FramedConnection>(std::move(socket).value(), limits());
  conn->start();
  auto first = co_await conn->read_frame(handshake);
  if (!first) {
    spdlog::warn("VS at {}: no challenge: {}", config.vs, first.error());
    conn->close();
    co_return false;
  }
  auto challenge = decode<VsChallenge>(*first);
  if (!challenge) {
    spdlog::warn("VS at {}: expected a VsChallenge: {}", config.vs,
                 app::log_text(challenge.error()));
    conn->close();
    co_return false;
  }
  if (stopping) {
    conn->close();
    co_return false;
  }

  // A fresh session key for every session; it never leaves this process.
  crypto::SecretKey session_key = crypto::SecretKey::generate();
  JoinRequest request;
  request.gs_identity = identity.public_key();
  request.session_key = session_key.public_key();
  request.sw_hash = behaviour->join_sw_hash(own_sw_hash);
  request.gs_time_ms = unix_time_ms();
  request.challenge = challenge->challenge;
  sign(request, identity, 0);
  sign(request, session_key, 1);
  const Bytes request_bytes = encode(request);
  record(MessageKind::kJoinRequest, chains::Direction::kIssued, 0, request_bytes);
  conn->send(request_bytes);

  // vsd may broadcast a Checkpoint to the new session before its JoinAccept leaves: take those
  // (VS-signed, recorded) and wait on for the answer.
  Result<Bytes> reply = Error{"no answer"};
  Result<MessageKind> kind = Error{"no answer"};
  while (true) {
    reply = co_await conn->read_frame(handshake);
    if (!reply) break;
    kind = peek_kind(*reply);
    if (!kind || *kind != MessageKind::kCheckpoint) break;
    auto checkpoint = decode<Checkpoint>(*reply);
    if (!checkpoint || !verify(*checkpoint, config.vs_key)) {
      spdlog::warn("VS at {}: invalid Checkpoint before the JoinAccept", config.vs);
      conn->close();
      co_return false;
    }
    record(MessageKind::kCheckpoint, chains::Direction::kReceived, 0, *reply);
  }
  if (!reply) {
    spdlog::warn("VS at {}: no answer to the JoinRequest: {}", config.vs, reply.error());
    conn->close();
    co_return false;
  }
  if (kind && *kind == MessageKind::kJoinReject) {
    auto reject = check_join_reject(*reply, config.vs_key);
    if (!reject) {
      spdlog::warn("VS at {}: invalid JoinReject: {}", config.vs, app::log_text(reject.error()));
    } else {
      record(MessageKind::kJoinReject, chains::Direction::kReceived, 0, *reply);
      auto name = reason_name(static_cast<JoinRejectReason>(reject->reason));
      spdlog::warn(
          "join rejected by the VS: {}: {}",
          name.empty() ? "unknown reason " + std::to_string(reject->reason) : std::string(name),
          app::log_text(reject->detail));
    }
    conn->close();
    co_return false;
  }
  auto accept = check_join_accept(*reply, config.vs_key, request, request_bytes);
  if (!accept) {
    spdlog::warn("VS at {}: JoinAccept refused: {}", config.vs, app::log_text(accept.error()));
    conn->close();
    co_return false;
  }
  record(MessageKind::kJoinAccept, chains::Direction::kReceived, accept->session_id, *reply);
  if (stopping) {
    conn->close();
    co_return false;
  }

  // The speed cap never exceeds the limit the VS judges by, and the distance between two
  // digests stays within the VS's tolerance: half of it is the slack a move may draw from
  // before the current digest window (see WorldLimits::slack_ms).
  WorldLimits world;
  world.width_mm = static_cast<std::int32_t>(std::llround(config.world_width_m * 1000.0));
  world.height_mm = static_cast<std::int32_t>(std::llround(config.world_height_m * 1000.0));
  world.max_speed_mm_s =
      std::min(config.max_speed_m_s * 1000.0, static_cast<double>(accept->max_speed_mm_s));
  world.tick_ms = std::max<std::uint64_t>(1, 1000 / config.tick_rate_hz);
  world.slack_ms =
      std::uint64_t{config.digest_interval_ms} * accept->speed_tolerance_ppm / 2'000'000;
  if (config.max_speed_m_s * 1000.0 > accept->max_speed_mm_s) {
    spdlog::warn("max_speed_m_s ({}) is above the VS's limit ({} mm/s): using the VS's",
                 config.max_speed_m_s, accept->max_speed_mm_s);
  }

  auto m = std::make_shared<Match>(io.get_executor(), config.vs_key, *accept, *reply,
                                   std::move(session_key), request.sw_hash, conn, world,
                                   std::size_t{config.max_players} * kDistinctPlayersPerSlot);
  match = m;
  behaviour->on_joined(m->session_id);
  spdlog::info(
      "joined VS as session {} (heartbeat every {} ms, tickets every {} ms valid {} ms, speed "
      "limit {} mm/s, move slack {} ms)",
      m->session_id, m->accept.heartbeat_interval_ms, m->accept.ticket_period_ms,
      m->accept.ticket_validity_ms, world.max_speed_mm_s, world.slack_ms);

  auto self = shared_from_this();
  asio::co_spawn(
      io, [self, m] { return self->heartbeat_loop(m); }, asio::detached);
  asio::co_spawn(
      io, [self, m] { return self->digest_loop(m); }, asio::detached);
  asio::co_spawn(
      io, [self, m] { return self->nonce_loop(m); }, asio::detached);
  co_await vs_read_loop(m);
  co_return true;
}

asio::awaitable<void> Daemon::Impl::vs_read_loop(std::shared_ptr<Match> m) {
  // The VS sends a ticket every period; much longer silence means it is gone.
  const milliseconds idle(std::max<std::uint64_t>({config.handshake_timeout_ms,
                                                   std::uint64_t{m->accept.ticket_period_ms} * 4,
                                                   std::uint64_t{m->accept.heartbeat_timeout_ms}}));
  while (!m->ended) {
    auto frame = co_await m->vs->read_frame(idle);
    if (m->ended) break;
    if (!frame) {
      end_match(m, "VS connection lost: " + frame.error(), nullptr);
      break;
    }
    handle_vs_frame(m, *frame);
  }
}

void Daemon::Impl::handle_vs_frame(const std::shared_ptr<Match>& m, const Bytes& frame) {
  auto kind = peek_kind(frame);
  if (!kind) {
    end_match(m, "VS protocol error: " + kind.error(), nullptr);
    return;
  }
  switch (*kind) {
    case MessageKind::kPlayTicket: {
      auto ticket = m->checks.on_ticket(frame);
      if (!ticket) {
        end_match(m, "VS protocol error: " + ticket.error(), nullptr);
        return;
      }
      record(MessageKind::kPlayTicket, chains::Direction::kReceived, m->session_id, frame);
      on_ticket(m, frame, *ticket);
      return;
    }
    case MessageKind::kProtectedReceipt: {
      auto receipt = m->checks.on_receipt(frame);
      if (!receipt) {
        end_match(m, "VS protocol error: " + receipt.error(), nullptr);
        return;
      }
      record(MessageKind::kProtectedReceipt, chains::Direction::kReceived, m->session_id, frame);
      return;
    }
    case MessageKind::kCheckpoint: {
      auto checkpoint = m->checks.on_checkpoint(frame);
      if (!checkpoint) {
        end_match(m, "VS protocol error: " + checkpoint.error(), nullptr);
        return;
      }
      // Checkpoints belong to no session, as in the VS log.
      record(MessageKind::kCheckpoint, chains::Direction::kReceived, 0, frame);
      spdlog::debug("session {}: checkpoint over {} VS log entries", m->session_id,
                    checkpoint->log_size);
      return;
    }
    case MessageKind::kRevocation: {
      auto revocation = m->checks.on_revocation(frame);
      if (!revocation) {
        end_match(m, "VS protocol error: " + revocation.error(), nullptr);
        return;
      }
      record(MessageKind::kRevocation, chains::Direction::kReceived, m->session_id, frame);
      std::string evidence;
      for (auto e : revocation->evidence) {
        evidence += (evidence.empty() ? "" : ",") + std::to_string(e);
      }
      end_match(m,
                "revoked by the VS: " + revocation_reason_text(revocation->reason) + ": " +
                    revocation->detail + " (revocation_seq " +
                    std::to_string(revocation->revocation_seq) +
                    ", evidence at VS log positions [" + evidence + "])",
                &frame);
      return;
    }
    default:
      end_match(m, "VS protocol error: unexpected " + std::string(kind_name(*kind)), nullptr);
      return;
  }
}

void Daemon::Impl::on_ticket(const std::shared_ptr<Match>& m, const Bytes& bytes,
                             const PlayTicket& ticket) {
  m->tickets.advance(TicketRef{ticket.ticket_seq, chains::message_hash(bytes)}, mono_ms());
  m->current_ticket = bytes;
  TicketProofs proofs = m->nonces.on_ticket(ticket);
  if (!proofs.matched) {
    spdlog::warn("session {}: {}; forwarding it without proofs", m->session_id, proofs.problem);
  }
  const milliseconds hold = behaviour->ticket_hold(m->accept);
  for (auto& [id, c] : clients) {
    if (c->match != m || !c->ready) continue;
    TicketForward forward;
    forward.ticket = bytes;
    if (auto it = proofs.proofs.find(id); it != proofs.proofs.end()) {
      forward.has_proof = 1;
      forward.nonce = it->second.nonce;
      forward.leaf_index = it->second.leaf_index;
      forward.proof = it->second.proof;
    }
    Bytes payload = encode(forward);
    if (hold.count() == 0) {
      c->conn->send(payload);
    } else {
      auto self = shared_from_this();
      auto client = c;
      asio::co_spawn(
          io,
          [self, client, payload = std::move(payload), hold]() mutable {
            return self->send_later(client, std::move(payload), hold);
          },
          asio::detached);
    }
  }
  if (!m->announced) {
    m->announced = true;
    spdlog::info("session {}: listening for clients on {}", m->session_id, client_address());
  }
}

asio::awaitable<void> Daemon::Impl::send_later(std::shared_ptr<Client> c, Bytes payload,
                                               milliseconds hold) {
  asio::steady_timer timer(io);
  timer.expires_after(hold);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  c->conn->send(payload);
}

void Daemon::Impl::end_match(std::shared_ptr<Match> m, const std::string& why,
                             const Bytes* revocation) {
  if (m->ended) return;
  m->ended = true;
  // A stop waiting for the VS's answer to its GsLeaving: this is it (or the VS is gone).
  if (stopping) leaving_timer.cancel();
  m->heartbeat_timer.cancel();
  m->digest_timer.cancel();
  m->nonce_timer.cancel();
  m->vs->close();
  if (!stopping && behaviour->suppress_session_end()) {
    m->zombie = true;
    spdlog::warn("session {}: {}; SUPPRESSED: the clients are not told and keep being served",
                 m->session_id, app::log_text(why));
    return;
  }
  std::size_t closed = 0;
  for (auto& [id, c] : clients) {
    if (c->match != m) continue;
    if (revocation != nullptr) c->conn->send(*revocation);
    c->conn->close_after_flush();
    ++closed;
  }
  if (match == m) match.reset();
  if (revocation != nullptr) {
    spdlog::warn("session {}: {}; notice forwarded to {} client(s), match stopped", m->session_id,
                 app::log_text(why), closed);
  } else {
    spdlog::warn("session {}: {}; {} client(s) closed, match stopped", m->session_id,
                 app::log_text(why), closed);
  }
}

asio::awaitable<void> Daemon::Impl::heartbeat_loop(std::shared_ptr<Match> m) {
  auto self = shared_from_this();
  const milliseconds interval(m->accept.heartbeat_interval_ms);
  auto next = std::chrono::steady_clock::now();
  while (!m->ended) {
    send_heartbeat(*m);
    next += interval;
    // After a stall, carry on from now rather than sending a burst to catch up.
    if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
    m->heartbeat_timer.expires_at(next);
    boost::system::error_code ec;
    co_await m->heartbeat_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Daemon::Impl::send_leaving(Match& m) {
  GsLeaving leaving;
  leaving.session_id = m.session_id;
  leaving.gs_counter = m.next_counter();
  leaving.gs_time_ms = behaviour->reported_time_ms(unix_time_ms());
  leaving.receipt_count = m.checks.receipt_count();
  leaving.receipt_tip = m.checks.receipt_tip();
  send_to_vs(m, leaving);
}

void Daemon::Impl::send_heartbeat(Match& m) {
  Heartbeat hb;
  hb.session_id = m.session_id;
  hb.gs_counter = m.next_counter();
  hb.gs_time_ms = behaviour->reported_time_ms(unix_time_ms());
  hb.sw_hash = behaviour->heartbeat_sw_hash(m.joined_sw_hash);
  hb.receipt_count = m.checks.receipt_count();
  hb.receipt_tip = m.checks.receipt_tip();
  send_to_vs(m, hb);
}

asio::awaitable<void> Daemon::Impl::digest_loop(std::shared_ptr<Match> m) {
  auto self = shared_from_this();
  const milliseconds interval(config.digest_interval_ms);
  auto next = std::chrono::steady_clock::now();
  while (!m->ended) {
    next += interval;
    if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
    m->digest_timer.expires_at(next);
    boost::system::error_code ec;
    co_await m->digest_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (m->ended) break;
    send_digest(*m);
  }
}

void Daemon::Impl::send_digest(Match& m) {
  TranscriptDigest digest;
  digest.session_id = m.session_id;
  digest.gs_counter = m.next_counter();
  digest.gs_time_ms = behaviour->reported_time_ms(unix_time_ms());
  const std::uint64_t tick_ms = std::max<std::uint64_t>(1, 1000 / config.tick_rate_hz);
  digest.tick = (mono_ms() - m.started_ms) / tick_ms;
  digest.inputs_hash = m.inputs_hash;
  for (const auto& [key, client] : m.online) {
    auto at = m.world.position(key);
    if (!at) continue;
    PlayerPosition p;
    p.player = key;
    p.x_mm = at->x_mm;
    p.y_mm = at->y_mm;
    // A player's first appearance in the session is marked as its (free) spawn.
    if (m.reported.insert(key).second) {
      p.flags = kPlayerSpawn;
      m.roster.spawned(key, mono_ms());
    }
    digest.players.push_back(p);
    if (digest.players.size() == kMaxPlayers) break;
  }
  m.world.begin_window(mono_ms());
  behaviour->adjust_reported(digest.players);
  send_to_vs(m, digest);
  m.inputs_hash = Hash32{};
}

asio::awaitable<void> Daemon::Impl::nonce_loop(std::shared_ptr<Match> m) {
  auto self = shared_from_this();
  // Promptly, but at most every 100 ms (or a quarter ticket period if shorter), so that a nonce
  // waits little at the GS (docs/PROTOCOL.md §9.5) without a batch per client message.
  const milliseconds interval(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(100, m->accept.ticket_period_ms / 4)));
  while (!m->ended) {
    boost::system::error_code ec;
    if (!m->nonces.has_pending()) {
      m->nonce_loop_idle = true;
      m->nonce_timer.expires_at(std::chrono::steady_clock::time_point::max());
      co_await m->nonce_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      m->nonce_loop_idle = false;
      continue;
    }
    send_nonce_batches(*m);
    m->nonce_timer.expires_after(interval);
    co_await m->nonce_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Daemon::Impl::send_nonce_batches(Match& m) {
  if (!behaviour->forward_nonces()) {
    m.nonces.drop_pending();
    return;
  }
  while (m.nonces.has_pending()) {
    NonceBatch batch;
    batch.session_id = m.session_id;
    batch.gs_counter = m.next_counter();
    batch.gs_time_ms = unix_time_ms();
    batch.nonces = m.nonces.take_batch();
    send_to_vs(m, batch);
  }
}

// ---- clients ----------------------------------------------------------------------------------

asio::awaitable<void> Daemon::Impl::accept_loop() {
  auto self = shared_from_this();
  net::AcceptBackoff backoff(io.get_executor(), "client listener");
  while (!stopping) {
    tcp::socket socket(io);
    boost::system::error_code ec;
    co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      if (co_await backoff.after_failure(ec)) continue;
      spdlog::warn("accepting a client failed: {}", ec.message());
      continue;
    }
    backoff.after_success();
    admit_client(std::move(socket));
  }
}

void Daemon::Impl::admit_client(tcp::socket socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  auto c = std::make_shared<Client>(
      next_client_id++, std::make_shared<net::FramedConnection>(std::move(socket), limits()));
  clients.emplace(c->id, c);
  // Not a player yet: the connection counts against the pre-handshake budget only, and takes
  // the place of the oldest unfinished handshake when that budget is spent.
  if (auto displaced = pending.admit(c->id, ec ? std::string() : peer.address().to_string())) {
    if (auto it = clients.find(*displaced); it != clients.end()) {
      spdlog::debug("client {}: handshake unfinished, making room for a newer connection",
                    it->second->conn->peer());
      it->second->conn->close();
    }
  }
  auto self = shared_from_this();
  asio::co_spawn(
      io, [self, c] { return self->client_loop(c); }, asio::detached);
}

asio::awaitable<void> Daemon::Impl::client_loop(std::shared_ptr<Client> c) {
  auto self = shared_from_this();
  c->conn->start();
  const std::string why = co_await serve_client(c);
  c->conn->close_after_flush();
  clients.erase(c->id);
  pending.release(c->id);
  if (c->match) {
    auto& m = *c->match;
    auto it = m.online.find(c->key);
    if (it != m.online.end() && it->second == c->id) {
      m.online.erase(it);
      if (m.roster.left(c->key, mono_ms())) m.forget(c->key);
    }
    spdlog::info("session {}: client {} (player {}) left: {}; {} input(s) accepted, {} rejected",
                 c->match->session_id, c->conn->peer(), short_hex(c->key), app::log_text(why),
                 c->accepted, c->rejected);
  } else {
    spdlog::info("client {} refused: {}", c->conn->peer(), app::log_text(why));
  }
}

asio::awaitable<std::string> Daemon::Impl::serve_client(std::shared_ptr<Client> c) {
  // The hello must sign a value fresh to this connection, so a recorded hello proves nothing.
  ClientChallenge challenge;
  challenge.challenge = crypto::random_fixed<32>();
  c->conn->send(encode(challenge));
  auto frame = co_await c->conn->read_frame(milliseconds(config.handshake_timeout_ms));
  if (!frame) co_return "no ClientHello: " + frame.error();
  auto hello = decode<ClientHello>(*frame);
  if (!hello) co_return "malformed ClientHello: " + hello.error();
  if (hello->gs_challenge != challenge.challenge) {
    co_return "ClientHello does not sign this connection's challenge (a replayed hello?)";
  }
  if (!verify(*hello, hello->client_key)) co_return "ClientHello signature does not verify";
  auto m = match;
  if (!m || stopping) co_return "no VS session at the moment (joining the VS)";
  // The sender holds the key now: a connection still playing under it (one the player left
  // behind, half-open) gives way to it.
  std::shared_ptr<Client> previous;
  if (auto it = m->online.find(hello->client_key); it != m->online.end()) {
    if (auto p = clients.find(it->second); p != clients.end()) previous = p->second;
  }
  // Players are counted once their handshake is complete; connections before that have a
  // budget of their own.
  if (!previous && clients.size() - pending.size() >= config.max_players) {
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
  pending.release(c->id);
  c->key = hello->client_key;
  c->match = m;
  if (previous) {
    spdlog::info("session {}: player {} connected again from {}; closing its connection from {}",
                 m->session_id, short_hex(c->key), c->conn->peer(), previous->conn->peer());
    previous->conn->close_after_flush();
  }
  m->online[c->key] = c->id;
  m->world.add_player(c->key);

  ServerHello server_hello;
  server_hello.session_id = m->session_id;
  server_hello.client_key = hello->client_key;
  server_hello.client_nonce = hello->client_nonce;
  server_hello.gs_time_ms = unix_time_ms();
  server_hello.join_accept = m->accept_bytes;
  sign(server_hello, m->session_key);
  c->conn->send(encode(server_hello));
  if (!m->current_ticket.empty()) {
    TicketForward forward;
    forward.ticket = m->current_ticket;
    c->conn->send(encode(forward));
  }
  c->ready = true;
  // The hello nonce is the client's first nonce for client_binding.
  note_nonce(*m, c->id, hello->client_nonce);
  spdlog::info("session {}: client {} joined as player {}", m->session_id, c->conn->peer(),
               short_hex(c->key));

  // An honest client sends a nonce every half ticket period; this much silence means it is gone.
  const milliseconds idle(std::max<std::uint64_t>(config.handshake_timeout_ms,
                                                  std::uint64_t{m->accept.ticket_period_ms} * 4));
  while (true) {
    auto next = co_await c->conn->read_frame(idle);
    if (m->ended && !m->zombie) co_return "the match stopped";
    if (!next) co_return next.error();
    handle_client_frame(*c, *next);
  }
}

void Daemon::Impl::handle_client_frame(Client& c, const Bytes& frame) {
  Match& m = *c.match;
  InputContext context;
  context.hello_key = c.key;
  context.session_id = m.session_id;
  context.tickets = &m.tickets;
  context.now_ms = mono_ms();
  context.input_grace_ms = config.input_grace_ms;
  if (auto it = m.last_client_seq.find(c.key); it != m.last_client_seq.end()) {
    context.last_client_seq = it->second;
  }
  auto verdict = check_client_frame(frame, context);
  if (auto* nonce = std::get_if<NonceReceived>(&verdict)) {
    note_nonce(m, c.id, nonce->nonce);
    return;
  }
  if (auto* rejected = std::get_if<InputRejected>(&verdict)) {
    ++c.rejected;
    spdlog::debug("session {}: input {} from player {} rejected: {}: {}", m.session_id,
                  rejected->reject.client_seq, short_hex(c.key),
                  reason_name(static_cast<InputRejectReason>(rejected->reject.reason)),
                  app::log_text(rejected->reject.detail));
    c.conn->send(encode(rejected->reject));
    return;
  }
  const ClientInput& input = std::get<InputAccepted>(verdict).input;
  ++c.accepted;
  m.last_client_seq[c.key] = input.client_seq;
  m.roster.played(c.key);
  const Position before = *m.world.position(c.key);
  const Position after = m.world.move(c.key, input.move_x_mm, input.move_y_mm, mono_ms(),
                                      behaviour->move_credit_factor());
  const double factor = behaviour->applied_move_factor();
  if (factor != 1.0) {
    const auto scaled = [factor](std::int32_t from, std::int32_t to) {
      return static_cast<std::int64_t>((static_cast<double>(to) - from) * (factor - 1.0));
    };
    m.world.displace(c.key, scaled(before.x_mm, after.x_mm), scaled(before.y_mm, after.y_mm));
  }
  m.inputs_hash = chains::next_inputs_hash(m.inputs_hash, frame);
}

void Daemon::Impl::note_nonce(Match& m, ClientId client, const Nonce32& nonce) {
  m.nonces.add(client, nonce);
  if (m.nonce_loop_idle) m.nonce_timer.cancel();
}

// ---- start and stop ---------------------------------------------------------------------------

void Daemon::Impl::stop() {
  if (stopping) return;
  stopping = true;
  spdlog::info("stopping: closing {} client(s) and the VS connection", clients.size());
  boost::system::error_code ec;
  acceptor.close(ec);
  backoff_timer.cancel();
  if (match && !match->ended && !store_failed) {
    // Leave cleanly (PROTOCOL.md §8.11): the VS ends the session with gs_left rather than
    // revoking it later for missed heartbeats. end_match() ends the wait when the VS answers or
    // closes; otherwise it ends after kLeavingWait.
    send_leaving(*match);
    spdlog::info("session {}: GsLeaving sent; waiting up to {} ms for the VS", match->session_id,
                 kLeavingWait.count());
    leaving_timer.expires_after(kLeavingWait);
    std::weak_ptr<Impl> weak = weak_from_this();
    leaving_timer.async_wait([weak](const boost::system::error_code&) {
      if (auto self = weak.lock()) self->finish_stop();
    });
    return;
  }
  finish_stop();
}

void Daemon::Impl::finish_stop() {
  if (stop_finished) return;
  stop_finished = true;
  if (match) end_match(match, "gsd is stopping", nullptr);
  for (auto& [id, c] : clients) c->conn->close_after_flush();
  // A moment for the last frames to leave, then stop whatever still waits (a join in progress).
  stop_timer.expires_after(milliseconds(200));
  auto* context = &io;
  stop_timer.async_wait([context](const boost::system::error_code&) { context->stop(); });
}

Daemon::Daemon(asio::io_context& io, Config config, crypto::SecretKey identity, Hash32 own_sw_hash,
               std::unique_ptr<storage::Log> store, std::shared_ptr<Behaviour> behaviour)
    : impl_(std::make_shared<Impl>(io, std::move(config), std::move(identity), own_sw_hash,
                                   std::move(store), std::move(behaviour))) {}

Daemon::~Daemon() = default;

Status Daemon::start() {
  auto& s = *impl_;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(s.config.listen_host, ec);
  if (ec) return Error{"listen address '" + s.config.listen_host + "' is not an IP address"};
  tcp::endpoint endpoint(address, s.config.listen_port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + s.config.listen + ": " + ec.message()};
  spdlog::info("client port {} bound; clients are served once the VS admits this GS",
               s.client_address());
  asio::co_spawn(s.io, s.accept_loop(), asio::detached);
  asio::co_spawn(s.io, s.vs_loop(), asio::detached);
  return {};
}

void Daemon::stop() { impl_->stop(); }

Status Daemon::flush() { return impl_->writer->flush(); }

bool Daemon::failed() const { return impl_->store_failed; }

std::uint16_t Daemon::client_port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace gsvs::gsd
