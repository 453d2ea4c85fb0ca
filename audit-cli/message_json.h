// One JSON shape for every decoded message, used wherever the audit prints or exports one:
// fields named as in docs/PROTOCOL.md §5, in the wire order's names; integers as JSON numbers;
// keys, hashes, nonces, signatures and blobs as lower-case hex; texts as strings; lists as
// arrays (TranscriptDigest players as objects). The signatures are the array "signatures".
// Also the one way the commands print a JSON document.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "protocol/messages.h"

namespace gsvs::audit {

nlohmann::json message_fields(const protocol::AnyMessage& message);
// `document` indented by two spaces, each byte of a text that is not UTF-8 (a store's path, a
// name read from a hand-edited store) printed as U+FFFD: JSON holds only UTF-8, and an output
// must never fail on what it quotes.
std::string json_text(const nlohmann::json& document);
// The movement limits a JoinAccept signs (PROTOCOL.md §8.7), as the JSON outputs name them.
nlohmann::json signed_limits_json(const protocol::JoinAccept& accept);
// Hashes (proofs, frontiers) or signatures as a JSON array of lower-case hex.
template <class Range>
nlohmann::json hex_list(const Range& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) out.push_back(to_hex(item));
  return out;
}

// The key that must verify one signature of a message (protocol::kKindRoles says which).
using Signer = protocol::SigningKey;
// "vs", "gs_identity", "gs_session", "client": the names the report's JSON uses.
std::string_view signer_name(Signer signer);

// A receipt signed in a batch (PROTOCOL.md §5.11.1): the leaf input is leaf_tag || 0x00 ||
// message[0, signed_bytes), and the signing input is tag || 0x00 || root || leaf_count u32le.
struct BatchSlot {
  std::string_view leaf_tag;
  std::uint32_t leaf_index = 0;
  std::uint32_t leaf_count = 0;
  std::vector<Hash32> proof;
  Hash32 root;  // where the proof leads from the leaf
};
struct SignatureSlot {
  std::string_view tag;
  Signer signer = Signer::kVs;
  protocol::Signature signature;
  std::size_t signed_bytes = 0;  // signing input = tag || 0x00 || message[0, signed_bytes)
  std::optional<BatchSlot> batch;
};
// Every signature of a message with its tag and signer role (empty for unsigned kinds).
std::vector<SignatureSlot> signature_slots(const protocol::AnyMessage& message,
                                           std::size_t encoded_size);

}  // namespace gsvs::audit
