// What a port turned away before the peer showed who it is, counted for one summary line per
// window instead of a line per connection: a flood must not fill the operator's disk. The first
// refusal of a window is worth a line of its own (its reason in full); the rest are counted by
// kind and source address. Pure bookkeeping, not thread-safe: the caller logs and locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gsvs::net {

class RefusalWindow {
 public:
  using Clock = std::chrono::steady_clock;

  // `kinds` describes each kind of refusal, by its index ("displaced by newer ones (...)"), in
  // the order the summary lists them.
  explicit RefusalWindow(std::vector<std::string> kinds);

  // Counts a refusal of kind `kind` (an index into kinds) from `source` (an address). True when
  // it is the first of the window.
  bool count(std::size_t kind, const std::string& source, Clock::time_point now);

  // "N connections closed before <before> in T ms, from M addresses: a <kind>, b <kind>", or
  // nullopt when the window holds fewer than two refusals (the first had a line of its own).
  // Starts a new window.
  std::optional<std::string> take_summary(const std::string& before, Clock::time_point now);

  // Every refusal counted since construction.
  [[nodiscard]] std::uint64_t total() const { return total_; }

 private:
  std::vector<std::string> kinds_;
  std::vector<std::uint64_t> window_counts_;  // per kind
  std::uint64_t in_window_ = 0;
  std::set<std::string> window_sources_;  // at most kMaxSourcesCounted
  Clock::time_point window_start_;
  std::uint64_t total_ = 0;
};

}  // namespace gsvs::net
