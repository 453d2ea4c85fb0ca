// What the client sends besides its hello: signed inputs bound to the latest accepted ticket, and
// the movement a bot asks for.
#pragma once

#include <cstdint>
#include <random>
#include <utility>

#include "protocol/bytes.h"
#include "protocol/crypto.h"
#include "protocol/messages.h"

namespace gsvs::client {

// Builds ClientInputs: signed with the client key, bound to a ticket (seq and SHA-256 of its
// bytes), with a client_seq that strictly increases across every input this signer makes.
// The GS remembers the last client_seq per key for the whole session, so a client that comes back
// with the same key must continue above its previous run: the player starts from the wall clock
// in microseconds (`last_seq`), which only a clock stepped back by hand could undercut.
// The key is borrowed and must outlive the signer.
class InputSigner {
 public:
  InputSigner(const crypto::SecretKey& key, protocol::SessionId session_id,
              std::uint64_t last_seq = 0);

  // The encoded, signed ClientInput; consumes the next client_seq.
  Bytes sign(std::uint64_t ticket_seq, const Hash32& ticket_hash, std::int32_t move_x_mm,
             std::int32_t move_y_mm, std::uint64_t client_time_ms);
  [[nodiscard]] std::uint64_t last_client_seq() const { return client_seq_; }

 private:
  const crypto::SecretKey& key_;
  protocol::SessionId session_id_;
  std::uint64_t client_seq_ = 0;
};

// A random walk at a fixed speed: the heading drifts a little at each step. In cheat mode the
// bot asks for `cheat_factor` times the speed, which an honest GS caps.
class RandomWalk {
 public:
  static constexpr double kCheatFactor = 10.0;

  RandomWalk(double speed_m_s, bool cheat, std::uint64_t seed);
  // The displacement to ask for after `elapsed_ms` since the previous step, in millimetres.
  std::pair<std::int32_t, std::int32_t> step(double elapsed_ms);
  [[nodiscard]] double requested_speed_mm_s() const { return speed_mm_s_; }

 private:
  double speed_mm_s_;
  double heading_ = 0.0;  // radians
  std::mt19937_64 random_;
};

}  // namespace gsvs::client
