// The wall clock every party stamps its messages with: milliseconds since the Unix epoch, the unit
// of every *_ms time field in docs/PROTOCOL.md. (Intervals and deadlines use steady_clock.)
#pragma once

#include <chrono>
#include <cstdint>

namespace gsvs {

// The system clock now. Programs stamp their messages with a SteadyWallClock instead, so that a
// step of the host's clock cannot move their times; this reads the host clock itself.
inline std::uint64_t unix_time_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Unix milliseconds read once from the system clock and carried forward by the monotonic clock,
// so that they never go back while the program runs. The VS stamps every entry and judges every
// rule by one (PROTOCOL.md §8.13): a step of the system clock (an operator, a bad NTP server) can
// neither revoke every session for missed heartbeats nor make a liveness verdict in the log
// disagree with the timers that issued it. NTP's frequency correction still applies (it slews the
// monotonic clock too).
class SteadyWallClock {
 public:
  // Reads the system clock now, or `not_before_ms` if the system clock is behind it: the VS
  // passes the newest time in its log, since resumed sessions and continuity compare times across
  // a restart.
  explicit SteadyWallClock(std::uint64_t not_before_ms = 0);

  [[nodiscard]] std::uint64_t now_ms() const;
  // The monotonic time at which now_ms() reads `ms`, for a timer that should fire then.
  [[nodiscard]] std::chrono::steady_clock::time_point steady_at(std::uint64_t ms) const;
  // Whether the system clock was behind `not_before_ms` at construction.
  [[nodiscard]] bool held_back() const { return held_back_; }
  // How far the system clock now reads from this clock, in ms (positive: the system clock is
  // ahead): a step of the system clock since construction, or the hold-back.
  [[nodiscard]] std::int64_t drift_ms() const;

 private:
  std::uint64_t anchor_ms_;
  std::chrono::steady_clock::time_point anchor_steady_;
  bool held_back_;
};

// Whether the system clock has moved away from a program's SteadyWallClock, which a step of the
// system clock while it runs does not move (an NTP server that corrects the time late, an
// operator): the daemons look now and then and say when the two part by more than `tolerance_ms`
// and when they come back together, once each.
class ClockDriftWatch {
 public:
  enum class Change : std::uint8_t { kNone, kParted, kRejoined };
  // `drift_at_start_ms`: clocks already apart then (the VS's hold-back) were said then.
  ClockDriftWatch(std::uint64_t tolerance_ms, std::int64_t drift_at_start_ms)
      : tolerance_ms_(tolerance_ms), apart_(parted(drift_at_start_ms)) {}
  Change observe(std::int64_t drift_ms);

 private:
  [[nodiscard]] bool parted(std::int64_t drift_ms) const;

  std::uint64_t tolerance_ms_;
  bool apart_;
};

}  // namespace gsvs
