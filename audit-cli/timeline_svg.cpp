// The SVG picture of `audit-cli timeline`: each player's track on a map at equal scale, speed
// over VS time against the limit, violations and the revocation's step labelled, and a legend.
#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <string_view>

#include "audit-cli/timeline_model.h"

namespace gsvs::audit::timeline {

namespace {

constexpr std::array<const char*, 10> kColors{"#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e",
                                              "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
                                              "#bcbd22", "#393b79"};
constexpr const char* kRed = "#d62728";    // a violation
constexpr const char* kAmber = "#e69f00";  // over the limit, accumulated excess still allowed
// A late step (digests_late) is a violation drawn dashed: the same rule broken on the credited
// clock, which the GS's own clock explains.
constexpr const char* kLateDash = R"( stroke-dasharray="4 2")";
constexpr double kMarkFontSize = 12;  // the labels beside marked steps (bold)
// A white outline under a text, so that it stays legible over lines and points.
constexpr const char* kHalo =
    R"(stroke="white" stroke-width="3" stroke-linejoin="round" paint-order="stroke")";

// The texts are our own, escaped all the same so that none can break the markup.
std::string esc(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c == '<'   ? "&lt;"
           : c == '>' ? "&gt;"
           : c == '&' ? "&amp;"
           : c == '"' ? "&quot;"
                      : std::string(1, c);
  }
  return out;
}

std::string num(double v) { return fixed(v, 1); }

// The start of a line from (x1, y1) to (x2, y2); its stroke attributes follow.
std::string segment(double x1, double y1, double x2, double y2) {
  return "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
         num(y2) + "\" ";
}

// An axis value: never "-0" for a tick that lands on zero from below.
std::string tick(double value, int decimals) {
  const double half_unit = 0.5 * std::pow(10.0, -decimals);
  return fixed(std::abs(value) < half_unit ? 0.0 : value, decimals);
}

// A rectangle in picture coordinates (y down).
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  [[nodiscard]] bool overlaps(const Box& o) const {
    return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1;
  }
  [[nodiscard]] bool within(const Box& o) const {
    return x0 >= o.x0 && x1 <= o.x1 && y0 >= o.y0 && y1 <= o.y1;
  }
};

// The room a text takes in DejaVu Sans (the font the SVG asks for first): at most 0.7 em per
// character in bold, 0.64 em in regular (its digits; letters are narrower on average), from the
// baseline 0.8 em up and 0.25 em down. Counts code points, not bytes ("\u2191" is one).
Box text_box(double x, double baseline, std::string_view text, double font_size, bool bold) {
  const auto chars = static_cast<double>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
  return {x, baseline - 0.8 * font_size, x + chars * font_size * (bold ? 0.7 : 0.64),
          baseline + 0.25 * font_size};
}

// Places labels beside points of one panel so that none overlaps another or leaves the panel:
// beside the point when there is room there, else the nearest free row above or below.
class LabelLayout {
 public:
  explicit LabelLayout(const Box& panel) : panel_(panel) {}
  void reserve(const Box& box) { taken_.push_back(box); }

  // The box for a label of `width` x `height` near (px, py): the free place nearest to the spot
  // just above and beside the point; nullopt when the panel is full.
  std::optional<Box> place(double px, double py, double width, double height) {
    constexpr double kGap = 8;
    const Box inner{panel_.x0 + 2, panel_.y0 + 2, panel_.x1 - 2, panel_.y1 - 2};
    std::optional<Box> best;
    double best_distance = 0;
    const int rows = static_cast<int>((inner.y1 - inner.y0) / height);
    for (int row = -rows; row <= rows; ++row) {
      const double bottom = py - kGap / 2 + row * height;
      for (double x0 : {px + kGap, px - kGap - width,
                        std::clamp(px + kGap, inner.x0, std::max(inner.x0, inner.x1 - width))}) {
        const Box box{x0, bottom - height, x0 + width, bottom};
        const double distance = std::abs(x0 - (px + kGap)) + std::abs(row) * height;
        if ((best && distance >= best_distance) || !box.within(inner) ||
            std::any_of(taken_.begin(), taken_.end(),
                        [&](const Box& b) { return b.overlaps(box); })) {
          continue;
        }
        best = box;
        best_distance = distance;
      }
    }
    if (best) taken_.push_back(*best);
    return best;
  }

 private:
  Box panel_;
  std::vector<Box> taken_;
};

// A label for one marked step, before it is placed.
struct Mark {
  double px = 0, py = 0;  // the point it names
  std::string text;
  const char* color = kRed;
  int priority = 0;  // higher is placed first: the revocation's step, then faster steps
};

// Places and writes marks' labels, with a thin line to the point when the label had to move away
// from it. Returns how many found no room.
std::size_t write_marks(std::ostream& s, std::vector<Mark> marks, LabelLayout& layout) {
  std::stable_sort(marks.begin(), marks.end(),
                   [](const Mark& a, const Mark& b) { return a.priority > b.priority; });
  std::size_t left_out = 0;
  for (const auto& m : marks) {
    const Box size = text_box(0, 0, m.text, kMarkFontSize, true);
    auto box = layout.place(m.px, m.py, size.x1 - size.x0, size.y1 - size.y0);
    if (!box) {
      ++left_out;
      continue;
    }
    const double near_x = std::clamp(m.px, box->x0, box->x1);
    const double near_y = std::clamp(m.py, box->y0, box->y1);
    if (std::hypot(near_x - m.px, near_y - m.py) > 12) {
      s << segment(m.px, m.py, near_x, near_y) << "stroke=\"" << m.color
        << "\" stroke-width=\"0.8\"/>";
    }
    s << "<text class=\"mark\" x=\"" << num(box->x0) << "\" y=\""
      << num(box->y1 - 0.25 * kMarkFontSize) << "\" font-size=\"" << kMarkFontSize
      << "\" font-weight=\"bold\" fill=\"" << m.color << "\" " << kHalo << ">" << esc(m.text)
      << "</text>\n";
  }
  return left_out;
}

// The steps of a track worth a label: its fastest step over the limit and the revocation's step.
std::vector<const Row*> labelled_rows(const Track& track) {
  const Row* fastest = nullptr;
  const Row* revoked = nullptr;
  for (const auto& r : track.rows) {
    if (r.over_limit && (fastest == nullptr || r.step.speed_mm_s > fastest->step.speed_mm_s)) {
      fastest = &r;
    }
    if (r.revoked_here) revoked = &r;
  }
  std::vector<const Row*> out;
  if (revoked != nullptr) out.push_back(revoked);
  if (fastest != nullptr && fastest != revoked) out.push_back(fastest);
  return out;
}

int mark_priority(const Row& r) {
  return r.revoked_here ? 1'000'000'000 : static_cast<int>(std::min(r.step.speed_mm_s, 9e8));
}

// A track's line, drawn in pieces: flush() writes the points added since the last flush as one
// polyline (a single point draws nothing); called where the line breaks and at the track's end.
struct Polyline {
  std::ostream& s;
  const char* color;
  std::string_view style;
  std::string points = {};

  void add(double x, double y) { points += (points.empty() ? "" : " ") + num(x) + "," + num(y); }
  void flush() {
    if (points.find(' ') != std::string::npos) {
      s << "<polyline points=\"" << points << "\" fill=\"none\" stroke=\"" << color << "\" "
        << style << "/>\n";
    }
    points.clear();
  }
};

// Calls draw(value) for each multiple of `step` from `from` to `to`. Integer counters: at
// coordinates far from 0, adding `step` to a double may not change it.
template <class Draw>
void for_ticks(double from, double to, double step, const Draw& draw) {
  for (auto i = static_cast<std::int64_t>(std::ceil(from / step));
       static_cast<double>(i) * step <= to; ++i) {
    draw(static_cast<double>(i) * step);
  }
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

// A note of the chart (font size 11) placed like a label, near (px, py).
void write_note(std::ostream& s, LabelLayout& layout, double px, double py, const std::string& text,
                const char* color) {
  constexpr double kSize = 11;
  const Box size = text_box(0, 0, text, kSize, false);
  if (auto box = layout.place(px, py, size.x1 - size.x0, size.y1 - size.y0)) {
    s << "<text x=\"" << num(box->x0) << "\" y=\"" << num(box->y1 - 0.25 * kSize)
      << "\" font-size=\"" << kSize << "\" fill=\"" << color << "\" " << kHalo << ">" << text
      << "</text>\n";
  }
}

// A grid line across `panel` with its tick label: vertical at x (label under the panel), or
// horizontal at y (label left of it).
void vertical_grid_line(std::ostream& s, const Box& panel, double x, const std::string& label) {
  s << "<line x1=\"" << num(x) << "\" y1=\"" << panel.y0 << "\" x2=\"" << num(x) << "\" y2=\""
    << panel.y1 << "\" stroke=\"#e4e4e4\"/>"
    << "<text x=\"" << num(x) << "\" y=\"" << panel.y1 + 14
    << "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">" << label << "</text>\n";
}
void horizontal_grid_line(std::ostream& s, const Box& panel, double y, const std::string& label) {
  s << "<line x1=\"" << panel.x0 << "\" y1=\"" << num(y) << "\" x2=\"" << panel.x1 << "\" y2=\""
    << num(y) << "\" stroke=\"#e4e4e4\"/>"
    << "<text x=\"" << panel.x0 - 4 << "\" y=\"" << num(y + 3)
    << "\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">" << label << "</text>\n";
}

void write_frame(std::ostream& s, const Box& b) {
  s << "<rect class=\"panel\" x=\"" << b.x0 << "\" y=\"" << b.y0 << "\" width=\"" << b.x1 - b.x0
    << "\" height=\"" << b.y1 - b.y0 << "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
}

constexpr double kWidth = 1120;
constexpr Box kMap{60, 175, 520, 635};      // track map, equal scale on both axes
constexpr Box kChart{610, 175, 1080, 635};  // speed over VS time

// The titles of a panel's axes: `x_title` centred under it, `y_title` turned along its left
// side, `y_offset` left of the panel (past the tick labels).
void axis_titles(std::ostream& s, const Box& panel, std::string_view x_title,
                 std::string_view y_title, int y_offset) {
  const double mid_x = (panel.x0 + panel.x1) / 2, mid_y = (panel.y0 + panel.y1) / 2;
  const double left = panel.x0 - y_offset;
  s << "<text x=\"" << mid_x << "\" y=\"" << panel.y1 + 30
    << "\" text-anchor=\"middle\" font-size=\"11\">" << x_title << "</text>\n"
    << "<text x=\"" << left << "\" y=\"" << mid_y << "\" font-size=\"11\" transform=\"rotate(-90 "
    << left << ' ' << mid_y << ")\" text-anchor=\"middle\">" << y_title << "</text>\n";
}

// Lines of the header, each short enough for the picture's width.
void write_header(const Timeline& t, std::ostream& s) {
  const auto& f = t.replay.facts;
  const auto& l = t.limits;
  const std::size_t after = t.total(&Row::violation, true);
  const std::size_t late = t.total(&Row::late);
  auto line = [&](double y, int font_size, const std::string& text) {
    s << "<text x=\"" << kMap.x0 << "\" y=\"" << y << "\" font-size=\"" << font_size << "\""
      << (font_size < 13 ? " fill=\"#444\"" : "") << ">" << esc(text) << "</text>\n";
  };
  s << "<text x=\"" << kMap.x0 << "\" y=\"34\" font-size=\"20\" font-weight=\"bold\">Session "
    << f.session_id << ": movement timeline</text>\n";
  line(56, 13, outcome_line(f));
  line(74, 13,
       "Recomputed: " + counted(t.total(&Row::violation), "violation", "violations") +
           (after ? " (" + std::to_string(after) + " after the revocation)" : std::string()) +
           (late ? ", " + std::to_string(late) + " of them late" : std::string()) + ", " +
           counted(t.total(&Row::over_limit), "step", "steps") + " over the limit");
  line(94, 11,
       "Rule signed in the JoinAccept at entry " + std::to_string(f.join_accept_seq) +
           ": speed limit " + fixed(t.limit_mm_s / 1000.0, 2) + " m/s (" +
           fixed(l.max_speed_mm_s / 1000.0, 2) + " m/s + " + fixed(l.tolerance * 100.0, 1) +
           " % tolerance).");
  line(109, 11,
       "Time used = min(GS elapsed, VS-credited: VS elapsed + " +
           std::to_string(l.jitter_allowance_ms) +
           " ms once); excess above the limit accumulates (keeping x" + fixed(l.decay, 3) +
           " per 0.5 s used).");
  line(124, 11,
       "A step over the limit with more than " + fixed(l.max_excess_mm / 1000.0, 3) +
           " m accumulated is a violation. The VS revokes on the first;");
  line(139, 11,
       "every one is marked here, also after the revocation. Respawns are unchecked, at most one "
       "per " +
           fixed(static_cast<double>(l.spawn_min_interval_ms) / 1000.0, 1) + " s.");
}

std::size_t write_map(const Timeline& t, std::ostream& s) {
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
  const double size = kMap.x1 - kMap.x0;
  const double span = std::max({max_x - min_x, max_y - min_y, 1.0}) * 1.08;
  const double x0 = (min_x + max_x) / 2 - span / 2, y0 = (min_y + max_y) / 2 - span / 2;
  auto mx = [&](double x_m) { return kMap.x0 + (x_m - x0) / span * size; };
  auto my = [&](double y_m) { return kMap.y1 - (y_m - y0) / span * size; };
  s << "<text x=\"" << kMap.x0 << "\" y=\"" << kMap.y0 - 8
    << "\" font-weight=\"bold\">Tracks (x, y in metres; north up)</text>\n";
  write_frame(s, kMap);
  const double grid = nice_step(span, 6);
  const int decimals = grid < 1 ? 1 : 0;
  for_ticks(x0, x0 + span, grid,
            [&](double x) { vertical_grid_line(s, kMap, mx(x), tick(x, decimals)); });
  for_ticks(y0, y0 + span, grid,
            [&](double y) { horizontal_grid_line(s, kMap, my(y), tick(y, decimals)); });
  axis_titles(s, kMap, "x (m)", "y (m)", 38);
  LabelLayout layout(kMap);
  std::vector<Mark> marks;
  for (std::size_t i = 0; i < t.tracks.size(); ++i) {
    const auto& track = t.tracks[i];
    const char* color = kColors[i % kColors.size()];
    Polyline line{s, color, R"(stroke-width="1.6" stroke-linejoin="round")"};
    const Row* previous = nullptr;
    for (const auto& r : track.rows) {
      const double px = mx(r.x_mm / 1000.0), py = my(r.y_mm / 1000.0);
      if (r.event == "first" || r.event == "spawn") {
        line.flush();
        if (previous != nullptr) {  // a respawn: dashed, not a path
          s << segment(mx(previous->x_mm / 1000.0), my(previous->y_mm / 1000.0), px, py)
            << "stroke=\"" << color << "\" stroke-dasharray=\"3 4\" stroke-opacity=\"0.5\"/>\n";
        }
        s << "<circle cx=\"" << num(px) << "\" cy=\"" << num(py) << "\" r=\"4\" fill=\"white\" "
          << "stroke=\"" << color << "\" stroke-width=\"2\"><title>" << r.event << " at entry "
          << r.seq << "</title></circle>\n";
      }
      if (r.over_limit && previous != nullptr) {
        line.flush();
        s << segment(mx(previous->x_mm / 1000.0), my(previous->y_mm / 1000.0), px, py)
          << "stroke=\"" << (r.violation ? kRed : kAmber) << "\" stroke-width=\"3\""
          << (r.late ? kLateDash : "") << "/>\n";
        if (r.violation && !r.late) {
          s << "<path d=\"M" << num(px - 6) << ',' << num(py - 6) << " l12,12 M" << num(px - 6)
            << ',' << num(py + 6) << " l12,-12\" stroke=\"" << kRed << "\" stroke-width=\"3\"/>\n";
          layout.reserve({px - 7, py - 7, px + 7, py + 7});
        }
      }
      line.add(px, py);
      previous = &r;
    }
    line.flush();
    for (const Row* r : labelled_rows(track)) {
      marks.push_back(Mark{mx(r->x_mm / 1000.0), my(r->y_mm / 1000.0),
                           "entry " + std::to_string(r->seq) + ": " +
                               fixed(r->step.speed_mm_s / 1000.0, 1) + " m/s" +
                               (r->late ? ", late" : ""),
                           r->violation ? kRed : kAmber, mark_priority(*r)});
    }
  }
  return write_marks(s, std::move(marks), layout);
}

std::size_t write_speed_chart(const Timeline& t, std::ostream& s) {
  const auto& f = t.replay.facts;
  const double width = kChart.x1 - kChart.x0, height = kChart.y1 - kChart.y0;
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
    return kChart.x0 +
           static_cast<double>(vs_ms - std::min(vs_ms, f.start_vs_ms)) / 1000.0 / end_s * width;
  };
  auto ty = [&](double mm_s) { return kChart.y1 - std::min(mm_s / 1000.0, top) / top * height; };
  s << "<text x=\"" << kChart.x0 << "\" y=\"" << kChart.y0 - 8
    << "\" font-weight=\"bold\">Speed between notarized positions (m/s) over VS time (s)</text>\n";
  write_frame(s, kChart);
  const double ystep = nice_step(top, 6);
  for_ticks(0, top + 1e-9, ystep, [&](double speed) {
    horizontal_grid_line(s, kChart, ty(speed * 1000), tick(speed, ystep < 1 ? 1 : 0));
  });
  const double xstep = nice_step(end_s, 6);
  for_ticks(0, end_s + 1e-9, xstep, [&](double time) {
    vertical_grid_line(s, kChart, kChart.x0 + time / end_s * width, tick(time, xstep < 1 ? 1 : 0));
  });
  axis_titles(s, kChart, "VS time since the join (s)", "speed (m/s)", 30);
  const double base = t.limits.max_speed_mm_s;
  s << "<line x1=\"" << kChart.x0 << "\" y1=\"" << num(ty(base)) << "\" x2=\"" << kChart.x1
    << "\" y2=\"" << num(ty(base)) << "\" stroke=\"#888\" stroke-dasharray=\"2 3\"/>\n"
    << "<line x1=\"" << kChart.x0 << "\" y1=\"" << num(ty(t.limit_mm_s)) << "\" x2=\"" << kChart.x1
    << "\" y2=\"" << num(ty(t.limit_mm_s)) << "\" stroke=\"" << kRed
    << "\" stroke-width=\"1.5\" stroke-dasharray=\"8 4\"/>\n";
  const double revocation_x =
      f.revocation && f.revocation->vs_time_ms >= f.start_vs_ms ? tx(f.revocation->vs_time_ms) : -1;
  if (revocation_x >= 0) {
    s << "<line x1=\"" << num(revocation_x) << "\" y1=\"" << kChart.y0 << "\" x2=\""
      << num(revocation_x) << "\" y2=\"" << kChart.y1
      << "\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>\n";
  }
  // The points first, then the texts around them: the notes, then the step labels.
  LabelLayout layout(kChart);
  layout.reserve(
      {kChart.x0, ty(t.limit_mm_s) - 1, kChart.x1, ty(t.limit_mm_s) + 1});  // no text on it
  std::vector<Mark> marks;
  for (std::size_t i = 0; i < t.tracks.size(); ++i) {
    const auto& track = t.tracks[i];
    const char* color = kColors[i % kColors.size()];
    Polyline line{s, color, R"(stroke-width="1.2" stroke-opacity="0.85")"};
    for (const auto& r : track.rows) {
      if (!r.checked) {
        line.flush();
        continue;
      }
      const double px = tx(r.vs_time_ms), py = ty(r.step.speed_mm_s);
      line.add(px, py);
      if (r.over_limit) {
        s << "<circle cx=\"" << num(px) << "\" cy=\"" << num(py) << "\" r=\""
          << (r.violation ? 6 : 4.5) << "\" fill=\"none\" stroke=\""
          << (r.violation ? kRed : kAmber) << "\" stroke-width=\"2.5\"" << (r.late ? kLateDash : "")
          << "/>\n";
        layout.reserve({px - 7, py - 7, px + 7, py + 7});
      }
    }
    line.flush();
    for (const Row* r : labelled_rows(track)) {
      marks.push_back(Mark{tx(r->vs_time_ms), ty(r->step.speed_mm_s),
                           (r->step.speed_mm_s / 1000.0 > top ? "\u2191 " : "") +
                               fixed(r->step.speed_mm_s / 1000.0, 1) + " m/s, entry " +
                               std::to_string(r->seq) + (r->late ? ", late" : ""),
                           r->violation ? kRed : kAmber, mark_priority(*r)});
    }
  }
  if (clipped) {
    const std::string note = "(axis cut at 4 x the limit; \u2191 marks faster steps)";
    layout.reserve(text_box(kChart.x0 + 4, kChart.y0 + 14, note, 10, false));
    s << "<text x=\"" << kChart.x0 + 4 << "\" y=\"" << kChart.y0 + 14
      << "\" font-size=\"10\" fill=\"#555\" " << kHalo << ">" << note << "</text>\n";
  }
  const std::string limit_text = "limit " + fixed(t.limit_mm_s / 1000.0, 2) + " m/s (" +
                                 fixed(base / 1000.0, 2) + " + " +
                                 fixed(t.limits.tolerance * 100, 0) + " %)";
  write_note(s, layout, kChart.x1 - 16 - text_box(0, 0, limit_text, 11, false).x1, ty(t.limit_mm_s),
             limit_text, kRed);
  if (revocation_x >= 0) {
    write_note(s, layout, revocation_x, kChart.y1 - 6,
               "revocation, entry " + std::to_string(f.revocation->seq), "#444");
  }
  return write_marks(s, std::move(marks), layout);
}

}  // namespace

void write_svg(const Timeline& t, std::ostream& out) {
  constexpr std::size_t kLegendRows = 16;
  const std::size_t shown = std::min(t.tracks.size(), kLegendRows);
  const double legend_y = kChart.y1 + 56;
  const double height =
      legend_y + 20 + static_cast<double>(shown + (t.tracks.size() > shown ? 1 : 0)) * 18 + 74;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << kWidth << ' ' << height
    << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  write_header(t, s);
  const std::size_t left_out = write_map(t, s) + write_speed_chart(t, s);

  s << "<text x=\"" << kMap.x0 << "\" y=\"" << legend_y
    << "\" font-weight=\"bold\">Players</text>\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& track = t.tracks[i];
    const double y = legend_y + 20 + static_cast<double>(i) * 18;
    s << "<rect x=\"" << kMap.x0 << "\" y=\"" << num(y - 10) << "\" width=\"14\" height=\"10\" "
      << "fill=\"" << kColors[i % kColors.size()] << "\"/>"
      << "<text x=\"" << kMap.x0 + 20 << "\" y=\"" << num(y) << "\">" << short_hex(track.player)
      << "...  " << track.rows.size() << " positions, " << track_summary(track) << "</text>\n";
  }
  if (t.tracks.size() > shown) {
    s << "<text x=\"" << kMap.x0 << "\" y=\""
      << num(legend_y + 20 + static_cast<double>(shown) * 18) << "\">and "
      << t.tracks.size() - shown << " more players</text>\n";
  }
  const std::string notes[] = {
      "Circles on the map: first appearance or accepted respawn (dashed: the jump, not checked).",
      "Red: a violation (dashed: late, within the limit on the GS's clock: digests_late); amber: "
      "over the limit, accumulated excess still allowed.",
      "speed = distance / min(GS elapsed, VS-credited elapsed).",
      "Labels: each player's fastest step over the limit and the revocation's step" +
          (left_out ? " (" + std::to_string(left_out) + " left out for room: see --format table)"
                    : std::string()) +
          "."};
  double note_y = height - 58;
  for (const auto& note : notes) {
    s << "<text x=\"" << kMap.x0 << "\" y=\"" << note_y << "\" font-size=\"10\" fill=\"#555\">"
      << note << "</text>\n";
    note_y += 14;
  }
  s << "</svg>\n";
  out << s.str();
}

}  // namespace gsvs::audit::timeline
