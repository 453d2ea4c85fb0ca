// A blocking framed TCP client for tests that play one side of the protocol by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "protocol/bytes.h"

namespace gsvs::testing {

class FrameSocket {
 public:
  // Retries until the port accepts or the timeout passes; throws on failure.
  FrameSocket(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~FrameSocket();
  FrameSocket(const FrameSocket&) = delete;
  FrameSocket& operator=(const FrameSocket&) = delete;

  void send_frame(ByteView payload);
  void send_raw(ByteView bytes);
  // nullopt on timeout or when the peer closed the connection.
  std::optional<Bytes> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the peer closed the connection within the timeout (frames before are skipped).
  bool wait_closed(std::chrono::milliseconds timeout);

 private:
  bool read_exact(std::uint8_t* out, std::size_t size, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  bool closed_ = false;
};

}  // namespace gsvs::testing
