// Whether a session is allowed under a policy (PROTOCOL.md §8.17), and the terms a JoinAccept
// placed under a policy must carry: one table each.
#include "rules/policy_rules.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace gsvs::rules {
namespace {

using protocol::Policy;
using protocol::PublicKey;

PublicKey key(std::uint8_t b) {
  PublicKey k;
  k.bytes.fill(b);
  return k;
}
Hash32 build(std::uint8_t b) {
  Hash32 h;
  h.bytes.fill(b);
  return h;
}

Policy policy(std::vector<PublicKey> identities, std::vector<Hash32> builds) {
  Policy p;
  p.allowed_gs = std::move(identities);
  p.allowed_builds = std::move(builds);
  canonicalize(p);
  return p;
}

TEST(PolicyRules, SessionBarredTable) {
  struct Row {
    const char* name;
    Policy policy;
    PublicKey identity;
    Hash32 build;
    std::optional<PolicyBar> expected;
  };
  const std::vector<Row> rows{
      {"both allowed", policy({key(1), key(2)}, {build(7)}), key(2), build(7), std::nullopt},
      {"identity removed", policy({key(1)}, {build(7)}), key(2), build(7),
       PolicyBar::kIdentityRemoved},
      {"build removed", policy({key(1), key(2)}, {build(8)}), key(2), build(7),
       PolicyBar::kBuildRemoved},
      {"both removed: the identity is named first", policy({key(1)}, {build(8)}), key(2), build(7),
       PolicyBar::kIdentityRemoved},
      {"empty allowlists allow nobody", policy({}, {}), key(2), build(7),
       PolicyBar::kIdentityRemoved},
      {"one of many builds", policy({key(2)}, {build(9), build(7), build(3)}), key(2), build(7),
       std::nullopt},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(session_barred(row.policy, row.identity, row.build), row.expected) << row.name;
  }
}

TEST(PolicyRules, CanonicalizeSortsAndDeduplicates) {
  Policy p;
  p.allowed_gs = {key(3), key(1), key(3)};
  p.allowed_builds = {build(2), build(2)};
  canonicalize(p);
  EXPECT_EQ(p.allowed_gs, (std::vector<PublicKey>{key(1), key(3)}));
  EXPECT_EQ(p.allowed_builds, (std::vector<Hash32>{build(2)}));
  // Two orders of the same allowlists hash alike.
  Policy q = policy({key(3), key(1)}, {build(2)});
  EXPECT_EQ(protocol::policy_hash(p), protocol::policy_hash(q));
}

TEST(PolicyRules, DescribeBarNamesWhatWasRemoved) {
  EXPECT_EQ(describe_bar(PolicyBar::kIdentityRemoved, key(0xab), build(1)),
            "identity abababababababab... removed");
  EXPECT_EQ(describe_bar(PolicyBar::kBuildRemoved, key(0xab), build(0xcd)),
            "build cdcdcdcdcdcdcdcd... removed");
}

TEST(PolicyRules, TermDifferingTable) {
  Policy p = policy({key(1)}, {build(1)});
  p.heartbeat_interval_ms = 500;
  p.heartbeat_timeout_ms = 2000;
  p.ticket_period_ms = 1000;
  p.ticket_validity_ms = 2000;
  p.max_receipt_lag = 8;
  p.max_speed_mm_s = 7000;
  p.max_players_per_session = 4096;
  protocol::JoinAccept accept;
  announce_policy(p, accept);
  EXPECT_EQ(term_differing(p, accept), std::nullopt);
  struct Row {
    std::uint32_t protocol::JoinAccept::*field;
    const char* name;
  };
  const std::vector<Row> rows{
      {&protocol::JoinAccept::heartbeat_timeout_ms, "heartbeat_timeout_ms"},
      {&protocol::JoinAccept::ticket_validity_ms, "ticket_validity_ms"},
      {&protocol::JoinAccept::max_speed_mm_s, "max_speed_mm_s"},
      {&protocol::JoinAccept::max_players_per_session, "max_players_per_session"},
  };
  for (const auto& row : rows) {
    protocol::JoinAccept changed = accept;
    changed.*row.field += 1;
    auto differing = term_differing(p, changed);
    ASSERT_TRUE(differing) << row.name;
    EXPECT_EQ(differing->rfind(row.name, 0), 0U) << *differing;
  }
}

}  // namespace
}  // namespace gsvs::rules
