// The systemd readiness protocol (sd_notify(3)), for vsd and gsd run as Type=notify services.
// Under systemd (NOTIFY_SOCKET set) a daemon says READY=1 once its store is open and its port
// bound, STATUS= lines along the way, STOPPING=1 when it begins to stop, and WATCHDOG=1 at half
// of WATCHDOG_USEC from its event loop, so a loop that hangs gets the daemon restarted. Without
// NOTIFY_SOCKET every call does nothing.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "net/asio.h"

namespace gsvs::app {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC (with WATCHDOG_PID, when set, naming this process).
  ServiceNotifier();
  // Sends STOPPING=1 if READY=1 was sent and stopping() was not: a daemon that ends by itself
  // (a failed store) tells the service manager too.
  ~ServiceNotifier();
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // STATUS=text: what the daemon does now (`systemctl status` shows it).
  void status(std::string_view text);
  // READY=1 with STATUS=text, then WATCHDOG=1 every half watchdog period from a timer on `io`,
  // the event loop that must stay responsive. The timer lives in its own pending wait, so `io`
  // may end before or after this object.
  void ready(net::asio::io_context& io, std::string_view text);
  // STOPPING=1 with STATUS=text; the watchdog stops, so nothing of this object keeps `io` busy.
  // Called from the thread that runs `io`.
  void stopping(std::string_view text);

  // The watchdog's feeding period: half of WATCHDOG_USEC; nullopt when systemd set no watchdog.
  [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_period() const {
    return watchdog_period_;
  }

  struct Watchdog;  // public only for the feeding loop in the .cpp

 private:
  void notify(std::string_view state) const;

  bool enabled_ = false;
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
  std::optional<std::chrono::microseconds> watchdog_period_;
  std::weak_ptr<Watchdog> watchdog_;
};

}  // namespace gsvs::app
