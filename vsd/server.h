// The validation server: accepts GS connections, runs each session's checks, issues receipts,
// tickets, checkpoints and revocations, and logs everything to the store before acting on it.
#pragma once

#include <memory>
#include <string>

#include "net/asio.h"
#include "protocol/crypto.h"
#include "protocol/result.h"
#include "storage/log.h"
#include "vsd/config.h"

namespace gsvs::vsd {

class Server {
 public:
  // Takes ownership of the store. The key signs everything the VS issues.
  Server(net::asio::io_context& io, Config config, crypto::SecretKey key,
         std::unique_ptr<storage::Log> log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Revokes sessions left live by a previous run (fail closed), binds the listener and the admin
  // socket, and starts accepting. The error names what could not be done.
  Status start();
  // Graceful stop: refuses new connections, revokes live sessions (vs_shutdown), writes a final
  // checkpoint and flushes the store. Completes asynchronously; the io_context then runs dry.
  void stop();

  [[nodiscard]] std::uint16_t port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace gsvs::vsd
