// The identity's earlier sessions in a speed verdict's report (PROTOCOL.md §8.6 "Continuity
// across sessions"): what the session's players started from, recomputed from the report alone.
#include "audit-cli/common.h"
#include "audit-cli/report_analyzer.h"
#include "audit-cli/session_continuity.h"
#include "rules/continuity.h"

namespace gsvs::audit::report::detail {

using nlohmann::json;

const protocol::JoinAccept* Analyzer::earlier_accept_of(std::size_t i) const {
  auto found = earlier_.find(entry(i).header.session_id);
  return found == earlier_.end() ? nullptr : &found->second.accept;
}

void Analyzer::check_earlier_sessions() {
  if (!accept_ || !accept_index_) return;
  const Entry& joined = entry(*accept_index_);
  // 1. Their JoinAccepts: issued by the VS before this session's, for the same identity.
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    if (!context(i) || entry(i).header.kind != protocol::MessageKind::kJoinAccept) continue;
    const auto* accept = any_as<protocol::JoinAccept>(i);
    // Another identity's, or a later one (a report's end-state stretch may hold any session's
    // entries): not a session the players could have started from; check_end_state() judges it.
    if (accept == nullptr || entry(i).header.direction != chains::Direction::kIssued ||
        accept->session_id != entry(i).header.session_id ||
        accept->gs_identity != accept_->gs_identity || entry(i).header.seq >= joined.header.seq) {
      continue;
    }
    const EntryState& s = state_[i];
    if (vs_key_ && !protocol::verify(*accept, *vs_key_)) {
      problem(s.where, "signature does not verify under the VS key");
      continue;
    }
    earlier_.insert_or_assign(accept->session_id, EarlierSession{i, *accept, {}, {}, 0});
  }
  // 2. Their Revocations and receipts; every other entry of theirs is out of place.
  for (std::size_t i = 0; i < ev_.entries.size(); ++i) {
    auto session = earlier_.find(entry(i).header.session_id);
    if (!context(i) || session == earlier_.end() || i == session->second.accept_index) continue;
    EarlierSession& earlier = session->second;
    const EntryState& s = state_[i];
    const protocol::MessageKind kind = entry(i).header.kind;
    if (kind == protocol::MessageKind::kTranscriptDigest) continue;  // read through the receipts
    const bool issued = entry(i).header.direction == chains::Direction::kIssued;
    const auto* revocation = any_as<protocol::Revocation>(i);
    const auto* receipt = any_as<protocol::ProtectedReceipt>(i);
    const bool vs_signed_ok = s.message && (!vs_key_ || verify_signature(*s.message, *vs_key_, 0));
    if (!issued || !vs_signed_ok || (revocation == nullptr && receipt == nullptr)) {
      problem(s.where,
              "an earlier session's entry must be its JoinAccept, Revocation, a "
              "receipt the VS signed or the digest a receipt names");
      continue;
    }
    if (revocation != nullptr) {
      if (revocation->session_id != earlier.accept.session_id || earlier.revocation_index) {
        problem(s.where, "a second Revocation of the earlier session, or one of another");
      } else {
        earlier.revocation_index = i;
      }
    } else if (receipt->session_id != earlier.accept.session_id ||
               !earlier.receipts.emplace(receipt->receipt_index, i).second) {
      problem(s.where, "a second receipt with receipt_index " +
                           std::to_string(receipt->receipt_index) + ", or one of another session");
    }
  }
  // 3. Each replayed in log order of its JoinAccept, as the VS fed its ledger.
  std::map<std::size_t, SessionId> by_accept;
  for (const auto& [session, earlier] : earlier_) by_accept.emplace(earlier.accept_index, session);
  rules::ContinuityReplay replay;
  for (const auto& [accept_index, session] : by_accept) {
    EarlierSession& earlier = earlier_.at(session);
    const std::string& where = state_[accept_index].where;
    if (!earlier.revocation_index) {
      problem(where,
              "the earlier session's Revocation is not in the report: where it ended "
              "cannot be shown");
      continue;
    }
    const Entry& ended = entry(*earlier.revocation_index);
    if (ended.header.seq >= joined.header.seq) {
      problem(state_[*earlier.revocation_index].where,
              "the earlier session ended after this session's JoinAccept");
      continue;
    }
    replay.joined(earlier.accept, entry(accept_index).header.vs_time_ms);
    Hash32 tip{};
    std::uint64_t expected = 1;
    for (const auto& [n, i] : earlier.receipts) {
      const auto& receipt = std::get<protocol::ProtectedReceipt>(*state_[i].message);
      if (n != expected) {
        problem(where, "receipt " + std::to_string(expected) + " of session " +
                           std::to_string(session) +
                           " is missing from the report; its receipts must run 1.." +
                           std::to_string(earlier.receipts.size()) + " without a gap");
        break;
      }
      ++expected;
      if (entry(i).header.seq > ended.header.seq ||
          chains::next_receipt_tip(session, n, tip, receipt.digest_hash) != receipt.receipt_tip) {
        problem(state_[i].where,
                "not a receipt of the earlier session's chain before its Revocation");
        break;
      }
      tip = receipt.receipt_tip;
      const auto d = index_of(receipt.digest_log_seq);
      const auto* digest = d ? any_as<protocol::TranscriptDigest>(*d) : nullptr;
      if (digest == nullptr || entry(*d).header.session_id != session ||
          entry(*d).header.direction != chains::Direction::kReceived ||
          digest->session_id != session || state_[*d].message_hash != receipt.digest_hash ||
          !verify_signature(*state_[*d].message, earlier.accept.session_key, 0)) {
        problem(state_[i].where, "the digest it receipts (seq " +
                                     std::to_string(receipt.digest_log_seq) +
                                     ") is not in the report as the session's signed digest");
        break;
      }
      replay.notarized(session, *digest, digest_sample(*d, *digest));
      ++earlier.digests;
    }
    replay.ended(session);
  }
  carried_ =
      replay.ledger().carried_into(accept_->gs_identity, joined.header.vs_time_ms,
                                   accept_->continuity_window_ms, accept_->max_players_per_session);
  if (!earlier_.empty()) {
    out_.notes.emplace_back(
        "the report holds " + std::to_string(earlier_.size()) +
        " earlier session(s) of the identity, replayed for the positions its players started "
        "from; that no other session of the identity ended within the window before the join "
        "is the VS's word (a report cannot prove an absence; 'audit-cli verify' recomputes it "
        "from the whole log)");
  }
}

json Analyzer::earlier_sessions_json() const {
  json out = json::array();
  std::map<std::size_t, const EarlierSession*> by_accept;
  for (const auto& [session, earlier] : earlier_) by_accept.emplace(earlier.accept_index, &earlier);
  for (const auto& [accept_index, earlier] : by_accept) {
    out.push_back({{"session_id", earlier->accept.session_id},
                   {"join_accept_seq", entry(accept_index).header.seq},
                   {"revocation_seq", earlier->revocation_index
                                          ? json(entry(*earlier->revocation_index).header.seq)
                                          : json(nullptr)},
                   {"receipts", earlier->receipts.size()},
                   {"digests_replayed", earlier->digests}});
  }
  return out;
}

}  // namespace gsvs::audit::report::detail
