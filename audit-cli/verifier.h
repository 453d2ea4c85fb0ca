// The streaming store verifier behind `audit-cli verify`. One pass over the log, in constant
// memory in the number of entries (batches of rows; per-session state only while a session is
// live), checking:
//   - the chain: seq contiguous from 0, every entry_hash recomputed from the stored columns
//     (chains::log_entry_hash), every prev_hash link, kind/direction/kind_name columns;
//   - every signature (Ed25519, libsodium rules), on a worker pool: VS-issued kinds under the VS
//     key, session traffic under the session key its JoinAccept binds, JoinRequest's two;
//   - joins: every JoinRequest outside a live session answered by the entry right after it, a
//     JoinAccept or a JoinReject carrying its hash, in the order of rules/join_rules.h as far as
//     the log decides it; an accepted request's fields, increasing session ids, one live session
//     per identity;
//   - each session through SessionModel (session_model.h): gs_counter, the VS's reactions to
//     what it had to refuse, receipts, tickets, the revocation and its evidence;
//   - every Checkpoint: log_size == its own position, root == RFC 9162 root over the recomputed
//     entry hashes before it (leaf hash = entry hash, PROTOCOL.md §6.6), VS signature;
//   - optionally a Checkpoint held outside the store: catches a cut tail.
// Problems go to a FindingSink, every one of them; the pass never stops at the first.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit-cli/common.h"
#include "audit-cli/findings.h"
#include "audit-cli/store_segments.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::audit {

// A Checkpoint obtained outside the store (from a GS, a report, an earlier audit).
struct ExternalCheckpoint {
  protocol::Checkpoint message;
  Bytes bytes;         // the encoded message
  std::string origin;  // file name and format, for the output
};

// Reads FILE as one of: the Checkpoint's bytes in hex (whitespace ignored), its raw bytes, or
// JSON: an object with "message_hex" (or "hex", "bytes_hex"), or with the fields "log_size",
// "root" (hex), "vs_time_ms" and "signature" (hex); the object may sit under a "checkpoint" key,
// or be the last of a dispute report's "checkpoints" (so a whole report file works).
Result<ExternalCheckpoint> load_checkpoint(const std::string& path);

struct VerifyOptions {
  // The VS key. When absent, public key files (*.pub) beside the store are tried against the
  // first VS-signed entry, and the one that verifies it is used with a loud warning (the store
  // itself holds no VS key). When none does, VS signatures are reported as not checked.
  std::optional<KeySource> vs_key;
  bool discover_vs_key = true;
  std::optional<ExternalCheckpoint> checkpoint;
  // Of a segmented store, only these segments: "3..5" or "3" (StoreSelection); empty: all.
  std::string segments;
  unsigned threads = 0;              // signature workers; 0: one per core
  std::size_t batch_entries = 2048;  // rows per batch (memory: a few batches in flight)
  // Called from the verifying thread after each batch: entries done, entries in the store.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct VerifyStats {
  std::uint64_t first_seq = 0;  // where the rows read start (after retired or unread segments)
  std::uint64_t entries = 0;    // rows read (readable or not)
  // Entries of sessions whose JoinAccept lies before first_seq: their session checks need it.
  std::uint64_t earlier_session_entries = 0;
  std::uint64_t signatures_checked = 0;
  std::uint64_t signatures_unchecked = 0;  // no key, or bytes that do not decode
  std::uint64_t checkpoints = 0;
  std::uint64_t sessions = 0;
  std::uint64_t live_sessions = 0;  // never revoked by the end of the log
  std::uint64_t rejected_joins = 0;
  std::uint64_t heartbeats = 0;
  std::uint64_t digests = 0;
  std::uint64_t receipts = 0;
  std::uint64_t tickets = 0;
  std::uint64_t revocations = 0;
  Hash32 head_hash;    // stored entry_hash of the last row
  Hash32 merkle_root;  // over the recomputed entry hashes of every row
  unsigned threads = 0;
  double seconds = 0;
};

struct VerifyResult {
  std::string store;
  VerifyStats stats;
  std::optional<KeySource> vs_key;    // the key VS signatures were checked with
  bool vs_key_discovered = false;     // true: not pinned, found beside the store
  std::vector<std::string> warnings;  // to print loudly (key not pinned, ...)
  std::optional<ExternalCheckpoint> external_checkpoint;
  bool external_checkpoint_matched = false;
  std::optional<SegmentSurvey> segments;  // a segmented store: its files and retired ranges
};

// Verifies the store at `path` (opened read-only): a file, a directory of segments, or one
// segment file (StoreSelection). Returns an error only when the store cannot
// be opened or read at all (exit 2); everything wrong inside it goes to `sink` (exit 1).
Result<VerifyResult> verify_store(const std::string& path, const VerifyOptions& options,
                                  FindingSink& sink);

}  // namespace gsvs::audit
