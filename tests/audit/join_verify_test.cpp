// audit-cli verify on joins (AUDIT.md §3.1, PROTOCOL.md §8.3): small stores written entry by
// entry, each holding one join the VS answered honestly or not.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit-cli/verifier.h"
#include "protocol/chains.h"
#include "storage/log.h"
#include "tests/audit/audit_fixture.h"
#include "tests/support/process.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
namespace check = audit::check;

constexpr std::uint64_t kVsTime = 1'700'000'000'000;

// A VS log written by hand: what a VS, honest or not, could have logged for its joins.
class JoinLog {
 public:
  JoinLog() : vs_key_(crypto::SecretKey::generate()) {}

  // A JoinRequest from `identity` with a fresh session key; `session_signature_valid` false
  // spoils signature 1, `identity_signature_valid` false signature 0.
  static Bytes request(const crypto::SecretKey& identity, bool session_signature_valid = true,
                       bool identity_signature_valid = true) {
    const auto session_key = crypto::SecretKey::generate();
    JoinRequest r;
    r.gs_identity = identity.public_key();
    r.session_key = session_key.public_key();
    r.sw_hash = crypto::sha256(as_bytes("build"));
    r.gs_time_ms = kVsTime;
    r.challenge = crypto::random_fixed<32>();
    sign(r, identity, 0);
    sign(r, session_key, 1);
    if (!identity_signature_valid) r.signatures[0].bytes[0] ^= 0x01;
    if (!session_signature_valid) r.signatures[1].bytes[0] ^= 0x01;
    return encode(r);
  }

  std::uint64_t put(MessageKind kind, chains::Direction direction, SessionId session, Bytes bytes) {
    entries_.push_back(storage::PendingEntry{kind, direction, session, now_, std::move(bytes)});
    return entries_.size() - 1;
  }
  std::uint64_t put_request(const Bytes& request, SessionId column) {
    return put(MessageKind::kJoinRequest, chains::Direction::kReceived, column, request);
  }
  // The JoinAccept for `request` (the request is logged separately); returns its position.
  std::uint64_t put_accept(const Bytes& request, SessionId id) {
    auto r = decode<JoinRequest>(request);
    EXPECT_TRUE(r.ok());
    JoinAccept a;
    a.session_id = id;
    a.gs_identity = r->gs_identity;
    a.session_key = r->session_key;
    a.sw_hash = r->sw_hash;
    a.join_request_hash = chains::message_hash(request);
    a.vs_time_ms = now_;
    a.heartbeat_interval_ms = 1000;
    a.heartbeat_timeout_ms = 5000;
    a.ticket_period_ms = 1000;
    a.ticket_validity_ms = 3000;
    a.max_speed_mm_s = 7000;
    a.max_players_per_session = 16;
    sign(a, vs_key_);
    return put(MessageKind::kJoinAccept, chains::Direction::kIssued, id, encode(a));
  }
  std::uint64_t put_reject(const Bytes& request, JoinRejectReason reason) {
    JoinReject j;
    j.join_request_hash = chains::message_hash(request);
    j.vs_time_ms = now_;
    j.reason = static_cast<std::uint16_t>(reason);
    j.detail = std::string(reason_name(reason));
    sign(j, vs_key_);
    return put(MessageKind::kJoinReject, chains::Direction::kIssued, 0, encode(j));
  }
  // An admitted join, logged as vsd does: the request under the new session's id, then the
  // JoinAccept. Returns the JoinAccept's position.
  std::uint64_t join(const Bytes& request, SessionId id) {
    put_request(request, id);
    return put_accept(request, id);
  }
  // A rejected join, logged as vsd does. Returns the JoinReject's position.
  std::uint64_t reject(const Bytes& request, JoinRejectReason reason) {
    put_request(request, 0);
    return put_reject(request, reason);
  }
  // A PolicyApplied allowing `identities` and the build of request(), on put_accept's terms
  // (`builds` empty: no build at all). Returns its position.
  std::uint64_t put_policy(std::uint64_t seq, const std::vector<PublicKey>& identities,
                           bool allows_the_build = true, std::uint32_t quarantine_ms = 0) {
    PolicyApplied p;
    p.policy_seq = seq;
    p.vs_time_ms = now_;
    p.policy.quarantine_ms = quarantine_ms;
    p.policy.allowed_gs = identities;
    std::sort(p.policy.allowed_gs.begin(), p.policy.allowed_gs.end());
    if (allows_the_build) p.policy.allowed_builds = {crypto::sha256(as_bytes("build"))};
    p.policy.heartbeat_interval_ms = 1000;
    p.policy.heartbeat_timeout_ms = 5000;
    p.policy.ticket_period_ms = 1000;
    p.policy.ticket_validity_ms = 3000;
    p.policy.max_speed_mm_s = 7000;
    p.policy.max_players_per_session = 16;
    p.policy_hash = policy_hash(p.policy);
    sign(p, vs_key_);
    return put(MessageKind::kPolicyApplied, chains::Direction::kIssued, 0, encode(p));
  }
  void revoke(SessionId id, std::uint64_t accept_position,
              RevocationReason reason = RevocationReason::kOperator,
              std::vector<std::uint64_t> more_evidence = {}) {
    Revocation r;
    r.session_id = id;
    r.revocation_seq = ++revocations_;
    r.vs_time_ms = now_;
    r.reason = static_cast<std::uint16_t>(reason);
    r.detail = "maintenance";
    r.evidence = {accept_position};
    r.evidence.insert(r.evidence.end(), more_evidence.begin(), more_evidence.end());
    sign(r, vs_key_);
    put(MessageKind::kRevocation, chains::Direction::kIssued, id, encode(r));
  }
  // The operator's Pardon of `identity`, naming the Revocation at `revocation_position`;
  // `signature_valid` false spoils its VS signature. Returns its position.
  std::uint64_t pardon(const crypto::SecretKey& identity, std::uint64_t revocation_position,
                       bool signature_valid = true) {
    Pardon p;
    p.gs_identity = identity.public_key();
    p.vs_time_ms = now_;
    p.revocation_position = revocation_position;
    p.reason = "reviewed";
    sign(p, vs_key_);
    if (!signature_valid) p.signatures[0].bytes[0] ^= 0x01;
    return put(MessageKind::kPardon, chains::Direction::kIssued, 0, encode(p));
  }
  // Later entries are logged at VS time kVsTime + `ms`.
  void at(std::uint64_t ms) { now_ = kVsTime + ms; }
  [[nodiscard]] std::uint64_t size() const { return entries_.size(); }

  VerifyRun verify() {
    const std::string path = dir_.file("joins.db");
    {
      auto log = storage::Log::open(path, storage::OpenMode::kReadWrite);
      EXPECT_TRUE(log.ok()) << log.error();
      auto appended = (*log)->append(entries_);
      EXPECT_TRUE(appended.ok()) << appended.error();
    }
    audit::VerifyOptions options;
    options.vs_key = audit::KeySource{vs_key_.public_key(), "test"};
    return testing::verify(path, options);
  }

 private:
  TempDir dir_;
  crypto::SecretKey vs_key_;
  std::vector<storage::PendingEntry> entries_;
  std::uint64_t revocations_ = 0;
  std::uint64_t now_ = kVsTime;
};

::testing::AssertionResult failed_at(const VerifyRun& run, std::string_view check,
                                     std::uint64_t seq) {
  if (run.has(check, seq)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << check << " at " << seq << "; found:\n"
                                       << run.describe();
}

TEST(JoinAudit, HonestJoinsAreIntact) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto b = crypto::SecretKey::generate();
  const auto accept = log.join(JoinLog::request(a), 1);
  log.reject(JoinLog::request(a), JoinRejectReason::kIdentityBusy);  // session 1 is live
  log.reject(JoinLog::request(b), JoinRejectReason::kBuildNotAllowed);
  log.reject(JoinLog::request(b, false), JoinRejectReason::kBadSessionSignature);
  log.reject(JoinLog::request(b), JoinRejectReason::kBadChallenge);
  log.reject(JoinLog::request(b), JoinRejectReason::kClockSkew);
  log.reject(JoinLog::request(b), JoinRejectReason::kServerBusy);
  log.revoke(1, accept);
  log.join(JoinLog::request(a), 2);  // free again
  auto run = log.verify();
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
  EXPECT_EQ(run.result.stats.rejected_joins, 6u);
}

TEST(JoinAudit, IdentityBusyWithoutALiveSessionIsAFailure) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto never = log.reject(JoinLog::request(a), JoinRejectReason::kIdentityBusy);
  const auto accept = log.join(JoinLog::request(a), 1);
  log.revoke(1, accept);
  const auto after_revocation = log.reject(JoinLog::request(a), JoinRejectReason::kIdentityBusy);
  auto run = log.verify();
  EXPECT_TRUE(failed_at(run, check::kJoin, never));
  EXPECT_TRUE(failed_at(run, check::kJoin, after_revocation));
  EXPECT_EQ(run.sink.failures(), 2u) << run.describe();
}

// Quarantine (PROTOCOL.md §8.16): an operator_quarantine revocation keeps the identity out; a
// plain operator revocation does not.
TEST(JoinAudit, QuarantineFollowsTheLog) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto b = crypto::SecretKey::generate();
  const auto first = log.join(JoinLog::request(a), 1);
  log.revoke(1, first);
  const auto second = log.join(JoinLog::request(a), 2);  // not quarantined: free again
  log.revoke(2, second, RevocationReason::kOperatorQuarantine);
  log.reject(JoinLog::request(a), JoinRejectReason::kQuarantined);
  log.join(JoinLog::request(b), 3);  // another identity is not touched
  auto run = log.verify();
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
}

TEST(JoinAudit, AJoinAcceptedWhileQuarantinedIsAFailure) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto b = crypto::SecretKey::generate();
  const auto first = log.join(JoinLog::request(a), 1);
  log.revoke(1, first, RevocationReason::kOperatorQuarantine);
  const auto let_in = log.join(JoinLog::request(a), 2);
  const auto never = log.reject(JoinLog::request(b), JoinRejectReason::kQuarantined);
  auto run = log.verify();
  EXPECT_TRUE(failed_at(run, check::kJoin, let_in));
  EXPECT_TRUE(failed_at(run, check::kJoin, never));
  EXPECT_EQ(run.sink.failures(), 2u) << run.describe();
}

// The operator's Pardon (PROTOCOL.md §8.16): it lifts the quarantine in force, and joins after it
// are accepted; a Pardon of nothing, or one naming another Revocation, is a failure. (The
// quarantines are the operator's: a speed revocation would need the digests as evidence.)
TEST(JoinAudit, APardonLiftsTheQuarantineInForce) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto first = log.join(JoinLog::request(a), 1);
  const auto revocation = log.size();
  log.revoke(1, first, RevocationReason::kOperatorQuarantine);
  log.reject(JoinLog::request(a), JoinRejectReason::kQuarantined);
  log.pardon(a, revocation);
  log.join(JoinLog::request(a), 2);  // accepted again
  auto run = log.verify();
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
}

TEST(JoinAudit, APardonOfNothingOrOfAnotherRevocationIsAFailure) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto b = crypto::SecretKey::generate();
  const auto of_nothing = log.pardon(b, 0);  // b was never quarantined
  const auto first = log.join(JoinLog::request(a), 1);
  const auto revocation = log.size();
  log.revoke(1, first, RevocationReason::kOperatorQuarantine);
  const auto wrong_position = log.pardon(a, revocation + 7);
  // A replayed copy: the quarantine it lifted is gone, so it lifts nothing.
  const auto replayed = log.pardon(a, revocation);
  auto run = log.verify();
  EXPECT_TRUE(failed_at(run, check::kPardon, of_nothing));
  EXPECT_TRUE(failed_at(run, check::kPardon, wrong_position));
  EXPECT_TRUE(failed_at(run, check::kPardon, replayed));
  EXPECT_EQ(run.sink.failures(), 3u) << run.describe();
}

TEST(JoinAudit, AForgedPardonFailsItsSignature) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto first = log.join(JoinLog::request(a), 1);
  const auto revocation = log.size();
  log.revoke(1, first, RevocationReason::kOperatorQuarantine);
  const auto forged = log.pardon(a, revocation, /*signature_valid=*/false);
  auto run = log.verify();
  EXPECT_TRUE(failed_at(run, check::kSignature, forged));
}

// quarantine_ms (PROTOCOL.md §8.16): the term of the PolicyApplied before the Revocation; the
// quarantine holds until since + quarantine_ms and has lapsed from the boundary on.
TEST(JoinAudit, AQuarantineLapsesByTheTermInForceWhereItBegan) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  log.put_policy(1, {a.public_key()}, true, 1000);
  const auto first = log.join(JoinLog::request(a), 1);
  log.revoke(1, first, RevocationReason::kOperatorQuarantine);  // at kVsTime
  log.put_policy(2, {a.public_key()}, true, 0);                 // a reload: no lapse from here
  log.at(999);
  log.reject(JoinLog::request(a), JoinRejectReason::kQuarantined);  // still held
  log.at(1000);
  const auto second = log.join(JoinLog::request(a), 2);          // lapsed at the boundary: accepted
  log.revoke(2, second, RevocationReason::kOperatorQuarantine);  // under policy 2: until pardoned
  log.at(100'000);
  log.reject(JoinLog::request(a), JoinRejectReason::kQuarantined);
  auto run = log.verify();
  ASSERT_TRUE(run.error.empty()) << run.error;
  EXPECT_EQ(run.sink.failures(), 0u) << run.describe();
}

TEST(JoinAudit, AQuarantinedRefusalAfterTheLapseIsAFailure) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  log.put_policy(1, {a.public_key()}, true, 1000);
  const auto first = log.join(JoinLog::request(a), 1);
  log.revoke(1, first, RevocationReason::kOperatorQuarantine);
  log.at(1000);
  const auto after_lapse = log.reject(JoinLog::request(a), JoinRejectReason::kQuarantined);
  // A Pardon after the lapse lifts nothing either.
  const auto too_late = log.pardon(a, 2);
  auto run = log.verify();
  EXPECT_TRUE(failed_at(run, check::kJoin, after_lapse));
  EXPECT_TRUE(failed_at(run, check::kPardon, too_late));
  EXPECT_EQ(run.sink.failures(), 2u) << run.describe();
}

struct OutOfOrderCase {
  std::string name;
  bool identity_signature_valid;
  bool session_signature_valid;
  JoinRejectReason reason;
};

class JoinRejectOutOfOrder : public ::testing::TestWithParam<OutOfOrderCase> {};

TEST_P(JoinRejectOutOfOrder, IsAFailure) {
  const auto& c = GetParam();
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto reject = log.reject(
      JoinLog::request(a, c.session_signature_valid, c.identity_signature_valid), c.reason);
  auto run = log.verify();
  EXPECT_TRUE(failed_at(run, check::kJoin, reject));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JoinRejectOutOfOrder,
    ::testing::Values(
        // Check 5 fails before the reason's own check.
        OutOfOrderCase{"ClockSkewOverABadSessionSignature", true, false,
                       JoinRejectReason::kClockSkew},
        OutOfOrderCase{"ChallengeOverABadSessionSignature", true, false,
                       JoinRejectReason::kBadChallenge},
        OutOfOrderCase{"ServerBusyOverABadSessionSignature", true, false,
                       JoinRejectReason::kServerBusy},
        // The identity signature fails: the VS turns such a peer away unanswered.
        OutOfOrderCase{"BuildOverABadIdentitySignature", false, true,
                       JoinRejectReason::kBuildNotAllowed},
        // The reason's own check passes.
        OutOfOrderCase{"BadSessionSignatureThatVerifies", true, true,
                       JoinRejectReason::kBadSessionSignature}),
    [](const ::testing::TestParamInfo<OutOfOrderCase>& param) { return param.param.name; });

TEST(JoinAudit, AReplayedRequestLeftUnansweredIsAFailure) {
  // The GS's admitted request, logged again byte for byte once its session is over (under the
  // session's id or under 0), with no answer after it.
  for (const SessionId column : {SessionId{1}, SessionId{0}}) {
    JoinLog log;
    const auto a = crypto::SecretKey::generate();
    const Bytes request = JoinLog::request(a);
    const auto accept = log.join(request, 1);
    log.revoke(1, accept);
    const auto replay = log.put_request(request, column);
    log.join(JoinLog::request(crypto::SecretKey::generate()), 2);
    auto run = log.verify();
    EXPECT_TRUE(failed_at(run, check::kReaction, replay)) << "column " << column;
  }
}

TEST(JoinAudit, AnAnswerMustFollowItsRequest) {
  JoinLog log;
  const auto a = crypto::SecretKey::generate();
  const auto b = crypto::SecretKey::generate();
  const Bytes first = JoinLog::request(a);
  const Bytes second = JoinLog::request(b);
  const auto first_at = log.put_request(first, 0);
  log.put_request(second, 0);
  log.put_reject(second, JoinRejectReason::kBuildNotAllowed);
  const auto late = log.put_reject(first, JoinRejectReason::kBuildNotAllowed);
  const auto last = log.put_request(JoinLog::request(a), 0);  // the log ends unanswered
  auto run = log.verify();
  EXPECT_TRUE(failed_at(run, check::kReaction, first_at));
  EXPECT_TRUE(failed_at(run, check::kJoin, late));
  EXPECT_TRUE(failed_at(run, check::kReaction, last));
  EXPECT_EQ(run.sink.failures(), 3u) << run.describe();
}

TEST(JoinAudit, ALoggedVsChallengeIsAFailure) {
  JoinLog log;
  VsChallenge challenge;
  challenge.challenge = crypto::random_fixed<32>();
  challenge.vs_time_ms = kVsTime;
  const auto at =
      log.put(MessageKind::kVsChallenge, chains::Direction::kIssued, 0, encode(challenge));
  log.join(JoinLog::request(crypto::SecretKey::generate()), 1);
  auto run = log.verify();
  EXPECT_TRUE(failed_at(run, check::kJoin, at));
}

// The policy in force (PROTOCOL.md §8.17): each JoinAccept after a PolicyApplied must be allowed
// by it and carry its terms; each policy_withdrawn revocation must cite a policy that bars it.
TEST(JoinAudit, JoinsAndWithdrawalsAreHeldToThePolicy) {
  const auto a = crypto::SecretKey::generate();
  const auto b = crypto::SecretKey::generate();
  struct Row {
    const char* name;
    // Writes the log; returns where the finding must be (nullopt: the log is intact).
    std::function<std::optional<std::pair<std::string_view, std::uint64_t>>(JoinLog&)> write;
  };
  using Expect = std::optional<std::pair<std::string_view, std::uint64_t>>;
  const std::vector<Row> rows{
      {"a join the policy allows, withdrawn by a policy that removes its identity",
       [&](JoinLog& log) -> Expect {
         log.put_policy(1, {a.public_key(), b.public_key()});
         const auto accept = log.join(JoinLog::request(a), 1);
         const auto withdrawing = log.put_policy(2, {b.public_key()});
         log.revoke(1, accept, RevocationReason::kPolicyWithdrawn, {withdrawing});
         return std::nullopt;
       }},
      {"a join whose identity the policy in force does not allow",
       [&](JoinLog& log) -> Expect {
         log.put_policy(1, {b.public_key()});
         return std::pair{check::kJoin, log.join(JoinLog::request(a), 1)};
       }},
      {"a join whose build the policy in force does not allow",
       [&](JoinLog& log) -> Expect {
         log.put_policy(1, {a.public_key()}, false);
         return std::pair{check::kJoin, log.join(JoinLog::request(a), 1)};
       }},
      {"a withdrawal citing a policy that still allows the session",
       [&](JoinLog& log) -> Expect {
         log.put_policy(1, {a.public_key()});
         const auto accept = log.join(JoinLog::request(a), 1);
         const auto same = log.put_policy(2, {a.public_key(), b.public_key()});
         log.revoke(1, accept, RevocationReason::kPolicyWithdrawn, {same});
         return std::pair{check::kRevocation, same + 1};
       }},
      {"a withdrawal citing no policy at all",
       [&](JoinLog& log) -> Expect {
         const auto accept = log.join(JoinLog::request(a), 1);
         log.revoke(1, accept, RevocationReason::kPolicyWithdrawn);
         return std::pair{check::kRevocation, accept + 1};
       }},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    JoinLog log;
    const auto expected = row.write(log);
    const auto run = log.verify();
    if (!expected) {
      EXPECT_EQ(run.sink.failures(), 0U) << run.describe();
    } else {
      EXPECT_TRUE(failed_at(run, expected->first, expected->second));
    }
  }
}

}  // namespace
}  // namespace gsvs::testing
