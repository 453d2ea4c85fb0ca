#include "protocol/framing.h"

#include <algorithm>
#include <string>

#include "protocol/coding.h"

namespace gsvs::framing {

Bytes frame(ByteView payload) {
  coding::Writer out;
  out.u32(static_cast<std::uint32_t>(payload.size()));
  out.raw(payload);
  return out.take();
}

Result<std::size_t> parse_header(ByteView header, std::size_t max_frame) {
  coding::Reader in(header);
  const std::uint32_t size = in.u32();
  in.expect_end();
  if (in.failed()) return Error{"frame header: " + in.error()};
  if (size == 0) return Error{"empty frame"};
  if (size > max_frame) {
    return Error{"frame of " + std::to_string(size) + " bytes exceeds the limit of " +
                 std::to_string(max_frame)};
  }
  return static_cast<std::size_t>(size);
}

Result<std::optional<Bytes>> FrameDecoder::next() {
  if (buffered() < kHeaderBytes) return std::optional<Bytes>{};
  ByteView rest(buffer_.data() + consumed_, buffered());
  auto size = parse_header(rest.first(kHeaderBytes), max_frame_);
  if (!size) return Error{size.error()};
  if (rest.size() < kHeaderBytes + *size) return std::optional<Bytes>{};
  auto payload = rest.subspan(kHeaderBytes, *size);
  Bytes out(payload.begin(), payload.end());
  consumed_ += kHeaderBytes + *size;
  compact();
  return std::optional<Bytes>{std::move(out)};
}

void FrameDecoder::compact() {
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 4096 && consumed_ * 2 > buffer_.size()) {
    // Once the consumed prefix dominates, so a long-lived stream does not grow forever.
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
}

std::span<std::uint8_t> FrameDecoder::prepare(std::size_t min_bytes) {
  std::size_t want = min_bytes;
  if (buffered() >= kHeaderBytes) {
    // The header has arrived: make room for the rest of the frame, so a frame usually arrives in
    // one read (an oversize header is reported by next(), not here). The room grows with what the
    // peer has sent, not with what its header claims: a header alone gets kEagerRoomBytes, and
    // beyond that the buffer at most doubles per read, so four bytes cannot make the reader
    // allocate max_frame.
    auto size = parse_header(ByteView(buffer_.data() + consumed_, kHeaderBytes), max_frame_);
    if (size && kHeaderBytes + *size > buffered()) {
      const std::size_t rest = kHeaderBytes + *size - buffered();
      want = std::max(want, std::min(rest, std::max(kEagerRoomBytes, buffered())));
    }
  }
  const std::size_t filled = buffer_.size();
  buffer_.resize(filled + want);
  prepared_ = want;
  return {buffer_.data() + filled, want};
}

void FrameDecoder::commit(std::size_t filled) {
  // prepare() grew the buffer by its span; keep only what was filled.
  buffer_.resize(buffer_.size() - (prepared_ - std::min(filled, prepared_)));
  prepared_ = 0;
}

}  // namespace gsvs::framing
