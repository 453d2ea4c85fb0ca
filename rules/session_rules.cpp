#include "rules/session_rules.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <variant>

#include "protocol/chains.h"
#include "protocol/merkle.h"

namespace gsvs::rules {

using protocol::RevocationReason;

namespace {

Judgement refusal(Verdict verdict, std::string why, bool cites_message,
                  std::vector<std::uint64_t> prior_evidence = {}) {
  Judgement j;
  j.verdict = verdict;
  j.why = std::move(why);
  j.cites_message = cites_message;
  j.prior_evidence = std::move(prior_evidence);
  return j;
}

}  // namespace

std::optional<Envelope> envelope_of(const protocol::AnyMessage* message) {
  std::optional<Envelope> envelope;
  if (message == nullptr) return envelope;
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, protocol::Heartbeat> ||
                      std::is_same_v<M, protocol::TranscriptDigest> ||
                      std::is_same_v<M, protocol::NonceBatch> ||
                      std::is_same_v<M, protocol::GsLeaving>) {
          envelope = Envelope{m.session_id, m.gs_counter};
        }
      },
      *message);
  return envelope;
}

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAccepted:
      return "accepted";
    case Verdict::kMalformed:
      return "malformed";
    case Verdict::kSessionMismatch:
      return "session_mismatch";
    case Verdict::kBadSignature:
      return "bad_signature";
    case Verdict::kCounterRegression:
      return "counter_regression";
    case Verdict::kMissedHeartbeats:
      return "missed_heartbeats";
    case Verdict::kSwHashChanged:
      return "sw_hash_changed";
    case Verdict::kReceiptTipMismatch:
      return "receipt_tip_mismatch";
    case Verdict::kTooManyPlayers:
      return "too_many_players";
    case Verdict::kSpeedViolation:
      return "speed_violation";
    case Verdict::kDigestsLate:
      return "digests_late";
    case Verdict::kDigestsStopped:
      return "digests_stopped";
    case Verdict::kAfterRevocation:
      return "after_revocation";
  }
  return "unknown";
}

std::optional<RevocationReason> reason_for(Verdict verdict) {
  switch (verdict) {
    case Verdict::kMalformed:
      return RevocationReason::kMalformedMessage;
    case Verdict::kSessionMismatch:
      return RevocationReason::kSessionMismatch;
    case Verdict::kBadSignature:
      return RevocationReason::kBadSignature;
    case Verdict::kCounterRegression:
      return RevocationReason::kCounterRegression;
    case Verdict::kMissedHeartbeats:
      return RevocationReason::kMissedHeartbeats;
    case Verdict::kSwHashChanged:
      return RevocationReason::kSwHashChanged;
    case Verdict::kReceiptTipMismatch:
      return RevocationReason::kReceiptTipMismatch;
    case Verdict::kTooManyPlayers:
      return RevocationReason::kTooManyPlayers;
    case Verdict::kSpeedViolation:
      return RevocationReason::kSpeedViolation;
    case Verdict::kDigestsLate:
      return RevocationReason::kDigestsLate;
    case Verdict::kDigestsStopped:
      return RevocationReason::kDigestsStopped;
    case Verdict::kAccepted:
    case Verdict::kAfterRevocation:
      return std::nullopt;
  }
  return std::nullopt;
}

Verdict verdict_on_violation(const MovementStep& violation) {
  return violation.late ? Verdict::kDigestsLate : Verdict::kSpeedViolation;
}

std::vector<std::uint64_t> Judgement::evidence(std::uint64_t message_position) const {
  std::vector<std::uint64_t> out = prior_evidence;
  if (cites_message) out.push_back(message_position);
  return out;
}

SessionRules::SessionRules(const SessionStart& start)
    : start_(start),
      movement_(limits_from(start_.accept)),
      liveness_since_ms_(start_.accept_vs_ms),
      recent_tips_{Hash32{}},
      last_ticket_hash_(start_.accept_hash),
      recent_ticket_hashes_{Hash32{}} {}

std::uint64_t SessionRules::heartbeat_deadline_ms() const {
  if (suspended_until_ms_) return *suspended_until_ms_;
  return liveness_since_ms_ + start_.accept.heartbeat_timeout_ms;
}

Judgement SessionRules::check_liveness(std::uint64_t now_ms) const {
  // A suspended session owes no heartbeat: it ends at its window by vs_shutdown, or resumes.
  if (ended_ || suspended() ||
      !liveness_lapsed(liveness_since_ms_, start_.accept.heartbeat_timeout_ms, now_ms)) {
    return {};
  }
  const std::uint64_t last = last_heartbeat_position_.value_or(start_.accept_position);
  return refusal(Verdict::kMissedHeartbeats,
                 "no valid heartbeat for " + std::to_string(now_ms - liveness_since_ms_) +
                     " ms; the limit is " + std::to_string(start_.accept.heartbeat_timeout_ms) +
                     " ms (last at log position " + std::to_string(last) + ")",
                 false, {last});
}

std::optional<std::uint64_t> SessionRules::digest_deadline_ms() const {
  if (ended_ || suspended() || players_in_play_ == 0) return std::nullopt;
  return digests_since_ms_ + start_.accept.digest_timeout_ms;
}

Judgement SessionRules::check_digests(std::uint64_t now_ms) const {
  const auto deadline = digest_deadline_ms();
  if (!deadline || now_ms < *deadline) return {};
  return refusal(Verdict::kDigestsStopped,
                 "no TranscriptDigest for " + std::to_string(now_ms - digests_since_ms_) +
                     " ms while the session has players; the limit is " +
                     std::to_string(start_.accept.digest_timeout_ms) +
                     " ms (the last digest, at log position " +
                     std::to_string(*last_digest_position_) + ", named " +
                     std::to_string(players_in_play_) + " players)",
                 false, {*last_digest_position_});
}

Judgement SessionRules::check_deadlines(std::uint64_t now_ms) const {
  Judgement heartbeats = check_liveness(now_ms);
  Judgement digests = check_digests(now_ms);
  if (!digests.refused()) return heartbeats;
  if (heartbeats.refused() && heartbeat_deadline_ms() <= *digest_deadline_ms()) return heartbeats;
  return digests;
}

std::uint64_t SessionRules::next_deadline_ms() const {
  return std::min(heartbeat_deadline_ms(),
                  digest_deadline_ms().value_or(std::numeric_limits<std::uint64_t>::max()));
}

Judgement SessionRules::check_envelope(const Received& received) const {
  if (ended_) {
    Judgement j;
    j.verdict = Verdict::kAfterRevocation;
    j.why = "arrived after the session was revoked; the VS no longer acts on the session";
    return j;
  }
  const std::string what(received.kind_name);
  const auto envelope = envelope_of(received.message);
  if (!envelope) {
    return refusal(Verdict::kMalformed,
                   received.message == nullptr
                       ? "malformed message: " + std::string(received.decode_error)
                       : "unexpected message kind " + what + " in a joined session",
                   true);
  }
  if (envelope->session_id != start_.accept.session_id) {
    return refusal(Verdict::kSessionMismatch,
                   "message for session " + std::to_string(envelope->session_id) +
                       " on the connection of session " + std::to_string(start_.accept.session_id),
                   true);
  }
  if (!received.signature_valid) {
    return refusal(Verdict::kBadSignature,
                   what + " with gs_counter " + std::to_string(envelope->gs_counter) +
                       " does not verify under the session key",
                   true);
  }
  if (envelope->gs_counter <= last_counter_) {
    return refusal(Verdict::kCounterRegression,
                   what + " gs_counter " + std::to_string(envelope->gs_counter) +
                       " is not above the last accepted " + std::to_string(last_counter_),
                   true);
  }
  // Liveness and digests are judged before content: once a deadline has passed the session is
  // over, whatever the late message says (§8.5 "Liveness", "Digests required").
  return check_deadlines(received.vs_time_ms);
}

Judgement SessionRules::judge(const Received& received) {
  Judgement j = check_envelope(received);
  if (j.verdict == Verdict::kAfterRevocation) return j;
  if (j.accepted()) {
    last_counter_ = envelope_of(received.message)->gs_counter;
    if (const auto* hb = std::get_if<protocol::Heartbeat>(received.message)) {
      j = judge_heartbeat(*hb, received);
    } else if (const auto* digest = std::get_if<protocol::TranscriptDigest>(received.message)) {
      j = judge_digest(*digest, received);
    } else if (const auto* leaving = std::get_if<protocol::GsLeaving>(received.message)) {
      j = judge_leaving(*leaving);
    } else if (const auto* batch = std::get_if<protocol::NonceBatch>(received.message)) {
      take_nonces(*batch);
    }
  }
  return j;
}

Judgement SessionRules::judge_heartbeat(const protocol::Heartbeat& hb, const Received& received) {
  if (hb.sw_hash != start_.accept.sw_hash) {
    return refusal(Verdict::kSwHashChanged,
                   "heartbeat reports build " + to_hex(hb.sw_hash) + " but the session joined as " +
                       to_hex(start_.accept.sw_hash),
                   true, {start_.accept_position});
  }
  std::string problem = receipt_state_problem("heartbeat", hb.receipt_count, hb.receipt_tip);
  if (!problem.empty()) return refusal(Verdict::kReceiptTipMismatch, std::move(problem), true);
  last_receipt_count_seen_ = hb.receipt_count;
  last_heartbeat_position_ = received.position;
  liveness_since_ms_ = std::max(liveness_since_ms_, received.vs_time_ms);
  return {};
}

Judgement SessionRules::judge_leaving(const protocol::GsLeaving& leaving) {
  std::string problem =
      receipt_state_problem("GsLeaving", leaving.receipt_count, leaving.receipt_tip);
  if (!problem.empty()) return refusal(Verdict::kReceiptTipMismatch, std::move(problem), true);
  last_receipt_count_seen_ = leaving.receipt_count;
  Judgement j;
  j.leaves = true;
  return j;
}

ReceiptClaimFault judge_receipt_claim(const ReceiptClaim& claim, std::uint64_t issued,
                                      std::uint32_t max_receipt_lag,
                                      std::optional<std::uint64_t> last_seen_count,
                                      const std::optional<Hash32>& issued_tip) {
  if (claim.receipt_count > issued) return ReceiptClaimFault::kMoreThanIssued;
  if (issued - claim.receipt_count > max_receipt_lag) return ReceiptClaimFault::kLagTooLarge;
  if (last_seen_count && claim.receipt_count < *last_seen_count) {
    return ReceiptClaimFault::kCountWentBack;
  }
  if (!issued_tip) return ReceiptClaimFault::kTipUnknown;
  if (*issued_tip != claim.receipt_tip) return ReceiptClaimFault::kTipMismatch;
  return ReceiptClaimFault::kNone;
}

std::string SessionRules::receipt_state_problem(std::string_view sender,
                                                std::uint64_t receipt_count,
                                                const Hash32& receipt_tip) const {
  const std::uint64_t lag = start_.accept.max_receipt_lag;
  // recent_tips_ holds max_receipt_lag + 1 tips, so any count within the lag is there, unless
  // a replayed receipt chain skipped indices (the audit follows the VS's own numbering).
  std::optional<Hash32> issued_tip;
  if (receipt_count <= receipts_ && receipts_ - receipt_count < recent_tips_.size()) {
    issued_tip = recent_tips_[recent_tips_.size() - 1 - (receipts_ - receipt_count)];
  }
  switch (judge_receipt_claim({receipt_count, receipt_tip}, receipts_,
                              start_.accept.max_receipt_lag, last_receipt_count_seen_,
                              issued_tip)) {
    case ReceiptClaimFault::kNone:
      return {};
    case ReceiptClaimFault::kMoreThanIssued:
      return std::string(sender) + " claims " + std::to_string(receipt_count) +
             " receipts but the VS issued " + std::to_string(receipts_);
    case ReceiptClaimFault::kLagTooLarge:
      return std::string(sender) + " acknowledges " + std::to_string(receipt_count) +
             " receipts, more than " + std::to_string(lag) + " behind the " +
             std::to_string(receipts_) + " issued";
    case ReceiptClaimFault::kCountWentBack:
      return "receipt_count went back from " + std::to_string(last_receipt_count_seen_) + " to " +
             std::to_string(receipt_count);
    case ReceiptClaimFault::kTipUnknown:
      return "receipt_count " + std::to_string(receipt_count) + " is too old to check";
    case ReceiptClaimFault::kTipMismatch:
      return "receipt_tip " + short_hex(receipt_tip) + " after " + std::to_string(receipt_count) +
             " receipts does not match the VS's " + short_hex(*issued_tip);
  }
  return {};
}

Judgement SessionRules::judge_digest(const protocol::TranscriptDigest& digest,
                                     const Received& received) {
  // The player cap before any state: a GS naming fresh keys cannot grow the checker past it.
  if (movement_.over_player_cap(digest)) {
    return refusal(Verdict::kTooManyPlayers,
                   describe_player_cap(movement_.players_after(digest), movement_.players_carried(),
                                       movement_.limits()),
                   true);
  }
  Judgement j;
  j.steps = movement_.check(
      digest, DigestSample{digest.gs_time_ms, received.vs_time_ms, received.position});
  for (const auto& step : j.steps) {
    if (!step.violation) continue;
    j.verdict = verdict_on_violation(step);
    j.why = describe_violation(step, movement_.limits());
    j.violation = step;
    // The step's two digests: the earlier one, then this one.
    j.prior_evidence = {step.from_log_seq};
    j.cites_message = true;
    return j;
  }
  // Digests required: the players this digest names are in play until the next one; a digest
  // naming none (the match is over) stops the digest deadline.
  last_digest_position_ = received.position;
  players_in_play_ = digest.players.size();
  digests_since_ms_ = std::max(digests_since_ms_, received.vs_time_ms);
  return j;
}

void SessionRules::take_nonces(const protocol::NonceBatch& batch) {
  // A ticket binds at most kMaxNoncesPerTicket (§6.7); the rest are not bound.
  const std::size_t room =
      protocol::kMaxNoncesPerTicket -
      std::min(pending_nonces_.size(), std::size_t{protocol::kMaxNoncesPerTicket});
  const std::size_t take = std::min(room, batch.nonces.size());
  pending_nonces_.insert(pending_nonces_.end(), batch.nonces.begin(),
                         batch.nonces.begin() + static_cast<std::ptrdiff_t>(take));
}

ReceiptTerms SessionRules::next_receipt(const Hash32& digest_hash,
                                        const ReceiptTerms& previous) const {
  ReceiptTerms terms;
  terms.index = previous.index + 1;
  terms.tip =
      chains::next_receipt_tip(start_.accept.session_id, terms.index, previous.tip, digest_hash);
  return terms;
}

void SessionRules::receipt_issued(const ReceiptTerms& receipt) {
  receipts_ = std::max(receipts_ + 1, receipt.index);
  recent_tips_.push_back(receipt.tip);
  while (recent_tips_.size() > std::size_t{start_.accept.max_receipt_lag} + 1) {
    recent_tips_.pop_front();
  }
}

protocol::PlayTicket SessionRules::next_ticket(std::uint64_t issued_ms) const {
  protocol::PlayTicket ticket;
  ticket.session_id = start_.accept.session_id;
  ticket.ticket_seq = next_ticket_seq();
  ticket.prev_ticket_hash = last_ticket_hash_;
  ticket.issued_ms = issued_ms;
  ticket.not_after_ms = issued_ms + start_.accept.ticket_validity_ms;
  ticket.client_binding = client_binding::root(pending_nonces_);
  ticket.nonce_count = static_cast<std::uint32_t>(pending_nonces_.size());
  return ticket;
}

void SessionRules::ticket_issued(std::uint32_t nonce_count, const Hash32& ticket_hash) {
  const auto bound = std::min<std::size_t>(nonce_count, pending_nonces_.size());
  pending_nonces_.erase(pending_nonces_.begin(),
                        pending_nonces_.begin() + static_cast<std::ptrdiff_t>(bound));
  ++tickets_;
  last_ticket_hash_ = ticket_hash;
  recent_ticket_hashes_.push_back(ticket_hash);
  while (recent_ticket_hashes_.size() > std::size_t{start_.accept.max_receipt_lag} + 1) {
    recent_ticket_hashes_.pop_front();
  }
}

void SessionRules::end() {
  if (ended_) return;
  ended_ = true;
  movement_ = MovementChecker(movement_.limits());
  pending_nonces_.clear();
  pending_nonces_.shrink_to_fit();
}

void SessionRules::suspend(std::uint64_t start_ms, std::uint32_t window_ms,
                           std::uint64_t start_position) {
  if (ended_) return;
  suspended_until_ms_ = start_ms + window_ms;
  suspension_position_ = start_position;
}

ResumeDecision SessionRules::decide_resume(const protocol::GsResume& resume,
                                           std::uint64_t vs_time_ms) const {
  using protocol::JoinRejectReason;
  auto refuse = [](JoinRejectReason reason, std::string why) {
    return ResumeDecision{reason, std::move(why)};
  };
  const std::string session = "session " + std::to_string(start_.accept.session_id);
  if (ended_) return refuse(JoinRejectReason::kSessionEnded, session + " was revoked");
  if (!suspended()) {
    // Live in this run, its connection lost (a network cut): resumable for as long as the
    // session would have stayed live without a heartbeat (PROTOCOL.md §8.15).
    if (vs_time_ms >= heartbeat_deadline_ms()) {
      return refuse(JoinRejectReason::kResumeWindowPassed,
                    session + ": resume at " + std::to_string(vs_time_ms) +
                        ", its heartbeat deadline passed at " +
                        std::to_string(heartbeat_deadline_ms()));
    }
  } else if (vs_time_ms >= *suspended_until_ms_) {
    return refuse(JoinRejectReason::kResumeWindowPassed,
                  session + ": resume at " + std::to_string(vs_time_ms) +
                      ", the resume window ended at " + std::to_string(*suspended_until_ms_));
  }
  if (resume.gs_counter <= last_counter_) {
    return refuse(JoinRejectReason::kResumeMismatch,
                  "GsResume gs_counter " + std::to_string(resume.gs_counter) +
                      " is not above the last accepted " + std::to_string(last_counter_));
  }
  std::string problem = receipt_state_problem("GsResume", resume.receipt_count, resume.receipt_tip);
  if (!problem.empty()) return refuse(JoinRejectReason::kResumeMismatch, std::move(problem));
  // Tickets the VS issued into the lost connection may never have reached the GS, as receipts
  // may not (check 6 allows their lag): the GS may name one of the last max_receipt_lag + 1.
  const bool ticket_known =
      resume.ticket_seq <= tickets_ &&
      tickets_ - resume.ticket_seq < recent_ticket_hashes_.size() &&
      recent_ticket_hashes_[recent_ticket_hashes_.size() - 1 - (tickets_ - resume.ticket_seq)] ==
          resume.ticket_hash;
  if (!ticket_known) {
    return refuse(JoinRejectReason::kResumeMismatch,
                  "GsResume names ticket " + std::to_string(resume.ticket_seq) + " " +
                      short_hex(resume.ticket_hash) + " but the VS's last ticket is " +
                      std::to_string(tickets_) + " " + short_hex(last_ticket_hash_named()) +
                      " (a GS may be up to " + std::to_string(start_.accept.max_receipt_lag) +
                      " tickets behind)");
  }
  return {};
}

void SessionRules::resumed(const protocol::GsResume& resume, std::uint64_t accept_vs_ms,
                           std::uint64_t accept_position) {
  const bool after_a_start = suspended();
  suspended_until_ms_.reset();
  last_counter_ = std::max(last_counter_, resume.gs_counter);
  last_receipt_count_seen_ = std::max(last_receipt_count_seen_, resume.receipt_count);
  liveness_since_ms_ = std::max(liveness_since_ms_, accept_vs_ms);
  last_heartbeat_position_ = accept_position;
  // No digest could arrive while the VS was down: after a VS start the digest deadline runs
  // afresh from here. A resume within one run (a network cut) proves the GS alive, not that it
  // sends digests: were it to reset the deadline, a GS resuming every few seconds would never owe
  // one (PROTOCOL.md §8.15).
  if (after_a_start) digests_since_ms_ = std::max(digests_since_ms_, accept_vs_ms);
}

Status SessionRules::adoption_state(protocol::SessionAdopted& adopted) const {
  const std::vector<NotarizedPosition> positions = notarized();
  if (positions.size() > protocol::kMaxAdoptedPositions) {
    return Error{"session " + std::to_string(start_.accept.session_id) + " tracks " +
                 std::to_string(positions.size()) + " players; a SessionAdopted carries at most " +
                 std::to_string(protocol::kMaxAdoptedPositions)};
  }
  adopted.gs_counter = last_counter_;
  adopted.receipt_count_seen = last_receipt_count_seen_;
  adopted.receipt_count = receipts_;
  adopted.receipt_tips.assign(recent_tips_.begin(), recent_tips_.end());
  adopted.ticket_seq = tickets_;
  adopted.ticket_hashes.assign(recent_ticket_hashes_.begin(), recent_ticket_hashes_.end());
  adopted.pending_nonces = pending_nonces_;
  adopted.players_in_play = static_cast<std::uint32_t>(players_in_play_);
  adopted.liveness_since_ms = liveness_since_ms_;
  adopted.digests_since_ms = digests_since_ms_;
  adopted.positions.clear();
  adopted.positions.reserve(positions.size());
  for (const NotarizedPosition& p : positions) {
    adopted.positions.push_back(
        protocol::AdoptedPosition{p.player, p.x_mm, p.y_mm, p.vs_time_ms, p.last_spawn_vs_ms});
  }
  return Status::success();
}

Result<SessionRules> SessionRules::adopt(const protocol::SessionAdopted& adopted,
                                         std::uint64_t position) {
  const std::string session = "SessionAdopted of session " + std::to_string(adopted.session_id);
  auto accept = protocol::decode<protocol::JoinAccept>(adopted.join_accept);
  if (!accept) return Error{session + ": its JoinAccept does not decode: " + accept.error()};
  if (accept->session_id != adopted.session_id) {
    return Error{session + ": its JoinAccept is of session " + std::to_string(accept->session_id)};
  }
  // Both lists end with the newest; each holds what a GsResume within the lag may name, and
  // never more than the receipts or tickets issued (plus the zeros before the first).
  const std::size_t most = std::size_t{accept->max_receipt_lag} + 1;
  auto bad_list = [&](const std::vector<Hash32>& list, std::uint64_t issued) {
    return list.empty() || list.size() > most || list.size() > issued + 1;
  };
  if (bad_list(adopted.receipt_tips, adopted.receipt_count) ||
      bad_list(adopted.ticket_hashes, adopted.ticket_seq)) {
    return Error{session +
                 ": its receipt tips or ticket hashes do not fit the receipts and "
                 "tickets issued and max_receipt_lag " +
                 std::to_string(accept->max_receipt_lag)};
  }
  if (adopted.receipt_count_seen > adopted.receipt_count) {
    return Error{session + ": receipt_count_seen " + std::to_string(adopted.receipt_count_seen) +
                 " is above the receipts issued, " + std::to_string(adopted.receipt_count)};
  }
  if (adopted.positions.size() > accept->max_players_per_session) {
    return Error{session + ": " + std::to_string(adopted.positions.size()) +
                 " players, above its max_players_per_session " +
                 std::to_string(accept->max_players_per_session)};
  }
  SessionRules rules(SessionStart{*accept, position, adopted.vs_time_ms,
                                  chains::message_hash(adopted.join_accept)});
  rules.last_counter_ = adopted.gs_counter;
  rules.last_receipt_count_seen_ = adopted.receipt_count_seen;
  rules.receipts_ = adopted.receipt_count;
  rules.recent_tips_.assign(adopted.receipt_tips.begin(), adopted.receipt_tips.end());
  rules.tickets_ = adopted.ticket_seq;
  rules.recent_ticket_hashes_.assign(adopted.ticket_hashes.begin(), adopted.ticket_hashes.end());
  if (adopted.ticket_seq > 0) rules.last_ticket_hash_ = adopted.ticket_hashes.back();
  rules.pending_nonces_ = adopted.pending_nonces;
  rules.players_in_play_ = adopted.players_in_play;
  // Evidence of what the earlier node logged is the SessionAdopted that carries it.
  rules.liveness_since_ms_ = adopted.liveness_since_ms;
  rules.last_heartbeat_position_ = position;
  if (adopted.players_in_play > 0) rules.last_digest_position_ = position;
  rules.digests_since_ms_ = adopted.digests_since_ms;
  std::vector<NotarizedPosition> positions;
  positions.reserve(adopted.positions.size());
  for (const protocol::AdoptedPosition& p : adopted.positions) {
    positions.push_back(NotarizedPosition{p.player, p.x_mm, p.y_mm, p.vs_time_ms, position,
                                          adopted.session_id, p.last_spawn_vs_ms});
  }
  rules.movement_.carry(positions);
  return rules;
}

}  // namespace gsvs::rules
