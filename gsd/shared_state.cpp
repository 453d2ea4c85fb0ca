#include "gsd/shared_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "app/program.h"
#include "protocol/clock.h"

namespace gsvs::gsd {

namespace {

// Connections before their handshake completes (gsd/admission.h, PendingBudget): at least this
// many, or twice max_players; one address holds at most a quarter of them.
constexpr std::size_t kMinPendingConnections = 64;
std::size_t pending_capacity(std::uint32_t max_players) {
  return std::max(kMinPendingConnections, std::size_t{2} * max_players);
}

storage::BatchWriter::Options gsd_writer_options(const Config& config) {
  storage::BatchWriter::Options options;
  options.stall_after = std::chrono::milliseconds(config.store_stall_ms);
  options.on_stall = app::exit_when_store_stalls("gsd", storage::printable_store(config.store));
  // The WAL's checkpoints that failed, and the writer's own at its maximum (docs/STORE.md §7.1).
  options.on_notice = app::log_store_notice;
  return options;
}

}  // namespace

SharedState::SharedState(net::asio::io_context& io_context, Config cfg,
                         std::shared_ptr<Behaviour> rules, std::unique_ptr<storage::Log> store,
                         std::function<void()> stop)
    : io(io_context),
      config(std::move(cfg)),
      behaviour(std::move(rules)),
      writer(std::make_unique<storage::BatchWriter>(std::move(store), gsd_writer_options(config))),
      pending(pending_capacity(config.max_players), pending_capacity(config.max_players) / 4),
      client_refusals(
          {"displaced by newer ones (" + std::to_string(pending_capacity(config.max_players)) +
               " before their ClientHello, " +
               std::to_string(pending_capacity(config.max_players) / 4) + " per address)",
           "without an acceptable ClientHello",
           "refused at max_players (" + std::to_string(config.max_players) + ")",
           "refused while gsd had no VS session"}),
      stop_(std::move(stop)) {}

bool SharedState::refuse_client(ClientRefusal why, const std::string& source) {
  metrics.clients_refused.at(static_cast<std::size_t>(why))->inc();
  return client_refusals.count(static_cast<std::size_t>(why), source,
                               std::chrono::steady_clock::now());
}

net::ConnectionLimits SharedState::limits() const {
  return net::ConnectionLimits{config.max_frame_bytes, 1024 * 1024};
}

std::string SharedState::client_address() const {
  return config.listen_host + ":" + std::to_string(client_port);
}

net::Failure SharedState::stop_on_fault() {
  return [weak = weak_from_this()](const std::string&) {
    auto self = weak.lock();
    if (!self || self->faulted) return;
    self->faulted = true;
    self->stop_();
  };
}

net::EscapeHandler SharedState::on_escape(std::string what) {
  return {std::move(what), stop_on_fault()};
}

// Entries are submitted in the order messages are sent or received, and the message goes out
// without waiting for the commit: the GS's store is its own record for reconciliation, the VS's
// log is the authority, and a crash loses at most the last group commit (a few ms). A failed
// commit stops the daemon.
void SharedState::record(protocol::MessageKind kind, chains::Direction direction,
                         protocol::SessionId session, const Bytes& bytes) {
  if (store_failed) return;
  std::vector<storage::PendingEntry> entries(1);
  entries[0] = storage::PendingEntry{kind, direction, session, clock.now_ms(), bytes};
  std::weak_ptr<SharedState> weak = weak_from_this();
  auto* context = &io;
  auto placed = writer->submit(std::move(entries), [weak, context](const Status& status) {
    if (status) return;
    // On the writer thread: only hand the error to the daemon's thread.
    net::asio::post(*context, [weak, error = status.error()] {
      if (auto self = weak.lock()) self->on_store_failure(error);
    });
  });
  if (!placed) on_store_failure(placed.error());
}

void SharedState::on_store_failure(const std::string& error) {
  if (store_failed) return;
  store_failed = true;
  spdlog::critical(
      "store {}: append failed: {}; stopping (a GS does not serve what it cannot "
      "record)",
      storage::printable_store(config.store), error);
  stop_();
}

}  // namespace gsvs::gsd
