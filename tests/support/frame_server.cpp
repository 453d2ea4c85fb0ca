#include "tests/support/frame_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "protocol/framing.h"

namespace gsvs::testing {

FrameConnection::FrameConnection(int fd) : fd_(fd) {
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

FrameConnection::~FrameConnection() { close(); }

void FrameConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FrameConnection::send_raw(ByteView bytes) {
  std::size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the peer may have closed: the test checks what happens next
    sent += static_cast<std::size_t>(n);
  }
}

void FrameConnection::send_frame(ByteView payload) { send_raw(framing::frame(payload)); }

bool FrameConnection::read_exact(std::uint8_t* out, std::size_t size,
                                 std::chrono::steady_clock::time_point deadline) {
  std::size_t got = 0;
  while (got < size) {
    if (fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    ssize_t n = ::recv(fd_, out + got, size - got, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<Bytes> FrameConnection::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<std::uint8_t, 4> header{};
  if (!read_exact(header.data(), header.size(), deadline)) return std::nullopt;
  auto size = framing::parse_header(header, 1 << 24);
  if (!size) return std::nullopt;
  Bytes payload(*size);
  // Once a header is in, the rest of the frame is read whatever the caller's timeout, or the
  // stream would lose its framing.
  const auto payload_deadline =
      std::max(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(2));
  if (!read_exact(payload.data(), payload.size(), payload_deadline)) return std::nullopt;
  return payload;
}

bool FrameConnection::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && std::chrono::steady_clock::now() < deadline) {
    read_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
  }
  return closed_;
}

FrameListener::FrameListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 64) != 0) {
    ::close(fd_);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

FrameListener::~FrameListener() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<FrameConnection> FrameListener::accept(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return nullptr;
  int fd = ::accept(fd_, nullptr, nullptr);
  if (fd < 0) return nullptr;
  return std::make_unique<FrameConnection>(fd);
}

}  // namespace gsvs::testing
