// The join handshake (PROTOCOL.md §8.2, §8.3): a challenge, the GS's JoinRequest checked, and
// either a JoinAccept that opens the session or a logged JoinReject.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

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
using std::chrono::milliseconds;

asio::awaitable<bool> Session::join() {
  VsChallenge challenge;
  challenge.challenge = crypto::random_fixed<32>();
  challenge.vs_time_ms = server_->clock.now_ms();
  conn_->send(encode(challenge));

  // Until the peer has shown a JoinRequest from an allowed identity that signed this
  // connection's challenge, it is nobody: nothing is logged and nothing signed goes back
  // (PROTOCOL.md §8.3), so a stray or hostile peer can neither grow the log nor collect VS
  // signatures. Its own log line is only the first of each summary window (§8.14), so a flood
  // cannot fill the operator's disk either.
  auto turn_away = [&](std::string_view why) {
    if (server_->connection_budget->turned_away(connection_id_)) {
      spdlog::info("join from {} turned away (not logged, no answer): {}", conn_->peer(),
                   app::log_text(why));
    }
  };
  auto frame = co_await conn_->read_frame(milliseconds(config_.handshake_timeout_ms));
  if (!frame) {
    turn_away("no JoinRequest: " + frame.error());
    co_return false;
  }
  const Bytes& bytes = *frame;
  const std::uint64_t received_ms = server_->clock.now_ms();
  if (auto kind = peek_kind(bytes); kind && *kind == MessageKind::kGsResume) {
    co_return co_await resume(bytes, challenge.challenge, received_ms);
  }
  auto request = decode<JoinRequest>(bytes);
  const JoinRequest* asked = request ? &*request : nullptr;
  // The policy in force when the request arrived judges it; where the answer is placed, the
  // policy in force there is asked again (a reload may have come in between, §8.17).
  const auto judged_by = server_->current_policy();
  const Policy& policy = judged_by->policy;
  rules::JoinSubject subject;
  subject.request = asked;
  subject.decode_error = asked ? std::string_view() : std::string_view(request.error());
  subject.max_clock_skew_ms = policy.max_clock_skew_ms;
  std::uint64_t vs_time = 0;
  // The checks that need only this connection, in the order of rules/join_rules.h; the last
  // four depend on the other sessions, the log and the fleet, and are decided where the answer is
  // placed in the log.
  rules::JoinFacts facts;
  const rules::JoinCheckAsk ask = [&](rules::JoinCheck check) -> std::optional<bool> {
    using rules::JoinCheck;
    switch (check) {
      case JoinCheck::kDecodes:
        return asked != nullptr;
      case JoinCheck::kIdentityAllowed:
        return rules::allows_identity(policy, asked->gs_identity);
      case JoinCheck::kIdentitySignature:
        return verify(*asked, asked->gs_identity, 0);
      case JoinCheck::kBuildAllowed:
        return rules::allows_build(policy, asked->sw_hash);
      case JoinCheck::kSessionSignature:
        return verify(*asked, asked->session_key, 1);
      case JoinCheck::kChallenge:
        return asked->challenge == challenge.challenge;
      case JoinCheck::kClockSkew:
        // Against the time the request arrived, not after it waited for its turn (§8.14).
        vs_time = server_->clock.now_ms();
        subject.clock_skew_ms = rules::clock_skew_ms(asked->gs_time_ms, received_ms);
        return subject.clock_skew_ms <= policy.max_clock_skew_ms;
      case JoinCheck::kVsTakesSessions:
      case JoinCheck::kIdentityFree:
      case JoinCheck::kNotQuarantined:
      case JoinCheck::kFreeInFleet:
      case JoinCheck::kNotQuarantinedInFleet:
        return std::nullopt;
    }
    return std::nullopt;
  };
  // First checks 1 to 4, whether the peer is anybody; the rest once it is its turn.
  const rules::JoinCheckAsk ask_until_authenticated =
      [&](rules::JoinCheck check) -> std::optional<bool> {
    if (check > rules::JoinCheck::kIdentitySignature) return std::nullopt;
    return ask(check);
  };
  const rules::JoinDecision identified =
      rules::decide_join(facts, ask_until_authenticated, subject);
  if (identified.outcome == rules::JoinOutcome::kTurnAway) {
    turn_away(identified.detail);
    co_return false;
  }
  if (!co_await admitted(asked->gs_identity)) co_return false;
  const rules::JoinDecision early = rules::decide_join(facts, ask, subject);
  if (early.outcome == rules::JoinOutcome::kReject) {
    co_await reject(bytes, *early.reason, early.detail);
    co_return false;
  }
  const JoinRequest& r = *asked;
  // Checks 11 and 12 are the fleet's database's to answer (§8.10, §8.16): asked before the answer
  // is placed, where they are decided with the others; a claim granted for a join that is not
  // accepted is given back.
  bool claimed_in_fleet = false;
  if (server_->fleet) {
    auto asked_fleet = co_await server_->ask_fleet_for_join(r.gs_identity, vs_time);
    if (!asked_fleet) {
      spdlog::error("join from {} identity {} closed unanswered: {}; its GS retries", conn_->peer(),
                    short_hex(r.gs_identity), app::log_text(asked_fleet.error()));
      co_return false;
    }
    const storage::Fleet::Claim& claim = asked_fleet->claim;
    claimed_in_fleet = claim.granted;
    facts.set(rules::JoinCheck::kFreeInFleet, claim.granted);
    subject.fleet_holder = claim.holder;
    subject.fleet_takeover_failed = asked_fleet->takeover_failed;
    if (claim.granted) {
      const auto& quarantine = asked_fleet->quarantine;
      facts.set(rules::JoinCheck::kNotQuarantinedInFleet, !quarantine);
      if (quarantine) subject.fleet_quarantine = fleet_quarantine_detail(*quarantine);
    }
  } else {
    facts.set(rules::JoinCheck::kFreeInFleet, true)
        .set(rules::JoinCheck::kNotQuarantinedInFleet, true);
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
  Bytes accept_bytes;
  bool withdrawn = false;  // a reload barred the identity before the answer was placed
  bool stale = false;      // it waited longer than a carry looks back (below)
  // The last three checks depend on the other sessions, so they are decided where the answer is
  // placed in the log: whether the identity is busy or quarantined is then exactly what the log
  // shows, and a join cannot slip in before a quarantining revocation it races is committed.
  std::optional<JoinReject> refused;
  std::string refused_why;  // the whole detail for vsd's log; the JoinReject's may be cut (§8.3)
  Bytes reject_bytes;
  std::string no_session_id;  // why no id could be had for an accepted join
  // Where the session's players start from (§8.6 "Continuity across sessions"): read where the
  // JoinAccept is placed, so every earlier session of the identity has given its positions.
  std::vector<rules::NotarizedPosition> carried;
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t, const Hash32&) {
    {
      std::lock_guard lock(server_->mutex);
      // The policy in force here, where the answer is placed, is the one the log shows: a
      // reload since the checks above judges the request again (§8.17).
      const Policy& in_force = server_->policy->policy;
      if (server_->policy != judged_by) {
        facts
            .set(rules::JoinCheck::kIdentityAllowed,
                 rules::allows_identity(in_force, r.gs_identity))
            .set(rules::JoinCheck::kBuildAllowed, rules::allows_build(in_force, r.sw_hash));
      }
      // A join that waited longer than half of what a carry looks back (a fleet database that
      // hung) is turned away, and its GS retries: its answer, at its arrival time, could ask of
      // quarantines before the reach of the latest StateCarried (PROTOCOL.md §8.16).
      if (server_->clock.now_ms() - vs_time > rules::kCarryLookbackMs / 2) {
        withdrawn = stale = true;
        return std::vector<storage::PendingEntry>{};
      }
      facts.set(rules::JoinCheck::kVsTakesSessions, !server_->stopping)
          .set(rules::JoinCheck::kIdentityFree, !server_->busy_identities.contains(r.gs_identity));
      // At the join's VS time, which its answer carries: a lapse is judged on logged times.
      const auto quarantine = server_->quarantine.quarantine_of(r.gs_identity, vs_time);
      facts.set(rules::JoinCheck::kNotQuarantined, !quarantine);
      if (quarantine) subject.quarantine = rules::quarantine_detail(r.gs_identity, *quarantine);
      const rules::JoinDecision last = rules::decide_join(facts, subject);
      auto id = last.accepted() ? server_->take_session_id() : Result<SessionId>(SessionId{0});
      if (!id) {
        no_session_id = id.error();
        withdrawn = true;
        return std::vector<storage::PendingEntry>{};
      }
      if (last.accepted()) {
        session_id_ = *id;
        server_->busy_identities[r.gs_identity] = session_id_;
        server_->live[session_id_] = shared_from_this();
        server_->known_sessions[session_id_] =
            KnownSession{r.gs_identity, r.session_key, KnownSession::State::kLive, r.sw_hash};
        // The terms of the policy in force where the JoinAccept is placed, for the session's
        // whole life: a later reload changes only new sessions' terms.
        rules::announce_policy(in_force, accept);
        carried = server_->continuity.carried_into(
            r.gs_identity, vs_time, accept.continuity_window_ms, accept.max_players_per_session);
      } else if (last.outcome == rules::JoinOutcome::kTurnAway) {
        withdrawn = true;
        return std::vector<storage::PendingEntry>{};
      } else {
        refused = make_reject(bytes, *last.reason, last.detail, vs_time);
        refused_why = last.detail;
      }
    }
    if (refused) {
      reject_bytes = server_->sign_and_encode(*refused);
      return reject_entries(MessageKind::kJoinRequest, bytes, *refused, reject_bytes);
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
  const bool logged = co_await log_at_head(build, &placed);
  if (claimed_in_fleet && (withdrawn || refused)) server_->release_in_fleet(r.gs_identity);
  // So that a node that takes the claim over after this one dies reads this session's end from
  // this log (§8.16 "In a fleet"). Queued on the fleet thread: a death before it runs leaves the
  // claim naming no session, which waits for this node's start (fail closed).
  if (claimed_in_fleet && logged && !withdrawn && !refused && no_session_id.empty()) {
    server_->claimed_for_in_fleet(r.gs_identity, session_id_);
  }
  if (!no_session_id.empty()) {
    spdlog::error("join from {} identity {} closed unanswered: no session id: {}; its GS retries",
                  conn_->peer(), short_hex(r.gs_identity), app::log_text(no_session_id));
    co_return false;
  }
  if (withdrawn) {
    turn_away(stale ? "its join waited more than " + std::to_string(rules::kCarryLookbackMs / 2) +
                          " ms to be answered"
                    : "identity " + short_hex(r.gs_identity) +
                          " removed by a reload while its join was checked");
    co_return false;
  }
  if (refused) {
    server_->metrics.joins_rejected.inc(static_cast<JoinRejectReason>(refused->reason));
    spdlog::warn("join from {} rejected: {}: {}", conn_->peer(),
                 reason_name(static_cast<JoinRejectReason>(refused->reason)),
                 app::log_text(refused_why));
    if (logged) conn_->send(reject_bytes);
    co_return false;
  }
  if (!logged) {
    server_->session_ended(session_id_, identity_);
    co_return false;
  }
  join_accept_seq_ = placed.back().header.seq;
  // Judged by exactly the terms the VS signed, as an auditor will.
  take_up(std::make_unique<rules::SessionRules>(rules::SessionStart{
              accept, join_accept_seq_, vs_time, chains::message_hash(accept_bytes)}),
          vs_time);
  rules_->carry(carried);
  conn_->send(accept_bytes);
  server_->metrics.joins_accepted.inc();
  spdlog::info("session {}: joined from {} identity {} build {}", session_id_, conn_->peer(),
               short_hex(identity_), short_hex(sw_hash_));
  revoke_pending_withdrawal();
  co_return true;
}

void Session::log_first_closed(std::atomic<std::uint64_t>& closed_since_summary,
                               const std::string& why, const PublicKey& identity) const {
  // The first since listener.cpp's last summary line has a line of its own; the summary counts
  // the rest, so that a storm of returning GSes does not write a line each.
  if (closed_since_summary.fetch_add(1) == 0) {
    spdlog::warn("join from {} identity {} closed unanswered: {}; its GS retries", conn_->peer(),
                 short_hex(identity), why);
  }
}

asio::awaitable<bool> Session::admitted(const PublicKey& identity) {
  // Authenticated: from here the connection counts against max_connections, not the budget of
  // strangers, and nothing newer displaces it. Refused when a newer connection took its place
  // while its signatures were checked, or max_connections peers are authenticated: it is closed,
  // unanswered and unlogged, as if it had been refused at accept.
  if (!server_->connection_budget->authenticate(connection_id_)) {
    spdlog::warn(
        "join from {} identity {} closed unanswered: max_connections ({}) reached or "
        "its place taken by a newer connection",
        conn_->peer(), short_hex(identity), config_.max_connections);
    co_return false;
  }
  // Joins and resumes go ahead at max_joins_per_second: this one waits its turn, if that is not
  // too long for its GS to wait for an answer (PROTOCOL.md §8.14).
  const auto arrived = std::chrono::steady_clock::now();
  const auto turn = server_->join_pacer->reserve(arrived);
  if (!turn) {
    log_first_closed(server_->joins_closed_paced,
                     fmt::format("more joins are waiting than max_joins_per_second ({}) decides "
                                 "in half of handshake_timeout_ms",
                                 config_.max_joins_per_second),
                     identity);
    co_return false;
  }
  asio::steady_timer wait(conn_->executor());
  boost::system::error_code ec;
  if (*turn > std::chrono::steady_clock::duration::zero()) {
    wait.expires_after(*turn);
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // And not while the session loops run late (§8.14): each join adds work to a loop, and a loop
  // behind stamps live sessions' digests late and together, which the movement rule reads as no
  // time between them. Held, with its turn, for at most half of handshake_timeout_ms in all; then
  // closed, and its GS retries.
  const std::chrono::milliseconds max_lag(config_.admission_max_lag_ms);
  if (max_lag.count() == 0) co_return true;
  const auto give_up = arrived + std::chrono::milliseconds(config_.handshake_timeout_ms / 2);
  constexpr std::chrono::milliseconds kMaxLagPoll{320};
  std::chrono::milliseconds poll = SessionLoop::kLagProbePeriod;
  while (server_->session_loop_lag() > max_lag) {
    if (!server_->joins_held_by_lag.exchange(true)) {
      spdlog::warn(
          "session loops run {} ms late (admission_max_lag_ms {}): joins and resumes are held "
          "until they catch up",
          std::chrono::duration_cast<std::chrono::milliseconds>(server_->session_loop_lag())
              .count(),
          config_.admission_max_lag_ms);
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      log_first_closed(server_->joins_closed_by_lag,
                       fmt::format("the session loops stayed over admission_max_lag_ms ({}) for "
                                   "half of handshake_timeout_ms",
                                   config_.admission_max_lag_ms),
                       identity);
      co_return false;
    }
    // Each held join looks again later each time (20 ms doubling to 320 ms): thousands of them
    // polling every few ms would themselves keep the loops late.
    wait.expires_after(poll);
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (server_->stopping) co_return false;
    poll = std::min(poll * 2, kMaxLagPoll);
  }
  if (server_->joins_held_by_lag.exchange(false)) {
    spdlog::info("session loops caught up: joins and resumes go ahead");
  }
  co_return true;
}

void Session::take_up(std::unique_ptr<rules::SessionRules> rules, std::uint64_t joined_vs_ms) {
  // Judged by exactly the terms the VS signed, as an auditor will.
  rules_ = std::move(rules);
  const JoinAccept& accept = rules_->accept();
  session_id_ = accept.session_id;
  identity_ = accept.gs_identity;
  session_key_ = accept.session_key;
  sw_hash_ = accept.sw_hash;
  join_accept_seq_ = rules_->start().accept_position;
  replies_ = ReplyBacklog(accept.max_receipt_lag);
  joined_ = true;
  update_info([&](Info& i) {
    i.session_id = session_id_;
    i.identity = identity_;
    i.sw_hash = sw_hash_;
    i.peer = conn_->peer();
    i.joined_vs_ms = joined_vs_ms;
    i.gs_counter = rules_->last_counter();
    i.tickets = rules_->tickets_issued();
  });
}

void Session::displace() {
  asio::post(conn_->executor(), [self = shared_from_this()] {
    if (!self->joined_) self->conn_->close();
  });
}

JoinReject Session::make_reject(const Bytes& request_bytes, JoinRejectReason reason,
                                const std::string& detail,
                                std::optional<std::uint64_t> vs_time_ms) const {
  JoinReject reject;
  reject.join_request_hash = chains::message_hash(request_bytes);
  reject.vs_time_ms = vs_time_ms ? *vs_time_ms : server_->clock.now_ms();
  reject.reason = static_cast<std::uint16_t>(reason);
  // Never more bytes back than came in (PROTOCOL.md §8.3): the detail is cut to what the
  // request's size leaves after the JoinReject's fixed fields.
  const std::size_t fixed_size = encode(reject).size();
  const std::size_t room =
      request_bytes.size() > fixed_size ? request_bytes.size() - fixed_size : 0;
  // A cut detail ends in "…", so that nobody reads its last word as whole.
  constexpr std::string_view kCut = "\xE2\x80\xA6";
  const std::size_t limit = std::min(room, kMaxDetailBytes);
  reject.detail = detail.size() <= limit || limit < kCut.size()
                      ? truncate_utf8(detail, limit)
                      : truncate_utf8(detail, limit - kCut.size()) + std::string(kCut);
  return reject;
}

std::vector<storage::PendingEntry> Session::reject_entries(MessageKind request_kind,
                                                           const Bytes& request_bytes,
                                                           const JoinReject& reject,
                                                           const Bytes& reject_bytes) {
  // The request (a JoinRequest or a GsResume) and its answer in one submit, placed next to each
  // other, under session 0 (PROTOCOL.md §8.3, §8.15).
  return {pending(request_kind, chains::Direction::kReceived, 0, reject.vs_time_ms, request_bytes),
          pending(MessageKind::kJoinReject, chains::Direction::kIssued, 0, reject.vs_time_ms,
                  reject_bytes)};
}

asio::awaitable<void> Session::reject(const Bytes& request_bytes, JoinRejectReason reason,
                                      std::string detail) {
  JoinReject reject = make_reject(request_bytes, reason, detail);
  Bytes reject_bytes = server_->sign_and_encode(reject);
  server_->metrics.joins_rejected.inc(reason);
  spdlog::warn("join from {} rejected: {}: {}", conn_->peer(), reason_name(reason),
               app::log_text(detail));
  if (co_await log(
          reject_entries(MessageKind::kJoinRequest, request_bytes, reject, reject_bytes))) {
    conn_->send(reject_bytes);
  }
}

}  // namespace gsvs::vsd
