// A GS takes up its session on a new connection (PROTOCOL.md §8.15): the GsResume checked in the
// order of the spec, then either a ResumeAccept, after which the session goes on as if the
// connection had never broken, or a logged JoinReject.
#include <spdlog/spdlog.h>

#include <optional>
#include <utility>
#include <vector>

#include "app/log_line.h"
#include "protocol/chains.h"
#include "rules/join_rules.h"
#include "rules/policy_rules.h"
#include "rules/quarantine.h"
#include "vsd/server_state.h"
#include "vsd/session.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

asio::awaitable<bool> Session::resume(const Bytes& bytes, const Nonce32& challenge,
                                      std::uint64_t received_ms) {
  // Checks 1 to 5 decide whether the peer proved anything: until then it is nobody, and nothing
  // is logged or signed for it (§8.3, §8.14). The reason goes to the VS's own log only.
  auto turn_away = [&](std::string_view why) {
    if (server_->connection_budget->turned_away(connection_id_)) {
      spdlog::info("resume from {} turned away (not logged, no answer): {}", conn_->peer(),
                   app::log_text(why));
    }
  };
  auto decoded = decode<GsResume>(bytes);
  if (!decoded) {
    turn_away("malformed GsResume: " + decoded.error());
    co_return false;
  }
  const GsResume& r = *decoded;
  const std::string session = "session " + std::to_string(r.session_id);
  if (r.challenge != challenge) {
    turn_away(session + ": not this connection's challenge");
    co_return false;
  }
  if (!rules::allows_identity(server_->current_policy()->policy, r.gs_identity)) {
    turn_away(session + ": identity " + short_hex(r.gs_identity) + " is not allowed");
    co_return false;
  }
  bool known = false;
  {
    std::lock_guard lock(server_->mutex);
    auto it = server_->known_sessions.find(r.session_id);
    known = it != server_->known_sessions.end() && it->second.identity == r.gs_identity &&
            it->second.session_key == r.session_key;
  }
  // Whether the GsResume verifies under the session key it names: checked once.
  std::optional<bool> verified;
  const auto proves_key = [&] {
    if (!verified) verified = verify(r, r.session_key);
    return *verified;
  };
  // In a fleet, a session of a node that died is taken up here (§8.10), for a GsResume that
  // proves the key it names: nothing is read for a peer that proved nothing.
  if (!known && server_->fleet && proves_key()) known = co_await adopt(r);
  if (!known) {
    turn_away(session +
              ": unknown_session (no such session known to this run, or another "
              "identity or session key)");
    co_return false;
  }
  if (!proves_key()) {
    turn_away(session + ": the GsResume does not verify under the session key");
    co_return false;
  }
  if (!co_await admitted(r.gs_identity)) co_return false;
  // A session live on another connection of this run (a network cut: that connection is gone,
  // or half-open and still looks alive) is taken from it first, on its own loop, once the
  // receipts it is signing are placed: from then on that connection acts for the session no
  // more, whatever it still carries.
  std::shared_ptr<Session> holder;
  {
    std::lock_guard lock(server_->mutex);
    auto live = server_->live.find(r.session_id);
    if (live != server_->live.end() && live->second.get() != this) holder = live->second;
  }
  if (holder) {
    // Built apart from the co_await: g++ 12 destroys a temporary with a destructor (the
    // lambda's shared_ptr) twice when it is an argument in a co_await expression.
    auto hand_over = [holder] { return holder->hand_over_for_resume(); };
    auto handed_over =
        asio::co_spawn(holder->conn_->executor(), std::move(hand_over), asio::use_awaitable);
    co_await std::move(handed_over);
  }

  // Checks 6 to 10 where the answer is placed in the log, so that whether the session was
  // suspended, live or ended is exactly what the log shows at that point.
  std::optional<JoinReject> refused;
  std::string refused_why;  // the whole detail for vsd's log; the JoinReject's may be cut (§8.3)
  bool still_held = false;  // live on a connection whose join or resume is still being logged
  Bytes answer_bytes;
  std::unique_ptr<rules::SessionRules> taken;
  std::optional<ReplyBacklog> taken_replies;  // none after a restart: a graceful stop lost none
  std::uint64_t vs_time = 0;
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t size, const Hash32&) {
    vs_time = server_->clock.now_ms();
    rules::ResumeDecision decision;
    {
      std::lock_guard lock(server_->mutex);
      // Looked up again: an ended session may have been forgotten since check 4.
      auto known_session = server_->known_sessions.find(r.session_id);
      auto suspended = server_->suspended.find(r.session_id);
      const auto quarantine = server_->quarantine.quarantine_of(r.gs_identity, vs_time);
      if (quarantine) {
        // Before anything else (§8.16): a quarantined identity takes up no session.
        decision = {JoinRejectReason::kQuarantined,
                    rules::quarantine_detail(r.gs_identity, *quarantine)};
      } else if (known_session == server_->known_sessions.end() ||
                 known_session->second.state == KnownSession::State::kEnded) {
        decision = {JoinRejectReason::kSessionEnded, session + " was revoked"};
      } else if (suspended == server_->suspended.end()) {
        // Its connection could not hand it over yet (its own join or resume is not yet
        // durable, or another resume took it first). Nothing is decided here: the GS retries.
        still_held = true;
        return std::vector<storage::PendingEntry>{};
      } else {
        // The window at the time the answer is logged, as an auditor reads it; the clock skew
        // against the time the GsResume arrived, not after it waited for its turn (§8.14).
        decision = suspended->second->decide_resume(r, vs_time);
        const std::uint64_t skew = rules::clock_skew_ms(r.gs_time_ms, received_ms);
        const std::uint32_t max_skew = server_->policy->policy.max_clock_skew_ms;
        if (decision.accepted() && skew > max_skew) {
          decision = {JoinRejectReason::kClockSkew, "gs_time_ms is " + std::to_string(skew) +
                                                        " ms from the VS clock; the limit "
                                                        "is " +
                                                        std::to_string(max_skew) + " ms"};
        }
        if (decision.accepted()) {
          taken = std::move(suspended->second);
          server_->suspended.erase(suspended);
          if (auto replies = server_->handed_over_replies.find(r.session_id);
              replies != server_->handed_over_replies.end()) {
            taken_replies = std::move(replies->second);
            server_->handed_over_replies.erase(replies);
          }
          known_session->second.state = KnownSession::State::kLive;
          server_->live[r.session_id] = shared_from_this();
        }
      }
    }
    if (!decision.accepted()) {
      refused = make_reject(bytes, *decision.refusal, decision.why, vs_time);
      refused_why = decision.why;
      answer_bytes = server_->sign_and_encode(*refused);
      return reject_entries(MessageKind::kGsResume, bytes, *refused, answer_bytes);
    }
    // The ResumeAccept is the entry right after the GsResume: liveness runs from it.
    taken->resumed(r, vs_time, size + 1);
    ResumeAccept accept;
    accept.session_id = r.session_id;
    accept.resume_hash = chains::message_hash(bytes);
    accept.gs_counter = taken->last_counter();
    accept.receipt_count = taken->receipts_issued();
    accept.receipt_tip = taken->receipt_tip();
    accept.ticket_seq = taken->tickets_issued();
    accept.ticket_hash = taken->last_ticket_hash_named();
    accept.vs_time_ms = vs_time;
    accept.heartbeat_deadline_ms = taken->heartbeat_deadline_ms();
    answer_bytes = server_->sign_and_encode(accept);
    return std::vector<storage::PendingEntry>{
        pending(MessageKind::kGsResume, chains::Direction::kReceived, r.session_id, vs_time, bytes),
        pending(MessageKind::kResumeAccept, chains::Direction::kIssued, r.session_id, vs_time,
                answer_bytes)};
  };
  const bool logged = co_await log_at_head(build);
  if (still_held) {
    spdlog::warn(
        "resume of {} from {} closed unanswered: the session is still taken up on "
        "another connection; its GS retries",
        session, conn_->peer());
    co_return false;
  }
  if (refused) {
    server_->metrics.joins_rejected.inc(static_cast<JoinRejectReason>(refused->reason));
    spdlog::warn("resume of {} from {} refused: {}: {}", session, conn_->peer(),
                 reason_name(static_cast<JoinRejectReason>(refused->reason)),
                 app::log_text(refused_why));
    if (logged) conn_->send(answer_bytes);
    co_return false;
  }
  take_up(std::move(taken), vs_time);
  if (taken_replies) replies_ = std::move(*taken_replies);
  if (!logged) {
    end();
    co_return false;
  }
  conn_->send(answer_bytes);
  // The receipts and tickets the cut swallowed, in the order issued, before any new one: each
  // chains on from what the GS holds (§8.15). They were logged before the GsResume, so they are
  // durable now that the ResumeAccept is.
  const std::vector<Bytes> missed = replies_.missed_by(r.receipt_count, r.ticket_seq);
  for (const Bytes& reply : missed) conn_->send(reply);
  server_->metrics.resumes_accepted.inc();
  spdlog::info(
      "{}: resumed from {} (gs_counter {}, {} receipts, ticket {}; {} sent again that the GS "
      "had not got)",
      session, conn_->peer(), r.gs_counter, rules_->receipts_issued(), rules_->tickets_issued(),
      missed.size());
  revoke_pending_withdrawal();
  co_return true;
}

asio::awaitable<bool> Session::hand_over_for_resume() {
  co_await until_receipts_placed();
  if (!joined_ || revoked_ || ended_) co_return false;
  const std::uint64_t deadline_ms = rules_->heartbeat_deadline_ms();
  {
    std::lock_guard lock(server_->mutex);
    auto live = server_->live.find(session_id_);
    if (live == server_->live.end() || live->second.get() != this) co_return false;
    server_->live.erase(live);
    server_->known_sessions[session_id_].state = KnownSession::State::kSuspended;
    // The identity stays busy: the session is not over, only between connections.
    server_->suspended[session_id_] = std::move(rules_);
    server_->handed_over_replies[session_id_] = std::exchange(replies_, ReplyBacklog{});
  }
  handed_over_ = true;
  joined_ = false;  // end() leaves the identity and the live set alone; revoke() does nothing
  spdlog::info(
      "session {}: its GS resumes on a new connection; the connection from {} is closed "
      "and acts for the session no more",
      session_id_, conn_->peer());
  end();
  // A resume that is refused, or never decided, leaves the session waiting with its liveness
  // running: missed_heartbeats at its deadline, as on its connection.
  server_->expire_at_heartbeat_deadline(session_id_, deadline_ms);
  co_return true;
}

void ServerState::revoke_suspended(SessionId id, const SuspendedVerdict& verdict) {
  std::optional<RevocationReason> revoked_for;
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t size, const Hash32&) {
    std::vector<storage::PendingEntry> entries;
    std::lock_guard lock(mutex);
    auto it = suspended.find(id);
    if (it == suspended.end()) return entries;
    const std::uint64_t now = clock.now_ms();
    auto revocation = verdict(*it->second, now);
    if (!revocation) return entries;
    const PublicKey identity = it->second->accept().gs_identity;
    revocation->session_id = id;
    revocation->revocation_seq = next_revocation_seq.fetch_add(1);
    revocation->vs_time_ms = now;
    revocation->detail = truncate_utf8(revocation->detail, kMaxDetailBytes);
    if (revocation->evidence.size() > kMaxEvidence) revocation->evidence.resize(kMaxEvidence);
    revoked_at_head(*revocation, identity, size);
    // Its players' positions hold the identity's next session as any ended session's do
    // (§8.6): a GS that gets its own resume refused must not shed them by that.
    remember_positions(*it->second, now);
    suspended.erase(it);
    revoked_for = static_cast<RevocationReason>(revocation->reason);
    spdlog::warn("session {} (between connections): revoked: {}: {}", id, reason_name(*revoked_for),
                 app::log_text(revocation->detail));
    entries.push_back(pending(MessageKind::kRevocation, chains::Direction::kIssued, id, now,
                              sign_and_encode(*revocation)));
    return entries;
  };
  const std::string what = "revoking session " + std::to_string(id);
  auto placed = writer->submit_at_head(build, stop_if_not_durable(what));
  if (!placed) {
    store_failed(what, placed.error());
  } else if (revoked_for) {
    metrics.revocations.inc(*revoked_for);
  }
}

void ServerState::expire_at_heartbeat_deadline(SessionId id, std::uint64_t deadline_ms) {
  auto timer = std::make_shared<asio::steady_timer>(io, clock.steady_at(deadline_ms));
  timer->async_wait([self = shared_from_this(), timer, id](boost::system::error_code ec) {
    if (ec || self->stopping) return;
    self->revoke_suspended(
        id, [](const rules::SessionRules& rules, std::uint64_t now) -> std::optional<Revocation> {
          // Resumed since (then not here), or suspended by a start: not this timer's to end.
          if (rules.suspended()) return std::nullopt;
          const rules::Judgement liveness = rules.check_liveness(now);
          if (!liveness.refused()) return std::nullopt;
          Revocation revocation;
          revocation.reason = static_cast<std::uint16_t>(RevocationReason::kMissedHeartbeats);
          revocation.detail = liveness.why;
          revocation.evidence = liveness.prior_evidence;
          return revocation;
        });
  });
}

void ServerState::revoke_handed_over(SessionId id, RevocationReason reason, std::string detail,
                                     std::optional<std::uint64_t> policy_position) {
  std::shared_ptr<Session> successor;
  {
    std::lock_guard lock(mutex);
    auto it = live.find(id);
    if (it != live.end()) successor = it->second;
  }
  if (successor) {
    if (policy_position) {
      successor->revoke_for_policy(std::move(detail), *policy_position);
    } else {
      successor->revoke_from_outside(reason, std::move(detail));
    }
    return;
  }
  revoke_suspended(id, [&](const rules::SessionRules& rules, std::uint64_t) {
    Revocation revocation;
    revocation.reason = static_cast<std::uint16_t>(reason);
    revocation.detail = detail;
    revocation.evidence = {rules.start().accept_position};
    if (policy_position) revocation.evidence.push_back(*policy_position);
    return std::optional<Revocation>(std::move(revocation));
  });
}

}  // namespace gsvs::vsd
