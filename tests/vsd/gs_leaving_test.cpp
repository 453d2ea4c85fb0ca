// GsLeaving against a real vsd (PROTOCOL.md §5.22, §8.5): a valid one ends the session with the
// non-fault reason gs_left and frees the identity at once; one that fails a session check is
// refused as any other session traffic would be.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "protocol/clock.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

GsLeaving leaving_of(ScriptedGs& gs) {
  GsLeaving leaving;
  leaving.session_id = gs.session_id();
  leaving.gs_counter = gs.next_counter();
  leaving.gs_time_ms = unix_time_ms();
  leaving.receipt_count = gs.receipt_count;
  leaving.receipt_tip = gs.receipt_tip;
  return leaving;
}

class VsdGsLeaving : public ::testing::Test {
 protected:
  void SetUp() override {
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                      std::vector<Hash32>{build_});
  }
  // The Revocation the GS receives: signed by the VS, for its session, then the VS closes.
  Revocation revocation_for(ScriptedGs& gs) {
    auto revocation = gs.expect<Revocation>(std::chrono::seconds(5));
    EXPECT_TRUE(revocation.has_value()) << vs_->process().output();
    if (!revocation) return {};
    EXPECT_TRUE(verify(*revocation, vs_->public_key()));
    EXPECT_EQ(revocation->session_id, gs.session_id());
    EXPECT_TRUE(gs.socket().wait_closed(std::chrono::seconds(3)));
    return *revocation;
  }
  static std::string name_of(const Revocation& revocation) {
    return std::string(reason_name(static_cast<RevocationReason>(revocation.reason)));
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("honest build 1.0"));
  std::unique_ptr<VsProcess> vs_;
};

TEST_F(VsdGsLeaving, ALeavingEndsTheSessionAsGsLeftAndFreesTheIdentity) {
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  gs.send_signed(gs.make_heartbeat());
  const GsLeaving leaving = leaving_of(gs);
  gs.send_signed(leaving);
  const Revocation revocation = revocation_for(gs);
  EXPECT_EQ(name_of(revocation), "gs_left") << revocation.detail;
  ASSERT_EQ(revocation.evidence.size(), 1u);

  // The identity joins again at once: no identity_busy, no wait for a heartbeat timeout.
  ScriptedGs again(vs_->port(), identity_, build_);
  const JoinAccept second = again.join();
  EXPECT_NE(second.session_id, gs.session_id());

  const auto entries = vs_->entries();
  const auto& cited = entries.at(revocation.evidence[0]);
  EXPECT_EQ(cited.header.kind, MessageKind::kGsLeaving);
  EXPECT_EQ(cited.header.direction, chains::Direction::kReceived);
  EXPECT_EQ(cited.header.session_id, gs.session_id());
  EXPECT_NE(vs_->process().output().find("GsLeaving received"), std::string::npos)
      << vs_->process().output();
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  EXPECT_EQ(vs_->stop(), 0) << vs_->process().output();
}

struct BadLeavingCase {
  std::string name;
  std::function<void(ScriptedGs&, GsLeaving&)> spoil;  // after the session sent one heartbeat
  std::string expected_reason;
};

class VsdBadGsLeaving : public VsdGsLeaving,
                        public ::testing::WithParamInterface<BadLeavingCase> {};

TEST_P(VsdBadGsLeaving, IsRefusedAsSessionTraffic) {
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  gs.send_signed(gs.make_heartbeat());
  GsLeaving leaving = leaving_of(gs);
  sign(leaving, gs.session_key());
  GetParam().spoil(gs, leaving);
  gs.send_unsigned(leaving);
  const Revocation revocation = revocation_for(gs);
  EXPECT_EQ(name_of(revocation), GetParam().expected_reason) << revocation.detail;
  std::string output;
  EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  EXPECT_EQ(vs_->stop(), 0) << vs_->process().output();
}

INSTANTIATE_TEST_SUITE_P(Cases, VsdBadGsLeaving,
                         ::testing::Values(BadLeavingCase{"BadSignature",
                                                          [](ScriptedGs&, GsLeaving& l) {
                                                            l.signatures[0].bytes[0] ^= 0x80;
                                                          },
                                                          "bad_signature"},
                                           BadLeavingCase{"StaleCounter",
                                                          [](ScriptedGs& gs, GsLeaving& l) {
                                                            l.gs_counter -= 1;  // the heartbeat's
                                                            sign(l, gs.session_key());
                                                          },
                                                          "counter_regression"},
                                           BadLeavingCase{"OtherSession",
                                                          [](ScriptedGs& gs, GsLeaving& l) {
                                                            l.session_id += 1;
                                                            sign(l, gs.session_key());
                                                          },
                                                          "session_mismatch"},
                                           BadLeavingCase{"ReceiptStateNeverIssued",
                                                          [](ScriptedGs& gs, GsLeaving& l) {
                                                            l.receipt_count = 1;
                                                            sign(l, gs.session_key());
                                                          },
                                                          "receipt_tip_mismatch"}),
                         [](const ::testing::TestParamInfo<BadLeavingCase>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace gsvs::testing
