// The operator's admin socket: a Unix stream socket, created mode 0600 so that only its owner
// can use it, that answers one JSON request line per connection with one JSON reply line.
// `vsd status` and `vsd revoke` are its clients; docs/OPERATIONS.md lists the requests.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "net/asio.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::vsd {

// What the admin socket asks of the daemon. Called on the admin server's io_context thread.
struct AdminOperations {
  // The log and the live sessions, as `vsd status --json` prints them.
  std::function<nlohmann::json()> status;
  // Revokes a live session for the operator's reason; an error for the operator, empty if done.
  std::function<std::string(protocol::SessionId id, const std::string& reason)> revoke;
};

class AdminServer {
 public:
  AdminServer(net::asio::io_context& io, std::string path, AdminOperations operations);
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Creates the socket file and listens on it; the error names the path.
  Status open();
  // Accepts connections until close(). `owner` is held by every pending accept and connection,
  // so that this server and whatever the operations reach outlive them.
  void start(std::shared_ptr<void> owner);
  // Stops accepting and removes the socket file.
  void close();

 private:
  using Socket = net::asio::local::stream_protocol::socket;
  net::asio::awaitable<void> accept_loop(std::shared_ptr<void> owner);
  // The unnamed owner is held for the connection's life.
  net::asio::awaitable<void> serve(Socket socket, std::shared_ptr<void> /*owner*/);
  nlohmann::json answer(const std::string& request_line);

  net::asio::io_context& io_;
  std::string path_;
  AdminOperations operations_;
  net::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace gsvs::vsd
