#include "rules/movement.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace gsvs::rules {

namespace {
constexpr double kPpm = 1'000'000.0;

std::uint32_t to_u32(double value) {
  return static_cast<std::uint32_t>(std::clamp(std::llround(value), 0LL, 0xffffffffLL));
}

// `a - b`, or 0 when b is not below a: a clock that went back counts no time.
std::uint64_t elapsed_since(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; }
}  // namespace

double decay_over(double decay, std::uint64_t elapsed_ms) {
  if (elapsed_ms == kDecayPeriodMs) return decay;  // exactly, whatever pow's last bit does
  if (elapsed_ms == 0) return 1.0;
  return std::pow(decay, static_cast<double>(elapsed_ms) / static_cast<double>(kDecayPeriodMs));
}

MovementLimits limits_from(const protocol::JoinAccept& accept) {
  MovementLimits limits;
  limits.max_speed_mm_s = accept.max_speed_mm_s;
  limits.tolerance = accept.speed_tolerance_ppm / kPpm;
  limits.jitter_allowance_ms = accept.jitter_allowance_ms;
  limits.max_lateness_ms =
      std::uint64_t{accept.heartbeat_timeout_ms} + std::uint64_t{accept.jitter_allowance_ms};
  limits.decay = accept.excess_decay_ppm / kPpm;
  limits.max_excess_mm = accept.max_excess_mm;
  limits.spawn_min_interval_ms = accept.spawn_min_interval_ms;
  limits.max_players = accept.max_players_per_session;
  limits.continuity_window_ms = accept.continuity_window_ms;
  limits.spawn_zones = accept.spawn_zones;
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
  accept.continuity_window_ms = to_u32(static_cast<double>(limits.continuity_window_ms));
  accept.spawn_zones = limits.spawn_zones;
}

bool in_spawn_zone(const protocol::SpawnZone& zone, std::int32_t x_mm, std::int32_t y_mm) {
  switch (static_cast<protocol::SpawnZoneShape>(zone.shape)) {
    case protocol::SpawnZoneShape::kRectangle:
      return x_mm >= zone.x_mm && x_mm <= zone.x2_mm && y_mm >= zone.y_mm && y_mm <= zone.y2_mm;
    case protocol::SpawnZoneShape::kCircle: {
      // Within the bounding square first, so that each square below is under 2^62 and their sum
      // fits an int64: the test is exact, with no rounding at the edge.
      const std::int64_t radius = zone.x2_mm;
      const std::int64_t dx = std::int64_t{x_mm} - zone.x_mm;
      const std::int64_t dy = std::int64_t{y_mm} - zone.y_mm;
      if (dx > radius || -dx > radius || dy > radius || -dy > radius) return false;
      return dx * dx + dy * dy <= radius * radius;
    }
  }
  return false;  // not a shape a decoded message or a checked configuration holds
}

bool spawn_place_allowed(const std::vector<protocol::SpawnZone>& zones, std::int32_t x_mm,
                         std::int32_t y_mm) {
  return zones.empty() ||
         std::any_of(zones.begin(), zones.end(), [&](const protocol::SpawnZone& zone) {
           return in_spawn_zone(zone, x_mm, y_mm);
         });
}

std::size_t MovementChecker::players_after(const protocol::TranscriptDigest& digest) const {
  // A decoded digest names each player once (PROTOCOL.md §2.6), so every key neither tracked nor
  // carried is one more player. A carried player counts from the start (players_ and carried_
  // never share a key): a session cannot name enough new keys to push it out of the ledger.
  std::size_t fresh = 0;
  for (const auto& position : digest.players) {
    if (!players_.contains(position.player) && !carried_.contains(position.player)) ++fresh;
  }
  return players_.size() + carried_.size() + fresh;
}

void MovementChecker::carry(const std::vector<NotarizedPosition>& positions) {
  carried_.clear();
  for (const auto& position : positions) carried_[position.player] = position;
}

std::vector<NotarizedPosition> MovementChecker::notarized(protocol::SessionId session_id) const {
  std::vector<NotarizedPosition> out;
  out.reserve(players_.size() + carried_.size());
  for (const auto& [player, state] : players_) {
    out.push_back(NotarizedPosition{player, state.x_mm, state.y_mm, state.at.vs_receive_ms,
                                    state.at.log_seq, session_id, state.last_spawn_vs_ms});
  }
  // A carried player the session never named keeps its earlier position, as it came.
  for (const auto& [player, position] : carried_) out.push_back(position);
  return out;
}

MovementChecker::CreditedClock MovementChecker::clock_at(const DigestSample& sample) const {
  // c = clamp(c_prev + e_gs, v - J, v) and p = clamp(p_prev + e_gs, v - L, v); the first digest
  // starts both at v - J, with the whole allowance ahead of it. v - J and v - L stop at 0.
  const std::uint64_t vs_ms = sample.vs_receive_ms;
  const std::uint64_t earliest = elapsed_since(vs_ms, limits_.jitter_allowance_ms);
  if (!clock_) return {earliest, earliest, sample.gs_time_ms};
  const std::uint64_t gs_elapsed = elapsed_since(sample.gs_time_ms, clock_->gs_time_ms);
  // Tested against the room left below v, so that a GS time near 2^64 cannot wrap the sum.
  const auto advanced = [&](std::uint64_t previous) {
    return previous >= vs_ms || gs_elapsed >= vs_ms - previous ? vs_ms : previous + gs_elapsed;
  };
  return {std::max(advanced(clock_->credited_ms), earliest),
          std::max(advanced(clock_->paced_ms), elapsed_since(vs_ms, limits_.max_lateness_ms)),
          sample.gs_time_ms};
}

void MovementChecker::measure(const PlayerState& from, const protocol::PlayerPosition& to,
                              const DigestSample& sample, Elapsed elapsed,
                              MovementStep& step) const {
  const double dx = static_cast<double>(to.x_mm) - from.x_mm;
  const double dy = static_cast<double>(to.y_mm) - from.y_mm;
  step.distance_mm = std::hypot(dx, dy);
  step.elapsed_vs_ms = elapsed_since(sample.vs_receive_ms, from.at.vs_receive_ms);
  if (elapsed == Elapsed::kGsAndVs) {
    step.elapsed_gs_ms = elapsed_since(sample.gs_time_ms, from.at.gs_time_ms);
    // The session's clock, not this step's VS gap plus the allowance: granted per step, the
    // allowance would add up over a chain of steps (§8.6 "What the rule is meant to do").
    step.elapsed_credited_ms = elapsed_since(checking_.credited_ms, from.credited_ms);
    // No floor: a step credited no time (the second of two digests in one instant of the
    // credited clock) allows no distance, or a burst of digests would earn time per digest.
    step.elapsed_used_ms = std::min(step.elapsed_gs_ms, step.elapsed_credited_ms);
    step.elapsed_paced_ms =
        std::min(step.elapsed_gs_ms, elapsed_since(checking_.paced_ms, from.paced_ms));
  } else {
    // Two sessions' GS times are two readings the VS cannot hold to one clock (a GS host that
    // restarted, or whose clock was stepped): only the VS's own gap counts, on either clock.
    step.elapsed_gs_ms = 0;
    step.elapsed_credited_ms = 0;
    step.elapsed_used_ms = step.elapsed_vs_ms + limits_.jitter_allowance_ms;
    step.elapsed_paced_ms = step.elapsed_used_ms;
  }
  const double limit_mm_s = limits_.max_speed_mm_s * (1.0 + limits_.tolerance);
  // The excess over `elapsed_ms` of time, accumulated onto `before`. The old excess decays with
  // the time, not per step: however often a GS steps, the excess it may shed stays the same per
  // second (§8.6 "The arithmetic").
  const auto accumulated = [&](double before, std::uint64_t elapsed_ms, double& excess) {
    const double allowed = limit_mm_s * (static_cast<double>(elapsed_ms) / 1000.0);
    excess = std::max(0.0, step.distance_mm - allowed);
    return before * decay_over(limits_.decay, elapsed_ms) + excess;
  };
  // Reported only; over at least 1 ms, so that a step credited no time still shows a number.
  step.speed_mm_s =
      step.distance_mm /
      (static_cast<double>(std::max<std::uint64_t>(1, step.elapsed_used_ms)) / 1000.0);
  step.allowed_mm = limit_mm_s * (static_cast<double>(step.elapsed_used_ms) / 1000.0);
  step.accumulated_excess_mm =
      accumulated(from.accumulated_excess_mm, step.elapsed_used_ms, step.excess_mm);
  double paced_excess_mm = 0;
  step.accumulated_paced_excess_mm =
      accumulated(from.accumulated_paced_excess_mm, step.elapsed_paced_ms, paced_excess_mm);
}

bool MovementChecker::free_spawn(const protocol::PlayerPosition& position,
                                 std::uint64_t last_spawn_vs_ms, const DigestSample& sample) const {
  return (position.flags & protocol::kPlayerSpawn) != 0 &&
         spawn_place_allowed(limits_.spawn_zones, position.x_mm, position.y_mm) &&
         (last_spawn_vs_ms == 0 ||
          sample.vs_receive_ms >= last_spawn_vs_ms + limits_.spawn_min_interval_ms);
}

MovementChecker::PlayerState MovementChecker::first_appearance(
    const protocol::PlayerPosition& position, const DigestSample& sample,
    MovementStep& step) const {
  const auto carried = carried_.find(position.player);
  if (carried == carried_.end()) {
    // Nowhere to be held to: free, and a spawn flag starts the rate limit.
    step.spawn = true;
    const bool wants_spawn = (position.flags & protocol::kPlayerSpawn) != 0;
    return PlayerState{position.x_mm, position.y_mm, sample,
                       0.0,           0.0,           wants_spawn ? sample.vs_receive_ms : 0};
  }
  const NotarizedPosition& last = carried->second;
  // A new session buys no spawn that the session before would not have given: the rate limit
  // counts from the player's last free spawn under the identity.
  if (free_spawn(position, last.last_spawn_vs_ms, sample)) {
    step.spawn = true;
    return PlayerState{position.x_mm, position.y_mm, sample, 0.0, 0.0, sample.vs_receive_ms};
  }
  const PlayerState from{last.x_mm, last.y_mm, DigestSample{0, last.vs_time_ms, last.log_seq}};
  step.from_session = last.session_id;
  step.from_log_seq = last.log_seq;
  step.to_log_seq = sample.log_seq;
  step.from_x_mm = last.x_mm;
  step.from_y_mm = last.y_mm;
  step.to_x_mm = position.x_mm;
  step.to_y_mm = position.y_mm;
  // The new session's excess starts from none: the step is judged on its own excess.
  measure(from, position, sample, Elapsed::kVsOnly, step);
  // The carried spawn stays the player's last: a spawn flag that was checked is no spawn.
  return PlayerState{position.x_mm, position.y_mm, sample, 0.0, 0.0, last.last_spawn_vs_ms};
}

std::vector<MovementStep> MovementChecker::check(const protocol::TranscriptDigest& digest,
                                                 const DigestSample& sample,
                                                 OnViolation on_violation) {
  std::vector<MovementStep> steps;
  // Refused before any state is inserted: memory never exceeds the cap, whatever the GS sends.
  if (over_player_cap(digest)) return steps;
  // Every digest moves the session's clock, one naming no player too; the steps read it.
  checking_ = clock_at(sample);
  steps.reserve(digest.players.size());
  // The references move only once the whole digest is accepted: a refused digest is not
  // notarized, so the positions it names are nobody's last notarized position.
  std::vector<std::pair<const protocol::PublicKey*, PlayerState>> staged;
  staged.reserve(digest.players.size());
  for (const auto& position : digest.players) {
    MovementStep step;
    step.player = position.player;
    auto it = players_.find(position.player);
    if (it == players_.end()) {
      staged.emplace_back(&position.player, first_appearance(position, sample, step));
    } else {
      const PlayerState& state = it->second;
      step.from_log_seq = state.at.log_seq;
      step.to_log_seq = sample.log_seq;
      step.from_x_mm = state.x_mm;
      step.from_y_mm = state.y_mm;
      step.to_x_mm = position.x_mm;
      step.to_y_mm = position.y_mm;
      if (free_spawn(position, state.last_spawn_vs_ms, sample)) {
        step.spawn = true;
        staged.emplace_back(
            &position.player,
            PlayerState{position.x_mm, position.y_mm, sample, state.accumulated_excess_mm,
                        state.accumulated_paced_excess_mm, sample.vs_receive_ms});
      } else {
        measure(state, position, sample, Elapsed::kGsAndVs, step);
        staged.emplace_back(
            &position.player,
            PlayerState{position.x_mm, position.y_mm, sample, step.accumulated_excess_mm,
                        step.accumulated_paced_excess_mm, state.last_spawn_vs_ms});
      }
    }
    steps.push_back(step);
  }
  // A step over the limit on the credited clock refuses the digest. The violation is the first
  // such step that is over it on the paced clock too, if any: a jump beside a late step is a
  // speed violation; otherwise the first such step, late (§8.6 "Late digests"). Only the reason
  // and the step cited depend on the paced clock, never whether the digest is refused.
  const auto over = [&](const MovementStep& step, bool paced) {
    return !step.spawn && step.accumulated_excess_mm > limits_.max_excess_mm &&
           (!paced || step.accumulated_paced_excess_mm > limits_.max_excess_mm);
  };
  auto violation = std::find_if(steps.begin(), steps.end(),
                                [&](const MovementStep& step) { return over(step, true); });
  const bool late = violation == steps.end();
  if (late) {
    violation = std::find_if(steps.begin(), steps.end(),
                             [&](const MovementStep& step) { return over(step, false); });
  }
  const bool violated = violation != steps.end();
  if (violated) {
    violation->violation = true;
    violation->late = late;
  }
  if (violated && on_violation == OnViolation::kKeepState) return steps;
  clock_ = checking_;
  for (auto& [player, state] : staged) {
    state.credited_ms = checking_.credited_ms;  // every staged reference is this digest
    state.paced_ms = checking_.paced_ms;
    players_[*player] = state;
    carried_.erase(*player);
  }
  return steps;
}

std::string describe_player_cap(std::size_t players_after, std::size_t carried,
                                const MovementLimits& limits) {
  return "the digest names players the session has not named before, raising the distinct "
         "players of the session to " +
         std::to_string(players_after) +
         (carried == 0 ? std::string()
                       : " (" + std::to_string(carried) +
                             " of them carried from the identity's earlier session)") +
         ", over max_players_per_session " + std::to_string(limits.max_players);
}

std::string describe_violation(const MovementStep& step, const MovementLimits& limits) {
  // Times in s and lengths in m, from ms and mm: each a double divided by 1000.0 (§8.6).
  const auto s = [](std::uint64_t ms) { return static_cast<double>(ms) / 1000.0; };
  const auto m = [](double mm) { return mm / 1000.0; };
  const std::string player = to_hex(step.player).substr(0, 16);
  char text[512];
  if (step.from_session) {
    std::snprintf(text, sizeof text,
                  "player %s moved %.3f m in %.3f s since its last notarized position in session "
                  "%" PRIu64
                  " (VS-observed gap %.3f s + %.3f s jitter allowance): %.2f m/s against a "
                  "limit of %.2f m/s x %.2f tolerance; excess %.3f m > %.3f m",
                  player.c_str(), m(step.distance_mm), s(step.elapsed_used_ms), *step.from_session,
                  s(step.elapsed_vs_ms), s(limits.jitter_allowance_ms), m(step.speed_mm_s),
                  m(limits.max_speed_mm_s), 1.0 + limits.tolerance, m(step.accumulated_excess_mm),
                  m(limits.max_excess_mm));
  } else if (step.late) {
    std::snprintf(text, sizeof text,
                  "player %s moved %.3f m in %.3f s by the GS's clock (paced %.3f s): "
                  "accumulated excess %.3f m on that clock, within %.3f m at %.2f m/s x %.2f "
                  "tolerance; but its digests arrived later than the %.3f s jitter allowance "
                  "covers: VS-credited %.3f s (VS-observed %.3f s), accumulated excess %.3f m > "
                  "%.3f m",
                  player.c_str(), m(step.distance_mm), s(step.elapsed_gs_ms),
                  s(step.elapsed_paced_ms), m(step.accumulated_paced_excess_mm),
                  m(limits.max_excess_mm), m(limits.max_speed_mm_s), 1.0 + limits.tolerance,
                  s(limits.jitter_allowance_ms), s(step.elapsed_credited_ms), s(step.elapsed_vs_ms),
                  m(step.accumulated_excess_mm), m(limits.max_excess_mm));
  } else {
    std::snprintf(text, sizeof text,
                  "player %s moved %.3f m in %.3f s (GS-reported %.3f s, VS-credited %.3f s, "
                  "VS-observed %.3f s + %.3f s jitter allowance): %.2f m/s against a limit of "
                  "%.2f m/s x %.2f tolerance; accumulated excess %.3f m > %.3f m",
                  player.c_str(), m(step.distance_mm), s(step.elapsed_used_ms),
                  s(step.elapsed_gs_ms), s(step.elapsed_credited_ms), s(step.elapsed_vs_ms),
                  s(limits.jitter_allowance_ms), m(step.speed_mm_s), m(limits.max_speed_mm_s),
                  1.0 + limits.tolerance, m(step.accumulated_excess_mm), m(limits.max_excess_mm));
  }
  return text;
}

}  // namespace gsvs::rules
