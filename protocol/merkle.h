// RFC 9162 (RFC 6962) Merkle tree hashing over SHA-256: the checkpoint tree over log entry
// hashes, the inclusion proofs in dispute reports, and client_binding over client nonces.
//   leaf hash: SHA-256(0x00 || leaf input)      node hash: SHA-256(0x01 || left || right)
//   empty tree: SHA-256("")                      split: k = largest power of two < n
// Indexes are 0-based; proofs list hashes bottom-up, as RFC 9162 §2.1.3 and §2.1.4 emit them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocol/bytes.h"

namespace gsvs::merkle {

Hash32 leaf_hash(ByteView leaf_input);
Hash32 node_hash(const Hash32& left, const Hash32& right);
Hash32 empty_root();

// MTH over leaves already hashed with leaf_hash.
Hash32 root(std::span<const Hash32> leaf_hashes);

// PATH(index, D[n]) and PROOF(m, D[n]) of RFC 9162 §2.1.3.1 and §2.1.4.1, each a ProofPlan of
// one proof (merkle_plan.h). Preconditions:
// index < leaf_hashes.size(); 0 < old_size <= leaf_hashes.size(). Violations give an empty proof.
std::vector<Hash32> inclusion_proof(std::span<const Hash32> leaf_hashes, std::uint64_t index);
std::vector<Hash32> consistency_proof(std::span<const Hash32> leaf_hashes, std::uint64_t old_size);
// MTH(D[n]) and PATH(i, D[n]) for every leaf i, from leaves in memory: the tree's n - 1 node
// hashes in all, where n calls of inclusion_proof hash O(n) each (a receipt batch, PROTOCOL.md
// §5.11.1).
struct TreeProofs {
  Hash32 root;
  std::vector<std::vector<Hash32>> proofs;  // proofs[i] is leaf i's
};
TreeProofs inclusion_proofs(std::span<const Hash32> leaf_hashes);

// RFC 9162 §2.1.3.2 and §2.1.4.2 verification. False on any malformed proof (wrong length,
// index out of range), never undefined behaviour.
bool verify_inclusion(const Hash32& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                      std::span<const Hash32> proof, const Hash32& expected_root);
// The root that verify_inclusion compares: nullopt where it would fail whatever the root.
std::optional<Hash32> root_from_inclusion(const Hash32& leaf_hash, std::uint64_t index,
                                          std::uint64_t tree_size, std::span<const Hash32> proof);
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash32& old_root,
                        const Hash32& new_root, std::span<const Hash32> proof);
// A consistency proof between trees of up to 2^64 leaves has at most 2 * 64 hashes: a bound for
// proofs read from untrusted input.
inline constexpr std::size_t kMaxConsistencyProofHashes = 128;

// Appends leaf hashes one at a time and yields the root of everything so far, in O(log n)
// memory: the VS keeps one over its log to sign checkpoints without re-reading the store.
class Accumulator {
 public:
  void append(const Hash32& leaf_hash);
  [[nodiscard]] Hash32 root() const;
  [[nodiscard]] std::uint64_t size() const { return size_; }
  // The frontier: the roots of the perfect subtrees so far, largest (leftmost) first, one per set
  // bit of size(). With the size it is all the tree needs to go on, so a log split into files
  // continues its root without re-reading the older files (docs/STORE.md §10).
  [[nodiscard]] const std::vector<Hash32>& frontier() const { return peaks_; }
  // Continues a tree of `size` leaves from its frontier; nullopt when `frontier` does not hold
  // exactly one hash per set bit of `size`.
  static std::optional<Accumulator> from_frontier(std::uint64_t size, std::vector<Hash32> frontier);

 private:
  // Roots of perfect subtrees, largest (leftmost) first; their sizes are the set bits of size_.
  std::vector<Hash32> peaks_;
  std::uint64_t size_ = 0;
};

}  // namespace gsvs::merkle

namespace gsvs::client_binding {

// client_binding of a PlayTicket: the Merkle root over the batch of client nonces (each 32-byte
// nonce is one leaf input). An empty batch gives merkle::empty_root().
Hash32 root(std::span<const Nonce32> nonces);
// The inclusion proof the GS hands the client whose nonce is nonces[index].
std::vector<Hash32> proof(std::span<const Nonce32> nonces, std::uint32_t index);
bool verify(const Nonce32& nonce, std::uint32_t index, std::uint32_t batch_size,
            std::span<const Hash32> proof, const Hash32& binding);

}  // namespace gsvs::client_binding
