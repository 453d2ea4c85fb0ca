#include "rules/session_replay.h"

namespace gsvs::rules {

using protocol::MessageKind;

void SessionReplay::add(const LoggedEntry& entry) {
  if (rules_.ended() || owed_) return;
  const bool issued = entry.direction == chains::Direction::kIssued;
  if (!issued && protocol::gs_session_traffic(entry.kind)) {
    auto message = protocol::decode_any(entry.bytes);
    Received received{message ? &*message : nullptr,
                      message ? std::string_view() : std::string_view(message.error()),
                      protocol::kind_name(entry.kind),
                      true,
                      entry.position,
                      entry.vs_time_ms};
    Judgement judgement = rules_.judge(received);
    if (judgement.refused() || judgement.leaves) {
      owed_evidence_ = judgement.evidence(entry.position);
      if (judgement.leaves) owed_evidence_ = std::vector<std::uint64_t>{entry.position};
      owed_ = std::move(judgement);
    }
    return;
  }
  if (!issued && entry.kind == MessageKind::kGsResume) {
    if (auto resume = protocol::decode<protocol::GsResume>(entry.bytes)) pending_resume_ = *resume;
    return;
  }
  if (!issued) return;
  switch (entry.kind) {
    case MessageKind::kProtectedReceipt:
      if (auto receipt = protocol::decode<protocol::ProtectedReceipt>(entry.bytes)) {
        rules_.receipt_issued(ReceiptTerms{receipt->receipt_index, receipt->receipt_tip});
      }
      break;
    case MessageKind::kPlayTicket:
      if (auto ticket = protocol::decode<protocol::PlayTicket>(entry.bytes)) {
        rules_.ticket_issued(ticket->nonce_count, chains::message_hash(entry.bytes));
      }
      break;
    case MessageKind::kResumeAccept:
      if (pending_resume_) {
        // Replayed before the suspension of this start: a resume of an earlier run.
        rules_.resumed(*pending_resume_, entry.vs_time_ms, entry.position);
        pending_resume_.reset();
      }
      break;
    case MessageKind::kRevocation:
      rules_.end();
      break;
    default:
      break;
  }
}

}  // namespace gsvs::rules
