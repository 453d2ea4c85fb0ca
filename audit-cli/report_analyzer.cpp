#include "audit-cli/report_analyzer.h"

#include "audit-cli/common.h"

namespace gsvs::audit::report {

namespace detail {

using protocol::MessageKind;
using protocol::RevocationReason;

// ---- Analysis ---------------------------------------------------------------------------------

Analysis Analyzer::run() {
  out_.entries = ev_.entries.size();
  out_.vs_signatures_checked = vs_key_.has_value();
  if (!vs_key_) {
    out_.notes.emplace_back(
        "no VS public key given: VS signatures were not checked, and the report names no key");
  }
  decode_all();
  find_session_anchors();
  decode_checkpoints();
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) check_entry(i);
  check_join();
  check_receipts_and_tickets();
  check_checkpoints();
  check_earlier_sessions();
  check_end_state();
  std::optional<Verdict> verdict;
  if (revocation_) verdict = compute_verdict();
  if (verdict && verdict->outcome == Outcome::kRefuted) {
    problem("verdict", "the evidence does not support the VS's verdict: " + verdict->explanation);
  }
  build_document(verdict);
  return std::move(out_);
}

void Analyzer::decode_all() {
  state_.resize(ev_.entries.size());
  std::optional<std::uint64_t> previous;
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    const Entry& e = entry(i);
    EntryState& s = state_[i];
    s.where = "entries[" + std::to_string(i) + "] (seq " + std::to_string(e.header.seq) + ", " +
              kind_label(e.header.kind) + ")";
    if (previous && e.header.seq <= *previous) {
      problem(s.where, "entries are not in strictly increasing seq order");
    }
    previous = e.header.seq;
    by_seq_.emplace(e.header.seq, i);
    s.recomputed_hash = chains::log_entry_hash(e.header, e.message);
    s.message_hash = chains::message_hash(e.message);
    auto decoded = protocol::decode_any(e.message);
    if (decoded) {
      s.message = std::move(decoded).value();
    } else {
      s.decode_error = decoded.error();
    }
  }
}

void Analyzer::find_session_anchors() {
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    if (const auto* accept = as<protocol::JoinAccept>(i)) {
      if (accept_index_) {
        problem(state_[i].where, "a second JoinAccept in the report");
        continue;
      }
      accept_index_ = i;
      accept_ = *accept;
    } else if (const auto* revocation = as<protocol::Revocation>(i)) {
      if (revocation_index_) {
        problem(state_[i].where, "a second Revocation in the report");
        continue;
      }
      revocation_index_ = i;
      revocation_ = *revocation;
    }
  }
  if (!accept_) {
    problem("entries", "no JoinAccept: the report cannot establish the session key");
  } else if (accept_->session_id != ev_.session_id) {
    problem(state_[*accept_index_].where,
            "JoinAccept is for session " + std::to_string(accept_->session_id) +
                ", the report is about session " + std::to_string(ev_.session_id));
  }
  // A verdict about a message that did not decode, did not verify or named another session
  // is checked by the verdict itself, not refused here.
  if (revocation_) {
    const auto reason = static_cast<RevocationReason>(revocation_->reason);
    if (reason == RevocationReason::kBadSignature ||
        reason == RevocationReason::kMalformedMessage ||
        reason == RevocationReason::kSessionMismatch) {
      for (auto seq : revocation_->evidence) exempt_.insert(seq);
    }
  }
}

void Analyzer::decode_checkpoints() {
  cp_state_.resize(ev_.checkpoints.size());
  for (std::size_t i = 0; i < ev_.checkpoints.size(); ++i) {
    CheckpointState& s = cp_state_[i];
    s.where = "checkpoints[" + std::to_string(i) + "]";
    auto cp = protocol::decode<protocol::Checkpoint>(ev_.checkpoints[i].message);
    if (!cp) {
      problem(s.where, "does not decode as a Checkpoint: " + cp.error());
      continue;
    }
    s.where += " (log_size " + std::to_string(cp->log_size) + ")";
    if (vs_key_ && !protocol::verify(*cp, *vs_key_)) {
      problem(s.where, "signature does not verify under the VS key");
    }
    if (cp_by_size_.contains(cp->log_size)) {
      problem(s.where, "a second checkpoint with the same log_size");
    } else {
      cp_by_size_.emplace(cp->log_size, i);
    }
    s.checkpoint = *cp;
  }
}

std::optional<PublicKey> Analyzer::key_for(Signer signer, std::size_t i) const {
  if (context(i)) {
    // Only an earlier session's entries are read; their GS key is that session's.
    const protocol::JoinAccept* earlier = earlier_accept_of(i);
    if (signer == Signer::kVs) return vs_key_;
    if (signer == Signer::kGsSession && earlier) return earlier->session_key;
    return std::nullopt;
  }
  switch (signer) {
    case Signer::kVs:
      return vs_key_;
    case Signer::kGsIdentity:
      if (const auto* r = as<protocol::JoinRequest>(i)) return r->gs_identity;
      return std::nullopt;
    case Signer::kGsSession:
      if (const auto* r = as<protocol::JoinRequest>(i)) return r->session_key;
      if (accept_) return accept_->session_key;
      return std::nullopt;
    case Signer::kClient:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace detail

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kConfirmed:
      return "confirmed";
    case Outcome::kConsistent:
      return "consistent";
    case Outcome::kNotRecomputable:
      return "not_recomputable";
    case Outcome::kRefuted:
      return "refuted";
  }
  return "unknown";
}

Analysis analyze(const Evidence& evidence, const std::optional<crypto::PublicKey>& vs_key) {
  return detail::Analyzer(evidence, vs_key).run();
}

}  // namespace gsvs::audit::report
