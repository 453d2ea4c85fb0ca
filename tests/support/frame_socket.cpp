#include "tests/support/frame_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "protocol/framing.h"

namespace gsvs::testing {

FrameSocket::FrameSocket(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    ::close(fd_);
    fd_ = -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

FrameSocket::~FrameSocket() {
  if (fd_ >= 0) ::close(fd_);
}

void FrameSocket::send_raw(ByteView bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the peer may have closed: the test checks what it reads next
    sent += static_cast<std::size_t>(n);
  }
}

void FrameSocket::send_frame(ByteView payload) { send_raw(framing::frame(payload)); }

bool FrameSocket::read_exact(std::uint8_t* out, std::size_t size,
                             std::chrono::steady_clock::time_point deadline) {
  std::size_t got = 0;
  while (got < size) {
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

std::optional<Bytes> FrameSocket::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<std::uint8_t, 4> header{};
  if (!read_exact(header.data(), header.size(), deadline)) return std::nullopt;
  auto size = framing::parse_header(header, 1 << 24);
  if (!size) return std::nullopt;
  Bytes payload(*size);
  if (!read_exact(payload.data(), payload.size(), deadline)) return std::nullopt;
  return payload;
}

bool FrameSocket::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    read_frame(left);
  }
  return closed_;
}

}  // namespace gsvs::testing
