// MerklePlan must give exactly the proofs and roots of merkle.h (itself checked against the
// RFC 6962 vectors), for every index and size of small trees, all requested in one batch.
#include "audit-cli/merkle_plan.h"

#include <gtest/gtest.h>

#include "protocol/crypto.h"
#include "protocol/merkle.h"

namespace gsvs::audit {
namespace {

std::vector<Hash32> leaves(std::uint64_t n) {
  std::vector<Hash32> out;
  for (std::uint64_t i = 0; i < n; ++i) {
    out.push_back(crypto::sha256(as_bytes("leaf " + std::to_string(i))));
  }
  return out;
}

TEST(MerklePlan, EveryInclusionProofOfSmallTreesMatchesMerkleH) {
  const auto all = leaves(40);
  MerklePlan plan;
  std::vector<std::tuple<std::uint64_t, std::uint64_t, MerklePlan::Ticket>> asked;
  for (std::uint64_t n = 1; n <= all.size(); ++n) {
    for (std::uint64_t m = 0; m < n; ++m) asked.emplace_back(m, n, plan.want_inclusion(m, n));
  }
  EXPECT_EQ(plan.leaves_needed(), all.size());
  for (const auto& leaf : all) plan.add_leaf(leaf);
  for (const auto& [m, n, ticket] : asked) {
    std::span<const Hash32> prefix(all.data(), n);
    auto proof = plan.proof(ticket);
    ASSERT_TRUE(proof) << m << " of " << n;
    EXPECT_EQ(*proof, merkle::inclusion_proof(prefix, m)) << m << " of " << n;
    EXPECT_TRUE(merkle::verify_inclusion(all[m], m, n, *proof, merkle::root(prefix)));
  }
}

TEST(MerklePlan, EveryConsistencyProofAndRootOfSmallTreesMatchesMerkleH) {
  const auto all = leaves(33);
  MerklePlan plan;
  std::vector<std::tuple<std::uint64_t, std::uint64_t, MerklePlan::Ticket>> asked;
  std::vector<std::pair<std::uint64_t, MerklePlan::Ticket>> roots;
  for (std::uint64_t n = 1; n <= all.size(); ++n) {
    roots.emplace_back(n, plan.want_root(n));
    for (std::uint64_t m = 1; m <= n; ++m) asked.emplace_back(m, n, plan.want_consistency(m, n));
  }
  for (const auto& leaf : all) plan.add_leaf(leaf);
  for (const auto& [n, ticket] : roots) {
    EXPECT_EQ(plan.root(ticket), merkle::root(std::span<const Hash32>(all.data(), n))) << n;
  }
  for (const auto& [m, n, ticket] : asked) {
    std::span<const Hash32> prefix(all.data(), n);
    auto proof = plan.proof(ticket);
    ASSERT_TRUE(proof) << m << " to " << n;
    EXPECT_EQ(*proof, merkle::consistency_proof(prefix, m)) << m << " to " << n;
    EXPECT_TRUE(merkle::verify_consistency(
        m, n, merkle::root(std::span<const Hash32>(all.data(), m)), merkle::root(prefix), *proof));
  }
}

TEST(MerklePlan, KeepsOnlyWhatTheProofsNeed) {
  // A proof in a tree of 2^16 leaves rests on 16 subtree hashes; the plan keeps those and a
  // stack of at most 17, never the 65536 leaves.
  MerklePlan plan;
  const std::uint64_t n = std::uint64_t{1} << 16;
  auto ticket = plan.want_inclusion(12345, n);
  auto root = plan.want_root(n);
  merkle::Accumulator accumulator;
  Hash32 wanted_leaf;
  for (std::uint64_t i = 0; i < n; ++i) {
    Hash32 leaf;
    for (std::size_t k = 0; k < 8; ++k) leaf.bytes[k] = static_cast<std::uint8_t>(i >> (8 * k));
    if (i == 12345) wanted_leaf = leaf;
    plan.add_leaf(leaf);
    accumulator.append(leaf);
  }
  ASSERT_TRUE(plan.root(root));
  EXPECT_EQ(*plan.root(root), accumulator.root());
  auto proof = plan.proof(ticket);
  ASSERT_TRUE(proof);
  EXPECT_EQ(proof->size(), 16u);
  EXPECT_TRUE(merkle::verify_inclusion(wanted_leaf, 12345, n, *proof, accumulator.root()));
}

TEST(MerklePlan, ProofsWhoseLeavesNeverCameAreAbsentNotWrong) {
  MerklePlan plan;
  auto ticket = plan.want_inclusion(3, 10);
  for (const auto& leaf : leaves(6)) plan.add_leaf(leaf);
  EXPECT_FALSE(plan.proof(ticket));
  EXPECT_FALSE(plan.proof(99));
  // Out-of-range requests give empty proofs, as merkle.h does.
  auto bad = plan.want_inclusion(10, 10);
  EXPECT_TRUE(plan.proof(bad) && plan.proof(bad)->empty());
}

}  // namespace
}  // namespace gsvs::audit
