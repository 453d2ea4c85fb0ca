// The validation server: accepts GS connections, runs each session's checks, issues receipts,
// tickets, checkpoints and revocations, and logs everything to the store before acting on it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/asio.h"
#include "protocol/crypto.h"
#include "protocol/result.h"
#include "storage/log.h"
#include "vsd/config.h"

namespace gsvs::vsd {

struct ServerState;

class Server {
 public:
  // Takes ownership of the store. The key signs everything the VS issues. `io` runs the
  // listener, the admin socket and checkpoints; GS sessions run on `config.threads` event loops
  // of the server's own, one thread each (0: one per core), so a session's handlers never need a
  // lock or a strand to stay in order.
  Server(net::asio::io_context& io, Config config, crypto::SecretKey key,
         std::unique_ptr<storage::Log> log);
  // Stops the session threads and ends the sessions still on them.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Revokes sessions left live by a previous run (fail closed), binds the listener and the admin
  // socket, and starts accepting. The error names what could not be done.
  Status start();
  // Graceful stop: refuses new connections, revokes live sessions (vs_shutdown), writes a final
  // checkpoint and flushes the store. Completes asynchronously; the io_context then runs dry.
  void stop();

  // Where a reload reads the configuration again (the start's file and command line); call
  // before start(). Without it every reload is refused.
  void set_config_source(std::function<Result<Config>()> reread);
  // SIGHUP: as `vsd reload` (PROTOCOL.md §8.17); the outcome goes to the log. On `io`.
  void reload(std::string_view trigger);

  [[nodiscard]] std::uint16_t port() const;
  // True once the store refused an append (no entry can be logged after a failed commit) or a
  // coroutine ended by an exception: the server then stops by itself, and its owner should exit
  // with a failure code.
  [[nodiscard]] bool failed() const;

 private:
  struct SessionLoops;
  // Made before state_, which takes its executors; ~Server ends it first.
  std::unique_ptr<SessionLoops> loops_;
  std::shared_ptr<ServerState> state_;
};

}  // namespace gsvs::vsd
