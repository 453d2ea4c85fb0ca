#include "protocol/clock.h"

namespace gsvs {

using std::chrono::milliseconds;

SteadyWallClock::SteadyWallClock(std::uint64_t not_before_ms)
    : anchor_ms_(unix_time_ms()),
      anchor_steady_(std::chrono::steady_clock::now()),
      held_back_(anchor_ms_ < not_before_ms) {
  if (held_back_) anchor_ms_ = not_before_ms;
}

std::uint64_t SteadyWallClock::now_ms() const {
  const auto since = std::chrono::steady_clock::now() - anchor_steady_;
  return anchor_ms_ +
         static_cast<std::uint64_t>(std::chrono::duration_cast<milliseconds>(since).count());
}

std::int64_t SteadyWallClock::drift_ms() const {
  return static_cast<std::int64_t>(unix_time_ms()) - static_cast<std::int64_t>(now_ms());
}

bool ClockDriftWatch::parted(std::int64_t drift_ms) const {
  const std::uint64_t distance =
      drift_ms < 0 ? static_cast<std::uint64_t>(-drift_ms) : static_cast<std::uint64_t>(drift_ms);
  return distance > tolerance_ms_;
}

ClockDriftWatch::Change ClockDriftWatch::observe(std::int64_t drift_ms) {
  const bool apart = parted(drift_ms);
  if (apart == apart_) return Change::kNone;
  apart_ = apart;
  return apart ? Change::kParted : Change::kRejoined;
}

std::chrono::steady_clock::time_point SteadyWallClock::steady_at(std::uint64_t ms) const {
  if (ms <= anchor_ms_) return anchor_steady_;
  return anchor_steady_ + milliseconds(ms - anchor_ms_);
}

}  // namespace gsvs
