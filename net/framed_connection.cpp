#include "net/framed_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <optional>

#include "protocol/framing.h"

namespace gsvs::net {

namespace {

std::string endpoint_text(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown peer";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// Cancels the socket's pending operations when the deadline passes; the owner cancels the timer
// when the operation finishes first.
class Deadline {
 public:
  Deadline(tcp::socket& socket, std::chrono::milliseconds timeout) : timer_(socket.get_executor()) {
    timer_.expires_after(timeout);
    timer_.async_wait([&socket, expired = expired_](const boost::system::error_code& ec) {
      if (!ec) {
        *expired = true;
        boost::system::error_code ignored;
        socket.cancel(ignored);
      }
    });
  }
  ~Deadline() {
    try {
      timer_.cancel();
    } catch (const boost::system::system_error&) {
      // Cancelling fails only when the timer is already unusable; a destructor must not throw.
    }
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  [[nodiscard]] bool expired() const { return *expired_; }

 private:
  std::shared_ptr<bool> expired_ = std::make_shared<bool>(false);
  asio::steady_timer timer_;
};

}  // namespace

FramedConnection::FramedConnection(tcp::socket socket, ConnectionLimits limits)
    : socket_(std::move(socket)),
      limits_(limits),
      peer_(endpoint_text(socket_)),
      decoder_(limits.max_frame_bytes),
      write_signal_(socket_.get_executor()),
      read_timer_(socket_.get_executor()) {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
}

FramedConnection::~FramedConnection() = default;

void FramedConnection::start(Failure on_fault) {
  write_signal_.expires_at(std::chrono::steady_clock::time_point::max());
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->write_loop(); },
      EscapeHandler("the writer of the connection with " + peer(), std::move(on_fault)));
}

asio::awaitable<Result<Bytes>> FramedConnection::read_frame(std::chrono::milliseconds timeout) {
  // Frames already buffered by an earlier read are handed out without a system call or a timer:
  // a busy peer's frames arrive many to a read.
  while (open_) {
    auto frame = decoder_.next();
    if (!frame) {
      close();
      co_return Error{frame.error()};
    }
    if (*frame) {
      read_deadline_.reset();
      co_return std::move(**frame);
    }
    if (!read_deadline_) watch_read_deadline(std::chrono::steady_clock::now() + timeout);
    boost::system::error_code ec;
    auto room = decoder_.prepare(kReadChunkBytes);
    const std::size_t got = co_await socket_.async_read_some(
        asio::buffer(room.data(), room.size()), asio::redirect_error(asio::use_awaitable, ec));
    decoder_.commit(got);
    if (ec) {
      read_deadline_.reset();
      close();
      if (read_timed_out_) {
        co_return Error{"timed out after " + std::to_string(timeout.count()) + " ms"};
      }
      if (ec == asio::error::eof || ec == asio::error::connection_reset) {
        co_return Error{"closed by peer"};
      }
      co_return Error{ec.message()};
    }
  }
  co_return Error{"connection closed"};
}

void FramedConnection::watch_read_deadline(std::chrono::steady_clock::time_point deadline) {
  read_deadline_ = deadline;
  // A wait that ends no later than this deadline re-checks then and sleeps on if need be.
  if (read_timer_waiting_ && read_timer_.expiry() <= deadline) return;
  read_timer_.expires_at(deadline);  // a superseded wait ends with operation_aborted
  read_timer_waiting_ = true;
  read_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec != asio::error::operation_aborted) self->on_read_deadline();
  });
}

void FramedConnection::on_read_deadline() {
  read_timer_waiting_ = false;
  if (!open_ || !read_deadline_) return;
  if (std::chrono::steady_clock::now() < *read_deadline_) {
    watch_read_deadline(*read_deadline_);
    return;
  }
  read_timed_out_ = true;
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

void FramedConnection::send(ByteView payload) {
  if (!open_ || closing_) return;
  Bytes framed = framing::frame(payload);
  if (queued_bytes_ + framed.size() > limits_.max_queued_bytes) {
    close();
    return;
  }
  queued_bytes_ += framed.size();
  queue_.push_back(std::move(framed));
  write_signal_.cancel_one();
}

void FramedConnection::close_after_flush() {
  closing_ = true;
  write_signal_.cancel_one();
}

void FramedConnection::close() {
  if (!open_) return;
  open_ = false;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  write_signal_.cancel();
  read_timer_.cancel();
}

asio::awaitable<void> FramedConnection::write_loop() {
  std::vector<Bytes> writing;
  std::vector<asio::const_buffer> buffers;
  while (open_) {
    if (queue_.empty()) {
      if (closing_) {
        close();
        break;
      }
      boost::system::error_code ec;
      co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Everything queued goes out in one gathered write: under load, one system call carries
    // many frames.
    writing.clear();
    buffers.clear();
    std::size_t bytes = 0;
    while (!queue_.empty() && buffers.size() < kMaxFramesPerWrite) {
      bytes += queue_.front().size();
      writing.push_back(std::move(queue_.front()));
      queue_.pop_front();
      buffers.emplace_back(asio::buffer(writing.back()));
    }
    boost::system::error_code ec;
    co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    queued_bytes_ -= bytes;
    if (ec) {
      // Stop writing but keep the receive side: frames the peer sent before it went away (a
      // revocation notice, say) are still there for the reader, which ends the connection.
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      closing_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      break;
    }
  }
}

asio::awaitable<Result<tcp::socket>> connect(asio::any_io_executor executor,
                                             const std::string& host, std::uint16_t port,
                                             std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  const std::string where = host + ":" + std::to_string(port);
  if (ec) co_return Error{"cannot resolve " + where + ": " + ec.message()};
  tcp::socket socket(executor);
  {
    Deadline deadline(socket, timeout);
    co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec && deadline.expired()) {
      co_return Error{"cannot connect to " + where + ": timed out after " +
                      std::to_string(timeout.count()) + " ms"};
    }
  }
  if (ec) co_return Error{"cannot connect to " + where + ": " + ec.message()};
  co_return std::move(socket);
}

Result<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Error{"'" + text + "' is not HOST:PORT"};
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, err] = std::from_chars(first, last, port);
  if (err != std::errc{} || end != last || port == 0 || port > 65535) {
    return Error{"'" + text + "': port must be a number from 1 to 65535"};
  }
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

}  // namespace gsvs::net
