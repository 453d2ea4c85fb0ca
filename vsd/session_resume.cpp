// A GS takes up its session on a new connection (PROTOCOL.md §8.15): the GsResume checked in the
// order of the spec, then either a ResumeAccept, after which the session goes on as if the
// connection had never broken, or a logged JoinReject.
#include <spdlog/spdlog.h>

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
  if (!known) {
    turn_away(session +
              ": unknown_session (no such session known to this run, or another "
              "identity or session key)");
    co_return false;
  }
  if (!verify(r, r.session_key)) {
    turn_away(session + ": the GsResume does not verify under the session key");
    co_return false;
  }
  if (!co_await admitted(r.gs_identity)) co_return false;

  // Checks 6 to 10 where the answer is placed in the log, so that whether the session was
  // suspended, live or ended is exactly what the log shows at that point.
  std::optional<JoinReject> refused;
  Bytes answer_bytes;
  std::unique_ptr<rules::SessionRules> taken;
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
        decision = {JoinRejectReason::kIdentityBusy, session + " is live on another connection"};
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
          known_session->second.state = KnownSession::State::kLive;
          server_->live[r.session_id] = shared_from_this();
        }
      }
    }
    if (!decision.accepted()) {
      refused = make_reject(bytes, *decision.refusal, decision.why, vs_time);
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
  if (refused) {
    server_->metrics.joins_rejected.inc(static_cast<JoinRejectReason>(refused->reason));
    spdlog::warn("resume of {} from {} refused: {}: {}", session, conn_->peer(),
                 reason_name(static_cast<JoinRejectReason>(refused->reason)),
                 app::log_text(refused->detail));
    if (logged) conn_->send(answer_bytes);
    co_return false;
  }
  take_up(std::move(taken), vs_time);
  if (!logged) {
    end();
    co_return false;
  }
  conn_->send(answer_bytes);
  server_->metrics.resumes_accepted.inc();
  spdlog::info("{}: resumed from {} (gs_counter {}, {} receipts, ticket {})", session,
               conn_->peer(), r.gs_counter, rules_->receipts_issued(), rules_->tickets_issued());
  revoke_pending_withdrawal();
  co_return true;
}

}  // namespace gsvs::vsd
