// Small pieces every audit command shares: opening a store read-only, naming kinds and reasons
// (including values no build knows), checking one signature straight from stored bytes, and
// formatting times and hashes for people.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/bytes.h"
#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::audit {

// Opens a store for auditing: read-only, never creating or changing anything (docs/STORE.md §6.2).
// The error says what is wrong (no such file, not a gsvs store, unknown schema version, a store
// of another role than `role`; nullopt takes either).
Result<std::unique_ptr<storage::Log>> open_store(
    const std::string& path, std::optional<storage::StoreRole> role = storage::StoreRole::kVs);

using protocol::named_session;

// A kind as the byte the log's kind column and Finding::kind hold.
constexpr std::uint8_t kind_code(protocol::MessageKind kind) {
  return static_cast<std::uint8_t>(kind);
}

// "Heartbeat", or "unknown kind 42" for a value that is no kind.
std::string kind_label(std::uint8_t kind);
std::string kind_label(protocol::MessageKind kind);
// "speed_violation (5)", or "unknown reason 77".
std::string revocation_reason_label(std::uint16_t reason);
// "speed_violation", or "unknown": the name of a code as stored.
std::string revocation_reason_name(std::uint16_t reason);
// protocol::is_known for a reason code as stored.
[[nodiscard]] bool known_revocation_reason(std::uint16_t reason);

// The signature tags of a kind (protocol/messages.h).
using protocol::signature_tags;

// Verifies signature `index` of a stored message of `kind` under `key`, from the stored bytes:
// the signed input is tag || 0x00 || the bytes before the signatures, and the signatures are the
// last 64-byte blocks; a batched receipt's is checked against its batch's root, once per batch
// while a thread meets its receipts close together. Only meaningful for bytes that decode
// (canonical encoding, §2.6).
[[nodiscard]] bool verify_stored_signature(protocol::MessageKind kind, ByteView message,
                                           std::size_t index, const crypto::PublicKey& key);

// Where a public key given as HEX|FILE came from, for the output.
struct KeySource {
  crypto::PublicKey key;
  std::string origin;  // "--vs-pubkey", "file vs.key.pub", ...
};
// HEX|FILE as in docs/PROTOCOL.md §7.
Result<KeySource> load_public_key(const std::string& hex_or_file, const std::string& option);

// 2024-05-01T12:00:00.123Z, as the programs' log lines write times (app::utc_time_text).
std::string format_utc(std::uint64_t unix_ms);
// 1234567 -> "1,234,567"
std::string group_digits(std::uint64_t value);
// Fixed-point text with `decimals` digits ("3.142").
std::string fixed(double value, int decimals);

// Parses "42" as a session id; nullopt otherwise.
std::optional<std::uint64_t> parse_u64(std::string_view text);

}  // namespace gsvs::audit
