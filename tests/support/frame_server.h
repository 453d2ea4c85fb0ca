// The server side of a blocking framed TCP connection, for tests that play a server (a GS) by
// hand against a real client. FrameListener listens on 127.0.0.1 on a port the kernel picks and
// hands each accepted connection over as a FrameSocket.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "tests/support/frame_socket.h"

namespace gsvs::testing {

class FrameListener {
 public:
  FrameListener();  // throws if it cannot listen
  ~FrameListener();
  FrameListener(const FrameListener&) = delete;
  FrameListener& operator=(const FrameListener&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // The next connection, or nullptr on timeout.
  std::unique_ptr<FrameSocket> accept(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace gsvs::testing
