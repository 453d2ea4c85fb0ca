#include "vsd/vs_clock.h"

#include "protocol/clock.h"

namespace gsvs::vsd {

using std::chrono::milliseconds;

VsClock::VsClock(std::uint64_t not_before_ms)
    : anchor_ms_(unix_time_ms()),
      anchor_steady_(std::chrono::steady_clock::now()),
      held_back_(anchor_ms_ < not_before_ms) {
  if (held_back_) anchor_ms_ = not_before_ms;
}

std::uint64_t VsClock::now_ms() const {
  const auto since = std::chrono::steady_clock::now() - anchor_steady_;
  return anchor_ms_ +
         static_cast<std::uint64_t>(std::chrono::duration_cast<milliseconds>(since).count());
}

std::chrono::steady_clock::time_point VsClock::steady_at(std::uint64_t vs_ms) const {
  if (vs_ms <= anchor_ms_) return anchor_steady_;
  return anchor_steady_ + milliseconds(vs_ms - anchor_ms_);
}

}  // namespace gsvs::vsd
