#include "vsd/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "app/log_line.h"
#include "protocol/clock.h"
#include "rules/version.h"
#include "vsd/server_state.h"
#include "vsd/session_loop.h"

namespace gsvs::vsd {

namespace asio = net::asio;

struct Server::SessionLoops {
  explicit SessionLoops(unsigned count) {
    for (unsigned i = 0; i < count; ++i) loops.push_back(std::make_unique<SessionLoop>());
  }
  [[nodiscard]] std::vector<SessionLoop*> pointers() const {
    std::vector<SessionLoop*> out;
    for (const auto& loop : loops) out.push_back(loop.get());
    return out;
  }
  std::vector<std::unique_ptr<SessionLoop>> loops;
};

namespace {
unsigned session_thread_count(const Config& config) {
  return config.threads != 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
}

// How often vsd compares its clock with the system clock, and the least difference it tells of.
constexpr std::chrono::seconds kClockWatchPeriod{10};
constexpr std::uint64_t kClockWatchMinToleranceMs = 1000;

// Says when the system clock steps away from the VS clock while vsd runs, which the VS clock does
// not follow (PROTOCOL.md §8.13), by more than half of max_clock_skew_ms (1 s at least): honest
// GSes, whose clocks follow true time, are refused clock_skew from max_clock_skew_ms on.
asio::awaitable<void> clock_watch_loop(std::shared_ptr<ServerState> state) {
  // At least a second: a tolerance of 0 would flap on the milliseconds the two readings round to.
  const std::uint64_t tolerance_ms =
      std::max<std::uint64_t>(state->config.max_clock_skew_ms / 2, kClockWatchMinToleranceMs);
  ClockDriftWatch watch(tolerance_ms, state->clock.drift_ms());
  asio::steady_timer timer(state->io);
  while (!state->stopping) {
    const std::int64_t drift = state->clock.drift_ms();
    const auto change = watch.observe(drift);
    if (change == ClockDriftWatch::Change::kParted) {
      spdlog::warn(
          "the system clock now reads {} ms {} the VS clock, which it stepped away from since vsd "
          "started (check the host's time synchronisation); the VS keeps its own clock, and "
          "joins from GSes whose clocks follow the system's are refused clock_skew past "
          "max_clock_skew_ms ({} ms); a restart of vsd takes up the system clock's time, no "
          "earlier than the newest entry of its log",
          std::abs(drift), drift > 0 ? "ahead of" : "behind", state->config.max_clock_skew_ms);
    } else if (change == ClockDriftWatch::Change::kRejoined) {
      spdlog::info("the system clock reads within {} ms of the VS clock again ({} ms apart)",
                   tolerance_ms, std::abs(drift));
    }
    timer.expires_after(kClockWatchPeriod);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}
}  // namespace

Server::Server(asio::io_context& io, Config config, crypto::SecretKey key,
               std::unique_ptr<storage::Log> log)
    : loops_(std::make_unique<SessionLoops>(session_thread_count(config))),
      state_(std::make_shared<ServerState>(io, loops_->pointers(), std::move(config),
                                           std::move(key), std::move(log))) {}

Server::~Server() {
  // No session handler runs after this, so nothing more is submitted.
  for (auto& loop : loops_->loops) loop->stop();
  // A fleet claim under way hands its answer to a session's loop: it must still exist then.
  state_->fleet_thread.join();
  // Durability callbacks still queued post into the stopped loops, which must still exist.
  static_cast<void>(state_->writer->flush());
  loops_.reset();  // destroys the handlers left, and with them the sessions they hold
}

std::uint16_t Server::port() const {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

Status Server::start() {
  auto& s = *state_;
  // The admin socket first: a second vsd started on the same configuration by mistake stops
  // here, before its recovery revokes the running daemon's sessions in the shared store.
  Status admin_opened = s.admin.open();
  if (!admin_opened) return admin_opened;
  // Also before the store is touched: a port in use stops the start with nothing logged. The GS
  // port is bound now and accepted on once recovery is done; a GS that connects meanwhile waits
  // in the listen backlog for its VsChallenge.
  Status metrics_served = serve_metrics(state_);
  if (!metrics_served) return metrics_served;
  Status listening = s.listen();
  if (!listening) return listening;
  if (s.clock.held_back()) {
    spdlog::warn(
        "the system clock reads {} ms, before the newest entry in the store; the VS clock starts "
        "at that entry's time, {} ms, so that no time in the log goes back (check the host's "
        "time synchronisation)",
        unix_time_ms(), s.clock.now_ms());
  }
  // The fleet before the recovery, whose sessions kept for a resume claim their identities.
  Status joined = s.join_fleet();
  if (!joined) return joined;
  Status recovered = s.recover();
  if (!recovered) return recovered;

  for (auto& loop : loops_->loops) loop->start();
  asio::co_spawn(s.io, s.accept_loop(), s.on_escape("the GS listener"));
  s.admin.start(state_, s.stop_on_fault());
  asio::co_spawn(s.checkpoint_strand, s.checkpoint_loop(), s.on_escape("the checkpoint loop"));
  asio::co_spawn(s.io, clock_watch_loop(state_), s.on_escape("the clock watch"));
  spdlog::info("listening on {}:{}; store {} at {} entries; VS key {}; rules version {}",
               s.config.listen_host, port(),
               app::log_text(storage::printable_store(s.config.store)), s.writer->size(),
               to_hex(s.key.public_key()), rules::kRulesVersion);
  return {};
}

void Server::stop() { state_->begin_stop(); }

void Server::set_config_source(std::function<Result<Config>()> reread) {
  state_->reread_config = std::move(reread);
}

void Server::reload(std::string_view trigger) {
  static_cast<void>(state_->reload(trigger));  // logged either way
}

bool Server::failed() const { return state_->store_broken.load() || state_->faulted.load(); }

}  // namespace gsvs::vsd
