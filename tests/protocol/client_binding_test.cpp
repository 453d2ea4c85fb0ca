#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/merkle.h"

namespace gsvs::client_binding {
namespace {

constexpr std::uint32_t kMax32 = std::numeric_limits<std::uint32_t>::max();

std::vector<Nonce32> make_batch(std::size_t n) {
  std::vector<Nonce32> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(crypto::random_fixed<32>());
  return out;
}

std::uint32_t u32(std::size_t v) { return static_cast<std::uint32_t>(v); }

TEST(ClientBinding, EmptyBatchGivesEmptyRoot) {
  EXPECT_EQ(root({}), merkle::empty_root());
  EXPECT_TRUE(proof({}, 0).empty());
  EXPECT_FALSE(verify(Nonce32{}, 0, 0, {}, merkle::empty_root()));
}

TEST(ClientBinding, RootIsMerkleRootOverNonceLeaves) {
  const auto batch = make_batch(13);
  std::vector<Hash32> leaves;
  for (const auto& n : batch) leaves.push_back(merkle::leaf_hash(n.view()));
  EXPECT_EQ(root(batch), merkle::root(leaves));
  // A single nonce: the binding is its leaf hash, and the proof is empty.
  EXPECT_EQ(root(std::span(batch).first(1)), leaves[0]);
  EXPECT_TRUE(proof(std::span(batch).first(1), 0).empty());
}

TEST(ClientBinding, RoundTripForEveryIndexOfBatchesUpTo70) {
  const auto all = make_batch(70);
  for (std::size_t n = 1; n <= all.size(); ++n) {
    const auto batch = std::span(all).first(n);
    const Hash32 binding = root(batch);
    for (std::size_t i = 0; i < n; ++i) {
      const auto p = proof(batch, u32(i));
      ASSERT_TRUE(verify(batch[i], u32(i), u32(n), p, binding)) << i << "/" << n;
    }
  }
}

TEST(ClientBinding, RefusesNonceNotInBatch) {
  const auto batch = make_batch(21);
  const auto other = make_batch(21);
  const Hash32 binding = root(batch);
  const Nonce32 fresh = crypto::random_fixed<32>();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto p = proof(batch, u32(i));
    EXPECT_FALSE(verify(fresh, u32(i), u32(batch.size()), p, binding));
    EXPECT_FALSE(verify(other[i], u32(i), u32(batch.size()), p, binding));
    EXPECT_FALSE(verify(Nonce32{}, u32(i), u32(batch.size()), p, binding));
    // Someone else's nonce from the same batch, with this client's proof.
    const std::size_t j = (i + 1) % batch.size();
    EXPECT_FALSE(verify(batch[j], u32(i), u32(batch.size()), p, binding));
    // A hoarded ticket: the right nonce and proof against a later batch's binding.
    EXPECT_FALSE(verify(batch[i], u32(i), u32(batch.size()), p, root(other)));
  }
}

TEST(ClientBinding, RefusesWrongIndexOrTamperedProof) {
  const auto batch = make_batch(9);
  const Hash32 binding = root(batch);
  const auto n = u32(batch.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto p = proof(batch, i);
    for (std::uint32_t j = 0; j < n + 2; ++j) {
      if (j != i) {
        EXPECT_FALSE(verify(batch[i], j, n, p, binding)) << i << " as " << j;
      }
    }
    for (std::size_t k = 0; k < p.size(); ++k) {
      auto bad = p;
      bad[k].bytes[k % 32] ^= 0x80U;
      EXPECT_FALSE(verify(batch[i], i, n, bad, binding));
    }
    auto truncated = p;
    truncated.pop_back();
    EXPECT_FALSE(verify(batch[i], i, n, truncated, binding));
    auto extended = p;
    extended.push_back(binding);
    EXPECT_FALSE(verify(batch[i], i, n, extended, binding));
    auto flipped_nonce = batch[i];
    flipped_nonce.bytes[31] ^= 1U;
    EXPECT_FALSE(verify(flipped_nonce, i, n, p, binding));
  }
}

TEST(ClientBinding, MalformedInputsReturnFalse) {
  const auto batch = make_batch(5);
  const Hash32 binding = root(batch);
  const auto p = proof(batch, 4);
  EXPECT_FALSE(verify(batch[4], 4, 0, p, binding));
  EXPECT_FALSE(verify(batch[4], 5, 5, p, binding));
  EXPECT_FALSE(verify(batch[4], kMax32, kMax32, p, binding));
  EXPECT_FALSE(verify(batch[4], 4, kMax32, p, binding));
  EXPECT_FALSE(verify(batch[4], 4, 5, std::vector<Hash32>(100, binding), binding));
  EXPECT_TRUE(proof(batch, 5).empty());
  EXPECT_TRUE(proof(batch, kMax32).empty());
}

}  // namespace
}  // namespace gsvs::client_binding
