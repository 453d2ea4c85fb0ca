#include "rules/gs_checks.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "protocol/chains.h"
#include "protocol/merkle.h"

namespace gsvs::rules {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

class VsChecks : public ::testing::Test {
 protected:
  VsChecks() {
    request.gs_identity = identity.public_key();
    request.session_key = session.public_key();
    request.sw_hash = crypto::sha256(as_bytes("build"));
    request.challenge = crypto::random_fixed<32>();
    sign(request, identity, 0);
    sign(request, session, 1);
    request_bytes = encode(request);
    accept.session_id = 3;
    accept.gs_identity = request.gs_identity;
    accept.session_key = request.session_key;
    accept.sw_hash = request.sw_hash;
    accept.join_request_hash = chains::message_hash(request_bytes);
    accept.heartbeat_interval_ms = 100;
    accept.heartbeat_timeout_ms = 800;
    accept.ticket_period_ms = 200;
    accept.ticket_validity_ms = 400;
    accept.max_speed_mm_s = 7000;
    accept_bytes = signed_bytes(accept);
  }
  template <class M>
  Bytes signed_bytes(M m, const crypto::SecretKey* key = nullptr) {
    sign(m, key ? *key : vs);
    return encode(m);
  }
  Bytes ticket(std::uint64_t seq, const Hash32& prev, SessionId session_id = 3,
               const crypto::SecretKey* key = nullptr) {
    PlayTicket t;
    t.session_id = session_id;
    t.ticket_seq = seq;
    t.prev_ticket_hash = prev;
    t.client_binding = client_binding::root({});
    return signed_bytes(t, key);
  }
  static ProtectedReceipt receipt(std::uint64_t counter, const Hash32& digest, std::uint64_t index,
                                  const Hash32& previous_tip) {
    ProtectedReceipt r;
    r.session_id = 3;
    r.gs_counter = counter;
    r.digest_hash = digest;
    r.receipt_index = index;
    r.receipt_tip = chains::next_receipt_tip(3, index, previous_tip, digest);
    return r;
  }

  crypto::SecretKey vs = crypto::SecretKey::generate();
  crypto::SecretKey identity = crypto::SecretKey::generate();
  crypto::SecretKey session = crypto::SecretKey::generate();
  JoinRequest request;
  Bytes request_bytes;
  JoinAccept accept;
  Bytes accept_bytes;
};

TEST_F(VsChecks, JoinAcceptMustAnswerThisRequestUnderTheVsKey) {
  EXPECT_TRUE(check_join_accept(accept_bytes, vs.public_key(), request, request_bytes).ok());
  auto refused = [&](const Bytes& bytes) {
    return !check_join_accept(bytes, vs.public_key(), request, request_bytes).ok();
  };
  const auto forger = crypto::SecretKey::generate();
  EXPECT_TRUE(refused(signed_bytes(accept, &forger)));
  JoinAccept a = accept;
  a.session_key = forger.public_key();
  EXPECT_TRUE(refused(signed_bytes(a)));
  a = accept;
  a.gs_identity = forger.public_key();
  EXPECT_TRUE(refused(signed_bytes(a)));
  a = accept;
  a.sw_hash = Hash32{};
  EXPECT_TRUE(refused(signed_bytes(a)));
  a = accept;
  a.join_request_hash = Hash32{};
  EXPECT_TRUE(refused(signed_bytes(a)));
  a = accept;
  a.heartbeat_interval_ms = 0;
  EXPECT_TRUE(refused(signed_bytes(a)));
  Bytes truncated = accept_bytes;
  truncated.pop_back();
  EXPECT_TRUE(refused(truncated));
}

TEST_F(VsChecks, TicketsMustChainFromTheJoinAccept) {
  GsSessionChecks checks(vs.public_key(), accept, accept_bytes);
  const Bytes t1 = ticket(1, chains::message_hash(accept_bytes));
  EXPECT_FALSE(checks.on_ticket(ticket(2, chains::message_hash(accept_bytes))).ok());
  EXPECT_FALSE(checks.on_ticket(ticket(1, Hash32{})).ok());
  EXPECT_FALSE(checks.on_ticket(ticket(1, chains::message_hash(accept_bytes), 4)).ok());
  ASSERT_TRUE(checks.on_ticket(t1).ok());
  EXPECT_FALSE(checks.on_ticket(t1).ok());  // replayed
  const Bytes t2 = ticket(2, chains::message_hash(t1));
  Bytes forged = t2;
  forged[20] ^= 1;
  EXPECT_FALSE(checks.on_ticket(forged).ok());
  EXPECT_TRUE(checks.on_ticket(t2).ok());
  EXPECT_EQ(checks.last_ticket_seq(), 2u);
}

TEST_F(VsChecks, ReceiptsMustNameASentDigestAndExtendTheTip) {
  GsSessionChecks checks(vs.public_key(), accept, accept_bytes);
  const Hash32 d1 = crypto::sha256(as_bytes("digest 1"));
  const Hash32 d2 = crypto::sha256(as_bytes("digest 2"));
  checks.digest_sent(5, d1);
  checks.digest_sent(8, d2);
  EXPECT_FALSE(checks.on_receipt(signed_bytes(receipt(6, d1, 1, Hash32{}))).ok());  // no digest 6
  EXPECT_FALSE(checks.on_receipt(signed_bytes(receipt(5, d2, 1, Hash32{}))).ok());  // other hash
  EXPECT_FALSE(checks.on_receipt(signed_bytes(receipt(5, d1, 2, Hash32{}))).ok());  // index
  auto bad_tip = receipt(5, d1, 1, Hash32{});
  bad_tip.receipt_tip = Hash32{};
  EXPECT_FALSE(checks.on_receipt(signed_bytes(bad_tip)).ok());
  const auto forger = crypto::SecretKey::generate();
  EXPECT_FALSE(checks.on_receipt(signed_bytes(receipt(5, d1, 1, Hash32{}), &forger)).ok());
  EXPECT_EQ(checks.receipt_count(), 0u);

  auto r1 = receipt(5, d1, 1, Hash32{});
  ASSERT_TRUE(checks.on_receipt(signed_bytes(r1)).ok());
  EXPECT_EQ(checks.receipt_count(), 1u);
  EXPECT_EQ(checks.receipt_tip(), r1.receipt_tip);
  EXPECT_FALSE(checks.on_receipt(signed_bytes(r1)).ok());  // replayed
  auto r2 = receipt(8, d2, 2, r1.receipt_tip);
  ASSERT_TRUE(checks.on_receipt(signed_bytes(r2)).ok());
  EXPECT_EQ(checks.receipt_tip(), r2.receipt_tip);
}

TEST_F(VsChecks, CheckpointsNeverShrinkAndRevocationsNameThisSession) {
  GsSessionChecks checks(vs.public_key(), accept, accept_bytes);
  Checkpoint cp;
  cp.log_size = 10;
  EXPECT_TRUE(checks.on_checkpoint(signed_bytes(cp)).ok());
  cp.log_size = 9;
  EXPECT_FALSE(checks.on_checkpoint(signed_bytes(cp)).ok());
  cp.log_size = 10;
  EXPECT_TRUE(checks.on_checkpoint(signed_bytes(cp)).ok());

  Revocation r;
  r.session_id = 3;
  r.reason = static_cast<std::uint16_t>(RevocationReason::kOperator);
  EXPECT_TRUE(checks.on_revocation(signed_bytes(r)).ok());
  const auto forger = crypto::SecretKey::generate();
  EXPECT_FALSE(checks.on_revocation(signed_bytes(r, &forger)).ok());
  r.session_id = 4;
  EXPECT_FALSE(checks.on_revocation(signed_bytes(r)).ok());
}

// PROTOCOL.md §8.15: the GS resumes with the state it holds, and takes only a ResumeAccept that
// answers that very GsResume, under the VS key, stating the same session.
TEST_F(VsChecks, ResumeAcceptMustAnswerThisResumeWithTheSameState) {
  GsSessionChecks checks(vs.public_key(), accept, accept_bytes);
  const Bytes t1 = ticket(1, chains::message_hash(accept_bytes));
  ASSERT_TRUE(checks.on_ticket(t1).ok());
  GsResume resume = checks.resume_state(9);
  EXPECT_EQ(resume.session_id, 3u);
  EXPECT_EQ(resume.gs_counter, 9u);
  EXPECT_EQ(resume.ticket_seq, 1u);
  EXPECT_EQ(resume.ticket_hash, chains::message_hash(t1));
  sign(resume, session);
  const Bytes resume_bytes = encode(resume);
  ResumeAccept answer;
  answer.session_id = 3;
  answer.resume_hash = chains::message_hash(resume_bytes);
  answer.gs_counter = 9;
  answer.receipt_count = resume.receipt_count;
  answer.receipt_tip = resume.receipt_tip;
  answer.ticket_seq = 1;
  answer.ticket_hash = resume.ticket_hash;
  EXPECT_TRUE(checks.on_resume_accept(signed_bytes(answer), resume, resume_bytes).ok());
  struct Spoiled {
    const char* what;
    std::function<void(ResumeAccept&)> change;
  };
  const std::vector<Spoiled> spoiled{
      {"another session", [](ResumeAccept& a) { a.session_id = 4; }},
      {"another resume", [](ResumeAccept& a) { a.resume_hash = Hash32{}; }},
      {"another counter", [](ResumeAccept& a) { a.gs_counter = 8; }},
      {"another tip", [](ResumeAccept& a) { a.receipt_tip.bytes[0] ^= 1; }},
      {"an older ticket", [](ResumeAccept& a) { a.ticket_seq = 0; }},
      {"this ticket under another hash", [](ResumeAccept& a) { a.ticket_hash.bytes[0] ^= 1; }},
  };
  for (const auto& c : spoiled) {
    ResumeAccept a = answer;
    c.change(a);
    EXPECT_FALSE(checks.on_resume_accept(signed_bytes(a), resume, resume_bytes).ok()) << c.what;
  }
  const auto forger = crypto::SecretKey::generate();
  EXPECT_FALSE(checks.on_resume_accept(signed_bytes(answer, &forger), resume, resume_bytes).ok());
  // Ahead by a ticket the cut swallowed: taken, and the ticket the VS sends again must chain on
  // from the one this GS holds, as every later ticket must.
  ResumeAccept ahead = answer;
  ahead.ticket_seq = 2;
  ahead.ticket_hash = chains::message_hash(ticket(2, chains::message_hash(t1)));
  EXPECT_TRUE(checks.on_resume_accept(signed_bytes(ahead), resume, resume_bytes).ok());
  EXPECT_FALSE(checks.on_ticket(ticket(3, ahead.ticket_hash)).ok());
  EXPECT_TRUE(checks.on_ticket(ticket(2, chains::message_hash(t1))).ok());
}

// PROTOCOL.md §8.8 "Handover": a fleet's node B adopts the session of node A. B's ResumeAccept
// states A's issue; A's receipts and tickets up to it (B sends them again, A's bytes) verify
// under A's key only, what follows under B's only, and the chains run on across the two.
class Handover : public VsChecks {
 protected:
  Handover() {
    checks.digest_sent(5, d1);
    checks.digest_sent(8, d2);
    checks.digest_sent(11, d3);
    // Before A's death this GS got ticket 1 and receipt 1; A also issued ticket 2 and receipt 2,
    // lost with it.
    EXPECT_TRUE(checks.on_ticket(t1).ok());
    EXPECT_TRUE(checks.on_receipt(signed_bytes(r1)).ok());
    resume = checks.resume_state(12);
    sign(resume, session);
    resume_bytes = encode(resume);
    answer.session_id = 3;
    answer.resume_hash = chains::message_hash(resume_bytes);
    answer.gs_counter = 12;
    answer.receipt_count = 2;
    answer.receipt_tip = r2.receipt_tip;
    answer.ticket_seq = 2;
    answer.ticket_hash = chains::message_hash(t2_by_a);
  }
  // B's ResumeAccept, taken.
  void hand_over() {
    ASSERT_TRUE(checks.on_resume_accept(signed_bytes(answer, &node_b), resume, resume_bytes).ok());
    ASSERT_EQ(checks.vs_key(), node_b.public_key());
  }

  crypto::SecretKey node_b = crypto::SecretKey::generate();
  GsSessionChecks checks{
      {vs.public_key(), node_b.public_key()}, vs.public_key(), accept, accept_bytes};
  Hash32 d1 = crypto::sha256(as_bytes("digest 1"));
  Hash32 d2 = crypto::sha256(as_bytes("digest 2"));
  Hash32 d3 = crypto::sha256(as_bytes("digest 3"));
  ProtectedReceipt r1 = receipt(5, d1, 1, Hash32{});
  ProtectedReceipt r2 = receipt(8, d2, 2, r1.receipt_tip);
  ProtectedReceipt r3 = receipt(11, d3, 3, r2.receipt_tip);
  Bytes t1 = ticket(1, chains::message_hash(accept_bytes));
  Bytes t2_by_a = ticket(2, chains::message_hash(t1));
  GsResume resume;
  Bytes resume_bytes;
  ResumeAccept answer;
};

TEST_F(Handover, EachReceiptAndTicketVerifiesUnderTheNodeThatIssuedIt) {
  hand_over();
  // In order: a refused row changes nothing, so the row after it is judged on the same state.
  const struct {
    const char* what;
    Bytes bytes;
    bool ticket;
    bool accepted;
  } rows[] = {
      {"ticket 2 (A's, sent again) under B's key", ticket(2, chains::message_hash(t1), 3, &node_b),
       true, false},
      {"ticket 2 under A's key", t2_by_a, true, true},
      {"receipt 2 (A's, sent again) under B's key", signed_bytes(r2, &node_b), false, false},
      {"receipt 2 under A's key", signed_bytes(r2), false, true},
      {"ticket 3 (after the handover) under A's key", ticket(3, chains::message_hash(t2_by_a)),
       true, false},
      {"ticket 3 under B's key, chained to A's ticket 2",
       ticket(3, chains::message_hash(t2_by_a), 3, &node_b), true, true},
      {"receipt 3 (after the handover) under A's key", signed_bytes(r3), false, false},
      {"receipt 3 under B's key", signed_bytes(r3, &node_b), false, true},
  };
  for (const auto& row : rows) {
    const bool accepted =
        row.ticket ? checks.on_ticket(row.bytes).ok() : checks.on_receipt(row.bytes).ok();
    EXPECT_EQ(accepted, row.accepted) << row.what;
  }
  EXPECT_EQ(checks.last_ticket_seq(), 3u);
  EXPECT_EQ(checks.receipt_count(), 3u);
}

TEST_F(Handover, ATicketOfTheNewNodeMustStillChain) {
  hand_over();
  ASSERT_TRUE(checks.on_ticket(t2_by_a).ok());
  EXPECT_FALSE(checks.on_ticket(ticket(3, chains::message_hash(t1), 3, &node_b)).ok());
  EXPECT_FALSE(checks.on_ticket(ticket(4, chains::message_hash(t2_by_a), 3, &node_b)).ok());
  EXPECT_EQ(checks.last_ticket_seq(), 2u);
}

TEST_F(Handover, CheckpointsAndRevocationsComeFromTheNodeInCharge) {
  Checkpoint cp;
  cp.log_size = 100;
  ASSERT_TRUE(checks.on_checkpoint(signed_bytes(cp)).ok());
  hand_over();
  // B's log is its own: its size restarts below A's.
  cp.log_size = 10;
  EXPECT_FALSE(checks.on_checkpoint(signed_bytes(cp)).ok()) << "A is no longer in charge";
  EXPECT_TRUE(checks.on_checkpoint(signed_bytes(cp, &node_b)).ok());
  cp.log_size = 9;
  EXPECT_FALSE(checks.on_checkpoint(signed_bytes(cp, &node_b)).ok()) << "B's log shrank";

  Revocation r;
  r.session_id = 3;
  r.reason = static_cast<std::uint16_t>(RevocationReason::kOperator);
  EXPECT_FALSE(checks.on_revocation(signed_bytes(r)).ok()) << "A is no longer in charge";
  EXPECT_TRUE(checks.on_revocation(signed_bytes(r, &node_b)).ok());
}

TEST_F(Handover, AResumeAcceptOutsideTheKeySetChangesNothing) {
  const auto outsider = crypto::SecretKey::generate();
  EXPECT_FALSE(checks.on_resume_accept(signed_bytes(answer, &outsider), resume, resume_bytes).ok());
  EXPECT_EQ(checks.vs_key(), vs.public_key());
  // B is still no node in charge: its tickets are refused, A's taken.
  EXPECT_FALSE(checks.on_ticket(ticket(2, chains::message_hash(t1), 3, &node_b)).ok());
  EXPECT_TRUE(checks.on_ticket(t2_by_a).ok());
}

TEST_F(Handover, AResumeAcceptOfTheNodeInChargeHandsNothingOver) {
  Checkpoint cp;
  cp.log_size = 100;
  ASSERT_TRUE(checks.on_checkpoint(signed_bytes(cp)).ok());
  ASSERT_TRUE(checks.on_resume_accept(signed_bytes(answer), resume, resume_bytes).ok());
  EXPECT_EQ(checks.vs_key(), vs.public_key());
  cp.log_size = 10;
  EXPECT_FALSE(checks.on_checkpoint(signed_bytes(cp)).ok()) << "the same log cannot shrink";
}

// A then B then C: A's receipt still missing when C takes over verifies under A's key, B's
// under B's, and C's own under C's.
TEST_F(Handover, SeveralHandoversEachKeepTheirIssuer) {
  const auto node_c = crypto::SecretKey::generate();
  GsSessionChecks fleet({vs.public_key(), node_b.public_key(), node_c.public_key()},
                        vs.public_key(), accept, accept_bytes);
  fleet.digest_sent(5, d1);
  fleet.digest_sent(8, d2);
  fleet.digest_sent(11, d3);
  ASSERT_TRUE(fleet.on_ticket(t1).ok());
  ASSERT_TRUE(fleet.on_receipt(signed_bytes(r1)).ok());
  auto resume_with = [&](const crypto::SecretKey& signer, std::uint64_t receipts,
                         const Hash32& tip) {
    GsResume sent = fleet.resume_state(20 + receipts);
    sign(sent, session);
    const Bytes sent_bytes = encode(sent);
    ResumeAccept a;
    a.session_id = 3;
    a.resume_hash = chains::message_hash(sent_bytes);
    a.gs_counter = sent.gs_counter;
    a.receipt_count = receipts;
    a.receipt_tip = tip;
    a.ticket_seq = sent.ticket_seq;
    a.ticket_hash = sent.ticket_hash;
    return fleet.on_resume_accept(signed_bytes(a, &signer), sent, sent_bytes).ok();
  };
  ASSERT_TRUE(resume_with(node_b, 2, r2.receipt_tip));  // A issued receipt 2
  ASSERT_TRUE(resume_with(node_c, 3, r3.receipt_tip));  // B issued receipt 3
  EXPECT_FALSE(fleet.on_receipt(signed_bytes(r2, &node_b)).ok());
  EXPECT_TRUE(fleet.on_receipt(signed_bytes(r2)).ok());
  EXPECT_FALSE(fleet.on_receipt(signed_bytes(r3, &node_c)).ok());
  EXPECT_TRUE(fleet.on_receipt(signed_bytes(r3, &node_b)).ok());
  EXPECT_EQ(fleet.vs_key(), node_c.public_key());
}

// The GS logs the reason a VS sent by name, and a code this version does not define by number
// (an unassigned code below the last one included), so a log never reads "unknown" alone.
TEST(ReasonText, NamesKnownCodesAndNumbersTheOthers) {
  struct Row {
    std::string text;
    std::string expected;
  };
  const std::vector<Row> rows{
      {reason_text<RevocationReason>(5), "speed_violation"},
      {reason_text<RevocationReason>(16), "operator_quarantine"},
      {reason_text<RevocationReason>(15), "unknown reason 15"},
      {reason_text<RevocationReason>(0), "unknown reason 0"},
      {reason_text<RevocationReason>(999), "unknown reason 999"},
      {reason_text<JoinRejectReason>(16), "quarantined_in_fleet"},
      {reason_text<JoinRejectReason>(17), "unknown reason 17"},
  };
  for (const Row& row : rows) EXPECT_EQ(row.text, row.expected);
}

}  // namespace
}  // namespace gsvs::rules
