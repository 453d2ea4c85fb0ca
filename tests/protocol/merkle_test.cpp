#include "protocol/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/coding.h"

namespace gsvs::merkle {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();

// ---- Known-answer vectors -----------------------------------------------------------------

json load_vectors() {
  const char* dir = std::getenv("GSVS_SOURCE_DIR");
  const std::string path =
      std::string(dir != nullptr ? dir : ".") + "/tests/vectors/rfc6962_merkle.json";
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path;
    return json::object();
  }
  return json::parse(in);
}

Hash32 h(const json& hex) {
  auto v = fixed_from_hex<32>(hex.get<std::string>());
  EXPECT_TRUE(v.has_value()) << hex;
  return v.value_or(Hash32{});
}

std::vector<Hash32> hashes(const json& list) {
  std::vector<Hash32> out;
  for (const auto& e : list) out.push_back(h(e));
  return out;
}

class MerkleVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    vectors_ = load_vectors();
    ASSERT_TRUE(vectors_.contains("leaf_inputs_hex"));
    for (const auto& hex : vectors_["leaf_inputs_hex"]) {
      auto raw = from_hex(hex.get<std::string>());
      ASSERT_TRUE(raw.has_value());
      leaves_.push_back(leaf_hash(*raw));
    }
    ASSERT_EQ(leaves_.size(), 8U);
  }

  std::span<const Hash32> prefix(std::uint64_t n) const {
    return std::span<const Hash32>(leaves_).first(n);
  }

  json vectors_;
  std::vector<Hash32> leaves_;
};

TEST_F(MerkleVectors, LeafHashes) { EXPECT_EQ(leaves_, hashes(vectors_["leaf_hashes_hex"])); }

TEST_F(MerkleVectors, EmptyTree) {
  const Hash32 expected = h(vectors_["empty_tree_root_hex"]);
  EXPECT_EQ(empty_root(), expected);
  EXPECT_EQ(root({}), expected);
  EXPECT_EQ(Accumulator{}.root(), expected);
}

TEST_F(MerkleVectors, RootForEverySize) {
  ASSERT_EQ(vectors_["roots"].size(), 8U);
  for (const auto& v : vectors_["roots"]) {
    const auto n = v["tree_size"].get<std::uint64_t>();
    EXPECT_EQ(root(prefix(n)), h(v["root_hex"])) << "tree_size " << n;
  }
}

TEST_F(MerkleVectors, CompleteSubtreeHashes) {
  const auto& levels = vectors_["complete_subtree_hashes_hex"];
  ASSERT_EQ(levels.size(), 4U);
  for (std::size_t level = 0; level < levels.size(); ++level) {
    const std::size_t width = std::size_t{1} << level;
    for (std::size_t i = 0; i < levels[level].size(); ++i) {
      EXPECT_EQ(root(std::span<const Hash32>(leaves_).subspan(i * width, width)),
                h(levels[level][i]))
          << "level " << level << " index " << i;
    }
  }
}

TEST_F(MerkleVectors, InclusionProofs) {
  ASSERT_FALSE(vectors_["inclusion_proofs"].empty());
  for (const auto& v : vectors_["inclusion_proofs"]) {
    const auto index = v["leaf_index"].get<std::uint64_t>();
    const auto size = v["tree_size"].get<std::uint64_t>();
    const auto expected = hashes(v["proof_hex"]);
    SCOPED_TRACE("leaf_index " + std::to_string(index) + " tree_size " + std::to_string(size));
    ASSERT_EQ(h(v["leaf_hash_hex"]), leaves_[index]);
    ASSERT_EQ(h(v["root_hex"]), root(prefix(size)));
    EXPECT_EQ(inclusion_proof(prefix(size), index), expected);
    EXPECT_TRUE(verify_inclusion(h(v["leaf_hash_hex"]), index, size, expected, h(v["root_hex"])));
  }
}

TEST_F(MerkleVectors, ConsistencyProofs) {
  ASSERT_FALSE(vectors_["consistency_proofs"].empty());
  for (const auto& v : vectors_["consistency_proofs"]) {
    const auto m = v["size1"].get<std::uint64_t>();
    const auto n = v["size2"].get<std::uint64_t>();
    const auto expected = hashes(v["proof_hex"]);
    SCOPED_TRACE("size1 " + std::to_string(m) + " size2 " + std::to_string(n));
    ASSERT_EQ(h(v["root1_hex"]), root(prefix(m)));
    ASSERT_EQ(h(v["root2_hex"]), root(prefix(n)));
    EXPECT_EQ(consistency_proof(prefix(n), m), expected);
    EXPECT_TRUE(verify_consistency(m, n, h(v["root1_hex"]), h(v["root2_hex"]), expected));
  }
}

// Every proof the 8-leaf reference tree allows, checked against the vector roots.
TEST_F(MerkleVectors, EveryProofOfTheReferenceTree) {
  for (const auto& v : vectors_["roots"]) {
    const auto n = v["tree_size"].get<std::uint64_t>();
    for (std::uint64_t i = 0; i < n; ++i) {
      EXPECT_TRUE(
          verify_inclusion(leaves_[i], i, n, inclusion_proof(prefix(n), i), h(v["root_hex"])))
          << i << "/" << n;
    }
    for (const auto& old : vectors_["roots"]) {
      const auto m = old["tree_size"].get<std::uint64_t>();
      if (m > n) continue;
      EXPECT_TRUE(verify_consistency(m, n, h(old["root_hex"]), h(v["root_hex"]),
                                     consistency_proof(prefix(n), m)))
          << m << "->" << n;
    }
  }
}

// ---- An independent, recursive reference straight from the RFC's definitions ---------------

std::vector<Hash32> make_leaves(std::uint64_t n, std::uint64_t salt = 0) {
  std::vector<Hash32> out;
  out.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    coding::Writer w;
    w.u64(salt);
    w.u64(i);
    out.push_back(leaf_hash(w.bytes()));
  }
  return out;
}

std::size_t split(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash32 ref_mth(std::span<const Hash32> d) {
  if (d.empty()) return empty_root();
  if (d.size() == 1) return d[0];
  const std::size_t k = split(d.size());
  return node_hash(ref_mth(d.first(k)), ref_mth(d.subspan(k)));
}

std::vector<Hash32> ref_path(std::size_t m, std::span<const Hash32> d) {
  if (d.size() <= 1) return {};
  const std::size_t k = split(d.size());
  std::vector<Hash32> out;
  if (m < k) {
    out = ref_path(m, d.first(k));
    out.push_back(ref_mth(d.subspan(k)));
  } else {
    out = ref_path(m - k, d.subspan(k));
    out.push_back(ref_mth(d.first(k)));
  }
  return out;
}

std::vector<Hash32> ref_subproof(std::size_t m, std::span<const Hash32> d, bool b) {
  if (m == d.size()) {
    if (b) return {};
    return {ref_mth(d)};
  }
  const std::size_t k = split(d.size());
  std::vector<Hash32> out;
  if (m <= k) {
    out = ref_subproof(m, d.first(k), b);
    out.push_back(ref_mth(d.subspan(k)));
  } else {
    out = ref_subproof(m - k, d.subspan(k), false);
    out.push_back(ref_mth(d.first(k)));
  }
  return out;
}

Hash32 flip(Hash32 v, std::size_t bit) {
  v.bytes[bit / 8] = static_cast<std::uint8_t>(v.bytes[bit / 8] ^ (1U << (bit % 8)));
  return v;
}

TEST(MerkleTree, RootMatchesReference) {
  const auto leaves = make_leaves(300);
  for (std::size_t n = 0; n <= leaves.size(); ++n) {
    EXPECT_EQ(root(std::span(leaves).first(n)), ref_mth(std::span(leaves).first(n))) << n;
  }
}

TEST(MerkleTree, HashesAreDomainSeparated) {
  const Hash32 a = make_leaves(1)[0];
  Bytes concat(a.bytes.begin(), a.bytes.end());
  concat.insert(concat.end(), a.bytes.begin(), a.bytes.end());
  // A leaf whose input is two node hashes must not collide with the node over them.
  EXPECT_NE(leaf_hash(concat), node_hash(a, a));
  EXPECT_NE(node_hash(a, flip(a, 0)), node_hash(flip(a, 0), a));
}

// ---- Accumulator --------------------------------------------------------------------------

TEST(MerkleAccumulator, MatchesRootForEverySizeUpTo300) {
  const auto leaves = make_leaves(300);
  Accumulator acc;
  EXPECT_EQ(acc.size(), 0U);
  EXPECT_EQ(acc.root(), root({}));
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    acc.append(leaves[n - 1]);
    ASSERT_EQ(acc.size(), n);
    ASSERT_EQ(acc.root(), root(std::span(leaves).first(n))) << n;
  }
}

TEST(MerkleAccumulator, MatchesRootForLargeSizes) {
  const std::vector<std::uint64_t> checkpoints = {1023, 1024, 1025, 4097, 65535, 65536, 100003};
  const auto leaves = make_leaves(checkpoints.back(), 7);
  Accumulator acc;
  std::size_t next = 0;
  for (std::uint64_t n = 1; n <= leaves.size(); ++n) {
    acc.append(leaves[n - 1]);
    if (n == checkpoints[next]) {
      EXPECT_EQ(acc.root(), root(std::span(leaves).first(n))) << n;
      ++next;
    }
  }
  EXPECT_EQ(next, checkpoints.size());
  EXPECT_EQ(acc.root(), ref_mth(leaves));
}

// ---- Inclusion proofs ---------------------------------------------------------------------

TEST(MerkleInclusion, EveryProofOfSmallTreesMatchesReferenceAndVerifies) {
  const auto leaves = make_leaves(70);
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    const auto tree = std::span(leaves).first(n);
    const Hash32 r = root(tree);
    for (std::size_t i = 0; i < n; ++i) {
      const auto proof = inclusion_proof(tree, i);
      ASSERT_EQ(proof, ref_path(i, tree)) << i << "/" << n;
      ASSERT_TRUE(verify_inclusion(leaves[i], i, n, proof, r)) << i << "/" << n;
    }
  }
}

TEST(MerkleInclusion, EveryLeafsProofAndTheRootInOnePassMatchReference) {
  const auto leaves = make_leaves(70);
  EXPECT_TRUE(inclusion_proofs({}).proofs.empty());
  EXPECT_EQ(inclusion_proofs({}).root, empty_root());
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    const auto tree = std::span(leaves).first(n);
    const auto [tree_root, proofs] = inclusion_proofs(tree);
    ASSERT_EQ(tree_root, root(tree)) << n;
    ASSERT_EQ(proofs.size(), n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(proofs[i], ref_path(i, tree)) << i << "/" << n;
  }
}

// Every way of spoiling a valid proof, for a handful of tree shapes.
TEST(MerkleInclusion, TamperedProofsFail) {
  const auto leaves = make_leaves(100, 1);
  const std::vector<Hash32> roots = [&] {
    std::vector<Hash32> out;
    for (std::size_t n = 0; n <= leaves.size(); ++n)
      out.push_back(root(std::span(leaves).first(n)));
    return out;
  }();
  const Hash32 stranger = make_leaves(1, 99)[0];

  for (std::size_t n : {2U, 3U, 7U, 8U, 13U, 64U, 65U, 100U}) {
    const auto tree = std::span(leaves).first(n);
    for (std::size_t i : {std::size_t{0}, n / 2, n - 1}) {
      SCOPED_TRACE(std::to_string(i) + "/" + std::to_string(n));
      const auto proof = inclusion_proof(tree, i);
      ASSERT_TRUE(verify_inclusion(leaves[i], i, n, proof, roots[n]));

      // Any single flipped bit: in a proof node, the leaf hash or the root.
      for (std::size_t p = 0; p < proof.size(); ++p) {
        for (std::size_t bit = 0; bit < 256; ++bit) {
          auto bad = proof;
          bad[p] = flip(bad[p], bit);
          ASSERT_FALSE(verify_inclusion(leaves[i], i, n, bad, roots[n])) << p << ":" << bit;
        }
      }
      for (std::size_t bit = 0; bit < 256; ++bit) {
        ASSERT_FALSE(verify_inclusion(flip(leaves[i], bit), i, n, proof, roots[n]));
        ASSERT_FALSE(verify_inclusion(leaves[i], i, n, proof, flip(roots[n], bit)));
      }
      EXPECT_FALSE(verify_inclusion(stranger, i, n, proof, roots[n]));

      // Wrong index, in range or not; another leaf at its own index with this proof.
      for (std::uint64_t j = 0; j < n + 3; ++j) {
        if (j == i) continue;
        EXPECT_FALSE(verify_inclusion(leaves[i], j, n, proof, roots[n])) << "index " << j;
        if (j < n) {
          EXPECT_FALSE(verify_inclusion(leaves[j], j, n, proof, roots[n])) << j;
        }
      }
      EXPECT_FALSE(verify_inclusion(leaves[i], kMax64, n, proof, roots[n]));

      // Wrong size, with the genuine root of the same log at that size: only a size whose
      // proof is literally the same may pass.
      for (std::uint64_t m = 0; m <= leaves.size(); ++m) {
        if (m == n) continue;
        const bool same = i < m && inclusion_proof(std::span(leaves).first(m), i) == proof;
        EXPECT_EQ(verify_inclusion(leaves[i], i, m, proof, roots[m]), same) << "size " << m;
      }
      EXPECT_FALSE(verify_inclusion(leaves[i], i, 0, proof, roots[n]));
      EXPECT_FALSE(verify_inclusion(leaves[i], i, kMax64, proof, roots[n]));

      // Truncated, extended at either end, or with a node repeated.
      for (std::size_t len = 0; len < proof.size(); ++len) {
        EXPECT_FALSE(verify_inclusion(leaves[i], i, n, std::span(proof).first(len), roots[n]));
      }
      auto longer = proof;
      longer.push_back(stranger);
      EXPECT_FALSE(verify_inclusion(leaves[i], i, n, longer, roots[n]));
      longer.back() = roots[n];
      EXPECT_FALSE(verify_inclusion(leaves[i], i, n, longer, roots[n]));
      longer = proof;
      longer.insert(longer.begin(), leaves[i]);
      EXPECT_FALSE(verify_inclusion(leaves[i], i, n, longer, roots[n]));
      if (!proof.empty()) {
        longer = proof;
        longer.push_back(proof.back());
        EXPECT_FALSE(verify_inclusion(leaves[i], i, n, longer, roots[n]));
      }
    }
  }
}

TEST(MerkleInclusion, MalformedInputsReturnFalse) {
  const auto leaves = make_leaves(5);
  const Hash32 r = root(leaves);
  const auto proof = inclusion_proof(leaves, 2);
  const std::vector<Hash32> very_long(200, leaves[0]);

  EXPECT_FALSE(verify_inclusion(leaves[0], 0, 0, {}, empty_root()));
  EXPECT_FALSE(verify_inclusion(leaves[0], 0, 0, proof, r));
  EXPECT_FALSE(verify_inclusion(leaves[2], 5, 5, proof, r));
  EXPECT_FALSE(verify_inclusion(leaves[2], 6, 5, proof, r));
  EXPECT_FALSE(verify_inclusion(leaves[2], kMax64, kMax64, proof, r));
  EXPECT_FALSE(verify_inclusion(leaves[2], kMax64 - 1, kMax64, proof, r));
  EXPECT_FALSE(verify_inclusion(leaves[2], 2, 5, very_long, r));
  EXPECT_FALSE(verify_inclusion(leaves[2], kMax64 - 1, kMax64, very_long, r));
  EXPECT_FALSE(verify_inclusion(leaves[2], 0, kMax64, very_long, r));
  // A one-leaf tree takes an empty proof and nothing else.
  EXPECT_TRUE(verify_inclusion(leaves[0], 0, 1, {}, leaves[0]));
  EXPECT_FALSE(verify_inclusion(leaves[0], 0, 1, std::span(leaves).first(1), leaves[0]));
  EXPECT_FALSE(verify_inclusion(leaves[0], 0, 2, {}, leaves[0]));
}

TEST(MerkleInclusion, GenerationPreconditions) {
  const auto leaves = make_leaves(4);
  EXPECT_TRUE(inclusion_proof({}, 0).empty());
  EXPECT_TRUE(inclusion_proof(leaves, 4).empty());
  EXPECT_TRUE(inclusion_proof(leaves, kMax64).empty());
  EXPECT_TRUE(inclusion_proof(std::span(leaves).first(1), 0).empty());
}

// RFC 9162 proofs do not bind the tree size: a proof for leaf 0 of a 5-leaf tree also fits a
// 6-leaf tree whose root someone claims is the 5-leaf root. Sizes must come from the same signed
// checkpoint as the root, never from the prover alone.
TEST(MerkleInclusion, SizeIsBoundOnlyThroughTheSignedRoot) {
  const auto leaves = make_leaves(5);
  const auto proof = inclusion_proof(leaves, 0);
  EXPECT_TRUE(verify_inclusion(leaves[0], 0, 6, proof, root(leaves)));
}

TEST(MerkleInclusion, LargeTree) {
  constexpr std::uint64_t kSize = 100'001;
  const auto leaves = make_leaves(kSize, 3);
  const Hash32 r = root(leaves);
  for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{65536}, kSize - 1}) {
    const auto proof = inclusion_proof(leaves, i);
    EXPECT_LE(proof.size(), static_cast<std::size_t>(std::bit_width(kSize - 1)));
    EXPECT_TRUE(verify_inclusion(leaves[i], i, kSize, proof, r)) << i;
    EXPECT_FALSE(verify_inclusion(leaves[i], i ^ 1U, kSize, proof, r)) << i;
  }
  // With 2^16 + 1 leaves, the last one sits alone on the right of the top split.
  const auto tree = std::span(leaves).first(65537);
  EXPECT_EQ(inclusion_proof(tree, 65536), std::vector<Hash32>{root(tree.first(65536))});
}

// ---- Consistency proofs -------------------------------------------------------------------

TEST(MerkleConsistency, EveryPairOfSmallTreesMatchesReferenceAndVerifies) {
  const auto leaves = make_leaves(64, 4);
  std::vector<Hash32> roots;
  for (std::size_t n = 0; n <= leaves.size(); ++n)
    roots.push_back(root(std::span(leaves).first(n)));
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    const auto tree = std::span(leaves).first(n);
    for (std::size_t m = 1; m <= n; ++m) {
      const auto proof = consistency_proof(tree, m);
      ASSERT_EQ(proof, ref_subproof(m, tree, true)) << m << "->" << n;
      ASSERT_TRUE(verify_consistency(m, n, roots[m], roots[n], proof)) << m << "->" << n;
    }
  }
}

TEST(MerkleConsistency, TamperedProofsFail) {
  const auto leaves = make_leaves(80, 5);
  std::vector<Hash32> roots;
  for (std::size_t n = 0; n <= leaves.size(); ++n)
    roots.push_back(root(std::span(leaves).first(n)));
  const Hash32 stranger = make_leaves(1, 99)[0];
  // proofs[n][m] = PROOF(m, D[n]) of this log, for the wrong-size checks.
  std::vector<std::vector<std::vector<Hash32>>> proofs(leaves.size() + 1);
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    proofs[n].resize(n + 1);
    for (std::size_t m = 1; m <= n; ++m)
      proofs[n][m] = consistency_proof(std::span(leaves).first(n), m);
  }

  const std::vector<std::pair<std::size_t, std::size_t>> pairs = {
      {1, 2}, {1, 8},  {2, 5},   {3, 7},   {4, 8},  {6, 8},
      {6, 7}, {7, 64}, {16, 33}, {37, 80}, {64, 80}};
  for (auto [m, n] : pairs) {
    SCOPED_TRACE(std::to_string(m) + "->" + std::to_string(n));
    const auto proof = consistency_proof(std::span(leaves).first(n), m);
    ASSERT_TRUE(verify_consistency(m, n, roots[m], roots[n], proof));

    for (std::size_t p = 0; p < proof.size(); ++p) {
      for (std::size_t bit = 0; bit < 256; ++bit) {
        auto bad = proof;
        bad[p] = flip(bad[p], bit);
        ASSERT_FALSE(verify_consistency(m, n, roots[m], roots[n], bad)) << p << ":" << bit;
      }
    }
    for (std::size_t bit = 0; bit < 256; ++bit) {
      ASSERT_FALSE(verify_consistency(m, n, flip(roots[m], bit), roots[n], proof));
      ASSERT_FALSE(verify_consistency(m, n, roots[m], flip(roots[n], bit), proof));
    }
    // A fork: the same old tree, a different new one.
    auto forked = leaves;
    forked[n - 1] = stranger;
    EXPECT_FALSE(verify_consistency(m, n, roots[m], root(std::span(forked).first(n)), proof));

    // Wrong sizes, each with the genuine roots of the same log at those sizes.
    for (std::size_t m2 = 0; m2 <= leaves.size(); ++m2) {
      for (std::size_t n2 = 0; n2 <= leaves.size(); ++n2) {
        if (m2 == m && n2 == n) continue;
        const bool same = m2 > 0 && m2 <= n2 && proofs[n2][m2] == proof;
        ASSERT_EQ(verify_consistency(m2, n2, roots[m2], roots[n2], proof), same)
            << m2 << "->" << n2;
      }
    }
    EXPECT_FALSE(verify_consistency(m, kMax64, roots[m], roots[n], proof));
    EXPECT_FALSE(verify_consistency(kMax64, kMax64, roots[m], roots[n], proof));
    EXPECT_FALSE(verify_consistency(n, m, roots[n], roots[m], proof));

    for (std::size_t len = 0; len < proof.size(); ++len) {
      EXPECT_FALSE(verify_consistency(m, n, roots[m], roots[n], std::span(proof).first(len)));
    }
    auto longer = proof;
    longer.push_back(stranger);
    EXPECT_FALSE(verify_consistency(m, n, roots[m], roots[n], longer));
    longer = proof;
    longer.push_back(proof.back());
    EXPECT_FALSE(verify_consistency(m, n, roots[m], roots[n], longer));
    longer = proof;
    longer.insert(longer.begin(), roots[m]);
    EXPECT_FALSE(verify_consistency(m, n, roots[m], roots[n], longer));
  }
}

TEST(MerkleConsistency, MalformedInputsReturnFalse) {
  const auto leaves = make_leaves(8);
  const Hash32 r3 = root(std::span(leaves).first(3));
  const Hash32 r8 = root(leaves);
  const auto proof = consistency_proof(leaves, 3);
  const std::vector<Hash32> very_long(200, leaves[0]);

  // Old size 0: RFC 9162 defines no proof from the empty tree; refused.
  EXPECT_FALSE(verify_consistency(0, 8, empty_root(), r8, {}));
  EXPECT_FALSE(verify_consistency(0, 0, empty_root(), empty_root(), {}));
  EXPECT_FALSE(verify_consistency(0, 8, empty_root(), r8, proof));
  // Old larger than new, or either absurdly large.
  EXPECT_FALSE(verify_consistency(8, 3, r8, r3, proof));
  EXPECT_FALSE(verify_consistency(3, kMax64, r3, r8, proof));
  EXPECT_FALSE(verify_consistency(kMax64 - 1, kMax64, r3, r8, very_long));
  EXPECT_FALSE(verify_consistency(1, kMax64, leaves[0], r8, very_long));
  EXPECT_FALSE(verify_consistency(3, 8, r3, r8, very_long));
  // Different sizes need a proof.
  EXPECT_FALSE(verify_consistency(3, 8, r3, r8, {}));
  EXPECT_FALSE(verify_consistency(4, 8, root(std::span(leaves).first(4)), r8, {}));
  // Equal sizes: empty proof and equal roots, nothing else.
  EXPECT_TRUE(verify_consistency(8, 8, r8, r8, {}));
  EXPECT_FALSE(verify_consistency(8, 8, r8, r3, {}));
  EXPECT_FALSE(verify_consistency(8, 8, r8, r8, std::span(leaves).first(1)));
}

TEST(MerkleConsistency, GenerationPreconditions) {
  const auto leaves = make_leaves(4);
  EXPECT_TRUE(consistency_proof(leaves, 0).empty());
  EXPECT_TRUE(consistency_proof(leaves, 5).empty());
  EXPECT_TRUE(consistency_proof(leaves, kMax64).empty());
  EXPECT_TRUE(consistency_proof({}, 1).empty());
  EXPECT_TRUE(consistency_proof(leaves, 4).empty());
}

TEST(MerkleConsistency, LargeTree) {
  constexpr std::uint64_t kSize = 100'003;
  const auto leaves = make_leaves(kSize, 6);
  const std::vector<std::uint64_t> old_sizes = {1, 1000, 65536, 65537, kSize - 1};
  std::vector<Hash32> old_roots;
  Accumulator acc;
  for (const auto& leaf : leaves) {
    acc.append(leaf);
    if (old_roots.size() < old_sizes.size() && acc.size() == old_sizes[old_roots.size()]) {
      old_roots.push_back(acc.root());
    }
  }
  ASSERT_EQ(old_roots.size(), old_sizes.size());
  const Hash32 r = acc.root();
  for (std::size_t k = 0; k < old_sizes.size(); ++k) {
    const std::uint64_t m = old_sizes[k];
    const auto proof = consistency_proof(leaves, m);
    EXPECT_LE(proof.size(), 2U * static_cast<std::size_t>(std::bit_width(kSize)));
    EXPECT_TRUE(verify_consistency(m, kSize, old_roots[k], r, proof)) << m;
    EXPECT_FALSE(verify_consistency(m, kSize, old_roots[k], leaves[0], proof)) << m;
  }
}

}  // namespace
}  // namespace gsvs::merkle
