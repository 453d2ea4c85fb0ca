// Connections whose peer has not yet shown who it is (a GS's JoinRequest at the VS, a player's
// ClientHello at the GS), counted against a bounded budget of their own so that silent or junk
// connections cannot keep the peers that do authenticate out: at most `capacity` in all and
// `per_source` from one address, and a newcomer takes the place of the oldest of its own address
// when that address holds its share, else of the address holding the most. Pure bookkeeping: the
// caller closes the connection that admit() names. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace gsvs::net {

// The caller's number for one connection, unique among those counted.
using ConnectionId = std::uint64_t;

class PendingBudget {
 public:
  // At most `capacity` connections in all and `per_source` from one address (both at least 1).
  PendingBudget(std::size_t capacity, std::size_t per_source);

  // Counts `id` from `source` (an address). Returns the connection it displaces: the oldest from
  // the same source when that source holds its share, else, when the budget is full, the oldest
  // from the source that holds the most (the oldest of all when sources hold equally many).
  std::optional<ConnectionId> admit(ConnectionId id, const std::string& source);
  // The peer authenticated or the connection closed; an id not counted is ignored. True when it
  // was counted.
  bool release(ConnectionId id);
  [[nodiscard]] bool contains(ConnectionId id) const;
  [[nodiscard]] std::size_t size() const { return order_.size(); }

 private:
  struct Entry {
    ConnectionId id;
    std::string source;
  };
  std::size_t capacity_;
  std::size_t per_source_;
  std::deque<Entry> order_;  // oldest first
  std::map<std::string, std::size_t> per_source_count_;
};

}  // namespace gsvs::net
