// The model behind `audit-cli timeline`: every player's track through a session's digests, each
// step judged again with rules::MovementChecker, and the few lines of text every output shares.
// Built in timeline_model.cpp; drawn as SVG by timeline_svg.cpp; table, JSON and CSV are in
// timeline.cpp with the subcommand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "audit-cli/common.h"
#include "audit-cli/replay.h"
#include "rules/movement.h"

namespace gsvs::audit::timeline {

// One player at one digest.
struct Row {
  std::uint64_t seq = 0;
  std::uint64_t vs_time_ms = 0;
  std::uint64_t gs_time_ms = 0;
  std::int32_t x_mm = 0;
  std::int32_t y_mm = 0;
  // first, spawn, move, over_limit, violation, late, refused (why), after_revocation (why not
  // judged)
  std::string event;
  bool checked = false;     // a move the rule judged (move, over_limit or violation)
  bool over_limit = false;  // faster than the limit (excess above zero)
  // Over the limit with the accumulated excess above max_excess: the rule broken. The VS revokes
  // on the first such step of a digest; every one is flagged here.
  bool violation = false;
  // A violation the GS's own clock explains: within the limit on the session's paced clock, so
  // the excess comes from time late digests forfeited (digests_late, PROTOCOL.md §8.6 "Late
  // digests"), not from the player's speed.
  bool late = false;
  bool revoked_here = false;      // the step the VS's own check flagged (the revocation's)
  bool after_revocation = false;  // the VS no longer judged it: recomputed here only
  rules::MovementStep step;
};

struct Track {
  protocol::PublicKey player;
  std::vector<Row> rows;
  bool judged = false;  // the rule has seen this player (its next unchecked step is a respawn)
  // Where an earlier session of the identity left the player (PROTOCOL.md §8.6), which its first
  // appearance here is checked from.
  std::optional<rules::NotarizedPosition> carried;
  [[nodiscard]] std::string hex() const { return to_hex(player); }
  [[nodiscard]] double max_speed_mm_s() const {
    double top = 0;
    for (const auto& r : rows) {
      if (r.checked) top = std::max(top, r.step.speed_mm_s);
    }
    return top;
  }
  [[nodiscard]] std::size_t count(bool Row::*flag, bool only_after_revocation = false) const {
    return static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [&](const Row& r) {
      return r.*flag && (!only_after_revocation || r.after_revocation);
    }));
  }
};

struct Timeline {
  SessionReplay replay;
  rules::MovementLimits limits;
  double limit_mm_s = 0;
  std::vector<Track> tracks;  // in order of first appearance
  [[nodiscard]] std::size_t total(bool Row::*flag, bool only_after_revocation = false) const {
    std::size_t n = 0;
    for (const auto& track : tracks) n += track.count(flag, only_after_revocation);
    return n;
  }
};

// The timeline of `replay`, only the players whose key starts with the hex `prefix` (empty: all).
Timeline build(SessionReplay replay, const std::string& prefix);

// "2 violations", "1 step over the limit".
std::string counted(std::size_t n, const std::string& one, const std::string& many);
// What a player did over the whole session, for the table, the picture and the legend.
std::string track_summary(const Track& track);
// "revoked: speed_violation (5) at entry 42 (...)", or "active (no revocation in the log)".
std::string outcome_line(const SessionFacts& f);

// The picture: each track on a map, speed over VS time with the limit, violations marked.
void write_svg(const Timeline& t, std::ostream& out);

}  // namespace gsvs::audit::timeline
