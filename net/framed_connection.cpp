#include "net/framed_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

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
  ~Deadline() { timer_.cancel(); }
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
      write_signal_(socket_.get_executor()) {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
}

FramedConnection::~FramedConnection() = default;

void FramedConnection::start() {
  write_signal_.expires_at(std::chrono::steady_clock::time_point::max());
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->write_loop(); },
      asio::detached);
}

asio::awaitable<Result<Bytes>> FramedConnection::read_frame(std::chrono::milliseconds timeout) {
  if (!open_) co_return Error{"connection closed"};
  Deadline deadline(socket_, timeout);
  boost::system::error_code ec;
  std::array<std::uint8_t, framing::kHeaderBytes> header{};
  co_await asio::async_read(socket_, asio::buffer(header),
                            asio::redirect_error(asio::use_awaitable, ec));
  Bytes payload;
  if (!ec) {
    auto size = framing::parse_header(header, limits_.max_frame_bytes);
    if (!size) {
      close();
      co_return Error{size.error()};
    }
    payload.resize(*size);
    co_await asio::async_read(socket_, asio::buffer(payload),
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    const bool timed_out = deadline.expired();
    close();
    if (timed_out) co_return Error{"timed out after " + std::to_string(timeout.count()) + " ms"};
    if (ec == asio::error::eof || ec == asio::error::connection_reset) {
      co_return Error{"closed by peer"};
    }
    co_return Error{ec.message()};
  }
  co_return payload;
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
}

asio::awaitable<void> FramedConnection::write_loop() {
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
    boost::system::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(queue_.front()),
                               asio::redirect_error(asio::use_awaitable, ec));
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
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
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
