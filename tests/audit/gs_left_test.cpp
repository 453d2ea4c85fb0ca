// How the audit judges a gs_left revocation (AUDIT.md §3.4): no fault of the GS when the GsLeaving
// it cites passes every session check and is the session's last message; not supported when the
// cited leaving fails a check, is not cited, or the GS sent more after it.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "audit-cli/session_model.h"
#include "protocol/chains.h"
#include "protocol/clock.h"

namespace gsvs::audit {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

constexpr SessionId kLeavingSession = 7;
constexpr std::uint64_t kAcceptSeq = 1;

class Assessments : public SessionModel::Observer {
 public:
  void on_revocation(const Revocation& /*revocation*/, const RevocationAssessment& a) override {
    assessments.push_back(a);
  }
  std::vector<RevocationAssessment> assessments;
};

// Feeds one session to a SessionModel, entry by entry, from position kAcceptSeq + 1 on.
class Session {
 public:
  Session() : model_(kAcceptSeq, unix_time_ms(), accept(), Hash32{}) {
    model_.set_observer(&observer_);
  }
  // Logs a received GS message, with its signature judged valid or not; returns its position.
  template <class M>
  std::uint64_t receive(const M& message, SigState signature = SigState::kValid) {
    return add(AnyMessage{message}, chains::Direction::kReceived, signature);
  }
  void revoke(RevocationReason reason, std::vector<std::uint64_t> evidence) {
    Revocation revocation;
    revocation.session_id = kLeavingSession;
    revocation.reason = static_cast<std::uint16_t>(reason);
    revocation.evidence = std::move(evidence);
    add(AnyMessage{revocation}, chains::Direction::kIssued, SigState::kValid);
  }
  [[nodiscard]] const RevocationAssessment& assessment() const {
    return observer_.assessments.at(0);
  }
  [[nodiscard]] const FindingSink& findings() const { return sink_; }

  static GsLeaving leaving(std::uint64_t gs_counter) {
    GsLeaving l;
    l.session_id = kLeavingSession;
    l.gs_counter = gs_counter;
    return l;
  }
  static Heartbeat heartbeat(std::uint64_t gs_counter) {
    Heartbeat hb;
    hb.session_id = kLeavingSession;
    hb.gs_counter = gs_counter;
    return hb;
  }

 private:
  static JoinAccept accept() {
    JoinAccept a;
    a.session_id = kLeavingSession;
    a.heartbeat_interval_ms = 100;
    a.heartbeat_timeout_ms = 800;
    a.max_speed_mm_s = 7000;
    return a;
  }
  std::uint64_t add(const AnyMessage& message, chains::Direction direction, SigState signature) {
    storage::Entry entry;
    entry.header.seq = next_++;
    entry.header.kind = protocol::kind_of(message);
    entry.header.direction = direction;
    entry.header.session_id = kLeavingSession;
    entry.header.vs_time_ms = unix_time_ms();
    entry.message = encode_any(message);
    const std::vector<SigState> signatures(1, signature);
    ModelInput input;
    input.entry = &entry;
    input.message = &message;
    input.signatures = signatures;
    input.position = entry.header.seq;
    model_.add(input, sink_, [this](std::uint64_t seq) -> std::optional<EntryBrief> {
      auto it = logged_.find(seq);
      if (it == logged_.end()) return std::nullopt;
      return it->second;
    });
    logged_[entry.header.seq] =
        EntryBrief{entry.header.seq, static_cast<std::uint8_t>(entry.header.kind), direction,
                   kLeavingSession, entry.header.vs_time_ms};
    return entry.header.seq;
  }

  Assessments observer_;
  SessionModel model_;
  FindingSink sink_;
  std::map<std::uint64_t, EntryBrief> logged_;  // what the log holds so far, for evidence
  std::uint64_t next_ = kAcceptSeq + 1;
};

TEST(GsLeftAudit, AValidLastLeavingIsNoFaultOfTheGs) {
  Session s;
  s.receive(Session::heartbeat(1));
  const auto leaving = s.receive(Session::leaving(2));
  s.revoke(RevocationReason::kGsLeft, {leaving});
  EXPECT_EQ(s.assessment().support, Support::kNotAGsFault) << s.assessment().explanation;
  EXPECT_NE(s.assessment().explanation.find("left cleanly"), std::string::npos);
  EXPECT_EQ(s.findings().failures(), 0u);
}

struct UnsupportedCase {
  std::string name;
  SigState leaving_signature;
  std::uint64_t leaving_counter;  // after a heartbeat with gs_counter 5
  bool more_after;                // another heartbeat after the leaving
  bool cite_leaving;              // else the revocation cites the heartbeat
};

class GsLeftUnsupported : public ::testing::TestWithParam<UnsupportedCase> {};

TEST_P(GsLeftUnsupported, IsAFinding) {
  const auto& c = GetParam();
  Session s;
  const auto heartbeat = s.receive(Session::heartbeat(5));
  const auto leaving = s.receive(Session::leaving(c.leaving_counter), c.leaving_signature);
  if (c.more_after) s.receive(Session::heartbeat(c.leaving_counter + 1));
  s.revoke(RevocationReason::kGsLeft, {c.cite_leaving ? leaving : heartbeat});
  EXPECT_NE(s.assessment().support, Support::kNotAGsFault) << s.assessment().explanation;
  EXPECT_GT(s.findings().failures(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GsLeftUnsupported,
    ::testing::Values(UnsupportedCase{"BadSignature", SigState::kInvalid, 6, false, true},
                      UnsupportedCase{"StaleCounter", SigState::kValid, 5, false, true},
                      UnsupportedCase{"MoreAfterTheLeaving", SigState::kValid, 6, true, true},
                      UnsupportedCase{"LeavingNotCited", SigState::kValid, 6, false, false}),
    [](const ::testing::TestParamInfo<UnsupportedCase>& param) { return param.param.name; });

}  // namespace
}  // namespace gsvs::audit
