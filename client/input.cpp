#include "client/input.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace gsvs::client {

InputSigner::InputSigner(const crypto::SecretKey& key, protocol::SessionId session_id,
                         std::uint64_t last_seq)
    : key_(key), session_id_(session_id), client_seq_(last_seq) {}

Bytes InputSigner::sign(std::uint64_t ticket_seq, const Hash32& ticket_hash, std::int32_t move_x_mm,
                        std::int32_t move_y_mm, std::uint64_t client_time_ms) {
  protocol::ClientInput input;
  input.client_key = key_.public_key();
  input.session_id = session_id_;
  input.ticket_seq = ticket_seq;
  input.ticket_hash = ticket_hash;
  input.client_seq = ++client_seq_;
  input.client_time_ms = client_time_ms;
  input.move_x_mm = move_x_mm;
  input.move_y_mm = move_y_mm;
  protocol::sign(input, key_);
  return protocol::encode(input);
}

RandomWalk::RandomWalk(double speed_m_s, bool cheat, std::uint64_t seed)
    : speed_mm_s_(speed_m_s * 1000.0 * (cheat ? kCheatFactor : 1.0)), random_(seed) {
  heading_ = std::uniform_real_distribution<double>(0.0, 2.0 * std::numbers::pi)(random_);
}

std::pair<std::int32_t, std::int32_t> RandomWalk::step(double elapsed_ms) {
  heading_ += std::uniform_real_distribution<double>(-0.5, 0.5)(random_);
  // Bounded so a long stall cannot ask for a displacement that does not fit the wire type.
  const double distance = std::clamp(speed_mm_s_ * elapsed_ms / 1000.0, 0.0, 1.0e9);
  const auto x = static_cast<std::int32_t>(std::lround(distance * std::cos(heading_)));
  const auto y = static_cast<std::int32_t>(std::lround(distance * std::sin(heading_)));
  return {x, y};
}

}  // namespace gsvs::client
