#include "gsd/rogue/rogue_behaviour.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "protocol/crypto.h"

namespace gsvs::gsd::rogue {

std::string RogueOptions::modes() const {
  std::string out;
  auto add = [&out](bool on, const char* name) {
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(speed, "speed");
  add(inflate_time, "inflate-time");
  add(swap_build, "swap-build");
  add(suppress, "suppress");
  add(hoard, "hoard");
  add(withhold_nonces, "withhold-nonces");
  return out.empty() ? "none" : out;
}

void RogueBehaviour::on_joined(protocol::SessionId session) {
  if (!first_join_) {
    first_join_ = std::chrono::steady_clock::now();
    spdlog::warn("ROGUE: session {}: cheats [{}] start {} ms after this first join", session,
                 options_.modes(), options_.turn_rogue_after_ms);
  }
}

bool RogueBehaviour::active() {
  if (!first_join_) return false;
  const bool on = std::chrono::steady_clock::now() - *first_join_ >=
                  std::chrono::milliseconds(options_.turn_rogue_after_ms);
  if (on && !announced_) {
    announced_ = true;
    spdlog::warn("ROGUE: now cheating: {}", options_.modes());
  }
  return on;
}

Hash32 RogueBehaviour::join_sw_hash(const Hash32& own) {
  return options_.claimed_build ? *options_.claimed_build : own;
}

Hash32 RogueBehaviour::heartbeat_sw_hash(const Hash32& joined) {
  if (!options_.swap_build || !active()) return joined;
  crypto::Sha256 swapped;
  swapped.update(std::string_view("gsd-rogue swapped build"));
  swapped.update(joined);
  return swapped.finish();
}

std::uint64_t RogueBehaviour::reported_time_ms(std::uint64_t wall_ms) {
  if (!options_.inflate_time || !active()) return wall_ms;
  if (!inflate_from_wall_ms_) inflate_from_wall_ms_ = wall_ms;
  const double elapsed = static_cast<double>(wall_ms - *inflate_from_wall_ms_);
  return *inflate_from_wall_ms_ + static_cast<std::uint64_t>(elapsed * options_.time_factor);
}

double RogueBehaviour::move_credit_factor() {
  return options_.inflate_time && active() ? options_.time_factor : 1.0;
}

double RogueBehaviour::applied_move_factor() {
  return options_.speed && active() ? options_.speed_factor : 1.0;
}

void RogueBehaviour::adjust_reported(std::vector<protocol::PlayerPosition>& players) {
  if (!options_.speed || !active()) return;
  // Every other digest, each player is reported jump_m away: a teleport there and back.
  if (++digests_ % 2 == 0) return;
  const auto jump = static_cast<std::int64_t>(std::llround(options_.jump_m * 1000.0));
  for (auto& p : players) {
    p.x_mm = static_cast<std::int32_t>(std::min<std::int64_t>(p.x_mm + jump, INT32_MAX));
  }
}

bool RogueBehaviour::suppress_session_end() { return options_.suppress && active(); }

std::chrono::milliseconds RogueBehaviour::ticket_hold(const protocol::JoinAccept& accept) {
  if (!options_.hoard || !active()) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::uint64_t{accept.ticket_validity_ms} +
                                   options_.hoard_extra_ms);
}

bool RogueBehaviour::forward_nonces() { return !(options_.withhold_nonces && active()); }

}  // namespace gsvs::gsd::rogue
