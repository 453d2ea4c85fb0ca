// Opening a store: the SQLite connection for each mode, the verification of the chain that a
// read-write open does (docs/STORE.md §6), and the checkpoint frontiers from which a segmented
// store resumes (§10.3).
#include <filesystem>
#include <utility>

#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/pg_store.h"
#include "storage/sqlite.h"

namespace gsvs::storage {

Status expect_next_seq(std::uint64_t seq, const ChainState& state,
                       const std::function<std::string(std::uint64_t)>& where) {
  if (seq == state.next_seq) return Status::success();
  return Error{where(state.next_seq) + ": missing; the next stored row is entry " +
               std::to_string(seq) + " (deleted?)"};
}

Status chain_row(const RowView& row, SchemaLayout layout, ChainState& state,
                 const std::function<std::string(std::uint64_t)>& where,
                 std::optional<std::uint64_t> segment_first) {
  const auto& header = row.header;
  const std::uint64_t seq = header.seq;
  if (!known_kind(header.kind)) {
    return Error{where(seq) + ": kind " + std::to_string(static_cast<unsigned>(header.kind)) +
                 " is not a message kind this build knows"};
  }
  const std::string_view expected_name = protocol::kind_name(header.kind);
  if (row.kind_name != expected_name && layout == SchemaLayout::kKindTable) {
    const std::string stored =
        row.kind_name ? "'" + *row.kind_name + "'" : "no name, or one that is not text,";
    return Error{where(seq) + ": kind " + std::to_string(static_cast<unsigned>(header.kind)) +
                 " (" + std::string(expected_name) + ") has " + stored +
                 " in message_kind (edited?)"};
  }
  if (row.kind_name != expected_name) {
    const std::string stored =
        row.kind_name ? "kind_name '" + *row.kind_name + "'" : "kind_name (not text)";
    return Error{where(seq) + ": " + stored + " does not match kind " +
                 std::to_string(static_cast<unsigned>(header.kind)) + " (" +
                 std::string(expected_name) + ") (edited?)"};
  }
  if (!known_direction(header.direction)) {
    return Error{where(seq) + ": direction " +
                 std::to_string(static_cast<unsigned>(header.direction)) +
                 " is neither 1 (received) nor 2 (issued)"};
  }
  if (header.prev_entry_hash != state.previous) {
    if (seq == 0) {
      return Error{where(seq) +
                   ": prev_hash of the first entry is not 32 zero bytes "
                   "(edited, or entries cut from the front?)"};
    }
    if (segment_first && seq == *segment_first) {
      return Error{where(seq) +
                   ": prev_hash of the segment's first entry is not the entry_hash of the "
                   "previous segment's seal, entry " +
                   std::to_string(seq - 1) + " (a segment replaced, swapped or edited?)"};
    }
    return Error{where(seq) + ": prev_hash does not match the entry_hash of entry " +
                 std::to_string(seq - 1) + " (a row edited, removed, inserted or reordered?)"};
  }
  if (chains::log_entry_hash(header, row.message) != row.entry_hash) {
    return Error{where(seq) + ": entry_hash does not match its contents (edited?)"};
  }
  state.accumulator.append(row.entry_hash);
  state.previous = row.entry_hash;
  ++state.next_seq;
  return Status::success();
}

Status verify_rows(sqlite::Db& db, const std::string& label,
                   const std::function<std::string(std::uint64_t)>& where, ChainState& state,
                   std::optional<std::uint64_t> segment_first) {
  auto layout = layout_of(db);
  if (!layout) return Error{label + ": " + layout.error()};
  auto stmt = sqlite::Stmt::prepare(db, select_columns(*layout) + " WHERE seq >= ?1 ORDER BY seq");
  if (!stmt) return Error{where(state.next_seq) + ": cannot read log_entry: " + stmt.error()};
  if (auto bound = stmt->bind_int64(1, static_cast<std::int64_t>(state.next_seq)); !bound) {
    return Error{where(state.next_seq) + ": cannot read log_entry: " + bound.error()};
  }
  // A negative seq sorts first; the query above skips it, so look for it apart.
  if (state.next_seq == 0 || segment_first) {
    auto negative = query_text(db, "SELECT MIN(seq) FROM log_entry WHERE seq < 0");
    if (negative && *negative && !(*negative)->empty()) {
      return Error{label + ": a row has the negative seq " + **negative + " (inserted by hand?)"};
    }
  }
  for (;;) {
    auto step = stmt->step();
    if (!step) return Error{where(state.next_seq) + ": cannot read: " + step.error()};
    if (*step == sqlite::Stmt::Step::kDone) break;

    const auto seq = static_cast<std::uint64_t>(stmt->column_int64(kColSeq));
    if (auto next = expect_next_seq(seq, state, where); !next) return next;
    auto row = read_row(*stmt);
    if (!row) return Error{where(seq) + ": " + row.error()};
    if (auto chained = chain_row(*row, *layout, state, where, segment_first); !chained) {
      return chained;
    }
  }
  return Status::success();
}

namespace {

// Walks every row of a single-file store in seq order in constant memory and checks what a
// writer relies on; on success the in-memory head and accumulator describe the store.
Status verify_chain(Log::Impl& impl) {
  ChainState state;
  if (auto status = verify_rows(impl.db, impl.label(),
                                [&impl](std::uint64_t seq) { return impl.label(seq); }, state, {});
      !status) {
    return status;
  }
  impl.size = state.next_seq;
  impl.head = state.previous;
  impl.accumulator = std::move(state.accumulator);
  return Status::success();
}

Status set_pragma(sqlite::Db& db, const std::string& label, const std::string& pragma,
                  std::string_view expect) {
  auto value = query_text(db, "PRAGMA " + pragma);
  if (!value) return Error{label + ": PRAGMA " + pragma + " failed: " + value.error()};
  if (!expect.empty() && value->value_or("") != expect) {
    return Error{label + ": PRAGMA " + pragma + " gave '" + value->value_or("") + "', expected '" +
                 std::string(expect) + "'"};
  }
  return Status::success();
}

}  // namespace

Result<sqlite::Db> open_file_read_write(const std::string& file, const std::string& label) {
  auto db = sqlite::Db::open(sqlite::file_uri(file, ""),
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI);
  if (!db) return Error{label + ": cannot open for writing: " + db.error()};
  sqlite3* raw = db->get();
  if (sqlite3_db_readonly(raw, "main") == 1) {
    return Error{label +
                 ": the file is not writable (check the permissions of the file and its "
                 "directory, or open it read-only to audit it)"};
  }
  sqlite3_busy_timeout(raw, kStoreBusyTimeoutMs);
  // No writable_schema or similar tricks through this connection.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  if (auto status = set_pragma(*db, label, "journal_mode = WAL", "wal"); !status) {
    return status.failure();
  }
  if (auto status = set_pragma(*db, label, "synchronous = FULL", ""); !status) {
    return status.failure();
  }
  return db;
}

Result<sqlite::Db> open_file_read_only(const std::string& file, const std::string& label) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return Error{label +
                 ": no such file, or not a regular file (a read-only open never creates one)"};
  }
  // With a -wal (or rollback -journal) file beside it, the store may be live or hold committed
  // entries only there: open it normally, read-only. Without one, everything committed is in
  // the main file: open it immutable, which creates no -wal/-shm beside the copy and takes no
  // locks.
  const bool side_files =
      std::filesystem::exists(file + "-wal", ec) || std::filesystem::exists(file + "-journal", ec);
  auto db = sqlite::Db::open(sqlite::file_uri(file, side_files ? "mode=ro" : "immutable=1"),
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
  if (!db) return Error{label + ": cannot open read-only: " + db.error()};
  sqlite3_busy_timeout(db->get(), kStoreBusyTimeoutMs);
  if (auto status = set_pragma(*db, label, "query_only = ON", ""); !status) {
    return status.failure();
  }
  // The file may come from anyone: its views and triggers get no say.
  if (auto status = set_pragma(*db, label, "trusted_schema = OFF", ""); !status) {
    return status.failure();
  }
  // A store copied with its -wal file also needs its -shm file (or a writable directory): make
  // sure the database can be read now, so the error says so.
  if (auto count = query_text(*db, "SELECT count(*) FROM sqlite_master"); !count) {
    std::string message = label + ": cannot read the database: " + count.error();
    if (side_files) {
      message +=
          " (a store copied with its -wal file also needs its -shm file, or a writable "
          "directory)";
    }
    return Error{message};
  }
  return db;
}

Status prepare_inserts(Log::Impl& impl) {
  auto layout = layout_of(impl.db);
  if (!layout) return Error{impl.label() + ": " + layout.error()};
  impl.layout = *layout;
  if (impl.layout == SchemaLayout::kKindTable) {
    if (auto status = sync_kind_names(impl.db, impl.label()); !status) return status;
  }
  // Version 3 has no kind_name column: ?3 is left out there, and write() binds nothing to it.
  auto insert = sqlite::Stmt::prepare(
      impl.db, impl.layout == SchemaLayout::kKindTable
                   ? "INSERT INTO log_entry (seq, kind, direction, session_id, vs_time_ms, "
                     "prev_hash, entry_hash, message) VALUES (?1, ?2, ?4, ?5, ?6, ?7, ?8, ?9)"
                   : "INSERT INTO log_entry (seq, kind, kind_name, direction, session_id, "
                     "vs_time_ms, prev_hash, entry_hash, message) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!insert) return Error{impl.label() + ": cannot prepare the insert: " + insert.error()};
  impl.insert_stmt = std::move(*insert);
  if (!impl.segmented) return Status::success();
  auto frontier = sqlite::Stmt::prepare(
      impl.db, "INSERT INTO checkpoint_frontier (seq, frontier) VALUES (?1, ?2)");
  if (!frontier) return Error{impl.label() + ": cannot prepare the insert: " + frontier.error()};
  impl.insert_frontier_stmt = std::move(*frontier);
  return Status::success();
}

namespace {

Result<std::unique_ptr<Log::Impl>> open_read_write(const std::string& path, StoreRole role) {
  auto impl = std::make_unique<Log::Impl>();
  impl->path = path;
  impl->mode = OpenMode::kReadWrite;
  impl->role = role;
  // Before SQLite touches the file: a second writer must not even verify or set pragmas.
  auto lock = StoreLock::acquire(path, impl->label());
  if (!lock) return lock.failure();
  impl->writer_lock = std::move(*lock);
  auto db = open_file_read_write(path, impl->label());
  if (!db) return db.failure();
  impl->db = std::move(*db);
  if (auto status = check_single_file_schema(*impl, /*create=*/true, role); !status) {
    return status.failure();
  }
  if (auto status = verify_chain(*impl); !status) return status.failure();
  if (auto status = prepare_inserts(*impl); !status) return status.failure();
  return impl;
}

Result<std::unique_ptr<Log::Impl>> open_read_only(const std::string& path,
                                                  std::optional<StoreRole> role) {
  auto impl = std::make_unique<Log::Impl>();
  impl->path = path;
  impl->mode = OpenMode::kReadOnly;
  auto db = open_file_read_only(path, impl->label());
  if (!db) return db.failure();
  impl->db = std::move(*db);
  if (auto status = check_single_file_schema(*impl, /*create=*/false, role); !status) {
    return status.failure();
  }
  return impl;
}

Result<std::unique_ptr<Log::Impl>> open_impl(const std::string& path, OpenMode mode,
                                             std::optional<StoreRole> role,
                                             const OpenOptions& options) {
  // SQLite would take an empty name for a private temporary database.
  if (path.empty()) return Error{"store: no path given"};
  if (postgres::is_url(path)) {
    return open_postgres(path, mode, role, options.vs_public_key, PgOpenFor::kWriting,
                         options.pg_schema);
  }
  if (!options.pg_schema.empty()) {
    return Error{"store " + path + ": a schema is named, but the store is not in PostgreSQL"};
  }
  if (is_segmented_path(path)) {
    if (mode == OpenMode::kReadWrite) {
      return open_segmented_read_write(path, role.value_or(StoreRole::kVs), options);
    }
    return open_segmented_read_only(path, role, std::nullopt);
  }
  if (mode == OpenMode::kReadWrite) return open_read_write(path, role.value_or(StoreRole::kVs));
  return open_read_only(path, role);
}

}  // namespace

Result<std::unique_ptr<Log>> Log::open(const std::string& path, OpenMode mode, StoreRole role) {
  return open(path, mode, role, OpenOptions{});
}

Result<std::unique_ptr<Log>> Log::open(const std::string& path, OpenMode mode, StoreRole role,
                                       const OpenOptions& options) {
  auto impl = open_impl(path, mode, role, options);
  if (!impl) return impl.failure();
  return std::unique_ptr<Log>(new Log(std::move(*impl)));
}

Result<std::unique_ptr<Log>> Log::open(const std::string& path, const SegmentRange& segments) {
  if (postgres::is_url(path) || !is_segmented_path(path)) {
    return Error{"store " + postgres::redacted(path) +
                 ": not a directory of segments (a segment range needs one)"};
  }
  auto impl = open_segmented_read_only(path, std::nullopt, segments);
  if (!impl) return impl.failure();
  return std::unique_ptr<Log>(new Log(std::move(*impl)));
}

Result<std::unique_ptr<Log>> Log::open(const std::string& path, OpenMode mode) {
  auto impl = open_impl(path, mode, std::nullopt, OpenOptions{});
  if (!impl) return impl.failure();
  return std::unique_ptr<Log>(new Log(std::move(*impl)));
}

Bytes frontier_bytes(std::span<const Hash32> frontier) {
  Bytes out;
  out.reserve(frontier.size() * Hash32::size);
  for (const Hash32& hash : frontier) out.insert(out.end(), hash.bytes.begin(), hash.bytes.end());
  return out;
}

std::optional<std::vector<Hash32>> frontier_from_bytes(ByteView bytes) {
  if (bytes.size() % Hash32::size != 0) return std::nullopt;
  std::vector<Hash32> out(bytes.size() / Hash32::size);
  for (std::size_t i = 0; i < out.size(); ++i) {
    for (std::size_t k = 0; k < Hash32::size; ++k) out[i].bytes[k] = bytes[i * Hash32::size + k];
  }
  return out;
}

Result<merkle::Accumulator> check_checkpoint_frontier(const Entry& row,
                                                      std::vector<Hash32> frontier,
                                                      const crypto::PublicKey& key) {
  if (row.header.kind != protocol::MessageKind::kCheckpoint) {
    return Error{"is a " + std::string(protocol::kind_name(row.header.kind)) +
                 ", not a Checkpoint"};
  }
  auto checkpoint = protocol::decode<protocol::Checkpoint>(row.message);
  if (!checkpoint) return Error{"the Checkpoint does not decode: " + checkpoint.error()};
  if (!protocol::verify(*checkpoint, key)) {
    return Error{
        "the Checkpoint's signature does not verify with the VS key (forged, or another "
        "VS's store?)"};
  }
  if (checkpoint->log_size != row.header.seq) {
    return Error{"the Checkpoint covers " + std::to_string(checkpoint->log_size) +
                 " entries, not the " + std::to_string(row.header.seq) + " before it"};
  }
  auto accumulator = merkle::Accumulator::from_frontier(row.header.seq, std::move(frontier));
  if (!accumulator) {
    return Error{"the stored frontier does not have one hash per subtree of " +
                 std::to_string(row.header.seq) + " entries"};
  }
  if (accumulator->root() != checkpoint->root) {
    return Error{"the stored frontier gives a Merkle root other than the signed one (edited?)"};
  }
  return std::move(*accumulator);
}

}  // namespace gsvs::storage
