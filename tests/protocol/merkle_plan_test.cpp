// A ProofPlan asked for many proofs in one batch must give exactly the one-proof answers of
// merkle.h (checked against the RFC 6962 vectors), proofs that verify, and the Accumulator's
// roots, for every index and size of small trees.
#include "protocol/merkle_plan.h"

#include <gtest/gtest.h>

#include "protocol/crypto.h"
#include "protocol/merkle.h"

namespace gsvs::merkle {
namespace {

std::vector<Hash32> leaves(std::uint64_t n) {
  std::vector<Hash32> out;
  for (std::uint64_t i = 0; i < n; ++i) {
    out.push_back(crypto::sha256(as_bytes("leaf " + std::to_string(i))));
  }
  return out;
}

TEST(MerkleProofPlan, EveryInclusionProofOfSmallTreesMatchesMerkleH) {
  const auto all = leaves(40);
  ProofPlan plan;
  std::vector<std::tuple<std::uint64_t, std::uint64_t, ProofPlan::Ticket>> asked;
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

TEST(MerkleProofPlan, EveryConsistencyProofAndRootOfSmallTreesMatchesMerkleH) {
  const auto all = leaves(33);
  ProofPlan plan;
  std::vector<std::tuple<std::uint64_t, std::uint64_t, ProofPlan::Ticket>> asked;
  std::vector<std::pair<std::uint64_t, ProofPlan::Ticket>> roots;
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

TEST(MerkleProofPlan, KeepsOnlyWhatTheProofsNeed) {
  // A proof in a tree of 2^16 leaves rests on 16 subtree hashes; the plan keeps those and a
  // stack of at most 17, never the 65536 leaves.
  ProofPlan plan;
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

TEST(MerkleProofPlan, ProofsWhoseLeavesNeverCameAreAbsentNotWrong) {
  ProofPlan plan;
  auto ticket = plan.want_inclusion(3, 10);
  for (const auto& leaf : leaves(6)) plan.add_leaf(leaf);
  EXPECT_FALSE(plan.proof(ticket));
  EXPECT_FALSE(plan.proof(99));
  // Out-of-range requests give empty proofs, as merkle.h does.
  auto bad = plan.want_inclusion(10, 10);
  EXPECT_TRUE(plan.proof(bad) && plan.proof(bad)->empty());
}

// A plan resumed from the frontier at `start` (a segment's recorded seal) gives, for every leaf
// and size past it, exactly merkle.h's inclusion and consistency proofs and roots, having read
// none of the leaves before `start`.
TEST(MerkleProofPlan, ResumedFromAFrontierMatchesMerkleHPastIt) {
  const auto all = leaves(40);
  for (std::uint64_t start = 1; start < all.size(); ++start) {
    merkle::Accumulator prefix;
    for (std::uint64_t i = 0; i < start; ++i) prefix.append(all[i]);
    for (std::uint64_t n = start + 1; n <= all.size(); ++n) {
      ProofPlan plan;
      std::vector<std::pair<std::uint64_t, ProofPlan::Ticket>> inclusion;
      for (std::uint64_t i = start; i < n; ++i)
        inclusion.emplace_back(i, plan.want_inclusion(i, n));
      const auto consistency = plan.want_consistency(start + 1, n);
      const auto root = plan.want_root(n);
      ASSERT_TRUE(plan.resume(start, prefix.frontier()));
      for (std::uint64_t i = start; i < n; ++i) plan.add_leaf(all[i]);
      const auto tree = std::span(all).first(n);
      for (const auto& [i, ticket] : inclusion) {
        ASSERT_EQ(plan.proof(ticket), merkle::inclusion_proof(tree, i))
            << start << " " << i << "/" << n;
      }
      ASSERT_EQ(plan.proof(consistency), merkle::consistency_proof(tree, start + 1))
          << start << "/" << n;
      ASSERT_EQ(plan.root(root), merkle::root(tree));
    }
  }
}

TEST(MerkleProofPlan, AResumeThatCannotHoldIsRefusedOrLeavesProofsUnknown) {
  const auto all = leaves(8);
  merkle::Accumulator prefix;
  for (std::uint64_t i = 0; i < 6; ++i) prefix.append(all[i]);
  ProofPlan wrong_size;
  EXPECT_FALSE(wrong_size.resume(7, prefix.frontier()));  // 7 has three subtrees, 6 two
  ProofPlan late;
  late.want_root(8);
  late.add_leaf(all[0]);
  EXPECT_FALSE(late.resume(6, prefix.frontier()));
  // Leaf 4 lies inside the frontier's subtree of leaves 4..5: its own proof cannot be made.
  ProofPlan inside;
  const auto ticket = inside.want_inclusion(4, 8);
  ASSERT_TRUE(inside.resume(6, prefix.frontier()));
  for (std::uint64_t i = 6; i < 8; ++i) inside.add_leaf(all[i]);
  EXPECT_FALSE(inside.proof(ticket).has_value());
}

}  // namespace
}  // namespace gsvs::merkle
