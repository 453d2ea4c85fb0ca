#include "tests/support/frame_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace gsvs::testing {

using std::chrono::milliseconds;

namespace {

void set_no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

FrameSocket::FrameSocket(std::uint16_t port, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
    std::this_thread::sleep_for(milliseconds(20));
  }
  set_no_delay(fd_);
}

FrameSocket::FrameSocket(Accepted accepted) : fd_(accepted.fd) { set_no_delay(fd_); }

FrameSocket::~FrameSocket() { close(); }

void FrameSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FrameSocket::send_raw(ByteView bytes) {
  std::size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the peer may have closed: the test checks what it reads next
    sent += static_cast<std::size_t>(n);
  }
}

void FrameSocket::send_frame(ByteView payload) { send_raw(framing::frame(payload)); }

std::optional<Bytes> FrameSocket::read_frame(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto next = decoder_.next();
    if (!next) {
      closed_ = true;  // cannot resynchronise
      return std::nullopt;
    }
    if (*next) return std::move(**next);
    if (closed_ || fd_ < 0) return std::nullopt;
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    auto room = decoder_.prepare(4096);
    ssize_t n = ::recv(fd_, room.data(), room.size(), 0);
    decoder_.commit(n > 0 ? static_cast<std::size_t>(n) : 0);
    if (n <= 0) closed_ = true;  // and hand out whole frames that arrived before the close
  }
}

bool FrameSocket::wait_closed(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    read_frame(left);
  }
  return closed_;
}

}  // namespace gsvs::testing
