// Byte strings, fixed-size byte arrays and hex: the vocabulary every other module speaks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gsvs {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// A fixed-size value on the wire (hash, key, signature, nonce). Comparable, hashable as bytes.
template <std::size_t N>
struct FixedBytes {
  static constexpr std::size_t size = N;
  std::array<std::uint8_t, N> bytes{};

  [[nodiscard]] ByteView view() const { return {bytes.data(), N}; }
  [[nodiscard]] bool is_zero() const {
    for (auto b : bytes) {
      if (b != 0) return false;
    }
    return true;
  }
  friend bool operator==(const FixedBytes&, const FixedBytes&) = default;
  friend auto operator<=>(const FixedBytes&, const FixedBytes&) = default;
};

using Hash32 = FixedBytes<32>;
using Nonce32 = FixedBytes<32>;

std::string to_hex(ByteView data);
template <std::size_t N>
std::string to_hex(const FixedBytes<N>& value) {
  return to_hex(value.view());
}
// The first `chars` hex digits, for log lines and tables that name a key or hash.
std::string short_hex(ByteView data, std::size_t chars = 16);
template <std::size_t N>
std::string short_hex(const FixedBytes<N>& value, std::size_t chars = 16) {
  return short_hex(value.view(), chars);
}

// Accepts upper or lower case; returns nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);

template <std::size_t N>
std::optional<FixedBytes<N>> fixed_from_hex(std::string_view hex) {
  auto raw = from_hex(hex);
  if (!raw || raw->size() != N) return std::nullopt;
  FixedBytes<N> out;
  for (std::size_t i = 0; i < N; ++i) out.bytes[i] = (*raw)[i];
  return out;
}

// The longest prefix of `text` of at most `max_bytes` bytes that does not end inside a UTF-8
// character: a capped detail string stays valid UTF-8 (the decoders refuse text that is not), and
// a reader never sees half a character. Valid UTF-8 in, valid UTF-8 out.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace gsvs
