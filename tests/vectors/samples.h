// Deterministic samples of every protocol message and chain, built from fixed key seeds. The
// generator (gen_vectors.cpp) writes them to messages.json and chains.json; vectors_test.cpp
// re-derives them and compares. Ed25519 signatures are deterministic, so the same code always
// yields the same bytes: any change here or in the library that alters them changes the wire
// format and must be deliberate.
//
// All integers in the samples stay below 2^53, so the JSON reads the same in every language.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"

namespace gsvs::test_samples {

// Objects keep their insertion order, so the files read in declaration order.
using Json = nlohmann::ordered_json;

// "gsvs test vector key: " followed by the key's name; its SHA-256 is the Ed25519 seed.
inline constexpr std::string_view kKeySeedPrefix = "gsvs test vector key: ";

struct NamedKey {
  std::string name;        // "vs", "gs identity", ...
  std::string seed_label;  // kKeySeedPrefix + name
  crypto::SecretKey key;
};

// The keys of the samples, in a fixed order: vs, gs identity, gs session, client, client 2.
class Keys {
 public:
  Keys();
  [[nodiscard]] const crypto::SecretKey& vs() const { return keys_[0].key; }
  [[nodiscard]] const crypto::SecretKey& gs_identity() const { return keys_[1].key; }
  [[nodiscard]] const crypto::SecretKey& gs_session() const { return keys_[2].key; }
  [[nodiscard]] const crypto::SecretKey& client() const { return keys_[3].key; }
  [[nodiscard]] const crypto::SecretKey& client2() const { return keys_[4].key; }
  // A second node of the VS's fleet, which adopts the sample session (PROTOCOL.md §8.10).
  [[nodiscard]] const crypto::SecretKey& vs_node_b() const { return keys_[5].key; }
  [[nodiscard]] const std::vector<NamedKey>& all() const { return keys_; }
  // The name of the key whose public half is `key`, or "" if none.
  [[nodiscard]] std::string name_of(const crypto::PublicKey& key) const;

 private:
  std::vector<NamedKey> keys_;
};

// SHA-256 of `label`: the seed, nonce and hash values of the samples are all made this way.
Hash32 labelled(std::string_view label);

struct SampleMessage {
  std::string description;  // the message's role in the sample session
  protocol::AnyMessage message;
  // Who signed signature i. Same length as the message's kSignatureTags.
  std::vector<crypto::PublicKey> signers;
};

// One signed sample of every kind, in kind order 1 .. kMaxMessageKind. The samples form one
// session: the JoinAccept answers the JoinRequest, the PlayTicket is ticket 1 of chains.json,
// and so on.
std::vector<SampleMessage> sample_messages(const Keys& keys);
// Encodings that earlier builds wrote and every build still reads: a VsStart of version 1.
std::vector<SampleMessage> earlier_encodings(const Keys& keys);

// The JSON documents written to tests/vectors. Both embed the keys section.
Json messages_document(const Keys& keys);
Json chains_document(const Keys& keys);
Json keys_json(const Keys& keys);

// The fields of a message as JSON, in declaration order: integers as numbers, fixed-size values
// and blobs as lowercase hex, texts as strings, lists as arrays. Signatures are not fields.
Json fields_to_json(const protocol::AnyMessage& message);
// The inverse, for a kind number in 1 .. kMaxMessageKind, with all signatures zero. Throws
// std::invalid_argument (or nlohmann::json::exception) on a field that is missing or malformed.
protocol::AnyMessage message_from_fields(std::uint8_t kind_number, const Json& fields);

// The vector files: tests/vectors under GSVS_SOURCE_DIR (ctest sets it to the repository root),
// else under the current directory. Throws std::runtime_error when `name` cannot be read.
Json load_vectors_file(std::string_view name);
// The bytes of a JSON string of hex; throws std::invalid_argument on anything else.
Bytes bytes_from_hex(const Json& hex);

std::string_view kind_name(const protocol::AnyMessage& message);
using protocol::kind_of;
std::vector<Bytes> signing_inputs(const protocol::AnyMessage& message);
std::vector<crypto::Signature> signatures_of(const protocol::AnyMessage& message);
std::vector<std::string_view> signature_tags(const protocol::AnyMessage& message);

}  // namespace gsvs::test_samples
