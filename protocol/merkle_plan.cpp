#include "protocol/merkle_plan.h"

#include <algorithm>
#include <bit>

#include "protocol/merkle.h"

namespace gsvs::merkle {

namespace {
// RFC 9162's split point: the largest power of two smaller than n (n >= 2).
std::uint64_t split(std::uint64_t n) { return std::bit_floor(n - 1); }
}  // namespace

ProofPlan::Ticket ProofPlan::add_request(std::vector<Range> ranges, std::uint64_t size) {
  for (const auto& range : ranges) need(range);
  leaves_needed_ = std::max(leaves_needed_, size);
  requests_.push_back(std::move(ranges));
  return requests_.size() - 1;
}

ProofPlan::Ticket ProofPlan::want_inclusion(std::uint64_t index, std::uint64_t size) {
  std::vector<Range> path;  // top-down here; RFC 9162 lists it bottom-up
  if (index < size) {
    std::uint64_t begin = 0;
    std::uint64_t end = size;
    while (end - begin > 1) {
      const std::uint64_t k = split(end - begin);
      if (index < begin + k) {
        path.push_back({begin + k, end});
        end = begin + k;
      } else {
        path.push_back({begin, begin + k});
        begin += k;
      }
    }
    std::reverse(path.begin(), path.end());
  }
  return add_request(std::move(path), index < size ? size : 0);
}

ProofPlan::Ticket ProofPlan::want_consistency(std::uint64_t old_size, std::uint64_t new_size) {
  std::vector<Range> path;
  if (old_size > 0 && old_size <= new_size) {
    // SUBPROOF(m, D[begin:end], complete), unrolled; m is relative to begin.
    std::uint64_t m = old_size;
    std::uint64_t begin = 0;
    std::uint64_t end = new_size;
    bool complete = true;
    while (true) {
      if (m == end - begin) {
        if (!complete) path.push_back({begin, end});
        break;
      }
      const std::uint64_t k = split(end - begin);
      if (m <= k) {
        path.push_back({begin + k, end});
        end = begin + k;
      } else {
        path.push_back({begin, begin + k});
        m -= k;
        begin += k;
        complete = false;
      }
    }
    std::reverse(path.begin(), path.end());
  }
  return add_request(std::move(path), old_size > 0 && old_size <= new_size ? new_size : 0);
}

ProofPlan::Ticket ProofPlan::want_root(std::uint64_t size) {
  std::vector<Range> whole;
  if (size > 0) whole.push_back({0, size});
  return add_request(std::move(whole), size);
}

void ProofPlan::need(const Range& range) {
  // [begin, end) starts at a multiple of the largest power of two not above its size, so its
  // binary decomposition, largest first, is a run of aligned perfect subtrees.
  std::uint64_t at = range.begin;
  const std::uint64_t size = range.end - range.begin;
  for (unsigned level = 64; level-- > 0;) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((size & width) == 0) continue;
    nodes_.try_emplace(Node{level, at >> level});
    at += width;
  }
}

void ProofPlan::add_leaf(const Hash32& leaf_hash) {
  if (fed_ >= leaves_needed_) return;
  auto record = [this](const Node& node, const Hash32& hash) {
    auto it = nodes_.find(node);
    if (it != nodes_.end()) it->second = Slot{hash, true};
  };
  Node leaf{0, fed_};
  record(leaf, leaf_hash);
  stack_.emplace_back(leaf, leaf_hash);
  while (stack_.size() >= 2 && stack_[stack_.size() - 2].first.first == stack_.back().first.first) {
    const auto right = stack_.back();
    stack_.pop_back();
    const auto left = stack_.back();
    stack_.pop_back();
    Node parent{left.first.first + 1, left.first.second >> 1};
    Hash32 hash = node_hash(left.second, right.second);
    record(parent, hash);
    stack_.emplace_back(parent, hash);
  }
  ++fed_;
}

bool ProofPlan::resume(std::uint64_t size, const std::vector<Hash32>& frontier) {
  if (fed_ != 0 || frontier.size() != static_cast<std::size_t>(std::popcount(size))) return false;
  // The frontier's subtrees are the set bits of size, largest (leftmost) first.
  std::uint64_t at = 0;
  std::size_t next = 0;
  for (unsigned level = 64; level-- > 0;) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((size & width) == 0) continue;
    const Node node{level, at >> level};
    if (auto it = nodes_.find(node); it != nodes_.end()) it->second = Slot{frontier[next], true};
    stack_.emplace_back(node, frontier[next]);
    ++next;
    at += width;
  }
  fed_ = size;
  return true;
}

bool ProofPlan::range_hash(const Range& range, Hash32& out) const {
  std::vector<const Slot*> chunks;
  std::uint64_t at = range.begin;
  const std::uint64_t size = range.end - range.begin;
  for (unsigned level = 64; level-- > 0;) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((size & width) == 0) continue;
    auto it = nodes_.find(Node{level, at >> level});
    if (it == nodes_.end() || !it->second.filled) return false;
    chunks.push_back(&it->second);
    at += width;
  }
  if (chunks.empty()) {
    out = empty_root();
    return true;
  }
  // MTH of a range that is not a power of two: node(first chunk, MTH(rest)), so fold from the
  // right.
  out = chunks.back()->hash;
  for (std::size_t i = chunks.size() - 1; i-- > 0;) out = node_hash(chunks[i]->hash, out);
  return true;
}

std::optional<std::vector<Hash32>> ProofPlan::proof(Ticket ticket) const {
  if (ticket >= requests_.size()) return std::nullopt;
  std::vector<Hash32> out;
  for (const auto& range : requests_[ticket]) {
    Hash32 hash;
    if (!range_hash(range, hash)) return std::nullopt;
    out.push_back(hash);
  }
  return out;
}

std::optional<Hash32> ProofPlan::root(Ticket ticket) const {
  if (ticket >= requests_.size()) return std::nullopt;
  Hash32 out = empty_root();
  if (!requests_[ticket].empty() && !range_hash(requests_[ticket].front(), out)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace gsvs::merkle
