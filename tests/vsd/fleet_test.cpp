// Two vsd nodes of one fleet on a real PostgreSQL server (docs/STORE.md §11.6, PROTOCOL.md §8.10),
// as real processes: a GS identity has one live session across them, session ids never repeat
// between them, a killed node's identities join on the other, and when it comes back the session
// it left live is revoked, not resumed; a quarantine holds on every node; each node's log
// verifies on its own.
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

class VsdFleet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    database_ = server_->create_database();
    server_->psql(database_, "CREATE SCHEMA node_a; CREATE SCHEMA node_b");
  }
  // The node whose log is the schema `node`, with its own directory (key, admin socket).
  std::unique_ptr<VsProcess> start(const std::string& node, const TempDir& dir,
                                   std::optional<Hash32> build = std::nullopt) const {
    VsOptions options;
    options.store = server_->url(database_) + "?options=-csearch_path%3D" + node;
    options.extra = "fleet = \"gsvs_fleet\"\n";
    return std::make_unique<VsProcess>(
        dir, std::vector<crypto::PublicKey>{identity_.public_key(), other_.public_key()},
        std::vector<Hash32>{build.value_or(build_)}, options);
  }
  static std::optional<JoinReject> refused_join(const VsProcess& vs,
                                                const crypto::SecretKey& identity,
                                                const Hash32& build) {
    ScriptedGs gs(vs.port(), identity, build);
    gs.send_join(gs.make_join_request());
    return gs.expect<JoinReject>();
  }
  // A crash: SIGKILL, and the node is gone.
  static void kill_node(VsProcess& node) {
    ::kill(node.process().pid(), SIGKILL);
    ASSERT_EQ(node.process().wait(std::chrono::seconds(5)), 128 + SIGKILL);
  }
  // Resumes `gs` on `node` once `node` adopts the session: until the database has seen the dead
  // node's connection go, `node` turns the resume away unanswered, and the GS tries again.
  static std::optional<ResumeAccept> resume_once_adopted(ScriptedGs& gs, const VsProcess& node) {
    std::optional<ResumeAccept> resumed;
    for (int attempt = 0; attempt < 40 && !resumed; ++attempt) {
      gs.send_unsigned(gs.reconnect_and_make_resume(node.port()));
      resumed = gs.expect<ResumeAccept>(std::chrono::milliseconds(500));
    }
    return resumed;
  }
  static void expect_verifies(VsProcess& vs) {
    std::string output;
    EXPECT_EQ(vs.audit_verify(output), 0) << output;
    EXPECT_NE(output.find("INTACT"), std::string::npos) << output;
  }

  static std::unique_ptr<PostgresServer> server_;
  std::string database_;
  TempDir dir_a_;
  TempDir dir_b_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  crypto::SecretKey other_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("a build"));
};

std::unique_ptr<PostgresServer> VsdFleet::server_;

TEST_F(VsdFleet, AnIdentityHasOneLiveSessionAcrossTheNodes) {
  auto a = start("node_a", dir_a_);
  auto b = start("node_b", dir_b_);
  ScriptedGs on_a(a->port(), identity_, build_);
  const JoinAccept accepted = on_a.join();

  // Busy on node_a: refused by node_b, in node_b's log, naming node_a.
  const auto reject = refused_join(*b, identity_, build_);
  ASSERT_TRUE(reject) << b->process().output();
  EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(JoinRejectReason::kIdentityBusyInFleet));
  EXPECT_NE(reject->detail.find("node node_a"), std::string::npos) << reject->detail;

  // Another identity joins node_b, under an id node_a never gives.
  ScriptedGs other_on_b(b->port(), other_, build_);
  const JoinAccept other_accepted = other_on_b.join();
  EXPECT_NE(other_accepted.session_id, accepted.session_id);

  // node_a dies: its claim goes with its writer lock, and the identity joins node_b.
  ASSERT_NO_FATAL_FAILURE(kill_node(*a));
  // node_a is dead once the database has seen its connection go; until then node_b refuses the
  // join as busy, and the GS tries again.
  std::unique_ptr<ScriptedGs> on_b;
  std::optional<JoinAccept> taken_over;
  for (int attempt = 0; attempt < 150 && !taken_over; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    on_b = std::make_unique<ScriptedGs>(b->port(), identity_, build_);
    on_b->send_join(on_b->make_join_request());
    taken_over = on_b->expect<JoinAccept>();
  }
  ASSERT_TRUE(taken_over) << b->process().output();
  EXPECT_NE(taken_over->session_id, accepted.session_id);
  EXPECT_NE(taken_over->session_id, other_accepted.session_id);

  // node_a comes back: the session it left live belongs to an identity node_b holds now, so it
  // is revoked at the start rather than kept for a resume.
  a = start("node_a", dir_a_);
  ASSERT_TRUE(a->process().wait_for_output("revoked at start-up", std::chrono::seconds(20)))
      << a->process().output();
  ASSERT_EQ(a->stop(), 0) << a->process().output();
  std::optional<Revocation> revoked;
  for (const auto& e : a->entries()) {
    if (e.header.kind == MessageKind::kRevocation) revoked = decode<Revocation>(e.message).value();
  }
  ASSERT_TRUE(revoked) << a->process().output();
  EXPECT_EQ(revoked->session_id, accepted.session_id);
  EXPECT_EQ(revoked->reason, static_cast<std::uint16_t>(RevocationReason::kVsShutdown));
  EXPECT_NE(revoked->detail.find("node node_b of its fleet"), std::string::npos) << revoked->detail;
  ASSERT_EQ(b->stop(), 0) << b->process().output();
  expect_verifies(*a);
  expect_verifies(*b);
}

// The fleet connection lost (a server restart, an idle timeout, an administrator): the call that
// meets it fails, and the next one connects again first.
TEST_F(VsdFleet, ALostFleetConnectionIsConnectedAgain) {
  auto a = start("node_a", dir_a_);
  {
    ScriptedGs first(a->port(), identity_, build_);
    first.join();
  }
  server_->psql(database_,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                "'gsvs fleet'");
  std::optional<JoinAccept> joined;
  for (int attempt = 0; attempt < 5 && !joined; ++attempt) {
    ScriptedGs gs(a->port(), other_, build_);
    gs.send_join(gs.make_join_request());
    joined = gs.expect<JoinAccept>();
  }
  EXPECT_TRUE(joined) << a->process().output();
  EXPECT_TRUE(a->process().wait_for_output("the connection was lost; connected again",
                                           std::chrono::seconds(5)))
      << a->process().output();
  ASSERT_EQ(a->stop(), 0) << a->process().output();
  expect_verifies(*a);
}

TEST_F(VsdFleet, AKilledNodesSessionIsAdoptedByAnotherAndGoesOn) {
  auto a = start("node_a", dir_a_);
  auto b = start("node_b", dir_b_);
  const crypto::PublicKey key_a = a->public_key();
  ScriptedGs gs(a->port(), identity_, build_);
  const JoinAccept accepted = gs.join();
  const crypto::PublicKey player = crypto::SecretKey::generate().public_key();
  gs.send_signed(gs.make_heartbeat());
  gs.send_signed(gs.make_digest({player_at(player, 0)}, unix_time_ms()));
  ASSERT_TRUE(gs.expect<ProtectedReceipt>()) << a->process().output();
  ASSERT_TRUE(gs.expect<PlayTicket>()) << a->process().output();

  // node_a dies, and node_b adopts the session.
  ASSERT_NO_FATAL_FAILURE(kill_node(*a));
  const std::optional<ResumeAccept> resumed = resume_once_adopted(gs, *b);
  ASSERT_TRUE(resumed) << b->process().output();
  EXPECT_TRUE(verify(*resumed, b->public_key()));
  EXPECT_EQ(resumed->receipt_count, gs.receipt_count);

  // The tickets go on from node_a's chain: any node_a issued that the GS lacks, as node_a signed
  // them, then node_b's own.
  Bytes previous = gs.tickets().back();
  bool signed_by_b = false;
  for (int i = 0; i < 10 && !signed_by_b; ++i) {
    auto ticket = gs.expect<PlayTicket>();
    ASSERT_TRUE(ticket) << b->process().output();
    EXPECT_EQ(ticket->ticket_seq, decode<PlayTicket>(previous).value().ticket_seq + 1);
    EXPECT_EQ(ticket->prev_ticket_hash, crypto::sha256(previous));
    signed_by_b = verify(*ticket, b->public_key());
    EXPECT_TRUE(signed_by_b || verify(*ticket, key_a));
    previous = gs.tickets().back();
  }
  EXPECT_TRUE(signed_by_b);
  // Heartbeats and digests go on at node_b, each player's step checked from node_a's last position.
  gs.send_signed(gs.make_heartbeat());
  gs.send_signed(gs.make_digest({player_at(player, 100)}, unix_time_ms()));
  ASSERT_TRUE(gs.expect<ProtectedReceipt>()) << b->process().output();
  // node_b restarts: it rebuilds the adopted session from its SessionAdopted, and the GS resumes.
  ASSERT_EQ(b->stop(), 0) << b->process().output();
  b = start("node_b", dir_b_);
  gs.send_unsigned(gs.reconnect_and_make_resume(b->port()));
  ASSERT_TRUE(gs.expect<ResumeAccept>()) << b->process().output();
  gs.send_signed(gs.make_heartbeat());
  gs.send_signed(gs.make_digest({player_at(player, 200)}, unix_time_ms()));
  ASSERT_TRUE(gs.expect<ProtectedReceipt>()) << b->process().output();

  // node_a comes back: node_b holds the session now, so node_a's copy is revoked at its start.
  a = start("node_a", dir_a_);
  ASSERT_TRUE(a->process().wait_for_output("revoked at start-up", std::chrono::seconds(20)))
      << a->process().output();
  ASSERT_EQ(a->stop(), 0) << a->process().output();
  ASSERT_EQ(b->stop(), 0) << b->process().output();
  std::optional<SessionAdopted> adopted;
  for (const auto& e : b->entries()) {
    if (e.header.kind == MessageKind::kSessionAdopted) {
      adopted = decode<SessionAdopted>(e.message).value();
    }
  }
  ASSERT_TRUE(adopted) << b->process().output();
  EXPECT_EQ(adopted->session_id, accepted.session_id);
  EXPECT_EQ(adopted->from_vs_key, key_a);
  EXPECT_EQ(adopted->join_accept, gs.join_accept_bytes());
  expect_verifies(*a);
  expect_verifies(*b);
  // Across the two logs: node_b took over the state node_a's log leaves.
  ChildProcess across(
      {program("audit-cli"), "verify-adoption", b->store_path(), "--vs-pubkey",
       to_hex(b->public_key()), "--from", a->store_path(), "--from-pubkey", to_hex(key_a)},
      dir_b_.file("verify-adoption.out"));
  EXPECT_EQ(across.wait(std::chrono::seconds(60)), 0) << across.output();
  EXPECT_NE(across.output().find("INTACT: 1 adoption(s)"), std::string::npos) << across.output();
  // Another log than the one it names does not hold that state.
  ChildProcess wrong(
      {program("audit-cli"), "verify-adoption", b->store_path(), "--vs-pubkey",
       to_hex(b->public_key()), "--from", b->store_path(), "--from-pubkey", to_hex(key_a)},
      dir_b_.file("verify-adoption-wrong.out"));
  EXPECT_EQ(wrong.wait(std::chrono::seconds(60)), 1) << wrong.output();
  EXPECT_NE(wrong.output().find("FAILED: 1 adoption(s) from the log given, 1 failed"),
            std::string::npos)
      << wrong.output();
}

// A session is taken up from a dead node's log once, and what becomes of it on the adopting node
// holds: node_b adopts node_a's session and revokes it; node_a, back, finds the adoption recorded
// and revokes its copy at its start, though nothing claims the identity any more, so the GS
// cannot resume the ended session there.
TEST_F(VsdFleet, ASessionEndedWhereItWasAdoptedIsNotResumedWhereItBegan) {
  auto a = start("node_a", dir_a_);
  auto b = start("node_b", dir_b_);
  ScriptedGs gs(a->port(), identity_, build_);
  const JoinAccept accepted = gs.join();
  ASSERT_NO_FATAL_FAILURE(kill_node(*a));
  const std::optional<ResumeAccept> resumed = resume_once_adopted(gs, *b);
  ASSERT_TRUE(resumed) << b->process().output();
  std::string output;
  ASSERT_EQ(b->admin({"revoke", "--session", std::to_string(accepted.session_id), "--reason",
                      "the match is over"},
                     output),
            0)
      << output;

  a = start("node_a", dir_a_);
  ASSERT_TRUE(a->process().wait_for_output("revoked at start-up", std::chrono::seconds(20)))
      << a->process().output();
  gs.send_unsigned(gs.reconnect_and_make_resume(a->port()));
  const auto refused = gs.expect<JoinReject>();
  ASSERT_TRUE(refused) << a->process().output();
  EXPECT_EQ(refused->reason, static_cast<std::uint16_t>(JoinRejectReason::kSessionEnded));
  ASSERT_EQ(a->stop(), 0) << a->process().output();
  ASSERT_EQ(b->stop(), 0) << b->process().output();
  std::optional<Revocation> revoked;
  for (const auto& e : a->entries()) {
    if (e.header.kind == MessageKind::kRevocation) revoked = decode<Revocation>(e.message).value();
  }
  ASSERT_TRUE(revoked);
  EXPECT_NE(revoked->detail.find("node node_b of its fleet took it up"), std::string::npos)
      << revoked->detail;
  expect_verifies(*a);
  expect_verifies(*b);
}

// A node takes a session up under its own policy: node_b does not allow the session's build, so
// it takes the session up and ends it at once (policy_withdrawn), and the resume finds it ended.
TEST_F(VsdFleet, ASessionTheAdoptingNodesPolicyBarsIsTakenUpAndEnded) {
  auto a = start("node_a", dir_a_);
  auto b = start("node_b", dir_b_, crypto::sha256(as_bytes("another build")));
  ScriptedGs gs(a->port(), identity_, build_);
  const JoinAccept accepted = gs.join();
  ASSERT_NO_FATAL_FAILURE(kill_node(*a));
  std::optional<JoinReject> refused;
  for (int attempt = 0; attempt < 40 && !refused; ++attempt) {
    gs.send_unsigned(gs.reconnect_and_make_resume(b->port()));
    refused = gs.expect<JoinReject>(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(refused) << b->process().output();
  EXPECT_EQ(refused->reason, static_cast<std::uint16_t>(JoinRejectReason::kSessionEnded));
  ASSERT_EQ(b->stop(), 0) << b->process().output();
  std::vector<MessageKind> kinds;
  std::optional<Revocation> revoked;
  for (const auto& e : b->entries()) {
    if (e.header.session_id != accepted.session_id) continue;
    kinds.push_back(e.header.kind);
    if (e.header.kind == MessageKind::kRevocation) revoked = decode<Revocation>(e.message).value();
  }
  EXPECT_EQ(kinds,
            (std::vector<MessageKind>{MessageKind::kSessionAdopted, MessageKind::kRevocation}));
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->reason, static_cast<std::uint16_t>(RevocationReason::kPolicyWithdrawn));
  EXPECT_NE(revoked->detail.find("of node node_b, which took the session up"), std::string::npos)
      << revoked->detail;
  expect_verifies(*b);
}

// A quarantine holds on every node (PROTOCOL.md §8.16 "In a fleet"): node_a quarantines an
// identity; node_b refuses it, after node_a is killed too, and cannot pardon it; node_a, back,
// can, and the identity then joins node_b. Each log verifies, the fleet's refusal included.
TEST_F(VsdFleet, AQuarantineOnOneNodeHoldsOnEveryNode) {
  auto a = start("node_a", dir_a_);
  auto b = start("node_b", dir_b_);
  {
    ScriptedGs rogue(a->port(), identity_, build_);
    rogue.join();
    std::string output;
    ASSERT_EQ(a->admin({"revoke", "--session", std::to_string(rogue.session_id()), "--reason",
                        "aimbot reports", "--quarantine"},
                       output),
              0)
        << output;
  }
  const auto expect_quarantined_by_a = [&] {
    const auto reject = refused_join(*b, identity_, build_);
    ASSERT_TRUE(reject) << b->process().output();
    EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(JoinRejectReason::kQuarantinedInFleet));
    EXPECT_NE(reject->detail.find("node node_a of this VS's fleet"), std::string::npos)
        << reject->detail;
    EXPECT_NE(reject->detail.find("operator_quarantine"), std::string::npos) << reject->detail;
  };
  expect_quarantined_by_a();

  // Killed, node_a's quarantine stays in force: it is in the fleet's database, not in node_a.
  ASSERT_NO_FATAL_FAILURE(kill_node(*a));
  expect_quarantined_by_a();
  std::string output;
  EXPECT_NE(
      b->admin({"pardon", "--identity", to_hex(identity_.public_key()), "--reason", "r"}, output),
      0);
  EXPECT_NE(output.find("not quarantined by this node but by node node_a"), std::string::npos)
      << output;

  // node_a comes back with its quarantines from its log, and lifts its own.
  a = start("node_a", dir_a_);
  expect_quarantined_by_a();
  ASSERT_EQ(a->admin({"pardon", "--identity", to_hex(identity_.public_key()), "--reason",
                      "reviewed: a lag spike"},
                     output),
            0)
      << output;
  ScriptedGs pardoned(b->port(), identity_, build_);
  pardoned.join();
  ASSERT_EQ(a->stop(), 0) << a->process().output();
  ASSERT_EQ(b->stop(), 0) << b->process().output();
  expect_verifies(*a);
  expect_verifies(*b);
}

// A node that dies before the fleet has its quarantine (its write failed, so it kept the claim)
// leaves its log's word: the node taking the claim over reads how the session ended there, writes
// the quarantine for it, and refuses the join (PROTOCOL.md §8.16 "In a fleet").
TEST_F(VsdFleet, AQuarantineADeadNodeDidNotWriteIsReadFromItsLog) {
  auto a = start("node_a", dir_a_);
  auto b = start("node_b", dir_b_);
  std::uint64_t session = 0;
  {
    ScriptedGs rogue(a->port(), identity_, build_);
    session = rogue.join().session_id;
    std::string output;
    ASSERT_EQ(a->admin({"revoke", "--session", std::to_string(session), "--reason", "aimbot",
                        "--quarantine"},
                       output),
              0)
        << output;
  }
  // What a failed write leaves: no row, and the claim kept, naming the session.
  const std::string identity = "decode('" + to_hex(identity_.public_key()) + "', 'hex')";
  server_->psql(database_,
                "DELETE FROM gsvs_fleet.quarantine; INSERT INTO "
                "gsvs_fleet.live_session (gs_identity, node, session_id) VALUES (" +
                    identity + ", 'node_a', " + std::to_string(session) + ")");
  ASSERT_NO_FATAL_FAILURE(kill_node(*a));
  std::optional<JoinReject> reject;
  for (int attempt = 0; attempt < 150; ++attempt) {
    reject = refused_join(*b, identity_, build_);
    ASSERT_TRUE(reject) << b->process().output();
    // Busy until the database has seen node_a's connection go.
    if (reject->reason != static_cast<std::uint16_t>(JoinRejectReason::kIdentityBusyInFleet)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(JoinRejectReason::kQuarantinedInFleet));
  EXPECT_NE(
      reject->detail.find("node node_a of this VS's fleet (session " + std::to_string(session) +
                          " revoked there for "
                          "operator_quarantine"),
      std::string::npos)
      << reject->detail;
  EXPECT_EQ(server_->psql(database_, "SELECT node FROM gsvs_fleet.quarantine"), "node_a");
  EXPECT_EQ(server_->psql(database_, "SELECT count(*) FROM gsvs_fleet.live_session"), "0");
  ASSERT_EQ(b->stop(), 0) << b->process().output();
  expect_verifies(*b);
}

// A node keeps to its fleet: started without `fleet`, or with another fleet's name, it refuses
// to start, naming the fleet that lists it (it would let an identity hold a session here and on
// another node, and repeat the fleet's session ids).
TEST_F(VsdFleet, ANodeOfAFleetDoesNotStartOutsideIt) {
  {
    auto a = start("node_a", dir_a_);
    ASSERT_EQ(a->stop(), 0) << a->process().output();
  }
  const std::string store = server_->url(database_) + "?options=-csearch_path%3Dnode_a";
  struct Outside {
    const char* name;
    std::vector<std::string> fleet;  // the arguments naming a fleet, if any
    std::string said;                // what the refusal says of the configuration
  };
  const std::vector<Outside> cases = {
      {"no fleet", {}, "but 'fleet' is not set"},
      {"another fleet", {"--fleet", "other_fleet"}, "but 'fleet' = 'other_fleet'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> argv{program("vsd"),
                                  "run",
                                  "--store",
                                  store,
                                  "--key",
                                  dir_a_.file("vs.key"),
                                  "--allowed_gs",
                                  to_hex(identity_.public_key()),
                                  "--allowed_builds",
                                  to_hex(build_)};
    argv.insert(argv.end(), c.fleet.begin(), c.fleet.end());
    ChildProcess refused(argv, dir_a_.file("outside.out"));
    EXPECT_EQ(refused.wait(std::chrono::seconds(20)), 2);  // a configuration error
    EXPECT_NE(refused.output().find("its schema is a node of fleet gsvs_fleet (listed in "
                                    "gsvs_fleet.node), " +
                                    c.said + ": set fleet = \"gsvs_fleet\""),
              std::string::npos)
        << refused.output();
  }
  // Its own fleet's name starts it again.
  auto again = start("node_a", dir_a_);
  ASSERT_EQ(again->stop(), 0) << again->process().output();
  // A store no fleet lists starts alone, beside an application's tables that share a fleet's
  // names but are none.
  server_->psql(database_,
                "CREATE SCHEMA app; CREATE TABLE app.node (id int); "
                "CREATE TABLE app.fleet_meta (key text)");
  VsOptions alone;
  alone.store = server_->url(database_) + "?options=-csearch_path%3Dnode_b";
  VsProcess b(dir_b_, {identity_.public_key()}, {build_}, alone);
  ASSERT_EQ(b.stop(), 0) << b.process().output();
}

TEST_F(VsdFleet, AFleetNeedsAPostgresqlStore) {
  ChildProcess refused(
      {program("vsd"), "run", "--store", dir_a_.file("vs.db"), "--fleet", "gsvs_fleet",
       "--allowed_gs", to_hex(identity_.public_key()), "--allowed_builds", to_hex(build_)},
      dir_a_.file("vsd.out"));
  EXPECT_NE(refused.wait(std::chrono::seconds(20)), 0);
  EXPECT_NE(refused.output().find("'fleet' = 'gsvs_fleet' needs a PostgreSQL store"),
            std::string::npos)
      << refused.output();
}

}  // namespace
}  // namespace gsvs::testing
