// The per-session player cap (PROTOCOL.md §8.6): a GS that names ever more player keys is revoked
// at max_players_per_session + 1, so vsd's movement state per session stays bounded, and a
// session's state is released when it ends.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "protocol/clock.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

constexpr std::uint32_t kCap = 300;

// Player keys that no other test uses; they need not be valid curve points, the VS only
// tells them apart.
std::vector<PlayerPosition> fresh_players(std::uint32_t first, std::uint32_t count) {
  std::vector<PlayerPosition> players;
  for (std::uint32_t n = first; n < first + count; ++n) {
    PlayerPosition p;
    for (std::size_t i = 0; i < 4; ++i) p.player.bytes[i] = static_cast<std::uint8_t>(n >> (8 * i));
    p.player.bytes[31] = 0x5c;
    players.push_back(p);
  }
  return players;
}

// `vsd status --json` as text.
std::string status_json(const VsProcess& vs, const TempDir& dir) {
  ChildProcess status({program("vsd"), "status", "--json", "--admin-socket", vs.admin_socket()},
                      dir.file("status.out"));
  EXPECT_EQ(status.wait(std::chrono::seconds(10)), 0) << status.output();
  return status.output();
}

// Polls the status until it holds `text` (the daemon releases a session on its own loop).
bool status_reaches(const VsProcess& vs, const TempDir& dir, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (status_json(vs, dir).find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(VsdPlayerCap, FreshKeysPastTheCapRevokeAndTheSessionIsReleased) {
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  const Hash32 build = crypto::sha256(as_bytes("honest build 1.0"));
  VsOptions options;
  options.extra = "max_players_per_session = " + std::to_string(kCap) + "\n";
  VsProcess vs(dir, {identity.public_key()}, {build}, options);

  std::uint64_t digest_seq = 0;
  SessionId session_id = 0;
  {
    ScriptedGs gs(vs.port(), identity, build);
    const JoinAccept accept = gs.join();
    session_id = accept.session_id;
    EXPECT_EQ(accept.max_players_per_session, kCap);
    const auto t0 = unix_time_ms();
    // Exactly the cap, over two digests, and the same players again: all accepted.
    gs.send_signed(gs.make_digest(fresh_players(0, 256), t0));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    gs.send_signed(gs.make_digest(fresh_players(256, kCap - 256), t0 + 1));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    gs.send_signed(gs.make_digest(fresh_players(100, 200), t0 + 2));
    ASSERT_TRUE(gs.expect<ProtectedReceipt>());
    EXPECT_TRUE(status_reaches(vs, dir, "\"session_objects\": 1")) << status_json(vs, dir);
    // One fresh key more is one player too many.
    gs.send_signed(gs.make_digest(fresh_players(kCap, 1), t0 + 3));
    auto revocation = gs.expect<Revocation>();
    ASSERT_TRUE(revocation.has_value()) << vs.process().output();
    EXPECT_TRUE(verify(*revocation, vs.public_key()));
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(RevocationReason::kTooManyPlayers))
        << reason_name(static_cast<RevocationReason>(revocation->reason)) << ": "
        << revocation->detail;
    EXPECT_NE(revocation->detail.find("to " + std::to_string(kCap + 1)), std::string::npos)
        << revocation->detail;
    ASSERT_EQ(revocation->evidence.size(), 1u);
    digest_seq = revocation->evidence[0];
    EXPECT_TRUE(gs.socket().wait_closed(std::chrono::seconds(3)));
  }
  // The ended session holds nothing: its object is gone, not kept in a server-wide map.
  EXPECT_TRUE(status_reaches(vs, dir, "\"session_objects\": 0")) << status_json(vs, dir);

  const auto entries = vs.entries();
  ASSERT_LT(digest_seq, entries.size());
  EXPECT_EQ(entries[digest_seq].header.kind, MessageKind::kTranscriptDigest);
  EXPECT_EQ(entries[digest_seq].header.direction, chains::Direction::kReceived);
  EXPECT_EQ(vs.stop(), 0) << vs.process().output();
  std::string output;
  EXPECT_EQ(vs.audit_verify(output), 0) << output;

  // The dispute report recomputes the cap from the JoinAccept and the digests it holds.
  const std::string report = dir.file("report.json");
  ChildProcess make_report(
      {program("audit-cli"), "report", vs.store_path(), "--session", std::to_string(session_id),
       "-o", report, "--vs-pubkey", to_hex(vs.public_key())},
      dir.file("report.out"));
  ASSERT_EQ(make_report.wait(std::chrono::seconds(60)), 0) << make_report.output();
  ChildProcess check_report(
      {program("audit-cli"), "verify-report", report, "--vs-pubkey", to_hex(vs.public_key())},
      dir.file("verify-report.out"));
  EXPECT_EQ(check_report.wait(std::chrono::seconds(60)), 0) << check_report.output();
  EXPECT_NE(check_report.output().find("confirmed"), std::string::npos) << check_report.output();
}

}  // namespace
}  // namespace gsvs::testing
