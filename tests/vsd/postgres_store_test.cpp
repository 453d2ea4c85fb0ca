// vsd on a PostgreSQL store (docs/STORE.md §11), as real processes against a real server this
// suite starts: a GS joins and is notarized, vsd is killed and a new vsd on the same database
// resumes the session, and audit-cli verifies the log straight from the database.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "protocol/clock.h"
#include "tests/support/postgres_server.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

class VsdOnPostgres : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { url_ = server_->url(server_->create_database()); }
  void start(const std::string& extra = "") {
    VsOptions options;
    options.store = url_;
    options.extra = extra;
    // Long enough tickets and liveness that a restart fits inside them.
    options.ticket_validity_ms = 3000;
    options.heartbeat_timeout_ms = 3000;
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                      std::vector<Hash32>{build_}, options);
  }
  // The GS joins, and its player's first position is notarized.
  void join_and_notarize(ScriptedGs& gs) const {
    gs.join();
    gs.send_signed(gs.make_heartbeat());
    gs.send_signed(gs.make_digest({player_at(player_.public_key(), 0)}, unix_time_ms()));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>()) << vs_->process().output();
  }
  std::size_t count(MessageKind kind) const {
    std::size_t n = 0;
    for (const auto& e : vs_->entries()) n += e.header.kind == kind ? 1 : 0;
    return n;
  }

  static std::unique_ptr<PostgresServer> server_;
  std::string url_;
  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  crypto::SecretKey player_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("a build"));
  std::unique_ptr<VsProcess> vs_;
};

std::unique_ptr<PostgresServer> VsdOnPostgres::server_;

TEST_F(VsdOnPostgres, ASessionOutlivesAKilledVsdAndTheLogVerifiesFromTheDatabase) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  ASSERT_TRUE(gs.expect<PlayTicket>()) << vs_->process().output();
  gs.send_signed(gs.make_heartbeat());
  gs.send_signed(gs.make_digest({player_at(player_.public_key(), 0)}, unix_time_ms()));
  auto receipt = gs.expect<ProtectedReceipt>();
  ASSERT_TRUE(receipt) << vs_->process().output();
  // Acknowledged, so in the database already, seen from another connection while vsd runs.
  EXPECT_EQ(count(MessageKind::kProtectedReceipt), 1U);

  ::kill(vs_->process().pid(), SIGKILL);
  ASSERT_EQ(vs_->process().wait(std::chrono::seconds(5)), 128 + SIGKILL);
  start();  // its writer lock went with the killed vsd's connection
  gs.send_unsigned(gs.reconnect_and_make_resume(vs_->port()));
  ASSERT_TRUE(gs.expect<ResumeAccept>()) << vs_->process().output();
  gs.send_signed(gs.make_heartbeat());
  gs.send_signed(gs.make_digest({player_at(player_.public_key(), 500)}, unix_time_ms()));
  receipt = gs.expect<ProtectedReceipt>();
  ASSERT_TRUE(receipt) << vs_->process().output();
  EXPECT_EQ(receipt->receipt_index, 2U);
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();

  EXPECT_EQ(count(MessageKind::kVsStart), 2U);
  EXPECT_EQ(count(MessageKind::kResumeAccept), 1U);
  EXPECT_EQ(count(MessageKind::kRevocation), 0U);
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  EXPECT_NE(output.find("INTACT"), std::string::npos) << output;

  // Handed to an investigator as one SQLite file, it verifies on its own (OPERATIONS.md).
  ChildProcess exported(
      {program("vsd"), "store", "export", "--store", url_, "--to", dir_.file("export.db")},
      dir_.file("export.out"));
  ASSERT_EQ(exported.wait(std::chrono::seconds(30)), 0) << exported.output();
  EXPECT_NE(exported.output().find("entries (0.."), std::string::npos) << exported.output();
  ChildProcess verified({program("audit-cli"), "verify", dir_.file("export.db"), "--vs-pubkey",
                         to_hex(vs_->public_key()), "--no-progress"},
                        dir_.file("verify.out"));
  EXPECT_EQ(verified.wait(std::chrono::seconds(60)), 0) << verified.output();
  EXPECT_NE(verified.output().find("INTACT"), std::string::npos) << verified.output();
}

// Fail closed: when the database goes away under a running vsd, the next commit fails, vsd stops
// with exit code 1 saying why, and nothing it could not log was acknowledged: every receipt the
// GS holds is in the database when it is back.
TEST_F(VsdOnPostgres, TheDatabaseGoingAwayStopsVsdAndEveryReceiptIsLogged) {
  PostgresServer own_server;  // this test crashes it
  url_ = own_server.url(own_server.create_database());
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  join_and_notarize(gs);

  own_server.crash();
  std::uint64_t receipts_held = gs.receipt_count;
  for (int i = 0; i < 20 && vs_->process().running(); ++i) {
    gs.send_signed(
        gs.make_digest({player_at(player_.public_key(), 100 * (i + 1))}, unix_time_ms()));
    if (auto receipt = gs.expect<ProtectedReceipt>(std::chrono::milliseconds(100))) {
      receipts_held = receipt->receipt_index;
    }
  }
  EXPECT_EQ(vs_->process().wait(std::chrono::seconds(20)), 1) << vs_->process().output();
  const std::string output = vs_->process().output();
  EXPECT_NE(output.find("store append failed"), std::string::npos) << output;
  EXPECT_NE(output.find("vsd stops"), std::string::npos) << output;

  own_server.start();
  EXPECT_GE(count(MessageKind::kProtectedReceipt), receipts_held);
}

// A commit that never returns makes vsd say so and exit with code 1 after store_stall_ms, where it
// would hold every reply without a word: here every COMMIT waits for a synchronous standby that
// is not there, as when the only one is lost. What vsd acknowledged is in the database.
TEST_F(VsdOnPostgres, ACommitThatNeverReturnsEndsVsdAfterStoreStallMs) {
  PostgresServer own_server;  // this test makes its commits wait for a standby
  url_ = own_server.url(own_server.create_database());
  start("store_stall_ms = 1000\n");
  ScriptedGs gs(vs_->port(), identity_, build_);
  join_and_notarize(gs);
  const std::uint64_t receipts_held = gs.receipt_count;

  own_server.set_synchronous_standby_names("ghost");
  gs.send_signed(gs.make_digest({player_at(player_.public_key(), 100)}, unix_time_ms()));
  EXPECT_FALSE(gs.expect<ProtectedReceipt>(std::chrono::milliseconds(500)));
  EXPECT_EQ(vs_->process().wait(std::chrono::seconds(20)), 1) << vs_->process().output();
  const std::string output = vs_->process().output();
  EXPECT_NE(output.find("a commit has not returned for"), std::string::npos) << output;
  EXPECT_NE(output.find("vsd exits now with code 1"), std::string::npos) << output;

  own_server.set_synchronous_standby_names("");
  EXPECT_GE(count(MessageKind::kProtectedReceipt), receipts_held);
}

// Retention of a PostgreSQL log (docs/STORE.md §11.5) while vsd runs: `vsd store archive` moves
// the entries up to the newest checkpoint before what a start reads into a segmented SQLite
// store and the session goes on; audit-cli verifies both, the database's from the seal it records
// on; vsd starts on what is held.
TEST_F(VsdOnPostgres, ArchivedEntriesVerifyOnTheirOwnAndVsdGoesOnFromTheRest) {
  // A first run without sessions: its checkpoints are what may be retired, since the next start
  // logs the policy in force anew and a start reads from there (vsd/log_at_start.h).
  start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start();
  const std::string key = to_hex(vs_->public_key());
  const std::string archive = dir_.file("archive");
  {
    ScriptedGs gs(vs_->port(), identity_, build_);
    join_and_notarize(gs);
    ChildProcess archiving({program("vsd"), "store", "archive", "--store", url_, "--to", archive,
                            "--vs-public-key", key},
                           dir_.file("archive.out"));
    ASSERT_EQ(archiving.wait(std::chrono::seconds(60)), 0) << archiving.output();
    EXPECT_NE(archiving.output().find("archived entries 0.."), std::string::npos)
        << archiving.output();
    gs.send_signed(gs.make_heartbeat());
    gs.send_signed(gs.make_digest({player_at(player_.public_key(), 300)}, unix_time_ms()));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>()) << vs_->process().output();
  }
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();

  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  EXPECT_NE(output.find("archived by policy entries 0.."), std::string::npos) << output;
  ChildProcess audit_archive(
      {program("audit-cli"), "verify", archive, "--vs-pubkey", key, "--no-progress"},
      dir_.file("audit-archive.out"));
  EXPECT_EQ(audit_archive.wait(std::chrono::seconds(60)), 0) << audit_archive.output();

  // The session left live is rebuilt from its JoinAccept, which retention kept, and revoked at
  // the start (no resume window): its identity joins afresh.
  start("resume_window_ms = 0\n");
  ScriptedGs again(vs_->port(), identity_, build_);
  again.join();
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;

  // Handed to an investigator: a directory of segments recording the range retired.
  const std::string exported = dir_.file("export") + "/";
  ChildProcess exporting({program("vsd"), "store", "export", "--store", url_, "--to", exported,
                          "--vs-public-key", key},
                         dir_.file("export.out"));
  ASSERT_EQ(exporting.wait(std::chrono::seconds(60)), 0) << exporting.output();
  ChildProcess audit_export(
      {program("audit-cli"), "verify", exported, "--vs-pubkey", key, "--no-progress"},
      dir_.file("audit-export.out"));
  EXPECT_EQ(audit_export.wait(std::chrono::seconds(60)), 0) << audit_export.output();
  EXPECT_NE(audit_export.output().find("archived by policy entries 0.."), std::string::npos)
      << audit_export.output();

  // Only a range (STORE.md §11.4): from the newest checkpoint that seals what comes before it.
  const auto held = vs_->entries();
  ASSERT_FALSE(held.empty());
  const std::uint64_t first_held = held.front().header.seq;
  std::optional<std::uint64_t> seal;
  for (const auto& e : held) {
    if (e.header.kind != MessageKind::kCheckpoint) continue;
    const auto checkpoint = decode<Checkpoint>(e.message);
    // One that leaves entries after it for the copy to hold.
    if (checkpoint && checkpoint->log_size == e.header.seq &&
        e.header.seq + 1 < held.back().header.seq) {
      seal = e.header.seq;
    }
  }
  ASSERT_TRUE(seal.has_value());
  const std::uint64_t until = held.back().header.seq + 1;
  const std::string range = dir_.file("range") + "/";
  ChildProcess exporting_range(
      {program("vsd"), "store", "export", "--store", url_, "--to", range, "--from",
       std::to_string(*seal + 1), "--until", std::to_string(until), "--vs-public-key", key},
      dir_.file("range.out"));
  ASSERT_EQ(exporting_range.wait(std::chrono::seconds(60)), 0) << exporting_range.output();
  ChildProcess audit_range(
      {program("audit-cli"), "verify", range, "--vs-pubkey", key, "--no-progress"},
      dir_.file("audit-range.out"));
  EXPECT_EQ(audit_range.wait(std::chrono::seconds(60)), 0) << audit_range.output();
  EXPECT_NE(audit_range.output().find("left out of this copy: entries " +
                                      std::to_string(first_held) + ".." + std::to_string(*seal)),
            std::string::npos)
      << audit_range.output();
  EXPECT_NE(audit_range.output().find("INTACT"), std::string::npos) << audit_range.output();
}

TEST_F(VsdOnPostgres, ADatabaseItCannotReachStopsItWithTheReason) {
  TempDir dir;
  const std::string unreachable =
      "postgresql://vsd:secret@127.0.0.1:" + std::to_string(free_port()) + "/gsvs";
  VsOptions options;
  options.store = unreachable;
  EXPECT_THROW(VsProcess(dir, {identity_.public_key()}, {build_}, options), std::runtime_error);
  const std::string log = read_text(dir.file("vsd.out"));
  EXPECT_NE(log.find("store postgresql://vsd:***@127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("cannot connect"), std::string::npos) << log;
  // The server may be up later: exit code 1, which systemd restarts.
  EXPECT_NE(log.find("This may pass without a change: exit code 1"), std::string::npos) << log;
  EXPECT_EQ(log.find("secret"), std::string::npos) << log;
}

}  // namespace
}  // namespace gsvs::testing
