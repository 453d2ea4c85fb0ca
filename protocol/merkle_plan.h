// Merkle proofs over a long log in bounded memory. A dispute report over a log of millions of
// entries asks for many proofs against a few checkpoint sizes; a ProofPlan is told first which
// proofs and roots are wanted, then reads the leaf hashes once, in order, and keeps only the
// subtree hashes those proofs are made of: memory O(proofs x log n), time O(n) for the whole
// batch. merkle::inclusion_proof and consistency_proof (merkle.h) are one-proof plans.
//
// Every proof element of RFC 9162 (§2.1.3.1 PATH, §2.1.4.1 PROOF) is the hash of a range of
// leaves [a, b) that starts at a multiple of the largest power of two not above its size, so it
// is a fold of perfect, aligned subtrees; those are exactly the nodes an append-only stack of
// subtree roots completes while the leaves stream by.
//
// Threading: one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "protocol/bytes.h"

namespace gsvs::merkle {

class ProofPlan {
 public:
  using Ticket = std::size_t;

  // Preconditions (else the result is an empty proof / the empty root): index < size;
  // 0 < old_size <= new_size.
  Ticket want_inclusion(std::uint64_t index, std::uint64_t size);
  Ticket want_consistency(std::uint64_t old_size, std::uint64_t new_size);
  Ticket want_root(std::uint64_t size);

  // How many leaves must be fed: the largest tree size asked for.
  [[nodiscard]] std::uint64_t leaves_needed() const { return leaves_needed_; }
  [[nodiscard]] std::uint64_t leaves_fed() const { return fed_; }

  // Leaf hashes in order, from index 0. Extra leaves past leaves_needed() are ignored.
  void add_leaf(const Hash32& leaf_hash);
  // Instead of the first `size` leaves: the frontier of their tree (Accumulator's, as a
  // segment records it at its seal, docs/STORE.md §10.3). After every want_* and before any leaf;
  // false (and nothing changed) otherwise or when the frontier does not fit `size`. A wanted
  // node inside those leaves that is not one of the frontier's subtrees stays unknown: its
  // proofs and roots come out nullopt.
  bool resume(std::uint64_t size, const std::vector<Hash32>& frontier);

  // After leaves_needed() leaves were fed; nullopt while some of the leaves it rests on have not
  // arrived (or for an unknown ticket).
  [[nodiscard]] std::optional<std::vector<Hash32>> proof(Ticket ticket) const;
  [[nodiscard]] std::optional<Hash32> root(Ticket ticket) const;

 private:
  struct Range {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
  };
  using Node = std::pair<unsigned, std::uint64_t>;  // (level, index): leaves [i<<l, (i+1)<<l)

  Ticket add_request(std::vector<Range> ranges, std::uint64_t size);
  void need(const Range& range);
  [[nodiscard]] bool range_hash(const Range& range, Hash32& out) const;

  struct Slot {
    Hash32 hash;
    bool filled = false;
  };
  std::vector<std::vector<Range>> requests_;
  std::map<Node, Slot> nodes_;  // the wanted nodes, filled in as the leaves stream by
  std::vector<std::pair<Node, Hash32>> stack_;
  std::uint64_t leaves_needed_ = 0;
  std::uint64_t fed_ = 0;
};

}  // namespace gsvs::merkle
