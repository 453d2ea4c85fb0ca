// libFuzzer target: Merkle proof verification (RFC 9162) and client_binding.
//
// Input, read front to back (missing bytes read as zero):
//   mode u8. Bit 0 clear, "raw": index u64, tree_size u64, old_size u64, new_size u64 (each
//   taken modulo 128 when bit 1 is set), leaf, root_a, root_b (32 bytes each), then up to 130
//   proof hashes of 32 bytes. Every verifier must return without crashing or hanging, and
//   refuse an index outside the tree.
//   Bit 0 set, "honest": n u8, index u8, old_size u8, flip u8, then leaf salt bytes. A tree of
//   1 + n % 96 leaves is built; its own proofs must verify and must fail once any byte is
//   changed.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/merkle.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace gsvs;  // NOLINT(google-build-using-namespace)

constexpr std::size_t kMaxRawProof = 130;

void raw(fuzz::Input& in, std::uint8_t mode) {
  std::uint64_t index = in.u64();
  std::uint64_t tree_size = in.u64();
  std::uint64_t old_size = in.u64();
  std::uint64_t new_size = in.u64();
  if ((mode & 2U) != 0) {
    index %= 128;
    tree_size %= 128;
    old_size %= 128;
    new_size %= 128;
  }
  const Hash32 leaf = in.fixed();
  const Hash32 root_a = in.fixed();
  const Hash32 root_b = in.fixed();
  std::vector<Hash32> proof;
  while (in.rest().size() >= Hash32::size && proof.size() < kMaxRawProof) {
    proof.push_back(in.fixed());
  }

  const bool included = merkle::verify_inclusion(leaf, index, tree_size, proof, root_a);
  if (included && index >= tree_size) fuzz::fail("inclusion accepted an index outside the tree");
  const bool consistent = merkle::verify_consistency(old_size, new_size, root_a, root_b, proof);
  if (consistent && (old_size == 0 || old_size > new_size)) {
    fuzz::fail("consistency accepted impossible sizes");
  }
  const bool bound = client_binding::verify(leaf, static_cast<std::uint32_t>(index),
                                            static_cast<std::uint32_t>(tree_size), proof, root_a);
  if (bound && static_cast<std::uint32_t>(index) >= static_cast<std::uint32_t>(tree_size)) {
    fuzz::fail("client_binding accepted an index outside the batch");
  }
}

Hash32 flipped(Hash32 h, std::uint8_t flip) {
  h.bytes[flip % Hash32::size] ^= static_cast<std::uint8_t>(1U << (flip % 8U));
  return h;
}

void honest(fuzz::Input& in) {
  const std::size_t n = 1 + std::size_t{in.u8()} % 96;
  const std::size_t index = std::size_t{in.u8()} % n;
  const std::size_t old_size = 1 + std::size_t{in.u8()} % n;
  const std::uint8_t flip = in.u8();

  std::vector<Nonce32> nonces(n);
  std::vector<Hash32> leaves(n);
  for (std::size_t i = 0; i < n; ++i) {
    nonces[i] = in.fixed();
    nonces[i].bytes[0] ^= static_cast<std::uint8_t>(i);  // distinct even when the input ran out
    nonces[i].bytes[1] ^= static_cast<std::uint8_t>(i >> 8U);
    leaves[i] = merkle::leaf_hash(nonces[i].view());
  }
  const Hash32 root = merkle::root(leaves);
  merkle::Accumulator acc;
  for (const auto& leaf : leaves) acc.append(leaf);
  if (acc.root() != root || acc.size() != n) fuzz::fail("accumulator disagrees with root()");
  if (client_binding::root(nonces) != root) fuzz::fail("client_binding::root disagrees");

  auto path = merkle::inclusion_proof(leaves, index);
  if (!merkle::verify_inclusion(leaves[index], index, n, path, root)) {
    fuzz::fail("honest inclusion proof refused");
  }
  if (!client_binding::verify(
          nonces[index], static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(n),
          client_binding::proof(nonces, static_cast<std::uint32_t>(index)), root)) {
    fuzz::fail("honest client_binding proof refused");
  }
  if (merkle::verify_inclusion(leaves[index], index, n, path, flipped(root, flip))) {
    fuzz::fail("inclusion accepted a wrong root");
  }
  if (!path.empty()) {
    const std::size_t k = flip % path.size();
    path[k] = flipped(path[k], flip);
    if (merkle::verify_inclusion(leaves[index], index, n, path, root)) {
      fuzz::fail("inclusion accepted a changed proof");
    }
  }

  const Hash32 old_root = merkle::root(std::span<const Hash32>(leaves).first(old_size));
  auto proof = merkle::consistency_proof(leaves, old_size);
  if (!merkle::verify_consistency(old_size, n, old_root, root, proof)) {
    fuzz::fail("honest consistency proof refused");
  }
  if (merkle::verify_consistency(old_size, n, flipped(old_root, flip), root, proof)) {
    fuzz::fail("consistency accepted a wrong old root");
  }
  if (!proof.empty()) {
    const std::size_t k = flip % proof.size();
    proof[k] = flipped(proof[k], flip);
    if (merkle::verify_consistency(old_size, n, old_root, root, proof)) {
      fuzz::fail("consistency accepted a changed proof");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gsvs::fuzz::Input in(data, size);
  const std::uint8_t mode = in.u8();
  if ((mode & 1U) != 0) {
    honest(in);
  } else {
    raw(in, mode);
  }
  return 0;
}
