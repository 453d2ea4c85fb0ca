// audit-cli timeline: the movement of every player of a session, rebuilt from the notarized
// positions (its TranscriptDigests, in log order) and judged again with vsd::PhysicsChecker under
// the limits its JoinAccept announced.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>

#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/replay.h"
#include "audit-cli/session_index.h"

namespace gsvs::audit {

namespace {

struct TimelineCommand {
  std::string store;
  std::uint64_t session = 0;
  std::string player;
  std::string format = "table";
  std::string output;
};

// One player at one digest.
struct Row {
  std::uint64_t seq = 0;
  std::uint64_t vs_time_ms = 0;
  std::uint64_t gs_time_ms = 0;
  std::int32_t x_mm = 0;
  std::int32_t y_mm = 0;
  std::string event;     // first, spawn, move, violation, refused (why), after_revocation
  bool checked = false;  // a move the rule judged (move or violation)
  vsd::MovementStep step;
};

struct Track {
  protocol::PublicKey player;
  std::vector<Row> rows;
  [[nodiscard]] std::string hex() const { return to_hex(player); }
  [[nodiscard]] double max_speed_mm_s() const {
    double top = 0;
    for (const auto& r : rows) {
      if (r.checked) top = std::max(top, r.step.speed_mm_s);
    }
    return top;
  }
  [[nodiscard]] std::size_t violations() const {
    return static_cast<std::size_t>(
        std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.step.violation; }));
  }
};

struct Timeline {
  SessionReplay replay;
  vsd::PhysicsLimits limits;
  double limit_mm_s = 0;
  std::vector<Track> tracks;  // in order of first appearance
};

Timeline build(SessionReplay replay, const std::string& prefix) {
  Timeline t;
  t.limits = replay.facts.limits;
  t.limit_mm_s = t.limits.max_speed_mm_s * (1.0 + t.limits.tolerance);
  std::map<protocol::PublicKey, std::size_t> index;
  for (const auto& d : replay.digests) {
    for (std::size_t i = 0; i < d.players.size(); ++i) {
      const auto& p = d.players[i];
      auto [it, added] = index.try_emplace(p.player, t.tracks.size());
      if (added) t.tracks.push_back(Track{p.player, {}});
      Track& track = t.tracks[it->second];
      Row row;
      row.seq = d.seq;
      row.vs_time_ms = d.vs_time_ms;
      row.gs_time_ms = d.gs_time_ms;
      row.x_mm = p.x_mm;
      row.y_mm = p.y_mm;
      if (d.steps.size() == d.players.size()) {
        row.step = d.steps[i];
        const bool judged_before =
            std::any_of(track.rows.begin(), track.rows.end(),
                        [](const Row& r) { return !r.step.player.is_zero(); });
        if (row.step.spawn) {
          row.event = judged_before ? "spawn" : "first";
        } else {
          row.checked = true;
          row.event = row.step.violation ? "violation" : "move";
        }
      } else if (d.verdict == Verdict::kAfterRevocation) {
        row.event = "after_revocation";
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

std::string seconds_since(std::uint64_t ms, std::uint64_t origin) {
  const double s = (static_cast<double>(ms) - static_cast<double>(origin)) / 1000.0;
  return (s >= 0 ? "+" : "") + fixed(s, 3);
}

std::string outcome_line(const SessionFacts& f) {
  if (!f.revocation) return "active (no revocation in the log)";
  return std::string(f.outcome() == Outcome::kEnded ? "ended" : "revoked") + ": " +
         revocation_reason_label(f.revocation->message.reason) + " at entry " +
         std::to_string(f.revocation->seq) + " (" + format_utc(f.revocation->vs_time_ms) + ")";
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
         "the digest's gs_time_ms, same origin.\nused = min(GS elapsed, VS elapsed + jitter "
         "allowance); speed = distance / used; excess = distance - limit x used; acc = "
         "accumulated excess (x decay per digest).\n";
  if (t.tracks.empty()) out << "\nNo positions in this session's digests.\n";
  for (const auto& track : t.tracks) {
    out << "\nplayer " << track.hex() << "\n";
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
      out << "  " << (r.step.violation ? "VIOLATION" : r.event) << "\n";
    }
    out << "  max speed " << fixed(track.max_speed_mm_s() / 1000.0, 2) << " m/s; "
        << track.violations() << " violation" << (track.violations() == 1 ? "" : "s") << "\n";
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
                        {"violation", r.step.violation}};
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
    out["from_seq"] = r.step.from_log_seq;
  }
  return out;
}

void write_json(const Timeline& t, std::ostream& out) {
  const auto& f = t.replay.facts;
  const auto& l = t.limits;
  nlohmann::json players = nlohmann::json::array();
  for (const auto& track : t.tracks) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : track.rows) rows.push_back(row_json(r, t));
    players.push_back({{"player", track.hex()},
                       {"max_speed_mm_s", track.max_speed_mm_s()},
                       {"violations", track.violations()},
                       {"rows", rows}});
  }
  nlohmann::json doc = {
      {"session_id", f.session_id},
      {"gs_identity", to_hex(f.accept.gs_identity)},
      {"sw_hash", to_hex(f.accept.sw_hash)},
      {"join_accept_seq", f.join_accept_seq},
      {"start_vs_ms", f.start_vs_ms},
      {"outcome", outcome_name(f.outcome())},
      {"revocation_seq", f.revocation ? nlohmann::json(f.revocation->seq) : nullptr},
      {"limits",
       {{"max_speed_mm_s", f.accept.max_speed_mm_s},
        {"speed_tolerance_ppm", f.accept.speed_tolerance_ppm},
        {"jitter_allowance_ms", f.accept.jitter_allowance_ms},
        {"excess_decay_ppm", f.accept.excess_decay_ppm},
        {"max_excess_mm", f.accept.max_excess_mm},
        {"spawn_min_interval_ms", f.accept.spawn_min_interval_ms},
        {"limit_mm_s", t.limit_mm_s},
        {"decay", l.decay}}},
      {"players", players}};
  out << doc.dump(2) << "\n";
}

void write_csv(const Timeline& t, std::ostream& out) {
  out << "session_id,player,seq,vs_time_ms,vs_time_utc,gs_time_ms,x_mm,y_mm,event,distance_mm,"
         "elapsed_gs_ms,elapsed_vs_ms,elapsed_used_ms,speed_mm_s,limit_mm_s,allowed_mm,excess_mm,"
         "accumulated_excess_mm,violation\n";
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
      out << ',' << (r.step.violation ? 1 : 0) << '\n';
    }
  }
}

// ---- svg ----------------------------------------------------------------------------------------

constexpr std::array<const char*, 10> kColors{"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e",
                                              "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
                                              "#bcbd22", "#393b79"};
constexpr const char* kRed = "#d62728";

std::string esc(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else if (c == '"') {
      out += "&quot;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string num(double v) { return fixed(v, 1); }

// Writes the points gathered so far as one polyline (when there are two or more) and starts over.
void flush_polyline(std::ostream& s, std::string& points, const char* color,
                    std::string_view style) {
  if (points.find(' ') != std::string::npos) {
    s << "<polyline points=\"" << points << "\" fill=\"none\" stroke=\"" << color << "\" " << style
      << "/>\n";
  }
  points.clear();
}

// A "nice" step for axis ticks covering `span` in about `ticks` steps.
double nice_step(double span, int ticks) {
  if (span <= 0) return 1;
  const double raw = span / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10 * magnitude;
}

void write_svg(const Timeline& t, std::ostream& out) {
  const auto& f = t.replay.facts;
  constexpr double kWidth = 1120;
  constexpr double kMapX = 60, kMapY = 130, kMapSize = 460;
  constexpr double kChartX = 610, kChartY = 130, kChartW = 470, kChartH = 460;
  const std::size_t legend_rows =
      (std::min<std::size_t>(t.tracks.size(), 16) + 1) / 2 + (t.tracks.size() > 16 ? 1 : 0);
  const double kHeight = kChartY + kChartH + 110 + static_cast<double>(legend_rows) * 18;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
    << "\" viewBox=\"0 0 " << kWidth << ' ' << kHeight
    << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::size_t violations = 0;
  for (const auto& track : t.tracks) violations += track.violations();
  s << "<text x=\"" << kMapX << "\" y=\"34\" font-size=\"20\" font-weight=\"bold\">Session "
    << f.session_id << ": movement timeline</text>\n";
  s << "<text x=\"" << kMapX << "\" y=\"56\" font-size=\"13\">" << esc(outcome_line(f))
    << (violations ? " \u2014 " + std::to_string(violations) + " speed violation" +
                         (violations == 1 ? "" : "s") + " recomputed"
                   : std::string(" \u2014 no speed violation recomputed"))
    << "</text>\n";
  const auto& l = t.limits;
  s << "<text x=\"" << kMapX << "\" y=\"76\" font-size=\"11\" fill=\"#444\">Rule signed in the "
    << "JoinAccept at entry " << f.join_accept_seq << ": speed limit "
    << fixed(t.limit_mm_s / 1000.0, 2) << " m/s (" << fixed(l.max_speed_mm_s / 1000.0, 2)
    << " m/s + " << fixed(l.tolerance * 100.0, 1) << " % tolerance); time used = min(GS elapsed, "
    << "VS elapsed + " << l.jitter_allowance_ms << " ms jitter allowance)</text>\n";
  s << "<text x=\"" << kMapX << "\" y=\"91\" font-size=\"11\" fill=\"#444\">Excess above the "
    << "limit accumulates (x" << fixed(l.decay, 3) << " per digest); revocation once it passes "
    << fixed(l.max_excess_mm / 1000.0, 3) << " m. Respawns are unchecked, at most one per "
    << fixed(static_cast<double>(l.spawn_min_interval_ms) / 1000.0, 1) << " s.</text>\n";

  // Track map, equal scale on both axes.
  double min_x = 1e300, max_x = -1e300, min_y = 1e300, max_y = -1e300;
  for (const auto& track : t.tracks) {
    for (const auto& r : track.rows) {
      min_x = std::min(min_x, r.x_mm / 1000.0);
      max_x = std::max(max_x, r.x_mm / 1000.0);
      min_y = std::min(min_y, r.y_mm / 1000.0);
      max_y = std::max(max_y, r.y_mm / 1000.0);
    }
  }
  if (min_x > max_x) min_x = max_x = min_y = max_y = 0;
  const double span = std::max({max_x - min_x, max_y - min_y, 1.0}) * 1.08;
  const double cx = (min_x + max_x) / 2, cy = (min_y + max_y) / 2;
  const double x0 = cx - span / 2, y0 = cy - span / 2;
  auto mx = [&](double x_m) { return kMapX + (x_m - x0) / span * kMapSize; };
  auto my = [&](double y_m) { return kMapY + kMapSize - (y_m - y0) / span * kMapSize; };
  s << "<text x=\"" << kMapX << "\" y=\"" << kMapY - 8
    << "\" font-weight=\"bold\">Tracks (x, y in metres; north up)</text>\n";
  s << "<rect x=\"" << kMapX << "\" y=\"" << kMapY << "\" width=\"" << kMapSize << "\" height=\""
    << kMapSize << "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  const double grid = nice_step(span, 6);
  for (double g = std::ceil(x0 / grid) * grid; g <= x0 + span; g += grid) {
    s << "<line x1=\"" << num(mx(g)) << "\" y1=\"" << kMapY << "\" x2=\"" << num(mx(g))
      << "\" y2=\"" << kMapY + kMapSize << "\" stroke=\"#e4e4e4\"/>"
      << "<text x=\"" << num(mx(g)) << "\" y=\"" << kMapY + kMapSize + 14
      << "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">" << fixed(g, grid < 1 ? 1 : 0)
      << "</text>\n";
  }
  for (double g = std::ceil(y0 / grid) * grid; g <= y0 + span; g += grid) {
    s << "<line x1=\"" << kMapX << "\" y1=\"" << num(my(g)) << "\" x2=\"" << kMapX + kMapSize
      << "\" y2=\"" << num(my(g)) << "\" stroke=\"#e4e4e4\"/>"
      << "<text x=\"" << kMapX - 4 << "\" y=\"" << num(my(g) + 3)
      << "\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">" << fixed(g, grid < 1 ? 1 : 0)
      << "</text>\n";
  }
  s << "<text x=\"" << kMapX + kMapSize / 2 << "\" y=\"" << kMapY + kMapSize + 30
    << "\" text-anchor=\"middle\" font-size=\"11\">x (m)</text>\n"
    << "<text x=\"" << kMapX - 38 << "\" y=\"" << kMapY + kMapSize / 2
    << "\" font-size=\"11\" transform=\"rotate(-90 " << kMapX - 38 << ' ' << kMapY + kMapSize / 2
    << ")\" text-anchor=\"middle\">y (m)</text>\n";
  for (std::size_t i = 0; i < t.tracks.size(); ++i) {
    const auto& track = t.tracks[i];
    const char* color = kColors[i % kColors.size()];
    std::string points;
    auto flush = [&] {
      flush_polyline(s, points, color, R"(stroke-width="1.6" stroke-linejoin="round")");
    };
    const Row* previous = nullptr;
    for (const auto& r : track.rows) {
      const double px = mx(r.x_mm / 1000.0), py = my(r.y_mm / 1000.0);
      const bool jump = r.event == "first" || r.event == "spawn";
      if (jump) {
        flush();
        if (previous != nullptr) {  // a respawn: dashed, not a path
          s << "<line x1=\"" << num(mx(previous->x_mm / 1000.0)) << "\" y1=\""
            << num(my(previous->y_mm / 1000.0)) << "\" x2=\"" << num(px) << "\" y2=\"" << num(py)
            << "\" stroke=\"" << color << "\" stroke-dasharray=\"3 4\" stroke-opacity=\"0.5\"/>\n";
        }
        s << "<circle cx=\"" << num(px) << "\" cy=\"" << num(py) << "\" r=\"4\" fill=\"white\" "
          << "stroke=\"" << color << "\" stroke-width=\"2\"><title>" << r.event << " at entry "
          << r.seq << "</title></circle>\n";
      }
      if (r.step.violation && previous != nullptr) {
        flush();
        s << "<line x1=\"" << num(mx(previous->x_mm / 1000.0)) << "\" y1=\""
          << num(my(previous->y_mm / 1000.0)) << "\" x2=\"" << num(px) << "\" y2=\"" << num(py)
          << "\" stroke=\"" << kRed << "\" stroke-width=\"3\"/>\n"
          << "<path d=\"M" << num(px - 6) << ',' << num(py - 6) << " l12,12 M" << num(px - 6) << ','
          << num(py + 6) << " l12,-12\" stroke=\"" << kRed << "\" stroke-width=\"3\"/>\n"
          << "<text x=\"" << num(px + 8) << "\" y=\"" << num(py - 8) << "\" fill=\"" << kRed
          << "\" font-weight=\"bold\">entry " << r.seq << ": "
          << fixed(r.step.speed_mm_s / 1000.0, 1) << " m/s</text>\n";
      }
      points += (points.empty() ? "" : " ") + num(px) + "," + num(py);
      previous = &r;
    }
    flush();
  }

  // Speed over VS time.
  double end_s = 1;
  double top = t.limit_mm_s / 1000.0 * 1.3;
  for (const auto& track : t.tracks) {
    for (const auto& r : track.rows) {
      end_s = std::max(
          end_s,
          static_cast<double>(r.vs_time_ms - std::min(r.vs_time_ms, f.start_vs_ms)) / 1000.0);
      if (r.checked) top = std::max(top, r.step.speed_mm_s / 1000.0 * 1.05);
    }
  }
  end_s *= 1.03;                                  // keep the last point off the frame
  const double clip = t.limit_mm_s / 1000.0 * 4;  // beyond this, points are drawn at the top
  const bool clipped = top > clip;
  top = std::min(top, clip);
  auto tx = [&](std::uint64_t vs_ms) {
    return kChartX +
           static_cast<double>(vs_ms - std::min(vs_ms, f.start_vs_ms)) / 1000.0 / end_s * kChartW;
  };
  auto ty = [&](double mm_s) {
    return kChartY + kChartH - std::min(mm_s / 1000.0, top) / top * kChartH;
  };
  s << "<text x=\"" << kChartX << "\" y=\"" << kChartY - 8
    << "\" font-weight=\"bold\">Speed between notarized positions (m/s) over VS time (s)</text>\n";
  s << "<rect x=\"" << kChartX << "\" y=\"" << kChartY << "\" width=\"" << kChartW << "\" height=\""
    << kChartH << "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  const double ystep = nice_step(top, 6);
  for (double g = 0; g <= top + 1e-9; g += ystep) {
    s << "<line x1=\"" << kChartX << "\" y1=\"" << num(ty(g * 1000)) << "\" x2=\""
      << kChartX + kChartW << "\" y2=\"" << num(ty(g * 1000)) << "\" stroke=\"#e4e4e4\"/>"
      << "<text x=\"" << kChartX - 4 << "\" y=\"" << num(ty(g * 1000) + 3)
      << "\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">" << fixed(g, ystep < 1 ? 1 : 0)
      << "</text>\n";
  }
  const double xstep = nice_step(end_s, 6);
  for (double g = 0; g <= end_s + 1e-9; g += xstep) {
    const double x = kChartX + g / end_s * kChartW;
    s << "<line x1=\"" << num(x) << "\" y1=\"" << kChartY << "\" x2=\"" << num(x) << "\" y2=\""
      << kChartY + kChartH << "\" stroke=\"#e4e4e4\"/>"
      << "<text x=\"" << num(x) << "\" y=\"" << kChartY + kChartH + 14
      << "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">" << fixed(g, xstep < 1 ? 1 : 0)
      << "</text>\n";
  }
  s << "<text x=\"" << kChartX + kChartW / 2 << "\" y=\"" << kChartY + kChartH + 30
    << "\" text-anchor=\"middle\" font-size=\"11\">VS time since the join (s)</text>\n"
    << "<text x=\"" << kChartX - 30 << "\" y=\"" << kChartY + kChartH / 2
    << "\" font-size=\"11\" transform=\"rotate(-90 " << kChartX - 30 << ' ' << kChartY + kChartH / 2
    << ")\" text-anchor=\"middle\">speed (m/s)</text>\n";
  const double base = t.limits.max_speed_mm_s;
  s << "<line x1=\"" << kChartX << "\" y1=\"" << num(ty(base)) << "\" x2=\"" << kChartX + kChartW
    << "\" y2=\"" << num(ty(base)) << "\" stroke=\"#888\" stroke-dasharray=\"2 3\"/>\n"
    << "<line x1=\"" << kChartX << "\" y1=\"" << num(ty(t.limit_mm_s)) << "\" x2=\""
    << kChartX + kChartW << "\" y2=\"" << num(ty(t.limit_mm_s)) << "\" stroke=\"" << kRed
    << "\" stroke-width=\"1.5\" stroke-dasharray=\"8 4\"/>\n"
    << "<text x=\"" << kChartX + kChartW - 4 << "\" y=\"" << num(ty(t.limit_mm_s) - 4)
    << "\" text-anchor=\"end\" fill=\"" << kRed << "\">limit " << fixed(t.limit_mm_s / 1000.0, 2)
    << " m/s (" << fixed(base / 1000.0, 2) << " + " << fixed(t.limits.tolerance * 100, 0)
    << " %)</text>\n";
  for (std::size_t i = 0; i < t.tracks.size(); ++i) {
    const auto& track = t.tracks[i];
    const char* color = kColors[i % kColors.size()];
    std::string points;
    auto flush = [&] {
      flush_polyline(s, points, color, R"(stroke-width="1.2" stroke-opacity="0.85")");
    };
    for (const auto& r : track.rows) {
      if (!r.checked) {
        flush();
        continue;
      }
      const double px = tx(r.vs_time_ms), py = ty(r.step.speed_mm_s);
      points += (points.empty() ? "" : " ") + num(px) + "," + num(py);
      if (r.step.violation || r.step.speed_mm_s / 1000.0 > top) {
        s << "<circle cx=\"" << num(px) << "\" cy=\"" << num(py) << "\" r=\"6\" fill=\"none\" "
          << "stroke=\"" << kRed << "\" stroke-width=\"2.5\"/>"
          << "<text x=\"" << num(px - 8) << "\" y=\"" << num(std::max(py - 10, kChartY + 12))
          << "\" text-anchor=\"end\" fill=\"" << kRed << "\" font-weight=\"bold\">"
          << (r.step.speed_mm_s / 1000.0 > top ? "\u2191 " : "")
          << fixed(r.step.speed_mm_s / 1000.0, 1) << " m/s, entry " << r.seq << "</text>\n";
      }
    }
    flush();
  }
  if (clipped) {
    s << "<text x=\"" << kChartX + 4 << "\" y=\"" << kChartY + 14
      << "\" font-size=\"10\" fill=\"#555\">(axis cut at 4 x the limit; \u2191 marks faster "
         "steps)</text>\n";
  }

  // Legend.
  double ly = kChartY + kChartH + 56;
  s << "<text x=\"" << kMapX << "\" y=\"" << ly << "\" font-weight=\"bold\">Players</text>\n";
  const std::size_t shown = std::min<std::size_t>(t.tracks.size(), 16);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& track = t.tracks[i];
    const double x = kMapX + static_cast<double>(i % 2) * 520;
    const double y = ly + 20 + static_cast<double>(i / 2) * 18;
    s << "<rect x=\"" << x << "\" y=\"" << num(y - 10) << "\" width=\"14\" height=\"10\" fill=\""
      << kColors[i % kColors.size()] << "\"/>"
      << "<text x=\"" << x + 20 << "\" y=\"" << num(y) << "\">" << short_hex(track.player)
      << "...  " << track.rows.size() << " positions, top "
      << fixed(track.max_speed_mm_s() / 1000.0, 2) << " m/s"
      << (track.violations() ? ", " + std::to_string(track.violations()) + " violation" +
                                   (track.violations() == 1 ? "" : "s")
                             : std::string())
      << "</text>\n";
  }
  if (t.tracks.size() > shown) {
    s << "<text x=\"" << kMapX << "\" y=\"" << num(ly + 20 + static_cast<double>(shown / 2) * 18)
      << "\">and " << t.tracks.size() - shown << " more players</text>\n";
  }
  s << "<text x=\"" << kMapX << "\" y=\"" << kHeight - 14
    << "\" font-size=\"10\" fill=\"#555\">Circles: first appearance or accepted respawn (dashed: "
       "the jump, not checked). Red: a step whose accumulated excess passed the limit. speed = "
       "distance / min(GS elapsed, VS elapsed + jitter allowance).</text>\n";
  s << "</svg>\n";
  out << s.str();
}

int run_timeline(const TimelineCommand& cmd) {
  static const std::set<std::string> kFormats{"table", "json", "csv", "svg"};
  if (!kFormats.contains(cmd.format)) {
    std::cerr << "audit-cli timeline: --format must be table, json, csv or svg\n";
    return kExitUsage;
  }
  auto log = open_store(cmd.store);
  if (!log) {
    std::cerr << "audit-cli timeline: " << log.error() << "\n";
    return kExitUsage;
  }
  auto index = build_index(**log);
  if (!index) {
    std::cerr << "audit-cli timeline: " << index.error() << "\n";
    return kExitUsage;
  }
  const SessionFacts* facts = index->find(cmd.session);
  if (facts == nullptr) {
    std::cerr << "audit-cli timeline: no session " << cmd.session << " in " << cmd.store
              << " (see `audit-cli sessions " << cmd.store << "`)\n";
    return kExitUsage;
  }
  auto replay = replay_session(**log, *facts, std::nullopt);
  if (!replay) {
    std::cerr << "audit-cli timeline: " << replay.error() << "\n";
    return kExitUsage;
  }
  Timeline timeline = build(std::move(replay).value(), cmd.player);
  if (!cmd.player.empty() && timeline.tracks.empty()) {
    std::cerr << "audit-cli timeline: no player of session " << cmd.session
              << " has a key starting with '" << cmd.player << "'\n";
    return kExitUsage;
  }
  std::ofstream file;
  if (!cmd.output.empty()) {
    file.open(cmd.output, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "audit-cli timeline: cannot write " << cmd.output << "\n";
      return kExitUsage;
    }
  }
  std::ostream& out = cmd.output.empty() ? std::cout : file;
  if (cmd.format == "table") write_table(timeline, out);
  if (cmd.format == "json") write_json(timeline, out);
  if (cmd.format == "csv") write_csv(timeline, out);
  if (cmd.format == "svg") write_svg(timeline, out);
  out.flush();
  if (!out) {
    std::cerr << "audit-cli timeline: writing failed\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

void setup_timeline(CLI::App& app, int& exit_code) {
  auto cmd = std::make_shared<TimelineCommand>();
  auto* sub = app.add_subcommand(
      "timeline", "Reconstruct each player's movement in a session and judge it again");
  sub->description(
      "Rebuilds every player's path from the positions the GS notarized (the session's "
      "TranscriptDigests, in log order) and recomputes each step with the VS's own physics code "
      "(vsd::PhysicsChecker) under the limits the session's JoinAccept announced: distance, "
      "elapsed time (GS-reported, VS-observed, and the one used: min(GS, VS + jitter "
      "allowance)), speed, the limit, excess, accumulated excess and whether it is a violation.\n"
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
  sub->footer(
      "Exit codes: 0 done, 2 usage error, unknown session or player, or the store cannot be "
      "read.\nExamples:\n"
      "  audit-cli timeline vs.db --session 2\n"
      "  audit-cli timeline vs.db --session 2 --player 1a2b --format csv -o p.csv\n"
      "  audit-cli timeline vs.db --session 2 --format svg -o session2.svg");
  sub->callback([cmd, &exit_code] { exit_code = run_timeline(*cmd); });
}

}  // namespace gsvs::audit
