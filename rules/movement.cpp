#include "rules/movement.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gsvs::rules {

namespace {
constexpr double kPpm = 1'000'000.0;

std::uint32_t to_u32(double value) {
  return static_cast<std::uint32_t>(std::clamp(std::llround(value), 0LL, 0xffffffffLL));
}
}  // namespace

MovementLimits limits_from(const protocol::JoinAccept& accept) {
  MovementLimits limits;
  limits.max_speed_mm_s = accept.max_speed_mm_s;
  limits.tolerance = accept.speed_tolerance_ppm / kPpm;
  limits.jitter_allowance_ms = accept.jitter_allowance_ms;
  limits.decay = accept.excess_decay_ppm / kPpm;
  limits.max_excess_mm = accept.max_excess_mm;
  limits.spawn_min_interval_ms = accept.spawn_min_interval_ms;
  limits.max_players = accept.max_players_per_session;
  return limits;
}

void announce_limits(const MovementLimits& limits, protocol::JoinAccept& accept) {
  accept.max_speed_mm_s = to_u32(limits.max_speed_mm_s);
  accept.speed_tolerance_ppm = to_u32(limits.tolerance * kPpm);
  accept.jitter_allowance_ms = to_u32(static_cast<double>(limits.jitter_allowance_ms));
  accept.excess_decay_ppm = to_u32(limits.decay * kPpm);
  accept.max_excess_mm = to_u32(limits.max_excess_mm);
  accept.spawn_min_interval_ms = to_u32(static_cast<double>(limits.spawn_min_interval_ms));
  accept.max_players_per_session = limits.max_players;
}

std::size_t MovementChecker::players_after(const protocol::TranscriptDigest& digest) const {
  // A decoded digest names each player once (PROTOCOL.md §2.6), so every key not yet tracked is
  // one more player.
  std::size_t fresh = 0;
  for (const auto& position : digest.players) {
    if (!players_.contains(position.player)) ++fresh;
  }
  return players_.size() + fresh;
}

std::vector<MovementStep> MovementChecker::check(const protocol::TranscriptDigest& digest,
                                                 const DigestSample& sample) {
  std::vector<MovementStep> steps;
  // Refused before any state is inserted: memory never exceeds the cap, whatever the GS sends.
  if (over_player_cap(digest)) return steps;
  steps.reserve(digest.players.size());
  bool violated = false;
  for (const auto& position : digest.players) {
    MovementStep step;
    step.player = position.player;
    auto it = players_.find(position.player);
    const bool wants_spawn = (position.flags & protocol::kPlayerSpawn) != 0;
    if (it == players_.end()) {
      step.spawn = true;
      players_[position.player] = PlayerState{position.x_mm, position.y_mm, sample, 0.0,
                                              wants_spawn ? sample.vs_receive_ms : 0};
      steps.push_back(step);
      continue;
    }
    PlayerState& state = it->second;
    step.from_log_seq = state.at.log_seq;
    step.to_log_seq = sample.log_seq;
    step.from_x_mm = state.x_mm;
    step.from_y_mm = state.y_mm;
    step.to_x_mm = position.x_mm;
    step.to_y_mm = position.y_mm;
    if (wants_spawn &&
        (state.last_spawn_vs_ms == 0 ||
         sample.vs_receive_ms >= state.last_spawn_vs_ms + limits_.spawn_min_interval_ms)) {
      step.spawn = true;
      state = PlayerState{position.x_mm, position.y_mm, sample, state.accumulated_excess_mm,
                          sample.vs_receive_ms};
      steps.push_back(step);
      continue;
    }
    const double dx = static_cast<double>(position.x_mm) - state.x_mm;
    const double dy = static_cast<double>(position.y_mm) - state.y_mm;
    step.distance_mm = std::hypot(dx, dy);
    step.elapsed_gs_ms =
        sample.gs_time_ms > state.at.gs_time_ms ? sample.gs_time_ms - state.at.gs_time_ms : 0;
    step.elapsed_vs_ms = sample.vs_receive_ms > state.at.vs_receive_ms
                             ? sample.vs_receive_ms - state.at.vs_receive_ms
                             : 0;
    step.elapsed_used_ms = std::max<std::uint64_t>(
        1, std::min(step.elapsed_gs_ms, step.elapsed_vs_ms + limits_.jitter_allowance_ms));
    const double seconds = static_cast<double>(step.elapsed_used_ms) / 1000.0;
    step.speed_mm_s = step.distance_mm / seconds;
    step.allowed_mm = limits_.max_speed_mm_s * (1.0 + limits_.tolerance) * seconds;
    step.excess_mm = std::max(0.0, step.distance_mm - step.allowed_mm);
    state.accumulated_excess_mm = state.accumulated_excess_mm * limits_.decay + step.excess_mm;
    step.accumulated_excess_mm = state.accumulated_excess_mm;
    if (!violated && step.accumulated_excess_mm > limits_.max_excess_mm) {
      step.violation = true;
      violated = true;
    }
    state.x_mm = position.x_mm;
    state.y_mm = position.y_mm;
    state.at = sample;
    steps.push_back(step);
  }
  return steps;
}

std::string describe_player_cap(std::size_t players_after, const MovementLimits& limits) {
  return "the digest names players the session has not named before, raising the distinct "
         "players of the session to " +
         std::to_string(players_after) + ", over max_players_per_session " +
         std::to_string(limits.max_players);
}

std::string describe_violation(const MovementStep& step, const MovementLimits& limits) {
  char text[512];
  std::snprintf(text, sizeof text,
                "player %s moved %.3f m in %.3f s (GS-reported %.3f s, VS-observed %.3f s + "
                "%.3f s jitter allowance): %.2f m/s against a limit of %.2f m/s x %.2f tolerance; "
                "accumulated excess %.3f m > %.3f m",
                to_hex(step.player).substr(0, 16).c_str(), step.distance_mm / 1000.0,
                static_cast<double>(step.elapsed_used_ms) / 1000.0,
                static_cast<double>(step.elapsed_gs_ms) / 1000.0,
                static_cast<double>(step.elapsed_vs_ms) / 1000.0,
                static_cast<double>(limits.jitter_allowance_ms) / 1000.0, step.speed_mm_s / 1000.0,
                limits.max_speed_mm_s / 1000.0, 1.0 + limits.tolerance,
                step.accumulated_excess_mm / 1000.0, limits.max_excess_mm / 1000.0);
  return text;
}

}  // namespace gsvs::rules
