#include "app/hangup.h"

#include <spdlog/spdlog.h>

#include <csignal>

namespace gsvs::app {

void ignore_hangups_until_handled() { std::signal(SIGHUP, SIG_IGN); }

HangupIgnorer::HangupIgnorer(net::asio::io_context& io) : signals_(io, SIGHUP) { wait(); }

void HangupIgnorer::cancel() {
  boost::system::error_code ignored;
  signals_.cancel(ignored);
}

void HangupIgnorer::wait() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;  // cancelled: the daemon is stopping
    spdlog::warn(
        "SIGHUP received: reloading the configuration is not supported yet; the signal is "
        "ignored and the daemon keeps running (restart it to apply a new configuration)");
    wait();
  });
}

void run_until_stopped(net::asio::io_context& io, const std::function<void()>& stop) {
  HangupIgnorer hangups(io);
  net::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) {
      spdlog::info("signal {} received", signal);
      hangups.cancel();
      stop();
    }
  });
  io.run();
}

}  // namespace gsvs::app
