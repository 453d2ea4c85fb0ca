// The GS port's budget of connections (PROTOCOL.md §8.14), so that nobody without an allowed
// identity's key can keep GSes out. A connection whose peer has not yet authenticated (shown an
// allowed identity's signature over this connection's challenge, §8.3 check 4) counts only against
// `max_unauthenticated`, at most `max_unauthenticated_per_source` from one address, and a newcomer
// takes the place of the oldest (net/pending_budget.h). An authenticated connection counts against
// `max_connections` and is never displaced.
//
// It also counts what it turns away, for one summary line a second at most instead of a line per
// connection (a flood must not fill the operator's disk either).
//
// Thread-safe: the listener admits on the main thread, sessions authenticate and end on their
// loops.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "net/pending_budget.h"
#include "net/refusal_window.h"

namespace gsvs::vsd {

class ConnectionBudget {
 public:
  struct Limits {
    std::size_t max_authenticated = 0;  // max_connections
    std::size_t max_unauthenticated = 0;
    std::size_t max_unauthenticated_per_source = 0;
  };
  explicit ConnectionBudget(const Limits& limits);

  // Why a connection was closed before its peer authenticated, in the order the summary lists
  // them.
  enum class Refusal : std::uint8_t {
    kDisplaced,       // a newer connection took its place in the budget
    kMaxConnections,  // max_connections peers are authenticated
    kTurnedAway,      // no acceptable JoinRequest: junk, silence, a replay, an unknown identity
  };

  struct Admission {
    bool admitted = false;  // false: refused (kMaxConnections, counted); close it
    // Set when the newcomer took an older connection's place (counted as kDisplaced): call it,
    // outside any lock, to close that connection.
    std::function<void()> close_displaced;
  };
  // A new connection `id` from `source` (an address); `close` closes it from any thread, should
  // a newer connection take its place.
  Admission admit(net::ConnectionId id, const std::string& source, std::function<void()> close);
  // The peer of `id` authenticated: from now on it counts against max_connections. False when a
  // newer connection took its place meanwhile (already counted), or max_connections peers are
  // authenticated (counted as kMaxConnections); the caller closes it, unanswered.
  bool authenticate(net::ConnectionId id);
  // `id` is turned away before authenticating. Counts it unless it was displaced (counted then).
  // True when this is the first refusal since the last summary: worth a log line of its own.
  bool turned_away(net::ConnectionId id);
  // The connection closed; forgets it.
  void release(net::ConnectionId id);

  // One line summarising the refusals since the last summary, or nullopt when there were fewer
  // than two (the first of each window has a line of its own).
  std::optional<std::string> take_summary();

  struct Counts {
    std::size_t authenticated = 0;
    std::size_t unauthenticated = 0;
    std::uint64_t refused = 0;  // since start, every kind
  };
  Counts counts();

 private:
  // Under mutex_. True for the first refusal of a window.
  bool count(Refusal why, const std::string& source);

  const Limits limits_;
  std::mutex mutex_;
  net::PendingBudget pending_;
  struct Unauthenticated {
    std::string source;
    std::function<void()> close;
  };
  std::map<net::ConnectionId, Unauthenticated> unauthenticated_;
  std::set<net::ConnectionId> authenticated_;
  net::RefusalWindow refusals_;
};

// The pace of joins (PROTOCOL.md §8.14): authenticated joins go ahead at most `per_second` a
// second, up to one second's worth at once. A join waits its turn rather than being refused, as
// long as its wait stays within `max_wait`; one that would wait longer is refused (its GS retries
// after its backoff), so that no GS waits past its own handshake timeout for an answer. A
// generic cell rate: each join reserves the next slot. Thread-safe.
class JoinPacer {
 public:
  using Clock = std::chrono::steady_clock;
  // per_second 0: joins never wait.
  JoinPacer(std::uint32_t per_second, Clock::duration max_wait);

  // The wait before a join arriving at `now` may go ahead, its slot reserved; nullopt (nothing
  // reserved) when that wait would exceed max_wait.
  std::optional<Clock::duration> reserve(Clock::time_point now);

 private:
  const Clock::duration interval_;  // between two joins at the full pace
  const Clock::duration burst_;     // how far ahead of the pace joins may go: one second's worth
  const Clock::duration max_wait_;
  std::mutex mutex_;
  Clock::time_point next_{};  // when the next join would be due at the full pace
};

}  // namespace gsvs::vsd
