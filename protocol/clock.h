// The wall clock every party stamps its messages with: milliseconds since the Unix epoch, the unit
// of every *_ms time field in docs/PROTOCOL.md. (Intervals and deadlines use steady_clock.)
#pragma once

#include <chrono>
#include <cstdint>

namespace gsvs {

inline std::uint64_t unix_time_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace gsvs
