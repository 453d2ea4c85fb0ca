// vsd as a real process on 127.0.0.1, with a GS scripted by hand in the test: every admission
// rule and every revocation rule, each checked on the wire and in the store.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/framing.h"
#include "protocol/merkle.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;

class VsdIntegration : public ::testing::Test {
 protected:
  // Both identities are allowed: `identity_` plays the GS under test, `other_identity_` a
  // second GS where a test needs one.
  void start(const VsOptions& options = {}) {
    vs_ = std::make_unique<VsProcess>(
        dir_, std::vector<crypto::PublicKey>{identity_.public_key(), other_identity_.public_key()},
        std::vector<Hash32>{build_}, options);
  }
  // `audit-cli verify` accepts the store (exit 0).
  void expect_store_verifies() {
    std::string output;
    EXPECT_EQ(vs_->audit_verify(output), 0) << output;
  }
  // Stops vsd and returns the store's entries.
  std::vector<storage::Entry> stop_and_read() {
    EXPECT_EQ(vs_->stop(), 0) << vs_->process().output();
    return vs_->entries();
  }
  static std::vector<const storage::Entry*> of_kind(const std::vector<storage::Entry>& entries,
                                                    MessageKind kind) {
    std::vector<const storage::Entry*> out;
    for (const auto& e : entries) {
      if (e.header.kind == kind) out.push_back(&e);
    }
    return out;
  }
  // Entries of `kind` that the VS itself issued (a GS can send a frame of any kind, which is
  // logged as received).
  static std::vector<const storage::Entry*> issued(const std::vector<storage::Entry>& entries,
                                                   MessageKind kind) {
    std::vector<const storage::Entry*> out;
    for (const auto* e : of_kind(entries, kind)) {
      if (e->header.direction == chains::Direction::kIssued) out.push_back(e);
    }
    return out;
  }
  // The revocation the VS issued for `session` (there must be exactly one).
  static Revocation stored_revocation(const std::vector<storage::Entry>& entries,
                                      SessionId session) {
    std::vector<Revocation> found;
    for (const auto* e : issued(entries, MessageKind::kRevocation)) {
      auto r = decode<Revocation>(e->message);
      EXPECT_TRUE(r.ok());
      if (r && r->session_id == session) found.push_back(*r);
    }
    EXPECT_EQ(found.size(), 1u);
    return found.empty() ? Revocation{} : found.front();
  }
  // A full nonce batch (8 KB, logged as received), then a heartbeat that keeps the session live.
  static void send_full_nonce_batch(ScriptedGs& gs) {
    NonceBatch batch;
    batch.session_id = gs.session_id();
    batch.gs_counter = gs.next_counter();
    batch.nonces.resize(kMaxNoncesPerBatch);
    for (auto& nonce : batch.nonces) nonce = crypto::random_fixed<32>();
    gs.send_signed(batch);
    gs.send_signed(gs.make_heartbeat());
  }
  // Full nonce batches from `gs` until vsd, whose files are at a size limit, stops on the failed
  // store (exit code 1 expected); its output.
  std::string fill_until_the_store_fails(ScriptedGs& gs) {
    for (int i = 0; i < 1000 && vs_->process().running() && !gs.socket().closed(); ++i) {
      send_full_nonce_batch(gs);
    }
    EXPECT_EQ(vs_->process().wait(std::chrono::seconds(20)), 1) << vs_->process().output();
    return vs_->process().output();
  }
  // The GS receives the revocation, verifies it under the VS key, and is disconnected.
  Revocation expect_revoked(ScriptedGs& gs, RevocationReason reason) {
    auto revocation = gs.expect<Revocation>(std::chrono::seconds(5));
    EXPECT_TRUE(revocation.has_value()) << vs_->process().output();
    if (!revocation) return {};
    EXPECT_TRUE(verify(*revocation, vs_->public_key()));
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(reason))
        << "got " << reason_name(static_cast<RevocationReason>(revocation->reason)) << ": "
        << revocation->detail;
    EXPECT_EQ(revocation->session_id, gs.session_id());
    EXPECT_TRUE(gs.socket().wait_closed(std::chrono::seconds(3)));
    return *revocation;
  }

  // The behaviour of earlier versions: no session survives a restart (PROTOCOL.md §8.11).
  static VsOptions revoking_at_start(VsOptions options = {}) {
    options.extra += "resume_window_ms = 0\n";
    return options;
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  crypto::SecretKey other_identity_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("honest build 1.0"));
  std::unique_ptr<VsProcess> vs_;
};

TEST_F(VsdIntegration, JoinIsAcceptedAndSessionTrafficIsNotarized) {
  VsOptions revoking_at_stop;
  revoking_at_stop.extra = "revoke_on_stop = true\n";
  start(revoking_at_stop);
  ScriptedGs gs(vs_->port(), identity_, build_);
  JoinAccept accept = gs.join();
  EXPECT_TRUE(verify(accept, vs_->public_key()));
  EXPECT_EQ(accept.gs_identity, identity_.public_key());
  EXPECT_EQ(accept.sw_hash, build_);

  // Ticket 1 chains to the JoinAccept; ticket 2 to ticket 1.
  auto t1 = gs.expect<PlayTicket>();
  ASSERT_TRUE(t1);
  EXPECT_TRUE(verify(*t1, vs_->public_key()));
  EXPECT_EQ(t1->ticket_seq, 1u);
  EXPECT_EQ(t1->prev_ticket_hash, chains::message_hash(gs.join_accept_bytes()));
  EXPECT_EQ(t1->not_after_ms - t1->issued_ms, 400u);

  gs.send_signed(gs.make_heartbeat());
  const auto player = crypto::SecretKey::generate().public_key();
  const auto t0 = unix_time_ms();
  gs.send_signed(gs.make_digest({player_at(player, 0, 0)}, t0));
  auto receipt = gs.expect<ProtectedReceipt>();
  ASSERT_TRUE(receipt);
  EXPECT_TRUE(verify(*receipt, vs_->public_key()));
  EXPECT_EQ(receipt->receipt_index, 1u);

  // A nonce batch ends up as the next ticket's client_binding.
  NonceBatch batch;
  batch.session_id = gs.session_id();
  batch.gs_counter = gs.next_counter();
  batch.nonces = {crypto::random_fixed<32>(), crypto::random_fixed<32>()};
  gs.send_signed(batch);
  std::optional<PlayTicket> bound;
  for (int i = 0; i < 10 && !bound; ++i) {
    auto t = gs.expect<PlayTicket>();
    ASSERT_TRUE(t);
    if (t->nonce_count == 2) bound = t;
  }
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->client_binding, client_binding::root(batch.nonces));

  std::this_thread::sleep_for(milliseconds(150));
  gs.send_signed(gs.make_heartbeat());  // acknowledges receipt 1 with its tip
  std::this_thread::sleep_for(milliseconds(400));

  auto entries = stop_and_read();
  // Stored: the start and its policy, request, accept, heartbeat(s), digest, receipt, batch,
  // tickets, checkpoint(s).
  ASSERT_GE(entries.size(), 10u);
  EXPECT_EQ(entries[0].header.kind, MessageKind::kVsStart);
  EXPECT_EQ(entries[1].header.kind, MessageKind::kPolicyApplied);
  EXPECT_EQ(entries[2].header.kind, MessageKind::kJoinRequest);
  EXPECT_EQ(entries[3].header.kind, MessageKind::kJoinAccept);
  EXPECT_EQ(of_kind(entries, MessageKind::kTranscriptDigest).size(), 1u);
  EXPECT_EQ(of_kind(entries, MessageKind::kProtectedReceipt).size(), 1u);
  EXPECT_EQ(of_kind(entries, MessageKind::kNonceBatch).size(), 1u);
  EXPECT_GE(of_kind(entries, MessageKind::kHeartbeat).size(), 2u);
  auto digests = of_kind(entries, MessageKind::kTranscriptDigest);
  EXPECT_EQ(receipt->digest_log_seq, digests.front()->header.seq);
  EXPECT_EQ(receipt->digest_hash, chains::message_hash(digests.front()->message));
  // The receipt and tickets in the store are the exact bytes the GS got.
  EXPECT_EQ(of_kind(entries, MessageKind::kProtectedReceipt).front()->message, encode(*receipt));
  // Every checkpoint signs the Merkle root of the entries before it.
  auto checkpoints = of_kind(entries, MessageKind::kCheckpoint);
  ASSERT_FALSE(checkpoints.empty());
  for (const auto* e : checkpoints) {
    auto cp = decode<Checkpoint>(e->message);
    ASSERT_TRUE(cp);
    EXPECT_TRUE(verify(*cp, vs_->public_key()));
    EXPECT_EQ(cp->log_size, e->header.seq);
    std::vector<Hash32> leaves;
    for (std::uint64_t i = 0; i < cp->log_size; ++i) leaves.push_back(entries[i].entry_hash);
    EXPECT_EQ(cp->root, merkle::root(leaves));
  }
  // The operator stop (revoke_on_stop) revoked the live session and closed the log with a
  // checkpoint.
  EXPECT_EQ(stored_revocation(entries, gs.session_id()).reason,
            static_cast<std::uint16_t>(RevocationReason::kVsShutdown));
  EXPECT_EQ(entries.back().header.kind, MessageKind::kCheckpoint);
}

// Until a peer shows a JoinRequest from an allowed identity that signed this connection's
// challenge, the VS neither logs nor answers it, nor signs anything for it: junk, a frame of
// another kind or version, a client that dialled the VS by mistake, an unknown key, a forged
// identity signature. Each connection just closes; the log holds nothing of them and verifies.
struct StrayCase {
  std::string name;
  // The frame to send after the challenge; `gs` plays the peer (an identity the VS may not know).
  std::function<Bytes(ScriptedGs& gs)> frame;
  bool allowed_identity = false;
};

TEST_F(VsdIntegration, StrayTrafficIsNeitherLoggedNorAnswered) {
  const std::vector<StrayCase> cases{
      {"junk",
       [](ScriptedGs& gs) {
         gs.expect<VsChallenge>();
         return Bytes{0xde, 0xad, 0xbe, 0xef};
       }},
      {"a Heartbeat",
       [](ScriptedGs& gs) {
         gs.expect<VsChallenge>();
         return encode(gs.make_heartbeat());
       }},
      {"an unknown protocol version",
       [](ScriptedGs& gs) {
         Bytes request = encode(gs.make_join_request());
         request[0] = 2;
         return request;
       },
       true},
      {"a JoinRequest cut short",
       [](ScriptedGs& gs) {
         Bytes request = encode(gs.make_join_request());
         request.resize(request.size() / 2);
         return request;
       }},
      {"a ClientHello",
       [](ScriptedGs& gs) {
         gs.expect<VsChallenge>();
         ClientHello hello;
         hello.client_nonce = crypto::random_fixed<32>();
         hello.client_time_ms = unix_time_ms();
         return encode(hello);
       }},
      {"an unknown identity", [](ScriptedGs& gs) { return encode(gs.make_join_request()); }},
      {"a bad identity signature",
       [](ScriptedGs& gs) {
         auto request = gs.make_join_request();
         request.signatures[0].bytes[5] ^= 0x01;
         return encode(request);
       },
       true},
  };
  start();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto stranger = crypto::SecretKey::generate();
    ScriptedGs peer(vs_->port(), c.allowed_identity ? identity_ : stranger, build_);
    peer.socket().send_frame(c.frame(peer));
    EXPECT_FALSE(peer.socket().read_frame(std::chrono::seconds(3))) << "the VS answered";
    EXPECT_TRUE(peer.socket().closed());
  }
  // The allowed GS still joins.
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  auto entries = stop_and_read();
  EXPECT_EQ(of_kind(entries, MessageKind::kJoinRequest).size(), 1u);
  EXPECT_EQ(of_kind(entries, MessageKind::kJoinReject).size(), 0u);
  expect_store_verifies();
}

// An allowed identity that signed this connection's challenge is evidence: its refusal is logged
// (the request, then the JoinReject) and answered with a signed JoinReject no longer than the
// request.
TEST_F(VsdIntegration, DisallowedBuildIsLoggedAndAnswered) {
  start();
  ScriptedGs gs(vs_->port(), identity_, crypto::sha256(as_bytes("hacked build")));
  const JoinRequest request = gs.make_join_request();
  gs.send_join(request);
  auto frame = gs.socket().read_frame();
  ASSERT_TRUE(frame) << vs_->process().output();
  EXPECT_LE(frame->size(), encode(request).size());
  auto reject = decode<JoinReject>(*frame);
  ASSERT_TRUE(reject);
  EXPECT_TRUE(verify(*reject, vs_->public_key()));
  EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(JoinRejectReason::kBuildNotAllowed));
  EXPECT_EQ(reject->join_request_hash, chains::message_hash(encode(request)));
  auto entries = stop_and_read();
  ASSERT_EQ(of_kind(entries, MessageKind::kJoinRequest).size(), 1u);
  ASSERT_EQ(of_kind(entries, MessageKind::kJoinReject).size(), 1u);
  EXPECT_EQ(of_kind(entries, MessageKind::kJoinReject).front()->message, *frame);
  expect_store_verifies();
}

// A JoinRequest seen on the wire, sent again on a new connection, names another connection's
// challenge: turned away before its signatures are checked, unanswered, and nothing is logged.
TEST_F(VsdIntegration, ReplayedJoinRequestIsTurnedAwayUnlogged) {
  start();
  JoinRequest captured;
  {
    ScriptedGs gs(vs_->port(), identity_, build_);
    captured = gs.make_join_request();
    gs.send_join(captured);
    ASSERT_TRUE(gs.expect<JoinAccept>());
  }
  for (int replay = 0; replay < 3; ++replay) {
    ScriptedGs replayer(vs_->port(), identity_, build_);
    ASSERT_TRUE(replayer.expect<VsChallenge>());
    replayer.send_join(captured);
    EXPECT_FALSE(replayer.socket().read_frame(std::chrono::seconds(3))) << "the VS answered";
    EXPECT_TRUE(replayer.socket().closed());
  }
  auto entries = stop_and_read();
  EXPECT_EQ(of_kind(entries, MessageKind::kJoinRequest).size(), 1u);
  EXPECT_EQ(of_kind(entries, MessageKind::kJoinReject).size(), 0u);
  expect_store_verifies();
}

// Past the identity check, a refused join is logged and answered with a signed JoinReject.
TEST_F(VsdIntegration, BadSessionSignatureIsRejected) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  auto request = gs.make_join_request();
  request.signatures[1].bytes[5] ^= 0x01;
  gs.send_join(request);
  auto reject = gs.expect<JoinReject>();
  ASSERT_TRUE(reject);
  EXPECT_TRUE(verify(*reject, vs_->public_key()));
  EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(JoinRejectReason::kBadSessionSignature));
  auto entries = stop_and_read();
  ASSERT_EQ(of_kind(entries, MessageKind::kJoinReject).size(), 1u);
  EXPECT_EQ(of_kind(entries, MessageKind::kJoinRequest).front()->header.session_id, 0u);
  expect_store_verifies();
}

TEST_F(VsdIntegration, SecondSessionForALiveIdentityIsRefused) {
  start();
  ScriptedGs first(vs_->port(), identity_, build_);
  first.join();
  ScriptedGs second(vs_->port(), identity_, build_);
  const JoinRequest request = second.make_join_request();
  second.send_join(request);
  auto reject = second.expect<JoinReject>();
  ASSERT_TRUE(reject);
  EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(JoinRejectReason::kIdentityBusy));
  // Its detail (which names the identity) is cut so that the answer is no longer than the request.
  EXPECT_LE(encode(*reject).size(), encode(request).size());
  EXPECT_FALSE(reject->detail.empty());
  EXPECT_TRUE(reject->detail.ends_with("\xE2\x80\xA6")) << reject->detail;  // "…": cut
  stop_and_read();
  // vsd's own log says it whole: only the wire is bounded.
  EXPECT_NE(vs_->process().output().find(
                "it ends by revocation or after heartbeat_timeout_ms without heartbeats (one "
                "held for a resume after a VS restart: after resume_window_ms)"),
            std::string::npos)
      << vs_->process().output();
}

TEST_F(VsdIntegration, BadHeartbeatSignatureRevokes) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  auto hb = gs.make_heartbeat();
  sign(hb, gs.session_key());
  hb.signatures[0].bytes[0] ^= 0x80;
  gs.send_unsigned(hb);
  auto revocation = expect_revoked(gs, RevocationReason::kBadSignature);
  auto entries = stop_and_read();
  auto stored = stored_revocation(entries, gs.session_id());
  ASSERT_EQ(stored.evidence.size(), 1u);
  EXPECT_EQ(entries.at(stored.evidence[0]).header.kind, MessageKind::kHeartbeat);
  EXPECT_EQ(entries.at(stored.evidence[0]).message, encode(hb));
}

TEST_F(VsdIntegration, CounterRegressionRevokes) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  gs.set_counter(10);
  gs.send_signed(gs.make_heartbeat());
  gs.set_counter(4);
  gs.send_signed(gs.make_heartbeat());
  auto revocation = expect_revoked(gs, RevocationReason::kCounterRegression);
  EXPECT_NE(revocation.detail.find("11"), std::string::npos) << revocation.detail;
  auto entries = stop_and_read();
  auto stored = stored_revocation(entries, gs.session_id());
  EXPECT_EQ(entries.at(stored.evidence.back()).header.kind, MessageKind::kHeartbeat);
}

TEST_F(VsdIntegration, SwHashChangeRevokes) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  auto hb = gs.make_heartbeat();
  hb.sw_hash = crypto::sha256(as_bytes("patched in memory"));
  gs.send_signed(hb);
  expect_revoked(gs, RevocationReason::kSwHashChanged);
  auto entries = stop_and_read();
  auto stored = stored_revocation(entries, gs.session_id());
  ASSERT_EQ(stored.evidence.size(), 2u);
  EXPECT_EQ(entries.at(stored.evidence[0]).header.kind, MessageKind::kJoinAccept);
  EXPECT_EQ(entries.at(stored.evidence[1]).header.kind, MessageKind::kHeartbeat);
}

TEST_F(VsdIntegration, MissedHeartbeatsRevoke) {
  VsOptions lapsing;
  lapsing.heartbeat_timeout_ms = 800;
  start(lapsing);
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  gs.send_signed(gs.make_heartbeat());
  const auto silent_from = std::chrono::steady_clock::now();
  auto revocation = expect_revoked(gs, RevocationReason::kMissedHeartbeats);
  const auto waited = std::chrono::steady_clock::now() - silent_from;
  EXPECT_GE(waited, milliseconds(700));
  EXPECT_LE(waited, milliseconds(3000));
  auto entries = stop_and_read();
  auto stored = stored_revocation(entries, gs.session_id());
  EXPECT_EQ(entries.at(stored.evidence.at(0)).header.kind, MessageKind::kHeartbeat);
}

TEST_F(VsdIntegration, ReceiptTipMismatchRevokes) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  const auto player = crypto::SecretKey::generate().public_key();
  gs.send_signed(gs.make_digest({player_at(player, 0, 0)}, unix_time_ms()));
  ASSERT_TRUE(gs.expect<ProtectedReceipt>());
  auto hb = gs.make_heartbeat();
  hb.receipt_tip.bytes[0] ^= 0xff;  // a GS rewriting what it was told
  gs.send_signed(hb);
  expect_revoked(gs, RevocationReason::kReceiptTipMismatch);
  auto entries = stop_and_read();
  stored_revocation(entries, gs.session_id());
}

// Messages signed and framed into one write, which vsd reads in one go.
struct Burst {
  const crypto::SecretKey& session_key;
  Bytes bytes;
  template <class M>
  Burst& add(M message) {
    sign(message, session_key);
    const Bytes framed = framing::frame(encode(message));
    bytes.insert(bytes.end(), framed.begin(), framed.end());
    return *this;
  }
};

// vsd judges a session's next messages while the receipt of its last digest is signed with the
// loop's batch (PROTOCOL.md §8.7): digests that arrive together are all logged before their
// receipts, which come back in order and chained, and the audit replays the log as vsd judged.
// A receipt signed alone (receipt_batch_max = 1) is placed before the next message is judged.
struct TogetherCase {
  std::uint32_t receipt_batch_max;
  std::size_t digests_before_the_first_receipt;
};

class VsdDigestsTogether : public VsdIntegration,
                           public ::testing::WithParamInterface<TogetherCase> {};

TEST_P(VsdDigestsTogether, AreJudgedWhileTheirReceiptsAreSigned) {
  VsOptions options;
  options.extra = "receipt_batch_max = " + std::to_string(GetParam().receipt_batch_max) + "\n";
  start(options);
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  const auto player = crypto::SecretKey::generate().public_key();
  const auto t0 = unix_time_ms();
  std::vector<TranscriptDigest> digests;
  Burst burst{gs.session_key(), {}};
  for (std::int32_t step = 0; step < 3; ++step) {
    burst.add(gs.make_heartbeat());
    digests.push_back(gs.make_digest({player_at(player, 100 * step, 0)},
                                     t0 - 300 + 100 * static_cast<std::uint64_t>(step)));
    burst.add(digests.back());
  }
  gs.socket().send_raw(burst.bytes);
  for (std::uint64_t index = 1; index <= 3; ++index) {
    auto receipt = gs.expect<ProtectedReceipt>();
    ASSERT_TRUE(receipt) << vs_->process().output();
    EXPECT_TRUE(verify(*receipt, vs_->public_key()));
    EXPECT_EQ(receipt->receipt_index, index);
    EXPECT_EQ(receipt->gs_counter, digests[index - 1].gs_counter);
  }
  auto entries = stop_and_read();
  const auto logged_digests = of_kind(entries, MessageKind::kTranscriptDigest);
  const auto receipts = issued(entries, MessageKind::kProtectedReceipt);
  ASSERT_EQ(logged_digests.size(), 3u);
  ASSERT_EQ(receipts.size(), 3u);
  const auto before_first = static_cast<std::size_t>(std::count_if(
      logged_digests.begin(), logged_digests.end(),
      [&](const auto* digest) { return digest->header.seq < receipts.front()->header.seq; }));
  EXPECT_EQ(before_first, GetParam().digests_before_the_first_receipt);
  for (std::size_t i = 0; i < 3; ++i) {
    auto receipt = decode<ProtectedReceipt>(receipts[i]->message);
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->digest_log_seq, logged_digests[i]->header.seq);
  }
  EXPECT_EQ(of_kind(entries, MessageKind::kRevocation).size(), 0u);
  expect_store_verifies();
}

INSTANTIATE_TEST_SUITE_P(Batches, VsdDigestsTogether,
                         ::testing::Values(TogetherCase{64, 3}, TogetherCase{1, 1}),
                         [](const ::testing::TestParamInfo<TogetherCase>& param) {
                           return "BatchMax" + std::to_string(param.param.receipt_batch_max);
                         });

// A GS can compute the tips of its digests' receipts itself; claiming them while the receipts
// are still being signed claims more than the VS issued (PROTOCOL.md §8.7). The revocation
// follows both receipts, which the GS still gets, and the audit agrees.
TEST_F(VsdIntegration, AClaimOfReceiptsStillBeingSignedRevokes) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  const auto player = crypto::SecretKey::generate().public_key();
  const auto t0 = unix_time_ms();
  Burst burst{gs.session_key(), {}};
  Hash32 computed_tip;  // the tip after the receipts of the digests sent so far
  for (std::uint64_t index = 1; index <= 2; ++index) {
    TranscriptDigest digest = gs.make_digest(
        {player_at(player, 100 * static_cast<std::int32_t>(index), 0)}, t0 - 300 + 100 * index);
    sign(digest, gs.session_key());
    computed_tip = chains::next_receipt_tip(gs.session_id(), index, computed_tip,
                                            chains::message_hash(encode(digest)));
    burst.add(digest);
  }
  Heartbeat early = gs.make_heartbeat();
  early.receipt_count = 2;
  early.receipt_tip = computed_tip;
  gs.socket().send_raw(burst.add(early).bytes);
  for (std::uint64_t index = 1; index <= 2; ++index) {
    auto receipt = gs.expect<ProtectedReceipt>();
    ASSERT_TRUE(receipt) << "the digests before the claim keep their receipts";
    EXPECT_EQ(receipt->receipt_index, index);
    if (index == 2) {
      EXPECT_EQ(receipt->receipt_tip, computed_tip) << "the GS computed it right";
    }
  }
  expect_revoked(gs, RevocationReason::kReceiptTipMismatch);
  auto entries = stop_and_read();
  const Revocation revocation = stored_revocation(entries, gs.session_id());
  ASSERT_EQ(revocation.evidence.size(), 1u);
  EXPECT_EQ(entries.at(revocation.evidence.front()).header.kind, MessageKind::kHeartbeat);
  const auto receipts = issued(entries, MessageKind::kProtectedReceipt);
  ASSERT_EQ(receipts.size(), 2u);
  EXPECT_LT(revocation.evidence.front(), receipts.front()->header.seq)
      << "the claim was judged while both receipts were being signed";
  expect_store_verifies();
}

TEST_F(VsdIntegration, SpeedViolationRevokesWithBothDigestsAsEvidence) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  const auto player = crypto::SecretKey::generate().public_key();
  const auto t0 = unix_time_ms();
  gs.send_signed(gs.make_digest({player_at(player, 0, 0)}, t0));
  ASSERT_TRUE(gs.expect<ProtectedReceipt>());
  // 50 m in at most 0.3 s is far over 7 m/s (the rule itself is tabled in
  // tests/rules/session_rules_test.cpp; this checks the daemon's wiring and evidence).
  gs.send_signed(gs.make_digest({player_at(player, 50000, 0)}, t0 + 300));
  auto revocation = expect_revoked(gs, RevocationReason::kSpeedViolation);
  EXPECT_NE(revocation.detail.find("moved 50.000 m"), std::string::npos) << revocation.detail;
  auto entries = stop_and_read();
  auto stored = stored_revocation(entries, gs.session_id());
  ASSERT_EQ(stored.evidence.size(), 2u);
  for (auto position : stored.evidence) {
    EXPECT_EQ(entries.at(position).header.kind, MessageKind::kTranscriptDigest);
  }
}

TEST_F(VsdIntegration, OperatorRevokeReachesTheGs) {
  start();
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  gs.send_signed(gs.make_heartbeat());
  TempDir out;
  ChildProcess revoke({program("vsd"), "revoke", "--admin-socket", vs_->admin_socket(), "--session",
                       std::to_string(gs.session_id()), "--reason", "reported by players"},
                      out.file("revoke.out"));
  EXPECT_EQ(revoke.wait(std::chrono::seconds(10)), 0) << revoke.output();
  auto revocation = expect_revoked(gs, RevocationReason::kOperator);
  EXPECT_NE(revocation.detail.find("reported by players"), std::string::npos);
  auto entries = stop_and_read();
  stored_revocation(entries, gs.session_id());
}

TEST_F(VsdIntegration, MalformedFrameRevokesAndDaemonKeepsServing) {
  start();
  {
    ScriptedGs gs(vs_->port(), identity_, build_);
    gs.join();
    const Bytes junk{1, 5, 0, 0, 0};
    gs.socket().send_frame(junk);
    expect_revoked(gs, RevocationReason::kMalformedMessage);
  }
  // An oversize frame header before any join: the connection is dropped, the daemon lives on.
  {
    FrameSocket raw(vs_->port());
    const Bytes huge_header{0xff, 0xff, 0xff, 0x7f};
    raw.send_raw(huge_header);
    EXPECT_TRUE(raw.wait_closed(std::chrono::seconds(3)));
  }
  // The malformed frame quarantined identity_ (PROTOCOL.md §8.16); another GS joins.
  ScriptedGs again(vs_->port(), other_identity_, build_);
  again.join();
  stop_and_read();
}

TEST_F(VsdIntegration, RestartRevokesSessionsLeftLiveAndResumesTheChain) {
  start(revoking_at_start());
  SessionId first_session = 0;
  {
    ScriptedGs gs(vs_->port(), identity_, build_);
    first_session = gs.join().session_id;
    // SIGKILL: no graceful revocation.
    ::kill(vs_->process().pid(), SIGKILL);
    vs_->process().wait(std::chrono::seconds(5));
  }
  const auto size_before = vs_->entries().size();
  start(revoking_at_start());
  ScriptedGs gs(vs_->port(), identity_, build_);
  EXPECT_GT(gs.join().session_id, first_session);
  auto entries = stop_and_read();
  EXPECT_GT(entries.size(), size_before);
  EXPECT_EQ(stored_revocation(entries, first_session).reason,
            static_cast<std::uint16_t>(RevocationReason::kVsShutdown));
}

// A store that refuses appends (its files at a size limit, as on a full disk): vsd says so once
// and stops with exit code 1, and a restart on the same store starts and revokes the session the
// failure left live. It used to abort ("double free"): a co_await inside ?: freed the awaited
// value twice.
TEST_F(VsdIntegration, StoreAppendFailureStopsTheDaemonCleanly) {
  VsOptions limited;
  limited.max_file_bytes = 1024 * 1024;
  start(revoking_at_start(limited));
  // A second session, live when the store fails: its revocation at the stop is refused by the
  // writer, the other way a log append fails.
  ScriptedGs bystander(vs_->port(), other_identity_, build_);
  const SessionId bystander_session = bystander.join().session_id;
  ScriptedGs gs(vs_->port(), identity_, build_);
  const SessionId session = gs.join().session_id;
  // The nonce batches grow the store's write-ahead log until a write passes the limit.
  const std::string output = fill_until_the_store_fails(gs);
  EXPECT_NE(output.find("store append failed"), std::string::npos) << output;
  EXPECT_NE(output.find("vsd stops"), std::string::npos) << output;
  EXPECT_EQ(output.find("double free"), std::string::npos) << output;

  start(revoking_at_start());
  auto entries = stop_and_read();
  for (SessionId left_live : {bystander_session, session}) {
    EXPECT_EQ(stored_revocation(entries, left_live).reason,
              static_cast<std::uint16_t>(RevocationReason::kVsShutdown));
  }
}

// The store file at its size limit while its WAL still has room (as a disk that fills while the
// WAL is short): the background checkpoints fail, vsd says so as an error naming the file and the
// system's reason, and every commit stays in the WAL until that too reaches the limit and vsd
// stops.
TEST_F(VsdIntegration, FailedWalCheckpointsAreReported) {
  VsOptions options = revoking_at_start();
  options.extra += "wal_checkpoint_pages = 8\nwal_max_pages = 100000\n";
  start(options);
  {
    ScriptedGs gs(vs_->port(), identity_, build_);
    gs.join();
    for (int i = 0; i < 48; ++i) send_full_nonce_batch(gs);
    ASSERT_TRUE(gs.expect<PlayTicket>(std::chrono::seconds(5)).has_value());
  }
  stop_and_read();  // a clean stop folds the WAL into the store file
  // The store file may not grow, and the WAL, starting empty, may grow as large as it is: the
  // first checkpoint that copies a new page fails, whatever the pace of the passes, long before
  // the WAL is full.
  options.max_file_bytes = std::filesystem::file_size(vs_->store_path());
  start(options);
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  const std::string output = fill_until_the_store_fails(gs);
  const auto line = output.find("store: WAL checkpoint failed: ");
  ASSERT_NE(line, std::string::npos) << output;
  const std::string reported = output.substr(line, output.find('\n', line) - line);
  EXPECT_NE(reported.find(vs_->store_path() + ": "), std::string::npos) << reported;
  EXPECT_NE(reported.find("File too large"), std::string::npos) << reported;
  EXPECT_NE(output.find("store append failed"), std::string::npos) << output;
}

// A segmented store under load, vsd killed with SIGKILL at varying moments while it rotates
// small segments: every ticket the GS was sent is in the log (nothing acknowledged is lost), vsd
// starts again on the store, checking one seal per segment, and the audit verifies the chain
// across the segments.
TEST_F(VsdIntegration, KillDuringRotationLosesNothingAcknowledged) {
  VsOptions segmented;
  segmented.store = "vs/";
  segmented.extra = "segment_max_bytes = 65536\nresume_window_ms = 0\n";
  std::vector<Bytes> acknowledged;
  std::vector<SessionId> killed_sessions;
  std::random_device random;
  for (int round = 0; round < 2; ++round) {
    start(segmented);
    ScriptedGs gs(vs_->port(), identity_, build_);
    killed_sessions.push_back(gs.join().session_id);
    // Full nonce batches (8 KB each) fill a segment every few batches; each is bound into the
    // next ticket, which the VS sends only once the batch is durable.
    const std::uint64_t batches = 24 + random() % 24;
    for (std::uint64_t i = 0; i < batches && !gs.socket().closed(); ++i) {
      send_full_nonce_batch(gs);
      (void)gs.expect<PlayTicket>(milliseconds(10));
    }
    ASSERT_FALSE(gs.socket().closed()) << vs_->process().output();
    ::kill(vs_->process().pid(), SIGKILL);
    vs_->process().wait(std::chrono::seconds(5));
    // What was on the wire before the kill is acknowledged too.
    while (gs.expect<PlayTicket>(milliseconds(50))) {
    }
    acknowledged.insert(acknowledged.end(), gs.tickets().begin(), gs.tickets().end());
  }
  start(segmented);  // throws if vsd cannot start on the store
  auto entries = stop_and_read();
  std::set<Bytes> logged;
  for (const auto* e : issued(entries, MessageKind::kPlayTicket)) logged.insert(e->message);
  ASSERT_FALSE(acknowledged.empty());
  for (const Bytes& ticket : acknowledged) {
    EXPECT_TRUE(logged.contains(ticket)) << "a ticket the GS was sent is not in the log";
  }
  // Each restart found the session the kill left live, its JoinAccept in an older segment, and
  // revoked it (fail closed).
  for (const SessionId session : killed_sessions) {
    EXPECT_EQ(stored_revocation(entries, session).reason,
              static_cast<std::uint16_t>(RevocationReason::kVsShutdown));
  }
  auto store = storage::Log::open(vs_->store_path(), storage::OpenMode::kReadOnly);
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_GE((*store)->segments().size(), 3U) << "vsd never rotated";
  expect_store_verifies();
}

// The VS clock of a run starts no earlier than the newest time in its log (PROTOCOL.md §8.13),
// whatever the host's clock says: a store whose newest entry is an hour ahead of the system clock
// (as after the host's clock was stepped back while vsd was down) gets a VsStart no earlier than
// that entry, and the start says why. A start that read the system clock would log the VsStart
// an hour before the entry above it.
TEST_F(VsdIntegration, TheVsClockStartsNoEarlierThanTheNewestEntryInTheStore) {
  start();
  stop_and_read();
  const std::uint64_t ahead_ms = unix_time_ms() + 3'600'000;
  {
    auto store = storage::Log::open(vs_->store_path(), storage::OpenMode::kReadWrite);
    ASSERT_TRUE(store.ok()) << store.error();
    Heartbeat heartbeat;  // as a GS may send any frame, which is logged as received
    const storage::PendingEntry entry{MessageKind::kHeartbeat, chains::Direction::kReceived, 0,
                                      ahead_ms, encode(heartbeat)};
    ASSERT_TRUE((*store)->append(std::span(&entry, 1)).ok());
  }
  start();
  const auto entries = stop_and_read();
  const auto starts = issued(entries, MessageKind::kVsStart);
  ASSERT_GE(starts.size(), 2U);
  EXPECT_GE(starts.back()->header.vs_time_ms, ahead_ms);
  EXPECT_NE(vs_->process().output().find("before the newest entry in the store"), std::string::npos)
      << vs_->process().output();
  // Said once, at the start: the clock watch knows the clocks began apart.
  EXPECT_EQ(vs_->process().output().find("the system clock now reads"), std::string::npos)
      << vs_->process().output();
}

// A joined GS sends a frame only the VS may issue. The VS revokes it (malformed_message) and
// keeps the frame as received evidence, which nothing at start-up reads as the VS's own word:
// after a crash the VS starts, revokes the session still live (fail closed), numbers its
// revocation above all before, and the audit accepts the store. A frame of no known kind is not
// logged (the store has no kind to file it under): the VS closes the connection.
struct ForgedFrameCase {
  std::string name;
  // The frame, given the session id of the other, honest GS.
  std::function<Bytes(SessionId bystander)> frame;
  bool logged = true;  // revoked at once, the frame kept as a received entry of its kind
};

class VsdForgedFrame : public VsdIntegration,
                       public ::testing::WithParamInterface<ForgedFrameCase> {};

TEST_P(VsdForgedFrame, IsRefusedAndNeverTrustedAtStartUp) {
  start(revoking_at_start());
  ScriptedGs bystander(vs_->port(), other_identity_, build_);
  const SessionId bystander_session = bystander.join().session_id;
  const Bytes forged = GetParam().frame(bystander_session);
  {
    ScriptedGs gs(vs_->port(), identity_, build_);
    gs.join();
    gs.socket().send_frame(forged);
    if (GetParam().logged) {
      expect_revoked(gs, RevocationReason::kMalformedMessage);
    } else {
      EXPECT_TRUE(gs.socket().wait_closed(std::chrono::seconds(3)));
    }
  }
  ::kill(vs_->process().pid(), SIGKILL);
  vs_->process().wait(std::chrono::seconds(5));
  std::size_t copies = 0;
  for (const auto& e : vs_->entries()) {
    if (e.message != forged) continue;
    ++copies;
    EXPECT_EQ(e.header.direction, chains::Direction::kReceived);
    EXPECT_EQ(static_cast<std::uint8_t>(e.header.kind), forged[1]);
  }
  EXPECT_EQ(copies, GetParam().logged ? 1U : 0U);

  start(revoking_at_start());  // throws if vsd cannot start on the store
  auto entries = stop_and_read();
  EXPECT_EQ(stored_revocation(entries, bystander_session).reason,
            static_cast<std::uint16_t>(RevocationReason::kVsShutdown));
  std::uint64_t last_seq = 0;
  for (const auto* e : issued(entries, MessageKind::kRevocation)) {
    auto revocation = decode<Revocation>(e->message);
    ASSERT_TRUE(revocation) << revocation.error();
    EXPECT_GT(revocation->revocation_seq, last_seq);
    last_seq = revocation->revocation_seq;
  }
  expect_store_verifies();
  // `audit-cli sessions` lists the two real sessions, with the endings the VS gave them: a forged
  // JoinAccept opens no session, a forged Revocation ends none.
  ChildProcess sessions({program("audit-cli"), "sessions", vs_->store_path(), "--json"},
                        dir_.file("sessions.json"));
  ASSERT_EQ(sessions.wait(std::chrono::seconds(60)), 0) << sessions.output();
  const auto report = nlohmann::json::parse(sessions.output(), nullptr, false);
  ASSERT_TRUE(report.is_object()) << sessions.output();
  const auto& listed = report["sessions"];
  ASSERT_EQ(listed.size(), 2U) << listed.dump(2);
  for (const auto& s : listed) {
    if (s["session_id"] != bystander_session) continue;
    EXPECT_EQ(s["revocation"]["reason"], "vs_shutdown") << listed.dump(2);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, VsdForgedFrame,
    ::testing::Values(ForgedFrameCase{"JoinAcceptWithTheLargestSessionId",
                                      [](SessionId) {
                                        JoinAccept accept;
                                        accept.session_id = std::numeric_limits<SessionId>::max();
                                        return encode(accept);
                                      }},
                      ForgedFrameCase{"RevocationOfTheOtherSession",
                                      [](SessionId bystander) {
                                        Revocation revocation;
                                        revocation.session_id = bystander;
                                        revocation.revocation_seq =
                                            std::numeric_limits<std::uint64_t>::max();
                                        revocation.reason =
                                            static_cast<std::uint16_t>(RevocationReason::kOperator);
                                        return encode(revocation);
                                      }},
                      ForgedFrameCase{"Checkpoint",
                                      [](SessionId) {
                                        Checkpoint checkpoint;
                                        checkpoint.log_size = 1;
                                        checkpoint.root = crypto::random_fixed<32>();
                                        return encode(checkpoint);
                                      }},
                      ForgedFrameCase{"UnknownKindByte",
                                      [](SessionId) {
                                        return Bytes{1, 200, 0, 0, 0};
                                      },
                                      false}),
    [](const ::testing::TestParamInfo<ForgedFrameCase>& param) { return param.param.name; });

// Many GSes join at once, and all are revoked together when the VS stops: session ids and
// revocation_seq still rise in log order (audit-cli verify checks both), because the VS numbers
// them as it places them in the log, not before.
TEST_F(VsdIntegration, ConcurrentJoinsAndRevocationsAreNumberedInLogOrder) {
  constexpr std::size_t kGses = 64;
  std::vector<crypto::SecretKey> identities;
  std::vector<crypto::PublicKey> allowed;
  for (std::size_t i = 0; i < kGses; ++i) {
    identities.push_back(crypto::SecretKey::generate());
    allowed.push_back(identities.back().public_key());
  }
  VsOptions revoking_at_stop;
  revoking_at_stop.extra = "revoke_on_stop = true\n";
  vs_ = std::make_unique<VsProcess>(dir_, allowed, std::vector<Hash32>{build_}, revoking_at_stop);
  std::vector<std::unique_ptr<ScriptedGs>> gses(kGses);
  std::vector<std::thread> joiners;
  for (std::size_t i = 0; i < kGses; ++i) {
    joiners.emplace_back([&, i] {
      gses[i] = std::make_unique<ScriptedGs>(vs_->port(), identities[i], build_);
      gses[i]->join();
    });
  }
  for (auto& joiner : joiners) joiner.join();
  const auto entries = stop_and_read();

  SessionId last_session = 0;
  std::uint64_t last_revocation = 0;
  std::size_t accepts = 0;
  std::size_t revocations = 0;
  for (const auto& e : entries) {
    if (e.header.kind == MessageKind::kJoinAccept) {
      auto accept = decode<JoinAccept>(e.message);
      ASSERT_TRUE(accept.ok());
      EXPECT_GT(accept->session_id, last_session) << "JoinAccept at log position " << e.header.seq;
      last_session = accept->session_id;
      ++accepts;
    } else if (e.header.kind == MessageKind::kRevocation) {
      auto revocation = decode<Revocation>(e.message);
      ASSERT_TRUE(revocation.ok());
      EXPECT_GT(revocation->revocation_seq, last_revocation)
          << "Revocation at log position " << e.header.seq;
      last_revocation = revocation->revocation_seq;
      ++revocations;
    }
  }
  EXPECT_EQ(accepts, kGses);
  EXPECT_EQ(revocations, kGses);
}

// Checkpoints made by count can come every poll on a busy log; each GS gets at most one per
// checkpoint_interval_ms, so the frames sent do not grow with the log's rate times the sessions.
TEST_F(VsdIntegration, CheckpointsReachTheGsAtMostOncePerInterval) {
  VsOptions options;
  options.checkpoint_interval_ms = 500;
  options.heartbeat_timeout_ms = 5000;
  options.digest_timeout_ms = 10000;
  options.extra = "checkpoint_every_entries = 2\n";
  start(options);
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  std::vector<Checkpoint> received;
  for (int round = 0; round < 4; ++round) {
    // Enough entries for a checkpoint by count at every one of the VS's 100 ms polls.
    for (int i = 0; i < 20; ++i) gs.send_signed(gs.make_heartbeat());
    auto checkpoint = gs.expect<Checkpoint>(std::chrono::milliseconds(1500));
    if (checkpoint) received.push_back(*checkpoint);
  }
  const auto entries = stop_and_read();
  ASSERT_GE(received.size(), 2u);
  for (std::size_t i = 1; i < received.size(); ++i) {
    EXPECT_GE(received[i].vs_time_ms, received[i - 1].vs_time_ms + 500) << "checkpoint " << i;
  }
  EXPECT_GT(of_kind(entries, MessageKind::kCheckpoint).size(), received.size() + 2);
}

// A checkpoint leaves with the session's next ticket (in the same write), so thousands of
// sessions do not get one frame each in a single burst.
TEST_F(VsdIntegration, ACheckpointReachesTheGsRightAfterATicket) {
  VsOptions options;
  options.ticket_period_ms = 400;
  options.ticket_validity_ms = 800;
  options.checkpoint_interval_ms = 100;
  options.heartbeat_timeout_ms = 5000;
  options.digest_timeout_ms = 10000;
  start(options);
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  std::vector<MessageKind> kinds;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2000);
  while (std::chrono::steady_clock::now() < until) {
    auto frame = gs.socket().read_frame(std::chrono::milliseconds(500));
    ASSERT_TRUE(frame);
    auto kind = peek_kind(*frame);
    ASSERT_TRUE(kind.ok());
    kinds.push_back(*kind);
  }
  std::size_t checkpoints = 0;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (kinds[i] != MessageKind::kCheckpoint) continue;
    ++checkpoints;
    ASSERT_GT(i, 0u);
    EXPECT_EQ(kinds[i - 1], MessageKind::kPlayTicket) << "frame " << i;
  }
  // Made every 100 ms, but the GS hears of them only with its tickets, every 400 ms.
  EXPECT_GE(checkpoints, 3u);
  EXPECT_LE(checkpoints, 6u);
  stop_and_read();
}

}  // namespace
}  // namespace gsvs::testing
