#include "net/pending_budget.h"

#include <algorithm>

namespace gsvs::net {

PendingBudget::PendingBudget(std::size_t capacity, std::size_t per_source)
    : capacity_(std::max<std::size_t>(1, capacity)),
      per_source_(std::clamp<std::size_t>(per_source, 1, capacity_)) {}

std::optional<ConnectionId> PendingBudget::admit(ConnectionId id, const std::string& source) {
  std::optional<ConnectionId> displaced;
  if (per_source_count_[source] >= per_source_) {
    auto oldest = std::find_if(order_.begin(), order_.end(),
                               [&](const Entry& e) { return e.source == source; });
    displaced = oldest->id;
  } else if (order_.size() >= capacity_) {
    // The oldest of the address holding the most: a flood from many addresses displaces its own
    // connections before a peer that holds one.
    std::size_t most = 0;
    for (const auto& [address, count] : per_source_count_) most = std::max(most, count);
    auto oldest = std::find_if(order_.begin(), order_.end(),
                               [&](const Entry& e) { return per_source_count_[e.source] == most; });
    displaced = oldest->id;
  }
  if (displaced) release(*displaced);
  order_.push_back(Entry{id, source});
  ++per_source_count_[source];
  return displaced;
}

bool PendingBudget::release(ConnectionId id) {
  auto it = std::find_if(order_.begin(), order_.end(), [&](const Entry& e) { return e.id == id; });
  if (it == order_.end()) return false;
  auto count = per_source_count_.find(it->source);
  if (--count->second == 0) per_source_count_.erase(count);
  order_.erase(it);
  return true;
}

bool PendingBudget::contains(ConnectionId id) const {
  return std::any_of(order_.begin(), order_.end(), [&](const Entry& e) { return e.id == id; });
}

}  // namespace gsvs::net
