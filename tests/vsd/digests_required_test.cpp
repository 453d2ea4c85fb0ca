// Digests required (PROTOCOL.md §8.5): with vsd as a real process on 127.0.0.1 and a GS scripted
// by hand, a session whose digests stop while its last digest named players is revoked with
// digests_stopped at its digest deadline, though its heartbeats go on and nothing else arrives;
// the identity is quarantined and the store verifies. The honest counterpart, a session whose
// last digest named nobody, heartbeats past the timeout and is not revoked. The rule itself is
// tabled in tests/rules/session_rules_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "protocol/clock.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;

constexpr std::uint32_t kHeartbeatTimeoutMs = 2000;
constexpr std::uint32_t kDigestTimeoutMs = 3000;
// Heartbeats come this often, well inside the heartbeat timeout even on a loaded machine.
constexpr milliseconds kHeartbeatEvery(200);

class VsdDigestsRequired : public ::testing::Test {
 protected:
  void start() {
    VsOptions options;
    options.heartbeat_timeout_ms = kHeartbeatTimeoutMs;
    options.digest_timeout_ms = kDigestTimeoutMs;
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                      std::vector<Hash32>{build_}, options);
  }
  // Heartbeats until a Revocation arrives or `for_at_most` passes.
  static std::optional<Revocation> heartbeat_until_revoked(ScriptedGs& gs,
                                                           milliseconds for_at_most) {
    const auto until = std::chrono::steady_clock::now() + for_at_most;
    while (std::chrono::steady_clock::now() < until) {
      gs.send_signed(gs.make_heartbeat());
      if (auto revocation = gs.expect<Revocation>(kHeartbeatEvery)) return revocation;
    }
    return std::nullopt;
  }
  // Runs audit-cli with `args`; its exit code, with its output in `output`.
  int audit_cli(const std::vector<std::string>& args, std::string& output) const {
    std::vector<std::string> argv{program("audit-cli")};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess run(argv, dir_.file("audit-cli.out"));
    const int code = run.wait(std::chrono::seconds(30));
    output = run.output();
    return code;
  }
  static PlayerPosition player_at_origin() {
    PlayerPosition p;
    p.player = crypto::SecretKey::generate().public_key();
    return p;
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("honest build 1.0"));
  std::unique_ptr<VsProcess> vs_;
};

TEST_F(VsdDigestsRequired, DigestsThatStopWhilePlayersPlayRevokeAndQuarantine) {
  start();
  SessionId session = 0;
  {
    ScriptedGs gs(vs_->port(), identity_, build_);
    const JoinAccept accept = gs.join();
    session = accept.session_id;
    EXPECT_EQ(accept.digest_timeout_ms, kDigestTimeoutMs);
    gs.send_signed(gs.make_digest({player_at_origin()}, unix_time_ms()));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    // Heartbeats go on, digests do not: the VS's watchdog revokes at the digest deadline.
    const auto revocation = heartbeat_until_revoked(gs, milliseconds(4 * kDigestTimeoutMs));
    ASSERT_TRUE(revocation.has_value()) << vs_->process().output();
    EXPECT_TRUE(verify(*revocation, vs_->public_key()));
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(RevocationReason::kDigestsStopped))
        << reason_name(static_cast<RevocationReason>(revocation->reason)) << ": "
        << revocation->detail;
    EXPECT_TRUE(gs.socket().wait_closed(std::chrono::seconds(3)));
  }
  // Quarantined (PROTOCOL.md §8.16): the same identity's next join is refused.
  {
    ScriptedGs again(vs_->port(), identity_, build_);
    again.send_join(again.make_join_request());
    const auto reject = again.expect<JoinReject>();
    ASSERT_TRUE(reject.has_value()) << vs_->process().output();
    EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(JoinRejectReason::kQuarantined))
        << reject->detail;
  }
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  const auto entries = vs_->entries();
  std::optional<Revocation> stored;
  for (const auto& e : entries) {
    if (e.header.kind != MessageKind::kRevocation || e.header.session_id != session) continue;
    auto decoded = decode<Revocation>(e.message);
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    stored = *decoded;
  }
  ASSERT_TRUE(stored.has_value());
  // The evidence is the last accepted digest, and the gap it claims is the timeout or more.
  ASSERT_EQ(stored->evidence.size(), 1u);
  const auto& digest = entries.at(stored->evidence[0]).header;
  EXPECT_EQ(digest.kind, MessageKind::kTranscriptDigest);
  EXPECT_EQ(digest.direction, chains::Direction::kReceived);
  EXPECT_GE(stored->vs_time_ms, digest.vs_time_ms + kDigestTimeoutMs);
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  // explain and the dispute report recompute the verdict from the log alone.
  const std::string key = to_hex(vs_->public_key());
  EXPECT_EQ(audit_cli({"explain", vs_->store_path(), "--session", std::to_string(session),
                       "--vs-pubkey", key},
                      output),
            0)
      << output;
  EXPECT_NE(output.find("SUPPORTED: recomputed"), std::string::npos) << output;
  const std::string report = dir_.file("digests_stopped.json");
  ASSERT_EQ(audit_cli({"report", vs_->store_path(), "--session", std::to_string(session),
                       "--vs-pubkey", key, "-o", report},
                      output),
            0)
      << output;
  EXPECT_NE(output.find("verdict: consistent"), std::string::npos) << output;
  EXPECT_EQ(audit_cli({"verify-report", report, "--vs-pubkey", key}, output), 0) << output;
}

// The honest counterpart: a GS whose last digest names nobody (its match is over) owes no digest,
// and heartbeats past the digest timeout unrevoked; its next players are judged as before.
TEST_F(VsdDigestsRequired, ASessionWithoutPlayersOwesNoDigest) {
  start();
  {
    ScriptedGs gs(vs_->port(), identity_, build_);
    gs.join();
    gs.send_signed(gs.make_digest({player_at_origin()}, unix_time_ms()));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    gs.send_signed(gs.make_digest({}, unix_time_ms()));  // the last player left
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    const auto revocation = heartbeat_until_revoked(gs, milliseconds(kDigestTimeoutMs + 1000));
    EXPECT_FALSE(revocation.has_value()) << revocation->detail;
    gs.send_signed(gs.make_digest({player_at_origin()}, unix_time_ms()));
    EXPECT_TRUE(gs.expect<ProtectedReceipt>()) << vs_->process().output();
  }
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
}

}  // namespace
}  // namespace gsvs::testing
