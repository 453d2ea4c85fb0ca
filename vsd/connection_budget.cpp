#include "vsd/connection_budget.h"

#include <algorithm>
#include <utility>

namespace gsvs::vsd {

ConnectionBudget::ConnectionBudget(const Limits& limits)
    : limits_(limits),
      pending_(limits.max_unauthenticated, limits.max_unauthenticated_per_source),
      refusals_({"displaced by newer ones (max_unauthenticated " +
                     std::to_string(limits.max_unauthenticated) + ", per address " +
                     std::to_string(limits.max_unauthenticated_per_source) + ")",
                 "refused at max_connections (" + std::to_string(limits.max_authenticated) + ")",
                 "without an acceptable JoinRequest"}) {}

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
  return refusals_.count(static_cast<std::size_t>(why), source, std::chrono::steady_clock::now());
}

std::optional<std::string> ConnectionBudget::take_summary() {
  std::lock_guard lock(mutex_);
  auto line = refusals_.take_summary("authenticating", std::chrono::steady_clock::now());
  if (line) *line += "; nothing of them is logged to the store";
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
  return Counts{authenticated_.size(), unauthenticated_.size(), refusals_.total()};
}

}  // namespace gsvs::vsd
