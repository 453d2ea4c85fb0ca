// A real gsd (or gsd-rogue) process joined to a VsProcess, and a client scripted by hand against
// it: every client message is built, signed and sent explicitly, and everything the GS sends is
// checked the way docs/PROTOCOL.md §8.12 says a client checks it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/framing.h"
#include "protocol/messages.h"
#include "tests/support/frame_socket.h"
#include "tests/support/process.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {

// SHA-256 of a file's bytes: what `gsd version` reports as sw_hash for that executable.
Hash32 sha256_of_file(const std::string& path);

struct GsdOptions {
  std::string program = "gsd";          // or "gsd-rogue"
  std::vector<std::string> extra_args;  // after `run --config FILE` (rogue flags)
  std::uint32_t digest_interval_ms = 100;
  std::uint32_t input_grace_ms = 100;
  std::uint32_t max_players = 16;
  std::uint32_t reconnect_backoff_min_ms = 100;
  std::uint32_t reconnect_backoff_max_ms = 1000;
  std::string extra;  // more config lines
  bool wait_until_listening = true;
  // Where the GS reaches the VS, when not the VS's own port (a FrameRelay's): ports on
  // 127.0.0.1, several for a fleet's node list (its `vs` key), in order.
  std::vector<std::uint16_t> vs_ports;
  // The keys it trusts (its `vs_public_key`): a fleet's key set; empty: the VS's own key.
  std::vector<crypto::PublicKey> vs_keys;
};

class GsdProcess {
 public:
  // Writes `dir/<name>.toml` for a GS with the identity key at `key_path`, on a free port, and
  // starts it; by default waits until it logs "listening for clients on".
  GsdProcess(const TempDir& dir, const VsProcess& vs, const std::string& key_path,
             GsdOptions options = {}, const std::string& name = "gsd");
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string store_path() const { return store_; }
  [[nodiscard]] std::string config_path() const { return config_; }
  ChildProcess& process() { return *process_; }
  int stop() { return process_->stop(); }
  // How many times the output contains `text`.
  [[nodiscard]] std::size_t count(const std::string& text) const;
  // Waits until the output contains `text` at least `times` times.
  bool wait_for_count(const std::string& text, std::size_t times,
                      std::chrono::milliseconds timeout);

 private:
  std::uint16_t port_;
  std::string store_;
  std::string config_;
  std::unique_ptr<ChildProcess> process_;
};

// One ticket as the scripted client received it in a TicketForward.
struct ReceivedTicket {
  Bytes bytes;
  protocol::PlayTicket ticket;
  bool has_proof = false;
  bool proof_valid = false;  // the proof verifies and names one of this client's nonces
  Nonce32 proven_nonce;
  std::chrono::steady_clock::time_point received_at;
  std::uint64_t received_wall_ms = 0;
};

class ScriptedClient {
 public:
  ScriptedClient(std::uint16_t port, const crypto::PublicKey& vs_key);
  // Plays as the holder of `key`.
  ScriptedClient(std::uint16_t port, const crypto::PublicKey& vs_key, crypto::SecretKey key);

  // Reads the GS's ClientChallenge (the first frame on the connection); throws without one.
  Nonce32 read_challenge();
  // Reads the challenge and sends a ClientHello that signs it, with a fresh nonce; returns the
  // hello's bytes (what an eavesdropper could record).
  Bytes send_hello();
  // Reads the ServerHello and checks it as a client does: the JoinAccept decodes and verifies
  // under the VS key, the ServerHello verifies under its session key, session ids match, the
  // echoes are this client's. Returns the problem, or "" when all hold.
  std::string check_server_hello(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Both; throws when the handshake fails.
  void handshake();

  // Sends a fresh ClientNonce and remembers it.
  Nonce32 send_nonce();
  // A signed input bound to the latest ticket received, with the next client_seq.
  protocol::ClientInput make_input(std::int32_t dx_mm, std::int32_t dy_mm);
  void send_input(const protocol::ClientInput& input);
  // Re-signs with this client's key and sends.
  void sign_and_send(protocol::ClientInput input);

  // Reads frames, recording tickets, input rejects and a revocation, until `done()` holds or
  // the timeout passes. False on timeout or when the GS closed the connection first.
  bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  void pump_for(std::chrono::milliseconds duration);
  // Waits for the next InputReject (or returns nullopt after the timeout).
  std::optional<protocol::InputReject> next_reject(std::chrono::milliseconds timeout);

  [[nodiscard]] const std::vector<ReceivedTicket>& tickets() const { return tickets_; }
  [[nodiscard]] const std::vector<protocol::InputReject>& rejects() const { return rejects_; }
  [[nodiscard]] const std::optional<Bytes>& revocation() const { return revocation_; }
  [[nodiscard]] bool closed() const { return socket_.closed(); }
  // Protocol violations seen (ticket chain, signatures, unexpected frames).
  [[nodiscard]] const std::vector<std::string>& problems() const { return problems_; }
  [[nodiscard]] const protocol::JoinAccept& join_accept() const { return accept_; }
  [[nodiscard]] protocol::SessionId session_id() const { return accept_.session_id; }
  [[nodiscard]] const crypto::SecretKey& key() const { return key_; }
  [[nodiscard]] std::uint64_t last_client_seq() const { return client_seq_; }
  FrameSocket& socket() { return socket_; }

 private:
  void handle(const Bytes& frame);
  void on_ticket_forward(const protocol::TicketForward& forward);

  FrameSocket socket_;
  crypto::PublicKey vs_key_;
  crypto::SecretKey key_;
  Nonce32 hello_nonce_;
  std::vector<Nonce32> nonces_;  // every nonce sent, hello nonce first
  protocol::JoinAccept accept_;
  Hash32 last_ticket_hash_;
  std::uint64_t last_ticket_seq_ = 0;
  std::uint64_t client_seq_ = 0;
  std::vector<ReceivedTicket> tickets_;
  std::vector<protocol::InputReject> rejects_;
  std::size_t rejects_taken_ = 0;
  std::optional<Bytes> revocation_;
  std::vector<std::string> problems_;
};

}  // namespace gsvs::testing
