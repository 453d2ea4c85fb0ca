// What the listener, the client sessions and the VS link share: the configuration, the behaviour
// hooks, the store every message to and from the VS is recorded in, the match being served and
// the client connections. One thread (gsd/daemon.cpp): no locks.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "gsd/admission.h"
#include "gsd/behaviour.h"
#include "gsd/config.h"
#include "gsd/match.h"
#include "gsd/metrics.h"
#include "net/escape.h"
#include "net/framed_connection.h"
#include "net/refusal_window.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "storage/log.h"

namespace gsvs::gsd {

class ClientSession;

struct SharedState : std::enable_shared_from_this<SharedState> {
  // The store is owned from now on. `stop` stops the daemon; it is called once the store failed.
  SharedState(net::asio::io_context& io_context, Config cfg, std::shared_ptr<Behaviour> rules,
              std::unique_ptr<storage::Log> store, std::function<void()> stop);

  net::asio::io_context& io;
  // What gsd stamps its messages and entries with: the system clock read once at start and
  // carried by the monotonic clock, so that a step of the host's clock cannot make two digests'
  // gs_time_ms go back and look like a teleport to the VS (PROTOCOL.md §8.6).
  const SteadyWallClock clock;
  const Config config;
  std::shared_ptr<Behaviour> behaviour;
  std::unique_ptr<storage::BatchWriter> writer;
  bool stopping = false;
  bool store_failed = false;
  bool faulted = false;           // a coroutine ended by an exception
  std::uint16_t client_port = 0;  // while the listener is bound
  std::shared_ptr<Match> match;   // the session being served; null while (re)joining
  // Every client connection, handshaken or not; each session removes itself when it ends.
  std::map<ClientId, std::weak_ptr<ClientSession>> clients;
  PendingBudget pending;  // the clients above that have not completed the handshake
  GsdMetrics metrics;
  // The client connections refused since the listener's last summary line (gsd/listener.h).
  net::RefusalWindow client_refusals;

  [[nodiscard]] net::ConnectionLimits limits() const;
  [[nodiscard]] std::string client_address() const;
  // co_spawn's completion for every coroutine gsd runs (net/escape.h): an exception that ends
  // one is logged, and gsd stops as at SIGTERM (leaving the VS cleanly), with exit code 1.
  net::EscapeHandler on_escape(std::string what);
  net::Failure stop_on_fault();  // what on_escape calls
  // Counts a client connection from `source` (an address) refused `why`. True when it is the first
  // since the listener's last summary, and worth a line of its own.
  bool refuse_client(ClientRefusal why, const std::string& source);
  // Submits a message sent to or received from the VS to the store.
  void record(protocol::MessageKind kind, chains::Direction direction, protocol::SessionId session,
              const Bytes& bytes);

 private:
  void on_store_failure(const std::string& error);
  std::function<void()> stop_;
};

}  // namespace gsvs::gsd
