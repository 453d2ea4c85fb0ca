// The checks of the evidence itself: hashes, chains, signatures, inclusion and consistency
// proofs, the join and the receipt and ticket chains.
#include <map>

#include "audit-cli/common.h"
#include "audit-cli/report_analyzer.h"
#include "protocol/merkle.h"

namespace gsvs::audit::report::detail {

void Analyzer::check_entry(std::size_t i) {
  const Entry& e = entry(i);
  EntryState& s = state_[i];
  const bool exempt = exempt_.contains(e.header.seq);
  if (s.recomputed_hash != e.entry_hash) {
    problem(s.where, "entry_hash " + to_hex(e.entry_hash) +
                         " does not match the hash recomputed from the header fields and "
                         "message bytes, " +
                         to_hex(s.recomputed_hash));
  }
  if (e.header.seq == 0 && !e.header.prev_entry_hash.is_zero()) {
    problem(s.where, "entry 0 must have a prev_hash of 32 zero bytes");
  }
  if (e.header.seq > 0) {
    if (auto before = index_of(e.header.seq - 1)) {
      if (state_[*before].recomputed_hash != e.header.prev_entry_hash) {
        problem(s.where, "prev_hash does not equal the entry hash of entry " +
                             std::to_string(e.header.seq - 1) + " in the report");
      }
    }
  }
  if (context(i)) {
    // Another session's entry: whether it may be here at all is check_end_state()'s call.
    s.session_ok = false;
    check_inclusion(i);
    return;
  }
  const auto logged = chains::logged_direction(chains::StoreOwner::kVs, e.header.kind);
  if (!logged) {
    problem(s.where, "kind " + kind_label(e.header.kind) + " is not exchanged between GS and VS");
  } else if (e.header.direction != *logged) {
    problem(s.where, *logged == chains::Direction::kReceived
                         ? "a message the GS sends must be logged as received (direction 1)"
                         : "a message the VS issues must be logged as issued (direction 2)");
  }
  check_inclusion(i);
  if (!s.message) {
    if (!exempt) problem(s.where, "message does not decode: " + s.decode_error);
    return;
  }
  const AnyMessage& m = *s.message;
  if (kind_of(m) != e.header.kind) {
    problem(s.where, "the message is a " + kind_label(kind_of(m)) + ", the header says " +
                         kind_label(e.header.kind));
  }
  if (auto session = named_session(m); session && *session != ev_.session_id) {
    s.session_ok = false;
    if (!exempt) {
      problem(s.where, "message names session " + std::to_string(*session) +
                           ", the report is about session " + std::to_string(ev_.session_id));
    }
  }
  for (std::size_t k = 0; const auto& slot : signature_slots(m, e.message.size())) {
    auto key = key_for(slot.signer, i);
    if (!key) {
      if (slot.signer != Signer::kVs) {
        s.signatures_ok = false;
        problem(s.where, "no key to check signature " + std::to_string(k) + " (" +
                             std::string(signer_name(slot.signer)) + ") against");
      }
    } else if (!verify_signature(m, *key, k)) {
      s.signatures_ok = false;
      if (!exempt) {
        problem(s.where, "signature " + std::to_string(k) + " (" + std::string(slot.tag) +
                             ") does not verify under the " +
                             std::string(signer_name(slot.signer)) + " key " + to_hex(*key));
      }
    }
    ++k;
  }
}

void Analyzer::check_end_state() {
  std::optional<std::pair<std::uint64_t, std::uint64_t>> stretch;  // [first, last] seq
  if (!revocation_ && accept_ && !cp_by_size_.empty()) {
    const std::uint64_t through = cp_by_size_.rbegin()->first;
    // The session's last VS-signed entry before the checkpoint: the VS issues nothing for a
    // session after its Revocation, so the session was live there.
    std::optional<std::size_t> anchor;
    for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
      const Entry& e = entry(i);
      if (!context(i) && e.header.seq < through && protocol::vs_signed(e.header.kind) &&
          e.header.direction == chains::Direction::kIssued && state_[i].message &&
          state_[i].signatures_ok) {
        anchor = i;
      }
    }
    if (anchor) stretch.emplace(entry(*anchor).header.seq, through - 1);
  }
  if (stretch) {
    const auto [first, last] = *stretch;
    std::uint64_t present = 0;
    std::optional<std::uint64_t> first_missing;
    std::uint64_t expected = first;
    std::vector<std::size_t> revocations;  // of the session, reported after what is missing
    for (auto it = by_seq_.lower_bound(first); it != by_seq_.end() && it->first <= last; ++it) {
      if (!first_missing && it->first != expected) first_missing = expected;
      expected = it->first + 1;
      ++present;
      const auto* r = any_as<protocol::Revocation>(it->second);
      if (entry(it->second).header.direction == chains::Direction::kIssued && r != nullptr &&
          r->session_id == ev_.session_id) {
        revocations.push_back(it->second);
      }
    }
    if (!first_missing && expected <= last) first_missing = expected;
    if (first_missing) {
      problem("session",
              "the report shows no Revocation of session " + std::to_string(ev_.session_id) +
                  ", but not the stretch of the log that would prove none before its checkpoint " +
                  std::to_string(last + 1) + ": entries " + std::to_string(first) + ".." +
                  std::to_string(last) +
                  " (from the session's last VS-signed entry) must all be "
                  "in the report; " +
                  std::to_string(last - first + 1 - present) + " missing, the first at seq " +
                  std::to_string(*first_missing));
    }
    for (auto i : revocations) {
      problem(state_[i].where, "a Revocation of session " + std::to_string(ev_.session_id) +
                                   ", logged under session " +
                                   std::to_string(entry(i).header.session_id) +
                                   ": the report cannot claim the session was not revoked");
    }
    if (!first_missing && revocations.empty()) not_revoked_through_ = last + 1;
  }
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    const auto seq = entry(i).header.seq;
    if (context(i) && !(stretch && seq >= stretch->first && seq <= stretch->second) &&
        !earlier_accept_of(i)) {
      problem(state_[i].where,
              "logged under session " + std::to_string(entry(i).header.session_id) +
                  ", the report is about session " + std::to_string(ev_.session_id));
    }
  }
}

void Analyzer::check_inclusion(std::size_t i) {
  const Entry& e = entry(i);
  const EntryState& s = state_[i];
  // The first checkpoint of the report that covers this entry; the proof must lead to it.
  std::optional<std::uint64_t> first_covering;
  for (const auto& [size, index] : cp_by_size_) {
    if (size > e.header.seq) {
      first_covering = size;
      break;
    }
  }
  if (!e.inclusion) {
    if (first_covering) {
      problem(s.where, "no inclusion proof, but checkpoint " + std::to_string(*first_covering) +
                           " in the report covers it");
    }
    return;
  }
  const InclusionProof& proof = *e.inclusion;
  auto it = cp_by_size_.find(proof.checkpoint_log_size);
  if (it == cp_by_size_.end()) {
    problem(s.where, "inclusion proof names checkpoint " +
                         std::to_string(proof.checkpoint_log_size) +
                         ", which is not in the report");
    return;
  }
  CheckpointState& cp = cp_state_[it->second];
  cp.used = true;
  if (proof.checkpoint_log_size <= e.header.seq) {
    problem(s.where, "checkpoint " + std::to_string(proof.checkpoint_log_size) +
                         " does not cover seq " + std::to_string(e.header.seq));
    return;
  }
  if (first_covering && *first_covering != proof.checkpoint_log_size) {
    problem(s.where, "the proof leads to checkpoint " + std::to_string(proof.checkpoint_log_size) +
                         " but the first checkpoint covering the entry is " +
                         std::to_string(*first_covering));
  }
  if (!merkle::verify_inclusion(s.recomputed_hash, e.header.seq, proof.checkpoint_log_size,
                                proof.path, cp.checkpoint->root)) {
    problem(s.where,
            "inclusion proof does not lead from the entry hash to the root of "
            "checkpoint " +
                std::to_string(proof.checkpoint_log_size));
    return;
  }
  ++out_.covered;
}

void Analyzer::check_join() {
  if (!accept_) return;
  const std::string& where = state_[*accept_index_].where;
  std::optional<std::size_t> request_index;
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    if (entry(i).header.kind != protocol::MessageKind::kJoinRequest) continue;
    if (state_[i].message_hash == accept_->join_request_hash) {
      request_index = i;
    } else {
      problem(state_[i].where, "a JoinRequest that the session's JoinAccept does not answer");
    }
  }
  if (!request_index) {
    problem(where, "the JoinRequest it answers (join_request_hash " +
                       to_hex(accept_->join_request_hash) + ") is not in the report");
    return;
  }
  request_index_ = request_index;
  const auto* request = as<protocol::JoinRequest>(*request_index);
  if (!request) return;  // reported by check_entry
  if (request->gs_identity != accept_->gs_identity ||
      request->session_key != accept_->session_key || request->sw_hash != accept_->sw_hash) {
    problem(where, "gs_identity, session_key or sw_hash differ from the JoinRequest's");
  }
  if (entry(*request_index).header.seq > entry(*accept_index_).header.seq) {
    problem(where, "logged before the JoinRequest it answers");
  }
}

void Analyzer::check_receipts_and_tickets() {
  std::map<std::uint64_t, std::size_t> receipts;  // receipt_index -> entry
  std::map<std::uint64_t, std::size_t> tickets;   // ticket_seq -> entry
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    if (const auto* r = as<protocol::ProtectedReceipt>(i)) {
      if (!receipts.emplace(r->receipt_index, i).second) {
        problem(state_[i].where,
                "a second receipt with receipt_index " + std::to_string(r->receipt_index));
      }
    } else if (const auto* t = as<protocol::PlayTicket>(i)) {
      if (!tickets.emplace(t->ticket_seq, i).second) {
        problem(state_[i].where,
                "a second ticket with ticket_seq " + std::to_string(t->ticket_seq));
      }
    }
  }
  for (const auto& [n, i] : receipts) {
    const auto& r = *as<protocol::ProtectedReceipt>(i);
    std::optional<Hash32> previous_tip;
    if (n == 1) previous_tip = Hash32{};
    if (auto it = receipts.find(n - 1); n > 1 && it != receipts.end()) {
      previous_tip = as<protocol::ProtectedReceipt>(it->second)->receipt_tip;
    }
    if (previous_tip &&
        chains::next_receipt_tip(r.session_id, n, *previous_tip, r.digest_hash) != r.receipt_tip) {
      problem(state_[i].where, "receipt_tip is not the tip chained from the previous receipt");
    }
    if (auto d = index_of(r.digest_log_seq)) {
      const auto* digest = as<protocol::TranscriptDigest>(*d);
      if (!digest || state_[*d].message_hash != r.digest_hash ||
          digest->gs_counter != r.gs_counter) {
        problem(state_[i].where, "does not match the TranscriptDigest at seq " +
                                     std::to_string(r.digest_log_seq) + " in the report");
      }
    }
  }
  for (const auto& [n, i] : tickets) {
    const auto& t = *as<protocol::PlayTicket>(i);
    std::optional<Hash32> expected;
    if (n == 1 && accept_index_) expected = state_[*accept_index_].message_hash;
    if (auto it = tickets.find(n - 1); n > 1 && it != tickets.end()) {
      expected = state_[it->second].message_hash;
    }
    if (expected && t.prev_ticket_hash != *expected) {
      problem(state_[i].where, "prev_ticket_hash does not chain to the " +
                                   std::string(n == 1 ? "JoinAccept" : "previous ticket"));
    }
  }
  receipts_ = std::move(receipts);
}

void Analyzer::check_checkpoints() {
  std::optional<std::uint64_t> previous_size;
  for (std::size_t i = 0; i < ev_.checkpoints.size(); ++i) {
    const CheckpointState& s = cp_state_[i];
    const bool last = i + 1 == ev_.checkpoints.size();
    const auto& consistency = ev_.checkpoints[i].consistency_with_next;
    if (last && consistency) {
      problem(s.where, "the last checkpoint has no next one to be consistent with");
    } else if (!last && !consistency) {
      problem(s.where, "no consistency proof to the next checkpoint");
    }
    if (!s.checkpoint) continue;
    if (!s.used) problem(s.where, "no entry's inclusion proof leads to this checkpoint");
    if (previous_size && s.checkpoint->log_size <= *previous_size) {
      problem(s.where, "checkpoints are not in strictly increasing log_size order");
    }
    previous_size = s.checkpoint->log_size;
    if (last || !consistency) continue;
    const CheckpointState& next = cp_state_[i + 1];
    if (!next.checkpoint) continue;
    if (!merkle::verify_consistency(s.checkpoint->log_size, next.checkpoint->log_size,
                                    s.checkpoint->root, next.checkpoint->root, *consistency)) {
      problem(s.where, "consistency proof to checkpoint " +
                           std::to_string(next.checkpoint->log_size) +
                           " does not verify: the two roots are not one append-only log");
    }
  }
}

}  // namespace gsvs::audit::report::detail
