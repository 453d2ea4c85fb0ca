// The verdict recomputed from the evidence, one function per revocation reason.
#include <cmath>
#include <set>

#include "audit-cli/common.h"
#include "audit-cli/report_analyzer.h"
#include "audit-cli/session_continuity.h"
#include "rules/movement.h"
#include "rules/session_rules.h"
#include "rules/version.h"

namespace gsvs::audit::report::detail {

namespace {

using nlohmann::json;
using protocol::MessageKind;
using protocol::RevocationReason;

json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json limits_json(const rules::MovementLimits& l) {
  return {{"max_speed_mm_s", number(l.max_speed_mm_s)},
          {"tolerance", number(l.tolerance)},
          {"jitter_allowance_ms", l.jitter_allowance_ms},
          {"decay", number(l.decay)},
          {"max_excess_mm", number(l.max_excess_mm)},
          {"spawn_min_interval_ms", l.spawn_min_interval_ms}};
}

json step_json(const rules::MovementStep& s) {
  return {{"player", to_hex(s.player)},
          {"from_seq", s.from_log_seq},
          {"to_seq", s.to_log_seq},
          {"from_x_mm", s.from_x_mm},
          {"from_y_mm", s.from_y_mm},
          {"to_x_mm", s.to_x_mm},
          {"to_y_mm", s.to_y_mm},
          {"distance_mm", number(s.distance_mm)},
          {"elapsed_gs_ms", s.elapsed_gs_ms},
          {"elapsed_vs_ms", s.elapsed_vs_ms},
          {"elapsed_credited_ms", s.elapsed_credited_ms},
          {"elapsed_used_ms", s.elapsed_used_ms},
          {"elapsed_paced_ms", s.elapsed_paced_ms},
          {"speed_mm_s", number(s.speed_mm_s)},
          {"allowed_mm", number(s.allowed_mm)},
          {"excess_mm", number(s.excess_mm)},
          {"accumulated_excess_mm", number(s.accumulated_excess_mm)},
          {"accumulated_paced_excess_mm", number(s.accumulated_paced_excess_mm)},
          {"spawn", s.spawn},
          {"from_session", s.from_session ? json(*s.from_session) : json(nullptr)},
          {"violation", s.violation},
          {"late", s.late}};
}

}  // namespace

// An included GS session message that the VS would have accepted: decodes, names the session
// and verifies under the session key.
bool Analyzer::accepted_gs_message(std::size_t i) const {
  return state_[i].message && protocol::gs_session_traffic(entry(i).header.kind) &&
         entry(i).header.direction == chains::Direction::kReceived && state_[i].session_ok &&
         state_[i].signatures_ok && !exempt_.contains(entry(i).header.seq);
}

std::optional<std::size_t> Analyzer::cited(std::size_t position) const {
  if (position >= revocation_->evidence.size()) return std::nullopt;
  return index_of(revocation_->evidence[position]);
}

// Receipts of the session issued before `before_seq` must be exactly 1..R; a gap is the
// Revocation's problem, as its verdict rests on them.
std::vector<std::size_t> Analyzer::receipts_before(std::uint64_t before_seq) {
  std::vector<std::size_t> out;
  std::uint64_t expected = 1;
  for (const auto& [n, i] : receipts_) {
    if (entry(i).header.seq >= before_seq) continue;
    if (n != expected) {
      problem(state_[*revocation_index_].where,
              "receipt " + std::to_string(expected) +
                  " is missing from the report; the receipts must run 1.." +
                  std::to_string(receipts_.size()) + " without a gap");
      break;
    }
    out.push_back(i);
    ++expected;
  }
  return out;
}

std::optional<std::size_t> Analyzer::sole_cited(Verdict& v, std::string needs,
                                                bool on_accept) const {
  auto i = cited(0);
  if (!i || (on_accept && !accept_) || revocation_->evidence.size() != 1) {
    v.explanation = std::move(needs);
    return std::nullopt;
  }
  return i;
}

std::optional<std::size_t> Analyzer::sole_cited(Verdict& v) const {
  return sole_cited(v, "a " + revocation_reason_name(revocation_->reason) +
                           " verdict must cite the one message that failed");
}

Verdict Analyzer::compute_verdict() {
  const auto reason = static_cast<RevocationReason>(revocation_->reason);
  for (auto seq : revocation_->evidence) {
    if (!index_of(seq)) {
      problem(state_[*revocation_index_].where,
              "cites log entry " + std::to_string(seq) + ", which is not in the report");
    }
  }
  switch (reason) {
    case RevocationReason::kSpeedViolation:
    case RevocationReason::kDigestsLate:
      return speed_verdict();
    case RevocationReason::kTooManyPlayers:
      return player_cap_verdict();
    case RevocationReason::kBadSignature:
      return bad_signature_verdict();
    case RevocationReason::kMalformedMessage:
      return malformed_verdict();
    case RevocationReason::kSessionMismatch:
      return session_mismatch_verdict();
    case RevocationReason::kCounterRegression:
      return counter_verdict();
    case RevocationReason::kSwHashChanged:
      return sw_hash_verdict();
    case RevocationReason::kReceiptTipMismatch:
      return receipt_tip_verdict();
    case RevocationReason::kMissedHeartbeats:
      return missed_heartbeats_verdict();
    case RevocationReason::kDigestsStopped:
      return digests_stopped_verdict();
    case RevocationReason::kOperator:
    case RevocationReason::kOperatorQuarantine:
    case RevocationReason::kVsShutdown:
    case RevocationReason::kGsLeft:
    case RevocationReason::kPolicyWithdrawn:
      return decision_verdict(reason);
  }
  Verdict v;
  v.outcome = Outcome::kNotRecomputable;
  v.explanation = "reason code " + std::to_string(revocation_->reason) +
                  " is not one this version knows; nothing to recompute";
  return v;
}

Verdict Analyzer::decision_verdict(RevocationReason reason) {
  Verdict v;
  v.outcome = Outcome::kNotRecomputable;
  const bool cites_join = revocation_->evidence.size() == 1 && accept_index_ &&
                          revocation_->evidence[0] == entry(*accept_index_).header.seq;
  v.facts = {{"evidence_is_join_accept", cites_join}};
  if (reason == RevocationReason::kOperator || reason == RevocationReason::kOperatorQuarantine) {
    v.explanation =
        "an operator revoked the session; the report proves that the VS signed and logged "
        "that decision, for this session, at the time and with the words shown, but there "
        "is no rule to recompute";
  } else if (reason == RevocationReason::kGsLeft) {
    v.explanation =
        "the GS left cleanly: it ended the session with a GsLeaving; no fault is claimed and "
        "there is no rule to recompute";
  } else if (reason == RevocationReason::kPolicyWithdrawn) {
    v.explanation =
        "a reloaded policy no longer allowed the session's identity or build; no fault is "
        "claimed ('audit-cli verify' holds the revocation to the PolicyApplied it cites)";
  } else {
    v.explanation =
        "the VS revoked the session because it stopped or restarted while the session was "
        "live (fail closed); there is no rule to recompute";
  }
  return v;
}

template <class Replay>
std::vector<std::size_t> Analyzer::replay_digests(std::uint64_t through, Replay replay) {
  std::vector<std::size_t> replayed;
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    if (entry(i).header.seq > through) break;
    const auto* digest = as<protocol::TranscriptDigest>(i);
    if (!digest || !accepted_gs_message(i)) continue;
    replayed.push_back(i);
    if (replay(i, *digest)) break;
  }
  return replayed;
}

// Completeness of a replay up to the cited digest `cited`: every digest the VS accepted got a
// receipt, numbered 1, 2, ... So receipts 1..R with their digests, and the cited digest after
// them, are all the digests there were; one left out would show as a gap. Returns the receipts.
std::vector<std::size_t> Analyzer::check_replay_complete(const std::vector<std::size_t>& replayed,
                                                         std::uint64_t cited) {
  auto receipts = receipts_before(entry(*revocation_index_).header.seq);
  std::set<std::uint64_t> receipted;
  for (auto i : receipts) {
    const auto& r = *as<protocol::ProtectedReceipt>(i);
    receipted.insert(r.digest_log_seq);
    if (!index_of(r.digest_log_seq)) {
      problem(state_[i].where, "the digest it receipts (seq " + std::to_string(r.digest_log_seq) +
                                   ") is not in the report, so the replay would miss it");
    }
  }
  for (auto i : replayed) {
    const auto seq = entry(i).header.seq;
    if (seq != cited && !receipted.contains(seq)) {
      problem(state_[i].where, "digest without a receipt in the report before the cited one");
    }
    if (seq == cited && receipted.contains(seq)) {
      problem(state_[i].where, "the cited digest was receipted (accepted) as well");
    }
  }
  return receipts;
}

Verdict Analyzer::speed_verdict() {
  Verdict v;
  if (revocation_->evidence.size() != 2 || !accept_) {
    v.explanation = "a speed verdict must cite two digests and rest on the JoinAccept's limits";
    return v;
  }
  const std::uint64_t from = revocation_->evidence[0];
  const std::uint64_t to = revocation_->evidence[1];
  const rules::MovementLimits limits = rules::limits_from(*accept_);
  rules::MovementChecker checker(limits);
  // From where the earlier sessions in the report left the players (report_continuity.cpp).
  checker.carry(carried_);
  std::optional<rules::MovementStep> violation;
  std::vector<rules::MovementStep> history;
  const auto replayed = replay_digests(to, [&](std::size_t i, const auto& digest) {
    for (const auto& step : checker.check(digest, digest_sample(i, digest))) {
      history.push_back(step);
      if (step.violation && !violation) violation = step;
    }
    return violation.has_value();
  });
  const auto receipts = check_replay_complete(replayed, to);
  json steps_of_player = json::array();
  if (violation) {
    for (const auto& step : history) {
      if (step.player == violation->player) steps_of_player.push_back(step_json(step));
    }
  }
  const std::string recomputed_detail =
      violation ? rules::describe_violation(*violation, limits) : std::string();
  // A step across sessions starts from the position the earlier sessions left the player at.
  const std::optional<rules::NotarizedPosition> carried =
      violation && violation->from_session ? carried_of(carried_, violation->player) : std::nullopt;
  v.facts = {{"limits", limits_json(limits)},
             {"digests_replayed", replayed.size()},
             {"receipts", receipts.size()},
             {"violation", violation ? step_json(*violation) : json(nullptr)},
             {"player_steps", std::move(steps_of_player)},
             {"revocation_detail_matches", violation && recomputed_detail == revocation_->detail},
             {"earlier_sessions", earlier_sessions_json()},
             {"carried", carried ? carried_json(*carried) : json(nullptr)}};
  if (!violation) {
    v.explanation = "replaying the movement rule over the " + std::to_string(replayed.size()) +
                    " digests of the session with the limits signed in the JoinAccept finds "
                    "no violation up to entry " +
                    std::to_string(to);
    return v;
  }
  if (violation->from_log_seq != from || violation->to_log_seq != to) {
    v.explanation = "the replay finds the first violation between entries " +
                    std::to_string(violation->from_log_seq) + " and " +
                    std::to_string(violation->to_log_seq) + ", the VS cites " +
                    std::to_string(from) + " and " + std::to_string(to);
    return v;
  }
  const auto replayed_verdict = rules::verdict_on_violation(*violation);
  const auto replayed_reason = *rules::reason_for(replayed_verdict);
  if (static_cast<std::uint16_t>(replayed_reason) != revocation_->reason) {
    v.explanation = "the replay finds the violation the VS cites, but as " +
                    revocation_reason_name(static_cast<std::uint16_t>(replayed_reason)) + ": " +
                    recomputed_detail;
    // The reason a VS of an earlier rules version gave: the same refusal. A report holds no
    // VsStart naming the run's version, so any version's (PROTOCOL.md §8.18).
    if (const auto* earlier = rules::earlier_reason(
            replayed_verdict, static_cast<RevocationReason>(revocation_->reason),
            rules::kEarliestRulesVersion)) {
      v.outcome = Outcome::kConsistent;
      v.explanation += "; a VS before rules version " + std::to_string(earlier->since) +
                       " revoked such a step as " + revocation_reason_name(revocation_->reason) +
                       " (" + std::string(earlier->rule) + ")";
    }
    return v;
  }
  v.outcome = Outcome::kConfirmed;
  v.explanation = "replaying the movement rule (vsd's MovementChecker) over the " +
                  std::to_string(replayed.size()) +
                  " digests of the session, with the limits the VS signed in the JoinAccept "
                  "and each digest's logged vs_time_ms, gives the same first violation, "
                  "between entries " +
                  std::to_string(from) + " and " + std::to_string(to) +
                  (carried ? " (from the player's last notarized position in session " +
                                 std::to_string(carried->session_id) + ", replayed from the " +
                                 std::to_string(earlier_.size()) +
                                 " earlier session(s) of the identity in the report)"
                           : std::string()) +
                  ": " + recomputed_detail;
  return v;
}

// The cited digest is the first whose players, with all those named before, exceed the cap
// the JoinAccept signed; every digest before it is in the report (one receipt each).
Verdict Analyzer::player_cap_verdict() {
  Verdict v;
  if (revocation_->evidence.size() != 1 || !accept_) {
    v.explanation =
        "a too_many_players verdict must cite the one digest over the cap and rest "
        "on the JoinAccept's max_players_per_session";
    return v;
  }
  const std::uint64_t at = revocation_->evidence[0];
  const rules::MovementLimits limits = rules::limits_from(*accept_);
  rules::MovementChecker checker(limits);
  // The players the earlier sessions in the report left count against the cap (§8.6).
  checker.carry(carried_);
  std::optional<std::size_t> first_over;  // index of the first digest over the cap
  std::size_t players_after = 0;
  const auto replayed = replay_digests(at, [&](std::size_t i, const auto& digest) {
    if (checker.over_player_cap(digest)) {
      first_over = i;
      players_after = checker.players_after(digest);
      return true;
    }
    (void)checker.check(digest, digest_sample(i, digest));
    return false;
  });
  const auto receipts = check_replay_complete(replayed, at);
  v.facts = {{"max_players_per_session", limits.max_players},
             {"digests_replayed", replayed.size()},
             {"receipts", receipts.size()},
             {"players_after", first_over ? json(players_after) : json(nullptr)}};
  if (!first_over) {
    v.explanation = "replaying the " + std::to_string(replayed.size()) +
                    " digests of the session up to entry " + std::to_string(at) +
                    " names at most " + std::to_string(checker.players_tracked()) +
                    " distinct players, within max_players_per_session " +
                    std::to_string(limits.max_players);
    return v;
  }
  if (entry(*first_over).header.seq != at) {
    v.explanation = "the first digest over the cap is at entry " +
                    std::to_string(entry(*first_over).header.seq) + ", the VS cites " +
                    std::to_string(at);
    return v;
  }
  v.outcome = Outcome::kConfirmed;
  v.explanation = "replaying the session's " + std::to_string(replayed.size()) +
                  " digests, the one at entry " + std::to_string(at) +
                  " is the first over the cap the VS signed in the JoinAccept: " +
                  rules::describe_player_cap(players_after, checker.players_carried(), limits);
  return v;
}

Verdict Analyzer::bad_signature_verdict() {
  Verdict v;
  auto i = sole_cited(v);
  if (!i) return v;
  const Entry& e = entry(*i);
  const bool decodes = state_[*i].message.has_value();
  const bool traffic = decodes && protocol::gs_session_traffic(kind_of(*state_[*i].message));
  const bool verifies =
      decodes && accept_ && verify_signature(*state_[*i].message, accept_->session_key, 0);
  v.facts = {{"cited_seq", e.header.seq},
             {"kind", kind_label(e.header.kind)},
             {"decodes", decodes},
             {"signature_verifies_under_session_key", verifies}};
  if (!traffic || verifies) {
    v.explanation = "the cited entry " + std::to_string(e.header.seq) +
                    (traffic ? " verifies under the session key"
                             : " is not a Heartbeat, TranscriptDigest or NonceBatch");
    return v;
  }
  v.outcome = Outcome::kConfirmed;
  v.explanation = "the " + kind_label(e.header.kind) + " at entry " + std::to_string(e.header.seq) +
                  " does not verify under the session key the VS bound in the JoinAccept";
  return v;
}

Verdict Analyzer::malformed_verdict() {
  Verdict v;
  auto i = sole_cited(v);
  if (!i) return v;
  const Entry& e = entry(*i);
  const auto& s = state_[*i];
  const bool acceptable_kind = s.message && protocol::gs_session_traffic(kind_of(*s.message));
  v.facts = {{"cited_seq", e.header.seq},
             {"decode_error", s.message ? json(nullptr) : json(s.decode_error)},
             {"decoded_kind", s.message ? json(kind_label(kind_of(*s.message))) : json(nullptr)}};
  if (acceptable_kind) {
    v.explanation = "the cited entry " + std::to_string(e.header.seq) + " decodes as a " +
                    kind_label(kind_of(*s.message)) + ", a kind the GS may send";
    return v;
  }
  v.outcome = Outcome::kConfirmed;
  v.explanation =
      s.message
          ? "entry " + std::to_string(e.header.seq) + " is a " + kind_label(kind_of(*s.message)) +
                ", which a GS may not send in a joined session"
          : "entry " + std::to_string(e.header.seq) + " does not decode: " + s.decode_error;
  return v;
}

Verdict Analyzer::session_mismatch_verdict() {
  Verdict v;
  auto i = sole_cited(v);
  if (!i) return v;
  const Entry& e = entry(*i);
  const auto& s = state_[*i];
  const std::optional<SessionId> named = s.message ? named_session(*s.message) : std::nullopt;
  v.facts = {{"cited_seq", e.header.seq}, {"message_session_id", nullptr}};
  // Read once, where it is known to be there: no dereference the optimizer must prove set.
  const SessionId named_id = named.value_or(0);
  if (named) v.facts["message_session_id"] = named_id;
  if (!named || named_id == ev_.session_id) {
    v.explanation =
        "the cited entry " + std::to_string(e.header.seq) + " does not name another session";
    return v;
  }
  v.outcome = Outcome::kConfirmed;
  v.explanation = "the " + kind_label(e.header.kind) + " at entry " + std::to_string(e.header.seq) +
                  " names session " + std::to_string(named_id) + " on the connection of session " +
                  std::to_string(ev_.session_id);
  return v;
}

Verdict Analyzer::counter_verdict() {
  Verdict v;
  auto i = sole_cited(v);
  if (!i) return v;
  const Entry& e = entry(*i);
  const auto envelope = rules::envelope_of(state_[*i].message ? &*state_[*i].message : nullptr);
  if (!envelope || !accepted_gs_message(*i)) {
    v.explanation = "the cited entry " + std::to_string(e.header.seq) +
                    " is not a session message signed with the session key";
    return v;
  }
  // The last message the VS accepted before it: the latest valid one in the report.
  std::optional<std::size_t> previous;
  for (std::size_t k = 0; k < *i; ++k) {
    if (accepted_gs_message(k)) previous = k;
  }
  const std::uint64_t previous_counter =
      previous ? rules::envelope_of(&*state_[*previous].message)->gs_counter : 0;
  v.facts = {{"cited_seq", e.header.seq},
             {"gs_counter", envelope->gs_counter},
             {"previous_seq", previous ? json(entry(*previous).header.seq) : json(nullptr)},
             {"previous_gs_counter", previous_counter}};
  if (envelope->gs_counter > previous_counter) {
    v.explanation = "gs_counter " + std::to_string(envelope->gs_counter) +
                    " is above the previous " + std::to_string(previous_counter);
    return v;
  }
  v.outcome = Outcome::kConfirmed;
  v.explanation = "gs_counter " + std::to_string(envelope->gs_counter) + " at entry " +
                  std::to_string(e.header.seq) + " is not above " +
                  std::to_string(previous_counter) +
                  (previous ? ", the counter of the message accepted before it at entry " +
                                  std::to_string(entry(*previous).header.seq)
                            : std::string(" (counters start at 1)"));
  return v;
}

Verdict Analyzer::sw_hash_verdict() {
  Verdict v;
  const std::size_t n = revocation_->evidence.size();
  auto i = n == 0 ? std::nullopt : cited(n - 1);
  const auto* hb = i ? as<protocol::Heartbeat>(*i) : nullptr;
  if (!hb || !accept_ || !accepted_gs_message(*i)) {
    v.explanation = "an sw_hash_changed verdict must cite a valid Heartbeat of the session";
    return v;
  }
  v.facts = {{"heartbeat_seq", entry(*i).header.seq},
             {"heartbeat_sw_hash", to_hex(hb->sw_hash)},
             {"joined_sw_hash", to_hex(accept_->sw_hash)}};
  if (hb->sw_hash == accept_->sw_hash) {
    v.explanation = "the cited Heartbeat reports the build the session joined with";
    return v;
  }
  v.outcome = Outcome::kConfirmed;
  v.explanation = "the Heartbeat at entry " + std::to_string(entry(*i).header.seq) +
                  " reports build " + to_hex(hb->sw_hash) + ", but the JoinAccept pinned " +
                  to_hex(accept_->sw_hash);
  return v;
}

Verdict Analyzer::receipt_tip_verdict() {
  Verdict v;
  auto i = cited(0);
  // The receipt state a Heartbeat or a GsLeaving claims (PROTOCOL.md §8.5 check 6).
  struct Claim {
    std::string sender;
    std::uint64_t receipt_count = 0;
    Hash32 receipt_tip;
  };
  std::optional<Claim> claim;
  if (const auto* heartbeat = i ? as<protocol::Heartbeat>(*i) : nullptr) {
    claim = Claim{"Heartbeat", heartbeat->receipt_count, heartbeat->receipt_tip};
  } else if (const auto* leaving = i ? as<protocol::GsLeaving>(*i) : nullptr) {
    claim = Claim{"GsLeaving", leaving->receipt_count, leaving->receipt_tip};
  }
  if (!claim || !accepted_gs_message(*i)) {
    v.explanation =
        "a receipt_tip_mismatch verdict must cite a valid Heartbeat or GsLeaving of the "
        "session";
    return v;
  }
  const Claim* claimed = &*claim;
  const std::uint64_t seq = entry(*i).header.seq;
  auto receipts = receipts_before(seq);
  const std::uint64_t issued = receipts.size();
  std::optional<Hash32> expected_tip;
  if (claimed->receipt_count == 0) expected_tip = Hash32{};
  if (claimed->receipt_count >= 1 && claimed->receipt_count <= issued) {
    expected_tip =
        as<protocol::ProtectedReceipt>(receipts[claimed->receipt_count - 1])->receipt_tip;
  }
  v.facts = {{"heartbeat_seq", seq},
             {"receipt_count", claimed->receipt_count},
             {"receipt_tip", to_hex(claimed->receipt_tip)},
             {"receipts_issued_before", issued},
             {"expected_tip", expected_tip ? json(to_hex(*expected_tip)) : json(nullptr)}};
  // A report carries the cited message, not the session's earlier claims, so the count that went
  // back is the one fault of check 6 it cannot recompute.
  switch (rules::judge_receipt_claim({claimed->receipt_count, claimed->receipt_tip}, issued,
                                     accept_->max_receipt_lag, std::nullopt, expected_tip)) {
    case rules::ReceiptClaimFault::kMoreThanIssued:
      v.outcome = Outcome::kConfirmed;
      v.explanation = "the " + claimed->sender + " claims " +
                      std::to_string(claimed->receipt_count) + " receipts, but the VS had issued " +
                      std::to_string(issued);
      break;
    case rules::ReceiptClaimFault::kLagTooLarge:
      v.outcome = Outcome::kConfirmed;
      v.explanation =
          "the " + claimed->sender + " acknowledges " + std::to_string(claimed->receipt_count) +
          " receipts, more than the " + std::to_string(accept_->max_receipt_lag) +
          " (max_receipt_lag of the JoinAccept) behind the " + std::to_string(issued) + " issued";
      break;
    case rules::ReceiptClaimFault::kTipUnknown:
      v.outcome = Outcome::kNotRecomputable;
      v.explanation = "the report does not carry receipt " +
                      std::to_string(claimed->receipt_count) + ", whose tip the claim names";
      break;
    case rules::ReceiptClaimFault::kTipMismatch:
      v.outcome = Outcome::kConfirmed;
      v.explanation = "the " + claimed->sender + "'s receipt_tip after " +
                      std::to_string(claimed->receipt_count) +
                      " receipts is not the tip the VS issued with receipt " +
                      std::to_string(claimed->receipt_count);
      break;
    case rules::ReceiptClaimFault::kCountWentBack:
    case rules::ReceiptClaimFault::kNone:
      v.outcome = Outcome::kNotRecomputable;
      v.explanation = "the " + claimed->sender +
                      "'s tip matches and lags within max_receipt_lag; the VS's complaint "
                      "(receipt_count going back) rests on earlier heartbeats, which the report "
                      "does not carry";
      break;
  }
  return v;
}

Verdict Analyzer::missed_heartbeats_verdict() {
  Verdict v;
  auto i = sole_cited(v,
                      "a missed_heartbeats verdict must cite the last valid Heartbeat (or the "
                      "JoinAccept)",
                      /*on_accept=*/true);
  if (!i) return v;
  const Entry& last = entry(*i);
  const bool is_anchor = (last.header.kind == MessageKind::kHeartbeat && accepted_gs_message(*i)) ||
                         *i == *accept_index_;
  const std::uint64_t revoked_at = entry(*revocation_index_).header.vs_time_ms;
  const std::uint64_t silent =
      revoked_at > last.header.vs_time_ms ? revoked_at - last.header.vs_time_ms : 0;
  v.facts = {{"last_seq", last.header.seq},
             {"last_vs_time_ms", last.header.vs_time_ms},
             {"revocation_vs_time_ms", revoked_at},
             {"silent_ms", silent},
             {"heartbeat_timeout_ms", accept_->heartbeat_timeout_ms}};
  if (!is_anchor) {
    v.explanation = "the cited entry is neither a valid Heartbeat nor the JoinAccept";
    return v;
  }
  if (!rules::liveness_lapsed(last.header.vs_time_ms, accept_->heartbeat_timeout_ms, revoked_at)) {
    v.explanation = "only " + std::to_string(silent) + " ms passed between entry " +
                    std::to_string(last.header.seq) + " and the revocation, under the " +
                    std::to_string(accept_->heartbeat_timeout_ms) + " ms timeout";
    return v;
  }
  v.outcome = Outcome::kConsistent;
  v.explanation = std::to_string(silent) + " ms passed between the last valid heartbeat (entry " +
                  std::to_string(last.header.seq) + ") and the revocation, at least the " +
                  std::to_string(accept_->heartbeat_timeout_ms) +
                  " ms timeout the VS signed; that no valid Heartbeat came in between is the "
                  "VS's word (a report cannot prove an absence)";
  return v;
}

Verdict Analyzer::digests_stopped_verdict() {
  Verdict v;
  auto i = sole_cited(v,
                      "a digests_stopped verdict must cite the last accepted TranscriptDigest, "
                      "one that named players",
                      /*on_accept=*/true);
  if (!i) return v;
  const Entry& last = entry(*i);
  const auto* digest = as<protocol::TranscriptDigest>(*i);
  const std::uint64_t revoked_at = entry(*revocation_index_).header.vs_time_ms;
  const std::uint64_t gap =
      revoked_at > last.header.vs_time_ms ? revoked_at - last.header.vs_time_ms : 0;
  v.facts = {{"last_digest_seq", last.header.seq},
             {"last_digest_vs_time_ms", last.header.vs_time_ms},
             {"players", digest ? digest->players.size() : 0},
             {"revocation_vs_time_ms", revoked_at},
             {"gap_ms", gap},
             {"digest_timeout_ms", accept_->digest_timeout_ms}};
  if (!digest || !accepted_gs_message(*i)) {
    v.explanation = "the cited entry is not a TranscriptDigest of the session that the VS accepted";
    return v;
  }
  if (digest->players.empty()) {
    v.explanation =
        "the cited digest names no player: the session had none in play, and owed "
        "no digest";
    return v;
  }
  // The same deadline rule as liveness: the deadline itself is late.
  if (!rules::liveness_lapsed(last.header.vs_time_ms, accept_->digest_timeout_ms, revoked_at)) {
    v.explanation = "only " + std::to_string(gap) + " ms passed between the digest at entry " +
                    std::to_string(last.header.seq) + " and the revocation, under the " +
                    std::to_string(accept_->digest_timeout_ms) + " ms digest timeout";
    return v;
  }
  v.outcome = Outcome::kConsistent;
  v.explanation =
      std::to_string(gap) + " ms passed between the digest at entry " +
      std::to_string(last.header.seq) + ", which named " + std::to_string(digest->players.size()) +
      " players, and the revocation, at least the " + std::to_string(accept_->digest_timeout_ms) +
      " ms digest timeout the VS signed; that no digest came in between is the VS's "
      "word (a report cannot prove an absence; 'audit-cli verify' recomputes it from "
      "the whole log)";
  return v;
}

}  // namespace gsvs::audit::report::detail
