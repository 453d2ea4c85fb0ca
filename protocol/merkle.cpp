#include "protocol/merkle.h"

#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include "protocol/crypto.h"
#include "protocol/merkle_plan.h"

namespace gsvs::merkle {

namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;

// The RFC 9162 §2.1.3.2 step "right-shift fn and sn equally until LSB(fn) is set or fn is 0"
// (also used by §2.1.4.2). Ends after at most 64 shifts.
void shift_while_even(std::uint64_t& fn, std::uint64_t& sn) {
  while (fn != 0 && (fn & 1U) == 0) {
    fn >>= 1U;
    sn >>= 1U;
  }
}

// One proof from leaves in memory: a plan of one request, fed every leaf it needs.
std::vector<Hash32> one_proof(std::span<const Hash32> leaf_hashes, ProofPlan& plan,
                              ProofPlan::Ticket ticket) {
  for (std::uint64_t i = 0; i < plan.leaves_needed(); ++i) plan.add_leaf(leaf_hashes[i]);
  return plan.proof(ticket).value_or(std::vector<Hash32>{});
}

}  // namespace

Hash32 leaf_hash(ByteView leaf_input) {
  const std::array<std::uint8_t, 1> prefix{kLeafPrefix};
  crypto::Sha256 h;
  h.update(prefix).update(leaf_input);
  return h.finish();
}

Hash32 node_hash(const Hash32& left, const Hash32& right) {
  std::array<std::uint8_t, 1 + 2 * Hash32::size> buf{};
  buf[0] = kNodePrefix;
  std::memcpy(buf.data() + 1, left.bytes.data(), Hash32::size);
  std::memcpy(buf.data() + 1 + Hash32::size, right.bytes.data(), Hash32::size);
  return crypto::sha256(buf);
}

Hash32 empty_root() { return crypto::sha256(ByteView{}); }

// MTH bottom-up in O(log n) memory.
Hash32 root(std::span<const Hash32> leaf_hashes) {
  Accumulator acc;
  for (const auto& h : leaf_hashes) acc.append(h);
  return acc.root();
}

std::vector<Hash32> inclusion_proof(std::span<const Hash32> leaf_hashes, std::uint64_t index) {
  ProofPlan plan;
  const auto ticket = plan.want_inclusion(index, leaf_hashes.size());
  return one_proof(leaf_hashes, plan, ticket);
}

TreeProofs inclusion_proofs(std::span<const Hash32> leaf_hashes) {
  const std::size_t n = leaf_hashes.size();
  TreeProofs out{.root = empty_root(), .proofs = std::vector<std::vector<Hash32>>(n)};
  if (n == 0) return out;
  // The tree built level by level, in memory (a ProofPlan streams and keeps a map of wanted
  // nodes, which a batch held in memory does not need): nodes pair up from the left and a last
  // node without a partner moves up unchanged. Splitting at the largest power of two below the
  // size (RFC 9162 §2.1.1) builds the same tree, and a leaf's PATH is the partner it meets on
  // each level where it has one, bottom-up.
  std::vector<Hash32> level(leaf_hashes.begin(), leaf_hashes.end());
  for (unsigned depth = 0; level.size() > 1; ++depth) {
    for (std::size_t leaf = 0; leaf < n; ++leaf) {
      // The leaf's ancestor on this level is leaf >> depth; its partner differs in the last bit.
      const std::size_t partner = (leaf >> depth) ^ 1U;
      if (partner < level.size()) out.proofs[leaf].push_back(level[partner]);
    }
    std::vector<Hash32> next((level.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      next[i / 2] = node_hash(level[i], level[i + 1]);
    }
    if (level.size() % 2 == 1) next.back() = level.back();
    level = std::move(next);
  }
  out.root = level.front();
  return out;
}

std::vector<Hash32> consistency_proof(std::span<const Hash32> leaf_hashes, std::uint64_t old_size) {
  ProofPlan plan;
  const auto ticket = plan.want_consistency(old_size, leaf_hashes.size());
  return one_proof(leaf_hashes, plan, ticket);
}

// RFC 9162 §2.1.3.2. tree_size is not bound by the proof itself (a proof for one size can fit
// another size of the same shape): callers take size and root from the same signed checkpoint.
std::optional<Hash32> root_from_inclusion(const Hash32& leaf_hash, std::uint64_t index,
                                          std::uint64_t tree_size, std::span<const Hash32> proof) {
  if (index >= tree_size) return std::nullopt;
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  Hash32 r = leaf_hash;
  for (const auto& p : proof) {
    if (sn == 0) return std::nullopt;  // proof longer than the path
    if ((fn & 1U) != 0 || fn == sn) {
      r = node_hash(p, r);
      shift_while_even(fn, sn);
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  if (sn != 0) return std::nullopt;  // proof shorter than the path
  return r;
}

bool verify_inclusion(const Hash32& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                      std::span<const Hash32> proof, const Hash32& expected_root) {
  const auto root = root_from_inclusion(leaf_hash, index, tree_size, proof);
  return root && *root == expected_root;
}

// RFC 9162 §2.1.4.2, plus the two cases its algorithm leaves out: equal sizes (the proof is
// empty and the roots must match) and old_size 0 (no proof is defined; refused).
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash32& old_root,
                        const Hash32& new_root, std::span<const Hash32> proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;

  // Step 2: when the old tree is a complete subtree, its root is the first node of the path.
  std::size_t next = 0;
  Hash32 fr = old_root;
  if (!std::has_single_bit(old_size)) fr = proof[next++];
  Hash32 sr = fr;

  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1U) != 0) {
    fn >>= 1U;
    sn >>= 1U;
  }
  for (; next < proof.size(); ++next) {
    const Hash32& c = proof[next];
    if (sn == 0) return false;  // proof longer than the path
    if ((fn & 1U) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      shift_while_even(fn, sn);
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

// Appending leaf number size_ merges one peak per trailing one bit of size_, as a binary carry.
void Accumulator::append(const Hash32& leaf_hash) {
  Hash32 carry = leaf_hash;
  for (std::uint64_t s = size_; (s & 1U) != 0; s >>= 1U) {
    carry = node_hash(peaks_.back(), carry);
    peaks_.pop_back();
  }
  peaks_.push_back(carry);
  ++size_;
}

std::optional<Accumulator> Accumulator::from_frontier(std::uint64_t size,
                                                      std::vector<Hash32> frontier) {
  if (frontier.size() != static_cast<std::size_t>(std::popcount(size))) return std::nullopt;
  Accumulator out;
  out.peaks_ = std::move(frontier);
  out.size_ = size;
  return out;
}

// MTH folds the peaks right to left: the leftmost peak is the k-sized left subtree of RFC 9162's
// split, and the rest form the right subtree, recursively.
Hash32 Accumulator::root() const {
  if (peaks_.empty()) return empty_root();
  Hash32 r = peaks_.back();
  for (auto it = peaks_.rbegin() + 1; it != peaks_.rend(); ++it) r = node_hash(*it, r);
  return r;
}

}  // namespace gsvs::merkle

namespace gsvs::client_binding {

namespace {
std::vector<Hash32> nonce_leaves(std::span<const Nonce32> nonces) {
  std::vector<Hash32> leaves;
  leaves.reserve(nonces.size());
  for (const auto& n : nonces) leaves.push_back(merkle::leaf_hash(n.view()));
  return leaves;
}
}  // namespace

Hash32 root(std::span<const Nonce32> nonces) {
  merkle::Accumulator acc;
  for (const auto& n : nonces) acc.append(merkle::leaf_hash(n.view()));
  return acc.root();
}

std::vector<Hash32> proof(std::span<const Nonce32> nonces, std::uint32_t index) {
  if (index >= nonces.size()) return {};
  return merkle::inclusion_proof(nonce_leaves(nonces), index);
}

bool verify(const Nonce32& nonce, std::uint32_t index, std::uint32_t batch_size,
            std::span<const Hash32> proof, const Hash32& binding) {
  return merkle::verify_inclusion(merkle::leaf_hash(nonce.view()), index, batch_size, proof,
                                  binding);
}

}  // namespace gsvs::client_binding
