// Reloading the policy live (PROTOCOL.md §8.17): the configuration read again, the fixed keys
// held to their running values, the new policy logged in a PolicyApplied, and the sessions it
// no longer allows revoked with policy_withdrawn after it.
#include <spdlog/spdlog.h>

#include "app/log_line.h"
#include "rules/policy_rules.h"
#include "vsd/server_state.h"
#include "vsd/session.h"

namespace gsvs::vsd {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

storage::PendingEntry ServerState::apply_policy_at_head(const Policy& applied,
                                                        std::uint64_t position,
                                                        std::uint64_t vs_time_ms) {
  PolicyApplied message;
  message.policy_seq = next_policy_seq++;
  message.vs_time_ms = vs_time_ms;
  message.policy = applied;
  message.policy_hash = policy_hash(applied);
  policy =
      std::make_shared<const PolicyInForce>(PolicyInForce{applied, message.policy_seq, position});
  // Quarantines that begin from here on take this policy's term (§8.16); running ones keep theirs.
  quarantine.policy_applied(applied.quarantine_ms);
  return pending(MessageKind::kPolicyApplied, chains::Direction::kIssued, 0, vs_time_ms,
                 sign_and_encode(message));
}

storage::PendingEntry ServerState::withdraw_suspended(SessionId session,
                                                      const rules::SessionRules& rules,
                                                      const std::string& why,
                                                      std::uint64_t vs_time_ms,
                                                      std::uint64_t position) {
  Revocation revocation;
  revocation.session_id = session;
  revocation.revocation_seq = next_revocation_seq.fetch_add(1);
  revocation.vs_time_ms = vs_time_ms;
  revocation.reason = static_cast<std::uint16_t>(RevocationReason::kPolicyWithdrawn);
  revocation.detail = truncate_utf8(why, kMaxDetailBytes);
  revocation.evidence = {rules.start().accept_position, policy->position};
  revoked_at_head(revocation, rules.accept().gs_identity, position);
  metrics.revocations.inc(RevocationReason::kPolicyWithdrawn);
  remember_positions(rules, vs_time_ms);
  spdlog::warn("session {} (suspended): revoked: policy_withdrawn: {}", session,
               app::log_text(revocation.detail));
  return pending(MessageKind::kRevocation, chains::Direction::kIssued, session, vs_time_ms,
                 sign_and_encode(revocation));
}

Result<std::string> ServerState::reload(std::string_view trigger) {
  const auto refuse = [&](const std::string& why) -> Result<std::string> {
    spdlog::warn("{}: reload refused, the policy in force stays: {}", trigger, app::log_text(why));
    return Error{why};
  };
  if (stopping) return refuse("vsd is stopping");
  if (!reread_config)
    return refuse("this vsd was not started from a configuration it can read again");
  auto reloaded = reread_config();
  if (!reloaded) return refuse(reloaded.error());
  if (auto fixed = fixed_key_changed(config, *reloaded)) {
    return refuse("config key '" + std::string(*fixed) +
                  "' differs from the running value and cannot change while vsd runs (restart "
                  "to apply it); nothing was applied");
  }
  const Policy next = policy_of(*reloaded);
  const auto before = current_policy();
  if (before && before->policy == next) {
    spdlog::info("{}: reload: the policy is unchanged (policy #{} stays in force)", trigger,
                 before->seq);
    return "policy unchanged: policy #" + std::to_string(before->seq) + " stays in force";
  }
  // The PolicyApplied, then the suspended sessions it bars, in one submit at the head: from
  // this entry on every join and resume is judged by the new policy.
  struct Withdrawal {
    std::shared_ptr<Session> session;
    std::string why;
  };
  std::vector<Withdrawal> withdrawals;
  std::shared_ptr<const PolicyInForce> applied;
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t size, const Hash32&) {
    std::vector<storage::PendingEntry> entries;
    const std::uint64_t now = clock.now_ms();
    std::lock_guard lock(mutex);
    entries.push_back(apply_policy_at_head(next, size, now));
    applied = policy;
    const std::string by = " by policy #" + std::to_string(applied->seq);
    for (auto it = suspended.begin(); it != suspended.end();) {
      const JoinAccept& accept = it->second->accept();
      if (auto bar = rules::session_barred(next, accept.gs_identity, accept.sw_hash)) {
        entries.push_back(
            withdraw_suspended(it->first, *it->second,
                               rules::describe_bar(*bar, accept.gs_identity, accept.sw_hash) + by,
                               now, size + entries.size()));
        it = suspended.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [id, session] : live) {
      auto known = known_sessions.find(id);
      if (known == known_sessions.end()) continue;
      const KnownSession& k = known->second;
      if (auto bar = rules::session_barred(next, k.identity, k.sw_hash)) {
        withdrawals.push_back({session, rules::describe_bar(*bar, k.identity, k.sw_hash) + by});
      }
    }
    return entries;
  };
  auto placed = writer->submit_at_head(build, stop_if_not_durable("logging a reloaded policy"));
  if (!placed) {
    store_failed("logging a reloaded policy", placed.error());
    return Error{"the store refused the PolicyApplied: " + placed.error()};
  }
  spdlog::info(
      "{}: reload: policy #{} applied at log position {} ({} identities, {} builds); {} "
      "live session(s) withdrawn",
      trigger, applied->seq, applied->position, next.allowed_gs.size(), next.allowed_builds.size(),
      withdrawals.size());
  // Each on its own loop, logged after the PolicyApplied it cites.
  for (auto& w : withdrawals) w.session->revoke_for_policy(w.why, applied->position);
  return "policy #" + std::to_string(applied->seq) + " applied; " +
         std::to_string(withdrawals.size()) + " live session(s) revoked (policy_withdrawn)";
}

}  // namespace gsvs::vsd
