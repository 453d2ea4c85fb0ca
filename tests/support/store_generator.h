// A deterministic VS store, written straight through storage::Log without running vsd: the same
// seed and options always give the same bytes. It plays a VS and its game servers on a
// simulated clock: joins (and rejected joins), heartbeats, digests of moving players with their
// receipts and receipt tips, nonce batches bound into tickets, checkpoints, and sessions that end
// with every kind of revocation, each with the evidence vsd would cite. Every message is signed
// (VS key and session keys from fixed seeds) and every store it writes verifies as intact.
//
// A single-file store is written with storage::Log::append. A segmented store (docs/STORE.md §10)
// is written through the storage::BatchWriter vsd appends with, which rotates it: each full
// segment is sealed by a Checkpoint at the log head, signed as vsd signs its seals, and the next
// segment links to it.
//
// Used by the audit tests (tampering starts from a known-good store) and by the audit and long-run
// benchmarks (stores of millions of entries).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::testing {

struct StoreGeneratorOptions {
  std::uint64_t seed = 1;
  std::uint64_t min_entries = 5000;  // starts sessions until the log holds at least this many
  std::uint32_t concurrent_sessions = 4;
  std::uint32_t players_per_session = 3;
  std::uint32_t session_seconds = 30;    // mean session length (each varies by +-50 %)
  std::uint32_t checkpoint_every = 500;  // entries between checkpoints
  std::size_t commit_entries = 4096;     // rows per transaction
  // End sessions with every revocation reason in turn (speed, bad signature, counter, build,
  // receipt tip, malformed frame, session mismatch, operator, missed heartbeats) and add rejected
  // joins. Off: sessions end only by missed heartbeats, and by vs_shutdown at the end.
  bool misbehaviour = true;
  std::uint64_t start_ms = 1'700'000'000'000;
  // Only for a segmented store: the writer seals the active segment and starts the next once it
  // holds about this many bytes (BatchWriter::Options::segment_max_bytes; vsd's
  // segment_max_bytes). 0: never, one segment.
  std::uint64_t segment_max_bytes = 0;
  // Above 1: every receipt with an odd receipt_index is signed in a batch of this many
  // (PROTOCOL.md §5.11.1), beside receipts of sessions that are not in the log, as a VS signs
  // those of all its sessions together; the others are signed alone (version 1).
  std::uint32_t receipt_batch = 1;
  // Each quarantining revocation is followed by the operator's Pardon of its identity (PROTOCOL.md
  // §8.16), as a long-lived log whose old segments retention may retire has them.
  bool pardon_quarantines = false;
};

struct GeneratedSession {
  protocol::SessionId id = 0;
  crypto::PublicKey gs_identity;
  crypto::PublicKey session_key;
  Hash32 sw_hash;
  std::uint64_t join_request_seq = 0;
  std::uint64_t join_accept_seq = 0;
  std::uint64_t start_vs_ms = 0;
  std::optional<protocol::RevocationReason> reason;  // every session ends revoked
  std::uint64_t revocation_seq = 0;                  // log position of its Revocation
  std::vector<std::uint64_t> evidence;
  std::string detail;
  std::uint64_t heartbeats = 0;  // received entries of each kind, bad ones included
  std::uint64_t digests = 0;
  std::uint64_t nonce_batches = 0;
  std::uint64_t receipts = 0;
  std::uint64_t tickets = 0;
  std::vector<crypto::PublicKey> players;
};

struct GeneratedStore {
  crypto::PublicKey vs_public_key;
  std::uint64_t entries = 0;
  std::vector<GeneratedSession> sessions;  // in session id order
  std::vector<std::uint64_t> join_reject_seqs;
  std::uint64_t last_checkpoint_seq = 0;
  Bytes last_checkpoint;  // its message bytes, as a GS would hold it
  // Up to 8 positions of each kind, in log order: where tests find something to tamper with.
  std::map<protocol::MessageKind, std::vector<std::uint64_t>> samples;

  [[nodiscard]] const GeneratedSession* session(protocol::SessionId id) const;
  [[nodiscard]] const GeneratedSession* ended_by(protocol::RevocationReason reason) const;
};

// The keys of a generated store: tests use them to forge what a rogue GS or a rogue VS would
// sign (the store's own messages stay as generated).
crypto::SecretKey generator_vs_key(std::uint64_t seed);
crypto::SecretKey generator_session_key(std::uint64_t seed, protocol::SessionId session);

// Writes a new store at `path` (which must not exist): a segmented store when `path` ends in '/',
// else a single-file store. The error says what failed.
Result<GeneratedStore> generate_store(const std::string& path,
                                      const StoreGeneratorOptions& options);

}  // namespace gsvs::testing
