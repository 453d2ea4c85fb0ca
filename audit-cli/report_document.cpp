// The report document: the evidence as stored, with the fields derived from it.
#include "audit-cli/common.h"
#include "audit-cli/message_json.h"
#include "audit-cli/report_analyzer.h"

namespace gsvs::audit::report::detail {

using nlohmann::json;

json Analyzer::session_json() const {
  json s = {{"session_id", ev_.session_id}};
  auto seq_of = [this](std::optional<std::size_t> i) {
    return i ? json(entry(*i).header.seq) : json(nullptr);
  };
  s["join_request_seq"] = seq_of(request_index_);
  s["join_accept_seq"] = seq_of(accept_index_);
  if (accept_) {
    s["gs_identity"] = to_hex(accept_->gs_identity);
    s["session_key"] = to_hex(accept_->session_key);
    s["sw_hash"] = to_hex(accept_->sw_hash);
    s["start_vs_time_ms"] = accept_->vs_time_ms;
    s["timing"] = {{"heartbeat_interval_ms", accept_->heartbeat_interval_ms},
                   {"heartbeat_timeout_ms", accept_->heartbeat_timeout_ms},
                   {"ticket_period_ms", accept_->ticket_period_ms},
                   {"ticket_validity_ms", accept_->ticket_validity_ms}};
    s["limits"] = signed_limits_json(*accept_);
  } else {
    for (const char* key :
         {"gs_identity", "session_key", "sw_hash", "start_vs_time_ms", "timing", "limits"}) {
      s[key] = nullptr;
    }
  }
  std::optional<std::size_t> end = revocation_index_;
  for (std::size_t i = ev_.entries.size(); !end && i-- > 0;) {
    if (!context(i)) end = i;
  }
  s["end_seq"] = seq_of(end);
  s["end_vs_time_ms"] = end ? json(entry(*end).header.vs_time_ms) : json(nullptr);
  s["outcome"] = revocation_ ? "revoked" : "not_revoked";
  s["not_revoked_through"] = not_revoked_through_ ? json(*not_revoked_through_) : json(nullptr);
  if (revocation_) {
    s["revocation"] = {{"seq", entry(*revocation_index_).header.seq},
                       {"revocation_seq", revocation_->revocation_seq},
                       {"vs_time_ms", revocation_->vs_time_ms},
                       {"reason_code", revocation_->reason},
                       {"reason", revocation_reason_name(revocation_->reason)},
                       {"detail", revocation_->detail},
                       {"evidence_seqs", revocation_->evidence}};
  } else {
    s["revocation"] = nullptr;
  }
  return s;
}

json Analyzer::entry_json(std::size_t i) const {
  const Entry& e = entry(i);
  const EntryState& s = state_[i];
  json out = {{"seq", e.header.seq},
              {"kind", static_cast<unsigned>(e.header.kind)},
              {"kind_name", kind_label(e.header.kind)},
              {"direction", static_cast<unsigned>(e.header.direction)},
              {"session_id", e.header.session_id},
              {"vs_time_ms", e.header.vs_time_ms},
              {"prev_hash", to_hex(e.header.prev_entry_hash)},
              {"entry_hash", to_hex(e.entry_hash)},
              {"message_hex", to_hex(e.message)},
              {"message_hash", to_hex(s.message_hash)}};
  json signatures = json::array();
  if (s.message) {
    out["decoded"] = message_fields(*s.message);
    out["decode_error"] = nullptr;
    for (std::size_t k = 0; const auto& slot : signature_slots(*s.message, e.message.size())) {
      // A VS signature names the key the report was made against.
      const std::optional<PublicKey> key =
          slot.signer == Signer::kVs ? ev_.vs_public_key : key_for(slot.signer, i);
      json signature = {{"index", k},
                        {"tag", std::string(slot.tag)},
                        {"signer", std::string(signer_name(slot.signer))},
                        {"public_key", key ? json(to_hex(*key)) : json(nullptr)},
                        {"signature", to_hex(slot.signature)},
                        {"signed_bytes", slot.signed_bytes}};
      if (slot.batch) {
        signature["batch"] = {{"leaf_tag", std::string(slot.batch->leaf_tag)},
                              {"leaf_index", slot.batch->leaf_index},
                              {"leaf_count", slot.batch->leaf_count},
                              {"proof", hex_list(slot.batch->proof)},
                              {"root", to_hex(slot.batch->root)}};
      }
      signatures.push_back(std::move(signature));
      ++k;
    }
  } else {
    out["decoded"] = nullptr;
    out["decode_error"] = s.decode_error;
  }
  out["signatures"] = std::move(signatures);
  if (e.inclusion) {
    out["inclusion"] = {{"checkpoint_log_size", e.inclusion->checkpoint_log_size},
                        {"path", hex_list(e.inclusion->path)}};
  } else {
    out["inclusion"] = nullptr;
  }
  return out;
}

json Analyzer::checkpoint_json(std::size_t i) const {
  const auto& c = ev_.checkpoints[i];
  const auto& cp = cp_state_[i].checkpoint;
  json out = {{"message_hex", to_hex(c.message)},
              {"log_size", cp ? json(cp->log_size) : json(nullptr)},
              {"root", cp ? json(to_hex(cp->root)) : json(nullptr)},
              {"vs_time_ms", cp ? json(cp->vs_time_ms) : json(nullptr)},
              {"signature", cp ? json(to_hex(cp->signatures[0])) : json(nullptr)}};
  out["consistency_with_next"] =
      c.consistency_with_next ? hex_list(*c.consistency_with_next) : json(nullptr);
  return out;
}

void Analyzer::build_document(const std::optional<Verdict>& verdict) {
  json doc = json::object();
  doc["format"] = std::string(kFormatName);
  doc["format_version"] = kFormatVersion;
  doc["vs_public_key"] = ev_.vs_public_key ? json(to_hex(*ev_.vs_public_key)) : json(nullptr);
  doc["session"] = session_json();
  json entries = json::array();
  json uncovered = json::array();
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    entries.push_back(entry_json(i));
    if (!entry(i).inclusion) {
      uncovered.push_back(entry(i).header.seq);
      out_.notes.push_back("entry " + std::to_string(entry(i).header.seq) +
                           " is not covered by any checkpoint in the log yet: only the hash "
                           "chain vouches for it");
    }
  }
  doc["entries"] = std::move(entries);
  json checkpoints = json::array();
  for (std::size_t i = 0; i < ev_.checkpoints.size(); ++i)
    checkpoints.push_back(checkpoint_json(i));
  doc["checkpoints"] = std::move(checkpoints);
  doc["uncovered_seqs"] = std::move(uncovered);
  if (verdict && revocation_) {
    doc["verdict"] = {{"reason_code", revocation_->reason},
                      {"reason", revocation_reason_name(revocation_->reason)},
                      {"evidence_seqs", revocation_->evidence},
                      {"outcome", std::string(outcome_name(verdict->outcome))},
                      {"explanation", verdict->explanation},
                      {"facts", verdict->facts}};
  } else {
    doc["verdict"] = nullptr;
  }
  out_.document = std::move(doc);
}

}  // namespace gsvs::audit::report::detail
