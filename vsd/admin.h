// The operator's admin socket: a Unix stream socket, created mode 0600 so that only its owner
// can use it, that answers one JSON request line per connection with one JSON reply line.
// `vsd status`, `vsd reload`, `vsd revoke` and `vsd pardon` are its clients (admin_request);
// docs/OPERATIONS.md lists the requests.
#pragma once

#include <sys/types.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "net/asio.h"
#include "net/escape.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::vsd {

// A Unix socket path lives in sockaddr_un::sun_path (108 bytes with its terminating NUL).
inline constexpr std::size_t kMaxSocketPathBytes = 107;
// A request is one line of at most this many bytes, newline included.
inline constexpr std::size_t kMaxAdminRequestBytes = 4096;
// How long one admin connection may take, from accept to the reply written: a client that sends
// nothing, or does not read its reply, is dropped after this.
inline constexpr std::chrono::milliseconds kAdminConnectionTimeout{5000};

// Fails with the path and the reason when it cannot name a Unix socket (empty, too long, NUL).
Status check_socket_path(const std::string& path);

// Whether an operator's revocation also quarantines the GS identity (PROTOCOL.md §8.16): logged
// as reason operator (7) or operator_quarantine (16).
enum class OperatorRevocation : std::uint8_t { kRevoke, kQuarantine };

// What the admin socket asks of the daemon. Called on the admin server's io_context thread.
struct AdminOperations {
  // The log and the live sessions, as `vsd status --json` prints them.
  std::function<nlohmann::json()> status;
  // Revokes a live session for the operator's reason; an error for the operator, empty if done.
  std::function<std::string(protocol::SessionId id, const std::string& reason,
                            OperatorRevocation kind)>
      revoke;
  // Reads the configuration again and applies its policy (`vsd reload`): what was done, or why
  // the whole reload was refused.
  std::function<Result<std::string>()> reload;
  // Lifts the quarantine of a GS identity for the operator's reason (`vsd pardon`, PROTOCOL.md
  // §8.16): where the Pardon was logged and what it lifted, or why nothing was logged.
  std::function<Result<nlohmann::json>(const protocol::PublicKey& identity,
                                       const std::string& reason)>
      pardon;
};

class AdminServer {
 public:
  AdminServer(net::asio::io_context& io, std::string path, AdminOperations operations,
              std::chrono::milliseconds connection_timeout = kAdminConnectionTimeout);
  // Removes the socket file if this server created it and it is still there.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Creates the socket file and listens on it. Only a stale socket (one that refuses
  // connections) is replaced: anything else at the path, or a socket a running vsd answers on,
  // is an error that names the path and what is there.
  Status open();
  // Accepts connections until close(). `owner` is held by every pending accept and connection,
  // so that this server and whatever the operations reach outlive them. `on_fault` stops the
  // daemon where an exception ends the listener or a request (net/escape.h).
  void start(std::shared_ptr<void> owner, net::Failure on_fault);
  // Stops accepting and removes the socket file this server created (not one that has since
  // replaced it). Idempotent.
  void close();

 private:
  using Socket = net::asio::local::stream_protocol::socket;
  struct Connection;
  net::asio::awaitable<void> accept_loop(std::shared_ptr<void> owner);
  // The unnamed owner is held for the connection's life.
  net::asio::awaitable<void> serve(Socket socket, std::shared_ptr<void> /*owner*/);
  nlohmann::json answer(const std::string& request_line);
  nlohmann::json answer_pardon(const nlohmann::json& request);

  net::asio::io_context& io_;
  std::string path_;
  AdminOperations operations_;
  std::chrono::milliseconds connection_timeout_;
  net::asio::local::stream_protocol::acceptor acceptor_;
  net::Failure on_fault_;
  // The socket file this server bound, to remove at close only if it is still that file.
  bool created_ = false;
  dev_t created_device_ = 0;
  ino_t created_inode_ = 0;
};

// What is wrong with an operator's reason for a Pardon, as the end of a sentence that starts
// "the reason ..." (empty, over kMaxPardonReasonBytes, not UTF-8); empty when nothing is. The
// admin socket and `vsd pardon` ask the same.
std::string pardon_reason_problem(const std::string& reason);

// How long `vsd status` and the other admin commands wait for the daemon's reply: longer than a
// pardon's or reload's commit may take before the daemon gives up on its store (store_stall_ms,
// 10 s by default), so that a reply that can come does.
inline constexpr std::chrono::milliseconds kAdminReplyTimeout{30000};

// Sends one request line to the admin socket at `socket_path` and returns the JSON reply; the
// error says what failed (path, connection, a request that is not UTF-8, the reply, or no reply
// within `reply_within`: a daemon that is stopped or stuck).
Result<nlohmann::json> admin_request(const std::string& socket_path, const nlohmann::json& request,
                                     std::chrono::milliseconds reply_within = kAdminReplyTimeout);

}  // namespace gsvs::vsd
