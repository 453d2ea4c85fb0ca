#include "app/service_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <string>
#include <system_error>

#include "app/log_line.h"

namespace gsvs::app {

namespace {

void send_to_service_manager(std::string_view state) {
  const std::string message(state);
  const int sent = sd_notify(0, message.c_str());
  if (sent < 0) {
    // The service manager then restarts or times out the daemon; the cause belongs in its log.
    spdlog::warn("cannot notify the service manager (NOTIFY_SOCKET): {}",
                 std::error_code(-sent, std::generic_category()).message());
  }
}

}  // namespace

// The watchdog's timer and whether the daemon stopped. cancel() alone is not enough: a wait that
// expired just before stopping() has its handler queued with success, and would arm again.
struct ServiceNotifier::Watchdog {
  explicit Watchdog(net::asio::io_context& io) : timer(io) {}
  net::asio::steady_timer timer;
  bool stopped = false;
};

namespace {

// WATCHDOG=1 now and every `period`. The wait owns the watchdog: the loop ends when it is
// stopped or the io_context goes away.
void feed_watchdog(const std::shared_ptr<ServiceNotifier::Watchdog>& watchdog,
                   std::chrono::microseconds period) {
  send_to_service_manager("WATCHDOG=1");
  watchdog->timer.expires_after(period);
  watchdog->timer.async_wait([watchdog, period](const boost::system::error_code& ec) {
    if (!ec && !watchdog->stopped) feed_watchdog(watchdog, period);
  });
}

}  // namespace

ServiceNotifier::ServiceNotifier() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read at start, before the daemon starts a thread
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  if (!enabled_) return;
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is this process).
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_period_ = std::chrono::microseconds(usec / 2);
  }
}

ServiceNotifier::~ServiceNotifier() {
  if (ready_sent_ && !stopping_sent_) notify("STOPPING=1");
}

void ServiceNotifier::status(std::string_view text) {
  if (!enabled_) return;
  // One assignment per line: log_text keeps the text on its line.
  notify("STATUS=" + log_text(text));
}

void ServiceNotifier::ready(net::asio::io_context& io, std::string_view text) {
  if (!enabled_) return;
  notify("READY=1\nSTATUS=" + log_text(text));
  ready_sent_ = true;
  if (watchdog_period_) {
    auto watchdog = std::make_shared<Watchdog>(io);
    watchdog_ = watchdog;
    feed_watchdog(watchdog, *watchdog_period_);
  }
}

void ServiceNotifier::stopping(std::string_view text) {
  if (!enabled_ || stopping_sent_) return;
  notify("STOPPING=1\nSTATUS=" + log_text(text));
  stopping_sent_ = true;
  if (auto watchdog = watchdog_.lock()) {
    watchdog->stopped = true;
    watchdog->timer.cancel();
  }
}

void ServiceNotifier::notify(std::string_view state) const {
  if (enabled_) send_to_service_manager(state);
}

}  // namespace gsvs::app
