// SessionModel across a VS restart: the VsStarts that suspend the session, and the GsResume and
// its answer (PROTOCOL.md §8.15).
#include "audit-cli/common.h"
#include "audit-cli/session_model.h"
#include "rules/gs_checks.h"

namespace gsvs::audit {

void SessionModel::on_vs_start(const protocol::VsStart& start, std::uint64_t position,
                               FindingSink& sink) {
  if (revoked_at_) return;
  rules_version_ = start.rules_version;
  rules_.suspend(start.vs_time_ms, start.resume_window_ms, position);
  unreceipted("the VS stopped before issuing it (the VsStart at " + std::to_string(position) +
                  " follows): a crash between a digest and its receipt",
              sink);
}

bool SessionModel::proves_session_key(const protocol::GsResume& resume) const {
  return resume.gs_identity == accept().gs_identity && resume.session_key == accept().session_key &&
         protocol::verify(resume, accept().session_key);
}

rules::ResumeDecision SessionModel::resume_decision(const protocol::GsResume& resume,
                                                    std::uint64_t vs_time_ms) const {
  return revoked_at_ ? rules::ResumeDecision{protocol::JoinRejectReason::kSessionEnded, "revoked"}
                     : rules_.decide_resume(resume, vs_time_ms);
}

std::optional<std::string> SessionModel::resume_refusal_problem(const protocol::GsResume& resume,
                                                                std::uint16_t reason,
                                                                std::uint64_t vs_time_ms) const {
  using protocol::JoinRejectReason;
  if (!proves_session_key(resume)) {
    return std::string("a GsResume that does not prove the session key of session ") +
           std::to_string(accept().session_id) +
           ", answered: the VS must turn it away unanswered and unlogged";
  }
  const rules::ResumeDecision decision = resume_decision(resume, vs_time_ms);
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
  if (!proves_session_key(resume)) {
    sink.add(finding(
        entry, check::kSignature,
        "a GsResume signed by the session key of session " + std::to_string(accept().session_id),
        "one that does not prove it",
        "the VS resumed a session for a peer that did not prove its key"));
  }
  const rules::ResumeDecision decision = resume_decision(resume, entry.header.vs_time_ms);
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
