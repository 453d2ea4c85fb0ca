#include "net/accept_backoff.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

namespace gsvs::net {

AcceptBackoff::AcceptBackoff(const asio::any_io_executor& executor, std::string listener)
    : timer_(executor), listener_(std::move(listener)) {}

bool AcceptBackoff::is_shortage(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  switch (ec.value()) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds AcceptBackoff::delay_after(std::uint32_t failures) {
  auto delay = kFirstDelay;
  for (std::uint32_t i = 1; i < failures && delay < kMaxDelay; ++i) delay *= 2;
  return std::min(delay, kMaxDelay);
}

asio::awaitable<bool> AcceptBackoff::after_failure(const boost::system::error_code& ec) {
  if (!is_shortage(ec)) co_return false;
  if (failures_++ == 0) {
    spdlog::error("{}: cannot accept connections: {}; retrying every {} to {} ms until some close",
                  listener_, ec.message(), kFirstDelay.count(), kMaxDelay.count());
  }
  timer_.expires_after(delay_after(failures_));
  boost::system::error_code ignored;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_return true;
}

void AcceptBackoff::after_success() {
  if (failures_ == 0) return;
  spdlog::info("{}: accepting connections again after {} attempts failed", listener_, failures_);
  failures_ = 0;
}

}  // namespace gsvs::net
