// Session resumption against a real vsd (PROTOCOL.md §8.11, §8.15): a graceful restart or a
// crash leaves the session resumable for resume_window_ms, the resumed session goes on from what
// the log holds, and every resume a peer could forge, replay or send stale is refused as the
// spec's table says: unanswered and unlogged before the session key is proven, logged and
// answered with a JoinReject after.
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <string>
#include <thread>

#include "protocol/chains.h"
#include "protocol/clock.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;

class VsdResume : public ::testing::Test {
 protected:
  void start(const std::string& extra = {}) {
    VsOptions options;
    // Long enough tickets and liveness that a restart fits inside them.
    options.ticket_validity_ms = 3000;
    options.heartbeat_timeout_ms = 3000;
    options.extra = extra;
    start_with(options);
  }
  void start_with(const VsOptions& options) {
    vs_ = std::make_unique<VsProcess>(
        dir_, std::vector<crypto::PublicKey>{identity_.public_key(), other_identity_.public_key()},
        std::vector<Hash32>{build_}, options);
  }
  void kill_vs() {
    ::kill(vs_->process().pid(), SIGKILL);
    vs_->process().wait(std::chrono::seconds(5));
  }
  // A joined GS with one player notarized at x = 0, one receipt and at least one ticket.
  std::unique_ptr<ScriptedGs> joined_with_a_player() {
    auto gs = std::make_unique<ScriptedGs>(vs_->port(), identity_, build_);
    gs->join();
    EXPECT_TRUE(gs->expect<PlayTicket>());
    gs->send_signed(gs->make_heartbeat());
    gs->send_signed(gs->make_digest({player_at(player_.public_key(), 0)}, unix_time_ms()));
    EXPECT_TRUE(gs->expect<ProtectedReceipt>()) << vs_->process().output();
    return gs;
  }
  // The entries of `kind` in the store.
  std::size_t count(MessageKind kind) const {
    std::size_t n = 0;
    for (const auto& e : vs_->entries()) n += e.header.kind == kind ? 1 : 0;
    return n;
  }
  // The Revocation of `session` once the VS has logged it, or nullopt after `timeout`.
  std::optional<Revocation> await_revocation(SessionId session,
                                             std::chrono::seconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& e : vs_->entries()) {
        if (e.header.kind != MessageKind::kRevocation) continue;
        auto revoked = decode<Revocation>(e.message);
        if (revoked && revoked->session_id == session) return *revoked;
      }
      std::this_thread::sleep_for(milliseconds(50));  // polls the store
    }
    return std::nullopt;
  }
  // Sends `resume` and expects a JoinReject for `reason`, signed by the VS and answering it.
  void expect_refused(ScriptedGs& gs, const GsResume& resume, JoinRejectReason reason) {
    gs.send_unsigned(resume);
    auto reject = gs.expect<JoinReject>();
    ASSERT_TRUE(reject) << vs_->process().output();
    EXPECT_TRUE(verify(*reject, vs_->public_key()));
    EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(reason))
        << reason_name(static_cast<JoinRejectReason>(reject->reason)) << ": " << reject->detail;
    EXPECT_EQ(reject->join_request_hash, crypto::sha256(encode(resume)));
    EXPECT_LE(encode(*reject).size(), encode(resume).size());
  }
  // Sends `resume` and expects the connection closed with nothing answered or logged.
  void expect_turned_away(ScriptedGs& gs, const GsResume& resume) {
    const std::size_t logged_before = count(MessageKind::kGsResume);
    gs.send_unsigned(resume);
    EXPECT_FALSE(gs.expect<JoinReject>(milliseconds(2000)));
    EXPECT_TRUE(gs.socket().wait_closed(std::chrono::seconds(3)));
    EXPECT_EQ(count(MessageKind::kGsResume), logged_before);
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  crypto::SecretKey other_identity_ = crypto::SecretKey::generate();
  crypto::SecretKey player_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("honest build 1.0"));
  std::unique_ptr<VsProcess> vs_;
};

// SIGTERM, a new vsd on the same store and key: the session goes on. The ResumeAccept states the
// VS's view from the log, the ticket chain continues, and the first digest after the gap is
// checked from the last notarized position.
TEST_F(VsdResume, AGracefulRestartLeavesTheSessionResumable) {
  start();
  auto gs = joined_with_a_player();
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  EXPECT_EQ(count(MessageKind::kRevocation), 0U) << "a graceful stop revoked the session";
  const std::uint64_t receipts = gs->receipt_count;
  start();
  const GsResume resume = gs->reconnect_and_make_resume(vs_->port());
  gs->send_unsigned(resume);
  auto accepted = gs->expect<ResumeAccept>();
  ASSERT_TRUE(accepted) << vs_->process().output();
  EXPECT_TRUE(verify(*accepted, vs_->public_key()));
  EXPECT_EQ(accepted->session_id, gs->session_id());
  EXPECT_EQ(accepted->resume_hash, crypto::sha256(encode(resume)));
  EXPECT_EQ(accepted->gs_counter, resume.gs_counter);
  EXPECT_EQ(accepted->receipt_count, receipts);
  EXPECT_EQ(accepted->receipt_tip, gs->receipt_tip);
  EXPECT_EQ(accepted->ticket_seq, resume.ticket_seq);
  EXPECT_EQ(accepted->ticket_hash, resume.ticket_hash);
  const Bytes last_ticket = gs->tickets().back();
  auto next = gs->expect<PlayTicket>();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->ticket_seq, resume.ticket_seq + 1);
  EXPECT_EQ(next->prev_ticket_hash, crypto::sha256(last_ticket));
  // A short walk after the gap is a receipt; the session is judged on as before.
  gs->send_signed(gs->make_heartbeat());
  gs->send_signed(gs->make_digest({player_at(player_.public_key(), 500)}, unix_time_ms()));
  auto receipt = gs->expect<ProtectedReceipt>();
  ASSERT_TRUE(receipt) << vs_->process().output();
  EXPECT_EQ(receipt->receipt_index, receipts + 1);
  ASSERT_EQ(vs_->stop(), 0);
  EXPECT_EQ(count(MessageKind::kVsStart), 2U);
  EXPECT_EQ(count(MessageKind::kResumeAccept), 1U);
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  // The investigator's other commands replay the resume through the same model: the session is
  // still live, nothing is wrong with it, and its player's step across the gap was a walk.
  const std::string session = std::to_string(gs->session_id());
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"explain", vs_->store_path(), "--session", session, "--vs-pubkey",
                                 to_hex(vs_->public_key())},
        std::vector<std::string>{"timeline", vs_->store_path(), "--session", session, "--format",
                                 "json"},
        std::vector<std::string>{"sessions", vs_->store_path()}}) {
    std::vector<std::string> argv{program("audit-cli")};
    argv.insert(argv.end(), command.begin(), command.end());
    ChildProcess audit(argv, dir_.file(command.front() + ".out"));
    EXPECT_EQ(audit.wait(std::chrono::seconds(60)), 0) << audit.output();
    EXPECT_EQ(audit.output().find("violation\": true"), std::string::npos) << audit.output();
    EXPECT_EQ(audit.output().find("problem"), std::string::npos) << audit.output();
  }
}

// A graceful stop sends every ticket and receipt it has logged before it closes a connection:
// with a ticket every 10 ms, the GS holds the VS's last ticket when the connection ends, so each
// resume is accepted. A ticket logged and never sent would make it name an older one
// (resume_mismatch).
TEST_F(VsdResume, AGracefulStopSendsWhatItLoggedBeforeClosing) {
  VsOptions options;
  options.ticket_period_ms = 10;
  options.ticket_validity_ms = 3000;
  options.heartbeat_timeout_ms = 3000;
  start_with(options);
  auto gs = joined_with_a_player();
  for (int restart = 1; restart <= 5; ++restart) {
    ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
    EXPECT_FALSE(gs->expect<Revocation>(std::chrono::seconds(5)));  // reads to the close
    start_with(options);
    const GsResume resume = gs->reconnect_and_make_resume(vs_->port());
    gs->send_unsigned(resume);
    auto answer = gs->expect<ResumeAccept>();
    ASSERT_TRUE(answer) << "restart " << restart << ": " << vs_->process().output();
    EXPECT_EQ(answer->ticket_seq, resume.ticket_seq);
  }
  ASSERT_EQ(vs_->stop(), 0);
  EXPECT_EQ(count(MessageKind::kRevocation), 0U);
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
}

// The gap is no free teleport: the first digest after a resume that puts the player far beyond
// what the speed limit allows over the VS-observed gap is a speed violation.
TEST_F(VsdResume, ATeleportAcrossTheGapIsASpeedViolation) {
  start();
  auto gs = joined_with_a_player();
  kill_vs();
  start();
  gs->send_unsigned(gs->reconnect_and_make_resume(vs_->port()));
  ASSERT_TRUE(gs->expect<ResumeAccept>()) << vs_->process().output();
  gs->send_signed(
      gs->make_digest({player_at(player_.public_key(), 1'000'000'000)}, unix_time_ms()));
  auto revocation = gs->expect<Revocation>();
  ASSERT_TRUE(revocation) << vs_->process().output();
  EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(RevocationReason::kSpeedViolation));
  // The speed violation quarantined the identity: a resume is refused as such (PROTOCOL.md §8.16),
  // before it is refused as ended, and the audit accepts that answer.
  expect_refused(*gs, gs->reconnect_and_make_resume(vs_->port()), JoinRejectReason::kQuarantined);
  // The investigator's explanation replays the resume and finds the revocation supported.
  ASSERT_EQ(vs_->stop(), 0);
  ChildProcess explain({program("audit-cli"), "explain", vs_->store_path(), "--session",
                        std::to_string(gs->session_id()), "--vs-pubkey", to_hex(vs_->public_key())},
                       dir_.file("explain.out"));
  EXPECT_EQ(explain.wait(std::chrono::seconds(60)), 0) << explain.output();
  EXPECT_EQ(explain.output().find("problem"), std::string::npos) << explain.output();
  // The dispute report over it verifies with the VS key alone.
  ChildProcess report({program("audit-cli"), "report", vs_->store_path(), "--session",
                       std::to_string(gs->session_id()), "--vs-pubkey", to_hex(vs_->public_key()),
                       "-o", dir_.file("report.json")},
                      dir_.file("report.out"));
  EXPECT_EQ(report.wait(std::chrono::seconds(60)), 0) << report.output();
  ChildProcess checked({program("audit-cli"), "verify-report", dir_.file("report.json"),
                        "--vs-pubkey", to_hex(vs_->public_key())},
                       dir_.file("verify-report.out"));
  EXPECT_EQ(checked.wait(std::chrono::seconds(60)), 0) << checked.output();
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
}

// kill -9, and nobody resumes within the window: the session is revoked (vs_shutdown, citing its
// JoinAccept and the VsStart), and a late resume is refused as ended.
TEST_F(VsdResume, ASessionNotResumedInTheWindowIsRevoked) {
  start();
  auto gs = joined_with_a_player();
  kill_vs();
  start("resume_window_ms = 300\n");
  const auto revoked = await_revocation(gs->session_id(), std::chrono::seconds(10));
  ASSERT_TRUE(revoked) << vs_->process().output();
  EXPECT_EQ(revoked->reason, static_cast<std::uint16_t>(RevocationReason::kVsShutdown));
  ASSERT_EQ(revoked->evidence.size(), 2U) << revoked->detail;
  expect_refused(*gs, gs->reconnect_and_make_resume(vs_->port()), JoinRejectReason::kSessionEnded);
  ASSERT_EQ(vs_->stop(), 0);
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
}

// A network cut, the VS running on (PROTOCOL.md §8.15): the GS's connection is gone, or
// half-open (the VS still holds it, nothing passes), and the GS resumes on a new connection
// before its heartbeat deadline. The session goes on without a revocation, the old connection is
// closed by the VS and acts for the session no more, and the store verifies.
struct CutCase {
  std::string name;
  bool old_connection_stays_open = false;
};

class VsdCut : public VsdResume, public ::testing::WithParamInterface<CutCase> {
 protected:
  // One ticket, at the join, and none during the test: the GS holds the VS's last ticket when
  // it resumes, however long the test takes under a sanitizer.
  void start_for_cut() {
    VsOptions options;
    options.ticket_period_ms = 60000;
    options.ticket_validity_ms = 60000;
    options.heartbeat_timeout_ms = 5000;
    options.digest_timeout_ms = 10000;  // above the heartbeat timeout, as vsd requires
    start_with(options);
  }
};

TEST_P(VsdCut, TheGsResumesOnANewConnection) {
  start_for_cut();
  auto gs = joined_with_a_player();
  std::unique_ptr<FrameSocket> old_connection;
  if (GetParam().old_connection_stays_open) old_connection = gs->keep_old_connection();
  const std::uint64_t receipts = gs->receipt_count;
  const GsResume resume = gs->reconnect_and_make_resume(vs_->port());
  gs->send_unsigned(resume);
  auto accepted = gs->expect<ResumeAccept>();
  ASSERT_TRUE(accepted) << vs_->process().output();
  EXPECT_TRUE(verify(*accepted, vs_->public_key()));
  EXPECT_EQ(accepted->gs_counter, resume.gs_counter);
  EXPECT_EQ(accepted->receipt_count, receipts);
  EXPECT_EQ(accepted->ticket_seq, resume.ticket_seq);
  EXPECT_EQ(accepted->ticket_hash, resume.ticket_hash);
  if (old_connection) {
    EXPECT_TRUE(old_connection->wait_closed(std::chrono::seconds(5)))
        << "the half-open connection still stands for the session";
  }
  const Bytes last_ticket = gs->tickets().back();
  auto next = gs->expect<PlayTicket>();
  ASSERT_TRUE(next) << vs_->process().output();
  EXPECT_EQ(next->ticket_seq, resume.ticket_seq + 1);
  EXPECT_EQ(next->prev_ticket_hash, crypto::sha256(last_ticket));
  gs->send_signed(gs->make_heartbeat());
  gs->send_signed(gs->make_digest({player_at(player_.public_key(), 500)}, unix_time_ms()));
  auto receipt = gs->expect<ProtectedReceipt>();
  ASSERT_TRUE(receipt) << vs_->process().output();
  EXPECT_EQ(receipt->receipt_index, receipts + 1);
  ASSERT_EQ(vs_->stop(), 0);
  EXPECT_EQ(count(MessageKind::kRevocation), 0U);
  EXPECT_EQ(count(MessageKind::kResumeAccept), 1U);
  EXPECT_EQ(count(MessageKind::kVsStart), 1U) << "the VS did not restart";
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
}

INSTANTIATE_TEST_SUITE_P(Cases, VsdCut,
                         ::testing::Values(CutCase{"ConnectionGone", false},
                                           CutCase{"ConnectionHalfOpen", true}),
                         [](const auto& row) { return row.param.name; });

// A cut GS whose resume is refused (here a stale copy's counter) leaves the session where it
// was: not on any connection, its liveness running. It is revoked for missed heartbeats at its
// deadline, as it would have been on its connection, and the audit agrees. Its players'
// positions hold the next session of the identity (§8.6): refusing its own resume does not let a
// GS teleport them.
TEST_F(VsdCut, ARefusedResumeEndsAtTheHeartbeatDeadline) {
  VsOptions options;
  options.ticket_period_ms = 60000;
  options.ticket_validity_ms = 60000;
  options.heartbeat_timeout_ms = 3000;
  start_with(options);
  auto gs = joined_with_a_player();
  GsResume stale = gs->reconnect_and_make_resume(vs_->port());
  stale.gs_counter = 1;
  sign(stale, gs->session_key());
  expect_refused(*gs, stale, JoinRejectReason::kResumeMismatch);
  const auto revoked = await_revocation(gs->session_id(), std::chrono::seconds(20));
  ASSERT_TRUE(revoked) << vs_->process().output();
  EXPECT_EQ(revoked->reason, static_cast<std::uint16_t>(RevocationReason::kMissedHeartbeats))
      << revoked->detail;
  // Ended, so a resume now is refused as such, and a fresh join of the identity is free.
  expect_refused(*gs, gs->reconnect_and_make_resume(vs_->port()), JoinRejectReason::kSessionEnded);
  ScriptedGs again(vs_->port(), identity_, build_);
  again.join();
  again.send_signed(
      again.make_digest({player_at(player_.public_key(), 1'000'000)}, unix_time_ms()));
  auto teleport = again.expect<Revocation>(std::chrono::seconds(5));
  ASSERT_TRUE(teleport) << vs_->process().output();
  EXPECT_EQ(teleport->reason, static_cast<std::uint16_t>(RevocationReason::kSpeedViolation))
      << teleport->detail;
  ASSERT_EQ(vs_->stop(), 0);
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
}

struct BadResumeCase {
  std::string name;
  // Spoils the honest resume. `other` is a GS of the other identity, joined to its own session.
  std::function<void(GsResume&, ScriptedGs& other)> spoil;
  std::optional<JoinRejectReason> answer;  // nullopt: turned away, unanswered and unlogged
};

class VsdBadResume : public VsdResume, public ::testing::WithParamInterface<BadResumeCase> {};

TEST_P(VsdBadResume, IsRefusedAsTheSpecSays) {
  start();
  auto gs = joined_with_a_player();
  ScriptedGs other(vs_->port(), other_identity_, build_);
  other.join();
  kill_vs();
  start();
  GsResume resume = gs->reconnect_and_make_resume(vs_->port());
  GetParam().spoil(resume, other);
  if (GetParam().answer) {
    // A case about the content: signed by the session key, so the key proves the GS.
    sign(resume, gs->session_key());
    expect_refused(*gs, resume, *GetParam().answer);
  } else {
    expect_turned_away(*gs, resume);
  }
  // The honest resume still works on a new connection: nothing the bad one did took it away.
  gs->send_unsigned(gs->reconnect_and_make_resume(vs_->port()));
  EXPECT_TRUE(gs->expect<ResumeAccept>()) << vs_->process().output();
}

void resign(GsResume& resume, const crypto::SecretKey& key) { sign(resume, key); }

INSTANTIATE_TEST_SUITE_P(
    Cases, VsdBadResume,
    ::testing::Values(
        BadResumeCase{"WrongKey",
                      [](GsResume& r, ScriptedGs&) { resign(r, crypto::SecretKey::generate()); },
                      std::nullopt},
        BadResumeCase{"AnotherIdentitysSession",
                      [](GsResume& r, ScriptedGs& other) {
                        // The other GS's session, claimed under this GS's identity and key.
                        r.session_id = other.session_id();
                        resign(r, other.session_key());
                      },
                      std::nullopt},
        BadResumeCase{"AnotherChallenge",
                      [](GsResume& r, ScriptedGs& other) {
                        r.challenge = crypto::random_fixed<32>();
                        static_cast<void>(other);
                      },
                      std::nullopt},
        BadResumeCase{"UnknownSession", [](GsResume& r, ScriptedGs&) { r.session_id += 1000; },
                      std::nullopt},
        BadResumeCase{"StaleCounter", [](GsResume& r, ScriptedGs&) { r.gs_counter = 1; },
                      JoinRejectReason::kResumeMismatch},
        BadResumeCase{"ReceiptsNeverIssued", [](GsResume& r, ScriptedGs&) { r.receipt_count += 1; },
                      JoinRejectReason::kResumeMismatch},
        BadResumeCase{"OldTicket", [](GsResume& r, ScriptedGs&) { r.ticket_seq -= 1; },
                      JoinRejectReason::kResumeMismatch}),
    [](const auto& row) { return row.param.name; });

// A replayed GsResume (one sent on an earlier connection) names that connection's challenge.
TEST_F(VsdResume, AReplayedResumeIsTurnedAway) {
  start();
  auto gs = joined_with_a_player();
  kill_vs();
  start();
  const GsResume first = gs->reconnect_and_make_resume(vs_->port());
  gs->send_unsigned(first);
  ASSERT_TRUE(gs->expect<ResumeAccept>()) << vs_->process().output();
  ScriptedGs replayer(vs_->port(), other_identity_, build_);
  ASSERT_TRUE(replayer.expect<VsChallenge>());
  expect_turned_away(replayer, first);
}

// A resume of a session that ended (here by its GS's own GsLeaving) is refused as ended.
TEST_F(VsdResume, AResumeOfAnEndedSessionIsRefused) {
  start();
  auto gs = joined_with_a_player();
  GsLeaving leaving;
  leaving.session_id = gs->session_id();
  leaving.gs_counter = gs->next_counter();
  leaving.gs_time_ms = unix_time_ms();
  leaving.receipt_count = gs->receipt_count;
  leaving.receipt_tip = gs->receipt_tip;
  gs->send_signed(leaving);
  ASSERT_TRUE(gs->expect<Revocation>()) << vs_->process().output();
  expect_refused(*gs, gs->reconnect_and_make_resume(vs_->port()), JoinRejectReason::kSessionEnded);
}

// With revoke_on_stop the old behaviour stays: a graceful stop revokes every live session.
TEST_F(VsdResume, RevokeOnStopRevokesAtTheStop) {
  start("revoke_on_stop = true\n");
  auto gs = joined_with_a_player();
  ASSERT_EQ(vs_->stop(), 0);
  EXPECT_EQ(count(MessageKind::kRevocation), 1U);
}

}  // namespace
}  // namespace gsvs::testing
