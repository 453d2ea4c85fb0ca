// libFuzzer target: framing::FrameDecoder. Input: chunk byte (reads of 1 + c bytes), limit byte
// (0: the default frame cap, else 16 * l bytes), then the stream. The frames yielded must
// re-frame to exactly the bytes consumed, and after an error the decoder keeps failing.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "protocol/framing.h"
#include "protocol/messages.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gsvs;  // NOLINT(google-build-using-namespace)
  fuzz::Input in(data, size);
  const std::size_t chunk = 1 + std::size_t{in.u8()};
  const std::uint8_t limit = in.u8();
  const std::size_t max_frame = limit == 0 ? framing::kDefaultMaxFrame : 16 * std::size_t{limit};
  const ByteView stream = in.rest();

  (void)framing::parse_header(stream.first(stream.size() < 4 ? stream.size() : 4), max_frame);

  framing::FrameDecoder decoder(max_frame);
  std::size_t fed = 0;
  std::size_t yielded = 0;  // bytes of the stream the yielded frames account for
  while (fed < stream.size()) {
    const std::size_t n = std::min(chunk, stream.size() - fed);
    decoder.feed(stream.subspan(fed, n));
    fed += n;
    for (;;) {
      auto next = decoder.next();
      if (!next) {
        // The stream cannot be resynchronised: the decoder must keep refusing.
        if (decoder.next().ok()) fuzz::fail("decoder recovered after an error");
        return 0;
      }
      if (!next->has_value()) break;
      const Bytes& payload = **next;
      if (payload.empty() || payload.size() > max_frame) fuzz::fail("frame size out of bounds");
      const Bytes framed = framing::frame(payload);
      if (yielded + framed.size() > fed) fuzz::fail("yielded more bytes than were fed");
      if (!std::equal(framed.begin(), framed.end(),
                      stream.begin() + static_cast<std::ptrdiff_t>(yielded))) {
        fuzz::fail("frame does not re-frame to the stream");
      }
      yielded += framed.size();
      (void)protocol::decode_any(payload);
    }
    if (yielded + decoder.buffered() != fed) fuzz::fail("bytes lost or duplicated");
  }
  return 0;
}
