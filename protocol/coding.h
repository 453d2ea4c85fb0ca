// Little-endian field coding. Writer appends; Reader consumes a view and remembers the first
// failure (sticky), so a decoder reads every field and checks once at the end. Neither ever reads
// or writes out of bounds, and neither throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/bytes.h"

namespace gsvs::coding {

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put_le(v, 2); }
  void u32(std::uint32_t v) { put_le(v, 4); }
  void u64(std::uint64_t v) { put_le(v, 8); }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void raw(ByteView data) { out_.insert(out_.end(), data.begin(), data.end()); }
  template <std::size_t N>
  void fixed(const FixedBytes<N>& v) {
    raw(v.view());
  }

  [[nodiscard]] const Bytes& bytes() const { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  void put_le(std::uint64_t v, unsigned width) {
    for (unsigned i = 0; i < width; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView input) : input_(input) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(get_le(1, "u8")); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get_le(2, "u16")); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get_le(4, "u32")); }
  std::uint64_t u64() { return get_le(8, "u64"); }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  // A view into the input of exactly `count` bytes, or empty after a failure.
  ByteView raw(std::size_t count, std::string_view what);
  template <std::size_t N>
  FixedBytes<N> fixed(std::string_view what) {
    FixedBytes<N> out;
    auto view = raw(N, what);
    if (view.size() == N) {
      for (std::size_t i = 0; i < N; ++i) out.bytes[i] = view[i];
    }
    return out;
  }

  // Records a failure unless one is already recorded: the first reason is the useful one.
  void fail(std::string reason);
  [[nodiscard]] bool failed() const { return !error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::size_t position() const { return pos_; }
  [[nodiscard]] std::size_t remaining() const { return failed() ? 0 : input_.size() - pos_; }
  // Fails with "trailing bytes" unless the whole input was consumed.
  void expect_end();

 private:
  std::uint64_t get_le(unsigned width, std::string_view what);
  ByteView input_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace gsvs::coding
