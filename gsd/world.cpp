#include "gsd/world.h"

#include <algorithm>
#include <cmath>

#include "rules/movement.h"

namespace gsvs::gsd {

World::World(WorldLimits limits) : limits_(limits) {}

bool World::add_player(const crypto::PublicKey& player) {
  auto [it, inserted] = players_.try_emplace(player);
  if (inserted) {
    it->second.at = limits_.spawn.value_or(Position{limits_.width_mm / 2, limits_.height_mm / 2});
  }
  return inserted;
}

std::optional<Position> spawn_point(const std::vector<protocol::SpawnZone>& zones,
                                    std::int32_t width_mm, std::int32_t height_mm) {
  for (const auto& zone : zones) {
    Position at;
    if (zone.shape == static_cast<std::uint8_t>(protocol::SpawnZoneShape::kRectangle)) {
      const std::int32_t x1 = std::max(zone.x_mm, 0);
      const std::int32_t x2 = std::min(zone.x2_mm, width_mm);
      const std::int32_t y1 = std::max(zone.y_mm, 0);
      const std::int32_t y2 = std::min(zone.y2_mm, height_mm);
      if (x1 > x2 || y1 > y2) continue;  // no overlap with the world
      at = Position{x1 + (x2 - x1) / 2, y1 + (y2 - y1) / 2};
    } else {
      at = Position{std::clamp(zone.x_mm, 0, width_mm), std::clamp(zone.y_mm, 0, height_mm)};
    }
    // The VS's own test decides: a point it would not call inside is no spawn point.
    if (rules::in_spawn_zone(zone, at.x_mm, at.y_mm)) return at;
  }
  return std::nullopt;
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
