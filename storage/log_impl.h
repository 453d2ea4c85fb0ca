// Private to storage/: the state behind a Log, shared by log.cpp (append), log_open.cpp,
// log_read.cpp, schema.cpp, segments.cpp and batch_writer.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/merkle.h"
#include "storage/log.h"
#include "storage/segment_files.h"
#include "storage/sqlite.h"
#include "storage/store_lock.h"

namespace gsvs::storage {

// How a file keeps the kinds' names (docs/STORE.md §2): schema versions 1 (a single file) and 2
// (a segment) in a kind_name column of every row; version 3 once, in the message_kind table.
enum class SchemaLayout : std::uint8_t { kKindNameColumn, kKindTable };
// What a store file must be: a single-file store or a segment of a segmented one.
enum class StoreFile : std::uint8_t { kSingle, kSegment };
struct StoreSchema {
  StoreRole role = StoreRole::kVs;
  SchemaLayout layout = SchemaLayout::kKindTable;
};

// A segment before the active one (or, read-only, any segment but the last): never written
// again. docs/STORE.md §10.
struct SealedSegment {
  std::string file;  // its name in the store directory, e.g. "segment-00000003.db"
  std::uint64_t first_seq = 0;
  sqlite::Db db;  // read-only use
};

// The frontier of the tree just before a Checkpoint entry (over `seq` entries, which is what
// the checkpoint signs), kept in a segment's checkpoint_frontier table so that an open resumes
// the active segment's chain from its newest checkpoint (docs/STORE.md §10.3).
struct FrontierRow {
  std::uint64_t seq = 0;
  std::vector<Hash32> frontier;
};

// The chain as far as it is verified: the next seq expected, the entry hash it must link to, and
// the Merkle tree so far.
using ChainState = ChainStart;

// The in-memory head (size, head_hash, accumulator) is what the next append builds on. Log::append
// moves it forward only after a commit; a BatchWriter moves it at submit time, ahead of its
// commits, and stops for good after a failed one.
struct PgStore;  // storage/pg_store.h

struct Log::Impl {
  Impl();
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::string path;  // a PostgreSQL store's URI without its password
  OpenMode mode = OpenMode::kReadOnly;
  StoreRole role = StoreRole::kVs;  // from meta.format (the role created with, for a new store)
  bool segmented = false;           // path is a directory of segments
  std::optional<crypto::PublicKey> vs_public_key;
  StoreLock writer_lock;  // read-write only; declared first, so released after the db closes

  // Segmented: the segments before the active one, in log order.
  std::vector<SealedSegment> sealed;
  // Segmented: the active (last) segment: its file name, index, the seq of its first entry and
  // the hash that entry links to (the previous segment's seal, zeros for segment 0).
  std::string active_file;
  std::uint64_t active_index = 0;
  std::uint64_t active_first_seq = 0;
  Hash32 active_link;
  // Read-write: bytes of the active segment at open and its creation time, for rotation.
  std::uint64_t active_bytes_at_open = 0;
  std::uint64_t active_created_ms = 0;

  sqlite::Db db;  // the single file, or the active segment; before the statements, so outlives them
  sqlite::Stmt insert_stmt;                        // read-write only
  SchemaLayout layout = SchemaLayout::kKindTable;  // of db; read-write only: what insert_stmt binds
  sqlite::Stmt insert_frontier_stmt;               // segmented read-write only

  // A store in PostgreSQL (docs/STORE.md §11): its connection and statements. Null for SQLite,
  // whose files are the members above.
  std::unique_ptr<PgStore> pg;

  std::uint64_t size = 0;  // read-write only; read-only Logs ask the store each time
  Hash32 head;
  merkle::Accumulator accumulator;

  // "store <path>" and "store <path>: entry <seq>" (with the segment's file between the two in a
  // segmented store), the prefixes of every error.
  [[nodiscard]] std::string label() const;
  [[nodiscard]] std::string label(std::uint64_t seq) const;
  // "store <path>: <file>", for an error about one segment.
  [[nodiscard]] std::string file_label(const std::string& file) const;

  // Checks the pending entries and computes their seqs and hashes from the current head, without
  // changing anything.
  [[nodiscard]] Result<std::vector<Entry>> prepare(std::span<const PendingEntry> pending) const;
  // Moves the in-memory head past entries that prepare() returned. Returns the frontier rows of a
  // segmented store's Checkpoint entries among them, to be written with them.
  std::vector<FrontierRow> advance(std::span<const Entry> entries);
  // Inserts the groups of entries (and the frontier rows) in one transaction, durable when it
  // returns; all or nothing. Touches only the database, never the in-memory head.
  Status write(std::span<const std::span<const Entry>> groups,
               std::span<const FrontierRow> frontiers);
  // Segmented, read-write: after the transaction holding `seal` (the active segment's last
  // entry, whose frontier row is `seal_frontier`) is durable, creates the next segment linked to
  // it and makes it the active one. On error nothing may be appended any more.
  Status rotate(const Entry& seal, const FrontierRow& seal_frontier);
};

// ---- shared by the storage sources ----

// Where retention must stop (RetireOptions::keep_from_seq): everything from this entry on stays.
inline Result<std::uint64_t> kept_from(const RetireOptions& options) {
  if (!options.keep_from_seq) return std::numeric_limits<std::uint64_t>::max();
  return options.keep_from_seq();
}

// How long a store connection waits for a lock another connection holds (SQLite's busy timeout).
inline constexpr int kStoreBusyTimeoutMs = 5000;

// Values a SQLite INTEGER holds: seq, session_id and vs_time_ms must not exceed it.
inline constexpr auto kMaxStoredInteger =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

bool known_kind(protocol::MessageKind kind);
bool known_direction(chains::Direction direction);

// The SELECT of a row's columns, in the order read_row() expects them, kind_name included (from
// message_kind in a version-3 file); append a WHERE clause.
std::string select_columns(SchemaLayout layout);
inline constexpr int kColSeq = 0;
inline constexpr int kColKind = 1;
inline constexpr int kColKindName = 2;
inline constexpr int kColDirection = 3;
inline constexpr int kColSession = 4;
inline constexpr int kColTime = 5;
inline constexpr int kColPrev = 6;
inline constexpr int kColEntryHash = 7;
inline constexpr int kColMessage = 8;

// One row as stored, with the message borrowed from the statement (valid until the next step).
struct RowView {
  chains::LogEntryHeader header;
  Hash32 entry_hash;
  ByteView message;
  std::optional<std::string> kind_name;  // nullopt: not text
};
// Reads the current row of a select_columns() statement. The error names the column, not the seq.
Result<RowView> read_row(const sqlite::Stmt& stmt);
// Reads a 32-byte hash column; the error names the column.
Result<Hash32> read_hash(const sqlite::Stmt& stmt, int column, std::string_view name);
Entry to_entry(RowView&& row);

// A single-file store: checks its schema, creating it in an empty database when `create` is set,
// and sets impl.role from meta.format.
Status check_single_file_schema(Log::Impl& impl, bool create, std::optional<StoreRole> expected);

// A new segment: the seq of its first entry, the hash that entry links to, and the meta rows
// beyond those every store has (docs/STORE.md §10.2).
struct SegmentCreate {
  std::uint64_t first_seq = 0;
  Hash32 link;
  std::vector<std::pair<std::string, std::string>> meta;
};
// Creates the schema in an empty database (a single file when `segment` is null), in one
// transaction; leaves a database that already has one alone. New stores get schema version 3;
// kKindNameColumn makes a store as builds before version 3 did (versions 1 and 2), which tests
// use to check that such stores keep working.
Status create_schema(sqlite::Db& db, StoreRole role, const SegmentCreate* segment,
                     SchemaLayout layout = SchemaLayout::kKindTable);

// Appends copies of entries read from another log to `copy` in batches, and checks that each
// comes out with the entry hash the source stored: the copy is the same chain, derived again
// (copy.cpp; copy_to_sqlite and the archive of a PostgreSQL store's retention).
class CheckedCopier {
 public:
  explicit CheckedCopier(Log& copy) : copy_(copy) {}
  // The next entry of the source, in seq order; appends when a batch is full.
  Status add(const Entry& entry);
  // Appends what is left; call once the source is read.
  Status finish();

 private:
  static constexpr std::size_t kBatch = 1000;  // entries per transaction of the copy
  Log& copy_;
  std::vector<PendingEntry> batch_;
  std::vector<Hash32> stored_;  // the source's entry_hash of each entry in batch_
};

// The schema and meta of segment `index`, whose first entry follows `seal` (segments.cpp).
SegmentCreate segment_after_seal(std::uint64_t index, const SegmentMeta::Seal& seal);
// Starts a segmented store in the new directory `dir` as retention leaves one: the seal index
// records `retired`, and the first segment, empty, begins after them as `first_held` says
// (retention.cpp). For a copy of a log whose first entries were retired (copy.cpp).
Status start_segmented_after(const std::string& dir, StoreRole role,
                             const std::vector<RetiredSegment>& retired,
                             const SegmentMeta& first_held);

// Reads a log's rows in seq order (Log::scan, or a PostgreSQL store's own scan).
using RowScan =
    std::function<Status(const Filter& filter, const std::function<bool(const Entry&)>& visit)>;
// Where a range of a log may end (retention.cpp): the newest issued Checkpoint among the rows of
// `range` that `eligible` accepts, which signs exactly the entries before it with `key`. nullopt
// when there is none.
Result<std::optional<Entry>> newest_seal(const RowScan& scan, Filter range,
                                         const std::function<bool(const Entry&)>& eligible,
                                         const crypto::PublicKey& key);
// The frontier of the tree over the entries before `seal`: `tree`, over those before `from_seq`,
// and the rows from there; checked against the root the seal signs.
Result<std::vector<Hash32>> frontier_before(const RowScan& scan, merkle::Accumulator tree,
                                            std::uint64_t from_seq, const Entry& seal,
                                            const crypto::PublicKey& key);

// Helpers of the segment files (segments.cpp) that retention (retention.cpp) shares.
// A file being written: renamed to its name once complete, removed by the next open if not.
inline constexpr std::string_view kCreatingSuffix = ".tmp";
// A decimal u64 as stored in meta and in the seal index; an error for anything else.
Result<std::uint64_t> parse_number(std::string_view text);
// A segment's meta rows (docs/STORE.md §10.2).
Result<SegmentMeta> read_segment_meta(sqlite::Db& db);
// fsync of a directory (after a rename or an unlink in it) and of a file.
Status sync_directory(const std::string& dir);
Status sync_file(const std::string& file);
std::string strip_trailing_slashes(std::string path);

// Whether `path` names a segmented store: an existing directory, or a path ending in '/'.
bool is_segmented_path(const std::string& path);

// Opens a store file for reading, read-only: immutable without a -wal/-journal beside it, else
// mode=ro; query_only and trusted_schema=OFF.
Result<sqlite::Db> open_file_read_only(const std::string& file, const std::string& label);
// Opens (creating if `create`) a file for writing: WAL, synchronous=FULL, busy timeout, defensive.
Result<sqlite::Db> open_file_read_write(const std::string& file, const std::string& label);

// Checks that `db` is a gsvs log of a schema version this build reads, a file of kind `file`, of
// role `expected` (when given), and returns its role and layout. `label` prefixes errors.
Result<StoreSchema> check_store_schema(sqlite::Db& db, const std::string& label, StoreFile file,
                                       std::optional<StoreRole> expected);
// The layout of a file that check_store_schema accepted, from its meta.schema_version.
Result<SchemaLayout> layout_of(sqlite::Db& db);
// Read-write opens of a version-3 file, once its rows are verified: checks the name of every kind
// this build knows in message_kind, and adds the kinds the build that made the file did not know
// (so a row of a newer kind has its name).
Status sync_kind_names(sqlite::Db& db, const std::string& label);

// The chain checks of a read-write open (docs/STORE.md §6.1), for rows read in seq order from any
// backend: that `seq` is the one the chain expects next, and that the row itself (its kind and
// kind name, direction, prev_hash and entry_hash) continues it; chain_row then moves `state` past
// it. `where(seq)` names the entry in errors; `segment_first` as for verify_rows.
Status expect_next_seq(std::uint64_t seq, const ChainState& state,
                       const std::function<std::string(std::uint64_t)>& where);
Status chain_row(const RowView& row, SchemaLayout layout, ChainState& state,
                 const std::function<std::string(std::uint64_t)>& where,
                 std::optional<std::uint64_t> segment_first);

// Reads rows of `db` with seq >= state.next_seq in seq order, checking each as a read-write open
// does (docs/STORE.md §6.1) and moving `state` on. `label` names the file and `where(seq)` the
// entry in errors.
// `segment_first` (segmented stores): the seq of the file's first entry, whose prev_hash links
// to the previous segment's seal.
Status verify_rows(sqlite::Db& db, const std::string& label,
                   const std::function<std::string(std::uint64_t)>& where, ChainState& state,
                   std::optional<std::uint64_t> segment_first);

// Checks a Checkpoint row against a frontier: it decodes, is signed by `key`, covers exactly
// `row.header.seq` entries, and its root is the frontier's root. Returns the accumulator over the
// `row.header.seq` entries before it. The error names no store or seq.
Result<merkle::Accumulator> check_checkpoint_frontier(const Entry& row,
                                                      std::vector<Hash32> frontier,
                                                      const crypto::PublicKey& key);

// Runs a query expected to yield one row and returns its first column as text (nullopt: no row).
Result<std::optional<std::string>> query_text(sqlite::Db& db, std::string_view sql,
                                              std::string_view param = {});
// Reads one row by seq from `db` (nullopt: no such row); the error names the column.
Result<std::optional<Entry>> read_entry(sqlite::Db& db, std::uint64_t seq);
// MIN(seq) and MAX(seq) of log_entry (nullopt: empty).
Result<std::optional<std::pair<std::uint64_t, std::uint64_t>>> seq_range(sqlite::Db& db);

// The frontier as stored: the hashes concatenated (docs/STORE.md §10.3).
Bytes frontier_bytes(std::span<const Hash32> frontier);
std::optional<std::vector<Hash32>> frontier_from_bytes(ByteView bytes);

// Segmented stores (segments.cpp).
Result<std::unique_ptr<Log::Impl>> open_segmented_read_write(const std::string& path,
                                                             StoreRole role,
                                                             const OpenOptions& options);
// `range`: only those segments (Log::open with a SegmentRange).
Result<std::unique_ptr<Log::Impl>> open_segmented_read_only(
    const std::string& path, std::optional<StoreRole> role,
    const std::optional<SegmentRange>& range);
// Prepares the insert statements of a read-write Log on impl.db.
Status prepare_inserts(Log::Impl& impl);

}  // namespace gsvs::storage
