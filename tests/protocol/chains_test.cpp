#include "protocol/chains.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/crypto.h"

namespace gsvs::chains {
namespace {

// Independent construction of the documented layouts, one byte at a time.
void put_text(Bytes& out, std::string_view text) {
  for (char c : text) out.push_back(static_cast<std::uint8_t>(c));
}
void put_le(Bytes& out, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) {
    out.push_back(static_cast<std::uint8_t>((value >> (8 * i)) & 0xFF));
  }
}
void put_hash(Bytes& out, const Hash32& h) {
  for (auto b : h.bytes) out.push_back(b);
}

Hash32 hash_of_fill(std::uint8_t first) {
  Hash32 h;
  for (std::size_t i = 0; i < h.bytes.size(); ++i) {
    h.bytes[i] = static_cast<std::uint8_t>(first + i);
  }
  return h;
}

Hash32 expected_receipt_tip(std::uint64_t session_id, std::uint64_t n, const Hash32& prev,
                            const Hash32& digest_hash) {
  Bytes in;
  put_text(in, "gsvs/v1/receipt_tip");
  in.push_back(0x00);
  put_le(in, session_id, 8);
  put_le(in, n, 8);
  put_hash(in, prev);
  put_hash(in, digest_hash);
  EXPECT_EQ(in.size(), 19u + 1 + 8 + 8 + 32 + 32);
  return crypto::sha256(in);
}

Hash32 expected_inputs_hash(const Hash32& prev, ByteView client_input) {
  Bytes in;
  put_text(in, "gsvs/v1/inputs");
  in.push_back(0x00);
  put_hash(in, prev);
  put_hash(in, crypto::sha256(client_input));
  return crypto::sha256(in);
}

Hash32 expected_log_entry_hash(const LogEntryHeader& h, ByteView message) {
  Bytes in;
  put_text(in, "gsvs/v1/log_entry");
  in.push_back(0x00);
  put_le(in, h.seq, 8);
  in.push_back(static_cast<std::uint8_t>(h.kind));
  in.push_back(static_cast<std::uint8_t>(h.direction));
  put_le(in, h.session_id, 8);
  put_le(in, h.vs_time_ms, 8);
  put_hash(in, h.prev_entry_hash);
  put_le(in, message.size(), 4);
  in.insert(in.end(), message.begin(), message.end());
  return crypto::sha256(in);
}

TEST(Chains, MessageHashIsSha256OfTheBytes) {
  const Bytes message = {1, 2, 3, 4, 5};
  EXPECT_EQ(message_hash(message), crypto::sha256(message));
  EXPECT_EQ(to_hex(message_hash({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(message_hash(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Chains, ReceiptTipMatchesDocumentedLayout) {
  const std::uint64_t session = 0x0102030405060708ULL;
  const Hash32 d1 = hash_of_fill(0x10);
  const Hash32 d2 = hash_of_fill(0x50);
  const Hash32 d3 = hash_of_fill(0x90);

  // tip0 is 32 zero bytes; then a chain of three receipts.
  Hash32 tip0;
  Hash32 tip1 = next_receipt_tip(session, 1, tip0, d1);
  Hash32 tip2 = next_receipt_tip(session, 2, tip1, d2);
  Hash32 tip3 = next_receipt_tip(session, 3, tip2, d3);
  EXPECT_EQ(tip1, expected_receipt_tip(session, 1, tip0, d1));
  EXPECT_EQ(tip2, expected_receipt_tip(session, 2, tip1, d2));
  EXPECT_EQ(tip3, expected_receipt_tip(session, 3, tip2, d3));
  EXPECT_NE(tip1, tip2);
  EXPECT_NE(tip2, tip3);
}

TEST(Chains, ReceiptTipDependsOnEveryField) {
  const std::uint64_t session = 77;
  const std::uint64_t index = 5;
  const Hash32 prev = hash_of_fill(0x20);
  const Hash32 digest = hash_of_fill(0x60);
  const Hash32 base = next_receipt_tip(session, index, prev, digest);
  EXPECT_EQ(base, expected_receipt_tip(session, index, prev, digest));

  EXPECT_NE(next_receipt_tip(session + 1, index, prev, digest), base);
  EXPECT_NE(next_receipt_tip(session | (1ULL << 63), index, prev, digest), base);
  EXPECT_NE(next_receipt_tip(session, index + 1, prev, digest), base);
  EXPECT_NE(next_receipt_tip(session, index | (1ULL << 40), prev, digest), base);
  EXPECT_NE(next_receipt_tip(index, session, prev, digest), base);  // swapped integers
  EXPECT_NE(next_receipt_tip(session, index, digest, prev), base);  // swapped hashes
  for (std::size_t i = 0; i < 32; ++i) {
    Hash32 p = prev;
    p.bytes[i] ^= 0x80;
    EXPECT_NE(next_receipt_tip(session, index, p, digest), base) << "prev byte " << i;
    Hash32 d = digest;
    d.bytes[i] ^= 0x01;
    EXPECT_NE(next_receipt_tip(session, index, prev, d), base) << "digest byte " << i;
  }
}

TEST(Chains, InputsHashMatchesDocumentedLayout) {
  const Bytes input1 = {0x01, 0x10, 0xAA, 0xBB};
  const Bytes input2 = {0x01, 0x10, 0xCC};
  Hash32 h0;  // 32 zero bytes after each digest
  Hash32 h1 = next_inputs_hash(h0, input1);
  Hash32 h2 = next_inputs_hash(h1, input2);
  EXPECT_EQ(h1, expected_inputs_hash(h0, input1));
  EXPECT_EQ(h2, expected_inputs_hash(h1, input2));
  // Order of acceptance matters.
  EXPECT_NE(next_inputs_hash(next_inputs_hash(h0, input2), input1), h2);
  // Empty input bytes are hashed too (SHA-256 of nothing), not skipped.
  EXPECT_EQ(next_inputs_hash(h0, {}), expected_inputs_hash(h0, {}));
  EXPECT_NE(next_inputs_hash(h0, {}), h0);
}

TEST(Chains, InputsHashDependsOnEveryField) {
  const Hash32 prev = hash_of_fill(0x33);
  const Bytes input = {9, 8, 7, 6, 5, 4, 3, 2, 1};
  const Hash32 base = next_inputs_hash(prev, input);
  for (std::size_t i = 0; i < 32; ++i) {
    Hash32 p = prev;
    p.bytes[i] ^= 0x04;
    EXPECT_NE(next_inputs_hash(p, input), base) << "prev byte " << i;
  }
  for (std::size_t i = 0; i < input.size(); ++i) {
    Bytes changed = input;
    changed[i] ^= 0x40;
    EXPECT_NE(next_inputs_hash(prev, changed), base) << "input byte " << i;
  }
  Bytes longer = input;
  longer.push_back(0);
  EXPECT_NE(next_inputs_hash(prev, longer), base);
  EXPECT_NE(next_inputs_hash(prev, ByteView(input).first(input.size() - 1)), base);
}

LogEntryHeader sample_header() {
  LogEntryHeader h;
  h.seq = 0x1122334455667788ULL;
  h.kind = protocol::MessageKind::kTranscriptDigest;
  h.direction = Direction::kReceived;
  h.session_id = 0x0A0B0C0D0E0F1011ULL;
  h.vs_time_ms = 1'700'000'000'123ULL;
  h.prev_entry_hash = hash_of_fill(0x70);
  return h;
}

TEST(Chains, LogEntryHashMatchesDocumentedLayout) {
  const Bytes message = {1, 6, 0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x42};
  const LogEntryHeader h = sample_header();
  EXPECT_EQ(log_entry_hash(h, message), expected_log_entry_hash(h, message));

  // Entry 0: prev_entry_hash is 32 zero bytes; an empty message still hashes its length.
  LogEntryHeader first;
  first.seq = 0;
  first.kind = protocol::MessageKind::kCheckpoint;
  first.direction = Direction::kIssued;
  EXPECT_EQ(log_entry_hash(first, {}), expected_log_entry_hash(first, {}));

  // Every kind and both directions.
  for (std::uint8_t k = 1; k <= protocol::kMaxMessageKind; ++k) {
    for (auto dir : {Direction::kReceived, Direction::kIssued}) {
      LogEntryHeader e = h;
      e.kind = static_cast<protocol::MessageKind>(k);
      e.direction = dir;
      EXPECT_EQ(log_entry_hash(e, message), expected_log_entry_hash(e, message))
          << "kind " << int{k};
    }
  }

  // A long message (length needs more than one byte of the u32).
  Bytes big(70'000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i ^ (i >> 8));
  EXPECT_EQ(log_entry_hash(h, big), expected_log_entry_hash(h, big));
}

TEST(Chains, LogEntryHashDependsOnEveryField) {
  const Bytes message = {1, 5, 0x10, 0x20, 0x30};
  const LogEntryHeader h = sample_header();
  const Hash32 base = log_entry_hash(h, message);
  std::set<Hash32> seen{base};
  auto expect_new = [&](const LogEntryHeader& changed, ByteView bytes, const char* what) {
    Hash32 value = log_entry_hash(changed, bytes);
    EXPECT_EQ(value, expected_log_entry_hash(changed, bytes)) << what;
    EXPECT_TRUE(seen.insert(value).second) << what << " did not change the hash";
  };

  auto e = h;
  e.seq += 1;
  expect_new(e, message, "seq");
  e = h;
  e.kind = protocol::MessageKind::kHeartbeat;
  expect_new(e, message, "kind");
  e = h;
  e.direction = Direction::kIssued;
  expect_new(e, message, "direction");
  e = h;
  e.session_id ^= 1ULL << 50;
  expect_new(e, message, "session_id");
  e = h;
  e.vs_time_ms += 1;
  expect_new(e, message, "vs_time_ms");
  for (std::size_t i = 0; i < 32; ++i) {
    e = h;
    e.prev_entry_hash.bytes[i] ^= 0x02;
    expect_new(e, message, "prev_entry_hash");
  }
  for (std::size_t i = 0; i < message.size(); ++i) {
    Bytes changed = message;
    changed[i] ^= 0x01;
    expect_new(h, changed, "message byte");
  }
  Bytes longer = message;
  longer.push_back(0);
  expect_new(h, longer, "message length");
  expect_new(h, ByteView(message).first(message.size() - 1), "shorter message");
  expect_new(h, {}, "empty message");
}

TEST(Chains, DistinctTagsSeparateTheChains) {
  // The same 64 bytes of hash input under the receipt and the inputs tags give different values,
  // and neither equals a plain SHA-256 of the fields.
  const Hash32 a = hash_of_fill(0x01);
  const Hash32 b = hash_of_fill(0x41);
  Bytes plain;
  put_hash(plain, a);
  put_hash(plain, b);
  const Hash32 inputs = next_inputs_hash(a, b.view());
  EXPECT_NE(inputs, crypto::sha256(plain));
  EXPECT_NE(next_receipt_tip(0, 0, a, b), crypto::sha256(plain));
  EXPECT_NE(next_receipt_tip(0, 0, a, b), inputs);
}

// Which store logs a kind, and as what (docs/STORE.md §2 and §2.2): one row per kind.
TEST(Chains, EachStoreLogsAKindInTheDirectionOfItsRoute) {
  using K = protocol::MessageKind;
  using D = std::optional<Direction>;
  const D in = Direction::kReceived;
  const D out = Direction::kIssued;
  const D none = std::nullopt;
  struct Row {
    K kind;
    D vs;
    D gs;
  };
  const std::vector<Row> rows = {
      {K::kVsChallenge, none, none},   {K::kJoinRequest, in, out},
      {K::kJoinAccept, out, in},       {K::kJoinReject, out, in},
      {K::kHeartbeat, in, out},        {K::kTranscriptDigest, in, out},
      {K::kNonceBatch, in, out},       {K::kProtectedReceipt, out, in},
      {K::kPlayTicket, out, in},       {K::kCheckpoint, out, in},
      {K::kRevocation, out, in},       {K::kClientHello, none, none},
      {K::kServerHello, none, none},   {K::kTicketForward, none, none},
      {K::kClientNonce, none, none},   {K::kClientInput, none, none},
      {K::kInputReject, none, none},   {K::kClientChallenge, none, none},
      {K::kGsLeaving, in, out},        {K::kGsResume, in, out},
      {K::kResumeAccept, out, in},     {K::kVsStart, out, none},
      {K::kPolicyApplied, out, none},  {K::kPardon, out, none},
      {K::kSessionAdopted, out, none}, {K::kStateCarried, out, none},
  };
  ASSERT_EQ(rows.size(), std::size_t{protocol::kMaxMessageKind});
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(protocol::kind_name(r.kind)));
    EXPECT_EQ(logged_direction(StoreOwner::kVs, r.kind), r.vs);
    EXPECT_EQ(logged_direction(StoreOwner::kGs, r.kind), r.gs);
  }
  EXPECT_EQ(logged_direction(StoreOwner::kVs, static_cast<K>(0)), none);
  EXPECT_EQ(logged_direction(StoreOwner::kGs, static_cast<K>(protocol::kMaxMessageKind + 1)), none);
}

}  // namespace
}  // namespace gsvs::chains
