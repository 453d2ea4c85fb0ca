#include "audit-cli/common.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <optional>

#include "app/log_line.h"
#include "protocol/keyfile.h"

namespace gsvs::audit {

using protocol::MessageKind;

Result<std::unique_ptr<storage::Log>> open_store(const std::string& path,
                                                 std::optional<storage::StoreRole> role) {
  if (!role) return storage::Log::open(path, storage::OpenMode::kReadOnly);
  return storage::Log::open(path, storage::OpenMode::kReadOnly, *role);
}

std::string kind_label(std::uint8_t kind) {
  if (protocol::is_known(static_cast<MessageKind>(kind))) {
    return std::string(protocol::kind_name(static_cast<MessageKind>(kind)));
  }
  return "unknown kind " + std::to_string(kind);
}

std::string kind_label(MessageKind kind) { return kind_label(static_cast<std::uint8_t>(kind)); }

bool known_revocation_reason(std::uint16_t reason) {
  return protocol::is_known(static_cast<protocol::RevocationReason>(reason));
}

std::string revocation_reason_name(std::uint16_t reason) {
  return std::string(protocol::reason_name(static_cast<protocol::RevocationReason>(reason)));
}

std::string revocation_reason_label(std::uint16_t reason) {
  if (!known_revocation_reason(reason)) return "unknown reason " + std::to_string(reason);
  return revocation_reason_name(reason) + " (" + std::to_string(reason) + ")";
}

bool verify_stored_signature(MessageKind kind, ByteView message, std::size_t index,
                             const crypto::PublicKey& key) {
  if (kind == MessageKind::kProtectedReceipt && !message.empty() &&
      message[0] == protocol::kBatchedReceiptVersion) {
    // Signed in a batch (PROTOCOL.md §5.11.1): the signature is over the batch's root, which
    // only the decoded receipt and its proof give.
    auto receipt = protocol::decode<protocol::ProtectedReceipt>(message);
    if (!receipt || index >= receipt->signatures.size()) return false;
    // Decoding refused a proof that is no path, so the statement is the batch's.
    const Bytes statement = protocol::signing_input(*receipt, index);
    // The receipts of one batch share the statement and the signature and lie close together in
    // a log, though the batches of several session loops interleave there: a thread remembers
    // the last few it checked, so a batch of 64 costs one verify, not 64. Exact on (key,
    // statement, signature), since a verify depends on nothing else.
    struct Verified {
      crypto::PublicKey key;
      Bytes statement;
      crypto::Signature signature;
      bool valid = false;
    };
    constexpr std::size_t kRemembered = 8;
    thread_local std::array<std::optional<Verified>, kRemembered> remembered;
    thread_local std::size_t next_slot = 0;
    const crypto::Signature& signature = receipt->signatures[index];
    for (const auto& seen : remembered) {
      if (seen && seen->signature == signature && seen->key == key &&
          seen->statement == statement) {
        return seen->valid;
      }
    }
    const bool valid = crypto::verify(key, statement, signature);
    remembered[next_slot] = Verified{key, statement, signature, valid};
    next_slot = (next_slot + 1) % kRemembered;
    return valid;
  }
  const auto tags = signature_tags(kind);
  const std::size_t sig_bytes = tags.size() * crypto::Signature::size;
  if (index >= tags.size() || message.size() < sig_bytes + 2) return false;
  const std::size_t body = message.size() - sig_bytes;
  // Per thread: workers verify many signatures and the input is rebuilt each time.
  thread_local Bytes input;
  input.clear();
  input.reserve(tags[index].size() + 1 + body);
  const ByteView tag = as_bytes(tags[index]);
  input.insert(input.end(), tag.begin(), tag.end());
  input.push_back(0);
  input.insert(input.end(), message.begin(), message.begin() + static_cast<std::ptrdiff_t>(body));
  crypto::Signature signature;
  const std::size_t at = body + index * crypto::Signature::size;
  for (std::size_t i = 0; i < crypto::Signature::size; ++i) signature.bytes[i] = message[at + i];
  return crypto::verify(key, input, signature);
}

Result<KeySource> load_public_key(const std::string& hex_or_file, const std::string& option) {
  auto key = keyfile::public_key_from_hex_or_file(hex_or_file);
  if (!key) return Error{option + ": " + key.error()};
  const bool is_hex = keyfile::parse_public_key_hex(hex_or_file).ok();
  return KeySource{*key, is_hex ? option : option + " " + hex_or_file};
}

std::string format_utc(std::uint64_t unix_ms) { return app::utc_time_text(unix_ms); }

std::string group_digits(std::uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string fixed(double value, int decimals) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%.*f", decimals, value);
  return text.data();
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace gsvs::audit
