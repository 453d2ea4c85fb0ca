#include "protocol/framing.h"

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
  // Compact once the consumed prefix dominates, so a long-lived stream does not grow forever.
  if (consumed_ > 4096 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  return std::optional<Bytes>{std::move(out)};
}

}  // namespace gsvs::framing
