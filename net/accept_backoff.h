// What an accept loop does when accept() fails for want of descriptors or memory (EMFILE,
// ENFILE, ENOBUFS, ENOMEM). The connection stays queued and the shortage lasts until other
// connections close, so retrying at once spins a core and writes a log line per attempt; the
// loop waits instead, 100 ms doubling to 1 s, and logs the start and the end of the shortage.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "net/asio.h"

namespace gsvs::net {

class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirstDelay{100};
  static constexpr std::chrono::milliseconds kMaxDelay{1000};

  // `listener` names the socket in the log lines ("GS listener", "admin socket PATH").
  AcceptBackoff(const asio::any_io_executor& executor, std::string listener);

  // True for the errors that mean a shortage of descriptors or memory.
  static bool is_shortage(const boost::system::error_code& ec);
  // The wait after the `failures`-th shortage in a row (from 1).
  static std::chrono::milliseconds delay_after(std::uint32_t failures);

  // After a failed accept. For a shortage: logs it if it is the first of an episode, waits, and
  // returns true. For any other error: returns false at once, and the caller deals with it.
  asio::awaitable<bool> after_failure(const boost::system::error_code& ec);
  // After a successful accept: logs the end of a shortage, if there was one.
  void after_success();

 private:
  asio::steady_timer timer_;
  std::string listener_;
  std::uint32_t failures_ = 0;  // shortages in a row
};

}  // namespace gsvs::net
