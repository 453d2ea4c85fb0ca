// The semantic stage on a StateCarried (PROTOCOL.md §5.29, §8.16 "Carried forward"): its parts
// read together, and the whole carry held to what this verification has read before it. Where
// the rows read start after retired segments, the carry is the VS's word for the quarantines
// begun before them: from it on, a join of a quarantined identity, or a Pardon of nothing, is a
// finding again.
#include <map>
#include <string>

#include "audit-cli/verifier_pipeline.h"

namespace gsvs::audit::detail {

namespace {

std::string describe(const protocol::CarriedQuarantine& q) {
  return "identity " + short_hex(q.gs_identity) + "... quarantined by session " +
         std::to_string(q.session_id) + " (" +
         std::string(protocol::reason_name(static_cast<protocol::RevocationReason>(q.reason))) +
         ", Revocation at entry " + std::to_string(q.revocation_position) + ", since " +
         std::to_string(q.since_vs_ms) + " ms, term " +
         (q.quarantine_ms == 0 ? std::string("until pardoned")
                               : std::to_string(q.quarantine_ms) + " ms") +
         ")";
}

}  // namespace

void Verifier::carry_cut(const chains::LogEntryHeader& at, const std::string& found) {
  sink_.add(finding_at(at, check::kStateCarried,
                       "part " + std::to_string(carry_->state.part + 1) +
                           " of the StateCarried at entry " + std::to_string(carry_->position) +
                           " (" + std::to_string(carry_->state.parts) +
                           " parts, one after the other)",
                       found,
                       "a carry cut short restates only some of the quarantines in force: none "
                       "of it is taken"));
  carry_.reset();
}

void Verifier::on_state_carried(const Item& item, const protocol::StateCarried& part) {
  if (part.vs_time_ms != item.entry.header.vs_time_ms) {
    sink_.add(
        finding(item, check::kStateCarried,
                "vs_time_ms " + std::to_string(item.entry.header.vs_time_ms) + ", the entry's own",
                "vs_time_ms " + std::to_string(part.vs_time_ms)));
  }
  if (part.log_size != item.position) {
    sink_.add(finding(item, check::kStateCarried, "log_size equal to its own position",
                      "log_size " + std::to_string(part.log_size) + " at position " +
                          std::to_string(item.position)));
  }
  const std::string in_its_place = "entry " + std::to_string(item.position) + " in its place";
  if (part.part == 0) {
    if (carry_) carry_cut(item.entry.header, in_its_place);
    carry_ = CarryRead{item.position, part, item.entry.header};
  } else if (!carry_ || part.part != carry_->state.part + 1 ||
             !protocol::same_carry(part, carry_->state)) {
    if (carry_) carry_cut(item.entry.header, in_its_place);
    sink_.add(finding(item, check::kStateCarried,
                      "part 0 of a carry, or the next part of the one before it with the same "
                      "fields",
                      "part " + std::to_string(part.part) + " of " + std::to_string(part.parts)));
    return;
  } else {
    auto& quarantines = carry_->state.quarantines;
    if (!quarantines.empty() && !part.quarantines.empty() &&
        !(quarantines.back().gs_identity < part.quarantines.front().gs_identity)) {
      sink_.add(finding(item, check::kStateCarried,
                        "quarantines in ascending order of gs_identity across parts",
                        "part " + std::to_string(part.part) + " starts with " +
                            short_hex(part.quarantines.front().gs_identity) + "..."));
    }
    quarantines.insert(quarantines.end(), part.quarantines.begin(), part.quarantines.end());
    carry_->state.part = part.part;
    carry_->last = item.entry.header;
  }
  if (carry_->state.part + 1 < carry_->state.parts) return;
  const CarryRead whole = std::move(*carry_);
  carry_.reset();
  judge_carry(item, whole.state);
}

void Verifier::judge_carry(const Item& item, const protocol::StateCarried& carry) {
  const auto mismatch = [&](std::string expected, std::string found, std::string detail = {}) {
    sink_.add(finding(item, check::kStateCarried, std::move(expected), std::move(found),
                      std::move(detail)));
  };
  // The numbers: at least every one issued before it (the VS counts those it handed out for
  // entries not yet placed too).
  if (carry.session_id_high < max_session_id_) {
    mismatch("session_id_high " + std::to_string(max_session_id_) + " or more",
             "session_id_high " + std::to_string(carry.session_id_high),
             "a start would give a session id twice");
  }
  if (carry.revocation_seq_high < last_revocation_seq_) {
    mismatch("revocation_seq_high " + std::to_string(last_revocation_seq_) + " or more",
             "revocation_seq_high " + std::to_string(carry.revocation_seq_high));
  }
  // The policy in force.
  if (policy_in_force_ != nullptr) {
    if (carry.policy_seq != policy_in_force_->policy_seq ||
        carry.policy_position != policy_in_force_position_ ||
        carry.policy_hash != policy_in_force_->policy_hash ||
        carry.policy_quarantine_ms != policy_in_force_->policy.quarantine_ms) {
      mismatch("policy #" + std::to_string(policy_in_force_->policy_seq) + " at entry " +
                   std::to_string(policy_in_force_position_) + ", its hash and quarantine_ms " +
                   std::to_string(policy_in_force_->policy.quarantine_ms),
               "policy #" + std::to_string(carry.policy_seq) + " at entry " +
                   std::to_string(carry.policy_position) + ", quarantine_ms " +
                   std::to_string(carry.policy_quarantine_ms) + " (or another hash)");
    }
  } else if (last_carry_) {
    // No PolicyApplied since the carry before: the same policy.
    if (carry.policy_seq != last_carry_->policy_seq ||
        carry.policy_position != last_carry_->policy_position ||
        carry.policy_hash != last_carry_->policy_hash ||
        carry.policy_quarantine_ms != last_carry_->policy_quarantine_ms) {
      mismatch("policy #" + std::to_string(last_carry_->policy_seq) + " at entry " +
                   std::to_string(last_carry_->policy_position) +
                   ", as the carry before (no PolicyApplied since)",
               "policy #" + std::to_string(carry.policy_seq) + " at entry " +
                   std::to_string(carry.policy_position) + ", quarantine_ms " +
                   std::to_string(carry.policy_quarantine_ms) + " (or another hash)");
    }
  } else if (start_seq_ == 0 && (carry.policy_seq != 0 || carry.policy_quarantine_ms != 0)) {
    mismatch("policy_seq 0 and quarantine_ms 0 (no PolicyApplied before it)",
             "policy #" + std::to_string(carry.policy_seq) + ", quarantine_ms " +
                 std::to_string(carry.policy_quarantine_ms));
  }
  // The quarantines: each one the log read so far holds at the carry's reach (kCarryLookbackMs
  // before it) must be restated as it began; one restated that the log read does not hold is a
  // finding only where the log read holds every quarantine (from entry 0, or since an earlier
  // carry).
  const std::string reach = std::to_string(rules::carry_reach_ms(carry.vs_time_ms)) +
                            " ms (ten minutes before the carry)";
  std::map<protocol::PublicKey, protocol::CarriedQuarantine> held;
  for (auto& q : quarantine_.carried_at(carry.vs_time_ms)) held.emplace(q.gs_identity, q);
  for (const auto& restated : carry.quarantines) {
    auto it = held.find(restated.gs_identity);
    if (it == held.end()) {
      if (quarantines_known_) {
        mismatch("only the quarantines that still hold at " + reach, describe(restated),
                 "no quarantine of that identity holds there");
      }
      continue;
    }
    if (!(it->second == restated)) mismatch(describe(it->second), describe(restated));
    held.erase(it);
  }
  for (const auto& [identity, missing] : held) {
    mismatch(describe(missing) + ", which still holds at " + reach,
             "no quarantine of that identity restated",
             "a start from this carry would let the identity in");
  }
  if (!quarantines_known_) {
    quarantine_.restate(carry.quarantines, carry.policy_quarantine_ms);
    quarantines_known_ = true;
    quarantines_known_from_ms_ = rules::carry_reach_ms(carry.vs_time_ms);
  }
  last_carry_ = carry;
  carry_time_to_pass_ = carry.vs_time_ms;
}

}  // namespace gsvs::audit::detail
