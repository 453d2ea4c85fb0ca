// SIGHUP conventionally asks a daemon to reload its configuration; without a handler the signal
// would kill the daemon (exit 129: no log line, no final checkpoint, no flushed store). vsd and
// gsd hold a HangupIgnorer while they run: vsd gives it its reload (PROTOCOL.md §8.17), gsd
// nothing, so a SIGHUP there is logged and ignored. DaemonSignals is the signal handling both
// daemons run under.
#pragma once

#include <boost/asio/signal_set.hpp>
#include <functional>

#include "net/asio.h"

namespace gsvs::app {

// Ignores SIGHUP from the start of the program until a HangupIgnorer takes the signal over, so a
// SIGHUP during start-up (while the store is opened and verified) does not kill the daemon either.
void ignore_hangups_until_handled();

class HangupIgnorer {
 public:
  // Each SIGHUP calls `on_hangup` on `io`; with none, it is logged and ignored.
  explicit HangupIgnorer(net::asio::io_context& io, std::function<void()> on_hangup = {});
  // Stops waiting for SIGHUP, so that io_context::run can return once the daemon has stopped.
  void cancel();

 private:
  void wait();
  net::asio::signal_set signals_;
  std::function<void()> on_hangup_;
};

// SIGINT and SIGTERM stop the daemon cleanly, and SIGHUP calls `on_hangup` or is ignored
// (HangupIgnorer), from the moment this is constructed. A daemon takes it before it starts, so that
// a stop sent as soon as it says "listening on" (a supervisor's, a test's) is held until
// run_until_stopped() and then ends it cleanly, rather than killing it by the signal's default
// action (exit 143).
class DaemonSignals {
 public:
  explicit DaemonSignals(net::asio::io_context& io, std::function<void()> on_hangup = {});
  // Runs `io` until it stops. The first SIGINT or SIGTERM, also one held since construction, is
  // logged and calls `stop`, which ends the daemon's work so that run() returns (or stops `io`).
  void run_until_stopped(const std::function<void()>& stop);

 private:
  net::asio::io_context& io_;
  HangupIgnorer hangups_;
  net::asio::signal_set stops_;
};

}  // namespace gsvs::app
