// The VS clock: the vs_time_ms the VS stamps on every entry and judges every rule by
// (PROTOCOL.md §8.12). Milliseconds since the Unix epoch, read once from the system clock at
// start and carried forward by the monotonic clock, so that it never goes back while vsd runs:
// a step of the system clock (an operator, a bad NTP server) can neither revoke every session
// for missed heartbeats nor make a liveness verdict in the log disagree with the timers that
// issued it. NTP's frequency correction still applies (it slews the monotonic clock too).
// Across a restart it starts no earlier than the newest time in the log, since resumed sessions
// and continuity compare times across the restart (PROTOCOL.md §8.13).
#pragma once

#include <chrono>
#include <cstdint>

namespace gsvs::vsd {

class VsClock {
 public:
  // Reads the system clock now, or `not_before_ms` if the system clock is behind it.
  explicit VsClock(std::uint64_t not_before_ms = 0);

  // Whether the system clock was behind `not_before_ms` at construction.
  [[nodiscard]] bool held_back() const { return held_back_; }

  [[nodiscard]] std::uint64_t now_ms() const;
  // The monotonic time at which now_ms() reads `vs_ms`, for a timer that should fire then.
  [[nodiscard]] std::chrono::steady_clock::time_point steady_at(std::uint64_t vs_ms) const;

 private:
  std::uint64_t anchor_ms_;
  std::chrono::steady_clock::time_point anchor_steady_;
  bool held_back_;
};

}  // namespace gsvs::vsd
