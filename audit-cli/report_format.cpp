#include "audit-cli/report_format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include "audit-cli/common.h"
#include "audit-cli/message_json.h"
#include "protocol/merkle.h"
#include "vsd/physics.h"

namespace gsvs::audit::report {

namespace {

using nlohmann::json;
using protocol::AnyMessage;
using protocol::MessageKind;
using protocol::PublicKey;
using protocol::RevocationReason;
using protocol::SessionId;

// ---- Small helpers ----------------------------------------------------------------------------

std::string reason_label(std::uint16_t code) {
  return std::string(protocol::reason_name(static_cast<RevocationReason>(code)));
}

json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json hex_list(const std::vector<Hash32>& hashes) {
  json out = json::array();
  for (const auto& h : hashes) out.push_back(to_hex(h));
  return out;
}

json seq_list(const std::vector<std::uint64_t>& seqs) {
  json out = json::array();
  for (auto s : seqs) out.push_back(s);
  return out;
}

bool gs_sends(MessageKind kind) {
  return kind == MessageKind::kJoinRequest || protocol::session_key_signed(kind);
}

std::optional<SessionId> message_session(const AnyMessage& message) {
  return std::visit(
      [](const auto& m) -> std::optional<SessionId> {
        if constexpr (requires { m.session_id; }) {
          return m.session_id;
        } else {
          return std::nullopt;
        }
      },
      message);
}

std::optional<std::uint64_t> gs_counter_of(const AnyMessage& message) {
  return std::visit(
      [](const auto& m) -> std::optional<std::uint64_t> {
        if constexpr (requires { m.gs_counter; }) {
          return m.gs_counter;
        } else {
          return std::nullopt;
        }
      },
      message);
}

MessageKind kind_of(const AnyMessage& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kKind; }, message);
}

bool verify_signature(const AnyMessage& message, const PublicKey& key, std::size_t index) {
  return std::visit([&](const auto& m) { return protocol::verify(m, key, index); }, message);
}

json limits_json(const vsd::PhysicsLimits& l) {
  return {{"max_speed_mm_s", number(l.max_speed_mm_s)},
          {"tolerance", number(l.tolerance)},
          {"jitter_allowance_ms", l.jitter_allowance_ms},
          {"decay", number(l.decay)},
          {"max_excess_mm", number(l.max_excess_mm)},
          {"spawn_min_interval_ms", l.spawn_min_interval_ms}};
}

json step_json(const vsd::MovementStep& s) {
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
          {"elapsed_used_ms", s.elapsed_used_ms},
          {"speed_mm_s", number(s.speed_mm_s)},
          {"allowed_mm", number(s.allowed_mm)},
          {"excess_mm", number(s.excess_mm)},
          {"accumulated_excess_mm", number(s.accumulated_excess_mm)},
          {"spawn", s.spawn},
          {"violation", s.violation}};
}

// ---- Analysis ---------------------------------------------------------------------------------

struct EntryState {
  std::optional<AnyMessage> message;
  std::string decode_error;
  Hash32 recomputed_hash;
  Hash32 message_hash;
  std::string where;
  bool signatures_ok = true;  // every signature verified (VS ones only when a key was given)
  bool session_ok = true;     // header and message name the report's session
};

struct CheckpointState {
  std::optional<protocol::Checkpoint> checkpoint;
  std::string where;
  bool used = false;
};

struct Verdict {
  Outcome outcome = Outcome::kNotRecomputable;
  std::string explanation;
  json facts = json::object();
};

class Analyzer {
 public:
  Analyzer(const Evidence& evidence, const std::optional<PublicKey>& vs_key)
      : ev_(evidence), vs_key_(vs_key) {}

  Analysis run() {
    out_.entries = ev_.entries.size();
    out_.checkpoints = ev_.checkpoints.size();
    out_.vs_signatures_checked = vs_key_.has_value();
    if (!vs_key_) {
      out_.notes.push_back(
          "no VS public key given: VS signatures were not checked, and the report names no key");
    }
    decode_all();
    find_session_anchors();
    decode_checkpoints();
    for (std::size_t i = 0; i < ev_.entries.size(); ++i) check_entry(i);
    check_join();
    check_receipts_and_tickets();
    check_checkpoints();
    std::optional<Verdict> verdict;
    if (revocation_) verdict = compute_verdict();
    if (verdict) {
      out_.outcome = verdict->outcome;
      if (verdict->outcome == Outcome::kRefuted) {
        problem("verdict",
                "the evidence does not support the VS's verdict: " + verdict->explanation);
      }
    }
    build_document(verdict);
    return std::move(out_);
  }

 private:
  void problem(std::string where, std::string what) {
    out_.problems.push_back(Problem{std::move(where), std::move(what)});
  }

  const Entry& entry(std::size_t i) const { return ev_.entries[i]; }
  std::optional<std::size_t> index_of(std::uint64_t seq) const {
    auto it = by_seq_.find(seq);
    if (it == by_seq_.end()) return std::nullopt;
    return it->second;
  }
  template <class M>
  const M* as(std::size_t i) const {
    return state_[i].message ? std::get_if<M>(&*state_[i].message) : nullptr;
  }

  void decode_all() {
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

  void find_session_anchors() {
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

  void decode_checkpoints() {
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

  std::optional<PublicKey> key_for(Signer signer, std::size_t i) const {
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

  void check_entry(std::size_t i) {
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
    if (e.header.session_id != ev_.session_id) {
      s.session_ok = false;
      problem(s.where, "logged under session " + std::to_string(e.header.session_id) +
                           ", the report is about session " + std::to_string(ev_.session_id));
    }
    const auto direction = e.header.direction;
    if (gs_sends(e.header.kind) && direction != chains::Direction::kReceived) {
      problem(s.where, "a message the GS sends must be logged as received (direction 1)");
    } else if (protocol::vs_signed(e.header.kind) && direction != chains::Direction::kIssued) {
      problem(s.where, "a message the VS issues must be logged as issued (direction 2)");
    } else if (!gs_sends(e.header.kind) && !protocol::vs_signed(e.header.kind)) {
      problem(s.where, "kind " + kind_label(e.header.kind) + " is not exchanged between GS and VS");
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
    if (auto session = message_session(m); session && *session != ev_.session_id) {
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

  void check_inclusion(std::size_t i) {
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
      problem(s.where, "the proof leads to checkpoint " +
                           std::to_string(proof.checkpoint_log_size) +
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

  void check_join() {
    if (!accept_) return;
    const std::string& where = state_[*accept_index_].where;
    std::optional<std::size_t> request_index;
    for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
      if (entry(i).header.kind != MessageKind::kJoinRequest) continue;
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

  void check_receipts_and_tickets() {
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
      if (previous_tip && chains::next_receipt_tip(r.session_id, n, *previous_tip, r.digest_hash) !=
                              r.receipt_tip) {
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

  void check_checkpoints() {
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

  // ---- Verdicts -------------------------------------------------------------------------------

  // An included GS session message that the VS would have accepted: decodes, names the session
  // and verifies under the session key.
  bool accepted_gs_message(std::size_t i) const {
    return state_[i].message && protocol::session_key_signed(entry(i).header.kind) &&
           entry(i).header.direction == chains::Direction::kReceived && state_[i].session_ok &&
           state_[i].signatures_ok && !exempt_.contains(entry(i).header.seq);
  }

  std::optional<std::size_t> cited(std::size_t position) const {
    if (position >= revocation_->evidence.size()) return std::nullopt;
    return index_of(revocation_->evidence[position]);
  }

  // Receipts of the session issued before `before_seq` must be exactly 1..R.
  std::vector<std::size_t> receipts_before(std::uint64_t before_seq, const std::string& where) {
    std::vector<std::size_t> out;
    std::uint64_t expected = 1;
    for (const auto& [n, i] : receipts_) {
      if (entry(i).header.seq >= before_seq) continue;
      if (n != expected) {
        problem(where, "receipt " + std::to_string(expected) +
                           " is missing from the report; the receipts must run 1.." +
                           std::to_string(receipts_.size()) + " without a gap");
        break;
      }
      out.push_back(i);
      ++expected;
    }
    return out;
  }

  Verdict compute_verdict() {
    const auto reason = static_cast<RevocationReason>(revocation_->reason);
    for (auto seq : revocation_->evidence) {
      if (!index_of(seq)) {
        problem(state_[*revocation_index_].where,
                "cites log entry " + std::to_string(seq) + ", which is not in the report");
      }
    }
    switch (reason) {
      case RevocationReason::kSpeedViolation:
        return speed_verdict();
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
      case RevocationReason::kOperator:
      case RevocationReason::kVsShutdown:
      case RevocationReason::kGsLeft:
        return decision_verdict(reason);
    }
    Verdict v;
    v.explanation = "reason code " + std::to_string(revocation_->reason) +
                    " is not one this version knows; nothing to recompute";
    return v;
  }

  Verdict decision_verdict(RevocationReason reason) {
    Verdict v;
    v.outcome = Outcome::kNotRecomputable;
    const bool cites_join = revocation_->evidence.size() == 1 && accept_index_ &&
                            revocation_->evidence[0] == entry(*accept_index_).header.seq;
    v.facts = {{"evidence_is_join_accept", cites_join}};
    if (reason == RevocationReason::kOperator) {
      v.explanation =
          "an operator revoked the session; the report proves that the VS signed and logged "
          "that decision, for this session, at the time and with the words shown, but there "
          "is no rule to recompute";
    } else if (reason == RevocationReason::kGsLeft) {
      v.explanation =
          "the GS left cleanly: it ended the session with a GsLeaving; no fault is claimed and "
          "there is no rule to recompute";
    } else {
      v.explanation =
          "the VS revoked the session because it stopped or restarted while the session was "
          "live (fail closed); there is no rule to recompute";
    }
    return v;
  }

  Verdict speed_verdict() {
    Verdict v;
    v.outcome = Outcome::kRefuted;
    const std::string where = state_[*revocation_index_].where;
    if (revocation_->evidence.size() != 2 || !accept_) {
      v.explanation = "a speed verdict must cite two digests and rest on the JoinAccept's limits";
      return v;
    }
    const std::uint64_t from = revocation_->evidence[0];
    const std::uint64_t to = revocation_->evidence[1];
    const vsd::PhysicsLimits limits = vsd::limits_from(*accept_);
    vsd::PhysicsChecker checker(limits);
    std::optional<vsd::MovementStep> violation;
    std::vector<std::size_t> replayed;
    std::vector<vsd::MovementStep> history;
    for (std::size_t i = 0; i < ev_.entries.size() && !violation; ++i) {
      if (entry(i).header.seq > to) break;
      const auto* digest = as<protocol::TranscriptDigest>(i);
      if (!digest || !accepted_gs_message(i)) continue;
      replayed.push_back(i);
      auto steps = checker.check(
          *digest,
          vsd::DigestSample{digest->gs_time_ms, entry(i).header.vs_time_ms, entry(i).header.seq});
      for (const auto& step : steps) {
        history.push_back(step);
        if (step.violation && !violation) violation = step;
      }
    }
    // Completeness: every digest the VS accepted got a receipt, numbered 1, 2, ... So receipts
    // 1..R with their digests, and the violating digest after them, are all the digests there
    // were; one left out would show as a gap.
    auto receipts = receipts_before(entry(*revocation_index_).header.seq, where);
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
      if (seq != to && !receipted.contains(seq)) {
        problem(state_[i].where, "digest without a receipt in the report before the violation");
      }
      if (seq == to && receipted.contains(seq)) {
        problem(state_[i].where, "the violating digest was receipted (accepted) as well");
      }
    }
    json steps_of_player = json::array();
    if (violation) {
      for (const auto& step : history) {
        if (step.player == violation->player) steps_of_player.push_back(step_json(step));
      }
    }
    const std::string recomputed_detail =
        violation ? vsd::describe_violation(*violation, limits) : std::string();
    v.facts = {
        {"limits", limits_json(limits)},
        {"digests_replayed", replayed.size()},
        {"receipts", receipts.size()},
        {"violation", violation ? step_json(*violation) : json(nullptr)},
        {"player_steps", std::move(steps_of_player)},
        {"revocation_detail_matches", violation && recomputed_detail == revocation_->detail}};
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
    v.outcome = Outcome::kConfirmed;
    v.explanation = "replaying the movement rule (vsd's PhysicsChecker) over the " +
                    std::to_string(replayed.size()) +
                    " digests of the session, with the limits the VS signed in the JoinAccept "
                    "and each digest's logged vs_time_ms, gives the same first violation, "
                    "between entries " +
                    std::to_string(from) + " and " + std::to_string(to) + ": " + recomputed_detail;
    return v;
  }

  Verdict bad_signature_verdict() {
    Verdict v;
    v.outcome = Outcome::kRefuted;
    auto i = cited(0);
    if (!i || revocation_->evidence.size() != 1) {
      v.explanation = "a bad_signature verdict must cite the one message that failed";
      return v;
    }
    const Entry& e = entry(*i);
    const bool decodes = state_[*i].message.has_value();
    const bool traffic = decodes && protocol::session_key_signed(kind_of(*state_[*i].message));
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
    v.explanation = "the " + kind_label(e.header.kind) + " at entry " +
                    std::to_string(e.header.seq) +
                    " does not verify under the session key the VS bound in the JoinAccept";
    return v;
  }

  Verdict malformed_verdict() {
    Verdict v;
    v.outcome = Outcome::kRefuted;
    auto i = cited(0);
    if (!i || revocation_->evidence.size() != 1) {
      v.explanation = "a malformed_message verdict must cite the one message that failed";
      return v;
    }
    const Entry& e = entry(*i);
    const auto& s = state_[*i];
    const bool acceptable_kind = s.message && protocol::session_key_signed(kind_of(*s.message));
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

  Verdict session_mismatch_verdict() {
    Verdict v;
    v.outcome = Outcome::kRefuted;
    auto i = cited(0);
    if (!i || revocation_->evidence.size() != 1) {
      v.explanation = "a session_mismatch verdict must cite the one message that failed";
      return v;
    }
    const Entry& e = entry(*i);
    const auto& s = state_[*i];
    std::optional<SessionId> named = s.message ? message_session(*s.message) : std::nullopt;
    v.facts = {{"cited_seq", e.header.seq},
               {"message_session_id", named ? json(*named) : json(nullptr)}};
    if (!named || *named == ev_.session_id) {
      v.explanation =
          "the cited entry " + std::to_string(e.header.seq) + " does not name another session";
      return v;
    }
    v.outcome = Outcome::kConfirmed;
    v.explanation = "the " + kind_label(e.header.kind) + " at entry " +
                    std::to_string(e.header.seq) + " names session " + std::to_string(*named) +
                    " on the connection of session " + std::to_string(ev_.session_id);
    return v;
  }

  Verdict counter_verdict() {
    Verdict v;
    v.outcome = Outcome::kRefuted;
    auto i = cited(0);
    if (!i || revocation_->evidence.size() != 1) {
      v.explanation = "a counter_regression verdict must cite the one message that failed";
      return v;
    }
    const Entry& e = entry(*i);
    const auto counter = state_[*i].message ? gs_counter_of(*state_[*i].message) : std::nullopt;
    if (!counter || !accepted_gs_message(*i)) {
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
        previous ? *gs_counter_of(*state_[*previous].message) : 0;
    v.facts = {{"cited_seq", e.header.seq},
               {"gs_counter", *counter},
               {"previous_seq", previous ? json(entry(*previous).header.seq) : json(nullptr)},
               {"previous_gs_counter", previous_counter}};
    if (*counter > previous_counter) {
      v.explanation = "gs_counter " + std::to_string(*counter) + " is above the previous " +
                      std::to_string(previous_counter);
      return v;
    }
    v.outcome = Outcome::kConfirmed;
    v.explanation = "gs_counter " + std::to_string(*counter) + " at entry " +
                    std::to_string(e.header.seq) + " is not above " +
                    std::to_string(previous_counter) +
                    (previous ? ", the counter of the message accepted before it at entry " +
                                    std::to_string(entry(*previous).header.seq)
                              : std::string(" (counters start at 1)"));
    return v;
  }

  Verdict sw_hash_verdict() {
    Verdict v;
    v.outcome = Outcome::kRefuted;
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

  Verdict receipt_tip_verdict() {
    Verdict v;
    v.outcome = Outcome::kRefuted;
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
    auto receipts = receipts_before(seq, state_[*revocation_index_].where);
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
    if (claimed->receipt_count > issued) {
      v.outcome = Outcome::kConfirmed;
      v.explanation = "the " + claimed->sender + " claims " +
                      std::to_string(claimed->receipt_count) + " receipts, but the VS had issued " +
                      std::to_string(issued);
    } else if (*expected_tip != claimed->receipt_tip) {
      v.outcome = Outcome::kConfirmed;
      v.explanation = "the " + claimed->sender + "'s receipt_tip after " +
                      std::to_string(claimed->receipt_count) +
                      " receipts is not the tip the VS issued with receipt " +
                      std::to_string(claimed->receipt_count);
    } else {
      v.outcome = Outcome::kNotRecomputable;
      v.explanation = "the " + claimed->sender +
                      "'s tip matches; the VS's complaint (receipts acknowledged too "
                      "far behind, or going back) rests on max_receipt_lag or on earlier "
                      "heartbeats, which the report does not carry";
    }
    return v;
  }

  Verdict missed_heartbeats_verdict() {
    Verdict v;
    v.outcome = Outcome::kRefuted;
    auto i = cited(0);
    if (!i || !accept_ || revocation_->evidence.size() != 1) {
      v.explanation =
          "a missed_heartbeats verdict must cite the last valid Heartbeat (or the "
          "JoinAccept)";
      return v;
    }
    const Entry& last = entry(*i);
    const bool is_anchor =
        (last.header.kind == MessageKind::kHeartbeat && accepted_gs_message(*i)) ||
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
    if (silent < accept_->heartbeat_timeout_ms) {
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

  // ---- The document ---------------------------------------------------------------------------

  json session_json() const {
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
      s["limits"] = {{"max_speed_mm_s", accept_->max_speed_mm_s},
                     {"speed_tolerance_ppm", accept_->speed_tolerance_ppm},
                     {"jitter_allowance_ms", accept_->jitter_allowance_ms},
                     {"excess_decay_ppm", accept_->excess_decay_ppm},
                     {"max_excess_mm", accept_->max_excess_mm},
                     {"spawn_min_interval_ms", accept_->spawn_min_interval_ms}};
    } else {
      for (const char* key :
           {"gs_identity", "session_key", "sw_hash", "start_vs_time_ms", "timing", "limits"}) {
        s[key] = nullptr;
      }
    }
    std::optional<std::size_t> end = revocation_index_;
    if (!end && !ev_.entries.empty()) end = ev_.entries.size() - 1;
    s["end_seq"] = seq_of(end);
    s["end_vs_time_ms"] = end ? json(entry(*end).header.vs_time_ms) : json(nullptr);
    s["outcome"] = revocation_ ? "revoked" : "not_revoked";
    if (revocation_) {
      s["revocation"] = {{"seq", entry(*revocation_index_).header.seq},
                         {"revocation_seq", revocation_->revocation_seq},
                         {"vs_time_ms", revocation_->vs_time_ms},
                         {"reason_code", revocation_->reason},
                         {"reason", reason_label(revocation_->reason)},
                         {"detail", revocation_->detail},
                         {"evidence_seqs", seq_list(revocation_->evidence)}};
    } else {
      s["revocation"] = nullptr;
    }
    return s;
  }

  json entry_json(std::size_t i) const {
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
        std::optional<PublicKey> key;
        if (slot.signer == Signer::kVs) {
          key = ev_.vs_public_key;
        } else {
          key = key_for(slot.signer, i);
        }
        signatures.push_back({{"index", k},
                              {"tag", std::string(slot.tag)},
                              {"signer", std::string(signer_name(slot.signer))},
                              {"public_key", key ? json(to_hex(*key)) : json(nullptr)},
                              {"signature", to_hex(slot.signature)},
                              {"signed_bytes", slot.signed_bytes}});
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

  json checkpoint_json(std::size_t i) const {
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

  void build_document(const std::optional<Verdict>& verdict) {
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
                        {"reason", reason_label(revocation_->reason)},
                        {"evidence_seqs", seq_list(revocation_->evidence)},
                        {"outcome", std::string(outcome_name(verdict->outcome))},
                        {"explanation", verdict->explanation},
                        {"facts", verdict->facts}};
    } else {
      doc["verdict"] = nullptr;
    }
    out_.document = std::move(doc);
  }

  const Evidence& ev_;
  const std::optional<PublicKey>& vs_key_;
  Analysis out_;
  std::vector<EntryState> state_;
  std::map<std::uint64_t, std::size_t> by_seq_;
  std::vector<CheckpointState> cp_state_;
  std::map<std::uint64_t, std::size_t> cp_by_size_;
  std::optional<std::size_t> accept_index_;
  std::optional<std::size_t> request_index_;
  std::optional<std::size_t> revocation_index_;
  std::optional<protocol::JoinAccept> accept_;
  std::optional<protocol::Revocation> revocation_;
  std::set<std::uint64_t> exempt_;
  std::map<std::uint64_t, std::size_t> receipts_;
};

// ---- Parsing ----------------------------------------------------------------------------------

// Reads typed fields and remembers the first error, naming the field; reads after an error
// return defaults, so the caller checks failed() once at the end.
class FieldReader {
 public:
  const json* member(const json& object, const std::string& path, std::string_view key) {
    if (error_) return nullptr;
    const std::string where = join(path, key);
    if (!object.is_object()) {
      fail(path.empty() ? "report" : path, "expected an object");
      return nullptr;
    }
    auto it = object.find(std::string(key));
    if (it == object.end()) {
      fail(where, "missing");
      return nullptr;
    }
    return &*it;
  }

  std::uint64_t u64(const json& object, const std::string& path, std::string_view key,
                    std::uint64_t max = UINT64_MAX) {
    const json* v = member(object, path, key);
    if (!v) return 0;
    if (!v->is_number_unsigned()) {
      fail(join(path, key), "expected an unsigned integer");
      return 0;
    }
    const auto value = v->get<std::uint64_t>();
    if (value > max) {
      fail(join(path, key), "out of range (at most " + std::to_string(max) + ")");
      return 0;
    }
    return value;
  }

  std::string text(const json& object, const std::string& path, std::string_view key) {
    const json* v = member(object, path, key);
    if (!v) return {};
    if (!v->is_string()) {
      fail(join(path, key), "expected a string");
      return {};
    }
    return v->get<std::string>();
  }

  Bytes hex(const json& value, const std::string& where) {
    if (error_) return {};
    if (!value.is_string()) {
      fail(where, "expected a lower-case hex string");
      return {};
    }
    const auto& s = value.get_ref<const std::string&>();
    for (char c : s) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        fail(where, "expected a lower-case hex string");
        return {};
      }
    }
    auto bytes = from_hex(s);
    if (!bytes) {
      fail(where, "hex string of odd length");
      return {};
    }
    return std::move(*bytes);
  }

  Bytes hex(const json& object, const std::string& path, std::string_view key) {
    const json* v = member(object, path, key);
    return v ? hex(*v, join(path, key)) : Bytes{};
  }

  Hash32 hash(const json& value, const std::string& where) {
    Bytes raw = hex(value, where);
    Hash32 out;
    if (error_) return out;
    if (raw.size() != 32) {
      fail(where, "expected 32 bytes (64 hex characters)");
      return out;
    }
    std::copy(raw.begin(), raw.end(), out.bytes.begin());
    return out;
  }

  Hash32 hash(const json& object, const std::string& path, std::string_view key) {
    const json* v = member(object, path, key);
    return v ? hash(*v, join(path, key)) : Hash32{};
  }

  std::vector<Hash32> hashes(const json& value, const std::string& where, std::size_t cap) {
    std::vector<Hash32> out;
    if (error_) return out;
    if (!value.is_array()) {
      fail(where, "expected an array of hashes");
      return out;
    }
    if (value.size() > cap) {
      fail(where, "more than " + std::to_string(cap) + " hashes");
      return out;
    }
    for (std::size_t i = 0; i < value.size() && !error_; ++i) {
      out.push_back(hash(value[i], where + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  const json* array(const json& object, const std::string& path, std::string_view key) {
    const json* v = member(object, path, key);
    if (v && !v->is_array()) {
      fail(join(path, key), "expected an array");
      return nullptr;
    }
    return v;
  }

  void fail(const std::string& where, const std::string& what) {
    if (!error_) error_ = where + ": " + what;
  }
  [[nodiscard]] bool failed() const { return error_.has_value(); }
  [[nodiscard]] const std::string& error() const { return *error_; }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

 private:
  std::optional<std::string> error_;
};

// Nesting deeper than the format's own is refused before anything walks the document
// recursively (nlohmann's parser is iterative; dump and compare are not).
bool nesting_within(const json& root, std::size_t limit) {
  std::vector<std::pair<const json*, std::size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > limit) return false;
    if (node->is_object() || node->is_array()) {
      for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
    }
  }
  return true;
}

// ---- Comparing the file with the document the evidence gives ----------------------------------

class Comparator {
 public:
  explicit Comparator(const json& expected_root) : root_(expected_root) {}

  void compare(const json& expected, const json& actual, const std::string& path) {
    if (malformed_) return;
    if (expected.is_null() || actual.is_null()) {
      if (expected != actual) differ(path, expected, actual);
      return;
    }
    if (category(expected) != category(actual)) {
      malformed_ = path + ": expected " + std::string(category(expected));
      return;
    }
    if (expected.is_object()) {
      for (const auto& [key, value] : expected.items()) {
        auto it = actual.find(key);
        if (it == actual.end()) {
          malformed_ = FieldReader::join(path, key) + ": missing";
          return;
        }
        compare(value, *it, FieldReader::join(path, key));
      }
      for (const auto& [key, value] : actual.items()) {
        if (!expected.contains(key)) {
          malformed_ = FieldReader::join(path, key) + ": not a field of " +
                       std::string(kFormatName) + " version " + std::to_string(kFormatVersion);
          return;
        }
      }
      return;
    }
    if (expected.is_array()) {
      const std::size_t common = std::min(expected.size(), actual.size());
      for (std::size_t i = 0; i < common; ++i) {
        compare(expected[i], actual[i], path + "[" + std::to_string(i) + "]");
      }
      if (expected.size() != actual.size()) {
        add(path, "the report has " + std::to_string(actual.size()) +
                      " items, the evidence gives " + std::to_string(expected.size()));
      }
      return;
    }
    if (expected != actual) differ(path, expected, actual);
  }

  [[nodiscard]] const std::optional<std::string>& malformed() const { return malformed_; }
  std::vector<Problem>& differences() { return differences_; }

 private:
  static std::string_view category(const json& v) {
    if (v.is_object()) return "an object";
    if (v.is_array()) return "an array";
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "true or false";
    if (v.is_number()) return "a number";
    return "null";
  }
  static std::string shorten(const json& v) {
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > 90) s = s.substr(0, 87) + "...";
    return s;
  }
  void differ(const std::string& path, const json& expected, const json& actual) {
    if (expected.is_string() && actual.is_string()) {
      // Long texts: show where they part.
      const auto& a = actual.get_ref<const std::string&>();
      const auto& e = expected.get_ref<const std::string&>();
      std::size_t at = 0;
      while (at < a.size() && at < e.size() && a[at] == e[at]) ++at;
      if (at > 40) {
        const std::size_t from = at - 20;
        add(path, "differs from character " + std::to_string(at) + ": the report says \"..." +
                      shorten(json(a.substr(from))).substr(1) + ", the evidence gives \"..." +
                      shorten(json(e.substr(from))).substr(1));
        return;
      }
    }
    add(path, "the report says " + shorten(actual) + ", the evidence gives " + shorten(expected));
  }
  void add(const std::string& path, std::string what) {
    if (differences_.size() >= kMaxDifferences) return;
    differences_.push_back(Problem{with_entry_context(path), std::move(what)});
  }
  // "entries[3].decoded.tick" -> "entries[3] (seq 17, TranscriptDigest): decoded.tick"
  std::string with_entry_context(const std::string& path) const {
    if (path.rfind("entries[", 0) != 0) return path;
    const auto close = path.find(']');
    if (close == std::string::npos) return path;
    const auto index = std::stoull(path.substr(8, close - 8));
    const auto& entries = root_["entries"];
    if (index >= entries.size()) return path;
    const auto& e = entries[index];
    std::string where = path.substr(0, close + 1) + " (seq " + e["seq"].dump() + ", " +
                        e["kind_name"].get<std::string>() + ")";
    if (close + 1 < path.size()) where += ": " + path.substr(close + 2);
    return where;
  }

  static constexpr std::size_t kMaxDifferences = 1000;
  const json& root_;
  std::optional<std::string> malformed_;
  std::vector<Problem> differences_;
};

}  // namespace

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
  return Analyzer(evidence, vs_key).run();
}

std::string serialize(const nlohmann::json& document) {
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Parsed> parse(std::string_view text) {
  Parsed out;
  out.document = json::parse(text.begin(), text.end(), nullptr, false);
  if (out.document.is_discarded()) {
    // Parse again with exceptions only to say where the JSON is broken.
    try {
      const json again = json::parse(text.begin(), text.end());
      (void)again;
    } catch (const json::exception& e) {
      return Error{std::string("not valid JSON: ") + e.what()};
    }
    return Error{"not valid JSON"};
  }
  if (!nesting_within(out.document, kMaxNesting)) {
    return Error{"nested deeper than " + std::to_string(kMaxNesting) + " levels"};
  }
  const json& doc = out.document;
  FieldReader r;
  if (!doc.is_object()) return Error{"report: expected a JSON object"};
  const std::string format = r.text(doc, "", "format");
  if (!r.failed() && format != kFormatName) {
    r.fail("format", "'" + format + "' is not " + std::string(kFormatName));
  }
  const auto version = r.u64(doc, "", "format_version");
  if (!r.failed() && version != kFormatVersion) {
    r.fail("format_version", std::to_string(version) + " is not supported (this build reads " +
                                 std::to_string(kFormatVersion) + ")");
  }
  if (const json* key = r.member(doc, "", "vs_public_key"); key && !key->is_null()) {
    out.evidence.vs_public_key = r.hash(*key, "vs_public_key");
  }
  if (const json* session = r.member(doc, "", "session")) {
    out.evidence.session_id = r.u64(*session, "session", "session_id");
  }
  if (const json* entries = r.array(doc, "", "entries")) {
    for (std::size_t i = 0; i < entries->size() && !r.failed(); ++i) {
      const json& e = (*entries)[i];
      const std::string path = "entries[" + std::to_string(i) + "]";
      Entry entry;
      entry.header.seq = r.u64(e, path, "seq");
      entry.header.kind = static_cast<MessageKind>(r.u64(e, path, "kind", 255));
      entry.header.direction = static_cast<chains::Direction>(r.u64(e, path, "direction", 255));
      entry.header.session_id = r.u64(e, path, "session_id");
      entry.header.vs_time_ms = r.u64(e, path, "vs_time_ms");
      entry.header.prev_entry_hash = r.hash(e, path, "prev_hash");
      entry.entry_hash = r.hash(e, path, "entry_hash");
      entry.message = r.hex(e, path, "message_hex");
      if (const json* inclusion = r.member(e, path, "inclusion");
          inclusion && !inclusion->is_null()) {
        const std::string ipath = path + ".inclusion";
        InclusionProof proof;
        proof.checkpoint_log_size = r.u64(*inclusion, ipath, "checkpoint_log_size");
        if (const json* p = r.member(*inclusion, ipath, "path")) {
          proof.path = r.hashes(*p, ipath + ".path", kMaxProofHashes);
        }
        entry.inclusion = std::move(proof);
      }
      out.evidence.entries.push_back(std::move(entry));
    }
  }
  if (const json* checkpoints = r.array(doc, "", "checkpoints")) {
    for (std::size_t i = 0; i < checkpoints->size() && !r.failed(); ++i) {
      const json& c = (*checkpoints)[i];
      const std::string path = "checkpoints[" + std::to_string(i) + "]";
      Checkpoint checkpoint;
      checkpoint.message = r.hex(c, path, "message_hex");
      if (const json* next = r.member(c, path, "consistency_with_next"); next && !next->is_null()) {
        checkpoint.consistency_with_next =
            r.hashes(*next, path + ".consistency_with_next", kMaxConsistencyHashes);
      }
      out.evidence.checkpoints.push_back(std::move(checkpoint));
    }
  }
  if (r.failed()) return Error{r.error()};
  return out;
}

Verification verify(std::string_view text, const crypto::PublicKey& vs_key) {
  Verification out;
  auto parsed = parse(text);
  if (!parsed) {
    out.status = CheckStatus::kMalformed;
    out.problems.push_back(Problem{"report", parsed.error()});
    return out;
  }
  const Evidence& evidence = parsed->evidence;
  if (evidence.vs_public_key && *evidence.vs_public_key != vs_key) {
    out.problems.push_back(Problem{"vs_public_key", "the report was made for VS key " +
                                                        to_hex(*evidence.vs_public_key) +
                                                        ", not the key given, " + to_hex(vs_key)});
  }
  out.analysis = analyze(evidence, vs_key);
  if (!evidence.vs_public_key) {
    out.analysis.notes.insert(out.analysis.notes.begin(),
                              "the report names no VS key; its VS signatures were checked "
                              "against the key given");
  }
  Comparator comparator(out.analysis.document);
  comparator.compare(out.analysis.document, parsed->document, "");
  if (comparator.malformed()) {
    out.status = CheckStatus::kMalformed;
    out.problems = {Problem{"report", *comparator.malformed()}};
    return out;
  }
  out.problems.insert(out.problems.end(), out.analysis.problems.begin(),
                      out.analysis.problems.end());
  auto& differences = comparator.differences();
  out.problems.insert(out.problems.end(), differences.begin(), differences.end());
  // Same content, other bytes (whitespace, escapes, key order, number spelling): the file is not
  // the one the report command wrote. Only worth a look when the content itself checked out.
  if (out.problems.empty()) {
    const std::string canonical = serialize(out.analysis.document);
    if (canonical != text) {
      std::size_t at = 0;
      while (at < canonical.size() && at < text.size() && canonical[at] == text[at]) ++at;
      const auto line =
          1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
      out.problems.push_back(Problem{
          "file", "byte " + std::to_string(at) + " (line " + std::to_string(line) +
                      ") departs from the report's fixed layout (2-space indentation, sorted "
                      "keys, no escapes beyond JSON's, one final newline): the file was altered "
                      "after it was written"});
    }
  }
  out.status = out.problems.empty() ? CheckStatus::kOk : CheckStatus::kFailed;
  return out;
}

std::string format_problem(const Problem& problem) { return problem.where + ": " + problem.what; }

nlohmann::json summary(CheckStatus status, const std::vector<Problem>& problems,
                       const Analysis* analysis) {
  json out;
  out["status"] = status == CheckStatus::kOk       ? "ok"
                  : status == CheckStatus::kFailed ? "failed"
                                                   : "malformed";
  json list = json::array();
  for (const auto& p : problems) list.push_back({{"where", p.where}, {"what", p.what}});
  out["problems"] = std::move(list);
  if (!analysis) return out;
  const json& doc = analysis->document;
  const json& session = doc["session"];
  out["session_id"] = session["session_id"];
  out["gs_identity"] = session["gs_identity"];
  out["sw_hash"] = session["sw_hash"];
  out["outcome"] = session["outcome"];
  out["revocation"] = session["revocation"];
  out["verdict"] = doc["verdict"].is_null() ? json(nullptr)
                                            : json{{"outcome", doc["verdict"]["outcome"]},
                                                   {"explanation", doc["verdict"]["explanation"]}};
  out["entries"] = analysis->entries;
  out["covered_by_checkpoints"] = analysis->covered;
  out["uncovered_seqs"] = doc["uncovered_seqs"];
  json sizes = json::array();
  for (const auto& c : doc["checkpoints"]) sizes.push_back(c["log_size"]);
  out["checkpoint_log_sizes"] = std::move(sizes);
  out["vs_signatures_checked"] = analysis->vs_signatures_checked;
  out["notes"] = analysis->notes;
  return out;
}

std::string summary_text(const nlohmann::json& s) {
  std::ostringstream out;
  auto text = [](const json& v) {
    return v.is_string() ? v.get<std::string>()
                         : v.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  if (s.contains("session_id")) {
    out << "session " << text(s["session_id"]) << ": GS identity " << text(s["gs_identity"])
        << ", build " << text(s["sw_hash"]) << "\n";
    if (s["revocation"].is_object()) {
      const json& r = s["revocation"];
      const std::string when = r["vs_time_ms"].is_number_unsigned()
                                   ? format_utc(r["vs_time_ms"].get<std::uint64_t>())
                                   : "?";
      out << "revoked at entry " << text(r["seq"]) << " (" << when << "): " << text(r["reason"])
          << ": " << text(r["detail"]) << "\n";
    } else {
      out << "not revoked in the log\n";
    }
    out << "evidence: " << text(s["entries"]) << " entries, " << text(s["covered_by_checkpoints"])
        << " proven under ";
    const json& sizes = s["checkpoint_log_sizes"];
    if (sizes.size() > 6) {
      out << sizes.size() << " VS-signed checkpoints (log sizes " << text(sizes.front()) << " to "
          << text(sizes.back()) << ")";
    } else {
      out << "VS-signed checkpoints (log sizes ";
      for (std::size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << text(sizes[i]);
      out << ")";
    }
    if (!s["uncovered_seqs"].empty()) {
      out << "; not yet covered by any checkpoint (only the hash chain vouches for them): entries";
      for (const auto& seq : s["uncovered_seqs"]) out << " " << text(seq);
    }
    out << "\n";
    if (s["verdict"].is_object()) {
      out << "verdict: " << text(s["verdict"]["outcome"]) << ": "
          << text(s["verdict"]["explanation"]) << "\n";
    }
    for (const auto& note : s["notes"]) out << "note: " << text(note) << "\n";
  }
  const json& problems = s["problems"];
  if (s["status"] == "ok") {
    out << "OK: every claim in the report checks out\n";
  } else {
    out << (s["status"] == "malformed" ? "MALFORMED: " : "FAILED: ") << problems.size()
        << (problems.size() == 1 ? " problem" : " problems") << "\n";
    for (const auto& p : problems)
      out << "  " << text(p["where"]) << ": " << text(p["what"]) << "\n";
  }
  return out.str();
}

}  // namespace gsvs::audit::report
