// The client port: accepts connections, waits out descriptor shortages (net/accept_backoff.h),
// and hands each connection to a ClientSession within the budget of connections that have not
// completed their handshake (gsd/admission.h, PendingBudget). What it refuses before a player
// joins is summarised in one log line a second at most.
#pragma once

#include <memory>

#include "gsd/nonce_book.h"
#include "net/asio.h"
#include "protocol/result.h"

namespace gsvs::gsd {

struct SharedState;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  explicit Listener(std::shared_ptr<SharedState> shared);

  // Binds the configured listen address. The error names what could not be done.
  Status open();
  // Accepts clients until close().
  void run();
  void close();
  [[nodiscard]] std::uint16_t port() const;
  // Logs the refusals since the last summary (the last second's, at a stop).
  void summarise_refusals();

 private:
  net::asio::awaitable<void> accept_loop();
  net::asio::awaitable<void> summary_loop();
  void admit(net::tcp::socket socket);

  std::shared_ptr<SharedState> shared_;
  net::tcp::acceptor acceptor_;
  net::asio::steady_timer summary_timer_;  // summary_loop's; close() cancels it
  ClientId next_client_id_ = 1;
};

}  // namespace gsvs::gsd
