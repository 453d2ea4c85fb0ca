// audit-cli timeline: the movement of every player of a session, rebuilt from the notarized
// positions (its TranscriptDigests, in log order) and judged again with rules::MovementChecker
// under the limits its JoinAccept announced.
// This file: the subcommand and its table, JSON and CSV outputs; the model is timeline_model.h.
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/message_json.h"
#include "audit-cli/session_continuity.h"
#include "audit-cli/session_index.h"
#include "audit-cli/timeline_model.h"

namespace gsvs::audit {

namespace timeline {
namespace {

struct TimelineCommand {
  std::string store;
  std::uint64_t session = 0;
  std::string player;
  std::string format = "table";
  std::string output;
};

std::string seconds_since(std::uint64_t ms, std::uint64_t origin) {
  const double s = (static_cast<double>(ms) - static_cast<double>(origin)) / 1000.0;
  return (s >= 0 ? "+" : "") + fixed(s, 3);
}

std::string limits_line(const Timeline& t) {
  const auto& l = t.limits;
  return "max speed " + fixed(l.max_speed_mm_s / 1000.0, 2) + " m/s, tolerance " +
         fixed(l.tolerance * 100.0, 1) + " % (limit " + fixed(t.limit_mm_s / 1000.0, 2) +
         " m/s), jitter allowance " + std::to_string(l.jitter_allowance_ms) +
         " ms, excess decay x" + fixed(l.decay, 3) + " per digest, revoke above " +
         fixed(l.max_excess_mm / 1000.0, 3) + " m accumulated, respawn at most every " +
         fixed(static_cast<double>(l.spawn_min_interval_ms) / 1000.0, 1) + " s";
}

// The event column: the judgement in capitals when the rule is broken, and where it stands.
std::string event_text(const Row& r) {
  std::string text = r.late         ? "LATE (within the limit on the GS's clock)"
                     : r.violation  ? "VIOLATION"
                     : r.over_limit ? "over limit"
                                    : r.event;
  if (r.revoked_here) text += " (the revocation's step)";
  if (r.after_revocation && (r.checked || r.step.spawn)) text += ", after the revocation";
  return text;
}

// ---- table --------------------------------------------------------------------------------------

void write_table(const Timeline& t, std::ostream& out) {
  const auto& f = t.replay.facts;
  const std::uint64_t origin = f.start_vs_ms;
  out << "Session " << f.session_id << ": GS " << short_hex(f.accept.gs_identity) << "..., build "
      << short_hex(f.accept.sw_hash) << "..., joined " << format_utc(origin) << " (entry "
      << f.join_accept_seq << ")\n";
  out << "Outcome: " << outcome_line(f) << "\n";
  out << "Rule (JoinAccept at entry " << f.join_accept_seq << "): " << limits_line(t) << "\n";
  out << "VS time: the VS clock when it received the digest, seconds after the join. GS time: "
         "the digest's gs_time_ms, same origin.\nused = min(GS elapsed, VS-credited elapsed: the "
         "GS's clock held within the jitter allowance of the VS's); speed = distance / used; "
         "excess = distance - limit x used; acc = accumulated excess (keeping x decay per 0.5 s "
         "used).\nover limit: faster than the limit. VIOLATION: over the limit with acc above "
         "the revocation threshold; the VS revokes on the first one, every one is listed. LATE: "
         "a violation the GS's own clock explains (its digests arrived late): digests_late, "
         "where no step of the digest is a violation on the GS's clock too. Digests after the "
         "revocation are judged "
         "here as the VS would "
         "have (it no longer did).\n";
  if (t.tracks.empty()) out << "\nNo positions in this session's digests.\n";
  for (const auto& track : t.tracks) {
    out << "\nplayer " << track.hex() << "\n";
    if (track.carried) out << "  carried " << carried_text(*track.carried) << "\n";
    out << std::right << std::setw(8) << "entry" << std::setw(10) << "VS time" << std::setw(10)
        << "GS time" << std::setw(11) << "x (m)" << std::setw(11) << "y (m)" << std::setw(10)
        << "dist (m)" << std::setw(10) << "used (s)" << std::setw(10) << "speed" << std::setw(8)
        << "limit" << std::setw(11) << "excess (m)" << std::setw(9) << "acc (m)"
        << "  event\n";
    for (const auto& r : track.rows) {
      out << std::setw(8) << r.seq << std::setw(10) << seconds_since(r.vs_time_ms, origin)
          << std::setw(10) << seconds_since(r.gs_time_ms, origin) << std::setw(11)
          << fixed(r.x_mm / 1000.0, 3) << std::setw(11) << fixed(r.y_mm / 1000.0, 3);
      if (r.checked) {
        out << std::setw(10) << fixed(r.step.distance_mm / 1000.0, 3) << std::setw(10)
            << fixed(static_cast<double>(r.step.elapsed_used_ms) / 1000.0, 3) << std::setw(10)
            << fixed(r.step.speed_mm_s / 1000.0, 2) << std::setw(8)
            << fixed(t.limit_mm_s / 1000.0, 2) << std::setw(11)
            << fixed(r.step.excess_mm / 1000.0, 3) << std::setw(9)
            << fixed(r.step.accumulated_excess_mm / 1000.0, 3);
      } else {
        out << std::setw(10) << "-" << std::setw(10) << "-" << std::setw(10) << "-" << std::setw(8)
            << "-" << std::setw(11) << "-" << std::setw(9) << "-";
      }
      out << "  " << event_text(r) << "\n";
    }
    out << "  " << track_summary(track) << "\n";
  }
}

// ---- json and csv -------------------------------------------------------------------------------

nlohmann::json row_json(const Row& r, const Timeline& t) {
  nlohmann::json out = {{"seq", r.seq},
                        {"vs_time_ms", r.vs_time_ms},
                        {"vs_time_utc", format_utc(r.vs_time_ms)},
                        {"gs_time_ms", r.gs_time_ms},
                        {"x_mm", r.x_mm},
                        {"y_mm", r.y_mm},
                        {"event", r.event},
                        {"over_limit", r.over_limit},
                        {"violation", r.violation},
                        {"late", r.late},
                        {"revoked_here", r.revoked_here},
                        {"after_revocation", r.after_revocation}};
  if (r.checked) {
    out["distance_mm"] = r.step.distance_mm;
    out["elapsed_gs_ms"] = r.step.elapsed_gs_ms;
    out["elapsed_vs_ms"] = r.step.elapsed_vs_ms;
    out["elapsed_used_ms"] = r.step.elapsed_used_ms;
    out["speed_mm_s"] = r.step.speed_mm_s;
    out["limit_mm_s"] = t.limit_mm_s;
    out["allowed_mm"] = r.step.allowed_mm;
    out["excess_mm"] = r.step.excess_mm;
    out["accumulated_excess_mm"] = r.step.accumulated_excess_mm;
    out["elapsed_paced_ms"] = r.step.elapsed_paced_ms;
    out["accumulated_paced_excess_mm"] = r.step.accumulated_paced_excess_mm;
    out["from_seq"] = r.step.from_log_seq;
  }
  return out;
}

void write_json(const Timeline& t, std::ostream& out) {
  const auto& f = t.replay.facts;
  nlohmann::json players = nlohmann::json::array();
  for (const auto& track : t.tracks) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : track.rows) rows.push_back(row_json(r, t));
    players.push_back({{"player", track.hex()},
                       {"max_speed_mm_s", track.max_speed_mm_s()},
                       {"over_limit", track.count(&Row::over_limit)},
                       {"violations", track.count(&Row::violation)},
                       {"violations_after_revocation", track.count(&Row::violation, true)},
                       {"late_violations", track.count(&Row::late)},
                       {"carried", track.carried ? carried_json(*track.carried) : nullptr},
                       {"rows", rows}});
  }
  nlohmann::json limits = signed_limits_json(f.accept);
  limits["limit_mm_s"] = t.limit_mm_s;
  limits["decay"] = t.limits.decay;
  nlohmann::json doc = {
      {"session_id", f.session_id},
      {"gs_identity", to_hex(f.accept.gs_identity)},
      {"sw_hash", to_hex(f.accept.sw_hash)},
      {"join_accept_seq", f.join_accept_seq},
      {"start_vs_ms", f.start_vs_ms},
      {"outcome", outcome_name(f.outcome())},
      {"revocation_seq", f.revocation ? nlohmann::json(f.revocation->seq) : nullptr},
      {"limits", limits},
      {"players", players}};
  out << json_text(doc) << "\n";
}

void write_csv(const Timeline& t, std::ostream& out) {
  out << "session_id,player,seq,vs_time_ms,vs_time_utc,gs_time_ms,x_mm,y_mm,event,distance_mm,"
         "elapsed_gs_ms,elapsed_vs_ms,elapsed_used_ms,speed_mm_s,limit_mm_s,allowed_mm,excess_mm,"
         "accumulated_excess_mm,violation,over_limit,revoked_here,after_revocation,late\n";
  for (const auto& track : t.tracks) {
    for (const auto& r : track.rows) {
      out << t.replay.facts.session_id << ',' << track.hex() << ',' << r.seq << ',' << r.vs_time_ms
          << ',' << format_utc(r.vs_time_ms) << ',' << r.gs_time_ms << ',' << r.x_mm << ','
          << r.y_mm << ",\"" << r.event << "\",";
      if (r.checked) {
        out << fixed(r.step.distance_mm, 3) << ',' << r.step.elapsed_gs_ms << ','
            << r.step.elapsed_vs_ms << ',' << r.step.elapsed_used_ms << ','
            << fixed(r.step.speed_mm_s, 3) << ',' << fixed(t.limit_mm_s, 3) << ','
            << fixed(r.step.allowed_mm, 3) << ',' << fixed(r.step.excess_mm, 3) << ','
            << fixed(r.step.accumulated_excess_mm, 3);
      } else {
        out << ",,,,,,,,";
      }
      out << ',' << int{r.violation} << ',' << int{r.over_limit} << ',' << int{r.revoked_here}
          << ',' << int{r.after_revocation} << ',' << int{r.late} << '\n';
    }
  }
}

int run_timeline(const TimelineCommand& cmd) {
  using Writer = void (*)(const Timeline&, std::ostream&);
  static const std::map<std::string, Writer> kWriters{
      {"table", write_table}, {"json", write_json}, {"csv", write_csv}, {"svg", write_svg}};
  const auto writer = kWriters.find(cmd.format);
  if (writer == kWriters.end()) throw CommandError("--format must be table, json, csv or svg");
  const auto log = usable(open_store(cmd.store));
  const StoreIndex index = usable(build_index(*log));
  const SessionFacts* facts = usable(index.session(cmd.session, cmd.store));
  Timeline timeline = build(usable(replay_session(*log, *facts, std::nullopt)), cmd.player);
  if (!cmd.player.empty() && timeline.tracks.empty()) {
    throw CommandError("no player of session " + std::to_string(cmd.session) +
                       " has a key starting with '" + cmd.player + "'");
  }
  std::ofstream file;
  if (!cmd.output.empty()) {
    file.open(cmd.output, std::ios::binary | std::ios::trunc);
    if (!file) throw CommandError("cannot write " + cmd.output);
  }
  std::ostream& out = cmd.output.empty() ? std::cout : file;
  writer->second(timeline, out);
  out.flush();
  if (!out) throw CommandError("writing failed");
  return kExitOk;
}

}  // namespace
}  // namespace timeline

void setup_timeline(CLI::App& app, int& exit_code) {
  auto [sub, cmd] = add_command(
      app, exit_code, "timeline",
      "Reconstruct each player's movement in a session and judge it again", timeline::run_timeline);
  sub->description(
      "Rebuilds every player's path from the positions the GS notarized (the session's "
      "TranscriptDigests, in log order) and recomputes each step with the VS's own physics code "
      "(rules::MovementChecker) under the limits the session's JoinAccept announced: distance, "
      "elapsed time (GS-reported, VS-observed, and the one used: min(GS, VS-credited)), speed, "
      "the limit, excess, accumulated excess and whether it is a violation, and a late one (within "
      "the limit on the GS's own clock: its digests arrived late, digests_late).\n"
      "Digests the VS had to refuse (bad signature, counter regression, ...) are listed but not "
      "judged, as the VS did not judge them. A player's first appearance and accepted respawns "
      "are not checked.");
  sub->add_option("STORE", cmd->store, "The store (opened read-only)")->required();
  sub->add_option("--session", cmd->session, "Session id (see `audit-cli sessions`)")->required();
  sub->add_option("--player", cmd->player, "Only the player whose key starts with this hex prefix");
  sub->add_option("--format", cmd->format,
                  "table (for reading), json, csv (one row per player per digest), or svg (tracks "
                  "and a speed-over-time chart with the limit line and violations marked)")
      ->capture_default_str();
  sub->add_option("-o,--output", cmd->output, "Write to FILE instead of stdout");
  set_help_footer(
      *sub, "",
      {{kExitOk, "done"},
       {kExitUsage, "usage error, unknown session or player, or the store cannot be read"}},
      {"audit-cli timeline vs.db --session 2",
       "audit-cli timeline vs.db --session 2 --player 1a2b --format csv -o p.csv",
       "audit-cli timeline vs.db --session 2 --format svg -o session2.svg"});
}

}  // namespace gsvs::audit
