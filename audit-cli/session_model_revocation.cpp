// SessionModel's assessment of the session's Revocation: whether its reason and evidence are
// what the rules say the VS had to issue (PROTOCOL.md §8.5 "Revoking", §8.7).
#include <algorithm>
#include <utility>
#include <variant>

#include "audit-cli/common.h"
#include "audit-cli/session_model.h"
#include "rules/version.h"

namespace gsvs::audit {

using protocol::MessageKind;
using protocol::RevocationReason;

std::string positions_text(const std::vector<std::uint64_t>& positions) {
  std::string out;
  for (const std::uint64_t position : positions) {
    out += (out.empty() ? "" : ", ") + std::to_string(position);
  }
  return out;
}

namespace {

std::string evidence_positions_text(const std::vector<std::uint64_t>& seqs) {
  return "[" + positions_text(seqs) + "]";
}

bool evidence_cites(const std::vector<std::uint64_t>& seqs, std::uint64_t seq) {
  return std::find(seqs.begin(), seqs.end(), seq) != seqs.end();
}

// The kinds a revocation reason can rest on (evidence positions, PROTOCOL.md §8.5 and §8.6).
bool evidence_kind_fits(RevocationReason reason, const EntryBrief& brief) {
  const bool received = brief.direction == chains::Direction::kReceived;
  const auto kind = static_cast<MessageKind>(brief.kind);
  // An adopted session's SessionAdopted stands for everything the earlier node logged of it: its
  // JoinAccept, last Heartbeat and last digest (§8.10).
  if (kind == MessageKind::kSessionAdopted) {
    switch (reason) {
      case RevocationReason::kSwHashChanged:
      case RevocationReason::kMissedHeartbeats:
      case RevocationReason::kDigestsStopped:
      case RevocationReason::kSpeedViolation:
      case RevocationReason::kDigestsLate:
      case RevocationReason::kPolicyWithdrawn:
      case RevocationReason::kOperator:
      case RevocationReason::kOperatorQuarantine:
      case RevocationReason::kVsShutdown:
        return true;
      default:
        return false;
    }
  }
  switch (reason) {
    case RevocationReason::kBadSignature:
    case RevocationReason::kCounterRegression:
    case RevocationReason::kSessionMismatch:
      return received && protocol::gs_session_traffic(kind);
    case RevocationReason::kSwHashChanged:
      return kind == MessageKind::kJoinAccept || (received && kind == MessageKind::kHeartbeat);
    case RevocationReason::kMissedHeartbeats:
      // Liveness runs from the JoinAccept, a valid Heartbeat, or a ResumeAccept (§8.15).
      return kind == MessageKind::kJoinAccept || kind == MessageKind::kResumeAccept ||
             (received && kind == MessageKind::kHeartbeat);
    case RevocationReason::kSpeedViolation:
    case RevocationReason::kDigestsLate:
    case RevocationReason::kTooManyPlayers:
    case RevocationReason::kDigestsStopped:
      return received && kind == MessageKind::kTranscriptDigest;
    case RevocationReason::kReceiptTipMismatch:
      return received && (kind == MessageKind::kHeartbeat || kind == MessageKind::kGsLeaving);
    case RevocationReason::kGsLeft:
      return received && kind == MessageKind::kGsLeaving;
    case RevocationReason::kMalformedMessage:
      return received;
    case RevocationReason::kOperator:
    case RevocationReason::kOperatorQuarantine:
    case RevocationReason::kVsShutdown:
      return true;
    case RevocationReason::kPolicyWithdrawn:
      return kind == MessageKind::kJoinAccept || kind == MessageKind::kPolicyApplied;
  }
  return true;
}

std::string_view evidence_kinds_text(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kBadSignature:
    case RevocationReason::kCounterRegression:
    case RevocationReason::kSessionMismatch:
      return "a received Heartbeat, TranscriptDigest, NonceBatch or GsLeaving";
    case RevocationReason::kSwHashChanged:
      return "the JoinAccept and the received Heartbeat";
    case RevocationReason::kMissedHeartbeats:
      return "the last valid Heartbeat (or the JoinAccept, or the ResumeAccept of a resume)";
    case RevocationReason::kSpeedViolation:
    case RevocationReason::kDigestsLate:
      return "the two received TranscriptDigests of the step";
    case RevocationReason::kTooManyPlayers:
      return "the received TranscriptDigest that named one player too many";
    case RevocationReason::kDigestsStopped:
      return "the last accepted TranscriptDigest, which named players";
    case RevocationReason::kReceiptTipMismatch:
      return "the received Heartbeat or GsLeaving";
    case RevocationReason::kGsLeft:
      return "the received GsLeaving";
    case RevocationReason::kMalformedMessage:
      return "the received message that did not decode";
    case RevocationReason::kOperator:
    case RevocationReason::kOperatorQuarantine:
    case RevocationReason::kVsShutdown:
      return "any entry of the session";
    case RevocationReason::kPolicyWithdrawn:
      return "the JoinAccept and the PolicyApplied that withdrew it";
  }
  return "entries of the session";
}

// The reasons the judge gives for refusing one message: the GS's faults, and digests_late, which
// refuses a digest without blaming the GS's physics (PROTOCOL.md §8.6 "Late digests").
bool rests_on_a_refused_message(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kDigestsLate:
    case RevocationReason::kBadSignature:
    case RevocationReason::kCounterRegression:
    case RevocationReason::kSwHashChanged:
    case RevocationReason::kSpeedViolation:
    case RevocationReason::kReceiptTipMismatch:
    case RevocationReason::kMalformedMessage:
    case RevocationReason::kSessionMismatch:
    case RevocationReason::kTooManyPlayers:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<EntryBrief> SessionModel::brief(std::uint64_t seq, const EntryLookup& lookup) const {
  if (seq == rules_.start().accept_position) {
    return EntryBrief{seq,
                      kind_code(adopted_ ? MessageKind::kSessionAdopted : MessageKind::kJoinAccept),
                      chains::Direction::kIssued, accept().session_id, rules_.start().accept_vs_ms};
  }
  for (const auto& o : owed_) {
    if (o.record.position == seq) {
      return EntryBrief{seq, o.record.kind, chains::Direction::kReceived, accept().session_id,
                        o.record.vs_time_ms};
    }
  }
  if (rules_.last_heartbeat_position() == seq) {
    return EntryBrief{seq, kind_code(MessageKind::kHeartbeat), chains::Direction::kReceived,
                      accept().session_id, rules_.liveness_since_ms()};
  }
  if (rules_.last_digest_position() == seq) {  // what a digests_stopped revocation cites
    return EntryBrief{seq, kind_code(MessageKind::kTranscriptDigest), chains::Direction::kReceived,
                      accept().session_id, rules_.digests_since_ms()};
  }
  if (lookup) return lookup(seq);
  return std::nullopt;
}

void SessionModel::on_revocation(const ModelInput& input, const protocol::Revocation& revocation,
                                 FindingSink& sink, const EntryLookup& lookup) {
  const auto& entry = *input.entry;
  const std::uint64_t seq = entry.header.seq;
  if (revoked_at_) {
    sink.add(finding(
        entry, check::kRevocation,
        "one revocation per session (the first is at entry " + std::to_string(*revoked_at_) + ")",
        "another, reason " + revocation_reason_label(revocation.reason)));
    return;
  }
  revoked_at_ = seq;
  RevocationAssessment a;
  a.seq = seq;
  const std::string reason = revocation_reason_label(revocation.reason);
  const auto revoked_for = static_cast<RevocationReason>(revocation.reason);

  // Every evidence position must exist before the revocation, in this session, of a fitting kind.
  for (const auto e : revocation.evidence) {
    if (e >= input.position) {
      sink.add(finding(entry, check::kEvidence, "evidence positions before the revocation",
                       "evidence position " + std::to_string(e)));
      continue;
    }
    auto b = brief(e, lookup);
    if (!b) {
      sink.add(finding(entry, check::kEvidence,
                       "an entry at evidence position " + std::to_string(e),
                       "no such entry in the log"));
      continue;
    }
    // A session not resumed after a VS start cites that start, the VS's own entry of no
    // session (PROTOCOL.md §8.15).
    const bool cites_its_suspension = revoked_for == RevocationReason::kVsShutdown &&
                                      b->kind == kind_code(MessageKind::kVsStart) &&
                                      b->direction == chains::Direction::kIssued &&
                                      rules_.suspension_position() == e;
    // A policy_withdrawn revocation cites the PolicyApplied, of no session (§8.17).
    const bool cites_its_policy = revoked_for == RevocationReason::kPolicyWithdrawn &&
                                  b->kind == kind_code(MessageKind::kPolicyApplied) &&
                                  b->direction == chains::Direction::kIssued;
    // A first position checked across sessions cites the earlier session's digest (§8.6).
    const bool cites_its_carried_position =
        revoked_for == RevocationReason::kSpeedViolation &&
        std::any_of(owed_.begin(), owed_.end(), [&](const Owed& o) {
          return o.step && o.step->from_session == b->session_id && o.step->from_log_seq == e;
        });
    if (b->session_id != accept().session_id && !cites_its_suspension && !cites_its_policy &&
        !cites_its_carried_position) {
      sink.add(finding(entry, check::kEvidence,
                       "evidence from session " + std::to_string(accept().session_id),
                       kind_label(b->kind) + " at " + std::to_string(e) + " of session " +
                           std::to_string(b->session_id)));
    } else if (known_revocation_reason(revocation.reason) && !evidence_kind_fits(revoked_for, *b)) {
      sink.add(finding(entry, check::kEvidence,
                       std::string(evidence_kinds_text(revoked_for)) + " as evidence of " + reason,
                       kind_label(b->kind) + " at " + std::to_string(e)));
    }
  }

  std::vector<const Owed*> cited;
  for (const auto& o : owed_) {
    if (evidence_cites(revocation.evidence, o.cited_position)) cited.push_back(&o);
  }
  if (!known_revocation_reason(revocation.reason)) {
    a.support = Support::kUnsupported;
    a.explanation = "the reason code " + std::to_string(revocation.reason) + " is not defined";
  } else if (rests_on_a_refused_message(revoked_for)) {
    if (!cited.empty()) {
      const Owed& o = *cited.front();
      a.cited = o.record;
      a.step = o.step;
      const auto expected = reason_for(o.record.verdict);
      // A run of an earlier rules version revoked the message under the reason it then had
      // (PROTOCOL.md §8.18): where the log read names no version, the earliest.
      const auto* earlier =
          expected != revoked_for
              ? rules::earlier_reason(o.record.verdict, revoked_for,
                                      rules_version_.value_or(rules::kEarliestRulesVersion))
              : nullptr;
      if (earlier) {
        a.support = Support::kSupported;
        a.explanation = o.record.why;
        Finding f = finding(
            entry, check::kRevocation,
            "reason " + revocation_reason_label(static_cast<std::uint16_t>(*expected)) +
                " for the message at entry " + std::to_string(o.record.seq),
            "reason " + reason,
            (rules_version_
                 ? "as a VS of rules version " + std::to_string(*rules_version_) +
                       " revoked it (its VsStart says so)"
                 : std::string("as a VS before rules version ") + std::to_string(earlier->since) +
                       " revoked it (no VsStart read before the session names the "
                       "run's rules version)") +
                "; the refusal and what it began stand in the log (" + std::string(earlier->rule) +
                ")");
        f.severity = Severity::kWarning;
        sink.add(std::move(f));
      } else if (expected && *expected != revoked_for) {
        a.support = Support::kUnsupported;
        // A reason an earlier rules version gave, from a run of a later one.
        const auto* changed =
            rules::earlier_reason(o.record.verdict, revoked_for, rules::kEarliestRulesVersion);
        const std::string run =
            changed && rules_version_
                ? " (the run's VsStart names rules version " + std::to_string(*rules_version_) +
                      "; " + reason + " was the reason before rules version " +
                      std::to_string(changed->since) + ": " + std::string(changed->rule) + ")"
                : std::string();
        a.explanation = "the message at entry " + std::to_string(o.record.seq) +
                        " is at fault, but for " +
                        revocation_reason_label(static_cast<std::uint16_t>(*expected)) + ": " +
                        o.record.why + run;
        sink.add(finding(entry, check::kRevocation,
                         "reason " +
                             revocation_reason_label(static_cast<std::uint16_t>(*expected)) +
                             " for the message at entry " + std::to_string(o.record.seq),
                         "reason " + reason, o.record.why + run));
      } else {
        a.support = Support::kSupported;
        a.explanation = o.record.why;
        if (o.step && !evidence_cites(revocation.evidence, o.step->from_log_seq)) {
          sink.add(finding(
              entry, check::kEvidence,
              "the digest the step starts from, at entry " + std::to_string(o.step->from_log_seq),
              "evidence " + evidence_positions_text(revocation.evidence)));
        }
      }
    } else {
      a.support = Support::kUnsupported;
      a.explanation = "none of the evidence " + evidence_positions_text(revocation.evidence) +
                      " is a message the recomputation finds at fault for " + reason;
      sink.add(finding(
          entry, check::kEvidence,
          "evidence showing a " + reason + " fault (a message the VS had to refuse)",
          "evidence " + evidence_positions_text(revocation.evidence) + ", none of them at fault",
          "the VS revoked the session without the cause it states"));
    }
  } else if (revoked_for == RevocationReason::kGsLeft) {
    // A departure, not a fault; it holds only if the GS really said so, last: a GsLeaving that
    // passed every check, cited, and no message of the session after it.
    const bool cited_leaving = accepted_leaving_position_ &&
                               evidence_cites(revocation.evidence, *accepted_leaving_position_);
    if (cited_leaving && last_received_position_ == accepted_leaving_position_) {
      a.support = Support::kNotAGsFault;
      a.explanation = "the GS left cleanly: its GsLeaving at entry " +
                      std::to_string(*accepted_leaving_position_) +
                      " passes every check and is its last message before the revocation";
    } else {
      a.support = Support::kUnsupported;
      a.explanation = cited_leaving
                          ? "the GS sent more after its GsLeaving at entry " +
                                std::to_string(*accepted_leaving_position_) + " (last at entry " +
                                std::to_string(*last_received_position_) + ")"
                          : "none of the evidence " + evidence_positions_text(revocation.evidence) +
                                " is a GsLeaving of this session that passes every check";
      sink.add(
          finding(entry, check::kEvidence,
                  "a valid GsLeaving as the session's last message, cited as evidence of " + reason,
                  "evidence " + evidence_positions_text(revocation.evidence), a.explanation));
    }
  } else if (revoked_for == RevocationReason::kMissedHeartbeats) {
    const auto heartbeat = rules_.last_heartbeat_position();
    const std::uint64_t last = heartbeat.value_or(rules_.start().accept_position);
    const std::uint64_t last_ms = rules_.liveness_since_ms();
    a.last_valid_heartbeat_seq = last;
    a.last_valid_heartbeat_vs_ms = last_ms;
    const std::uint64_t now = entry.header.vs_time_ms;
    const std::uint64_t gap = now > last_ms ? now - last_ms : 0;
    a.explanation = "no valid heartbeat for " + std::to_string(gap) + " ms, from the " +
                    (heartbeat ? "Heartbeat" : "JoinAccept") + " at entry " + std::to_string(last) +
                    " to the revocation; heartbeat_timeout_ms is " +
                    std::to_string(accept().heartbeat_timeout_ms);
    const bool silent_long_enough = rules_.check_liveness(now).refused();
    if (!evidence_cites(revocation.evidence, last)) {
      a.support = Support::kUnsupported;
      sink.add(finding(entry, check::kEvidence,
                       "evidence naming the last valid Heartbeat, at entry " + std::to_string(last),
                       "evidence " + evidence_positions_text(revocation.evidence),
                       "a valid heartbeat came " + std::to_string(gap) +
                           " ms before the revocation: the session was not silent"));
    } else if (!silent_long_enough) {
      // The VS times liveness on the clock it stamps entries with, which never goes back while
      // it runs (PROTOCOL.md §8.12): a revocation before the deadline is the VS's fault.
      a.support = Support::kUnsupported;
      sink.add(finding(entry, check::kRevocation,
                       "at least heartbeat_timeout_ms (" +
                           std::to_string(accept().heartbeat_timeout_ms) +
                           " ms) of silence by the VS clock",
                       std::to_string(gap) + " ms", a.explanation));
    } else {
      a.support = Support::kSupported;
    }
  } else if (revoked_for == RevocationReason::kDigestsStopped) {
    assess_digests_stopped(entry, revocation, sink, a);
  } else {
    a.support = Support::kNotAGsFault;
    const bool quarantined = revoked_for == RevocationReason::kOperatorQuarantine;
    if (revoked_for == RevocationReason::kOperator || quarantined) {
      a.explanation = std::string("an operator revoked the session") +
                      (quarantined ? " and quarantined its GS identity" : "") + ": " +
                      revocation.detail;
    } else if (revoked_for == RevocationReason::kPolicyWithdrawn) {
      a.explanation = "a reloaded policy no longer allows the session (" + revocation.detail +
                      "); nothing is held against the GS";
    } else {
      a.explanation =
          "the VS stopped or restarted while the session was live; nothing is held against the "
          "GS";
    }
  }

  // Every refusal the VS owed before this point must be what this revocation cites.
  for (const auto& o : owed_) {
    if (evidence_cites(revocation.evidence, o.cited_position)) continue;
    Finding f = finding(
        entry, check::kReaction,
        "a revocation citing this entry (" +
            revocation_reason_label(static_cast<std::uint16_t>(*reason_for(o.record.verdict))) +
            ")",
        "the VS went on; the session's revocation at entry " + std::to_string(seq) + " (" + reason +
            ") cites " + evidence_positions_text(revocation.evidence),
        o.record.why);
    f.seq = o.record.seq;
    f.kind = o.record.kind;
    sink.add(std::move(f));
  }
  owed_.clear();
  rules_.end();
  accepted_leaving_position_.reset();
  if (observer_) observer_->on_revocation(revocation, a);
}

void SessionModel::assess_digests_stopped(const storage::Entry& entry,
                                          const protocol::Revocation& revocation, FindingSink& sink,
                                          RevocationAssessment& a) const {
  // Held to the gap it claims (§8.5 "Digests required"): the last accepted digest named
  // players, is cited, and digest_timeout_ms passed from it (or a ResumeAccept after it).
  const std::string reason = revocation_reason_label(revocation.reason);
  const auto last = rules_.last_digest_position();
  const std::uint64_t now = entry.header.vs_time_ms;
  const std::uint64_t since = rules_.digests_since_ms();
  const std::uint64_t gap = now > since ? now - since : 0;
  a.support = Support::kUnsupported;
  if (!last || rules_.players_in_play() == 0) {
    a.explanation = last ? "the last accepted digest, at entry " + std::to_string(*last) +
                               ", named no player: the session had none in play and owed no digest"
                         : "the session had no accepted digest: no player was ever in play";
    sink.add(finding(entry, check::kRevocation,
                     "players in play (the last accepted digest naming one) for " + reason, "none",
                     a.explanation));
    return;
  }
  a.explanation = "no TranscriptDigest for " + std::to_string(gap) +
                  " ms while the session had players: the last, at entry " + std::to_string(*last) +
                  ", named " + std::to_string(rules_.players_in_play()) +
                  "; digest_timeout_ms is " + std::to_string(accept().digest_timeout_ms);
  if (!evidence_cites(revocation.evidence, *last)) {
    sink.add(finding(entry, check::kEvidence,
                     "evidence naming the last accepted digest, at entry " + std::to_string(*last),
                     "evidence " + evidence_positions_text(revocation.evidence), a.explanation));
  } else if (!rules_.check_digests(now).refused()) {
    // The VS times the deadline on the clock it stamps entries with (PROTOCOL.md §8.13).
    sink.add(finding(entry, check::kRevocation,
                     "at least digest_timeout_ms (" + std::to_string(accept().digest_timeout_ms) +
                         " ms) without a digest by the VS clock",
                     std::to_string(gap) + " ms", a.explanation));
  } else {
    a.support = Support::kSupported;
  }
}

}  // namespace gsvs::audit
