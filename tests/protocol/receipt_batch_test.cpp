// ProtectedReceipts signed in a batch (PROTOCOL.md §5.11.1): one VS signature over the Merkle
// root of a batch's receipts, each receipt carrying its place and proof as protocol version 2.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"

namespace gsvs::protocol {
namespace {

crypto::SecretKey key_of(std::uint8_t fill) {
  crypto::Seed seed;
  seed.bytes.fill(fill);
  return crypto::SecretKey::from_seed(seed);
}

const crypto::SecretKey& vs_key() {
  static const crypto::SecretKey key = key_of(0xB1);
  return key;
}

Hash32 hash_of(std::uint64_t value) {
  Hash32 h;
  for (std::size_t i = 0; i < h.bytes.size(); ++i) {
    h.bytes[i] = static_cast<std::uint8_t>(value >> (8 * (i % 8))) ^ static_cast<std::uint8_t>(i);
  }
  return h;
}

// `count` receipts of distinct sessions, as one VS batch would hold them.
std::vector<ProtectedReceipt> receipts(std::size_t count) {
  std::vector<ProtectedReceipt> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    out[i].session_id = 100 + i;
    out[i].gs_counter = 7 + i;
    out[i].digest_hash = hash_of(1000 + i);
    out[i].digest_log_seq = 5000 + i;
    out[i].vs_time_ms = 1'700'000'000'000ULL + i;
    out[i].receipt_index = 3;
    out[i].receipt_tip = hash_of(2000 + i);
  }
  return out;
}

std::vector<ProtectedReceipt> signed_batch(std::size_t count) {
  auto batch = receipts(count);
  sign_receipt_batch(batch, vs_key());
  return batch;
}

TEST(ReceiptBatch, EveryReceiptOfABatchRoundTripsAndVerifies) {
  for (const std::size_t count : {2U, 3U, 4U, 5U, 7U, 8U, 9U, 64U, 100U, 1024U}) {
    const auto batch = signed_batch(count);
    for (std::size_t i = 0; i < count; ++i) {
      const ProtectedReceipt& r = batch[i];
      ASSERT_TRUE(r.batch.has_value()) << count;
      EXPECT_EQ(r.batch->leaf_index, i);
      EXPECT_EQ(r.batch->leaf_count, count);
      EXPECT_EQ(r.signatures[0], batch[0].signatures[0]) << "one signature for the batch";
      const Bytes bytes = encode(r);
      EXPECT_EQ(bytes[0], kBatchedReceiptVersion);
      EXPECT_EQ(bytes[1], static_cast<std::uint8_t>(MessageKind::kProtectedReceipt));
      EXPECT_EQ(bytes.size(),
                ProtectedReceipt::kFieldBytes + 8 + 2 + 32 * r.batch->proof.size() + 64);
      auto decoded = decode<ProtectedReceipt>(bytes);
      ASSERT_TRUE(decoded.ok()) << count << "/" << i << ": " << decoded.error();
      EXPECT_EQ(decoded->batch, r.batch);
      EXPECT_EQ(encode(*decoded), bytes);
      EXPECT_TRUE(verify(*decoded, vs_key().public_key())) << count << "/" << i;
      auto any = decode_any(bytes);
      ASSERT_TRUE(any.ok()) << any.error();
      EXPECT_TRUE(verify_signature(*any, vs_key().public_key()));
    }
  }
}

TEST(ReceiptBatch, AReceiptAloneIsSignedAsVersionOne) {
  auto batch = receipts(1);
  batch[0].batch = ReceiptBatch{.leaf_index = 0, .leaf_count = 2, .proof = {hash_of(1)}};
  sign_receipt_batch(batch, vs_key());
  EXPECT_FALSE(batch[0].batch.has_value());
  const Bytes bytes = encode(batch[0]);
  EXPECT_EQ(bytes.size(), ProtectedReceipt::kFieldBytes + 64);
  EXPECT_EQ(bytes.size(), 170u);
  EXPECT_EQ(bytes[0], kProtocolVersion);
  EXPECT_TRUE(verify(batch[0], vs_key().public_key()));
  sign_receipt_batch({}, vs_key());  // nothing to sign: no signature made, no error
}

TEST(ReceiptBatch, MoreThanTheCapThrows) {
  auto batch = receipts(kMaxReceiptBatch + 1);
  EXPECT_THROW(sign_receipt_batch(batch, vs_key()), std::length_error);
}

// Each row changes one thing of receipt 2 of a batch of 5 after signing.
TEST(ReceiptBatch, AnyChangeToAReceiptOrItsProofFailsVerification) {
  struct Row {
    const char* what;
    std::function<void(ProtectedReceipt&, const std::vector<ProtectedReceipt>&)> change;
  };
  const std::vector<Row> rows = {
      {"session_id", [](auto& r, auto&) { ++r.session_id; }},
      {"gs_counter", [](auto& r, auto&) { ++r.gs_counter; }},
      {"digest_hash", [](auto& r, auto&) { r.digest_hash.bytes[31] ^= 1; }},
      {"digest_log_seq", [](auto& r, auto&) { ++r.digest_log_seq; }},
      {"vs_time_ms", [](auto& r, auto&) { ++r.vs_time_ms; }},
      {"receipt_index", [](auto& r, auto&) { ++r.receipt_index; }},
      {"receipt_tip", [](auto& r, auto&) { r.receipt_tip.bytes[0] ^= 0x80; }},
      {"leaf_index (the same path length)", [](auto& r, auto&) { r.batch->leaf_index = 3; }},
      {"leaf_count (the same path length)", [](auto& r, auto&) { r.batch->leaf_count = 6; }},
      {"a proof hash", [](auto& r, auto&) { r.batch->proof[1].bytes[5] ^= 4; }},
      {"the proof's order",
       [](auto& r, auto&) { std::swap(r.batch->proof[0], r.batch->proof[1]); }},
      {"another receipt's proof", [](auto& r, auto& all) { r.batch = all[3].batch; }},
      {"the signature", [](auto& r, auto&) { r.signatures[0].bytes[10] ^= 1; }},
      {"no batch: the batch signature as a version-1 signature",
       [](auto& r, auto&) { r.batch.reset(); }},
  };
  const auto batch = signed_batch(5);
  ASSERT_TRUE(verify(batch[2], vs_key().public_key()));
  for (const Row& row : rows) {
    ProtectedReceipt changed = batch[2];
    row.change(changed, batch);
    EXPECT_FALSE(verify(changed, vs_key().public_key())) << row.what;
  }
  EXPECT_FALSE(verify(batch[2], key_of(0xB2).public_key())) << "another key";
}

TEST(ReceiptBatch, AVersionOneSignatureDoesNotVerifyInABatch) {
  auto alone = receipts(2);
  sign(alone[0], vs_key());
  ASSERT_TRUE(verify(alone[0], vs_key().public_key()));
  ProtectedReceipt batched = alone[0];
  batched.batch = signed_batch(2)[0].batch;
  EXPECT_FALSE(verify(batched, vs_key().public_key()));
}

TEST(ReceiptBatch, EveryByteOfABatchedReceiptIsCovered) {
  const auto batch = signed_batch(6);
  const Bytes bytes = encode(batch[4]);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    Bytes changed = bytes;
    changed[i] ^= 0x01;
    auto decoded = decode<ProtectedReceipt>(changed);
    EXPECT_FALSE(decoded.ok() && verify(*decoded, vs_key().public_key())) << "byte " << i;
  }
}

TEST(ReceiptBatch, TheDecoderRefusesABatchThatIsNoTreePath) {
  struct Row {
    const char* what;
    std::uint32_t leaf_index;
    std::uint32_t leaf_count;
    std::size_t proof_hashes;
  };
  const std::vector<Row> rows = {
      {"a batch of one", 0, 1, 0},
      {"a batch of none", 0, 0, 0},
      {"over the cap", 0, static_cast<std::uint32_t>(kMaxReceiptBatch + 1), 11},
      {"leaf past the end", 5, 5, 3},
      {"proof one short", 2, 5, 2},
      {"proof one long", 2, 5, 4},
      {"last leaf of 5: path of 1, not 3", 4, 5, 3},
  };
  for (const Row& row : rows) {
    ProtectedReceipt r = receipts(1)[0];
    r.batch = ReceiptBatch{.leaf_index = row.leaf_index,
                           .leaf_count = row.leaf_count,
                           .proof = std::vector<Hash32>(row.proof_hashes, hash_of(9))};
    auto decoded = decode<ProtectedReceipt>(encode(r));
    ASSERT_FALSE(decoded.ok()) << row.what;
    EXPECT_NE(decoded.error().find("bad batch"), std::string::npos)
        << row.what << ": " << decoded.error();
  }
}

TEST(ReceiptBatch, VersionTwoIsAReceiptsOrAVsStartsAlone) {
  for (int k = 1; k <= kMaxMessageKind; ++k) {
    const Bytes head = {kBatchedReceiptVersion, static_cast<std::uint8_t>(k)};
    auto kind = peek_kind(head);
    if (k == static_cast<int>(MessageKind::kProtectedReceipt) ||
        k == static_cast<int>(MessageKind::kVsStart)) {
      ASSERT_TRUE(kind.ok()) << kind.error();
    } else {
      ASSERT_FALSE(kind.ok()) << k;
      EXPECT_NE(kind.error().find("unknown version: 2"), std::string::npos) << kind.error();
    }
  }
  // A version-1 receipt with the batch fields appended is trailing bytes, not a batch.
  Bytes v1 = encode(signed_batch(2)[0]);
  v1[0] = kProtocolVersion;
  EXPECT_FALSE(decode<ProtectedReceipt>(v1).ok());
}

TEST(ReceiptBatch, TheBatchTagsAreNoOtherSignaturesTag) {
  for (int k = 1; k <= kMaxMessageKind; ++k) {
    for (const auto tag : signature_tags(static_cast<MessageKind>(k))) {
      EXPECT_NE(tag, ProtectedReceipt::kBatchLeafTag);
      EXPECT_NE(tag, ProtectedReceipt::kBatchStatementTag);
    }
  }
  EXPECT_NE(ProtectedReceipt::kBatchLeafTag, ProtectedReceipt::kBatchStatementTag);
}

}  // namespace
}  // namespace gsvs::protocol
