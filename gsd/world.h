// The authoritative game state of one match: a 2-D world in millimetres where each accepted input
// requests a displacement and the GS decides how far the player really goes. Pure logic, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"

namespace gsvs::gsd {

struct Position {
  std::int32_t x_mm = 0;
  std::int32_t y_mm = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

struct WorldLimits {
  std::int32_t width_mm = 100'000;   // x in [0, width_mm]
  std::int32_t height_mm = 100'000;  // y in [0, height_mm]
  double max_speed_mm_s = 7000.0;
  std::uint64_t tick_ms = 50;  // a player's first move is credited with one tick at most
  // The VS audits the distance between consecutive digests (docs/PROTOCOL.md §8.6), so a move is
  // credited only with time inside the current digest window, plus this much from before it.
  // Time a player spent idle before the window is not banked: a player idle for a minute must
  // not cover a minute's distance in one input, which the VS would see as a teleport. With the
  // slack within the VS's tolerance, no window's distance exceeds what the VS allows.
  std::uint64_t slack_ms = 25;
  // Where a new player enters the world: spawn_point() of the VS's spawn zones; none: the centre.
  std::optional<Position> spawn;
};

// A point inside both the world [0, width_mm] x [0, height_mm] and one of `zones` (the first that
// yields one: a rectangle's overlap with the world at its centre, a circle's centre clamped into
// the world if that stays in the circle), where a spawn is free at the VS (PROTOCOL.md §8.6 "Spawn
// zones"); nullopt when `zones` is empty or none of them yields a point.
[[nodiscard]] std::optional<Position> spawn_point(const std::vector<protocol::SpawnZone>& zones,
                                                  std::int32_t width_mm, std::int32_t height_mm);

class World {
 public:
  explicit World(WorldLimits limits);

  // Places a player not seen before at the spawn point (the centre); a known player keeps its
  // position (a reconnecting client continues where it was). Returns true if it is new.
  bool add_player(const crypto::PublicKey& player);
  [[nodiscard]] std::optional<Position> position(const crypto::PublicKey& player) const;
  // Forgets a player (gsd/admission.h decides when); it spawns anew if it comes back.
  void remove_player(const crypto::PublicKey& player) { players_.erase(player); }

  // A digest was taken at `now_ms`: a new audit window starts.
  void begin_window(std::uint64_t now_ms) { window_start_ms_ = now_ms; }

  // Applies a requested displacement at `now_ms` (the match clock). Its length is capped at
  // max_speed * credit * credit_factor (1 for an honest server), where credit is the time since
  // the player's last applied move, but at most the time since the window began plus slack_ms
  // (the first move: at most one tick). The result is clamped to the world. Returns the new
  // position. The player must have been added.
  Position move(const crypto::PublicKey& player, std::int32_t dx_mm, std::int32_t dy_mm,
                std::uint64_t now_ms, double credit_factor = 1.0);

  // Moves the player by exactly (dx, dy), clamped: for the rogue program's cheats only.
  Position displace(const crypto::PublicKey& player, std::int64_t dx_mm, std::int64_t dy_mm);

  [[nodiscard]] const WorldLimits& limits() const { return limits_; }
  [[nodiscard]] std::size_t size() const { return players_.size(); }

 private:
  struct Player {
    Position at;
    std::optional<std::uint64_t> last_move_ms;
  };
  [[nodiscard]] Position clamp(std::int64_t x, std::int64_t y) const;

  WorldLimits limits_;
  std::uint64_t window_start_ms_ = 0;
  std::map<crypto::PublicKey, Player> players_;
};

}  // namespace gsvs::gsd
