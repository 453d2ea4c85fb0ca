#include "protocol/chains.h"

#include "protocol/coding.h"
#include "protocol/crypto.h"

namespace gsvs::chains {

namespace {
// Every chain input opens with its tag and a 0x00.
coding::Writer tagged(std::string_view tag) {
  coding::Writer w;
  w.raw(as_bytes(tag));
  w.u8(0);
  return w;
}
}  // namespace

Hash32 message_hash(ByteView encoded_message) { return crypto::sha256(encoded_message); }

Hash32 next_receipt_tip(protocol::SessionId session_id, std::uint64_t receipt_index,
                        const Hash32& previous_tip, const Hash32& digest_hash) {
  auto w = tagged("gsvs/v1/receipt_tip");
  w.u64(session_id);
  w.u64(receipt_index);
  w.fixed(previous_tip);
  w.fixed(digest_hash);
  return crypto::sha256(w.bytes());
}

Hash32 next_inputs_hash(const Hash32& previous, ByteView client_input_bytes) {
  auto w = tagged("gsvs/v1/inputs");
  w.fixed(previous);
  w.fixed(crypto::sha256(client_input_bytes));
  return crypto::sha256(w.bytes());
}

Hash32 log_entry_hash(const LogEntryHeader& header, ByteView message_bytes) {
  auto w = tagged("gsvs/v1/log_entry");
  w.u64(header.seq);
  w.u8(static_cast<std::uint8_t>(header.kind));
  w.u8(static_cast<std::uint8_t>(header.direction));
  w.u64(header.session_id);
  w.u64(header.vs_time_ms);
  w.fixed(header.prev_entry_hash);
  w.u32(static_cast<std::uint32_t>(message_bytes.size()));
  crypto::Sha256 h;
  h.update(w.bytes()).update(message_bytes);
  return h.finish();
}

std::optional<Direction> logged_direction(StoreOwner owner, protocol::MessageKind kind) {
  const protocol::KindRole* role = protocol::kind_role(kind);
  if (role == nullptr) return std::nullopt;
  if (role->route == protocol::Route::kGsToVs) {
    return owner == StoreOwner::kVs ? Direction::kReceived : Direction::kIssued;
  }
  if (!protocol::vs_signed(kind)) return std::nullopt;
  if (owner == StoreOwner::kVs) return Direction::kIssued;
  if (role->route == protocol::Route::kVsToGs) return Direction::kReceived;
  return std::nullopt;
}

}  // namespace gsvs::chains
