// A front-to-back reader over a fuzzer input: fields are taken in order and read as zero once
// the input is exhausted, so every input is meaningful and seed_corpus can write valid seeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "protocol/bytes.h"

namespace gsvs::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : rest_(data, size) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  template <std::size_t N = 32>
  FixedBytes<N> fixed() {
    FixedBytes<N> out;
    for (std::size_t i = 0; i < N && !rest_.empty(); ++i) {
      out.bytes[i] = rest_.front();
      rest_ = rest_.subspan(1);
    }
    return out;
  }
  [[nodiscard]] ByteView rest() const { return rest_; }
  [[nodiscard]] bool empty() const { return rest_.empty(); }

 private:
  std::uint64_t le(unsigned width) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < width && !rest_.empty(); ++i) {
      v |= static_cast<std::uint64_t>(rest_.front()) << (8 * i);
      rest_ = rest_.subspan(1);
    }
    return v;
  }
  ByteView rest_;
};

// A property failed: abort, so libFuzzer saves the input as a crash.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

}  // namespace gsvs::fuzz
