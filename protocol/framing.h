// Stream framing for TCP: u32 little-endian payload length || payload. A length of zero or over
// the cap is an error that ends the connection; the cap bounds the memory one peer can claim.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace gsvs::framing {

inline constexpr std::size_t kHeaderBytes = 4;
inline constexpr std::size_t kDefaultMaxFrame = 16 * 1024;
// The most room FrameDecoder::prepare() offers for a frame of which only the header has arrived.
inline constexpr std::size_t kEagerRoomBytes = 64 * 1024;

Bytes frame(ByteView payload);

// Checks a frame header; returns the payload length or why it is unacceptable.
Result<std::size_t> parse_header(ByteView header, std::size_t max_frame);

// Accumulates bytes from partial reads and yields whole frames in order.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame = kDefaultMaxFrame) : max_frame_(max_frame) {}

  void feed(ByteView data) { buffer_.insert(buffer_.end(), data.begin(), data.end()); }
  // For reading straight into the decoder: room for at least `min_bytes` more (and for the rest
  // of a frame whose header has arrived), to be filled and then handed back with commit(n).
  std::span<std::uint8_t> prepare(std::size_t min_bytes);
  void commit(std::size_t filled);
  // A whole frame's payload, nullopt when more bytes are needed, or an error after which the
  // stream cannot be resynchronised and must be closed.
  Result<std::optional<Bytes>> next();
  [[nodiscard]] std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  void compact();

  std::size_t max_frame_;
  Bytes buffer_;
  std::size_t consumed_ = 0;
  std::size_t prepared_ = 0;  // room handed out by prepare(), not yet committed
};

}  // namespace gsvs::framing
