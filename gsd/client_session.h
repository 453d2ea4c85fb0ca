// One client connection: the ClientChallenge/ClientHello handshake, then the player's inputs
// (checked, applied to the world, hashed for the next digest) and nonces (on to the VS), and the
// tickets forwarded to it. Held by shared_from_this while its coroutines run; listed in the shared
// state's clients until it ends.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gsd/admission.h"
#include "gsd/match.h"
#include "net/asio.h"

namespace gsvs::net {
class FramedConnection;
}  // namespace gsvs::net

namespace gsvs::gsd {

struct SharedState;

class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(std::shared_ptr<SharedState> shared, ClientId id, net::tcp::socket socket);
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Serves the connection until it closes, then leaves the shared state's clients.
  void run();

  [[nodiscard]] ClientId id() const { return id_; }
  [[nodiscard]] const std::string& peer() const;
  // The peer's address, as the pre-handshake budget counts it (net::budget_source).
  [[nodiscard]] const std::string& source() const { return source_; }
  // The match the client plays in; null until its handshake succeeded.
  [[nodiscard]] const std::shared_ptr<Match>& match() const { return match_; }
  // ServerHello sent: the client receives every new ticket.
  [[nodiscard]] bool ready() const { return ready_; }

  void send(const Bytes& payload);
  // Sends an encoded TicketForward now, or after `hold`.
  void forward_ticket(Bytes payload, std::chrono::milliseconds hold);
  void close();
  void close_after_flush();
  // Closes a connection still before its ClientHello, to make room for a newer one.
  void close_displaced();
  // Closes the connection of a player who connected again (a newer handshake with its key).
  void close_replaced();

 private:
  net::asio::awaitable<void> serve();
  // The reason the connection ended, for the log; refusal_ says why when no player joined.
  net::asio::awaitable<std::string> handshake_and_play();
  void handle_frame(const Bytes& frame);
  net::asio::awaitable<void> send_later(Bytes payload, std::chrono::milliseconds hold);

  std::shared_ptr<SharedState> shared_;
  ClientId id_;
  std::string source_;
  std::shared_ptr<net::FramedConnection> conn_;
  ClientRefusal refusal_ = ClientRefusal::kNoHello;
  bool replaced_ = false;
  std::shared_ptr<Match> match_;
  crypto::PublicKey key_;
  bool ready_ = false;
  std::uint64_t accepted_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace gsvs::gsd
