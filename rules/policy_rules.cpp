#include "rules/policy_rules.h"

#include <algorithm>

namespace gsvs::rules {

namespace {

template <class T>
void sort_unique(std::vector<T>& items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
}

}  // namespace

bool allows_identity(const protocol::Policy& policy, const protocol::PublicKey& identity) {
  return std::binary_search(policy.allowed_gs.begin(), policy.allowed_gs.end(), identity);
}

bool allows_build(const protocol::Policy& policy, const Hash32& sw_hash) {
  return std::binary_search(policy.allowed_builds.begin(), policy.allowed_builds.end(), sw_hash);
}

std::optional<PolicyBar> session_barred(const protocol::Policy& policy,
                                        const protocol::PublicKey& identity,
                                        const Hash32& sw_hash) {
  if (!allows_identity(policy, identity)) return PolicyBar::kIdentityRemoved;
  if (!allows_build(policy, sw_hash)) return PolicyBar::kBuildRemoved;
  return std::nullopt;
}

std::string describe_bar(PolicyBar bar, const protocol::PublicKey& identity,
                         const Hash32& sw_hash) {
  return bar == PolicyBar::kIdentityRemoved ? "identity " + short_hex(identity) + "... removed"
                                            : "build " + short_hex(sw_hash) + "... removed";
}

void announce_policy(const protocol::Policy& policy, protocol::JoinAccept& accept) {
  accept.heartbeat_interval_ms = policy.heartbeat_interval_ms;
  accept.heartbeat_timeout_ms = policy.heartbeat_timeout_ms;
  accept.ticket_period_ms = policy.ticket_period_ms;
  accept.ticket_validity_ms = policy.ticket_validity_ms;
  accept.max_receipt_lag = policy.max_receipt_lag;
  accept.max_speed_mm_s = policy.max_speed_mm_s;
  accept.speed_tolerance_ppm = policy.speed_tolerance_ppm;
  accept.jitter_allowance_ms = policy.jitter_allowance_ms;
  accept.excess_decay_ppm = policy.excess_decay_ppm;
  accept.max_excess_mm = policy.max_excess_mm;
  accept.spawn_min_interval_ms = policy.spawn_min_interval_ms;
  accept.max_players_per_session = policy.max_players_per_session;
  accept.digest_timeout_ms = policy.digest_timeout_ms;
  accept.continuity_window_ms = policy.continuity_window_ms;
  accept.spawn_zones = policy.spawn_zones;
}

std::optional<std::string> term_differing(const protocol::Policy& policy,
                                          const protocol::JoinAccept& accept) {
  protocol::JoinAccept expected = accept;
  announce_policy(policy, expected);
  const std::pair<std::uint32_t protocol::JoinAccept::*, const char*> terms[] = {
      {&protocol::JoinAccept::heartbeat_interval_ms, "heartbeat_interval_ms"},
      {&protocol::JoinAccept::heartbeat_timeout_ms, "heartbeat_timeout_ms"},
      {&protocol::JoinAccept::ticket_period_ms, "ticket_period_ms"},
      {&protocol::JoinAccept::ticket_validity_ms, "ticket_validity_ms"},
      {&protocol::JoinAccept::max_receipt_lag, "max_receipt_lag"},
      {&protocol::JoinAccept::max_speed_mm_s, "max_speed_mm_s"},
      {&protocol::JoinAccept::speed_tolerance_ppm, "speed_tolerance_ppm"},
      {&protocol::JoinAccept::jitter_allowance_ms, "jitter_allowance_ms"},
      {&protocol::JoinAccept::excess_decay_ppm, "excess_decay_ppm"},
      {&protocol::JoinAccept::max_excess_mm, "max_excess_mm"},
      {&protocol::JoinAccept::spawn_min_interval_ms, "spawn_min_interval_ms"},
      {&protocol::JoinAccept::max_players_per_session, "max_players_per_session"},
      {&protocol::JoinAccept::digest_timeout_ms, "digest_timeout_ms"},
      {&protocol::JoinAccept::continuity_window_ms, "continuity_window_ms"},
  };
  for (const auto& [field, name] : terms) {
    if (accept.*field != expected.*field) {
      return std::string(name) + " " + std::to_string(accept.*field) + " (the policy's is " +
             std::to_string(expected.*field) + ")";
    }
  }
  if (accept.spawn_zones != expected.spawn_zones) {
    return "spawn_zones (" + std::to_string(accept.spawn_zones.size()) + " zones; the policy has " +
           std::to_string(expected.spawn_zones.size()) + ", or other ones)";
  }
  return std::nullopt;
}

void canonicalize(protocol::Policy& policy) {
  sort_unique(policy.allowed_gs);
  sort_unique(policy.allowed_builds);
}

}  // namespace gsvs::rules
