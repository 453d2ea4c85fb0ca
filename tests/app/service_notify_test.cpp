// The systemd readiness protocol: ServiceNotifier alone, then the real vsd and gsd started with
// NOTIFY_SOCKET pointing at a socket this test owns, as systemd starts a Type=notify service.
// They say READY=1 only once their port accepts connections, feed the watchdog, and say
// STOPPING=1 when stopped; with log_format = "json" every line they write is a JSON object.
#include "app/service_notify.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/keyfile.h"
#include "tests/support/gsd_fixture.h"
#include "tests/support/process.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The service manager's end: a Unix datagram socket that collects what the daemon notifies.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd_ < 0 || path_.size() >= sizeof address.sun_path) {
      throw std::runtime_error("notify socket " + path_);
    }
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot bind " + path_ + ": " + std::strerror(errno));
    }
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

  // The next datagram; nullopt when none arrives in time.
  std::optional<std::string> receive(milliseconds timeout) {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buffer[4096];
    const ssize_t length = ::recv(fd_, buffer, sizeof buffer, 0);
    if (length < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(length));
  }

  // Receives until a datagram has `line` as one of its lines; that datagram, or nullopt on
  // timeout. Every datagram received on the way, that one included, is appended to `seen`.
  std::optional<std::string> wait_for_line(const std::string& line, milliseconds timeout,
                                           std::vector<std::string>& seen) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto datagram = receive(
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!datagram) return std::nullopt;
      seen.push_back(*datagram);
      if (has_line(*datagram, line)) return datagram;
    }
    return std::nullopt;
  }

  static bool has_line(const std::string& datagram, const std::string& line) {
    std::istringstream lines(datagram);
    for (std::string each; std::getline(lines, each);) {
      if (each == line) return true;
    }
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// Sets an environment variable for the life of the object (a child forked meanwhile inherits it).
class ScopedEnvironment {
 public:
  ScopedEnvironment(std::string name, const std::string& value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment() { ::unsetenv(name_.c_str()); }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  std::string name_;
};

// One connect to 127.0.0.1:port, without retrying: true when the port accepts it now.
bool accepts_now(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected =
      ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

// Every line of a daemon's output parsed as a JSON event; fails the test on a line that is not.
std::vector<nlohmann::json> json_events(const std::string& output, const std::string& program) {
  std::vector<nlohmann::json> events;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(event.is_object()) << "not a JSON object: " << line;
    if (!event.is_object()) continue;
    EXPECT_EQ(event.value("program", ""), program) << line;
    for (const char* field : {"time", "level", "message"}) {
      EXPECT_TRUE(event.contains(field) && event[field].is_string()) << field << ": " << line;
    }
    events.push_back(std::move(event));
  }
  return events;
}

bool has_event(const std::vector<nlohmann::json>& events, const std::string& message_part) {
  for (const auto& event : events) {
    if (event.value("message", "").find(message_part) != std::string::npos) return true;
  }
  return false;
}

TEST(ServiceNotifier, WithoutNotifySocketSendsNothingAndSetsNoWatchdog) {
  ::unsetenv("NOTIFY_SOCKET");
  ScopedEnvironment watchdog("WATCHDOG_USEC", "100000");
  app::ServiceNotifier notifier;
  net::asio::io_context io(1);
  notifier.ready(io, "listening");
  EXPECT_FALSE(notifier.watchdog_period().has_value());
  EXPECT_EQ(io.run(), 0U);  // no watchdog timer to run
}

TEST(ServiceNotifier, SaysStatusReadyFeedsTheWatchdogAndSaysStopping) {
  TempDir dir;
  NotifySocket manager(dir.file("notify"));
  ScopedEnvironment socket("NOTIFY_SOCKET", manager.path());
  ScopedEnvironment watchdog("WATCHDOG_USEC", "40000");
  app::ServiceNotifier notifier;
  ASSERT_EQ(notifier.watchdog_period(), std::chrono::microseconds(20000));

  notifier.status("opening the store\nforged=1");
  EXPECT_EQ(manager.receive(seconds(5)), "STATUS=opening the store\\nforged=1");
  net::asio::io_context io(1);
  notifier.ready(io, "listening on 127.0.0.1:7700");
  EXPECT_EQ(manager.receive(seconds(5)), "READY=1\nSTATUS=listening on 127.0.0.1:7700");
  // The watchdog is fed from `io`: two periods' worth, then a stop ends the loop.
  int fed = 0;
  net::asio::steady_timer stop_after(io, milliseconds(100));
  stop_after.async_wait([&](const boost::system::error_code&) { notifier.stopping("stopping"); });
  io.run();  // returns: stopping() cancelled the watchdog's timer
  for (auto datagram = manager.receive(milliseconds(0)); datagram;
       datagram = manager.receive(milliseconds(0))) {
    if (*datagram == "WATCHDOG=1") {
      ++fed;
    } else {
      EXPECT_EQ(*datagram, "STOPPING=1\nSTATUS=stopping");
      EXPECT_GE(fed, 2);
      return;
    }
  }
  ADD_FAILURE() << "no STOPPING=1 after " << fed << " WATCHDOG=1";
}

// What a daemon sends systemd from its start to its stop, and its JSON log lines.
struct ServiceRun {
  bool ready_when_port_accepts = false;
  std::vector<std::string> before_ready;
  int watchdog_feeds = 0;
  bool stopping = false;
  int exit_code = -1;
};

// Waits for READY=1 from a daemon started with NOTIFY_SOCKET = manager, checks at once that
// `port` accepts, then waits for two WATCHDOG=1.
ServiceRun await_ready(NotifySocket& manager, std::uint16_t port) {
  ServiceRun run;
  auto ready = manager.wait_for_line("READY=1", seconds(30), run.before_ready);
  if (!ready) return run;
  run.before_ready.pop_back();
  run.ready_when_port_accepts = accepts_now(port);
  std::vector<std::string> after_ready;
  while (run.watchdog_feeds < 2 && manager.wait_for_line("WATCHDOG=1", seconds(10), after_ready)) {
    ++run.watchdog_feeds;
  }
  return run;
}

// Stops the daemon (SIGTERM, as systemctl stop) and waits for its STOPPING=1.
void stop(NotifySocket& manager, ChildProcess& process, ServiceRun& run) {
  run.exit_code = process.stop();
  std::vector<std::string> seen;
  run.stopping = manager.wait_for_line("STOPPING=1", seconds(10), seen).has_value();
}

void expect_the_protocol_followed(const ServiceRun& run, const std::string& output) {
  EXPECT_TRUE(run.ready_when_port_accepts) << output;
  ASSERT_FALSE(run.before_ready.empty()) << output;
  EXPECT_TRUE(run.before_ready.front().starts_with("STATUS=opening and verifying the store"))
      << run.before_ready.front();
  EXPECT_EQ(run.watchdog_feeds, 2) << output;
  EXPECT_TRUE(run.stopping) << output;
  EXPECT_EQ(run.exit_code, 0) << output;
}

TEST(DaemonReadiness, VsdIsReadyOnceItsPortAcceptsFeedsTheWatchdogAndSaysStopping) {
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  const Hash32 build = sha256_of_file(program("gsd"));
  VsOptions options;
  // revoke_on_stop: the stop revokes the session below, which gives the line with a session, a
  // reason and evidence.
  options.extra = "log_format = \"json\"\nrevoke_on_stop = true\n";
  VsProcess first_run(dir, {identity.public_key()}, {build}, options);
  ASSERT_EQ(first_run.stop(), 0);

  // The same configuration and store, started as systemd starts a Type=notify service.
  NotifySocket manager(dir.file("notify"));
  std::unique_ptr<ChildProcess> vsd;
  {
    ScopedEnvironment socket("NOTIFY_SOCKET", manager.path());
    ScopedEnvironment watchdog("WATCHDOG_USEC", "200000");
    vsd = std::make_unique<ChildProcess>(
        std::vector<std::string>{program("vsd"), "run", "--config", first_run.config_path()},
        dir.file("vsd-notify.out"));
  }
  ServiceRun run = await_ready(manager, first_run.port());
  // A session, so that the stop revokes it: the line with a session, a reason and evidence.
  ScriptedGs gs(first_run.port(), identity, build);
  gs.join();
  stop(manager, *vsd, run);
  const std::string output = vsd->output();
  expect_the_protocol_followed(run, output);

  const auto events = json_events(output, "vsd");
  EXPECT_TRUE(has_event(events, "listening on")) << output;
  EXPECT_TRUE(has_event(events, "stopped: store flushed")) << output;
  bool revocation_seen = false;
  for (const auto& event : events) {
    if (event.value("reason", "") != "vs_shutdown") continue;
    revocation_seen = true;
    EXPECT_EQ(event.value("session", std::uint64_t{0}), gs.session_id()) << event;
    EXPECT_EQ(event.value("level", ""), "warning") << event;
    ASSERT_TRUE(event.contains("evidence") && event["evidence"].is_array()) << event;
    EXPECT_FALSE(event["evidence"].empty()) << event;
  }
  EXPECT_TRUE(revocation_seen) << output;
}

TEST(DaemonReadiness, GsdIsReadyOnceItsClientPortAcceptsFeedsTheWatchdogAndSaysStopping) {
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  ASSERT_TRUE(keyfile::write_key_pair(dir.file("gs.key"), identity).ok());
  VsProcess vs(dir, {identity.public_key()}, {sha256_of_file(program("gsd"))});
  NotifySocket manager(dir.file("notify"));
  GsdOptions options;
  options.extra = "log_format = \"json\"\n";
  options.wait_until_listening = false;
  std::unique_ptr<GsdProcess> gsd;
  {
    ScopedEnvironment socket("NOTIFY_SOCKET", manager.path());
    ScopedEnvironment watchdog("WATCHDOG_USEC", "200000");
    gsd = std::make_unique<GsdProcess>(dir, vs, dir.file("gs.key"), options);
  }
  ServiceRun run = await_ready(manager, gsd->port());
  stop(manager, gsd->process(), run);
  const std::string output = gsd->process().output();
  expect_the_protocol_followed(run, output);

  const auto events = json_events(output, "gsd");
  EXPECT_TRUE(has_event(events, "client port")) << output;
  EXPECT_TRUE(has_event(events, "stopped: store flushed")) << output;
}

}  // namespace
}  // namespace gsvs::testing
