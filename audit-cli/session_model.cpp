#include "audit-cli/session_model.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "audit-cli/common.h"
#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "rules/gs_checks.h"

namespace gsvs::audit {

using protocol::MessageKind;
using protocol::RevocationReason;

namespace {

// Accepted digests waiting for their receipt, at most (a VS issues each right after its digest).
constexpr std::size_t kMaxAwaitingReceipts = 1024;

std::string positions(const std::vector<std::uint64_t>& seqs) {
  std::string out = "[";
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(seqs[i]);
  }
  return out + "]";
}

bool contains(const std::vector<std::uint64_t>& seqs, std::uint64_t seq) {
  return std::find(seqs.begin(), seqs.end(), seq) != seqs.end();
}

// The kinds a revocation reason can rest on (evidence positions, PROTOCOL.md §8.5 and §8.6).
bool evidence_kind_fits(std::uint16_t reason, const EntryBrief& brief) {
  const bool received = brief.direction == chains::Direction::kReceived;
  switch (static_cast<RevocationReason>(reason)) {
    case RevocationReason::kBadSignature:
    case RevocationReason::kCounterRegression:
    case RevocationReason::kSessionMismatch:
      return received && protocol::gs_session_traffic(static_cast<MessageKind>(brief.kind));
    case RevocationReason::kSwHashChanged:
      return brief.kind == kind_code(MessageKind::kJoinAccept) ||
             (received && brief.kind == kind_code(MessageKind::kHeartbeat));
    case RevocationReason::kMissedHeartbeats:
      // Liveness runs from the JoinAccept, a valid Heartbeat, or a ResumeAccept (§8.15).
      return brief.kind == kind_code(MessageKind::kJoinAccept) ||
             brief.kind == kind_code(MessageKind::kResumeAccept) ||
             (received && brief.kind == kind_code(MessageKind::kHeartbeat));
    case RevocationReason::kSpeedViolation:
    case RevocationReason::kTooManyPlayers:
    case RevocationReason::kDigestsStopped:
      return received && brief.kind == kind_code(MessageKind::kTranscriptDigest);
    case RevocationReason::kReceiptTipMismatch:
      return received && (brief.kind == kind_code(MessageKind::kHeartbeat) ||
                          brief.kind == kind_code(MessageKind::kGsLeaving));
    case RevocationReason::kGsLeft:
      return received && brief.kind == kind_code(MessageKind::kGsLeaving);
    case RevocationReason::kMalformedMessage:
      return received;
    case RevocationReason::kOperator:
    case RevocationReason::kOperatorQuarantine:
    case RevocationReason::kVsShutdown:
      return true;
    case RevocationReason::kPolicyWithdrawn:
      return brief.kind == kind_code(MessageKind::kJoinAccept) ||
             brief.kind == kind_code(MessageKind::kPolicyApplied);
  }
  return true;
}

std::string_view evidence_kinds_text(std::uint16_t reason) {
  switch (static_cast<RevocationReason>(reason)) {
    case RevocationReason::kBadSignature:
    case RevocationReason::kCounterRegression:
    case RevocationReason::kSessionMismatch:
      return "a received Heartbeat, TranscriptDigest, NonceBatch or GsLeaving";
    case RevocationReason::kSwHashChanged:
      return "the JoinAccept and the received Heartbeat";
    case RevocationReason::kMissedHeartbeats:
      return "the last valid Heartbeat (or the JoinAccept, or the ResumeAccept of a resume)";
    case RevocationReason::kSpeedViolation:
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

bool is_gs_fault(std::uint16_t reason) {
  switch (static_cast<RevocationReason>(reason)) {
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

std::string_view support_name(Support support) {
  switch (support) {
    case Support::kSupported:
      return "supported";
    case Support::kUnsupported:
      return "unsupported";
    case Support::kUnconfirmable:
      return "unconfirmable";
    case Support::kNotAGsFault:
      return "not_a_gs_fault";
  }
  return "unknown";
}

EntryLookup entry_lookup(const storage::Log& log) {
  return [&log](std::uint64_t seq) -> std::optional<EntryBrief> {
    auto entry = log.get(seq);
    if (!entry) return std::nullopt;
    const auto& h = entry->header;
    return EntryBrief{h.seq, static_cast<std::uint8_t>(h.kind), h.direction, h.session_id,
                      h.vs_time_ms};
  };
}

SessionModel::SessionModel(std::uint64_t accept_seq, std::uint64_t accept_vs_ms,
                           const protocol::JoinAccept& accept, const Hash32& accept_hash)
    : rules_(rules::SessionStart{accept, accept_seq, accept_vs_ms, accept_hash}) {}

Finding SessionModel::finding(const storage::Entry& entry, std::string_view check,
                              std::string expected, std::string found, std::string detail) const {
  Finding f =
      finding_at(entry.header, check, std::move(expected), std::move(found), std::move(detail));
  f.session_id = accept().session_id;
  return f;
}

void SessionModel::add(const ModelInput& input, FindingSink& sink, const EntryLookup& lookup) {
  const auto kind = input.entry->header.kind;
  // By direction, not kind: a GS may send a frame of a VS-only kind, which is received traffic.
  const bool issued = input.entry->header.direction == chains::Direction::kIssued;
  if (issued && kind == MessageKind::kResumeAccept) {
    if (input.message != nullptr) {
      on_resume_accept(input, std::get<protocol::ResumeAccept>(*input.message), sink);
    }
    return;
  }
  if (!issued && kind == MessageKind::kGsResume && input.message != nullptr) {
    on_resume(input, std::get<protocol::GsResume>(*input.message), sink);
    return;
  }
  if (issued && (kind == MessageKind::kProtectedReceipt || kind == MessageKind::kPlayTicket ||
                 kind == MessageKind::kRevocation)) {
    if (input.message == nullptr) return;  // the caller reported it: the VS's own bytes
    if (const auto* receipt = std::get_if<protocol::ProtectedReceipt>(input.message)) {
      on_receipt(input, *receipt, sink);
    } else if (const auto* ticket = std::get_if<protocol::PlayTicket>(input.message)) {
      on_ticket(input, *ticket, sink);
    } else if (const auto* revocation = std::get_if<protocol::Revocation>(input.message)) {
      on_revocation(input, *revocation, sink, lookup);
    }
    return;
  }
  on_received(input, sink);
}

void SessionModel::on_received(const ModelInput& input, FindingSink& sink) {
  const auto& h = input.entry->header;
  ReceivedRecord r;
  r.seq = h.seq;
  r.position = input.position;
  r.kind = static_cast<std::uint8_t>(h.kind);
  r.vs_time_ms = h.vs_time_ms;
  r.last_accepted_counter = rules_.last_counter();
  last_received_position_ = input.position;
  if (revoked_at_) {
    r.verdict = Verdict::kAfterRevocation;
    r.why = "arrived after the session's revocation at entry " + std::to_string(*revoked_at_) +
            "; the VS no longer acts on the session";
    if (observer_) observer_->on_received(r);
    return;
  }
  if (const auto envelope = rules::envelope_of(input.message)) {
    r.gs_counter = envelope->gs_counter;
    r.signature = input.signatures.empty() ? SigState::kUnchecked : input.signatures[0];
  }
  const std::string what = kind_label(r.kind);
  const rules::Judgement judgement = rules_.judge(
      rules::Received{input.message, input.decode_error, what, r.signature != SigState::kInvalid,
                      input.position, h.vs_time_ms});
  r.verdict = judgement.verdict;
  r.why = judgement.why;
  const auto* digest =
      input.message == nullptr ? nullptr : std::get_if<protocol::TranscriptDigest>(input.message);
  if (judgement.accepted()) {
    if (judgement.leaves) accepted_leaving_position_ = input.position;
    if (digest != nullptr) await_receipt(input, *digest, sink);
  }
  if (digest != nullptr && observer_) {
    observer_->on_digest(DigestRecord{h.seq, h.vs_time_ms, r.verdict, digest, judgement.steps});
  }
  if (observer_) observer_->on_received(r);
  if (judgement.refused()) {
    const auto evidence = judgement.evidence(input.position);
    owed_.push_back(
        Owed{r, judgement.violation, judgement.cites_message ? input.position : evidence.back()});
  }
}

void SessionModel::await_receipt(const ModelInput& input, const protocol::TranscriptDigest& digest,
                                 FindingSink& sink) {
  if (awaiting_receipt_.size() >= kMaxAwaitingReceipts) {
    // Far more digests than any VS leaves without a receipt: it skipped this one. (Also bounds
    // memory on a store whose VS never issued receipts.)
    Finding f = finding(
        *input.entry, check::kReceipt,
        "a ProtectedReceipt for the accepted digest at entry " +
            std::to_string(awaiting_receipt_.front().seq),
        "none within the next " + std::to_string(kMaxAwaitingReceipts) + " accepted digests");
    f.seq = awaiting_receipt_.front().seq;
    f.kind = kind_code(MessageKind::kTranscriptDigest);
    sink.add(std::move(f));
    awaiting_receipt_.pop_front();
  }
  awaiting_receipt_.push_back(AwaitingReceipt{input.entry->header.seq, input.position,
                                              digest.gs_counter,
                                              chains::message_hash(input.entry->message)});
}

void SessionModel::on_receipt(const ModelInput& input, const protocol::ProtectedReceipt& receipt,
                              FindingSink& sink) {
  const auto& entry = *input.entry;
  if (revoked_at_) {
    Finding f = finding(entry, check::kAfterRevocation,
                        "no ProtectedReceipt after the session's revocation at entry " +
                            std::to_string(*revoked_at_),
                        "receipt " + std::to_string(receipt.receipt_index) + " for the digest at " +
                            std::to_string(receipt.digest_log_seq),
                        "the VS judges a session's messages one at a time and logs a receipt "
                        "before anything it judges later, so nothing it issues for the session "
                        "follows the revocation (PROTOCOL.md §8.7)");
    sink.add(std::move(f));
  }
  if (receipt.session_id != accept().session_id) {
    sink.add(finding(entry, check::kSession, "session_id " + std::to_string(accept().session_id),
                     "session_id " + std::to_string(receipt.session_id)));
  }
  const std::uint64_t index = rules_.receipts_issued() + 1;
  if (receipt.receipt_index != index) {
    sink.add(finding(entry, check::kReceipt, "receipt_index " + std::to_string(index),
                     "receipt_index " + std::to_string(receipt.receipt_index)));
  }
  // The digest it receipts: the one logged at digest_log_seq; failing that, the one whose hash
  // it carries (then digest_log_seq is what is wrong).
  Hash32 digest_hash = receipt.digest_hash;
  auto it =
      std::find_if(awaiting_receipt_.begin(), awaiting_receipt_.end(),
                   [&](const AwaitingReceipt& a) { return a.position == receipt.digest_log_seq; });
  if (it == awaiting_receipt_.end()) {
    it = std::find_if(
        awaiting_receipt_.begin(), awaiting_receipt_.end(),
        [&](const AwaitingReceipt& a) { return a.digest_hash == receipt.digest_hash; });
    if (it != awaiting_receipt_.end()) {
      sink.add(finding(entry, check::kReceipt,
                       "digest_log_seq " + std::to_string(it->position) +
                           " (where the digest with this digest_hash is logged)",
                       "digest_log_seq " + std::to_string(receipt.digest_log_seq)));
    }
  }
  if (it != awaiting_receipt_.end()) {
    for (auto skipped = awaiting_receipt_.begin(); skipped != it; ++skipped) {
      sink.add(finding(
          entry, check::kReceipt,
          "first a receipt for the accepted digest at entry " + std::to_string(skipped->seq),
          "a receipt for the digest at entry " + std::to_string(it->seq),
          "receipts follow the digests in the order the VS accepted them; the one "
          "at " +
              std::to_string(skipped->seq) + " has none (deleted?)"));
    }
    if (receipt.gs_counter != it->gs_counter) {
      sink.add(finding(entry, check::kReceipt,
                       "gs_counter " + std::to_string(it->gs_counter) + " (of the digest at " +
                           std::to_string(it->seq) + ")",
                       "gs_counter " + std::to_string(receipt.gs_counter)));
    }
    if (receipt.digest_hash != it->digest_hash) {
      sink.add(finding(entry, check::kReceipt,
                       "digest_hash " + to_hex(it->digest_hash) + " (SHA-256 of the digest at " +
                           std::to_string(it->seq) + ")",
                       "digest_hash " + to_hex(receipt.digest_hash)));
    }
    digest_hash = it->digest_hash;
    awaiting_receipt_.erase(awaiting_receipt_.begin(), std::next(it));
  } else {
    auto owed = std::find_if(owed_.begin(), owed_.end(), [&](const Owed& o) {
      return o.record.position == receipt.digest_log_seq;
    });
    if (owed != owed_.end()) {
      sink.add(finding(entry, check::kReceipt,
                       "no receipt for the digest at entry " + std::to_string(owed->record.seq) +
                           ", which the VS had to refuse",
                       "a receipt for it", owed->record.why));
    } else {
      sink.add(finding(entry, check::kReceipt,
                       "digest_log_seq naming an accepted TranscriptDigest of session " +
                           std::to_string(accept().session_id) + " still waiting for its receipt",
                       "digest_log_seq " + std::to_string(receipt.digest_log_seq)));
    }
  }
  const rules::ReceiptTerms expected = rules_.next_receipt(digest_hash);
  const Hash32& tip = expected.tip;
  if (receipt.receipt_tip != tip) {
    sink.add(finding(entry, check::kReceipt, "receipt_tip " + to_hex(tip),
                     "receipt_tip " + to_hex(receipt.receipt_tip),
                     "tip_n = SHA-256(\"gsvs/v1/receipt_tip\" 0x00 || session_id || n || "
                     "tip_{n-1} || digest_hash), PROTOCOL.md §6.3"));
  }
  // A broken receipt is reported once; from here on the model follows the VS's own count and
  // chain, so that it is one finding rather than one per later receipt and heartbeat.
  rules_.receipt_issued(receipt.receipt_index != index || receipt.receipt_tip != tip
                            ? rules::ReceiptTerms{receipt.receipt_index, receipt.receipt_tip}
                            : expected);
}

void SessionModel::on_ticket(const ModelInput& input, const protocol::PlayTicket& ticket,
                             FindingSink& sink) {
  const auto& entry = *input.entry;
  if (revoked_at_) {
    Finding f = finding(
        entry, check::kAfterRevocation,
        "no PlayTicket after the session's revocation at entry " + std::to_string(*revoked_at_),
        "ticket " + std::to_string(ticket.ticket_seq),
        "a ticket after the revocation blesses a revoked GS and extends the ripple bound "
        "(PROTOCOL.md §8.7, §9.4)");
    sink.add(std::move(f));
  }
  if (ticket.session_id != accept().session_id) {
    sink.add(finding(entry, check::kSession, "session_id " + std::to_string(accept().session_id),
                     "session_id " + std::to_string(ticket.session_id)));
  }
  const std::uint64_t seq = rules_.next_ticket_seq();
  const std::uint64_t tickets = rules_.tickets_issued();
  const Hash32& prev_hash = rules_.prev_ticket_hash();
  if (ticket.ticket_seq != seq) {
    sink.add(finding(entry, check::kTicket, "ticket_seq " + std::to_string(seq),
                     "ticket_seq " + std::to_string(ticket.ticket_seq)));
  }
  if (ticket.prev_ticket_hash != prev_hash) {
    sink.add(finding(entry, check::kTicket,
                     "prev_ticket_hash " + to_hex(prev_hash) +
                         (tickets == 0 ? " (SHA-256 of the JoinAccept at entry " +
                                             std::to_string(rules_.start().accept_position) + ")"
                                       : " (SHA-256 of ticket " + std::to_string(tickets) +
                                             " at entry " + std::to_string(last_ticket_seq_) + ")"),
                     "prev_ticket_hash " + to_hex(ticket.prev_ticket_hash)));
  }
  const std::uint64_t validity = accept().ticket_validity_ms;
  if (ticket.not_after_ms < ticket.issued_ms ||
      ticket.not_after_ms - ticket.issued_ms != validity) {
    sink.add(finding(entry, check::kTicket,
                     "not_after_ms = issued_ms + " + std::to_string(validity) +
                         " (ticket_validity_ms of the JoinAccept)",
                     "issued_ms " + std::to_string(ticket.issued_ms) + ", not_after_ms " +
                         std::to_string(ticket.not_after_ms)));
  }
  // A ticket past the heartbeat deadline blesses a session the VS had to revoke (§8.5).
  if (ticket.issued_ms >= rules_.heartbeat_deadline_ms()) {
    sink.add(finding(entry, check::kTicket,
                     "no ticket at or after the heartbeat deadline " +
                         std::to_string(rules_.heartbeat_deadline_ms()) + " (" +
                         std::to_string(accept().heartbeat_timeout_ms) +
                         " ms after the last valid Heartbeat or the JoinAccept)",
                     "issued_ms " + std::to_string(ticket.issued_ms)));
  } else if (const auto digests_due = rules_.digest_deadline_ms();
             digests_due && ticket.issued_ms >= *digests_due) {
    // So does one past the digest deadline of a session with players (§8.5 "Digests required").
    sink.add(finding(entry, check::kTicket,
                     "no ticket at or after the digest deadline " + std::to_string(*digests_due) +
                         " (" + std::to_string(accept().digest_timeout_ms) +
                         " ms after the last digest, at entry " +
                         std::to_string(rules_.last_digest_position().value_or(0)) + ", named " +
                         std::to_string(rules_.players_in_play()) + " players)",
                     "issued_ms " + std::to_string(ticket.issued_ms)));
  }
  const auto pending_nonces = rules_.pending_nonces();
  const std::size_t bound = ticket.nonce_count;
  if (bound > pending_nonces.size()) {
    sink.add(finding(entry, check::kTicket,
                     "at most " + std::to_string(pending_nonces.size()) +
                         " nonces (received in NonceBatches since the previous ticket)",
                     "nonce_count " + std::to_string(bound)));
  } else {
    const Hash32 root = client_binding::root(pending_nonces.first(bound));
    if (root != ticket.client_binding) {
      sink.add(finding(entry, check::kTicket,
                       "client_binding " + to_hex(root) + " (Merkle root of the first " +
                           std::to_string(bound) + " nonces received since the previous ticket)",
                       "client_binding " + to_hex(ticket.client_binding)));
    }
  }
  rules_.ticket_issued(ticket.nonce_count, chains::message_hash(entry.message));
  last_ticket_seq_ = entry.header.seq;
}

std::optional<EntryBrief> SessionModel::brief(std::uint64_t seq, const EntryLookup& lookup) const {
  if (seq == rules_.start().accept_position) {
    return EntryBrief{seq, kind_code(MessageKind::kJoinAccept), chains::Direction::kIssued,
                      accept().session_id, rules_.start().accept_vs_ms};
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
    Finding f = finding(
        entry, check::kRevocation,
        "one revocation per session (the first is at entry " + std::to_string(*revoked_at_) + ")",
        "another, reason " + revocation_reason_label(revocation.reason));
    sink.add(std::move(f));
    return;
  }
  revoked_at_ = seq;
  RevocationAssessment a;
  a.seq = seq;
  const std::string reason = revocation_reason_label(revocation.reason);

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
    const bool cites_its_suspension =
        revocation.reason == static_cast<std::uint16_t>(RevocationReason::kVsShutdown) &&
        b->kind == kind_code(MessageKind::kVsStart) && b->direction == chains::Direction::kIssued &&
        rules_.suspension_position() == e;
    // A policy_withdrawn revocation cites the PolicyApplied, of no session (§8.17).
    const bool cites_its_policy =
        revocation.reason == static_cast<std::uint16_t>(RevocationReason::kPolicyWithdrawn) &&
        b->kind == kind_code(MessageKind::kPolicyApplied) &&
        b->direction == chains::Direction::kIssued;
    // A first position checked across sessions cites the earlier session's digest (§8.6).
    const bool cites_its_carried_position =
        revocation.reason == static_cast<std::uint16_t>(RevocationReason::kSpeedViolation) &&
        std::any_of(owed_.begin(), owed_.end(), [&](const Owed& o) {
          return o.step && o.step->from_session == b->session_id && o.step->from_log_seq == e;
        });
    if (b->session_id != accept().session_id && !cites_its_suspension && !cites_its_policy &&
        !cites_its_carried_position) {
      sink.add(finding(entry, check::kEvidence,
                       "evidence from session " + std::to_string(accept().session_id),
                       kind_label(b->kind) + " at " + std::to_string(e) + " of session " +
                           std::to_string(b->session_id)));
    } else if (known_revocation_reason(revocation.reason) &&
               !evidence_kind_fits(revocation.reason, *b)) {
      sink.add(
          finding(entry, check::kEvidence,
                  std::string(evidence_kinds_text(revocation.reason)) + " as evidence of " + reason,
                  kind_label(b->kind) + " at " + std::to_string(e)));
    }
  }

  std::vector<const Owed*> cited;
  for (const auto& o : owed_) {
    if (contains(revocation.evidence, o.cited_position)) cited.push_back(&o);
  }
  if (!known_revocation_reason(revocation.reason)) {
    a.support = Support::kUnsupported;
    a.explanation = "the reason code " + std::to_string(revocation.reason) + " is not defined";
  } else if (is_gs_fault(revocation.reason)) {
    if (!cited.empty()) {
      const Owed& o = *cited.front();
      a.cited = o.record;
      a.step = o.step;
      const auto expected = reason_for(o.record.verdict);
      if (expected && static_cast<std::uint16_t>(*expected) != revocation.reason) {
        a.support = Support::kUnsupported;
        a.explanation =
            "the message at entry " + std::to_string(o.record.seq) + " is at fault, but for " +
            revocation_reason_label(static_cast<std::uint16_t>(*expected)) + ": " + o.record.why;
        sink.add(finding(entry, check::kRevocation,
                         "reason " +
                             revocation_reason_label(static_cast<std::uint16_t>(*expected)) +
                             " for the message at entry " + std::to_string(o.record.seq),
                         "reason " + reason, o.record.why));
      } else {
        a.support = Support::kSupported;
        a.explanation = o.record.why;
        if (o.step && !contains(revocation.evidence, o.step->from_log_seq)) {
          sink.add(finding(
              entry, check::kEvidence,
              "the digest the step starts from, at entry " + std::to_string(o.step->from_log_seq),
              "evidence " + positions(revocation.evidence)));
        }
      }
    } else {
      a.support = Support::kUnsupported;
      a.explanation = "none of the evidence " + positions(revocation.evidence) +
                      " is a message the recomputation finds at fault for " + reason;
      sink.add(finding(entry, check::kEvidence,
                       "evidence showing a " + reason + " fault (a message the VS had to refuse)",
                       "evidence " + positions(revocation.evidence) + ", none of them at fault",
                       "the VS revoked the session without the cause it states"));
    }
  } else if (revocation.reason == static_cast<std::uint16_t>(RevocationReason::kGsLeft)) {
    // A departure, not a fault; it holds only if the GS really said so, last: a GsLeaving that
    // passed every check, cited, and no message of the session after it.
    const bool cited_leaving =
        accepted_leaving_position_ && contains(revocation.evidence, *accepted_leaving_position_);
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
                          : "none of the evidence " + positions(revocation.evidence) +
                                " is a GsLeaving of this session that passes every check";
      sink.add(
          finding(entry, check::kEvidence,
                  "a valid GsLeaving as the session's last message, cited as evidence of " + reason,
                  "evidence " + positions(revocation.evidence), a.explanation));
    }
  } else if (revocation.reason == static_cast<std::uint16_t>(RevocationReason::kMissedHeartbeats)) {
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
    if (!contains(revocation.evidence, last)) {
      a.support = Support::kUnsupported;
      sink.add(finding(entry, check::kEvidence,
                       "evidence naming the last valid Heartbeat, at entry " + std::to_string(last),
                       "evidence " + positions(revocation.evidence),
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
  } else if (revocation.reason == static_cast<std::uint16_t>(RevocationReason::kDigestsStopped)) {
    assess_digests_stopped(entry, revocation, sink, a);
  } else {
    a.support = Support::kNotAGsFault;
    const auto revoked_for = static_cast<RevocationReason>(revocation.reason);
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
    if (contains(revocation.evidence, o.cited_position)) continue;
    Finding f = finding(
        entry, check::kReaction,
        "a revocation citing this entry (" +
            revocation_reason_label(static_cast<std::uint16_t>(*reason_for(o.record.verdict))) +
            ")",
        "the VS went on; the session's revocation at entry " + std::to_string(seq) + " (" + reason +
            ") cites " + positions(revocation.evidence),
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
  if (!contains(revocation.evidence, *last)) {
    sink.add(finding(entry, check::kEvidence,
                     "evidence naming the last accepted digest, at entry " + std::to_string(*last),
                     "evidence " + positions(revocation.evidence), a.explanation));
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

void SessionModel::finish(FindingSink& sink) {
  for (const auto& o : owed_) {
    Finding f;
    f.seq = o.record.seq;
    f.kind = o.record.kind;
    f.session_id = accept().session_id;
    f.check = std::string(check::kReaction);
    f.expected =
        "a revocation citing this entry (" +
        revocation_reason_label(static_cast<std::uint16_t>(*reason_for(o.record.verdict))) + ")";
    f.found = "none: the log ends without revoking the session";
    f.detail = o.record.why;
    sink.add(std::move(f));
  }
  owed_.clear();
  for (const auto& a : awaiting_receipt_) {
    Finding f;
    f.seq = a.seq;
    f.kind = kind_code(MessageKind::kTranscriptDigest);
    f.session_id = accept().session_id;
    f.severity = Severity::kWarning;
    f.check = std::string(check::kReceipt);
    f.expected = "a ProtectedReceipt for this accepted digest";
    f.found = "none in the log";
    f.detail = "the VS may have stopped before issuing it, or the log's tail is missing";
    sink.add(std::move(f));
  }
  awaiting_receipt_.clear();
}

void SessionModel::on_vs_start(std::uint64_t start_ms, std::uint32_t window_ms,
                               std::uint64_t position) {
  if (!revoked_at_) rules_.suspend(start_ms, window_ms, position);
}

std::optional<std::string> SessionModel::resume_refusal_problem(const protocol::GsResume& resume,
                                                                std::uint16_t reason,
                                                                std::uint64_t vs_time_ms) const {
  using protocol::JoinRejectReason;
  if (resume.gs_identity != accept().gs_identity || resume.session_key != accept().session_key ||
      !protocol::verify(resume, accept().session_key)) {
    return std::string("a GsResume that does not prove the session key of session ") +
           std::to_string(accept().session_id) +
           ", answered: the VS must turn it away unanswered and unlogged";
  }
  // A session the log shows revoked is ended, whatever the rules' copy was told.
  const rules::ResumeDecision decision =
      revoked_at_ ? rules::ResumeDecision{JoinRejectReason::kSessionEnded, "revoked"}
                  : rules_.decide_resume(resume, vs_time_ms);
  const auto expected = decision.refusal.value_or(JoinRejectReason::kClockSkew);
  if (reason == static_cast<std::uint16_t>(expected)) return std::nullopt;
  return "reason " + rules::reason_text<JoinRejectReason>(reason) + " where the rules give " +
         std::string(protocol::reason_name(expected)) +
         (decision.accepted() ? " (the rules would resume; only the VS's clock could refuse)"
                              : ": " + decision.why);
}

void SessionModel::on_resume(const ModelInput& input, const protocol::GsResume& resume,
                             FindingSink& sink) {
  const auto& entry = *input.entry;
  last_received_position_ = input.position;
  if (resume.gs_identity != accept().gs_identity || resume.session_key != accept().session_key ||
      !protocol::verify(resume, accept().session_key)) {
    sink.add(finding(
        entry, check::kSignature,
        "a GsResume signed by the session key of session " + std::to_string(accept().session_id),
        "one that does not prove it",
        "the VS resumed a session for a peer that did not prove its key"));
  }
  const rules::ResumeDecision decision =
      revoked_at_ ? rules::ResumeDecision{protocol::JoinRejectReason::kSessionEnded, "revoked"}
                  : rules_.decide_resume(resume, entry.header.vs_time_ms);
  if (!decision.accepted()) {
    sink.add(finding(entry, check::kJoin, "a GsResume the rules accept (PROTOCOL.md §8.15)",
                     "one they refuse: " + std::string(protocol::reason_name(*decision.refusal)),
                     decision.why));
  }
  resume_ = resume;
  resume_hash_ = chains::message_hash(entry.message);
}

void SessionModel::on_resume_accept(const ModelInput& input, const protocol::ResumeAccept& answer,
                                    FindingSink& sink) {
  const auto& entry = *input.entry;
  if (!resume_) {
    sink.add(finding(entry, check::kJoin, "a GsResume of the session in the entry just before it",
                     "none", "the VS logs a GsResume and its answer in one submit (§8.15)"));
    return;
  }
  const protocol::GsResume resume = *std::exchange(resume_, std::nullopt);
  auto expect = [&](bool holds, std::string expected, std::string found) {
    if (!holds) sink.add(finding(entry, check::kJoin, std::move(expected), std::move(found)));
  };
  expect(answer.session_id == accept().session_id,
         "session_id " + std::to_string(accept().session_id),
         "session_id " + std::to_string(answer.session_id));
  expect(answer.resume_hash == resume_hash_, "resume_hash " + to_hex(resume_hash_),
         "resume_hash " + to_hex(answer.resume_hash));
  expect(answer.gs_counter == resume.gs_counter, "gs_counter " + std::to_string(resume.gs_counter),
         "gs_counter " + std::to_string(answer.gs_counter));
  expect(answer.receipt_count == rules_.receipts_issued() &&
             answer.receipt_tip == rules_.receipt_tip(),
         "the receipts issued: " + std::to_string(rules_.receipts_issued()) + ", tip " +
             short_hex(rules_.receipt_tip()),
         std::to_string(answer.receipt_count) + ", tip " + short_hex(answer.receipt_tip));
  expect(answer.ticket_seq == rules_.tickets_issued() &&
             answer.ticket_hash == rules_.last_ticket_hash_named(),
         "the last ticket issued: " + std::to_string(rules_.tickets_issued()),
         "ticket " + std::to_string(answer.ticket_seq));
  expect(answer.vs_time_ms == entry.header.vs_time_ms,
         "vs_time_ms " + std::to_string(entry.header.vs_time_ms) + " (the entry's)",
         "vs_time_ms " + std::to_string(answer.vs_time_ms));
  rules_.resumed(resume, entry.header.vs_time_ms, input.position);
  expect(answer.heartbeat_deadline_ms == rules_.heartbeat_deadline_ms(),
         "heartbeat_deadline_ms " + std::to_string(rules_.heartbeat_deadline_ms()),
         "heartbeat_deadline_ms " + std::to_string(answer.heartbeat_deadline_ms));
}

}  // namespace gsvs::audit
