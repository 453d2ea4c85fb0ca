// One client's life on one GS: connect, handshake, tickets, nonces, inputs, and the reason it
// ends, which is its exit code. All protocol judgement is TicketVerifier's; this file does the
// I/O and the timers around it.
//
// Threading: everything runs on one single-threaded io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/events.h"
#include "net/asio.h"
#include "protocol/crypto.h"

namespace gsvs::client {

// The client's exit codes (docs/PROTOCOL.md §8.12).
enum class ExitCode : int {
  kOk = 0,                 // ran its duration (or was told to stop), or the GS left cleanly
  kInternalError = 1,      // a fault in the client itself (logged), not the GS's doing
  kUsage = 2,              // usage, configuration or key error
  kRevoked = 3,            // a VS-signed Revocation for this session
  kStarved = 4,            // ticket starvation: the trust deadline passed
  kHandshakeFailed = 5,    // impostor, bad join acceptance, or no ServerHello in time
  kConnectionLost = 6,     // connection refused or lost
  kProtocolViolation = 7,  // broken ticket chain, bad signature, malformed frame
};

struct PlayerOptions {
  std::string gs_host = "127.0.0.1";
  std::uint16_t gs_port = 0;
  std::vector<crypto::PublicKey> vs_keys;  // one, or a fleet's key set
  std::chrono::milliseconds skew{500};
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds duration{0};  // 0: until something ends the session
  bool bot = false;                       // random walk; without it the client sends no input
  double speed_m_s = 5.0;
  bool cheat = false;  // ask for RandomWalk::kCheatFactor times the speed
  std::chrono::milliseconds input_interval{100};
  std::uint64_t seed = 0;  // random walk seed; 0: random
  std::size_t max_frame_bytes = 16 * 1024;
};

class Player {
 public:
  // `key` and `events` are borrowed and must outlive the Player and its io_context's run().
  Player(net::asio::io_context& io, PlayerOptions options, const crypto::SecretKey& key,
         EventLog& events);
  ~Player();
  Player(const Player&) = delete;
  Player& operator=(const Player&) = delete;

  // Starts the session. Call once. `on_finished` runs once, on the io thread, when it ends.
  void start(std::function<void()> on_finished = {});
  // Ends the session with exit code 0 (a signal); on the io thread.
  void stop(const std::string& why);
  [[nodiscard]] int exit_code() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Runs one Player on its own io_context until it ends, and returns its exit code.
int play(const PlayerOptions& options, const crypto::SecretKey& key, EventLog& events);

}  // namespace gsvs::client
