// audit-cli timeline: every step over the limit is found, for every player of a digest and after
// the revocation, in each output format; and the SVG keeps its labels apart and inside their
// panels.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "storage/log.h"
#include "tests/audit/audit_fixture.h"
#include "tests/support/tamper.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

// The generated store's speed-violation session, changed the way a GS that lets several players
// cheat would have written it:
// - in the digest the revocation cites, player 1 jumps 45 m as well as player 0 (50 m);
// - after the Revocation the GS keeps sending digests: a baseline, then player 1 jumps 40 m,
//   then player 2 runs at 9 m/s twice (over the limit; the second time with its accumulated
//   excess above the threshold), then a digest whose signature does not verify.
struct CheatingStore {
  TempDir dir;
  std::string path = dir.file("cheat.db");
  const GeneratedSession* session = generated().ended_by(RevocationReason::kSpeedViolation);
  std::uint64_t violating_seq = 0;
  std::vector<std::uint64_t> appended;  // the digests after the revocation

  CheatingStore() {
    copy_store(generated_path(), path);
    violating_seq = session->evidence.at(1);
    const auto key = generator_session_key(kAuditSeed, session->id);
    TranscriptDigest last;
    std::uint64_t last_vs_ms = 0;
    {
      Tamper t(path);
      auto digest = decode<TranscriptDigest>(t.blob(violating_seq, "message"));
      if (!digest) throw std::runtime_error(digest.error());
      digest->players.at(1).x_mm += 45'000;
      sign(*digest, key);
      t.set_blob(violating_seq, "message", encode(*digest));
      t.rechain(violating_seq);
      last = *digest;
      last_vs_ms = static_cast<std::uint64_t>(t.integer(violating_seq, "vs_time_ms"));
    }
    auto log = storage::Log::open(path, storage::OpenMode::kReadWrite);
    if (!log) throw std::runtime_error(log.error());
    const auto end = (*log)->get((*log)->size() - 1);
    if (!end) throw std::runtime_error(end.error());
    const std::uint64_t base_vs_ms = end->header.vs_time_ms + 1000;
    // Moves (dx in metres per player) every 500 ms, on both clocks.
    const std::vector<std::vector<double>> moves{
        {1, 1, 1}, {0.5, 40, 0.5}, {0.5, 0.5, 4.5}, {0.5, 0.5, 4.5}, {0.5, 30, 0.5}};
    std::vector<storage::PendingEntry> entries;
    for (std::size_t i = 0; i < moves.size(); ++i) {
      TranscriptDigest d = last;
      d.gs_counter += 100;
      d.tick = d.gs_counter;
      const std::uint64_t vs_ms = base_vs_ms + i * 500;
      d.gs_time_ms += vs_ms - last_vs_ms;
      for (std::size_t p = 0; p < d.players.size(); ++p) {
        d.players[p].flags = 0;
        d.players[p].x_mm += static_cast<std::int32_t>(moves[i].at(p) * 1000);
      }
      sign(d, key);
      if (i + 1 == moves.size()) d.signatures[0].bytes[0] ^= 0x80;  // not the GS's
      entries.push_back(storage::PendingEntry{MessageKind::kTranscriptDigest,
                                              chains::Direction::kReceived, session->id, vs_ms,
                                              encode(d)});
      last = d;
      last_vs_ms = vs_ms;
    }
    auto written = (*log)->append(entries);
    if (!written) throw std::runtime_error(written.error());
    for (const auto& e : *written) appended.push_back(e.header.seq);
  }
};

nlohmann::json timeline_json(const CheatingStore& store) {
  auto r = run_audit_cli(
      {"timeline", store.path, "--session", std::to_string(store.session->id), "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

// A copy, so that a missing field reads as null (a test failure) rather than an assertion.
nlohmann::json row_at(const nlohmann::json& player, std::uint64_t seq) {
  for (const auto& row : player["rows"]) {
    if (row["seq"] == seq) return row;
  }
  throw std::runtime_error("no row at entry " + std::to_string(seq));
}

TEST(Timeline, EveryStepOverTheLimitIsFlaggedForEveryPlayerAndAfterTheRevocation) {
  const CheatingStore store;
  ASSERT_GE(store.session->players.size(), 3u);
  auto doc = timeline_json(store);
  auto& players = doc["players"];
  ASSERT_EQ(players.size(), 3u);

  // The digest the revocation cites: both jumping players are violations; the VS revoked on
  // player 0's, the first of the digest.
  auto p0 = row_at(players[0], store.violating_seq);
  EXPECT_EQ(p0["event"], "violation");
  EXPECT_EQ(p0["revoked_here"], true);
  auto p1 = row_at(players[1], store.violating_seq);
  EXPECT_EQ(p1["event"], "violation");
  EXPECT_EQ(p1["violation"], true);
  EXPECT_EQ(p1["revoked_here"], false);
  EXPECT_GT(p1["speed_mm_s"].get<double>(), p1["limit_mm_s"].get<double>());
  EXPECT_EQ(row_at(players[2], store.violating_seq).value("event", ""), "move");

  // After the revocation, judged as the VS would have.
  const auto& a = store.appended;
  ASSERT_EQ(a.size(), 5u);
  struct Expected {
    std::size_t player;
    std::uint64_t seq;
    const char* event;
  };
  for (const Expected& e : {Expected{0, a[0], "move"}, Expected{1, a[0], "move"},
                            Expected{0, a[1], "move"},  // accumulated excess high, speed not
                            Expected{1, a[1], "violation"}, Expected{2, a[2], "over_limit"},
                            Expected{2, a[3], "violation"}}) {
    SCOPED_TRACE("player " + std::to_string(e.player) + " at " + std::to_string(e.seq));
    auto row = row_at(players[e.player], e.seq);
    EXPECT_EQ(row["event"], e.event);
    EXPECT_EQ(row["after_revocation"], true);
    EXPECT_EQ(row["revoked_here"], false);
  }
  auto forged = row_at(players[1], a[4]);
  EXPECT_EQ(forged["violation"], false);
  EXPECT_FALSE(forged.contains("speed_mm_s"));
  EXPECT_NE(forged["event"].get<std::string>().find("signature does not verify"),
            std::string::npos);

  // Counted per player.
  EXPECT_EQ(players[0]["violations"], 1);
  EXPECT_EQ(players[0]["over_limit"], 1);
  EXPECT_EQ(players[1]["violations"], 2);
  EXPECT_EQ(players[1]["violations_after_revocation"], 1);
  EXPECT_EQ(players[2]["violations"], 1);
  EXPECT_EQ(players[2]["over_limit"], 2);

  // The table and the CSV say the same.
  const std::string id = std::to_string(store.session->id);
  auto table = run_audit_cli({"timeline", store.path, "--session", id});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("VIOLATION (the revocation's step)"), std::string::npos);
  EXPECT_NE(table.out.find("VIOLATION, after the revocation"), std::string::npos);
  EXPECT_NE(table.out.find("over limit, after the revocation"), std::string::npos);
  EXPECT_NE(table.out.find("2 steps over the limit, 2 violations (1 after the revocation)"),
            std::string::npos)
      << table.out;
  auto csv = run_audit_cli({"timeline", store.path, "--session", id, "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_NE(csv.out.find("violation,over_limit,revoked_here,after_revocation,late\n"),
            std::string::npos);
  std::size_t violation_rows = 0;
  for (auto at = csv.out.find(",\"violation\","); at != std::string::npos;
       at = csv.out.find(",\"violation\",", at + 1)) {
    ++violation_rows;
  }
  EXPECT_EQ(violation_rows, 4u);
}

// ---- the SVG ------------------------------------------------------------------------------------

struct SvgText {
  double x = 0, y = 0, size = 12;
  bool bold = false;
  std::string anchor = "start";
  std::string cls;
  std::string text;
  std::size_t panel = 0;  // how many panel frames came before it
};

struct Extent {
  double x0, y0, x1, y1;
};

// What the writer assumes of DejaVu Sans: 0.7 em a character in bold, 0.64 in regular.
Extent extent(const SvgText& t) {
  std::size_t chars = 0;
  for (char c : t.text) chars += (static_cast<unsigned char>(c) & 0xc0) != 0x80 ? 1 : 0;
  const double width = static_cast<double>(chars) * t.size * (t.bold ? 0.7 : 0.64);
  const double x0 = t.anchor == "end" ? t.x - width : t.anchor == "middle" ? t.x - width / 2 : t.x;
  return {x0, t.y - 0.8 * t.size, x0 + width, t.y + 0.25 * t.size};
}

std::string attribute(const std::string& tag, const std::string& name) {
  const std::regex pattern(" " + name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(tag, m, pattern) ? m[1].str() : std::string();
}

struct Svg {
  double width = 0;
  std::vector<Extent> panels;
  std::vector<SvgText> texts;
};

Svg parse_svg(const std::string& svg) {
  Svg out;
  const std::regex element(R"(<svg [^>]*>|<rect class="panel"[^>]*>|<text ([^>]*)>([^<]*)</text>)");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), element);
       it != std::sregex_iterator(); ++it) {
    const std::string tag = (*it)[0].str();
    if (tag.starts_with("<svg")) {
      out.width = std::stod(attribute(tag, "width"));
    } else if (tag.starts_with("<rect")) {
      const double x = std::stod(attribute(tag, "x")), y = std::stod(attribute(tag, "y"));
      out.panels.push_back(Extent{x, y, x + std::stod(attribute(tag, "width")),
                                  y + std::stod(attribute(tag, "height"))});
    } else {
      SvgText t;
      const std::string attrs = " " + (*it)[1].str();
      t.x = std::stod(attribute(attrs, "x"));
      t.y = std::stod(attribute(attrs, "y"));
      if (auto size = attribute(attrs, "font-size"); !size.empty()) t.size = std::stod(size);
      t.bold = attribute(attrs, "font-weight") == "bold";
      if (auto anchor = attribute(attrs, "text-anchor"); !anchor.empty()) t.anchor = anchor;
      if (!attribute(attrs, "transform").empty()) continue;  // the rotated axis titles
      t.cls = attribute(attrs, "class");
      t.text = (*it)[2].str();
      t.panel = out.panels.size();
      out.texts.push_back(t);
    }
  }
  return out;
}

TEST(Timeline, SvgLabelsStayApartInsideTheirPanelsAndNoAxisSaysMinusZero) {
  const CheatingStore store;
  // The cheating session (two players jump in one digest); every session of the generated store
  // that ends in a speed violation, the ones with marks to place; and the first session to end
  // with each other revocation reason: maps that cross zero at all sorts of places, and every
  // way a session ends (a few digests or many, marks or none). Each further session is one more
  // axis of the same kind. (All 47 sessions, as this test once drew, took 15 s under the
  // sanitizers for no case more.)
  std::vector<std::pair<std::string, std::uint64_t>> runs{{store.path, store.session->id}};
  std::set<RevocationReason> reasons;
  for (const auto& s : generated().sessions) {
    if (!s.reason) continue;
    const bool first_of_reason = reasons.insert(*s.reason).second;
    if (first_of_reason || *s.reason == RevocationReason::kSpeedViolation) {
      runs.emplace_back(generated_path(), s.id);
    }
  }
  TempDir dir;
  std::size_t marks_seen = 0;
  for (const auto& [path, id] : runs) {
    SCOPED_TRACE(path + " session " + std::to_string(id));
    const std::string out = dir.file("s" + std::to_string(id) + ".svg");
    auto r = run_audit_cli(
        {"timeline", path, "--session", std::to_string(id), "--format", "svg", "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = read_text(out);
    EXPECT_FALSE(std::regex_search(text, std::regex(R"(>-0(\.0+)?<)"))) << "an axis says -0";
    const Svg svg = parse_svg(text);
    ASSERT_EQ(svg.panels.size(), 2u);  // the map, then the speed chart
    std::vector<std::pair<Extent, std::string>> marks;
    for (const auto& t : svg.texts) {
      const Extent e = extent(t);
      EXPECT_GE(e.x0, 0) << t.text;
      EXPECT_LE(e.x1, svg.width) << t.text;
      if (t.cls != "mark") continue;
      ASSERT_GE(t.panel, 1u) << t.text;
      const Extent& panel = svg.panels[t.panel - 1];
      EXPECT_TRUE(e.x0 >= panel.x0 && e.x1 <= panel.x1 && e.y0 >= panel.y0 && e.y1 <= panel.y1)
          << "'" << t.text << "' leaves its panel";
      for (const auto& [other, other_text] : marks) {
        EXPECT_FALSE(e.x0 < other.x1 && other.x0 < e.x1 && e.y0 < other.y1 && other.y0 < e.y1)
            << "'" << t.text << "' overlaps '" << other_text << "'";
      }
      marks.emplace_back(e, t.text);
    }
    marks_seen += marks.size();
    if (path == store.path) {
      // Both jumping players of the cited digest, and player 2 running after the revocation.
      for (const std::string& label : {"entry " + std::to_string(store.violating_seq) + ": ",
                                       "m/s, entry " + std::to_string(store.violating_seq),
                                       "entry " + std::to_string(store.appended.at(2)) + ": "}) {
        EXPECT_NE(text.find(label), std::string::npos) << label;
      }
      EXPECT_GE(marks.size(), 6u);
    }
  }
  EXPECT_GT(marks_seen, 0u);
  std::cout << runs.size() << " timelines drawn (the cheating session, and " << runs.size() - 1
            << " of the generated store's " << generated().sessions.size()
            << " sessions: its speed violations, and one per other revocation reason of "
            << reasons.size() << "), " << marks_seen << " marks\n";
}

}  // namespace
}  // namespace gsvs::testing
