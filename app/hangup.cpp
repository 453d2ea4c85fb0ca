#include "app/hangup.h"

#include <spdlog/spdlog.h>

#include <csignal>

namespace gsvs::app {

void ignore_hangups_until_handled() { std::signal(SIGHUP, SIG_IGN); }

HangupIgnorer::HangupIgnorer(net::asio::io_context& io, std::function<void()> on_hangup)
    : signals_(io, SIGHUP), on_hangup_(std::move(on_hangup)) {
  wait();
}

void HangupIgnorer::cancel() {
  boost::system::error_code ignored;
  signals_.cancel(ignored);
}

void HangupIgnorer::wait() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;  // cancelled: the daemon is stopping
    if (on_hangup_) {
      on_hangup_();
      wait();
      return;
    }
    spdlog::warn(
        "SIGHUP received: reloading the configuration is not supported yet; the signal is "
        "ignored and the daemon keeps running (restart it to apply a new configuration)");
    wait();
  });
}

// Asio installs its handler for both signals here; one that arrives before async_wait is queued
// and delivered to the next wait.
DaemonSignals::DaemonSignals(net::asio::io_context& io, std::function<void()> on_hangup)
    : io_(io), hangups_(io, std::move(on_hangup)), stops_(io, SIGINT, SIGTERM) {}

void DaemonSignals::run_until_stopped(const std::function<void()>& stop) {
  stops_.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) {
      spdlog::info("signal {} received", signal);
      hangups_.cancel();
      stop();
    }
  });
  io_.run();
}

}  // namespace gsvs::app
