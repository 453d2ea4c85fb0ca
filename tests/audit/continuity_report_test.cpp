// Continuity across sessions in the audit's per-session tools (PROTOCOL.md §8.6): a rogue GS that
// joins again and spawns its player 1 km from where the earlier session left it, within the spawn
// rate limit, is revoked citing the earlier session's digest. The dispute report carries the
// earlier session (its JoinAccept, Revocation, receipts and digests, with inclusion proofs) so
// that verify-report confirms the verdict from the report alone, and fails when that evidence is
// removed or altered; explain and timeline show the carried position and the carried spawn.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/audit/report_fixture.h"
#include "tests/support/schema_validation.h"

namespace gsvs::testing {
namespace {

using nlohmann::json;

struct RejoinRecording {
  RecordedSession vs;               // .session: the rogue's second session
  protocol::SessionId earlier = 0;  // the session whose digest the revocation cites
  std::uint64_t earlier_digest = 0;
};

protocol::PlayerPosition spawn_of(const crypto::PublicKey& player, std::int32_t x_mm) {
  protocol::PlayerPosition p = player_at(player, x_mm, 0);
  p.flags = protocol::kPlayerSpawn;
  return p;
}

RejoinRecording record_rejoin() {
  RejoinRecording out;
  out.vs.dir = std::make_shared<TempDir>();
  const auto identity = crypto::SecretKey::generate();
  const Hash32 build = crypto::sha256(as_bytes("honest build 1.0"));
  const auto player = crypto::SecretKey::generate().public_key();
  VsOptions options;
  options.checkpoint_interval_ms = 150;
  options.extra = "spawn_min_interval_ms = 600000\n";
  VsProcess vs(*out.vs.dir, {identity.public_key()}, {build}, options);
  {
    ScriptedGs first(vs.port(), identity, build);
    first.join();
    out.earlier = first.session_id();
    first.send_signed(first.make_digest({spawn_of(player, 0)}, unix_time_ms()));
    if (!first.expect<protocol::ProtectedReceipt>()) throw std::runtime_error("no receipt");
    // Silent from here: the session ends on missed heartbeats, heartbeat_timeout_ms (5 s by
    // default) after its join; waiting only as long raced the VS's deadline on a loaded host.
    if (!first.expect<protocol::Revocation>(std::chrono::seconds(20))) {
      throw std::runtime_error("not revoked:\n" + vs.process().output());
    }
  }
  {
    ScriptedGs rogue(vs.port(), identity, build);
    rogue.join();
    out.vs.session = rogue.session_id();
    rogue.send_signed(rogue.make_digest({spawn_of(player, 1'000'000)}, unix_time_ms()));
    auto revocation = rogue.expect<protocol::Revocation>(std::chrono::seconds(5));
    if (!revocation || revocation->evidence.size() != 2) {
      throw std::runtime_error("no speed_violation:\n" + vs.process().output());
    }
    out.earlier_digest = revocation->evidence[0];
  }
  if (vs.stop() != 0) throw std::runtime_error("vsd did not stop cleanly");
  out.vs.store = vs.store_path();
  out.vs.vs_key = vs.public_key();
  out.vs.vs_key_file = out.vs.dir->file("vs.key.pub");
  return out;
}

class ContinuityReport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::init().ok()); }
  // The report of the rogue's session, written and read back.
  json report(const RejoinRecording& r, std::string* output) {
    const std::string file = work_.file("rejoin.json");
    EXPECT_EQ(audit_cli_status({"report", r.vs.store, "--session", std::to_string(r.vs.session),
                                "--vs-pubkey", r.vs.vs_key_file, "-o", file},
                               output),
              0)
        << *output;
    return json::parse(read_text(file));
  }
  int verify_report(const RejoinRecording& r, const json& document, std::string* output) {
    const std::string file = work_.file("checked.json");
    write_text(file, document.dump(2) + "\n");
    return audit_cli_status({"verify-report", file, "--vs-pubkey", to_hex(r.vs.vs_key), "--json"},
                            output);
  }
  TempDir work_;
};

TEST_F(ContinuityReport, ACrossSessionViolationsReportIsConfirmedFromTheReportAlone) {
  const RejoinRecording r = record_rejoin();
  std::string output;
  const json document = report(r, &output);
  EXPECT_NE(output.find("verdict: confirmed"), std::string::npos) << output;
  ASSERT_EQ(verify_report(r, document, &output), 0) << output;
  EXPECT_EQ(json::parse(output)["verdict"]["outcome"], "confirmed") << output;
  EXPECT_TRUE(matches_schema({{"rejoin.json", document.dump(2) + "\n"}}));
  const json& facts = document["verdict"]["facts"];
  EXPECT_EQ(facts["violation"]["from_seq"], r.earlier_digest);
  EXPECT_EQ(facts["violation"]["from_session"], r.earlier);
  ASSERT_EQ(facts["earlier_sessions"].size(), 1u) << facts.dump(2);
  EXPECT_EQ(facts["earlier_sessions"][0]["session_id"], r.earlier);
  EXPECT_EQ(facts["earlier_sessions"][0]["digests_replayed"], 1);
  EXPECT_EQ(facts["carried"]["seq"], r.earlier_digest);
  EXPECT_FALSE(facts["carried"]["last_spawn_vs_ms"].is_null()) << "the carried spawn";
  bool covered = false;
  for (const auto& e : document["entries"]) {
    if (e["seq"] == r.earlier_digest) covered = e["inclusion"].is_object();
  }
  EXPECT_TRUE(covered) << "the earlier digest, with its inclusion proof";
}

struct TamperRow {
  std::string name;
  std::function<bool(const json& entry, const RejoinRecording& r)> drop;  // remove the entry
  bool alter;  // else: change one hex digit of the cited earlier digest's message
};

TEST_F(ContinuityReport, AReportWithoutTheEarlierEvidenceOrWithItAlteredFailsTable) {
  const RejoinRecording r = record_rejoin();
  std::string output;
  const json original = report(r, &output);
  const TamperRow rows[] = {
      {"the cited earlier digest removed",
       [](const json& e, const RejoinRecording& rec) { return e["seq"] == rec.earlier_digest; },
       false},
      {"the whole earlier session removed",
       [](const json& e, const RejoinRecording& rec) { return e["session_id"] == rec.earlier; },
       false},
      {"the cited earlier digest altered", nullptr, true},
  };
  for (const auto& row : rows) {
    json tampered = original;
    json kept = json::array();
    for (auto& e : tampered["entries"]) {
      if (row.drop && row.drop(e, r)) continue;
      if (row.alter && e["seq"] == r.earlier_digest) {
        std::string hex = e["message_hex"];
        hex[hex.size() - 3] = hex[hex.size() - 3] == '0' ? '1' : '0';  // inside a coordinate
        e["message_hex"] = hex;
      }
      kept.push_back(e);
    }
    tampered["entries"] = kept;
    EXPECT_EQ(verify_report(r, tampered, &output), 1) << row.name << "\n" << output;
  }
}

TEST_F(ContinuityReport, ExplainShowsTheCarriedPositionAndSpawn) {
  const RejoinRecording r = record_rejoin();
  auto explained =
      run_audit_cli({"explain", r.vs.store, "--session", std::to_string(r.vs.session), "--json"});
  ASSERT_EQ(explained.exit_code, 0) << explained.out << explained.err;
  const json out = json::parse(explained.out);
  const json& carried = out["step"]["carried"];
  ASSERT_TRUE(carried.is_object()) << out.dump(2);
  EXPECT_EQ(carried["session_id"], r.earlier);
  EXPECT_EQ(carried["seq"], r.earlier_digest);
  EXPECT_EQ(carried["x_mm"], 0);
  EXPECT_FALSE(carried["last_spawn_vs_ms"].is_null());
  auto text = run_audit_cli({"explain", r.vs.store, "--session", std::to_string(r.vs.session)});
  EXPECT_NE(
      text.out.find("held to its carried position, from session " + std::to_string(r.earlier)),
      std::string::npos)
      << text.out;
}

TEST_F(ContinuityReport, TimelineShowsTheCarriedPositionAndSpawn) {
  const RejoinRecording r = record_rejoin();
  auto timeline = run_audit_cli(
      {"timeline", r.vs.store, "--session", std::to_string(r.vs.session), "--format", "json"});
  ASSERT_EQ(timeline.exit_code, 0) << timeline.out << timeline.err;
  const json out = json::parse(timeline.out);
  ASSERT_EQ(out["players"].size(), 1u) << out.dump(2);
  const json& player = out["players"][0];
  EXPECT_EQ(player["carried"]["session_id"], r.earlier);
  EXPECT_FALSE(player["carried"]["last_spawn_vs_ms"].is_null());
  ASSERT_EQ(player["rows"].size(), 1u);
  EXPECT_EQ(player["rows"][0]["event"], "violation") << "checked from the carried position";
  EXPECT_EQ(player["rows"][0]["from_seq"], r.earlier_digest);
}

}  // namespace
}  // namespace gsvs::testing
