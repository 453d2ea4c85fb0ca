// The movement rule (PROTOCOL.md §8.6): per player, speed between consecutive notarized
// positions, with the elapsed time bounded by the session's credited clock (the GS's clock held
// within jitter_allowance_ms of the VS's own receive clock), and action only on accumulated
// excess; a violation the GS's own clock explains (its digests came late) is told apart by the
// paced clock (§8.6 "Late digests"). Pure logic, no I/O: vsd applies it live and audit-cli
// replays it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace gsvs::rules {

struct MovementLimits {
  double max_speed_mm_s = 7000.0;
  double tolerance = 0.10;                   // allowed = max_speed * (1 + tolerance)
  std::uint64_t jitter_allowance_ms = 1000;  // how far the credited clock may trail the VS's
  // How far the paced clock may trail the VS's (§8.6 "Late digests"): the JoinAccept's
  // heartbeat_timeout_ms plus jitter_allowance_ms. A link silent for longer ends the session with
  // missed_heartbeats, so no honest digest comes later than that.
  std::uint64_t max_lateness_ms = 3000;
  double decay = 0.9;             // accumulated excess kept per kDecayPeriodMs
  double max_excess_mm = 1000.0;  // revoke once accumulated excess exceeds this
  std::uint64_t spawn_min_interval_ms = 5000;
  // Distinct players one session may name over its life: the checker keeps state per player, so
  // this bounds its memory. A digest naming one more is a fault of the GS (too_many_players).
  std::uint32_t max_players = 4096;
  // Continuity across sessions (§8.6): how long before a new session's JoinAccept a player's
  // last notarized position under the same identity still holds its first position (0: never).
  std::uint64_t continuity_window_ms = 0;
  // Where a spawn is free; empty: anywhere (§8.6 "Spawn zones").
  std::vector<protocol::SpawnZone> spawn_zones;
};

// The credited time over which the accumulated excess keeps `decay` of itself (§8.6 "The
// arithmetic"): the default interval between a GS's digests, so that a GS stepping at that pace
// is judged as when the excess decayed once per step.
inline constexpr std::uint64_t kDecayPeriodMs = 500;
// What the accumulated excess keeps over `elapsed_ms` of credited time: decay^(elapsed_ms /
// kDecayPeriodMs), exactly `decay` at one period and 1 at none.
[[nodiscard]] double decay_over(double decay, std::uint64_t elapsed_ms);

// Whether (x, y) lies in `zone`, edges included. Exact integer arithmetic.
[[nodiscard]] bool in_spawn_zone(const protocol::SpawnZone& zone, std::int32_t x_mm,
                                 std::int32_t y_mm);
// Whether a spawn at (x, y) may be free under `zones`: no zones, or inside one of them.
[[nodiscard]] bool spawn_place_allowed(const std::vector<protocol::SpawnZone>& zones,
                                       std::int32_t x_mm, std::int32_t y_mm);

// A player's position as a notarized digest of an earlier session of the same GS identity
// left it (§8.6 "Continuity across sessions"): where the next session's first position of the
// player is checked from, and when the player last spawned free, which the spawn rate limit of
// the next session counts from.
struct NotarizedPosition {
  protocol::PublicKey player;
  std::int32_t x_mm = 0;
  std::int32_t y_mm = 0;
  std::uint64_t vs_time_ms = 0;  // the digest's log entry
  std::uint64_t log_seq = 0;     // the digest's position in the log
  protocol::SessionId session_id = 0;
  // VS time of the player's last free spawn under the identity, at or before vs_time_ms; 0: none
  // (or, once carried, none within the window).
  std::uint64_t last_spawn_vs_ms = 0;
  friend bool operator==(const NotarizedPosition&, const NotarizedPosition&) = default;
};

// The limits a JoinAccept announces, as the VS and every auditor apply them.
MovementLimits limits_from(const protocol::JoinAccept& accept);
// Writes limits into a JoinAccept (rounded to its integer units).
void announce_limits(const MovementLimits& limits, protocol::JoinAccept& accept);

// One player's step between two digests, with every number the verdict rests on.
struct MovementStep {
  protocol::PublicKey player;
  double distance_mm = 0;
  std::uint64_t elapsed_gs_ms = 0;  // GS-reported time delta (0 if it went backwards)
  std::uint64_t elapsed_vs_ms = 0;  // VS receive-time delta
  // The session's credited clock between the two digests (0 if it went back); 0 for a step from
  // an earlier session, which uses the VS receive-time delta plus the jitter allowance instead.
  std::uint64_t elapsed_credited_ms = 0;
  std::uint64_t elapsed_used_ms = 0;  // min(gs, credited)
  // The same step on the session's paced clock, which keeps up to max_lateness_ms of the time a
  // late digest forfeits (§8.6 "Late digests"): min(gs, paced), and the accumulated excess over
  // it. They decide only a violation's reason and which step it cites.
  std::uint64_t elapsed_paced_ms = 0;
  double accumulated_paced_excess_mm = 0;
  double speed_mm_s = 0;
  double allowed_mm = 0;
  double excess_mm = 0;
  double accumulated_excess_mm = 0;
  bool spawn = false;  // first appearance or accepted spawn: not checked
  // A first appearance checked from the player's position in an earlier session (§8.6
  // "Continuity across sessions"): that session; elapsed_gs_ms is then not used (0).
  std::optional<protocol::SessionId> from_session;
  bool violation = false;
  // A violation that the GS's own clock explains: within the limit on the paced clock, as is
  // every other step of the digest, so the excess comes from time the credited clock forfeited
  // to late digests (digests_late, §8.6).
  bool late = false;
  std::uint64_t from_log_seq = 0;  // the two digests the step lies between
  std::uint64_t to_log_seq = 0;
  std::int32_t from_x_mm = 0, from_y_mm = 0, to_x_mm = 0, to_y_mm = 0;
};

struct DigestSample {
  std::uint64_t gs_time_ms = 0;
  std::uint64_t vs_receive_ms = 0;  // the VS's clock when it received the digest
  std::uint64_t log_seq = 0;
};

// What a digest with a violation leaves behind: nothing, as the VS refuses it and so notarizes
// none of its positions; or its positions, for a display that goes on judging the digests after a
// revocation as if the session had not ended (audit-cli timeline).
enum class OnViolation : std::uint8_t { kKeepState, kApplyPositions };

class MovementChecker {
 public:
  explicit MovementChecker(const MovementLimits& limits) : limits_(limits) {}

  // Checks every player of one digest against its previous position. Returns a step per
  // player. If any step's accumulated excess crosses the limit, one step is marked the
  // violation: the first that crosses it on the paced clock too, else the first, late (§8.6).
  // A digest that would raise the players tracked above limits().max_players is refused whole:
  // no state changes and no steps (tell that case apart with players_after() first).
  std::vector<MovementStep> check(const protocol::TranscriptDigest& digest,
                                  const DigestSample& sample,
                                  OnViolation on_violation = OnViolation::kKeepState);

  // How many distinct players the session would hold after accepting `digest`: those it named,
  // those carried into it and not named yet (carry()), and the digest's new ones.
  [[nodiscard]] std::size_t players_after(const protocol::TranscriptDigest& digest) const;
  // Players carried into the session that it has not named yet.
  [[nodiscard]] std::size_t players_carried() const { return carried_.size(); }
  [[nodiscard]] bool over_player_cap(const protocol::TranscriptDigest& digest) const {
    return players_after(digest) > limits_.max_players;
  }
  [[nodiscard]] std::size_t players_tracked() const { return players_.size(); }
  [[nodiscard]] const MovementLimits& limits() const { return limits_; }
  // The session's credited clock after the last digest the checker accepted (§8.6 "The
  // arithmetic"), in ms of VS time; empty before the first.
  [[nodiscard]] std::optional<std::uint64_t> credited_ms() const {
    return clock_ ? std::optional(clock_->credited_ms) : std::nullopt;
  }
  // Its paced clock (§8.6 "Late digests"), likewise.
  [[nodiscard]] std::optional<std::uint64_t> paced_ms() const {
    return clock_ ? std::optional(clock_->paced_ms) : std::nullopt;
  }

  // The positions an earlier session of the identity left (ContinuityLedger::carried_into): a
  // player's first appearance here is checked as a step from its own (§8.6), unless it is a
  // spawn that would be free inside one session (an allowed place, and the rate limit counted
  // from the carried last spawn); the carried last spawn stays the player's until it spawns
  // again. Replaces any earlier call's. A carried player counts against max_players from the
  // start, named or not, so that no number of new keys can push it out of the ledger (§8.6
  // "Continuity across sessions").
  void carry(const std::vector<NotarizedPosition>& positions);
  // Every player's last notarized position in this session and its last free spawn, and each
  // carried player the session did not name as it was carried: the identity's ledger after the
  // session (session_id: this session's). Only accepted digests move a position: a refused one
  // leaves the state as it was.
  [[nodiscard]] std::vector<NotarizedPosition> notarized(protocol::SessionId session_id) const;

 private:
  struct PlayerState {
    std::int32_t x_mm = 0;
    std::int32_t y_mm = 0;
    DigestSample at;
    double accumulated_excess_mm = 0;
    double accumulated_paced_excess_mm = 0;  // over the paced clock (§8.6 "Late digests")
    std::uint64_t last_spawn_vs_ms = 0;
    std::uint64_t credited_ms = 0;  // the session's credited clock at the digest `at`
    std::uint64_t paced_ms = 0;     // and its paced clock
  };
  // The session's credited clock at one digest: what the GS's clock has earned, in ms of VS
  // time, never ahead of the VS's receive time nor more than jitter_allowance_ms behind it.
  // Beside it the paced clock: the GS's clock never ahead of the VS's, and lifted only to
  // max_lateness_ms behind it, so it keeps the time a late digest forfeits (§8.6 "Late digests").
  struct CreditedClock {
    std::uint64_t credited_ms = 0;
    std::uint64_t paced_ms = 0;
    std::uint64_t gs_time_ms = 0;  // that digest's, from which the next one's GS delta counts
  };
  // The clock at `sample`, the digest after the last accepted one (§8.6 "The arithmetic").
  [[nodiscard]] CreditedClock clock_at(const DigestSample& sample) const;
  // Where the elapsed time of a step comes from: both clocks within a session; across sessions
  // only the VS's (§8.6).
  enum class Elapsed : std::uint8_t { kGsAndVs, kVsOnly };
  // The one computation of a step (§8.6 "The arithmetic"): distance, elapsed time, speed,
  // allowed distance and excess, and the accumulated excesses from those of `from`. A step within
  // the session reads the clocks of the digest being checked (checking_).
  void measure(const PlayerState& from, const protocol::PlayerPosition& to,
               const DigestSample& sample, Elapsed elapsed, MovementStep& step) const;
  // Whether a spawn flag at `position` is free (§8.6 "Spawn"): an allowed place, and no free
  // spawn of the player (0: none) within spawn_min_interval_ms before the sample.
  [[nodiscard]] bool free_spawn(const protocol::PlayerPosition& position,
                                std::uint64_t last_spawn_vs_ms, const DigestSample& sample) const;
  // A player's first appearance in this session at `position` (step.spawn unless a carried
  // position checks it): its reference from now on.
  PlayerState first_appearance(const protocol::PlayerPosition& position, const DigestSample& sample,
                               MovementStep& step) const;

  MovementLimits limits_;
  std::map<protocol::PublicKey, PlayerState> players_;
  std::map<protocol::PublicKey, NotarizedPosition> carried_;  // not yet named in this session
  std::optional<CreditedClock> clock_;  // at the last accepted digest; empty before the first
  CreditedClock checking_;              // at the digest check() is judging
};

// The revocation detail of a violating step; a step from an earlier session says so, and so does
// a late one (digests_late).
std::string describe_violation(const MovementStep& step, const MovementLimits& limits);
// Why a digest breaks the player cap: `players_after` distinct players, `carried` of them carried
// from the identity's earlier session and not named yet, against the limit.
std::string describe_player_cap(std::size_t players_after, std::size_t carried,
                                const MovementLimits& limits);

}  // namespace gsvs::rules
