// The server side of a blocking framed TCP connection, for tests that play a server (a GS) by
// hand against a real client. FrameListener listens on 127.0.0.1 on a port the kernel picks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "protocol/bytes.h"

namespace gsvs::testing {

// One accepted connection. Same reading rules as FrameSocket.
class FrameConnection {
 public:
  explicit FrameConnection(int fd);
  ~FrameConnection();
  FrameConnection(const FrameConnection&) = delete;
  FrameConnection& operator=(const FrameConnection&) = delete;

  void send_frame(ByteView payload);
  void send_raw(ByteView bytes);
  // nullopt on timeout or when the peer closed the connection (then closed() is true).
  std::optional<Bytes> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the peer closed the connection within the timeout (frames before are skipped).
  bool wait_closed(std::chrono::milliseconds timeout);
  [[nodiscard]] bool closed() const { return closed_; }
  // Closes our end now.
  void close();

 private:
  bool read_exact(std::uint8_t* out, std::size_t size,
                  std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  bool closed_ = false;
};

class FrameListener {
 public:
  FrameListener();  // throws if it cannot listen
  ~FrameListener();
  FrameListener(const FrameListener&) = delete;
  FrameListener& operator=(const FrameListener&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // The next connection, or nullptr on timeout.
  std::unique_ptr<FrameConnection> accept(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace gsvs::testing
