#include "gsd/world.h"

#include <algorithm>
#include <cmath>

namespace gsvs::gsd {

World::World(WorldLimits limits) : limits_(limits) {}

bool World::add_player(const crypto::PublicKey& player) {
  auto [it, inserted] = players_.try_emplace(player);
  if (inserted) it->second.at = Position{limits_.width_mm / 2, limits_.height_mm / 2};
  return inserted;
}

std::optional<Position> World::position(const crypto::PublicKey& player) const {
  auto it = players_.find(player);
  if (it == players_.end()) return std::nullopt;
  return it->second.at;
}

Position World::clamp(std::int64_t x, std::int64_t y) const {
  return Position{static_cast<std::int32_t>(std::clamp<std::int64_t>(x, 0, limits_.width_mm)),
                  static_cast<std::int32_t>(std::clamp<std::int64_t>(y, 0, limits_.height_mm))};
}

Position World::move(const crypto::PublicKey& player, std::int32_t dx_mm, std::int32_t dy_mm,
                     std::uint64_t now_ms, double credit_factor) {
  Player& p = players_[player];
  const std::uint64_t in_window_ms =
      (now_ms > window_start_ms_ ? now_ms - window_start_ms_ : 0) + limits_.slack_ms;
  std::uint64_t elapsed_ms = limits_.tick_ms;
  if (p.last_move_ms) elapsed_ms = now_ms > *p.last_move_ms ? now_ms - *p.last_move_ms : 0;
  elapsed_ms = std::min(elapsed_ms, in_window_ms);
  p.last_move_ms = now_ms;
  const double budget_mm =
      limits_.max_speed_mm_s * static_cast<double>(elapsed_ms) / 1000.0 * credit_factor;
  double dx = dx_mm;
  double dy = dy_mm;
  const double length = std::hypot(dx, dy);
  if (length > budget_mm) {
    const double scale = length > 0 ? budget_mm / length : 0.0;
    // Toward zero, so the applied move never exceeds the budget by rounding.
    dx = std::trunc(dx * scale);
    dy = std::trunc(dy * scale);
  }
  p.at = clamp(std::int64_t{p.at.x_mm} + static_cast<std::int64_t>(dx),
               std::int64_t{p.at.y_mm} + static_cast<std::int64_t>(dy));
  return p.at;
}

Position World::displace(const crypto::PublicKey& player, std::int64_t dx_mm, std::int64_t dy_mm) {
  Player& p = players_[player];
  p.at = clamp(std::int64_t{p.at.x_mm} + dx_mm, std::int64_t{p.at.y_mm} + dy_mm);
  return p.at;
}

}  // namespace gsvs::gsd
