// The game server daemon: joins the VS (a new session key per session), keeps the session alive
// (heartbeats, transcript digests, nonce batches), checks everything the VS sends, serves clients
// (handshake, tickets with nonce proofs, input validation, authoritative movement), and records
// every message exchanged with the VS in its own store. On a revocation or a lost VS connection
// it stops the match and joins again, with backoff, as a new session.
#pragma once

#include <memory>

#include "gsd/behaviour.h"
#include "gsd/config.h"
#include "net/asio.h"
#include "protocol/crypto.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::gsd {

class Daemon {
 public:
  // `identity` is the long-term key on the VS allowlist; `own_sw_hash` the SHA-256 of this
  // executable; the store is owned from now on. The behaviour is honest unless a test or demo
  // program passes another (gsd/behaviour.h).
  Daemon(net::asio::io_context& io, Config config, crypto::SecretKey identity, Hash32 own_sw_hash,
         std::unique_ptr<storage::Log> store, std::shared_ptr<Behaviour> behaviour);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Binds the client port and starts joining the VS. The error names what could not be done.
  Status start();
  // Graceful stop: closes the clients and the VS connection; the io_context then stops.
  void stop();
  // After the io_context has stopped: waits until everything recorded is durable.
  Status flush();
  // True once the store failed (the daemon then stops by itself: it does not serve what it
  // cannot record).
  [[nodiscard]] bool failed() const;
  [[nodiscard]] std::uint16_t client_port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace gsvs::gsd
