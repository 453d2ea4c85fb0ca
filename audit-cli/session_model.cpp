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

// Accepted digests waiting for their receipt, at most (a VS places each at the end of its loop's
// turn, after at most the session's other digests of that turn).
constexpr std::size_t kMaxAwaitingReceipts = 1024;

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
    return EntryBrief{h.seq, kind_code(h.kind), h.direction, h.session_id, h.vs_time_ms};
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
  r.kind = kind_code(h.kind);
  r.vs_time_ms = h.vs_time_ms;
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
    sink.add(finding(entry, check::kAfterRevocation,
                     "no ProtectedReceipt after the session's revocation at entry " +
                         std::to_string(*revoked_at_),
                     "receipt " + std::to_string(receipt.receipt_index) + " for the digest at " +
                         std::to_string(receipt.digest_log_seq),
                     "the VS places the receipt of every digest it accepted before it logs "
                     "the session's revocation, so nothing it issues for the session follows "
                     "the revocation (PROTOCOL.md §8.7)"));
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
    sink.add(finding(
        entry, check::kAfterRevocation,
        "no PlayTicket after the session's revocation at entry " + std::to_string(*revoked_at_),
        "ticket " + std::to_string(ticket.ticket_seq),
        "a ticket after the revocation blesses a revoked GS and extends the ripple bound "
        "(PROTOCOL.md §8.7, §9.4)"));
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

void SessionModel::finish(FindingSink& sink) {
  for (const auto& o : owed_) {
    Finding f = finding_at(
        o.record.seq, check::kReaction,
        "a revocation citing this entry (" +
            revocation_reason_label(static_cast<std::uint16_t>(*reason_for(o.record.verdict))) +
            ")",
        "none: the log ends without revoking the session", o.record.why);
    f.kind = o.record.kind;
    f.session_id = accept().session_id;
    sink.add(std::move(f));
  }
  owed_.clear();
  unreceipted("the VS may have stopped before issuing it, or the log's tail is missing", sink);
}

void SessionModel::unreceipted(const std::string& why, FindingSink& sink) {
  for (const auto& a : awaiting_receipt_) {
    Finding f = finding_at(a.seq, check::kReceipt, "a ProtectedReceipt for this accepted digest",
                           "none in the log", why);
    f.kind = kind_code(MessageKind::kTranscriptDigest);
    f.session_id = accept().session_id;
    f.severity = Severity::kWarning;
    sink.add(std::move(f));
  }
  awaiting_receipt_.clear();
}

}  // namespace gsvs::audit
