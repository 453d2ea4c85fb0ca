// Builds the timeline model (timeline_model.h): replays the movement rule over every digest of
// a session, for every player, also past the first violation and past the revocation.
#include "audit-cli/timeline_model.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "audit-cli/session_continuity.h"

namespace gsvs::audit::timeline {

namespace {

// Judges one step as the rule does, but for every player and every digest: the VS's checker
// stops at the first violation of a digest and the VS stops judging at the revocation, so the
// players who broke the rule beside the first, or after it, are found only here.
void judge(Row& row, const rules::MovementLimits& limits) {
  row.checked = true;
  row.over_limit = row.step.excess_mm > 0;
  row.violation =
      row.revoked_here || (row.over_limit && row.step.accumulated_excess_mm > limits.max_excess_mm);
  // The VS's own check names the revocation's step; any other is late when its paced clock keeps
  // it within the limit, as the rule would have named it alone in its digest.
  row.late = row.violation &&
             (row.revoked_here ? row.step.late
                               : row.step.accumulated_paced_excess_mm <= limits.max_excess_mm);
  row.event = row.late         ? "late"
              : row.violation  ? "violation"
              : row.over_limit ? "over_limit"
                               : "move";
}

}  // namespace

Timeline build(SessionReplay replay, const std::string& prefix) {
  Timeline t;
  t.limits = replay.facts.limits;
  t.limit_mm_s = t.limits.max_speed_mm_s * (1.0 + t.limits.tolerance);
  // Replays the rule over the digests the VS judged and, past the revocation, over those that
  // carry the session's valid signature, as the VS would have had the session gone on.
  rules::MovementChecker physics(t.limits);
  // From where the earlier sessions left the players, as the VS judged the session.
  physics.carry(replay.carried);
  std::map<protocol::PublicKey, std::size_t> index;
  for (const auto& d : replay.digests) {
    const bool judged_by_vs = d.steps.size() == d.players.size();
    const bool after_revocation = d.verdict == Verdict::kAfterRevocation;
    std::vector<rules::MovementStep> steps;
    if (judged_by_vs || (after_revocation && d.signature == SigState::kValid)) {
      protocol::TranscriptDigest digest;
      digest.players = d.players;
      // On after a violation, as the VS would have judged each digest had it not ended the
      // session.
      steps = physics.check(digest, rules::DigestSample{d.gs_time_ms, d.vs_time_ms, d.seq},
                            rules::OnViolation::kApplyPositions);
    }
    for (std::size_t i = 0; i < d.players.size(); ++i) {
      const auto& p = d.players[i];
      auto [it, added] = index.try_emplace(p.player, t.tracks.size());
      if (added)
        t.tracks.push_back(Track{p.player, {}, false, carried_of(replay.carried, p.player)});
      Track& track = t.tracks[it->second];
      Row row;
      row.seq = d.seq;
      row.vs_time_ms = d.vs_time_ms;
      row.gs_time_ms = d.gs_time_ms;
      row.x_mm = p.x_mm;
      row.y_mm = p.y_mm;
      row.after_revocation = after_revocation;
      if (!steps.empty()) {
        row.step = judged_by_vs ? d.steps[i] : steps[i];
        row.revoked_here = judged_by_vs && row.step.violation;
        if (row.step.spawn) {
          row.event = track.judged ? "spawn" : "first";
        } else {
          judge(row, t.limits);
        }
        track.judged = true;
      } else if (after_revocation) {
        row.event = "after_revocation (signature does not verify: not judged)";
      } else {
        row.event = "refused (" + std::string(verdict_name(d.verdict)) + ")";
      }
      track.rows.push_back(std::move(row));
    }
  }
  if (!prefix.empty()) {
    std::string lower = prefix;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::erase_if(t.tracks, [&](const Track& track) { return !track.hex().starts_with(lower); });
  }
  t.replay = std::move(replay);
  return t;
}

std::string counted(std::size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string track_summary(const Track& track) {
  const std::size_t after = track.count(&Row::violation, true);
  const std::size_t late = track.count(&Row::late);
  return "top " + fixed(track.max_speed_mm_s() / 1000.0, 2) + " m/s; " +
         counted(track.count(&Row::over_limit), "step", "steps") + " over the limit, " +
         counted(track.count(&Row::violation), "violation", "violations") +
         (after ? " (" + std::to_string(after) + " after the revocation)" : std::string()) +
         (late ? ", " + std::to_string(late) + " of them late (within the limit on the GS's clock)"
               : std::string());
}

std::string outcome_line(const SessionFacts& f) {
  if (!f.revocation) return "active (no revocation in the log)";
  return std::string(f.outcome() == Outcome::kEnded ? "ended" : "revoked") + ": " +
         revocation_reason_label(f.revocation->message.reason) + " at entry " +
         std::to_string(f.revocation->seq) + " (" + format_utc(f.revocation->vs_time_ms) + ")";
}

}  // namespace gsvs::audit::timeline
