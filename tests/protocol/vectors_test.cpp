// Checks tests/vectors/messages.json and chains.json against the library, both ways: the samples
// rebuilt from their seeds must give the same bytes, and every listed encoding must decode,
// re-encode identically and verify with the listed key. A wire change shows up here.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "protocol/messages.h"
#include "tests/vectors/samples.h"

namespace gsvs::test_samples {
namespace {

constexpr std::string_view kRegenerate =
    "if the change is intended, regenerate with: gen_vectors tests/vectors (see "
    "tests/vectors/README.md)";

Json load(std::string_view name) { return load_vectors_file(name); }

Bytes hex(const Json& j) { return bytes_from_hex(j); }

template <std::size_t N = 32>
FixedBytes<N> fixed(const Json& j) {
  auto value = fixed_from_hex<N>(j.get<std::string>());
  if (!value)
    throw std::invalid_argument("not " + std::to_string(N) + " bytes of hex: " + j.dump());
  return *value;
}

std::map<std::string, crypto::PublicKey> keys_by_name(const Json& doc) {
  std::map<std::string, crypto::PublicKey> out;
  for (const auto& k : doc.at("keys"))
    out[k.at("name").get<std::string>()] = fixed(k.at("public_key_hex"));
  return out;
}

bool verify_any(const protocol::AnyMessage& message, const crypto::PublicKey& key,
                std::size_t index) {
  return std::visit([&](const auto& m) { return protocol::verify(m, key, index); }, message);
}

void set_signatures(protocol::AnyMessage& message, const std::vector<crypto::Signature>& sigs) {
  std::visit(
      [&](auto& m) {
        ASSERT_EQ(sigs.size(), m.signatures.size());
        for (std::size_t i = 0; i < sigs.size(); ++i) m.signatures[i] = sigs[i];
      },
      message);
}

template <class M>
M decode_as(const Json& hex_json) {
  auto decoded = protocol::decode<M>(hex(hex_json));
  if (!decoded) throw std::runtime_error("decode: " + decoded.error());
  return std::move(decoded).value();
}

// ---- Keys ------------------------------------------------------------------------------------

void check_keys(const Json& doc) {
  const Keys keys;
  const auto& listed = doc.at("keys");
  ASSERT_EQ(listed.size(), keys.all().size());
  for (std::size_t i = 0; i < listed.size(); ++i) {
    const auto& k = listed[i];
    SCOPED_TRACE(k.at("name").get<std::string>());
    const std::string label = k.at("seed_label");
    EXPECT_EQ(label, std::string(kKeySeedPrefix) + k.at("name").get<std::string>());
    const crypto::Seed seed = crypto::sha256(as_bytes(label));
    EXPECT_EQ(to_hex(seed), k.at("seed_hex"));
    EXPECT_EQ(to_hex(crypto::SecretKey::from_seed(seed).public_key()), k.at("public_key_hex"));
    EXPECT_EQ(keys.all()[i].name, k.at("name"));
    EXPECT_EQ(to_hex(keys.all()[i].key.public_key()), k.at("public_key_hex"));
  }
}

TEST(Vectors, KeysDeriveFromTheirSeeds) {
  check_keys(load("messages.json"));
  check_keys(load("chains.json"));
}

// ---- messages.json ---------------------------------------------------------------------------

TEST(Vectors, EveryMessageKindOnceInOrder) {
  const Json doc = load("messages.json");
  EXPECT_EQ(doc.at("protocol_version"), protocol::kProtocolVersion);
  const auto& messages = doc.at("messages");
  ASSERT_EQ(messages.size(), std::variant_size_v<protocol::AnyMessage>);
  ASSERT_EQ(messages.size(), protocol::kMaxMessageKind);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto kind = static_cast<protocol::MessageKind>(i + 1);
    EXPECT_EQ(messages[i].at("kind_number"), i + 1);
    EXPECT_EQ(messages[i].at("kind"), protocol::kind_name(kind));
  }
}

TEST(Vectors, SamplesRebuildByteForByte) {
  const Json doc = load("messages.json");
  const Keys keys;
  auto samples = sample_messages(keys);
  for (auto& earlier : earlier_encodings(keys)) samples.push_back(std::move(earlier));
  Json messages = doc.at("messages");
  for (const auto& earlier : doc.at("earlier_encodings")) messages.push_back(earlier);
  ASSERT_EQ(samples.size(), messages.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& sample = samples[i];
    const auto& listed = messages[i];
    SCOPED_TRACE(std::string(kind_name(sample.message)));
    EXPECT_EQ(listed.at("kind"), kind_name(sample.message));
    EXPECT_EQ(fields_to_json(sample.message), listed.at("fields"));
    const Bytes encoding = protocol::encode_any(sample.message);
    EXPECT_EQ(to_hex(encoding), listed.at("encoding_hex")) << kRegenerate;
    EXPECT_EQ(to_hex(chains::message_hash(encoding)), listed.at("message_hash_hex"));
    const auto inputs = signing_inputs(sample.message);
    const auto sigs = signatures_of(sample.message);
    const auto& listed_sigs = listed.at("signatures");
    ASSERT_EQ(inputs.size(), listed_sigs.size());
    ASSERT_EQ(sample.signers.size(), listed_sigs.size());
    for (std::size_t s = 0; s < inputs.size(); ++s) {
      EXPECT_EQ(listed_sigs[s].at("tag"), signature_tags(sample.message)[s]);
      EXPECT_EQ(to_hex(sample.signers[s]), listed_sigs[s].at("signer_public_key_hex"));
      EXPECT_EQ(to_hex(inputs[s]), listed_sigs[s].at("signing_input_hex")) << kRegenerate;
      EXPECT_EQ(to_hex(sigs[s]), listed_sigs[s].at("signature_hex")) << kRegenerate;
    }
  }
}

TEST(Vectors, ListedEncodingsDecodeAndVerify) {
  const Json doc = load("messages.json");
  const auto keys = keys_by_name(doc);
  const crypto::PublicKey outsider = keys.at("client 2");  // signs no message
  Json listings = doc.at("messages");
  for (const auto& earlier : doc.at("earlier_encodings")) listings.push_back(earlier);
  for (const auto& listed : listings) {
    SCOPED_TRACE(listed.at("kind").get<std::string>());
    const Bytes encoding = hex(listed.at("encoding_hex"));
    EXPECT_EQ(to_hex(crypto::sha256(encoding)), listed.at("message_hash_hex"));

    auto decoded = protocol::decode_any(encoding);
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    EXPECT_EQ(static_cast<int>(kind_of(*decoded)), listed.at("kind_number").get<int>());
    EXPECT_EQ(protocol::encode_any(*decoded), encoding);
    EXPECT_EQ(fields_to_json(*decoded), listed.at("fields"));

    // The fields alone, plus the listed signatures, give the same bytes.
    auto rebuilt =
        message_from_fields(listed.at("kind_number").get<std::uint8_t>(), listed.at("fields"));
    std::vector<crypto::Signature> sigs;
    for (const auto& s : listed.at("signatures")) sigs.push_back(fixed<64>(s.at("signature_hex")));
    set_signatures(rebuilt, sigs);
    EXPECT_EQ(protocol::encode_any(rebuilt), encoding);

    const auto inputs = signing_inputs(*decoded);
    const auto tags = signature_tags(*decoded);
    ASSERT_EQ(inputs.size(), listed.at("signatures").size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const auto& s = listed.at("signatures")[i];
      const auto signer = fixed(s.at("signer_public_key_hex"));
      EXPECT_EQ(keys.at(s.at("signer").get<std::string>()), signer);
      EXPECT_EQ(s.at("tag"), tags[i]);
      EXPECT_EQ(hex(s.at("signing_input_hex")), inputs[i]);
      // The signatures are the last 64 bytes each of the encoding, in order.
      const std::size_t offset = encoding.size() - 64 * (inputs.size() - i);
      EXPECT_EQ(Bytes(encoding.begin() + static_cast<std::ptrdiff_t>(offset),
                      encoding.begin() + static_cast<std::ptrdiff_t>(offset + 64)),
                hex(s.at("signature_hex")));
      EXPECT_TRUE(verify_any(*decoded, signer, i));
      EXPECT_TRUE(
          crypto::verify(signer, hex(s.at("signing_input_hex")), fixed<64>(s.at("signature_hex"))));
      EXPECT_FALSE(verify_any(*decoded, outsider, i));
    }
  }
}

TEST(Vectors, FilesAreCurrent) {
  const Keys keys;
  EXPECT_TRUE(messages_document(keys) == load("messages.json")) << "messages.json: " << kRegenerate;
  EXPECT_TRUE(chains_document(keys) == load("chains.json")) << "chains.json: " << kRegenerate;
}

// ---- chains.json -----------------------------------------------------------------------------

TEST(Vectors, ReceiptTipChain) {
  const Json doc = load("chains.json");
  const auto keys = keys_by_name(doc);
  const auto& chain = doc.at("receipt_tip");
  const auto session_id = chain.at("session_id").get<protocol::SessionId>();
  Hash32 tip = fixed(chain.at("initial_tip_hex"));
  EXPECT_TRUE(tip.is_zero());
  std::uint64_t index = 0;
  for (const auto& step : chain.at("steps")) {
    ++index;
    SCOPED_TRACE("receipt " + std::to_string(index));
    EXPECT_EQ(step.at("receipt_index"), index);
    EXPECT_EQ(fixed(step.at("previous_tip_hex")), tip);
    const Hash32 digest_hash = chains::message_hash(hex(step.at("digest_hex")));
    EXPECT_EQ(fixed(step.at("digest_hash_hex")), digest_hash);
    tip = chains::next_receipt_tip(session_id, index, tip, digest_hash);
    EXPECT_EQ(to_hex(tip), step.at("tip_hex")) << kRegenerate;

    const auto digest = decode_as<protocol::TranscriptDigest>(step.at("digest_hex"));
    EXPECT_TRUE(protocol::verify(digest, keys.at("gs session")));
    const auto receipt = decode_as<protocol::ProtectedReceipt>(step.at("receipt_hex"));
    EXPECT_TRUE(protocol::verify(receipt, keys.at("vs")));
    EXPECT_EQ(receipt.session_id, session_id);
    EXPECT_EQ(receipt.receipt_index, index);
    EXPECT_EQ(receipt.gs_counter, digest.gs_counter);
    EXPECT_EQ(receipt.digest_hash, digest_hash);
    EXPECT_EQ(receipt.receipt_tip, tip);
  }
  EXPECT_EQ(index, 3u);
}

TEST(Vectors, InputsHashChain) {
  const Json doc = load("chains.json");
  const auto keys = keys_by_name(doc);
  const auto& chain = doc.at("inputs_hash");
  Hash32 value = fixed(chain.at("initial_hex"));
  EXPECT_TRUE(value.is_zero());
  std::uint64_t seq = 0;
  for (const auto& step : chain.at("steps")) {
    ++seq;
    SCOPED_TRACE("input " + std::to_string(seq));
    const Bytes input_bytes = hex(step.at("client_input_hex"));
    EXPECT_EQ(to_hex(crypto::sha256(input_bytes)), step.at("client_input_hash_hex"));
    EXPECT_EQ(fixed(step.at("previous_hex")), value);
    value = chains::next_inputs_hash(value, input_bytes);
    EXPECT_EQ(to_hex(value), step.at("inputs_hash_hex")) << kRegenerate;

    const auto input = decode_as<protocol::ClientInput>(step.at("client_input_hex"));
    EXPECT_EQ(input.client_key, keys.at("client"));
    EXPECT_EQ(input.client_seq, seq);
    EXPECT_TRUE(protocol::verify(input, input.client_key));
  }
  EXPECT_EQ(seq, 3u);
  // Digest 1 carries the chain's last value.
  const auto digest =
      decode_as<protocol::TranscriptDigest>(doc.at("receipt_tip").at("steps")[0].at("digest_hex"));
  EXPECT_EQ(digest.inputs_hash, value);
}

TEST(Vectors, LogEntryChainAndCheckpoint) {
  const Json doc = load("chains.json");
  const auto keys = keys_by_name(doc);
  const auto& chain = doc.at("log_entries");
  Hash32 prev{};
  std::vector<Hash32> leaves;
  for (const auto& entry : chain.at("entries")) {
    SCOPED_TRACE("entry " + entry.at("seq").dump());
    chains::LogEntryHeader header;
    header.seq = entry.at("seq");
    EXPECT_EQ(header.seq, leaves.size());
    header.kind = static_cast<protocol::MessageKind>(entry.at("kind_number").get<std::uint8_t>());
    header.direction =
        static_cast<chains::Direction>(entry.at("direction_number").get<std::uint8_t>());
    header.session_id = entry.at("session_id");
    header.vs_time_ms = entry.at("vs_time_ms");
    header.prev_entry_hash = fixed(entry.at("prev_entry_hash_hex"));
    EXPECT_EQ(header.prev_entry_hash, prev);
    EXPECT_EQ(entry.at("kind"), protocol::kind_name(header.kind));
    EXPECT_EQ(entry.at("direction"),
              header.direction == chains::Direction::kReceived ? "received" : "issued");

    const Bytes message = hex(entry.at("message_hex"));
    auto kind = protocol::peek_kind(message);
    ASSERT_TRUE(kind.ok()) << kind.error();
    EXPECT_EQ(*kind, header.kind);
    EXPECT_TRUE(protocol::decode_any(message).ok());

    prev = chains::log_entry_hash(header, message);
    EXPECT_EQ(to_hex(prev), entry.at("entry_hash_hex")) << kRegenerate;
    leaves.push_back(prev);
  }
  ASSERT_EQ(leaves.size(), 4u);

  const auto& checkpoint_json = chain.at("checkpoint");
  EXPECT_EQ(checkpoint_json.at("log_size"), leaves.size());
  EXPECT_EQ(to_hex(merkle::root(leaves)), checkpoint_json.at("root_hex"));
  const auto checkpoint = decode_as<protocol::Checkpoint>(checkpoint_json.at("checkpoint_hex"));
  EXPECT_EQ(checkpoint.log_size, leaves.size());
  EXPECT_EQ(checkpoint.root, merkle::root(leaves));
  EXPECT_TRUE(protocol::verify(checkpoint, keys.at("vs")));
}

TEST(Vectors, TicketChainAnchoredAtJoinAccept) {
  const Json doc = load("chains.json");
  const auto keys = keys_by_name(doc);
  const auto& chain = doc.at("tickets");
  const Bytes join_accept_bytes = hex(chain.at("join_accept_hex"));
  const auto join_accept = decode_as<protocol::JoinAccept>(chain.at("join_accept_hex"));
  EXPECT_TRUE(protocol::verify(join_accept, keys.at("vs")));
  Hash32 prev = chains::message_hash(join_accept_bytes);
  EXPECT_EQ(to_hex(prev), chain.at("join_accept_hash_hex"));
  std::uint64_t seq = 0;
  for (const auto& entry : chain.at("tickets")) {
    ++seq;
    SCOPED_TRACE("ticket " + std::to_string(seq));
    EXPECT_EQ(entry.at("ticket_seq"), seq);
    EXPECT_EQ(fixed(entry.at("prev_ticket_hash_hex")), prev);
    const Bytes ticket_bytes = hex(entry.at("ticket_hex"));
    const auto ticket = decode_as<protocol::PlayTicket>(entry.at("ticket_hex"));
    EXPECT_EQ(ticket.session_id, join_accept.session_id);
    EXPECT_EQ(ticket.ticket_seq, seq);
    EXPECT_EQ(ticket.prev_ticket_hash, prev);
    EXPECT_EQ(ticket.not_after_ms - ticket.issued_ms, join_accept.ticket_validity_ms);
    EXPECT_TRUE(protocol::verify(ticket, keys.at("vs")));
    prev = chains::message_hash(ticket_bytes);
    EXPECT_EQ(to_hex(prev), entry.at("ticket_hash_hex")) << kRegenerate;
  }
  EXPECT_EQ(seq, 3u);
}

TEST(Vectors, ClientBindingBatchAndProofs) {
  const Json doc = load("chains.json");
  const auto& binding = doc.at("client_binding");
  std::vector<Nonce32> nonces;
  for (const auto& n : binding.at("nonces_hex")) nonces.push_back(fixed(n));
  ASSERT_EQ(nonces.size(), 5u);
  std::vector<Hash32> leaves;
  for (std::size_t i = 0; i < nonces.size(); ++i) {
    leaves.push_back(merkle::leaf_hash(nonces[i].view()));
    EXPECT_EQ(to_hex(leaves.back()), binding.at("leaf_hashes_hex")[i]);
  }
  const Hash32 root = client_binding::root(nonces);
  EXPECT_EQ(to_hex(root), binding.at("root_hex")) << kRegenerate;
  EXPECT_EQ(root, merkle::root(leaves));
  EXPECT_EQ(to_hex(client_binding::root({})), binding.at("empty_batch_root_hex"));
  EXPECT_EQ(client_binding::root({}), merkle::empty_root());

  const auto batch_size = static_cast<std::uint32_t>(nonces.size());
  ASSERT_EQ(binding.at("proofs").size(), nonces.size());
  for (const auto& entry : binding.at("proofs")) {
    const auto index = entry.at("index").get<std::uint32_t>();
    SCOPED_TRACE("leaf " + std::to_string(index));
    EXPECT_EQ(fixed(entry.at("nonce_hex")), nonces.at(index));
    std::vector<Hash32> proof;
    for (const auto& h : entry.at("proof_hex")) proof.push_back(fixed(h));
    EXPECT_EQ(client_binding::proof(nonces, index), proof) << kRegenerate;
    EXPECT_TRUE(client_binding::verify(nonces[index], index, batch_size, proof, root));
    EXPECT_TRUE(merkle::verify_inclusion(leaves[index], index, batch_size, proof, root));
    EXPECT_FALSE(
        client_binding::verify(nonces[(index + 1) % batch_size], index, batch_size, proof, root));
  }

  // Ticket 1 binds this batch; the NonceBatch of messages.json carries it.
  const auto ticket =
      decode_as<protocol::PlayTicket>(doc.at("tickets").at("tickets")[0].at("ticket_hex"));
  EXPECT_EQ(ticket.client_binding, root);
  EXPECT_EQ(ticket.nonce_count, batch_size);
  const Json messages = load("messages.json");
  const auto batch = decode_as<protocol::NonceBatch>(messages.at("messages")[6].at("encoding_hex"));
  EXPECT_EQ(batch.nonces, nonces);
}

// Each step from the spec's words (PROTOCOL.md §5.11.1), not from the code that signs.
TEST(Vectors, ReceiptBatchLeavesRootAndStatement) {
  const Json doc = load("chains.json");
  const crypto::PublicKey vs = keys_by_name(doc).at("vs");
  auto text = [](std::string_view tag) { return Bytes(tag.begin(), tag.end()); };
  const auto& c = doc.at("receipt_batch");
  const auto count = c.at("leaf_count").get<std::uint32_t>();
  ASSERT_EQ(c.at("receipts").size(), count);
  std::vector<Hash32> leaves;
  for (const auto& r : c.at("receipts")) {
    const Bytes bytes = hex(r.at("receipt_hex"));
    ASSERT_EQ(bytes.at(0), 2);
    Bytes leaf_input = text("gsvs/v2/protected_receipt");
    leaf_input.push_back(0);
    leaf_input.insert(leaf_input.end(), bytes.begin(), bytes.begin() + 106);
    EXPECT_EQ(to_hex(leaf_input), r.at("leaf_input_hex"));
    leaves.push_back(merkle::leaf_hash(leaf_input));
    EXPECT_EQ(to_hex(leaves.back()), r.at("leaf_hash_hex"));
  }
  const Hash32 root = merkle::root(leaves);
  EXPECT_EQ(to_hex(root), c.at("root_hex"));
  Bytes statement = text("gsvs/v2/receipt_batch");
  statement.push_back(0);
  statement.insert(statement.end(), root.bytes.begin(), root.bytes.end());
  statement.insert(statement.end(), {static_cast<std::uint8_t>(count), 0, 0, 0});
  EXPECT_EQ(to_hex(statement), c.at("statement_hex"));
  const auto signature = fixed<64>(c.at("signature_hex"));
  EXPECT_TRUE(crypto::verify(vs, statement, signature));
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto& r = c.at("receipts")[i];
    const auto receipt = decode_as<protocol::ProtectedReceipt>(r.at("receipt_hex"));
    ASSERT_TRUE(receipt.batch.has_value());
    EXPECT_EQ(receipt.batch->leaf_index, i);
    EXPECT_EQ(receipt.batch->leaf_count, count);
    std::vector<Hash32> proof;
    for (const auto& h : r.at("proof_hex")) proof.push_back(fixed(h));
    EXPECT_EQ(receipt.batch->proof, proof);
    EXPECT_EQ(merkle::inclusion_proof(leaves, i), proof);
    EXPECT_EQ(receipt.signatures[0], signature);
    EXPECT_TRUE(protocol::verify(receipt, vs));
  }
}

}  // namespace
}  // namespace gsvs::test_samples
