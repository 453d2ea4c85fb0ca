// The append-only, hash-chained message log on SQLite (WAL). One row per message received or
// issued, exact bytes kept; UPDATE and DELETE refused by triggers. docs/STORE.md is the schema.
//
// Threading: a Log is used from one thread at a time. BatchWriter owns a writer thread (and, by
// default, a thread that checkpoints the WAL) and is the way daemons append (group commit);
// readers open their own read-only Log.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/chains.h"
#include "protocol/crypto.h"
#include "protocol/merkle.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::storage {

// What a writer hands in; seq, prev_entry_hash and entry_hash are the log's to assign.
// session_id and vs_time_ms are stored as SQLite INTEGERs and must be below 2^63; kind must be a
// known MessageKind and direction kReceived or kIssued. append/submit refuse anything else.
struct PendingEntry {
  protocol::MessageKind kind = protocol::MessageKind::kVsChallenge;
  chains::Direction direction = chains::Direction::kReceived;
  protocol::SessionId session_id = 0;
  std::uint64_t vs_time_ms = 0;
  Bytes message;
};

struct Entry {
  chains::LogEntryHeader header;  // seq, kind, direction, session_id, vs_time_ms, prev hash
  Hash32 entry_hash;
  Bytes message;
  // The kind_name column: for people, not covered by entry_hash (docs/STORE.md §3). As stored
  // in entries read back (nullopt when the stored value is not text); the kind's name in
  // entries a writer returns. A read-write open checks it against kind; scan and get do not.
  std::optional<std::string> kind_name;
};

struct Filter {
  std::uint64_t from_seq = 0;
  std::optional<std::uint64_t> to_seq;  // exclusive
  std::optional<protocol::SessionId> session_id;
  std::optional<protocol::MessageKind> kind;
};

enum class OpenMode {
  kReadWrite,  // one at a time per store; creates it if absent; verifies the whole chain first
  kReadOnly,   // never writes, never creates, never locks; for auditing a copy
};

// How much of the chain a read-write open re-hashes (docs/STORE.md §10.4).
enum class Verify : std::uint8_t {
  // A single-file store: every row. A segmented store: each seal (one signature per segment, the
  // frontier, the link to the next segment) and the active segment from its newest checkpoint.
  kFast,
  // Every row of every segment as well: what an open for an investigation or a repair check does.
  kFull,
};

// What an open needs beyond the path. A store path that is a directory (or ends in '/') is a
// segmented store (docs/STORE.md §10); a path to a file is a single-file store.
struct OpenOptions {
  // The VS public key: checks the seals and checkpoints of a segmented store at a read-write open
  // (required there; unused for a single-file store and for read-only opens).
  std::optional<crypto::PublicKey> vs_public_key;
  Verify verify = Verify::kFast;
  // A PostgreSQL store: the log in this schema rather than the connection's current one (a node
  // of a fleet reading another node's log, docs/STORE.md §11.6). Read-only opens only.
  std::string pg_schema{};
};

// Segments first..last (inclusive) of a segmented store, by index.
struct SegmentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

// Whether `path` names a store in PostgreSQL: a postgresql:// or postgres:// URI (docs/STORE.md
// §11). Any other path is SQLite's: a file, or a directory of segments.
[[nodiscard]] bool is_postgres_store(std::string_view path);
// `path` as a message or a log line may show it: a PostgreSQL URI with its password, if it holds
// one, replaced by "***".
[[nodiscard]] std::string printable_store(std::string_view path);

// Whose record a store is: the VS's log, or a GS's own record of its VS link. Both have the
// schema of docs/STORE.md; meta.format tells them apart (STORE.md §2.1), and the columns
// direction and vs_time_ms are seen from the store's owner.
enum class StoreRole : std::uint8_t {
  kVs,  // meta.format "gsvs-vs-log"
  kGs,  // meta.format "gsvs-gs-log"
};
// meta.format of a store of `role`.
[[nodiscard]] std::string_view store_format(StoreRole role);
// "VS store" or "GS store", for messages.
[[nodiscard]] std::string_view store_role_name(StoreRole role);

// What a segment's meta says about its place in the log (docs/STORE.md §10.2); a PostgreSQL store
// whose first entries were retired says the same of the entries it holds (§11.5).
struct SegmentMeta {
  std::uint64_t index = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t created_at_ms = 0;
  // The seal of the segment before it, which its first entry links to.
  struct Seal {
    std::uint64_t seq = 0;
    Hash32 entry_hash;
    std::vector<Hash32> frontier;  // of the tree over the `seq` entries before the seal
    Bytes message;                 // the signed Checkpoint
  };
  std::optional<Seal> seal;  // every segment but segment 0
};

// A sealed segment that retention moved away or deleted, as the store directory's seal index
// records it (docs/STORE.md §10.6): the entries it held and the seal that ended them. For a
// PostgreSQL store, a range of entries retired up to a checkpoint, as its retired_range table
// records it (§11.5); `index` is then the range's place in that table, from 0.
struct RetiredSegment {
  // kLeftOut: not retired from the log, but left out of a copy that starts after them
  // (copy_to_sqlite with `from`); the log they were copied from holds them.
  enum class Disposition : std::uint8_t { kArchived, kPruned, kLeftOut };
  std::uint64_t index = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t seal_seq = 0;  // its last entry, the seal
  Hash32 seal_entry_hash;
  Disposition disposition = Disposition::kPruned;
  std::uint64_t at_ms = 0;  // when, Unix ms
  std::string archived_to;  // the archive directory (kArchived only)
};
// "archived", "pruned" or "left_out", as the seal index writes it.
[[nodiscard]] std::string_view disposition_name(RetiredSegment::Disposition disposition);
// The seal index of a segmented store (empty when the directory has none); an index that does not
// parse, or whose records are not segments 0, 1, ... in order with contiguous seqs, is an error.
Result<std::vector<RetiredSegment>> read_seal_index(const std::string& dir);

struct RetireOptions {
  crypto::PublicKey vs_public_key;         // the store is opened read-write and checked first
  std::optional<std::string> archive_dir;  // move there; without it, delete (prune)
  std::uint64_t sealed_before_ms = 0;      // only segments sealed before this time
  std::uint64_t now_ms = 0;                // recorded as at_ms
  // Called once the store is open and checked: the entry from which everything is kept,
  // whatever its age (what the VS reads at its start, vsd/log_at_start.h); a segment holding any
  // of them is not retired. Its error ends the retention, nothing retired. Unset: none kept.
  std::function<Result<std::uint64_t>()> keep_from_seq;
};
// Moves to archive_dir (copy, fsync, compare, then remove) or deletes the sealed segments sealed
// before options.sealed_before_ms and ending before options.keep_from_seq(), oldest first, never
// the active one, recording each in the seal index before removing it. Takes the store's writer
// lock, so it is refused while vsd runs. Returns the segments retired by this call.
//
// A PostgreSQL store (docs/STORE.md §11.5) has no segments: the entries up to its newest
// checkpoint issued before sealed_before_ms and placed before keep_from_seq() that signs exactly
// the entries before it (the seal) are retired instead, as one range, recorded in retired_range
// and deleted in one transaction;
// archived first by appending them to the segmented SQLite store in archive_dir, which then holds
// the log from entry 0 to that seal and verifies on its own.
Result<std::vector<RetiredSegment>> retire_sealed_segments(const std::string& dir,
                                                           const RetireOptions& options);

class Log {
 public:
  // kReadWrite takes an exclusive lock on "<path>.lock" (flock, with this process's pid written
  // in it) and holds it until the Log, or the BatchWriter that owns it, is destroyed; while it is
  // held, another read-write open of the store, in any process, fails naming the holder's pid.
  // It refuses a store whose chain does not verify, naming the first bad seq. docs/STORE.md §6.
  // A store of another role than `role` is refused, naming both formats; a read-write open
  // creates a store of `role`.
  static Result<std::unique_ptr<Log>> open(const std::string& path, OpenMode mode, StoreRole role);
  // kReadWrite: the VS's store (the two-argument form vsd uses). kReadOnly: a store of either
  // role; role() says which.
  static Result<std::unique_ptr<Log>> open(const std::string& path, OpenMode mode);
  // The form for segmented stores: read-write needs options.vs_public_key.
  static Result<std::unique_ptr<Log>> open(const std::string& path, OpenMode mode, StoreRole role,
                                           const OpenOptions& options);
  // Read-only, a store of either role: only `segments` of the segmented store in directory
  // `path`, as if they were all of it (an audit of one segment or a range, docs/STORE.md §10.4).
  static Result<std::unique_ptr<Log>> open(const std::string& path, const SegmentRange& segments);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends in one transaction, durable (synchronous=FULL) when it returns. All or nothing.
  Result<std::vector<Entry>> append(std::span<const PendingEntry> entries);

  // kReadWrite: the verified state kept in memory. kReadOnly: read from the store at each call,
  // as stored and unverified (size is one past the highest seq; merkle_root streams the whole
  // entry_hash column, a malformed value counting as 32 zero bytes, and starts from the frontier
  // the first segment read records at its seal when the segments before it are retired or were
  // not opened; zeros when that segment records no frontier that fits).
  [[nodiscard]] std::uint64_t size() const;
  [[nodiscard]] Hash32 head_hash() const;    // entry_hash of the last entry, zeros when empty
  [[nodiscard]] Hash32 merkle_root() const;  // RFC 9162 root over every entry_hash so far
  // What meta.format says the store is.
  [[nodiscard]] StoreRole role() const;
  // The files of the store in log order: one for a single-file store; for a segmented store each
  // segment's file name and the seq of its first entry (the last one is the active segment).
  struct SegmentInfo {
    std::string file;
    std::uint64_t first_seq = 0;
  };
  [[nodiscard]] std::vector<SegmentInfo> segments() const;
  // The tree over the entries before the first file read, which is all a Merkle proof past them
  // needs: empty when the log starts at entry 0; when the segments before it were retired or lie
  // outside the range opened, the frontier the first segment's meta records at its seal, with
  // the seal appended (docs/STORE.md §10.3). The error names the file whose meta records no
  // seal, or a frontier that does not fit it.
  [[nodiscard]] Result<merkle::Accumulator> tree_before_first() const;
  // What retention took from the start of a PostgreSQL store (docs/STORE.md §11.5): the ranges
  // retired, oldest first, and the meta of the entries it holds (their first_seq, and the seal the
  // first one links to) as a segment would record it, for the audit to check that seal as vsd
  // does (check_recorded_seal). Empty and nullopt for a log held from entry 0, and for a SQLite
  // store (its seal index and segment meta are read file by file: storage/segment_files.h). The
  // error names the row that breaks the order of the ranges.
  struct Retention {
    std::vector<RetiredSegment> retired;
    std::optional<SegmentMeta> first_held;
  };
  [[nodiscard]] Result<Retention> retention() const;

  // Receives each row that scan could not represent as an Entry: its seq and why, for example
  // "prev_hash is 31 bytes, not 32" (the reason does not repeat the store or the seq).
  using BadRowReporter = std::function<void(std::uint64_t seq, const std::string& reason)>;
  // The reporter of a scan that reads past bad rows without a word, for a caller whose own
  // checks name them (the audit's verify reports every one).
  static void read_past_bad_rows(std::uint64_t /*seq*/, const std::string& /*reason*/) {}
  // Receives the rows a scan could not read because the file's pages that hold them are damaged:
  // the seqs from `first` to `last` (some may have no row; `last` nullopt: to the end of the file,
  // which the damage hides too) and the storage engine's words, which name the file.
  using DamagedRowsReporter = std::function<void(
      std::uint64_t first, std::optional<std::uint64_t> last, const std::string& reason)>;

  // Streams the rows the filter selects, in seq order, in constant memory.
  // - Each row goes to `visit` exactly as stored: seq, hashes and columns are not checked against
  //   each other (a read-write open verified them; the audit re-checks them). `visit` returns
  //   false to stop; scan then returns success.
  // - A row that cannot be represented as an Entry (a column of the wrong type, a negative or
  //   out-of-range integer, a hash that is not 32 bytes) goes to `report_bad_row` if one is
  //   given, and the scan reads on with the next row: every bad row is reported, in seq order,
  //   between the visits of its neighbours. Without a reporter, the first bad row ends the scan
  //   with an error naming the store, its seq and the reason.
  // - With `report_damaged_rows`, and no session or kind filter, a damaged page of a SQLite file
  //   does not end the scan: the rows from the first not yet read up to the first that a lookup
  //   past the damage reads again go to it as one range, in seq order between the visits of their
  //   neighbours, and the scan reads on from there (to the end of the file when nothing after the
  //   damage reads). For the investigator, who wants every entry the file still holds checked.
  //   A PostgreSQL store never calls it: its server checks its own pages.
  // - An error is returned only for the store itself (the query cannot run, I/O error, a
  //   corrupt database page without `report_damaged_rows`) or, without a reporter, for a bad
  //   row. Rows visited before it stay visited.
  // The callbacks run on the calling thread and must not use this Log.
  Status scan(const Filter& filter, const std::function<bool(const Entry&)>& visit,
              const BadRowReporter& report_bad_row = {},
              const DamagedRowsReporter& report_damaged_rows = {}) const;
  Result<Entry> get(std::uint64_t seq) const;

  // The storage engine's own check of the files read (SQLite's PRAGMA integrity_check: pages,
  // free lists, every index against its table), which the entries' hashes cannot see: an index
  // that lies makes a lookup miss rows whose hashes are intact. The problems found, at most
  // `max_problems`; empty when every file is whole. A PostgreSQL store: always empty (its server
  // checks its own pages). An error only when the check cannot run.
  struct FileProblem {
    std::string file;     // the segment's file name; empty for a single-file store
    std::string problem;  // as SQLite words it, e.g. "row 5 missing from index meta_key"
  };
  [[nodiscard]] Result<std::vector<FileProblem>> check_files(std::size_t max_problems) const;

 private:
  friend class BatchWriter;  // appends through the same connection and in-memory head

 public:
  struct Impl;  // defined in storage/log_impl.h, private to the storage module

 private:
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What copy_to_sqlite wrote.
struct CopyResult {
  std::uint64_t first_seq = 0;  // the first entry copied: 0, or the first held after retirement
  std::uint64_t entries = 0;    // the copy's size: one past its last seq
  Hash32 head_hash;
  Hash32 merkle_root;
};

// Which entries a copy holds.
struct CopyRange {
  // Where it starts: after the newest Checkpoint before this seq that seals the entries before it
  // (PROTOCOL.md §5: it signs exactly them), so that the copy verifies on its own from that seal;
  // at the first entry held when there is none, or without it.
  std::optional<std::uint64_t> from;
  std::optional<std::uint64_t> until;  // the entries before this seq (all of them without it)
};
// Copies the entries of `range` of `source`, from entry 0, into a new single-file SQLite store at
// `destination` of the source's role: any store, SQLite or PostgreSQL, one file or segments,
// becomes one file that every reader takes (docs/STORE.md §11.4). Every hash is derived again,
// and the copy stops at the first entry whose stored hashes differ. Written as
// "<destination>.partial" and renamed when whole and synced; an existing destination is refused.
//
// A copy that does not start at entry 0, from a PostgreSQL store whose first entries were retired
// (§11.5) or from a seal before `range.from`, is a new segmented store at `destination` (a
// directory, given with a trailing '/') whose seal index records the entries before it (retired,
// or left out of the copy) and whose first segment starts after their seal, checked with `vs_key`
// (required then), as retention leaves a segmented store.
Result<CopyResult> copy_to_sqlite(const Log& source, const std::string& destination,
                                  const CopyRange& range,
                                  const std::optional<crypto::PublicKey>& vs_key);

// How the WAL of the file a BatchWriter writes is copied back into that file and reset
// (docs/STORE.md §7.1).
enum class WalCheckpointMode : std::uint8_t {
  // SQLite's own behaviour: the commit that takes the WAL to start_pages runs a PASSIVE
  // checkpoint before it returns (copies the pages, fsyncs the database file), and the callbacks
  // of its whole batch wait for it.
  kInline,
  // A thread of the writer's, with its own connection, runs PASSIVE checkpoints from start_pages
  // on, between the writer's commits; the writer checkpoints itself only at max_pages.
  kBackground,
};
struct WalCheckpointOptions {
  WalCheckpointMode mode = WalCheckpointMode::kBackground;
  std::uint32_t start_pages = 1000;  // SQLite's default wal_autocheckpoint
  // kBackground: when a commit leaves this many pages in the WAL (the checkpointer has not kept
  // up, or a reader holds an old snapshot), the writer runs a TRUNCATE checkpoint itself.
  std::uint32_t max_pages = 16384;  // 64 MiB of 4 KiB pages
};

// A checkpoint of the WAL that ran inside a commit (and so counts in its duration).
enum class WalCheckpointInCommit : std::uint8_t {
  kNone,
  kInline,     // kInline mode: the WAL reached start_pages
  kAtMax,      // kBackground mode: the WAL reached max_pages; the WAL was reset
  kAtMaxBusy,  // the same, but a reader (or another checkpoint) kept it from resetting the WAL
};

// One commit of the writer: how many entries it made durable, and how long the transaction took
// (writing, the fsync, a checkpoint it ran, and the start of the next segment when it sealed one).
struct CommitStats {
  std::size_t entries = 0;
  std::chrono::steady_clock::duration duration{};
  std::uint32_t wal_pages = 0;  // pages (frames) in the WAL after the commit
  WalCheckpointInCommit wal_checkpoint = WalCheckpointInCommit::kNone;
  std::chrono::steady_clock::duration wal_checkpoint_duration{};  // of that checkpoint
  std::string wal_checkpoint_detail;  // kAtMaxBusy: SQLite's answer, or the pages it left
  // Checkpoints that failed for another reason than a reader (an I/O error, a full disk) since
  // the last report, which comes at most once in 10 s: how many, and the first one's error with
  // the file. Every commit stays in the WAL, which grows until a checkpoint succeeds.
  std::string wal_checkpoint_failure;
};

// What a commit's stats tell an operator, as log lines for the daemon that owns the writer
// (BatchWriter::Options::on_notice): the WAL checkpoints that failed (an error) and the writer's
// own checkpoint at `wal_max_pages` (a warning). None for most commits.
struct WalNotice {
  enum class Severity : std::uint8_t { kWarning, kError };
  Severity severity;
  std::string text;  // "store: ..."
};
std::vector<WalNotice> wal_notices(const CommitStats& stats, std::uint32_t wal_max_pages);

// Group commit. submit() assigns seqs and hashes at once, in submission order, and returns the
// entries; the callback runs on the writer thread after the batch holding them is durable (or
// failed). Nothing may be sent or acted upon before that callback. After one failed commit every
// later submit fails too: a writer never appends past a hole.
//
// `done` runs exactly once for every submit that returned entries, never for one that returned
// an error; callbacks run in submission order on the writer thread, without any lock held, so
// they may submit again (but must not call flush(), which would wait for itself, nor throw).
// An empty submit is a barrier: its callback runs once everything submitted before it is
// durable. Thread-safe: submit, flush, size and merkle_root may be called from any thread.
class BatchWriter {
 public:
  // Builds the seal of the active segment at the log head: a VS-signed Checkpoint over the
  // `size` entries so far, whose root is `merkle_root` (docs/STORE.md §10.2). Runs under the
  // writer's lock, like BuildAtHead.
  using BuildSeal = std::function<PendingEntry(std::uint64_t size, const Hash32& merkle_root)>;
  struct Options {
    std::size_t max_batch_entries = 512;
    std::uint32_t max_delay_us = 2000;  // how long the first entry of a batch may wait
    // Rotation of a segmented store (ignored for a single-file store, and without `seal`): after
    // a submit that brings the active segment to segment_max_bytes (estimated: file size at open
    // plus what was appended since), or once the segment is segment_max_age_ms old, the writer
    // appends a seal built by `seal` and starts the next segment after it. 0: no such limit.
    std::uint64_t segment_max_bytes = 0;
    std::uint64_t segment_max_age_ms = 0;
    BuildSeal seal{};
    // Told of every commit that succeeded, on the writer thread, with no lock held (for
    // metrics: it must be quick and must not call back into this writer).
    std::function<void(const CommitStats&)> on_commit{};
    // Told, after on_commit and in the same way, each line an operator should read about the
    // commit (wal_notices, with wal.max_pages): an error, or else a warning. The daemons log them
    // (app::log_store_notice).
    std::function<void(bool is_error, const std::string& text)> on_notice{};
    WalCheckpointOptions wal{};
    // A commit (with the WAL checkpoint or rotation after it) not returned after stall_after is
    // told to on_stall once, with how long it has run, on a thread of the writer's own: the store
    // does not answer (a PostgreSQL server lost mid-commit or waiting for a synchronous standby
    // that is gone, a disk that hangs), and the writer cannot end the wait itself. Watched until
    // the writer is destroyed, its last commit included. 0 or no on_stall: not watched.
    std::chrono::milliseconds stall_after{0};
    std::function<void(std::chrono::milliseconds in_flight)> on_stall{};
  };
  using Done = std::function<void(const Status&)>;

  BatchWriter(std::unique_ptr<Log> log, Options options);
  ~BatchWriter();  // commits what is queued, then stops the thread
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  Result<std::vector<Entry>> submit(std::vector<PendingEntry> entries, Done done);
  // Like submit, but `build` makes the entries under the writer's lock from the current size and
  // Merkle root, so nothing lands between that head and them (signed checkpoints). `build` runs
  // on the calling thread with the lock held: it must not call back into this writer.
  using BuildAtHead =
      std::function<std::vector<PendingEntry>(std::uint64_t size, const Hash32& merkle_root)>;
  Result<std::vector<Entry>> submit_at_head(const BuildAtHead& build, Done done);
  // Blocks until everything submitted so far is durable and its callbacks have run; the error
  // of the failed commit if that never happens.
  Status flush();

  [[nodiscard]] std::uint64_t size() const;
  [[nodiscard]] Hash32 merkle_root() const;  // over every entry submitted so far
  // Entries submitted and not yet committed.
  [[nodiscard]] std::size_t queued_entries() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gsvs::storage
