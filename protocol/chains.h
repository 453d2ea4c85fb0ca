// The hash chains of the protocol and the store. Every input starts with a distinct ASCII tag and
// a 0x00, so no chain value can be passed off as another's. docs/PROTOCOL.md §6 gives each layout.
#pragma once

#include <cstdint>
#include <optional>

#include "protocol/bytes.h"
#include "protocol/messages.h"

namespace gsvs::chains {

// SHA-256 of a message's full encoding (signatures included): ticket hashes, join request
// hashes, digest hashes.
Hash32 message_hash(ByteView encoded_message);

// receipt_tip before any receipt: 32 zero bytes. After receipt n (1-based):
//   SHA-256("gsvs/v1/receipt_tip" 0x00 || session_id u64 || n u64 || tip[n-1] || digest_hash[n])
Hash32 next_receipt_tip(protocol::SessionId session_id, std::uint64_t receipt_index,
                        const Hash32& previous_tip, const Hash32& digest_hash);

// prev_ticket_hash of ticket 1 is the hash of the JoinAccept; of ticket n > 1, the hash of
// ticket n-1. Both are message_hash of the exact bytes.

// The GS's inputs_hash in a TranscriptDigest: starts at 32 zero bytes after each digest, then
//   SHA-256("gsvs/v1/inputs" 0x00 || previous || SHA-256(client_input_bytes))
// for every ClientInput accepted, in order of acceptance.
Hash32 next_inputs_hash(const Hash32& previous, ByteView client_input_bytes);

// One row of the VS log. The entry hash chains the rows and is the Merkle leaf of checkpoints:
//   SHA-256("gsvs/v1/log_entry" 0x00 || seq u64 || kind u8 || direction u8 || session_id u64 ||
//           vs_time_ms u64 || prev_entry_hash || u32 length || message bytes)
// prev_entry_hash of entry 0 is 32 zero bytes.
enum class Direction : std::uint8_t { kReceived = 1, kIssued = 2 };

// Whose log a row is in: the VS's, or a GS's own store (docs/STORE.md §2).
enum class StoreOwner : std::uint8_t { kVs, kGs };

// The direction in which `owner` logs the messages of `kind` it exchanges with the other side:
// what it sends, or the VS writes for itself, is issued; what it gets is received. nullopt for a
// kind it never logs: client traffic, the unsigned VsChallenge, and, in a GS's store, what the VS
// writes only for itself. A VS also logs, as received in its session, a frame of any other kind
// that a GS sent: the evidence of a malformed_message revocation (PROTOCOL.md §8.5).
std::optional<Direction> logged_direction(StoreOwner owner, protocol::MessageKind kind);

struct LogEntryHeader {
  std::uint64_t seq = 0;
  protocol::MessageKind kind = protocol::MessageKind::kVsChallenge;
  Direction direction = Direction::kReceived;
  protocol::SessionId session_id = 0;  // 0 when the message belongs to no session
  std::uint64_t vs_time_ms = 0;
  Hash32 prev_entry_hash;
};

Hash32 log_entry_hash(const LogEntryHeader& header, ByteView message_bytes);

}  // namespace gsvs::chains
