// A clean stop of a real gsd joined to a real vsd (PROTOCOL.md §8.11): SIGTERM makes the GS send
// a GsLeaving, the VS ends the session with gs_left (not missed_heartbeats), the clients get that
// notice, and the audit finds no fault of the GS.
#include <gtest/gtest.h>

#include <string>

#include "protocol/keyfile.h"
#include "tests/support/frame_socket.h"
#include "tests/support/gsd_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::seconds;

std::size_t count_entries(const std::vector<storage::Entry>& entries, MessageKind kind,
                          chains::Direction direction, SessionId session) {
  std::size_t n = 0;
  for (const auto& e : entries) {
    if (e.header.kind == kind && e.header.direction == direction && e.header.session_id == session)
      ++n;
  }
  return n;
}

TEST(GsdLeaving, StopEndsTheSessionAsGsLeftAndTheAuditFindsNoFault) {
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  const std::string key_path = dir.file("gs.key");
  ASSERT_TRUE(keyfile::write_key_pair(key_path, identity).ok());
  VsProcess vs(dir, {identity.public_key()}, {sha256_of_file(program("gsd"))});
  GsdProcess gsd(dir, vs, key_path);
  ScriptedClient client(gsd.port(), vs.public_key());
  client.handshake();
  ASSERT_TRUE(client.pump_until([&] { return !client.tickets().empty(); }, seconds(3)));
  const SessionId session = client.session_id();
  // A connection that has not said its ClientHello when gsd stops is closed by the stop: no
  // refusal of the client's doing (no line, no gsd_clients_refused_total).
  FrameSocket silent(gsd.port());
  ASSERT_TRUE(silent.read_frame(seconds(3)).has_value());  // its ClientChallenge: it is served

  EXPECT_EQ(gsd.stop(), 0) << gsd.process().output();
  EXPECT_EQ(gsd.process().output().find("refused"), std::string::npos) << gsd.process().output();
  // The client is told why, with the VS's own signed notice.
  ASSERT_TRUE(client.pump_until([&] { return client.revocation().has_value(); }, seconds(3)))
      << gsd.process().output();
  auto notice = decode<Revocation>(*client.revocation());
  ASSERT_TRUE(notice.ok()) << notice.error();
  EXPECT_TRUE(verify(*notice, vs.public_key()));
  EXPECT_EQ(notice->reason, static_cast<std::uint16_t>(RevocationReason::kGsLeft))
      << notice->detail;
  EXPECT_EQ(notice->session_id, session);

  const auto vs_entries = vs.entries();
  EXPECT_EQ(
      count_entries(vs_entries, MessageKind::kGsLeaving, chains::Direction::kReceived, session),
      1u);
  EXPECT_EQ(
      count_entries(vs_entries, MessageKind::kRevocation, chains::Direction::kIssued, session), 1u);
  EXPECT_NE(vs.process().output().find("GsLeaving received"), std::string::npos);
  EXPECT_EQ(vs.process().output().find("missed_heartbeats"), std::string::npos)
      << vs.process().output();
  // gsd's own store holds what it sent and what it was answered.
  const auto gs_entries = read_store(gsd.store_path());
  EXPECT_EQ(count_entries(gs_entries, MessageKind::kGsLeaving, chains::Direction::kIssued, session),
            1u);
  EXPECT_EQ(
      count_entries(gs_entries, MessageKind::kRevocation, chains::Direction::kReceived, session),
      1u);

  ChildProcess explain({program("audit-cli"), "explain", vs.store_path(), "--session",
                        std::to_string(session), "--vs-pubkey", to_hex(vs.public_key())},
                       dir.file("explain.out"));
  EXPECT_EQ(explain.wait(seconds(30)), 0) << explain.output();
  EXPECT_NE(explain.output().find("NO FAULT of the GS: the GS left cleanly"), std::string::npos)
      << explain.output();
  EXPECT_EQ(explain.output().find("SUPPORTED"), std::string::npos) << explain.output();
  std::string verify_output;
  EXPECT_EQ(vs.audit_verify(verify_output), 0) << verify_output;
  EXPECT_EQ(vs.stop(), 0) << vs.process().output();
}

}  // namespace
}  // namespace gsvs::testing
