// Quarantine of a GS identity (PROTOCOL.md §8.16), with vsd as a real process on 127.0.0.1 and a
// GS scripted by hand: a revocation for an integrity fault keeps the identity out, across a vsd
// restart, and a liveness end does not. The rule itself is tabled in
// tests/rules/quarantine_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/clock.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

class VsdQuarantine : public ::testing::Test {
 protected:
  void start() {
    vs_ = std::make_unique<VsProcess>(
        dir_, std::vector<crypto::PublicKey>{rogue_.public_key(), honest_.public_key()},
        std::vector<Hash32>{build_});
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
    args.insert(args.begin(), program("vsd"));
    args.insert(args.begin() + 2, {"--admin-socket", vs_->admin_socket()});
    ChildProcess command(args, out_.file("vsd-command.out"));
    const int code = command.wait(std::chrono::seconds(10));
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

  // Derived from the log: a restart on the same store keeps it.
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  start();
  EXPECT_EQ(expect_join_refused(rogue_).reason, kQuarantined);
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  expect_store_verifies();
}

// The honest counterpart: a GS whose link broke (missed heartbeats) joins again at once.
TEST_F(VsdQuarantine, MissedHeartbeatsDoNotQuarantine) {
  start();
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

}  // namespace
}  // namespace gsvs::testing
