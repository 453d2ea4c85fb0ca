// A TCP connection that carries protocol frames, for Boost.Asio C++20 coroutines. Every daemon
// and the client use it, so framing, timeouts and write queuing live in one place.
//
// Threading: all calls must come from the socket's executor (a strand per connection when the
// io_context runs on several threads). Writes are queued, one in flight at a time.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/asio.h"
#include "net/escape.h"
#include "protocol/bytes.h"
#include "protocol/framing.h"
#include "protocol/result.h"

namespace gsvs::net {

struct ConnectionLimits {
  std::size_t max_frame_bytes = 16 * 1024;
  // A peer that lets this much queue up unread is too slow to serve; it is disconnected.
  std::size_t max_queued_bytes = 1024 * 1024;
};

class FramedConnection : public std::enable_shared_from_this<FramedConnection> {
 public:
  FramedConnection(tcp::socket socket, ConnectionLimits limits);
  ~FramedConnection();
  FramedConnection(const FramedConnection&) = delete;
  FramedConnection& operator=(const FramedConnection&) = delete;

  // Starts the writer. Call once, after construction, on the connection's executor. `on_fault`
  // stops the program where an exception ends the writer (net/escape.h).
  void start(Failure on_fault);

  // One frame's payload, or why none came: "closed by peer", "timed out after N ms",
  // a framing error. After an error the connection is unusable.
  asio::awaitable<Result<Bytes>> read_frame(std::chrono::milliseconds timeout);

  // Queues a payload to send framed. Ignored once closing. Closes the connection when the
  // queue would exceed max_queued_bytes.
  void send(ByteView payload);
  // Sends everything queued, then closes. Later sends are dropped.
  void close_after_flush();
  // Closes now; pending reads and writes end with an error.
  void close();

  [[nodiscard]] bool is_open() const { return open_; }
  [[nodiscard]] const std::string& peer() const { return peer_; }
  [[nodiscard]] asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  asio::awaitable<void> write_loop();
  // The read timeout. One timer per connection, armed at most once per timeout period rather
  // than once per read: a read records when it must end, and the timer, when it fires, either
  // cancels the overdue read or sleeps until the pending read's deadline.
  void watch_read_deadline(std::chrono::steady_clock::time_point deadline);
  void on_read_deadline();

  // Small enough that thousands of idle connections cost little; a frame whose header says it
  // is larger is read whole in one go.
  static constexpr std::size_t kReadChunkBytes = 2048;
  // Bounds one gathered write (IOV_MAX is 1024 on Linux).
  static constexpr std::size_t kMaxFramesPerWrite = 256;

  tcp::socket socket_;
  ConnectionLimits limits_;
  std::string peer_;
  framing::FrameDecoder decoder_;
  asio::steady_timer write_signal_;
  asio::steady_timer read_timer_;
  std::optional<std::chrono::steady_clock::time_point> read_deadline_;  // set while a read waits
  bool read_timer_waiting_ = false;
  bool read_timed_out_ = false;
  std::deque<Bytes> queue_;
  std::size_t queued_bytes_ = 0;
  bool open_ = true;
  bool closing_ = false;
};

// Connects with a timeout; the error names the address.
asio::awaitable<Result<tcp::socket>> connect(asio::any_io_executor executor,
                                             const std::string& host, std::uint16_t port,
                                             std::chrono::milliseconds timeout);

// Splits "HOST:PORT" (IPv6 as "[::1]:PORT"); the error names what is wrong.
Result<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& text);

}  // namespace gsvs::net
