#include "gsd/vs_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <vector>

#include "app/log_line.h"
#include "gsd/client_session.h"
#include "gsd/shared_state.h"
#include "gsd/vs_join.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "rules/gs_checks.h"

namespace gsvs::gsd {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol
using std::chrono::milliseconds;

namespace {

// How long a stopping GS waits for the VS to answer its GsLeaving (PROTOCOL.md §8.11).
constexpr milliseconds kLeavingWait(1000);

// How often the GS sends a digest: its configured interval, but never slower than the VS requires
// (PROTOCOL.md §8.5 "Digests required"): within digest_timeout_ms of the last, and so soon that
// a GS that stops altogether misses its heartbeats before its digests are overdue. Half the room
// between the two timeouts leaves a delayed digest its margin.
std::uint64_t required_digest_interval_ms(const Config& config, const JoinAccept& accept) {
  const std::uint64_t room = accept.digest_timeout_ms > accept.heartbeat_timeout_ms
                                 ? accept.digest_timeout_ms - accept.heartbeat_timeout_ms
                                 : accept.digest_timeout_ms;
  // Never below digest_interval_ms's own minimum, whatever a JoinAccept says.
  constexpr std::uint64_t kFastestDigestMs = 10;
  return std::min<std::uint64_t>(config.digest_interval_ms,
                                 std::max<std::uint64_t>(room / 2, kFastestDigestMs));
}

// The speed cap never exceeds the limit the VS judges by, and the distance between two digests
// stays within the VS's tolerance: half of it is the slack a move may draw from before the
// current digest window (see WorldLimits::slack_ms).
WorldLimits world_limits(const Config& config, const JoinAccept& accept) {
  WorldLimits world;
  world.width_mm = static_cast<std::int32_t>(std::llround(config.world_width_m * 1000.0));
  world.height_mm = static_cast<std::int32_t>(std::llround(config.world_height_m * 1000.0));
  world.max_speed_mm_s =
      std::min(config.max_speed_m_s * 1000.0, static_cast<double>(accept.max_speed_mm_s));
  world.tick_ms = std::max<std::uint64_t>(1, 1000 / config.tick_rate_hz);
  world.slack_ms =
      required_digest_interval_ms(config, accept) * accept.speed_tolerance_ppm / 2'000'000;
  if (config.max_speed_m_s * 1000.0 > accept.max_speed_mm_s) {
    spdlog::warn("max_speed_m_s ({}) is above the VS's limit ({} mm/s): using the VS's",
                 config.max_speed_m_s, accept.max_speed_mm_s);
  }
  if (const auto digest_ms = required_digest_interval_ms(config, accept);
      digest_ms < config.digest_interval_ms) {
    spdlog::warn(
        "digest_interval_ms ({}) leaves the VS's digest_timeout_ms ({}) too little room past its "
        "heartbeat timeout ({} ms): sending a digest every {} ms",
        config.digest_interval_ms, accept.digest_timeout_ms, accept.heartbeat_timeout_ms,
        digest_ms);
  }
  // Players enter where the VS lets them spawn free: elsewhere every (re)spawn would be judged
  // as a move from the player's last position (PROTOCOL.md §8.6 "Spawn zones").
  world.spawn = spawn_point(accept.spawn_zones, world.width_mm, world.height_mm);
  if (!accept.spawn_zones.empty() && !world.spawn) {
    spdlog::warn(
        "none of the VS's {} spawn zones overlaps this world ({} x {} m): players spawn at its "
        "centre, where the VS judges a spawn as a move (check world_width_m, world_height_m "
        "and the VS's spawn_zones)",
        accept.spawn_zones.size(), config.world_width_m, config.world_height_m);
  } else if (world.spawn) {
    spdlog::info("players spawn at ({} mm, {} mm), inside the VS's spawn zones", world.spawn->x_mm,
                 world.spawn->y_mm);
  }
  return world;
}

// A uniformly random 64-bit number, for the jitter of reconnect_delay_ms.
std::uint64_t random_u64() {
  std::array<std::uint8_t, 8> bytes{};
  crypto::random_bytes(bytes);
  std::uint64_t value = 0;
  for (const std::uint8_t b : bytes) value = (value << 8U) | b;
  return value;
}

}  // namespace

std::uint64_t vs_silence_limit_ms(const JoinAccept& accept) {
  // The VS sends a ticket every period (and a receipt for each digest), so a live VS is never
  // silent for much more than a period; four periods of silence mean it is gone. But a cut
  // that sends no FIN or RST is noticed only by this limit, and the resume must reach the VS
  // before the session's heartbeat deadline there: heartbeat_timeout_ms after the last
  // heartbeat that got through, which may be a heartbeat interval before the cut. Half the
  // timeout leaves the other half for that interval, the reconnect backoff and the new
  // connection's handshake. One period is the floor: below it, the gap between two tickets of
  // a live VS would look like silence.
  const std::uint64_t period = accept.ticket_period_ms;
  return std::max<std::uint64_t>(
      period, std::min<std::uint64_t>(period * 4, accept.heartbeat_timeout_ms / 2));
}

std::uint64_t reconnect_delay_ms(std::uint32_t failures, std::uint64_t min_ms, std::uint64_t max_ms,
                                 std::uint64_t random) {
  max_ms = std::max(max_ms, min_ms);
  // Doubles from 2 × min_ms, stopping at max_ms before it could overflow.
  std::uint64_t ceiling = min_ms;
  for (std::uint32_t i = 0; i <= failures && ceiling < max_ms; ++i) {
    ceiling = ceiling > max_ms / 2 ? max_ms : ceiling * 2;
  }
  ceiling = std::min(ceiling, max_ms);
  return min_ms + random % (ceiling - min_ms + 1);
}

// One VS session: the connection and what the GS keeps of the protocol with the VS, beside the
// match played under the session.
struct VsSession {
  VsSession(const asio::any_io_executor& executor, const std::vector<PublicKey>& vs_keys,
            const PublicKey& vs_key, std::size_t on_node, std::shared_ptr<Match> played,
            std::shared_ptr<net::FramedConnection> connection, const Hash32& sw_hash)
      : match(std::move(played)),
        vs(std::move(connection)),
        node(on_node),
        checks(vs_keys, vs_key, match->accept, match->accept_bytes),
        joined_sw_hash(sw_hash),
        heartbeat_timer(executor),
        digest_timer(executor) {}

  std::shared_ptr<Match> match;
  std::shared_ptr<net::FramedConnection> vs;
  std::size_t node;  // the index in Config::vs_nodes of the node the session is on
  // While the connection is lost: when no node can resume the session any more (lose_vs()).
  std::chrono::steady_clock::time_point resume_deadline;
  rules::GsSessionChecks checks;
  Hash32 joined_sw_hash;
  std::uint64_t gs_counter = 0;
  asio::steady_timer heartbeat_timer;
  asio::steady_timer digest_timer;
  bool announced = false;  // "listening for clients" logged
  bool leaving = false;    // GsLeaving sent: nothing more goes to the VS
  bool connected = true;   // false from a lost VS connection until the session is resumed

  // Sending, heartbeats and digests go on while this holds.
  [[nodiscard]] bool running() const { return !match->ended && connected; }

  std::uint64_t next_counter() { return ++gs_counter; }
};

VsLink::VsLink(std::shared_ptr<SharedState> shared, crypto::SecretKey identity,
               const Hash32& own_sw_hash)
    : shared_(std::move(shared)),
      identity_(std::move(identity)),
      own_sw_hash_(own_sw_hash),
      backoff_timer_(shared_->io),
      leaving_timer_(shared_->io) {}

VsLink::~VsLink() = default;

void VsLink::run() {
  asio::co_spawn(
      shared_->io, [self = shared_from_this()] { return self->join_loop(); },
      shared_->on_escape("the VS link"));
}

void VsLink::leave(std::function<void()> then) {
  backoff_timer_.cancel();
  if (session_ && session_->running() && !shared_->store_failed) {
    // Leave cleanly (PROTOCOL.md §8.11): the VS ends the session with gs_left rather than
    // revoking it later for missed heartbeats. end_match() ends the wait when the VS answers or
    // closes; otherwise it ends after kLeavingWait.
    send_leaving(*session_);
    spdlog::info("session {}: GsLeaving sent; waiting up to {} ms for the VS",
                 session_->match->session_id, kLeavingWait.count());
    leaving_timer_.expires_after(kLeavingWait);
    leaving_timer_.async_wait(
        [then = std::move(then)](const boost::system::error_code&) { then(); });
    return;
  }
  then();
}

void VsLink::end(const std::string& why) {
  if (shared_->match && session_) end_match(session_, why, nullptr);
}

template <class M>
void VsLink::send(VsSession& s, M& message) {
  // After the GsLeaving, the session's last message, the GS sends nothing more; nor while the
  // VS connection is lost (the session counter resumes where it stood).
  if (s.leaving || !s.connected) return;
  if constexpr (std::is_same_v<M, GsLeaving>) s.leaving = true;
  sign(message, s.match->session_key);
  Bytes bytes = encode(message);
  if constexpr (std::is_same_v<M, TranscriptDigest>) {
    s.checks.digest_sent(message.gs_counter, chains::message_hash(bytes));
  }
  shared_->record(M::kKind, chains::Direction::kIssued, s.match->session_id, bytes);
  s.vs->send(bytes);
}

// ---- joining ----------------------------------------------------------------------------------

asio::awaitable<void> VsLink::join_loop() {
  auto self = shared_from_this();
  const Config& config = shared_->config;
  std::uint32_t failures = 0;  // failed joins in a row
  while (!shared_->stopping) {
    // A session that lost only its connection is resumed; one that ended is joined afresh.
    const bool resuming = session_ && !session_->match->ended;
    bool admitted = false;
    if (resuming) {
      admitted = co_await resume_session();
    } else {
      admitted = co_await run_session();
    }
    if (shared_->stopping) break;
    // The suppressing rogue keeps its old match.
    if (shared_->match && shared_->match->zombie) co_return;
    failures = admitted ? 0 : failures + (failures < 64 ? 1 : 0);
    const std::uint64_t delay = reconnect_delay_ms(failures, config.reconnect_backoff_min_ms,
                                                   config.reconnect_backoff_max_ms, random_u64());
    spdlog::info("{} the VS again in {} ms",
                 session_ && !session_->match->ended ? "resuming with" : "joining", delay);
    backoff_timer_.expires_after(milliseconds(delay));
    boost::system::error_code ec;
    co_await backoff_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    shared_->metrics.vs_reconnects.inc();
  }
}

asio::awaitable<bool> VsLink::run_session() {
  const Config& config = shared_->config;
  // One node per attempt, each after the backoff: a fresh join has no deadline, and the backoff
  // spreads the GSes of a lost node over the others as it spreads them over a restarted one.
  const std::size_t node = join_node_;
  auto joined = co_await join_vs(*shared_, config.vs_nodes[node], identity_, own_sw_hash_);
  if (!joined) {
    if (config.vs_nodes.size() > 1) {
      join_node_ = (node + 1) % config.vs_nodes.size();
      spdlog::info("the join with the VS at {} failed: the next join goes to the VS at {}",
                   config.vs_nodes[node].address, config.vs_nodes[join_node_].address);
    }
    co_return false;
  }
  const WorldLimits world = world_limits(config, joined->accept);
  auto m =
      std::make_shared<Match>(shared_->io.get_executor(), joined->accept,
                              std::move(joined->accept_bytes), std::move(joined->session_key),
                              world, std::size_t{config.max_players} * kDistinctPlayersPerSlot);
  auto s = std::make_shared<VsSession>(shared_->io.get_executor(), config.vs_keys, joined->vs_key,
                                       node, m, joined->vs, joined->sw_hash);
  session_ = s;
  shared_->match = m;
  shared_->metrics.vs_connected.set(1);
  shared_->behaviour->on_joined(m->session_id);
  spdlog::info(
      "joined VS as session {} at {} (heartbeat every {} ms, tickets every {} ms valid {} ms, "
      "speed limit {} mm/s, move slack {} ms)",
      m->session_id, config.vs_nodes[node].address, m->accept.heartbeat_interval_ms,
      m->accept.ticket_period_ms, m->accept.ticket_validity_ms, world.max_speed_mm_s,
      world.slack_ms);
  co_await serve(s);
  co_return true;
}

asio::awaitable<bool> VsLink::resume_session() {
  const std::vector<VsNode>& nodes = shared_->config.vs_nodes;
  std::shared_ptr<VsSession> s = session_;
  // A fleet: no node can resume the session past its heartbeat deadline (lose_vs()); from then
  // on the GS joins afresh rather than knock on doors that can no longer open.
  const auto too_late = [&] {
    if (nodes.size() == 1 || std::chrono::steady_clock::now() < s->resume_deadline) return false;
    end_match(s,
              "no VS node resumed the session before its heartbeat deadline (" +
                  std::to_string(s->match->accept.heartbeat_timeout_ms) +
                  " ms after the connection was lost)",
              nullptr);
    return true;
  };
  if (too_late()) co_return false;
  // The session's node first, then the others in the order listed, all in one round: the
  // session's heartbeat deadline does not wait for a backoff per node.
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::size_t node = (s->node + i) % nodes.size();
    if (nodes.size() > 1) {
      spdlog::info("session {}: resuming with the VS at {}", s->match->session_id,
                   nodes[node].address);
    }
    ResumeAttempt attempt = co_await resume_vs(*shared_, nodes[node], identity_,
                                               s->match->session_key, s->checks, s->gs_counter + 1);
    if (attempt.sent) s->next_counter();
    if (s->match->ended || shared_->stopping) co_return false;  // the daemon stopped meanwhile
    if (attempt.outcome == ResumeAttempt::Outcome::kResumed) {
      s->node = node;
      s->vs = attempt.vs;
      s->connected = true;
      shared_->metrics.vs_connected.set(1);
      spdlog::info("session {}: resumed with the VS at {} (gs_counter {}, {} receipts, ticket {})",
                   s->match->session_id, nodes[node].address, s->gs_counter,
                   s->checks.receipt_count(), s->checks.last_ticket_seq());
      co_await serve(s);
      co_return true;
    }
    if (attempt.outcome == ResumeAttempt::Outcome::kRefused) {
      end_match(s, "the VS did not resume the session", nullptr);
      co_return false;
    }
    // A single VS that turns the resume away no longer knows the session (§8.15 check 4). A
    // fleet node may not hold it yet (its owner's death not yet seen) or at all: the next node
    // is asked, and the round again after the backoff.
    if (attempt.outcome == ResumeAttempt::Outcome::kTurnedAway && nodes.size() == 1) {
      end_match(s, "the VS did not resume the session", nullptr);
      co_return false;
    }
    if (nodes.size() > 1) {
      spdlog::info("session {}: the VS at {} {}; {}", s->match->session_id, nodes[node].address,
                   attempt.outcome == ResumeAttempt::Outcome::kUnreachable
                       ? "is unreachable"
                       : "does not hold the session",
                   i + 1 < nodes.size() ? "trying the next node" : "no node took the session up");
    }
  }
  too_late();
  co_return false;
}

asio::awaitable<void> VsLink::serve(std::shared_ptr<VsSession> s) {
  auto self = shared_from_this();
  asio::co_spawn(
      shared_->io, [self, s] { return self->heartbeat_loop(s); },
      shared_->on_escape("the heartbeat loop"));
  asio::co_spawn(
      shared_->io, [self, s] { return self->digest_loop(s); },
      shared_->on_escape("the digest loop"));
  asio::co_spawn(
      shared_->io, [self, s] { return self->nonce_loop(s); }, shared_->on_escape("the nonce loop"));
  co_await read_loop(s);
}

void VsLink::lose_vs(const std::shared_ptr<VsSession>& s, const std::string& why) {
  if (!s->connected || s->match->ended) return;
  s->connected = false;
  shared_->metrics.vs_connected.set(0);
  s->heartbeat_timer.cancel();
  s->digest_timer.cancel();
  s->match->nonce_timer.cancel();
  // What the lost connection still carried never reached the VS: the NonceBatches among it.
  s->match->nonces.connection_lost();
  s->vs->close();
  // The VS's deadline runs from the last Heartbeat it received, which left before now: no node
  // can resume the session after now + heartbeat_timeout_ms (§8.15 check 8; an adopting node
  // holds the session to the same deadline). Now, not the last frame received, because a
  // Heartbeat may have got through after that frame.
  s->resume_deadline =
      std::chrono::steady_clock::now() + milliseconds(s->match->accept.heartbeat_timeout_ms);
  spdlog::warn(
      "session {}: {}; the match goes on, and the session is resumed once the VS is "
      "back",
      s->match->session_id, app::log_text(why));
}

// ---- what the VS sends ------------------------------------------------------------------------

asio::awaitable<void> VsLink::read_loop(std::shared_ptr<VsSession> s) {
  const Match& m = *s->match;
  // A VS silent for longer is gone, or the path to it is: the connection is closed and the
  // session resumed on a new one, in time for the VS's heartbeat deadline.
  const milliseconds idle(vs_silence_limit_ms(m.accept));
  while (!m.ended) {
    auto frame = co_await s->vs->read_frame(idle);
    if (m.ended) break;
    if (!frame) {
      // A stopping GS, or one that already said it leaves, has nothing to resume.
      if (shared_->stopping || s->leaving) {
        end_match(s, "VS connection lost: " + frame.error(), nullptr);
      } else {
        lose_vs(s, "VS connection lost: " + frame.error());
      }
      break;
    }
    handle_frame(s, *frame);
  }
}

void VsLink::handle_frame(const std::shared_ptr<VsSession>& s, const Bytes& frame) {
  const SessionId session_id = s->match->session_id;
  // Nothing is recorded or acted on before its check passed; a failed check ends the match.
  const auto checked = [&](auto result) {
    if (!result) end_match(s, "VS protocol error: " + result.error(), nullptr);
    return result;
  };
  const auto received = [&](MessageKind kind, SessionId session) {
    shared_->record(kind, chains::Direction::kReceived, session, frame);
  };
  auto kind = checked(peek_kind(frame));
  if (!kind) return;
  switch (*kind) {
    case MessageKind::kPlayTicket:
      if (auto ticket = checked(s->checks.on_ticket(frame))) {
        received(*kind, session_id);
        on_ticket(*s, frame, *ticket);
      }
      return;
    case MessageKind::kProtectedReceipt:
      if (checked(s->checks.on_receipt(frame))) received(*kind, session_id);
      return;
    case MessageKind::kCheckpoint:
      if (auto checkpoint = checked(s->checks.on_checkpoint(frame))) {
        received(*kind, 0);  // checkpoints belong to no session, as in the VS log
        spdlog::debug("session {}: checkpoint over {} VS log entries", session_id,
                      checkpoint->log_size);
      }
      return;
    case MessageKind::kRevocation:
      if (auto revocation = checked(s->checks.on_revocation(frame))) {
        received(*kind, session_id);
        std::string evidence;
        for (auto e : revocation->evidence) {
          evidence += (evidence.empty() ? "" : ",") + std::to_string(e);
        }
        end_match(s,
                  "revoked by the VS: " + rules::reason_text<RevocationReason>(revocation->reason) +
                      ": " + revocation->detail + " (revocation_seq " +
                      std::to_string(revocation->revocation_seq) +
                      ", evidence at VS log positions [" + evidence + "])",
                  &frame);
      }
      return;
    default:
      end_match(s, "VS protocol error: unexpected " + std::string(kind_name(*kind)), nullptr);
      return;
  }
}

void VsLink::on_ticket(VsSession& s, const Bytes& bytes, const PlayTicket& ticket) {
  Match& m = *s.match;
  m.tickets.advance(TicketRef{ticket.ticket_seq, chains::message_hash(bytes)}, mono_ms());
  m.current_ticket = bytes;
  shared_->metrics.ticket_forwarded(ticket.issued_ms, shared_->clock.now_ms());
  TicketProofs proofs = m.nonces.on_ticket(ticket);
  if (!proofs.matched) {
    spdlog::warn("session {}: {}; forwarding it without proofs", m.session_id, proofs.problem);
  }
  const milliseconds hold = shared_->behaviour->ticket_hold(m.accept);
  for (auto& [id, weak] : shared_->clients) {
    auto c = weak.lock();
    if (!c || c->match() != s.match || !c->ready()) continue;
    TicketForward forward;
    forward.ticket = bytes;
    if (auto it = proofs.proofs.find(id); it != proofs.proofs.end()) {
      forward.has_proof = 1;
      forward.nonce = it->second.nonce;
      forward.leaf_index = it->second.leaf_index;
      forward.proof = it->second.proof;
    }
    c->forward_ticket(encode(forward), hold);
  }
  if (!s.announced) {
    s.announced = true;
    spdlog::info("session {}: listening for clients on {}", m.session_id,
                 shared_->client_address());
  }
}

void VsLink::end_match(const std::shared_ptr<VsSession>& s, const std::string& why,
                       const Bytes* revocation) {
  Match& m = *s->match;
  if (m.ended) return;
  m.ended = true;
  shared_->metrics.vs_connected.set(0);
  // A stop waiting for the VS's answer to its GsLeaving: this is it (or the VS is gone).
  if (shared_->stopping) leaving_timer_.cancel();
  s->heartbeat_timer.cancel();
  s->digest_timer.cancel();
  m.nonce_timer.cancel();
  s->vs->close();
  if (!shared_->stopping && shared_->behaviour->suppress_session_end()) {
    m.zombie = true;
    spdlog::warn("session {}: {}; SUPPRESSED: the clients are not told and keep being served",
                 m.session_id, app::log_text(why));
    return;
  }
  std::size_t closed = 0;
  for (auto& [id, weak] : shared_->clients) {
    auto c = weak.lock();
    if (!c || c->match() != s->match) continue;
    if (revocation != nullptr) c->send(*revocation);
    c->close_after_flush();
    ++closed;
  }
  if (shared_->match == s->match) shared_->match.reset();
  if (revocation != nullptr) {
    spdlog::warn("session {}: {}; notice forwarded to {} client(s), match stopped", m.session_id,
                 app::log_text(why), closed);
  } else {
    spdlog::warn("session {}: {}; {} client(s) closed, match stopped", m.session_id,
                 app::log_text(why), closed);
  }
}

// ---- what the GS sends ------------------------------------------------------------------------

asio::awaitable<void> VsLink::heartbeat_loop(std::shared_ptr<VsSession> s) {
  auto self = shared_from_this();
  const milliseconds interval(s->match->accept.heartbeat_interval_ms);
  auto next = std::chrono::steady_clock::now();
  while (s->running()) {
    send_heartbeat(*s);
    next += interval;
    // After a stall, carry on from now rather than sending a burst to catch up.
    if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
    s->heartbeat_timer.expires_at(next);
    boost::system::error_code ec;
    co_await s->heartbeat_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void VsLink::send_leaving(VsSession& s) {
  GsLeaving leaving;
  leaving.session_id = s.match->session_id;
  leaving.gs_counter = s.next_counter();
  leaving.gs_time_ms = shared_->behaviour->reported_time_ms(shared_->clock.now_ms());
  leaving.receipt_count = s.checks.receipt_count();
  leaving.receipt_tip = s.checks.receipt_tip();
  send(s, leaving);
}

void VsLink::send_heartbeat(VsSession& s) {
  Heartbeat hb;
  hb.session_id = s.match->session_id;
  hb.gs_counter = s.next_counter();
  hb.gs_time_ms = shared_->behaviour->reported_time_ms(shared_->clock.now_ms());
  hb.sw_hash = shared_->behaviour->heartbeat_sw_hash(s.joined_sw_hash);
  hb.receipt_count = s.checks.receipt_count();
  hb.receipt_tip = s.checks.receipt_tip();
  send(s, hb);
}

asio::awaitable<void> VsLink::digest_loop(std::shared_ptr<VsSession> s) {
  auto self = shared_from_this();
  const milliseconds interval(required_digest_interval_ms(shared_->config, s->match->accept));
  auto next = std::chrono::steady_clock::now();
  while (s->running()) {
    next += interval;
    if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
    s->digest_timer.expires_at(next);
    boost::system::error_code ec;
    co_await s->digest_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!s->running()) break;
    send_digest(*s);
  }
}

void VsLink::send_digest(VsSession& s) {
  Match& m = *s.match;
  TranscriptDigest digest;
  digest.session_id = m.session_id;
  digest.gs_counter = s.next_counter();
  digest.gs_time_ms = shared_->behaviour->reported_time_ms(shared_->clock.now_ms());
  const std::uint64_t tick_ms = std::max<std::uint64_t>(1, 1000 / shared_->config.tick_rate_hz);
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
  shared_->behaviour->adjust_reported(digest.players);
  send(s, digest);
  m.inputs_hash = Hash32{};
}

asio::awaitable<void> VsLink::nonce_loop(std::shared_ptr<VsSession> s) {
  auto self = shared_from_this();
  Match& m = *s->match;
  // Promptly, but at most every 100 ms (or a quarter ticket period if shorter), so that a nonce
  // waits little at the GS (docs/PROTOCOL.md §9.5) without a batch per client message.
  const milliseconds interval(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(100, m.accept.ticket_period_ms / 4)));
  while (s->running()) {
    boost::system::error_code ec;
    if (!m.nonces.has_pending()) {
      m.nonce_loop_idle = true;
      m.nonce_timer.expires_at(std::chrono::steady_clock::time_point::max());
      co_await m.nonce_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      m.nonce_loop_idle = false;
      continue;
    }
    send_nonce_batches(*s);
    m.nonce_timer.expires_after(interval);
    co_await m.nonce_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void VsLink::send_nonce_batches(VsSession& s) {
  Match& m = *s.match;
  if (!shared_->behaviour->forward_nonces()) {
    m.nonces.drop_pending();
    return;
  }
  while (m.nonces.has_pending()) {
    NonceBatch batch;
    batch.session_id = m.session_id;
    batch.gs_counter = s.next_counter();
    batch.gs_time_ms = shared_->clock.now_ms();
    batch.nonces = m.nonces.take_batch();
    send(s, batch);
  }
}

}  // namespace gsvs::gsd
