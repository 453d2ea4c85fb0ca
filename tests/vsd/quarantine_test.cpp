// Quarantine of a GS identity (PROTOCOL.md §8.16), with vsd as a real process on 127.0.0.1 and a
// GS scripted by hand: a revocation for an integrity fault keeps the identity out, across a vsd
// restart, and a liveness end does not. The rule itself is tabled in
// tests/rules/quarantine_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "protocol/clock.h"
#include "protocol/keyfile.h"
#include "tests/support/schema_validation.h"
#include "tests/support/tamper.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

class VsdQuarantine : public ::testing::Test {
 protected:
  void start(VsOptions options = {}) {
    vs_ = std::make_unique<VsProcess>(
        dir_, std::vector<crypto::PublicKey>{rogue_.public_key(), honest_.public_key()},
        std::vector<Hash32>{build_}, std::move(options));
  }
  // The Pardon entries of the store, decoded.
  std::vector<Pardon> logged_pardons() const {
    std::vector<Pardon> out;
    for (const auto& e : vs_->entries()) {
      if (e.header.kind != MessageKind::kPardon) continue;
      auto pardon = decode<Pardon>(e.message);
      EXPECT_TRUE(pardon.ok()) << pardon.error();
      EXPECT_EQ(e.header.session_id, 0U);
      if (pardon) out.push_back(*pardon);
    }
    return out;
  }
  // The GS receives a revocation for `reason` and is disconnected.
  void expect_revoked(ScriptedGs& gs, RevocationReason reason) {
    auto revocation = gs.expect<Revocation>(std::chrono::seconds(5));
    ASSERT_TRUE(revocation.has_value()) << vs_->process().output();
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(reason)) << revocation->detail;
    EXPECT_TRUE(gs.socket().wait_closed(std::chrono::seconds(3)));
  }
  // A join of `identity`, answered with a JoinReject: its reason and detail.
  JoinReject expect_join_refused(const crypto::SecretKey& identity) {
    ScriptedGs gs(vs_->port(), identity, build_);
    gs.send_join(gs.make_join_request());
    auto reject = gs.expect<JoinReject>();
    EXPECT_TRUE(reject.has_value()) << vs_->process().output();
    if (!reject) return {};
    EXPECT_TRUE(verify(*reject, vs_->public_key()));
    return *reject;
  }
  // Runs a vsd admin subcommand against the running daemon; its exit code and output.
  int vsd_command(std::vector<std::string> args, std::string& output) {
    return vs_->admin(std::move(args), output);
  }
  // Runs audit-cli on the store (or on `store`); its exit code and output.
  int audit_command(std::vector<std::string> args, std::string& output,
                    const std::optional<std::string>& store = std::nullopt) {
    args.insert(args.begin(), program("audit-cli"));
    args.push_back(store.value_or(vs_->store_path()));
    ChildProcess command(args, out_.file("audit-command.out"));
    const int code = command.wait(std::chrono::seconds(30));
    output = command.output();
    return code;
  }
  void revoke_for_speed(ScriptedGs& gs) {
    const auto player = crypto::SecretKey::generate().public_key();
    const auto t0 = unix_time_ms();
    PlayerPosition p;
    p.player = player;
    gs.send_signed(gs.make_digest({p}, t0));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    p.x_mm = 50000;  // 50 m in 0.3 s
    gs.send_signed(gs.make_digest({p}, t0 + 300));
    expect_revoked(gs, RevocationReason::kSpeedViolation);
  }
  // Starts vsd on a segmented store that seals a segment a second (with `extra` config lines),
  // and has the rogue join as session 1 and be revoked for speed: quarantined. The options used.
  VsOptions start_segmented_and_quarantine_the_rogue(const std::string& extra) {
    VsOptions options;
    options.store = "vs/";
    options.extra = "segment_max_age_s = 1\n" + extra;
    start(options);
    ScriptedGs rogue(vs_->port(), rogue_, build_);
    EXPECT_EQ(rogue.join().session_id, 1U);
    revoke_for_speed(rogue);
    return options;
  }
  // Rewrites the message at `seq` of a copy of the store as the VS key's holder would (re-signed,
  // the chain and the Checkpoints after it redone); with `resign` false, as one without the key
  // (the old signature kept).
  template <class M, class Edit>
  void rewrite_as_vs(Tamper& t, std::uint64_t seq, Edit edit, bool resign = true) {
    auto vs_key = keyfile::read_secret_key(dir_.file("vs.key"));
    ASSERT_TRUE(vs_key.ok()) << vs_key.error();
    auto message = decode<M>(t.blob(seq, "message"));
    ASSERT_TRUE(message.ok()) << message.error();
    edit(*message);
    if (resign) sign(*message, *vs_key);
    t.set_blob(seq, "message", encode(*message));
    t.rechain(seq);
    t.resign_checkpoints(seq, *vs_key);
  }
  // Waits until vsd has logged a StateCarried that restates the rogue's quarantine; the position
  // of the Revocation that began it.
  std::uint64_t wait_for_carry_of_the_rogue() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& e : vs_->entries()) {
        if (e.header.kind != MessageKind::kStateCarried) continue;
        auto carried = decode<StateCarried>(e.message);
        EXPECT_TRUE(carried.ok()) << carried.error();
        if (!carried) return 0;
        EXPECT_TRUE(verify(*carried, vs_->public_key()));
        for (const auto& q : carried->quarantines) {
          if (q.gs_identity == rogue_.public_key()) return q.revocation_position;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "no StateCarried restated the rogue's quarantine: " << vs_->process().output();
    return 0;
  }
  void expect_store_verifies() {
    std::string output;
    EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  }

  TempDir dir_;
  TempDir out_;
  crypto::SecretKey rogue_ = crypto::SecretKey::generate();
  crypto::SecretKey honest_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("honest build 1.0"));
  std::unique_ptr<VsProcess> vs_;
};

constexpr auto kQuarantined = static_cast<std::uint16_t>(JoinRejectReason::kQuarantined);

TEST_F(VsdQuarantine, RogueRevokedForSpeedStaysOutAcrossARestart) {
  start();
  SessionId rogue_session = 0;
  {
    ScriptedGs rogue(vs_->port(), rogue_, build_);
    rogue_session = rogue.join().session_id;
    revoke_for_speed(rogue);
  }
  const JoinReject refused = expect_join_refused(rogue_);
  EXPECT_EQ(refused.reason, kQuarantined) << refused.detail;
  EXPECT_NE(refused.detail.find("speed_violation"), std::string::npos) << refused.detail;
  // Another identity is not touched by it.
  ScriptedGs honest(vs_->port(), honest_, build_);
  honest.join();

  std::string status;
  ASSERT_EQ(vsd_command({"status", "--json"}, status), 0) << status;
  const auto listed = nlohmann::json::parse(status.substr(status.find('{')))["quarantined"];
  ASSERT_EQ(listed.size(), 1U) << status;
  EXPECT_EQ(listed[0]["gs_identity"], to_hex(rogue_.public_key()));
  EXPECT_EQ(listed[0]["session_id"], rogue_session);
  EXPECT_EQ(listed[0]["reason"], "speed_violation");
  // Until pardoned: both fields there, both null.
  EXPECT_TRUE(listed[0].contains("lapses_vs_ms") && listed[0]["lapses_vs_ms"].is_null()) << status;
  EXPECT_TRUE(listed[0].contains("lapses_in_ms") && listed[0]["lapses_in_ms"].is_null()) << status;

  // Derived from the log: a restart on the same store keeps it.
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start();
  EXPECT_EQ(expect_join_refused(rogue_).reason, kQuarantined);
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

// Retention of a segmented store keeps what a start reads, however old: here a quarantine in
// force (tests/vsd/log_at_start_test.cpp tables the rest).
TEST_F(VsdQuarantine, RetentionKeepsAQuarantineInForce) {
  const VsOptions options = start_segmented_and_quarantine_the_rogue("");
  // Segments sealed after the quarantine, so that age alone would retire the one holding it;
  // and a restart, whose PolicyApplied is then the policy in force: only the quarantine still
  // holds the first entries.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start(options);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  ChildProcess command({program("vsd"), "store", "archive", "--store", vs_->store_path(),
                        "--vs-public-key", to_hex(vs_->public_key()), "--to", out_.file("archive")},
                       out_.file("archive.out"));
  ASSERT_EQ(command.wait(std::chrono::seconds(30)), 0) << command.output();
  EXPECT_NE(command.output().find("which vsd reads at its start (entry 1: the quarantine of "
                                  "session 1 (" +
                                  short_hex(rogue_.public_key()) + "), in force)"),
            std::string::npos)
      << command.output();
  EXPECT_NE(command.output().find("0 sealed segment(s) archived"), std::string::npos)
      << command.output();

  start(options);
  EXPECT_EQ(expect_join_refused(rogue_).reason, kQuarantined);
  ScriptedGs honest(vs_->port(), honest_, build_);
  EXPECT_EQ(honest.join().session_id, 2U);
}

// Carried forward (PROTOCOL.md §8.16): once a StateCarried restates it, a quarantine until
// pardoned no longer keeps the entries from its Revocation on. Retention keeps them here only for
// the continuity window (ten minutes, too long to wait for in a test); a copy that starts at the
// carry, as retention leaves a store, shows the rest: the quarantine holds after a start on it,
// a Pardon names the Revocation the copy no longer holds, and the audit of the copy holds the
// Pardon to the carried quarantine.
TEST_F(VsdQuarantine, ACarriedQuarantineOutlivesItsRevocation) {
  start_segmented_and_quarantine_the_rogue("carry_interval_ms = 1000\n");
  const std::uint64_t revocation_position = wait_for_carry_of_the_rogue();
  std::uint64_t carry_position = 0;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind == MessageKind::kStateCarried && carry_position == 0) {
      carry_position = e.header.seq;
    }
  }
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  ChildProcess archive({program("vsd"), "store", "archive", "--store", vs_->store_path(),
                        "--vs-public-key", to_hex(vs_->public_key()), "--to", out_.file("archive")},
                       out_.file("archive.out"));
  ASSERT_EQ(archive.wait(std::chrono::seconds(30)), 0) << archive.output();
  EXPECT_EQ(archive.output().find("the quarantine of session 1"), std::string::npos)
      << archive.output();
  EXPECT_NE(archive.output().find("the start of session 1, ended within the continuity window"),
            std::string::npos)
      << archive.output();

  ChildProcess copy({program("vsd"), "store", "export", "--store", vs_->store_path(), "--from",
                     std::to_string(carry_position), "--to", dir_.file("copy/"), "--vs-public-key",
                     to_hex(vs_->public_key())},
                    out_.file("export.out"));
  ASSERT_EQ(copy.wait(std::chrono::seconds(30)), 0) << copy.output();
  VsOptions on_copy;
  on_copy.store = "copy/";
  start(on_copy);
  const auto kept = vs_->entries();
  ASSERT_FALSE(kept.empty());
  ASSERT_GT(kept.front().header.seq, revocation_position) << copy.output();
  const JoinReject refused = expect_join_refused(rogue_);
  EXPECT_EQ(refused.reason, kQuarantined) << refused.detail;
  EXPECT_NE(refused.detail.find("speed_violation"), std::string::npos) << refused.detail;
  std::string output;
  ASSERT_EQ(vsd_command({"pardon", "--identity", to_hex(rogue_.public_key()), "--reason",
                         "reviewed in the archive"},
                        output),
            0)
      << output;
  const auto pardons = logged_pardons();
  ASSERT_EQ(pardons.size(), 1U);
  EXPECT_EQ(pardons[0].revocation_position, revocation_position);
  {
    ScriptedGs back(vs_->port(), rogue_, build_);
    back.join();
  }
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
  ASSERT_EQ(audit_command({"sessions"}, output), 0) << output;
  EXPECT_NE(output.find("(entry " + std::to_string(revocation_position) + "): pardoned at"),
            std::string::npos)
      << output;
  EXPECT_EQ(output.find("lifts nothing"), std::string::npos) << output;
}

// A carry is written while the log grows, not while it holds only the VS's own checkpoints and
// carries: an idle VS writes one and then none.
TEST_F(VsdQuarantine, AnIdleLogGetsNoNewCarry) {
  VsOptions options;
  options.extra = "carry_interval_ms = 1000\n";
  start(options);
  const auto carries = [&] {
    std::size_t count = 0;
    for (const auto& e : vs_->entries()) count += e.header.kind == MessageKind::kStateCarried;
    return count;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (carries() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(carries(), 1U) << vs_->process().output();
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // three intervals, idle
  EXPECT_EQ(carries(), 1U) << vs_->process().output();
}

// The audit holds each carry to the log before it (check state_carried): one that drops a
// quarantine in force or shortens its term, is dated ahead of its place or forgets the numbers,
// even re-signed by the VS key's holder, is a finding.
TEST_F(VsdQuarantine, ACarryThatMisstatesTheLogIsAFinding) {
  VsOptions options;
  options.extra = "carry_interval_ms = 1000\n";
  start(options);
  {
    ScriptedGs rogue(vs_->port(), rogue_, build_);
    rogue.join();
    revoke_for_speed(rogue);
  }
  wait_for_carry_of_the_rogue();
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
  std::optional<std::uint64_t> carry_seq;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind == MessageKind::kStateCarried) carry_seq = e.header.seq;
  }
  ASSERT_TRUE(carry_seq);
  struct Row {
    const char* name;
    void (*edit)(StateCarried&);
    const char* finding;
  };
  const Row rows[] = {
      {"quarantine dropped", [](StateCarried& c) { c.quarantines.clear(); },
       "no quarantine of that identity restated"},
      {"term shortened", [](StateCarried& c) { c.quarantines.at(0).quarantine_ms = 1; },
       "term until pardoned"},
      {"dated an hour ahead", [](StateCarried& c) { c.vs_time_ms += 3'600'000; },
       ", the entry's own"},
      {"session ids forgotten", [](StateCarried& c) { c.session_id_high = 0; },
       "session_id_high 1 or more"},
  };
  for (const Row& row : rows) {
    const std::string edited = out_.file(std::string("carry-") + row.name + ".db");
    copy_store(vs_->store_path(), edited);
    {
      Tamper t(edited);
      rewrite_as_vs<StateCarried>(t, *carry_seq, row.edit);
    }
    std::string output;
    EXPECT_EQ(audit_command({"verify", "--vs-pubkey", to_hex(vs_->public_key())}, output, edited),
              1)
        << row.name << ": " << output;
    EXPECT_NE(output.find("[state_carried]"), std::string::npos) << row.name << ": " << output;
    EXPECT_NE(output.find(row.finding), std::string::npos) << row.name << ": " << output;
  }
}

// Retention judges what a start reads at the VS time of the log's last entry, not by the clock
// of the host it runs on: a quarantine whose term has run out by this host's clock but not by the
// log's end is kept (a clock that runs ahead would otherwise retire a quarantine before vsd lets
// it lapse).
TEST_F(VsdQuarantine, RetentionJudgesQuarantinesAtTheLogsEnd) {
  const VsOptions options = start_segmented_and_quarantine_the_rogue("quarantine_ms = 8000\n");
  const auto lapsed = std::chrono::steady_clock::now() + std::chrono::milliseconds(8500);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  // A second run takes up every number the first one held (a later session, a later
  // revocation_seq, a later policy), so the oldest entry kept is the quarantine's.
  start(options);
  {
    ScriptedGs honest(vs_->port(), honest_, build_);
    EXPECT_EQ(honest.join().session_id, 2U);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();  // revokes it: vs_shutdown
  }
  ASSERT_LT(std::chrono::steady_clock::now(), lapsed) << "the machine is too slow for this test";
  std::this_thread::sleep_until(lapsed);
  ChildProcess command({program("vsd"), "store", "archive", "--store", vs_->store_path(),
                        "--vs-public-key", to_hex(vs_->public_key()), "--to", out_.file("archive")},
                       out_.file("archive.out"));
  ASSERT_EQ(command.wait(std::chrono::seconds(30)), 0) << command.output();
  EXPECT_NE(command.output().find("the quarantine of session 1 (" + short_hex(rogue_.public_key()) +
                                  "), in force), as of the log's last entry at VS time "),
            std::string::npos)
      << command.output();
  EXPECT_NE(command.output().find("0 sealed segment(s) archived"), std::string::npos)
      << command.output();
}

// The honest counterpart: a GS whose link broke (missed heartbeats) joins again at once.
TEST_F(VsdQuarantine, MissedHeartbeatsDoNotQuarantine) {
  VsOptions lapsing;
  lapsing.heartbeat_timeout_ms = 800;
  start(lapsing);
  {
    ScriptedGs gs(vs_->port(), honest_, build_);
    gs.join();
    expect_revoked(gs, RevocationReason::kMissedHeartbeats);
  }
  ScriptedGs again(vs_->port(), honest_, build_);
  again.join();
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

// A link that stalls for longer than jitter_allowance_ms and then delivers the GS's digests of
// that time together: the honest GS's steps outrun the credited clock, but its own clock explains
// them, so the session ends with digests_late and the identity joins again at once; the audit
// recomputes the reason (PROTOCOL.md §8.6 "Late digests").
TEST_F(VsdQuarantine, DigestsHeldUpByAStalledLinkDoNotQuarantine) {
  start();
  {
    ScriptedGs gs(vs_->port(), honest_, build_);
    gs.join();
    PlayerPosition p;
    p.player = crypto::SecretKey::generate().public_key();
    const auto t0 = unix_time_ms();
    gs.send_signed(gs.make_digest({p}, t0));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    // 2.5 s of stall, then five digests 500 ms of the GS's clock apart, the player walking 7 m/s.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    for (std::int32_t i = 1; i <= 5; ++i) {
      p.x_mm = 3500 * i;
      gs.send_signed(gs.make_digest({p}, t0 + 500 * static_cast<std::uint64_t>(i)));
    }
    expect_revoked(gs, RevocationReason::kDigestsLate);
  }
  ScriptedGs again(vs_->port(), honest_, build_);
  EXPECT_EQ(again.join().session_id, 2U);
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
  std::string output;
  ASSERT_EQ(audit_command({"explain", "--session", "1"}, output), 0) << output;
  EXPECT_NE(output.find("SUPPORTED: recomputed"), std::string::npos) << output;
  EXPECT_NE(output.find("arrived later than the 1.000 s jitter allowance"), std::string::npos)
      << output;
  EXPECT_NE(output.find("paced elapsed"), std::string::npos) << output;  // number by number
  EXPECT_EQ(output.find("<- differs"), std::string::npos) << output;
  // The timeline marks the revocation's step late, not a speed violation (AUDIT.md §3.3).
  ASSERT_EQ(audit_command({"timeline", "--session", "1", "--format", "json"}, output), 0) << output;
  const auto timeline = nlohmann::json::parse(output.substr(output.find('{')));
  ASSERT_EQ(timeline["players"].size(), 1U) << output;
  const auto& player = timeline["players"][0];
  EXPECT_EQ(player["late_violations"], 1) << output;
  EXPECT_EQ(player["violations"], 1) << output;
  bool revoked_step_late = false;
  for (const auto& row : player["rows"]) {
    if (row["revoked_here"] == true) revoked_step_late = row["event"] == "late" && row["late"];
  }
  EXPECT_TRUE(revoked_step_late) << output;
  ASSERT_EQ(audit_command({"timeline", "--session", "1"}, output), 0) << output;
  EXPECT_NE(output.find("LATE (within the limit on the GS's clock) (the revocation's step)"),
            std::string::npos)
      << output;
  const std::string report = out_.file("late.json");
  ASSERT_EQ(audit_command({"report", "--session", "1", "-o", report}, output), 0) << output;
  EXPECT_NE(output.find("verdict: confirmed"), std::string::npos) << output;
  // With the paced clock's numbers, which the generated stores never have (docs/AUDIT.md §4).
  EXPECT_TRUE(matches_schema({{"digests-late", read_text(report)}}));

  // The same log, up to that revocation, as a VS would have written it had it revoked the late
  // step as speed_violation (and quarantined; the join after it is left out, which that would
  // have refused): re-signed with the VS key and re-chained. This run's VsStart names rules
  // version 2, so the audit holds the revocation to digests_late; rewritten to say version 1, as
  // every VS before digests_late wrote it, the reason stands, with a warning (PROTOCOL.md §8.18).
  std::optional<std::uint64_t> start_seq;
  std::optional<std::uint64_t> revocation_seq;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind == MessageKind::kVsStart && !start_seq) start_seq = e.header.seq;
    if (e.header.kind == MessageKind::kRevocation && e.header.session_id == 1) {
      revocation_seq = e.header.seq;
    }
  }
  ASSERT_TRUE(start_seq && revocation_seq);
  // `start` says: 2 as written, 1 re-signed by the VS, or 1 without the VS key (a forgery).
  enum class Start { kAsWritten, kOlderVs, kForgedOlder };
  const auto as_speed = [&](const std::string& copy, Start start) {
    copy_store(vs_->store_path(), copy);
    Tamper t(copy);
    t.exec("DELETE FROM log_entry WHERE seq > " + std::to_string(*revocation_seq));
    if (start != Start::kAsWritten) {
      rewrite_as_vs<VsStart>(
          t, *start_seq,
          [](VsStart& s) {
            ASSERT_EQ(s.rules_version, 2U);
            s.rules_version = 1;
          },
          start == Start::kOlderVs);
    }
    rewrite_as_vs<Revocation>(t, *revocation_seq, [](Revocation& r) {
      r.reason = static_cast<std::uint16_t>(RevocationReason::kSpeedViolation);
    });
  };
  const std::string current = out_.file("current-vs.db");
  as_speed(current, Start::kAsWritten);
  EXPECT_EQ(audit_command({"verify", "--vs-pubkey", to_hex(vs_->public_key())}, output, current), 1)
      << output;
  EXPECT_NE(output.find("reason digests_late (17) for the message at entry"), std::string::npos)
      << output;
  EXPECT_NE(output.find("names rules version 2"), std::string::npos) << output;
  EXPECT_EQ(audit_command({"explain", "--session", "1", "--vs-pubkey", to_hex(vs_->public_key())},
                          output, current),
            1)
      << output;
  EXPECT_NE(output.find("NOT SUPPORTED"), std::string::npos) << output;
  const std::string older = out_.file("older-vs.db");
  as_speed(older, Start::kOlderVs);
  EXPECT_EQ(audit_command({"verify", "--vs-pubkey", to_hex(vs_->public_key())}, output, older), 0)
      << output;
  EXPECT_NE(output.find("as a VS of rules version 1 revoked it"), std::string::npos) << output;
  EXPECT_EQ(audit_command({"explain", "--session", "1", "--vs-pubkey", to_hex(vs_->public_key())},
                          output, older),
            0)
      << output;
  EXPECT_NE(output.find("SUPPORTED AS AN OLDER VS'S REASON"), std::string::npos) << output;
  // Version 1 written over a version-2 start without the VS key: explain does not take it.
  const std::string forged = out_.file("forged-start.db");
  as_speed(forged, Start::kForgedOlder);
  EXPECT_EQ(audit_command({"explain", "--session", "1", "--vs-pubkey", to_hex(vs_->public_key())},
                          output, forged),
            1)
      << output;
  EXPECT_NE(output.find("A VsStart of the log does not verify"), std::string::npos) << output;
}

// Each run names its rules version in its VsStart (PROTOCOL.md §8.18): a run naming an older
// version than an earlier run of the log did (a rollback, or a VS claiming to be older) is a
// warning where it starts.
TEST_F(VsdQuarantine, ARunNamingAnOlderRulesVersionThanAnEarlierOneIsAWarning) {
  start();
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start();  // the same store and key
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  std::vector<std::uint64_t> starts;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind != MessageKind::kVsStart) continue;
    auto start = decode<VsStart>(e.message);
    ASSERT_TRUE(start.ok()) << start.error();
    EXPECT_EQ(start->rules_version, 2U);
    starts.push_back(e.header.seq);
  }
  ASSERT_EQ(starts.size(), 2U);
  std::string output;
  ASSERT_EQ(audit_command({"verify", "--vs-pubkey", to_hex(vs_->public_key())}, output), 0)
      << output;
  EXPECT_EQ(output.find("rules.version"), std::string::npos) << output;
  const std::string rolled_back = out_.file("rolled-back.db");
  copy_store(vs_->store_path(), rolled_back);
  {
    Tamper t(rolled_back);
    rewrite_as_vs<VsStart>(t, starts[1], [](VsStart& s) { s.rules_version = 1; });
  }
  ASSERT_EQ(
      audit_command({"verify", "--vs-pubkey", to_hex(vs_->public_key())}, output, rolled_back), 0)
      << output;
  EXPECT_NE(output.find("[rules.version]"), std::string::npos) << output;
  EXPECT_NE(output.find("an older vsd ran again"), std::string::npos) << output;
}

TEST_F(VsdQuarantine, OperatorRevocationQuarantinesOnlyWhenAsked) {
  start();
  {
    ScriptedGs gs(vs_->port(), honest_, build_);
    gs.join();
    std::string output;
    ASSERT_EQ(vsd_command({"revoke", "--session", std::to_string(gs.session_id()), "--reason",
                           "restarting the match"},
                          output),
              0)
        << output;
    expect_revoked(gs, RevocationReason::kOperator);
  }
  {
    ScriptedGs rogue(vs_->port(), honest_, build_);
    rogue.join();  // a plain operator revocation does not quarantine
    std::string output;
    ASSERT_EQ(vsd_command({"revoke", "--session", std::to_string(rogue.session_id()), "--reason",
                           "aimbot reports", "--quarantine"},
                          output),
              0)
        << output;
    EXPECT_NE(output.find("quarantined"), std::string::npos) << output;
    expect_revoked(rogue, RevocationReason::kOperatorQuarantine);
  }
  EXPECT_EQ(expect_join_refused(honest_).reason, kQuarantined);
  std::string status;
  ASSERT_EQ(vsd_command({"status"}, status), 0) << status;
  EXPECT_NE(status.find("1 quarantined GS identity"), std::string::npos) << status;
  EXPECT_NE(status.find("operator_quarantine"), std::string::npos) << status;
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

// The operator's pardon (PROTOCOL.md §8.16): refused, and nothing logged, for an identity that is
// not quarantined; logged as a VS-signed Pardon that lets the rogue back in, across a restart.
TEST_F(VsdQuarantine, PardonLetsTheRogueBackInAndSurvivesARestart) {
  // Sessions left live are revoked at the restart (vs_shutdown, which does not quarantine), so
  // the join after it finds the identity free as well as pardoned.
  VsOptions options;
  options.extra = "resume_window_ms = 0\n";
  start(options);
  std::string output;
  // Nothing to lift yet: refused, and no Pardon in the log.
  EXPECT_NE(
      vsd_command({"pardon", "--identity", to_hex(rogue_.public_key()), "--reason", "reviewed"},
                  output),
      0)
      << output;
  EXPECT_NE(output.find("is not quarantined"), std::string::npos) << output;
  EXPECT_TRUE(logged_pardons().empty());

  std::uint64_t revocation_position = 0;
  {
    ScriptedGs rogue(vs_->port(), rogue_, build_);
    rogue.join();
    revoke_for_speed(rogue);
  }
  for (const auto& e : vs_->entries()) {
    if (e.header.kind == MessageKind::kRevocation) revocation_position = e.header.seq;
  }
  EXPECT_EQ(expect_join_refused(rogue_).reason, kQuarantined);

  ASSERT_EQ(vsd_command({"pardon", "--identity", to_hex(rogue_.public_key()), "--reason",
                         "reviewed the digests: a lag spike (ticket 4711)"},
                        output),
            0)
      << output;
  EXPECT_NE(output.find("pardoned"), std::string::npos) << output;
  const auto pardons = logged_pardons();
  ASSERT_EQ(pardons.size(), 1U);
  EXPECT_EQ(pardons[0].gs_identity, rogue_.public_key());
  EXPECT_EQ(pardons[0].revocation_position, revocation_position);
  EXPECT_EQ(pardons[0].reason, "reviewed the digests: a lag spike (ticket 4711)");
  EXPECT_TRUE(verify(pardons[0], vs_->public_key()));
  ASSERT_EQ(vsd_command({"status", "--json"}, output), 0) << output;
  EXPECT_TRUE(nlohmann::json::parse(output.substr(output.find('{')))["quarantined"].empty());
  {
    ScriptedGs back(vs_->port(), rogue_, build_);
    back.join();  // accepted again
  }
  // A second pardon has nothing left to lift.
  EXPECT_NE(vsd_command({"pardon", "--identity", to_hex(rogue_.public_key()), "--reason", "again"},
                        output),
            0)
      << output;
  EXPECT_EQ(logged_pardons().size(), 1U);

  // Rebuilt from the log at the start: the Pardon still holds.
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start(options);
  {
    ScriptedGs after_restart(vs_->port(), rogue_, build_);
    after_restart.join();
  }
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
  // The investigator sees who pardoned, when and why (AUDIT.md §3.2, §3.4).
  ASSERT_EQ(audit_command({"sessions"}, output), 0) << output;
  EXPECT_NE(output.find("pardoned at"), std::string::npos) << output;
  EXPECT_NE(output.find("a lag spike (ticket 4711)"), std::string::npos) << output;
  ASSERT_EQ(audit_command({"explain", "--session", "1", "--json"}, output), 0) << output;
  const auto explained = nlohmann::json::parse(output.substr(output.find('{')));
  EXPECT_EQ(explained["quarantine"]["end"], "pardoned") << output;
  ASSERT_EQ(audit_command({"explain", "--session", "2"}, output), 0) << output;
  EXPECT_NE(output.find("admitted"), std::string::npos) << output;
}

TEST_F(VsdQuarantine, PardonRefusesBadInputWithAClearError) {
  start();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"pardon", "--identity", "abc", "--reason", "x"}, "64 hex"},
      {{"pardon", "--identity", to_hex(rogue_.public_key()), "--reason", "  "}, "empty"},
      {{"pardon", "--identity", to_hex(rogue_.public_key()), "--reason", std::string(513, 'x')},
       "at most 512"},
  };
  for (const auto& c : cases) {
    std::string output;
    EXPECT_NE(vsd_command(c.args, output), 0) << output;
    EXPECT_NE(output.find(c.says), std::string::npos) << output;
  }
  EXPECT_TRUE(logged_pardons().empty());
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
}

// quarantine_ms: the quarantine lapses by itself, with no entry; `vsd status` shows when. The
// join after the lapse is accepted and the audit agrees, from the PolicyApplied and the times.
TEST_F(VsdQuarantine, AQuarantineLapsesAfterQuarantineMs) {
  constexpr std::uint64_t kQuarantineMs = 3000;
  VsOptions options;
  options.extra = "quarantine_ms = " + std::to_string(kQuarantineMs) + "\n";
  start(options);
  {
    ScriptedGs rogue(vs_->port(), rogue_, build_);
    rogue.join();
    revoke_for_speed(rogue);
  }
  std::uint64_t revoked_at = 0;  // the Revocation's VS time: the quarantine began there
  for (const auto& e : vs_->entries()) {
    if (e.header.kind == MessageKind::kRevocation) revoked_at = e.header.vs_time_ms;
  }
  EXPECT_EQ(expect_join_refused(rogue_).reason, kQuarantined);
  std::string output;
  ASSERT_EQ(vsd_command({"status", "--json"}, output), 0) << output;
  const auto listed = nlohmann::json::parse(output.substr(output.find('{')))["quarantined"];
  ASSERT_EQ(listed.size(), 1U) << output;
  EXPECT_EQ(listed[0]["quarantine_ms"], kQuarantineMs);
  EXPECT_TRUE(listed[0]["lapses_vs_ms"].is_number_unsigned()) << output;
  EXPECT_TRUE(listed[0]["lapses_in_ms"].is_number_unsigned()) << output;
  ASSERT_EQ(vsd_command({"status"}, output), 0) << output;
  EXPECT_NE(output.find("lapses at"), std::string::npos) << output;

  // Nothing to await but the term itself, on the VS clock (the host's, as the test's).
  std::this_thread::sleep_for(std::chrono::milliseconds(
      revoked_at + kQuarantineMs + 50 - std::min(unix_time_ms(), revoked_at + kQuarantineMs)));
  {
    ScriptedGs back(vs_->port(), rogue_, build_);
    back.join();  // lapsed: accepted
  }
  EXPECT_TRUE(logged_pardons().empty());  // a lapse logs nothing
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
  ASSERT_EQ(audit_command({"sessions"}, output), 0) << output;
  EXPECT_NE(output.find("lapsed at"), std::string::npos) << output;
}

}  // namespace
}  // namespace gsvs::testing
