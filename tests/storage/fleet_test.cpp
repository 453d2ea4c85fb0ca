// A fleet's shared schema (docs/STORE.md §11.6), against a real PostgreSQL server: one node holds
// a GS identity at a time, a dead node's claims are taken over under its writer lock and a live
// node's are not, quarantines hold for the other nodes, a session is adopted once, and session
// ids never repeat across the nodes.
#include "storage/fleet.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "protocol/crypto.h"
#include "storage/log.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/postgres_server.h"

namespace gsvs::storage::testing {
namespace {

using gsvs::testing::PostgresServer;

class FleetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    database_ = server_->create_database();
    server_->psql(database_, "CREATE SCHEMA node_a; CREATE SCHEMA node_b");
  }
  [[nodiscard]] std::string node_url(const std::string& schema) const {
    return server_->url(database_) + "?options=-csearch_path%3D" + schema;
  }
  // A node: its log open for writing (so it holds its writer lock: alive) and its fleet.
  struct Node {
    std::unique_ptr<Log> log;
    std::unique_ptr<Fleet> fleet;
  };
  Node start(const std::string& schema, const crypto::PublicKey& key) {
    Node node;
    node.log = open_log(node_url(schema));
    EXPECT_NE(node.log, nullptr);
    auto fleet = Fleet::join(node_url(schema), "gsvs_fleet", key);
    EXPECT_TRUE(fleet.ok()) << (fleet.ok() ? "" : fleet.error());
    if (fleet) node.fleet = std::move(fleet).value();
    return node;
  }
  std::string psql(const std::string& sql) const { return server_->psql(database_, sql); }

  static std::unique_ptr<PostgresServer> server_;
  std::string database_;
  const crypto::PublicKey key_a_ = crypto::SecretKey::generate().public_key();
  const crypto::PublicKey key_b_ = crypto::SecretKey::generate().public_key();
  const crypto::PublicKey gs_ = crypto::SecretKey::generate().public_key();
};

std::unique_ptr<PostgresServer> FleetTest::server_;

Fleet::Claim claimed(Fleet& fleet, const crypto::PublicKey& identity) {
  auto claim = fleet.claim(identity);
  EXPECT_TRUE(claim.ok()) << (claim.ok() ? "" : claim.error());
  return claim.ok() ? *claim : Fleet::Claim{};
}

Fleet::Quarantine quarantine_of(const crypto::PublicKey& identity, std::uint64_t since_ms,
                                std::uint32_t quarantine_ms) {
  return Fleet::Quarantine{identity, 7, 16, since_ms, 42, quarantine_ms, {}};
}

// Takes the writer lock of the dead node that holds `identity`, once the server has seen its
// connection go (a moment after it closed).
void lock_dead_holder_of(Fleet& fleet, const crypto::PublicKey& identity) {
  auto dead = fleet.lock_dead_holder(identity);
  for (int tries = 0; tries < 100 && dead.ok() && !*dead; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    dead = fleet.lock_dead_holder(identity);
  }
  ASSERT_TRUE(dead.ok() && *dead) << (dead.ok() ? "alive after 5 s" : dead.error());
}

// Whether `fleet` sees a quarantine of `identity` by another node at `vs_time_ms`, and by which.
std::string quarantined_by(Fleet& fleet, const crypto::PublicKey& identity,
                           std::uint64_t vs_time_ms) {
  auto found = fleet.quarantine_elsewhere(identity, vs_time_ms);
  EXPECT_TRUE(found.ok()) << (found.ok() ? "" : found.error());
  return found.ok() && *found ? (*found)->node : std::string();
}

TEST_F(FleetTest, OneNodeHoldsAnIdentityUntilItsLastHoldIsGivenBack) {
  Node a = start("node_a", key_a_);
  Node b = start("node_b", key_b_);
  ASSERT_TRUE(a.fleet && b.fleet);
  EXPECT_EQ(a.fleet->node(), "node_a");
  EXPECT_TRUE(claimed(*a.fleet, gs_).granted);
  EXPECT_TRUE(claimed(*a.fleet, gs_).granted);  // a second hold
  const Fleet::Claim refused = claimed(*b.fleet, gs_);
  EXPECT_FALSE(refused.granted);
  EXPECT_EQ(refused.holder, "node_a");
  a.fleet->release(gs_);
  EXPECT_FALSE(claimed(*b.fleet, gs_).granted) << "one hold is left";
  a.fleet->release(gs_);
  EXPECT_TRUE(claimed(*b.fleet, gs_).granted);
  EXPECT_EQ(psql("SELECT node FROM gsvs_fleet.live_session"), "node_b");
}

// A claim is taken over only from a node that is not alive, under its writer lock, and names the
// session that held it there (PROTOCOL.md §8.16 "In a fleet": the taker reads how it ended).
TEST_F(FleetTest, ADeadNodesClaimIsTakenOverUnderItsWriterLock) {
  Node a = start("node_a", key_a_);
  Node b = start("node_b", key_b_);
  ASSERT_TRUE(claimed(*a.fleet, gs_).granted);
  EXPECT_EQ(claimed(*b.fleet, gs_).holder_session, std::nullopt) << "not named yet";
  ASSERT_TRUE(a.fleet->claimed_for(gs_, 12));
  EXPECT_EQ(claimed(*b.fleet, gs_).holder_session, 12U);
  auto alive = b.fleet->lock_dead_holder(gs_);
  ASSERT_TRUE(alive.ok()) << alive.error();
  EXPECT_FALSE(*alive) << "node_a is alive: its writer lock is not free";
  a = Node{};  // node_a's connections close: its writer lock goes with them
  EXPECT_FALSE(claimed(*b.fleet, gs_).granted) << "a claim takes over nothing";
  // The server frees the lock when node_a's backend has ended, a moment after the close.
  auto dead = b.fleet->lock_dead_holder(gs_);
  for (int tries = 0; tries < 100 && dead.ok() && !*dead; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    dead = b.fleet->lock_dead_holder(gs_);
  }
  ASSERT_TRUE(dead.ok() && *dead) << (dead.ok() ? "alive after 5 s" : dead.error());
  EXPECT_EQ((*dead)->name, "node_a");
  EXPECT_EQ((*dead)->session_id, 12U);
  // Under the lock node_a's start waits (a fleet node holds it); the claim moves, the lock goes,
  // and the start goes on.
  auto starting = std::async(std::launch::async, [this] { return open_log(node_url("node_a")); });
  EXPECT_EQ(starting.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout);
  auto taken = b.fleet->take_claim_from(gs_, "node_a");
  ASSERT_TRUE(taken.ok() && *taken);
  b.fleet->unlock_node("node_a");
  EXPECT_NE(starting.get(), nullptr);
  EXPECT_EQ(psql("SELECT node FROM gsvs_fleet.live_session"), "node_b");
  EXPECT_EQ(psql("SELECT count(session_id) FROM gsvs_fleet.live_session"), "0")
      << "the join's session is named once its JoinAccept is placed";
  // node_a comes back: the identity is node_b's now, and node_b is alive.
  Node again = start("node_a", key_a_);
  const Fleet::Claim at_start = claimed(*again.fleet, gs_);
  EXPECT_FALSE(at_start.granted);
  EXPECT_EQ(at_start.holder, "node_b");
}

TEST_F(FleetTest, AStartDropsTheClaimsAnEarlierRunLeftAndKeepsThoseClaimedAgain) {
  const crypto::PublicKey other = crypto::SecretKey::generate().public_key();
  {
    Node a = start("node_a", key_a_);
    ASSERT_TRUE(claimed(*a.fleet, gs_).granted);
    ASSERT_TRUE(claimed(*a.fleet, other).granted);
  }
  Node a = start("node_a", key_a_);
  auto kept = a.fleet->claim(gs_, 5);  // a session kept for a resume names itself on its row
  ASSERT_TRUE(kept.ok() && kept->granted);
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.live_session WHERE session_id = 5"), "1");
  ASSERT_TRUE(a.fleet->drop_unheld_claims());
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.live_session"), "1");
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.live_session WHERE node = 'node_a'"), "1");
}

// PROTOCOL.md §8.16 "In a fleet": what one node quarantines the others see, until it lapses or
// that node pardons it; a node's own are its log's to judge, and a start replaces them.
TEST_F(FleetTest, ANodesQuarantinesHoldForTheOtherNodes) {
  Node a = start("node_a", key_a_);
  Node b = start("node_b", key_b_);
  const crypto::PublicKey other = crypto::SecretKey::generate().public_key();
  a.fleet->quarantined(quarantine_of(gs_, 5000, 1000));  // [5000, 6000)
  a.fleet->quarantined(quarantine_of(other, 5000, 0));   // until pardoned
  EXPECT_EQ(quarantined_by(*b.fleet, gs_, 5999), "node_a");
  EXPECT_EQ(quarantined_by(*b.fleet, gs_, 6000), "") << "lapsed at the boundary";
  EXPECT_EQ(quarantined_by(*a.fleet, gs_, 5500), "") << "a node's own are not elsewhere";
  auto found = b.fleet->quarantine_elsewhere(other, 1'000'000);
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->session_id, 7U);
  EXPECT_EQ((*found)->reason, 16U);
  EXPECT_EQ((*found)->position, 42U);
  EXPECT_EQ((*found)->since_ms, 5000U);
  EXPECT_EQ((*found)->quarantine_ms, 0U);
  // A new revocation renews the identity's quarantine: one row per node and identity.
  a.fleet->quarantined(quarantine_of(gs_, 8000, 1000));
  EXPECT_EQ(quarantined_by(*b.fleet, gs_, 8500), "node_a");
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.quarantine WHERE node = 'node_a'"), "2");
  a.fleet->pardoned(other);
  EXPECT_EQ(quarantined_by(*b.fleet, other, 1'000'000), "");
  // Written for a dead node from its log: the node's own row, where there is one, stands.
  Fleet::Quarantine from_log = quarantine_of(gs_, 8000, 0);
  from_log.node = "node_a";
  ASSERT_TRUE(b.fleet->quarantined_by_dead_node(from_log));
  EXPECT_EQ(quarantined_by(*b.fleet, gs_, 9500), "") << "node_a's own row, lapsed at 9000";
  from_log.position = 43;  // a later Revocation of that log: it replaces the lapsed row
  ASSERT_TRUE(b.fleet->quarantined_by_dead_node(from_log));
  EXPECT_EQ(quarantined_by(*b.fleet, gs_, 9500), "node_a");
  from_log.identity = other;
  ASSERT_TRUE(b.fleet->quarantined_by_dead_node(from_log));
  EXPECT_EQ(quarantined_by(*b.fleet, other, 1'000'000), "node_a");
  // A start publishes the quarantines its log holds in force: the others' rows go.
  ASSERT_TRUE(a.fleet->publish_quarantines({quarantine_of(other, 9000, 0)}));
  EXPECT_EQ(quarantined_by(*b.fleet, gs_, 8500), "");
  EXPECT_EQ(quarantined_by(*b.fleet, other, 9000), "node_a");
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.quarantine"), "1");
}

// Fail closed: while a node cannot write a quarantine, it keeps the claim of the identity and
// claims nothing, so that no other node can admit the identity without seeing the quarantine.
TEST_F(FleetTest, AQuarantineNotYetWrittenKeepsItsClaimAndStopsClaims) {
  start("node_a", key_a_);  // as the owner: the tables
  const std::string role = "gsvs_vsd_" + database_;
  psql("CREATE ROLE " + role + " LOGIN; GRANT USAGE ON SCHEMA node_a, gsvs_fleet TO " + role +
       "; GRANT SELECT, INSERT ON node_a.log_entry, node_a.message_kind TO " + role +
       "; GRANT SELECT ON node_a.meta, node_a.retired_range, gsvs_fleet.fleet_meta TO " + role +
       "; GRANT SELECT, INSERT, UPDATE, DELETE ON gsvs_fleet.live_session TO " + role +
       "; GRANT SELECT, INSERT, UPDATE ON gsvs_fleet.node TO " + role +
       "; GRANT SELECT, DELETE ON gsvs_fleet.quarantine TO " + role);  // no INSERT yet
  const std::string url = server_->url(database_, role) + "?options=-csearch_path%3Dnode_a";
  auto log = open_log(url);
  ASSERT_NE(log, nullptr);
  auto fleet = Fleet::join(url, "gsvs_fleet", key_a_);
  ASSERT_TRUE(fleet.ok()) << fleet.error();
  ASSERT_TRUE(claimed(**fleet, gs_).granted);
  (*fleet)->quarantined(quarantine_of(gs_, 5000, 0));  // refused by the database
  (*fleet)->release(gs_);
  EXPECT_EQ(psql("SELECT node FROM gsvs_fleet.live_session"), "node_a") << "the claim is kept";
  const crypto::PublicKey other = crypto::SecretKey::generate().public_key();
  auto refused = (*fleet)->claim(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("quarantines are not yet in the database"), std::string::npos)
      << refused.error();
  // Once the database takes it: the quarantine is written, then the kept claim deleted.
  psql("GRANT INSERT, UPDATE ON gsvs_fleet.quarantine TO " + role);
  EXPECT_TRUE(claimed(**fleet, other).granted);
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.quarantine"), "1");
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.live_session WHERE gs_identity <> decode('" +
                 to_hex(other.view()) + "', 'hex')"),
            "0");
}

// A fleet made by an earlier build (version 1, no quarantine table) is brought to version 2 by
// the first node that joins it.
TEST_F(FleetTest, AFleetOfVersionOneIsBroughtToTwo) {
  start("node_a", key_a_);
  psql(
      "DROP TABLE gsvs_fleet.quarantine, gsvs_fleet.adoption; ALTER TABLE gsvs_fleet.live_session "
      "DROP COLUMN session_id; UPDATE gsvs_fleet.fleet_meta SET value = '1' WHERE key = "
      "'fleet_version'");
  Node b = start("node_b", key_b_);
  ASSERT_NE(b.fleet, nullptr);
  EXPECT_EQ(psql("SELECT value FROM gsvs_fleet.fleet_meta WHERE key = 'fleet_version'"), "2");
  b.fleet->quarantined(quarantine_of(gs_, 5000, 0));
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.quarantine"), "1");
  ASSERT_TRUE(b.fleet->claim(gs_, 9).ok());
  EXPECT_EQ(psql("SELECT session_id FROM gsvs_fleet.live_session"), "9");
}

// PROTOCOL.md §8.10 "When a node dies": a session is taken up from a log once, with its claim;
// the node whose log it is learns at its start which of its sessions others took up, and by whom.
TEST_F(FleetTest, ASessionIsAdoptedFromALogOnceWithItsClaim) {
  Node b = start("node_b", key_b_);
  {
    Node a = start("node_a", key_a_);
    ASSERT_TRUE(claimed(*a.fleet, gs_).granted);
  }
  ASSERT_NO_FATAL_FAILURE(lock_dead_holder_of(*b.fleet, gs_));
  // No claim on that identity: nothing is taken, nothing recorded.
  const crypto::PublicKey other = crypto::SecretKey::generate().public_key();
  auto unclaimed = b.fleet->adopt_session(other, "node_a", 6);
  ASSERT_TRUE(unclaimed.ok()) << unclaimed.error();
  EXPECT_FALSE(unclaimed->granted);
  EXPECT_NE(unclaimed->refused.find("no longer holds the identity"), std::string::npos);
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.adoption"), "0");

  auto first = b.fleet->adopt_session(gs_, "node_a", 7);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_TRUE(first->granted) << first->refused;
  EXPECT_EQ(psql("SELECT node FROM gsvs_fleet.live_session"), "node_b");
  auto again = b.fleet->adopt_session(gs_, "node_a", 7);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_FALSE(again->granted);
  EXPECT_NE(again->refused.find("taken up before, by node node_b"), std::string::npos)
      << again->refused;
  b.fleet->unlock_node("node_a");
  Node a = start("node_a", key_a_);
  auto from_a = a.fleet->adopted_from_here();
  ASSERT_TRUE(from_a.ok()) << from_a.error();
  EXPECT_EQ(*from_a, (std::map<std::uint64_t, std::string>{{7, "node_b"}}));
  // Not placed after all: the record goes.
  b.fleet->forget_adoption("node_a", 7);
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.adoption"), "0");
}

TEST_F(FleetTest, SessionIdsRiseAndNeverRepeatAcrossTheNodes) {
  Node a = start("node_a", key_a_);
  Node b = start("node_b", key_b_);
  auto first_a = a.fleet->reserve_session_ids(1, 100);
  auto first_b = b.fleet->reserve_session_ids(1, 100);
  ASSERT_TRUE(first_a && first_b);
  EXPECT_EQ(*first_a, 1U);
  EXPECT_EQ(*first_b, 101U);
  // A node whose log already holds ids up to 5000 (it ran alone before) reserves above them.
  auto above = a.fleet->reserve_session_ids(5001, 100);
  ASSERT_TRUE(above);
  EXPECT_EQ(*above, 5001U);
  auto next_b = b.fleet->reserve_session_ids(201, 100);
  ASSERT_TRUE(next_b);
  EXPECT_EQ(*next_b, 5101U);
  auto too_many = a.fleet->reserve_session_ids((std::uint64_t{1} << 63) - 10, 100);
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().find("below 2^63"), std::string::npos) << too_many.error();
}

// The grants of docs/OPERATIONS.md "Running a fleet" are enough for a node, once the owner has
// made the tables: it writes its log and does all a node does in the fleet.
TEST_F(FleetTest, TheDocumentedGrantsAreEnoughForANode) {
  start("node_a", key_a_);  // as the owner: the log's and the fleet's tables
  psql("CREATE ROLE gsvs_vsd_" + database_ + " LOGIN");
  const std::string role = "gsvs_vsd_" + database_;
  psql("GRANT USAGE ON SCHEMA node_a TO " + role +
       "; GRANT SELECT, INSERT ON node_a.log_entry, node_a.message_kind TO " + role +
       "; GRANT SELECT ON node_a.meta, node_a.retired_range TO " + role +
       "; GRANT USAGE ON SCHEMA gsvs_fleet TO " + role +
       "; GRANT SELECT, INSERT, UPDATE, DELETE ON gsvs_fleet.live_session TO " + role +
       "; GRANT SELECT, INSERT, UPDATE ON gsvs_fleet.node TO " + role +
       "; GRANT SELECT, UPDATE ON gsvs_fleet.session_ids TO " + role +
       "; GRANT SELECT, INSERT, UPDATE, DELETE ON gsvs_fleet.quarantine TO " + role +
       "; GRANT SELECT, INSERT, DELETE ON gsvs_fleet.adoption TO " + role +
       "; GRANT SELECT ON gsvs_fleet.fleet_meta TO " + role);
  const std::string url = server_->url(database_, role) + "?options=-csearch_path%3Dnode_a";
  auto log = open_log(url);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append(sample_entries(0, 3)));
  auto fleet = Fleet::join(url, "gsvs_fleet", key_a_);
  ASSERT_TRUE(fleet.ok()) << fleet.error();
  EXPECT_TRUE(claimed(**fleet, gs_).granted);
  (*fleet)->release(gs_);
  EXPECT_TRUE(claimed(**fleet, gs_).granted);
  EXPECT_TRUE((*fleet)->drop_unheld_claims());
  auto ids = (*fleet)->reserve_session_ids(1, 10);
  ASSERT_TRUE(ids.ok()) << ids.error();
  (*fleet)->quarantined(quarantine_of(gs_, 1000, 0));
  (*fleet)->pardoned(gs_);
  EXPECT_TRUE((*fleet)->publish_quarantines({quarantine_of(gs_, 1000, 0)}));
  EXPECT_EQ(psql("SELECT count(*) FROM gsvs_fleet.quarantine WHERE node = 'node_a'"), "1");
  // A dead node_b's session, taken up under node_b's writer lock.
  const auto other_gs = crypto::SecretKey::generate().public_key();
  {
    Node b = start("node_b", key_b_);
    ASSERT_TRUE(claimed(*b.fleet, other_gs).granted);
  }
  ASSERT_NO_FATAL_FAILURE(lock_dead_holder_of(**fleet, other_gs));
  auto adoption = (*fleet)->adopt_session(other_gs, "node_b", 3);
  ASSERT_TRUE(adoption.ok()) << adoption.error();
  EXPECT_TRUE(adoption->granted) << adoption->refused;
  (*fleet)->unlock_node("node_b");
  (*fleet)->forget_adoption("node_b", 3);
  auto adopted = (*fleet)->adopted_from_here();
  ASSERT_TRUE(adopted.ok()) << adopted.error();
}

// A dead node's writer lock goes with the connection that took it: after the connection is lost
// and made again, nothing is taken over from that node, which may have started meanwhile.
TEST_F(FleetTest, ALockOnADeadNodeLostWithTheConnectionTakesNothingOver) {
  Node a = start("node_a", key_a_);
  {
    Node b = start("node_b", key_b_);
    ASSERT_TRUE(claimed(*b.fleet, gs_).granted);
  }
  ASSERT_NO_FATAL_FAILURE(lock_dead_holder_of(*a.fleet, gs_));
  psql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
      "'gsvs fleet'");
  auto taken = a.fleet->take_claim_from(gs_, "node_b");
  for (int tries = 0; tries < 30 && !taken.ok() &&
                      taken.error().find("was lost with the connection") == std::string::npos;
       ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past the reconnect pause
    taken = a.fleet->take_claim_from(gs_, "node_b");
  }
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().find("writer lock was lost with the connection"), std::string::npos)
      << taken.error();
  auto adopted = a.fleet->adopt_session(gs_, "node_b", 5);
  ASSERT_FALSE(adopted.ok());
  EXPECT_EQ(psql("SELECT node FROM gsvs_fleet.live_session"), "node_b");
}

TEST_F(FleetTest, BadFleetsAreRefusedWithTheirReason) {
  Node a = start("node_a", key_a_);
  a.log.reset();
  const struct {
    std::string url;
    std::string fleet;
    crypto::PublicKey key;
    std::string error;
  } cases[] = {
      {node_url("node_a"), "Fleet;DROP", key_a_, "must be a lowercase SQL name"},
      {node_url("node_a"), "node_a", key_a_, "the node's own log schema"},
      {node_url("node_a"), "gsvs_fleet", key_b_, "registered with another VS key"},
      {node_url("no_such_schema"), "gsvs_fleet", key_a_, "no current schema"},
  };
  for (const auto& c : cases) {
    auto fleet = Fleet::join(c.url, c.fleet, c.key);
    ASSERT_FALSE(fleet.ok()) << c.fleet;
    EXPECT_NE(fleet.error().find(c.error), std::string::npos) << fleet.error();
  }
  psql("UPDATE gsvs_fleet.fleet_meta SET value = '9' WHERE key = 'fleet_version'");
  auto newer = Fleet::join(node_url("node_a"), "gsvs_fleet", key_a_);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().find("fleet_version is '9'"), std::string::npos) << newer.error();
}

}  // namespace
}  // namespace gsvs::storage::testing
