#include "vsd/connection_budget.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace gsvs::vsd {

namespace {

// Distinct sources remembered per summary window: enough to tell one flooder from many, bounded
// so that a flood from many addresses cannot grow the set without limit.
constexpr std::size_t kMaxSourcesCounted = 4096;

}  // namespace

ConnectionBudget::ConnectionBudget(const Limits& limits)
    : limits_(limits),
      pending_(limits.max_unauthenticated, limits.max_unauthenticated_per_source) {}

ConnectionBudget::Admission ConnectionBudget::admit(net::ConnectionId id, const std::string& source,
                                                    std::function<void()> close) {
  Admission admission;
  std::lock_guard lock(mutex_);
  if (authenticated_.size() >= limits_.max_authenticated) {
    count(Refusal::kMaxConnections, source);
    return admission;
  }
  admission.admitted = true;
  if (const auto displaced = pending_.admit(id, source)) {
    auto it = unauthenticated_.find(*displaced);
    count(Refusal::kDisplaced, it->second.source);
    admission.close_displaced = std::move(it->second.close);
    unauthenticated_.erase(it);
  }
  unauthenticated_.emplace(id, Unauthenticated{source, std::move(close)});
  return admission;
}

bool ConnectionBudget::authenticate(net::ConnectionId id) {
  std::lock_guard lock(mutex_);
  auto it = unauthenticated_.find(id);
  if (it == unauthenticated_.end()) return false;
  if (authenticated_.size() >= limits_.max_authenticated) {
    count(Refusal::kMaxConnections, it->second.source);
    pending_.release(id);
    unauthenticated_.erase(it);
    return false;
  }
  pending_.release(id);
  unauthenticated_.erase(it);
  authenticated_.insert(id);
  return true;
}

bool ConnectionBudget::turned_away(net::ConnectionId id) {
  std::lock_guard lock(mutex_);
  auto it = unauthenticated_.find(id);
  if (it == unauthenticated_.end()) return false;
  const bool first = count(Refusal::kTurnedAway, it->second.source);
  pending_.release(id);
  unauthenticated_.erase(it);
  return first;
}

void ConnectionBudget::release(net::ConnectionId id) {
  std::lock_guard lock(mutex_);
  if (authenticated_.erase(id) != 0) return;
  pending_.release(id);
  unauthenticated_.erase(id);
}

bool ConnectionBudget::count(Refusal why, const std::string& source) {
  std::uint64_t in_window = 0;
  for (const auto& [kind, n] : window_counts_) in_window += n;
  if (in_window == 0) window_start_ = std::chrono::steady_clock::now();
  ++window_counts_[why];
  ++refused_total_;
  if (window_sources_.size() < kMaxSourcesCounted) window_sources_.insert(source);
  return in_window == 0;
}

std::optional<std::string> ConnectionBudget::take_summary() {
  std::lock_guard lock(mutex_);
  std::uint64_t total = 0;
  for (const auto& [kind, n] : window_counts_) total += n;
  std::optional<std::string> line;
  if (total >= 2) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - window_start_)
                        .count();
    const std::size_t sources = window_sources_.size();
    std::string text = std::to_string(total) + " connections closed before authenticating in " +
                       std::to_string(ms) + " ms, from " +
                       (sources >= kMaxSourcesCounted ? "at least " : "") +
                       std::to_string(sources) + (sources == 1 ? " address" : " addresses") + ":";
    const std::vector<std::pair<Refusal, std::string>> parts{
        {Refusal::kDisplaced, "displaced by newer ones (max_unauthenticated " +
                                  std::to_string(limits_.max_unauthenticated) + ", per address " +
                                  std::to_string(limits_.max_unauthenticated_per_source) + ")"},
        {Refusal::kMaxConnections,
         "refused at max_connections (" + std::to_string(limits_.max_authenticated) + ")"},
        {Refusal::kTurnedAway, "without an acceptable JoinRequest"},
    };
    const char* separator = " ";
    for (const auto& [kind, what] : parts) {
      const auto n = window_counts_[kind];
      if (n == 0) continue;
      text += separator + std::to_string(n) + " " + what;
      separator = ", ";
    }
    line = text + "; nothing of them is logged to the store";
  }
  if (total != 0) {
    window_counts_.clear();
    window_sources_.clear();
  }
  return line;
}

JoinPacer::JoinPacer(std::uint32_t per_second, Clock::duration max_wait)
    : interval_(per_second == 0 ? Clock::duration::zero()
                                : Clock::duration(std::chrono::seconds(1)) / per_second),
      burst_(std::chrono::seconds(1) - interval_),
      max_wait_(max_wait) {}

std::optional<JoinPacer::Clock::duration> JoinPacer::reserve(Clock::time_point now) {
  if (interval_ == Clock::duration::zero()) return Clock::duration::zero();
  std::lock_guard lock(mutex_);
  const Clock::time_point due = std::max(next_, now);
  const Clock::duration wait = std::max(Clock::duration::zero(), due - burst_ - now);
  if (wait > max_wait_) return std::nullopt;
  next_ = due + interval_;
  return wait;
}

ConnectionBudget::Counts ConnectionBudget::counts() {
  std::lock_guard lock(mutex_);
  return Counts{authenticated_.size(), unauthenticated_.size(), refused_total_};
}

}  // namespace gsvs::vsd
