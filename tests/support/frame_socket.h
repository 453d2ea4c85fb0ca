// A blocking framed TCP stream for tests that play one side of the protocol by hand: a client
// connected to a daemon, or (through FrameListener, tests/support/frame_server.h) the server a
// real client connected to. Reads go through a FrameDecoder, so a read that times out keeps the
// bytes of a partly received frame for the next one and reading in short slices is safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "protocol/bytes.h"
#include "protocol/framing.h"

namespace gsvs::testing {

class FrameSocket {
 public:
  // Connects to 127.0.0.1:port, retrying until it accepts or the timeout passes; throws on
  // failure.
  explicit FrameSocket(std::uint16_t port,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Takes over a connected descriptor (one FrameListener accepted).
  struct Accepted {
    int fd;
  };
  explicit FrameSocket(Accepted accepted);
  ~FrameSocket();
  FrameSocket(const FrameSocket&) = delete;
  FrameSocket& operator=(const FrameSocket&) = delete;

  void send_frame(ByteView payload);
  void send_raw(ByteView bytes);
  // nullopt on timeout, when the peer closed the connection (then closed() is true), or on a
  // framing error (which also counts as closed: the stream cannot be resynchronised).
  std::optional<Bytes> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the peer closed the connection within the timeout (frames before are skipped).
  bool wait_closed(std::chrono::milliseconds timeout);
  [[nodiscard]] bool closed() const { return closed_; }
  // Closes our end now.
  void close();

 private:
  int fd_ = -1;
  bool closed_ = false;
  framing::FrameDecoder decoder_{1 << 24};
};

}  // namespace gsvs::testing
