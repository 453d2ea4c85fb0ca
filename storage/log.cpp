#include "storage/log.h"

#include <chrono>
#include <filesystem>
#include <limits>
#include <utility>

#include "protocol/clock.h"
#include "storage/log_impl.h"
#include "storage/sqlite.h"

namespace gsvs::storage {

namespace {

// docs/STORE.md reproduces this schema; change both together, and bump kSchemaVersion when a
// table, a trigger or meta changes (indexes are access paths only: readers never depend on them).
// meta.format by role; a GS store has the same schema (docs/STORE.md §2.1).
constexpr std::string_view kVsFormat = "gsvs-vs-log";
constexpr std::string_view kGsFormat = "gsvs-gs-log";
constexpr std::string_view kSchemaVersion = "1";         // a single-file store
constexpr std::string_view kSegmentSchemaVersion = "2";  // a segment of a segmented store
constexpr int kApplicationId = 0x67737673;               // "gsvs", shown by `sqlite3 X .dbinfo`
constexpr int kBusyTimeoutMs = 5000;

constexpr std::string_view kCreateSchema = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE log_entry (
  seq        INTEGER PRIMARY KEY CHECK (seq >= 0),
  kind       INTEGER NOT NULL CHECK (typeof(kind) = 'integer' AND kind BETWEEN 1 AND 255),
  kind_name  TEXT    NOT NULL CHECK (typeof(kind_name) = 'text'),
  direction  INTEGER NOT NULL CHECK (typeof(direction) = 'integer' AND direction IN (1, 2)),
  session_id INTEGER NOT NULL CHECK (typeof(session_id) = 'integer' AND session_id >= 0),
  vs_time_ms INTEGER NOT NULL CHECK (typeof(vs_time_ms) = 'integer' AND vs_time_ms >= 0),
  prev_hash  BLOB    NOT NULL CHECK (typeof(prev_hash) = 'blob' AND length(prev_hash) = 32),
  entry_hash BLOB    NOT NULL CHECK (typeof(entry_hash) = 'blob' AND length(entry_hash) = 32),
  message    BLOB    NOT NULL CHECK (typeof(message) = 'blob')
);
CREATE INDEX log_entry_by_kind ON log_entry (kind, seq);
CREATE TRIGGER log_entry_no_update BEFORE UPDATE ON log_entry
BEGIN
  SELECT RAISE(ABORT, 'log_entry is append-only: UPDATE refused');
END;
CREATE TRIGGER log_entry_no_delete BEFORE DELETE ON log_entry
BEGIN
  SELECT RAISE(ABORT, 'log_entry is append-only: DELETE refused');
END;
CREATE TRIGGER log_entry_append_seq BEFORE INSERT ON log_entry
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq) + 1, 0) FROM log_entry)
BEGIN
  SELECT RAISE(ABORT, 'log_entry is append-only: seq must be one past the last entry');
END;
CREATE TRIGGER log_entry_append_link BEFORE INSERT ON log_entry
WHEN NEW.prev_hash IS NOT
     COALESCE((SELECT entry_hash FROM log_entry WHERE seq = NEW.seq - 1), zeroblob(32))
BEGIN
  SELECT RAISE(ABORT, 'log_entry is append-only: prev_hash must be the entry_hash of the last entry');
END;
CREATE VIEW log_entry_readable AS
SELECT seq,
       kind,
       kind_name,
       CASE direction WHEN 1 THEN 'received' WHEN 2 THEN 'issued' ELSE 'invalid' END AS direction,
       session_id,
       vs_time_ms,
       strftime('%Y-%m-%dT%H:%M:%fZ', vs_time_ms / 1000.0, 'unixepoch') AS vs_time_utc,
       lower(hex(prev_hash)) AS prev_hash,
       lower(hex(entry_hash)) AS entry_hash,
       length(message) AS message_bytes,
       lower(hex(message)) AS message_hex
FROM log_entry;
)sql";

// A segment's extra table (docs/STORE.md §10.3): the frontier just before each Checkpoint entry,
// written in the transaction that appends the entry. Append-only like the log.
constexpr std::string_view kCreateFrontierTable = R"sql(
CREATE TABLE checkpoint_frontier (
  seq      INTEGER PRIMARY KEY CHECK (seq >= 0),
  frontier BLOB NOT NULL CHECK (typeof(frontier) = 'blob' AND length(frontier) % 32 = 0)
);
CREATE TRIGGER checkpoint_frontier_no_update BEFORE UPDATE ON checkpoint_frontier
BEGIN
  SELECT RAISE(ABORT, 'checkpoint_frontier is append-only: UPDATE refused');
END;
CREATE TRIGGER checkpoint_frontier_no_delete BEFORE DELETE ON checkpoint_frontier
BEGIN
  SELECT RAISE(ABORT, 'checkpoint_frontier is append-only: DELETE refused');
END;
)sql";

// Created after the meta rows are written: from then on meta is read-only too.
constexpr std::string_view kMetaTriggers = R"sql(
CREATE TRIGGER meta_no_insert BEFORE INSERT ON meta
BEGIN
  SELECT RAISE(ABORT, 'meta is read-only');
END;
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta
BEGIN
  SELECT RAISE(ABORT, 'meta is read-only');
END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta
BEGIN
  SELECT RAISE(ABORT, 'meta is read-only');
END;
)sql";

constexpr std::string_view kSelectColumns =
    "SELECT seq, kind, kind_name, direction, session_id, vs_time_ms, prev_hash, entry_hash, "
    "message FROM log_entry";
constexpr int kColSeq = 0;
constexpr int kColKind = 1;
constexpr int kColKindName = 2;
constexpr int kColDirection = 3;
constexpr int kColSession = 4;
constexpr int kColTime = 5;
constexpr int kColPrev = 6;
constexpr int kColEntryHash = 7;
constexpr int kColMessage = 8;

constexpr auto kMaxStoredInteger =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string type_name(int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "an integer";
    case SQLITE_FLOAT:
      return "a real";
    case SQLITE_TEXT:
      return "text";
    case SQLITE_BLOB:
      return "a blob";
    case SQLITE_NULL:
      return "NULL";
    default:
      return "of unknown type";
  }
}

// One row as stored, with the message borrowed from the statement (valid until the next step).
struct RowView {
  chains::LogEntryHeader header;
  Hash32 entry_hash;
  ByteView message;
  std::optional<std::string> kind_name;  // nullopt: not text
};

Result<std::uint64_t> read_unsigned(const sqlite::Stmt& stmt, int column, std::string_view name,
                                    std::uint64_t max) {
  const int type = stmt.column_type(column);
  if (type != SQLITE_INTEGER) {
    return Error{std::string(name) + " is " + type_name(type) + ", not an integer"};
  }
  const std::int64_t value = stmt.column_int64(column);
  if (value < 0 || static_cast<std::uint64_t>(value) > max) {
    return Error{std::string(name) + " " + std::to_string(value) + " is out of range"};
  }
  return static_cast<std::uint64_t>(value);
}

Result<Hash32> read_hash(const sqlite::Stmt& stmt, int column, std::string_view name) {
  const int type = stmt.column_type(column);
  if (type != SQLITE_BLOB) {
    return Error{std::string(name) + " is " + type_name(type) + ", not a blob"};
  }
  const ByteView bytes = stmt.column_blob(column);
  if (bytes.size() != Hash32::size) {
    return Error{std::string(name) + " is " + std::to_string(bytes.size()) + " bytes, not 32"};
  }
  Hash32 out;
  for (std::size_t i = 0; i < Hash32::size; ++i) out.bytes[i] = bytes[i];
  return out;
}

// Reads the current row of a kSelectColumns statement. The error names the column, not the seq.
Result<RowView> read_row(const sqlite::Stmt& stmt) {
  RowView row;
  auto seq = read_unsigned(stmt, kColSeq, "seq", kMaxStoredInteger);
  if (!seq) return Error{seq.error()};
  auto kind = read_unsigned(stmt, kColKind, "kind", 255);
  if (!kind) return Error{kind.error()};
  auto direction = read_unsigned(stmt, kColDirection, "direction", 255);
  if (!direction) return Error{direction.error()};
  auto session = read_unsigned(stmt, kColSession, "session_id", kMaxStoredInteger);
  if (!session) return Error{session.error()};
  auto time = read_unsigned(stmt, kColTime, "vs_time_ms", kMaxStoredInteger);
  if (!time) return Error{time.error()};
  auto prev = read_hash(stmt, kColPrev, "prev_hash");
  if (!prev) return Error{prev.error()};
  auto entry_hash = read_hash(stmt, kColEntryHash, "entry_hash");
  if (!entry_hash) return Error{entry_hash.error()};
  if (const int type = stmt.column_type(kColMessage); type != SQLITE_BLOB) {
    return Error{"message is " + type_name(type) + ", not a blob"};
  }
  row.header.seq = *seq;
  row.header.kind = static_cast<protocol::MessageKind>(*kind);
  row.header.direction = static_cast<chains::Direction>(*direction);
  row.header.session_id = *session;
  row.header.vs_time_ms = *time;
  row.header.prev_entry_hash = *prev;
  row.entry_hash = *entry_hash;
  row.message = stmt.column_blob(kColMessage);
  if (stmt.column_type(kColKindName) == SQLITE_TEXT) row.kind_name = stmt.column_text(kColKindName);
  return row;
}

Entry to_entry(RowView&& row) {
  return Entry{row.header, row.entry_hash, Bytes(row.message.begin(), row.message.end()),
               std::move(row.kind_name)};
}

bool known_kind(protocol::MessageKind kind) {
  const auto value = static_cast<std::uint8_t>(kind);
  return value >= 1 && value <= protocol::kMaxMessageKind;
}

bool known_direction(chains::Direction direction) {
  return direction == chains::Direction::kReceived || direction == chains::Direction::kIssued;
}

// The schema of a new store: a single file, or a segment whose first entry is `first_seq` and
// links to `link` (the insert triggers then expect those instead of 0 and zeros).
std::string schema_sql(std::uint64_t first_seq, const Hash32& link, bool segment) {
  std::string sql(kCreateSchema);
  if (!segment) return sql;
  const auto replace = [&sql](std::string_view from, const std::string& to) {
    sql.replace(sql.find(from), from.size(), to);
  };
  replace("COALESCE(MAX(seq) + 1, 0)", "COALESCE(MAX(seq) + 1, " + std::to_string(first_seq) + ")");
  replace("zeroblob(32))", "X'" + to_hex(link) + "')");
  return sql + std::string(kCreateFrontierTable);
}

}  // namespace

Result<std::optional<std::string>> query_text(sqlite::Db& db, std::string_view sql,
                                              std::string_view param) {
  auto stmt = sqlite::Stmt::prepare(db, sql);
  if (!stmt) return Error{stmt.error()};
  if (!param.empty()) {
    if (auto status = stmt->bind_text(1, param); !status) return Error{status.error()};
  }
  auto step = stmt->step();
  if (!step) return Error{step.error()};
  if (*step == sqlite::Stmt::Step::kDone) return std::optional<std::string>{};
  return std::optional<std::string>{stmt->column_text(0)};
}

Status create_schema(sqlite::Db& db, StoreRole role, const SegmentCreate* segment) {
  sqlite::Transaction tx(db);
  if (auto status = tx.begin(); !status) return status;
  // Another process may have created the store between our look and our lock.
  auto count = query_text(db, "SELECT count(*) FROM sqlite_master");
  if (!count) return Error{count.error()};
  if (*count && **count != "0") return tx.commit();

  const std::string sql = segment ? schema_sql(segment->first_seq, segment->link, true)
                                  : schema_sql(0, Hash32{}, false);
  if (auto status = db.exec(sql); !status) return status;
  auto insert = sqlite::Stmt::prepare(db, "INSERT INTO meta (key, value) VALUES (?1, ?2)");
  if (!insert) return Error{insert.error()};
  const auto now = static_cast<std::int64_t>(unix_time_ms());
  std::vector<std::pair<std::string, std::string>> rows = {
      {"format", std::string(store_format(role))},
      {"schema_version", std::string(segment ? kSegmentSchemaVersion : kSchemaVersion)},
      {"created_at_ms", std::to_string(now)},
      {"entry_hash",
       "SHA-256(\"gsvs/v1/log_entry\" 0x00 || seq u64 || kind u8 || direction u8 || "
       "session_id u64 || vs_time_ms u64 || prev_hash || u32 length || message), little-endian"},
  };
  if (segment) rows.insert(rows.end(), segment->meta.begin(), segment->meta.end());
  for (const auto& [key, value] : rows) {
    insert->reset();
    if (auto status = insert->bind_text(1, key); !status) return status;
    if (auto status = insert->bind_text(2, value); !status) return status;
    auto step = insert->step();
    if (!step) return Error{step.error()};
  }
  if (auto status = db.exec(std::string(kMetaTriggers)); !status) return status;
  if (auto status = db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)); !status) {
    return status;
  }
  return tx.commit();
}

namespace {

std::optional<StoreRole> role_of_format(std::string_view format) {
  if (format == kVsFormat) return StoreRole::kVs;
  if (format == kGsFormat) return StoreRole::kGs;
  return std::nullopt;
}

}  // namespace

Result<StoreRole> check_store_schema(sqlite::Db& db, const std::string& label,
                                     std::string_view version, std::optional<StoreRole> expected) {
  for (const std::string_view table : {"meta", "log_entry"}) {
    auto type = query_text(db, "SELECT type FROM sqlite_master WHERE name = ?1", table);
    if (!type) return Error{label + ": cannot read the schema: " + type.error()};
    if (!*type || **type != "table") {
      return Error{label + ": not a gsvs log store (no table '" + std::string(table) + "')"};
    }
  }
  auto format = query_text(db, "SELECT value FROM meta WHERE key = ?1", "format");
  if (!format) return Error{label + ": cannot read meta: " + format.error()};
  const auto role = role_of_format(format->value_or(""));
  if (!role) {
    const std::string wanted =
        expected ? "'" + std::string(store_format(*expected)) + "'"
                 : "'" + std::string(kVsFormat) + "' or '" + std::string(kGsFormat) + "'";
    return Error{label + ": not a gsvs log store (meta.format is '" + format->value_or("") +
                 "', expected " + wanted + ")"};
  }
  if (expected && *role != *expected) {
    std::string message = label + ": a " + std::string(store_role_name(*role)) + " (meta.format '" +
                          std::string(store_format(*role)) + "'), not the " +
                          std::string(store_role_name(*expected)) + " ('" +
                          std::string(store_format(*expected)) + "') expected here";
    if (*expected == StoreRole::kGs) {
      // docs/STORE.md §2.1: stores gsd made before GS stores had a format of their own.
      message +=
          ". A GS store made before format '" + std::string(kGsFormat) + "' existed says '" +
          std::string(kVsFormat) +
          "' too: keep it as evidence (audit-cli reads it with --role gs) and give gsd a new store";
    }
    return Error{message};
  }
  auto stored = query_text(db, "SELECT value FROM meta WHERE key = ?1", "schema_version");
  if (!stored) return Error{label + ": cannot read meta: " + stored.error()};
  if (!*stored) return Error{label + ": meta has no schema_version"};
  if (**stored == version) return *role;
  if (**stored == kSegmentSchemaVersion) {
    return Error{label +
                 ": a segment of a segmented store (schema version 2), not a store of its own: "
                 "open the directory that holds it"};
  }
  if (**stored == kSchemaVersion) {
    return Error{label +
                 ": a single-file store (schema version 1), not a segment of a "
                 "segmented store (a file that does not belong in the directory?)"};
  }
  return Error{label + ": schema version '" + **stored +
               "' is not supported by this build, which reads versions 1 (a single file) and 2 "
               "(segments); use a build that knows it"};
}

namespace {

// A single-file store: checks its schema, creating it in an empty database when `create` is set,
// and sets impl.role from meta.format.
Status check_schema(Log::Impl& impl, bool create, std::optional<StoreRole> expected) {
  auto count = query_text(impl.db, "SELECT count(*) FROM sqlite_master");
  if (!count) return Error{impl.label() + ": cannot read the database: " + count.error()};
  if (*count && **count == "0") {
    if (!create) return Error{impl.label() + ": empty database, not a gsvs log store"};
    if (auto status = create_schema(impl.db, impl.role, nullptr); !status) {
      return Error{impl.label() + ": cannot create the schema: " + status.error()};
    }
  }
  auto role = check_store_schema(impl.db, impl.label(), kSchemaVersion, expected);
  if (!role) return Error{role.error()};
  impl.role = *role;
  return Status::success();
}

}  // namespace

Status verify_rows(sqlite::Db& db, const std::string& label,
                   const std::function<std::string(std::uint64_t)>& where, ChainState& state,
                   std::optional<std::uint64_t> segment_first) {
  auto stmt =
      sqlite::Stmt::prepare(db, std::string(kSelectColumns) + " WHERE seq >= ?1 ORDER BY seq");
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
    if (seq != state.next_seq) {
      return Error{where(state.next_seq) + ": missing; the next stored row is entry " +
                   std::to_string(seq) + " (deleted?)"};
    }
    auto row = read_row(*stmt);
    if (!row) return Error{where(seq) + ": " + row.error()};
    const auto& header = row->header;
    if (!known_kind(header.kind)) {
      return Error{where(seq) + ": kind " + std::to_string(static_cast<unsigned>(header.kind)) +
                   " is not a message kind this build knows"};
    }
    const std::string_view expected_name = protocol::kind_name(header.kind);
    if (row->kind_name != expected_name) {
      const std::string stored =
          row->kind_name ? "kind_name '" + *row->kind_name + "'" : "kind_name (not text)";
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
    if (chains::log_entry_hash(header, row->message) != row->entry_hash) {
      return Error{where(seq) + ": entry_hash does not match its contents (edited?)"};
    }
    state.accumulator.append(row->entry_hash);
    state.previous = row->entry_hash;
    ++state.next_seq;
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
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  // No writable_schema or similar tricks through this connection.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  if (auto status = set_pragma(*db, label, "journal_mode = WAL", "wal"); !status) {
    return Error{status.error()};
  }
  if (auto status = set_pragma(*db, label, "synchronous = FULL", ""); !status) {
    return Error{status.error()};
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
  sqlite3_busy_timeout(db->get(), kBusyTimeoutMs);
  if (auto status = set_pragma(*db, label, "query_only = ON", ""); !status) {
    return Error{status.error()};
  }
  // The file may come from anyone: its views and triggers get no say.
  if (auto status = set_pragma(*db, label, "trusted_schema = OFF", ""); !status) {
    return Error{status.error()};
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
  auto insert = sqlite::Stmt::prepare(
      impl.db,
      "INSERT INTO log_entry (seq, kind, kind_name, direction, session_id, vs_time_ms, "
      "prev_hash, entry_hash, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
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
  if (!lock) return Error{lock.error()};
  impl->writer_lock = std::move(*lock);
  auto db = open_file_read_write(path, impl->label());
  if (!db) return Error{db.error()};
  impl->db = std::move(*db);
  if (auto status = check_schema(*impl, /*create=*/true, role); !status) {
    return Error{status.error()};
  }
  if (auto status = verify_chain(*impl); !status) return Error{status.error()};
  if (auto status = prepare_inserts(*impl); !status) return Error{status.error()};
  return impl;
}

Result<std::unique_ptr<Log::Impl>> open_read_only(const std::string& path,
                                                  std::optional<StoreRole> role) {
  auto impl = std::make_unique<Log::Impl>();
  impl->path = path;
  impl->mode = OpenMode::kReadOnly;
  auto db = open_file_read_only(path, impl->label());
  if (!db) return Error{db.error()};
  impl->db = std::move(*db);
  if (auto status = check_schema(*impl, /*create=*/false, role); !status) {
    return Error{status.error()};
  }
  return impl;
}

}  // namespace

// ---- roles ----

std::string_view store_format(StoreRole role) {
  return role == StoreRole::kGs ? kGsFormat : kVsFormat;
}

std::string_view store_role_name(StoreRole role) {
  return role == StoreRole::kGs ? "GS store" : "VS store";
}

// ---- Log::Impl ----

std::string Log::Impl::label() const { return "store " + path; }

std::string Log::Impl::file_label(const std::string& file) const { return label() + ": " + file; }

std::string Log::Impl::label(std::uint64_t seq) const {
  if (!segmented) return label() + ": entry " + std::to_string(seq);
  const std::string* file = &active_file;
  if (seq < active_first_seq) {
    for (const SealedSegment& segment : sealed) {
      if (segment.first_seq <= seq) file = &segment.file;
    }
  }
  return file_label(*file) + ": entry " + std::to_string(seq);
}

Result<std::vector<Entry>> Log::Impl::prepare(std::span<const PendingEntry> pending) const {
  if (mode != OpenMode::kReadWrite) return Error{label() + ": opened read-only"};
  std::vector<Entry> out;
  out.reserve(pending.size());
  std::uint64_t seq = size;
  Hash32 previous = head;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const PendingEntry& p = pending[i];
    // Built only for an error: this runs for every entry, under the writer's lock.
    const auto where = [&] {
      return label() + ": cannot append entry " + std::to_string(i) + " of the batch (" +
             std::string(protocol::kind_name(p.kind)) + "): ";
    };
    if (!known_kind(p.kind)) {
      return Error{where() + "unknown message kind " +
                   std::to_string(static_cast<unsigned>(p.kind))};
    }
    if (!known_direction(p.direction)) {
      return Error{where() + "direction " + std::to_string(static_cast<unsigned>(p.direction)) +
                   " is neither received nor issued"};
    }
    if (p.session_id > kMaxStoredInteger) {
      return Error{where() + "session_id " + std::to_string(p.session_id) +
                   " does not fit SQLite's INTEGER (must be below 2^63)"};
    }
    if (p.vs_time_ms > kMaxStoredInteger) {
      return Error{where() + "vs_time_ms " + std::to_string(p.vs_time_ms) +
                   " does not fit SQLite's INTEGER (must be below 2^63)"};
    }
    if (p.message.size() > std::numeric_limits<std::uint32_t>::max()) {
      return Error{where() + "message of " + std::to_string(p.message.size()) +
                   " bytes is longer than the u32 length of the entry hash"};
    }
    if (seq > kMaxStoredInteger) return Error{where() + "the log is full (seq would exceed 2^63)"};
    Entry entry;
    entry.header.seq = seq;
    entry.header.kind = p.kind;
    entry.header.direction = p.direction;
    entry.header.session_id = p.session_id;
    entry.header.vs_time_ms = p.vs_time_ms;
    entry.header.prev_entry_hash = previous;
    entry.entry_hash = chains::log_entry_hash(entry.header, p.message);
    entry.message = p.message;
    entry.kind_name = std::string(protocol::kind_name(p.kind));
    previous = entry.entry_hash;
    ++seq;
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<FrontierRow> Log::Impl::advance(std::span<const Entry> entries) {
  std::vector<FrontierRow> frontiers;
  for (const Entry& entry : entries) {
    // A segmented store keeps the frontier before each checkpoint of this log (one that signs
    // exactly the entries before it), so an open can resume from there (docs/STORE.md §10.3).
    if (segmented && entry.header.kind == protocol::MessageKind::kCheckpoint &&
        entry.header.direction == chains::Direction::kIssued) {
      auto checkpoint = protocol::decode<protocol::Checkpoint>(entry.message);
      if (checkpoint && checkpoint->log_size == entry.header.seq &&
          checkpoint->root == accumulator.root()) {
        frontiers.push_back(FrontierRow{entry.header.seq, accumulator.frontier()});
      }
    }
    accumulator.append(entry.entry_hash);
  }
  if (!entries.empty()) {
    size = entries.back().header.seq + 1;
    head = entries.back().entry_hash;
  }
  return frontiers;
}

Status Log::Impl::write(std::span<const std::span<const Entry>> groups,
                        std::span<const FrontierRow> frontiers) {
  std::size_t count = 0;
  for (const auto& group : groups) count += group.size();
  if (count == 0) return Status::success();
  std::uint64_t first = 0;
  for (const auto& group : groups) {
    if (!group.empty()) {
      first = group.front().header.seq;
      break;
    }
  }
  const std::string where = label() + ": cannot append entries " + std::to_string(first) + ".." +
                            std::to_string(first + count - 1) + ": ";

  sqlite::Transaction tx(db);
  if (auto status = tx.begin(); !status) return Error{where + status.error()};
  for (const auto& group : groups) {
    for (const Entry& e : group) {
      auto& s = insert_stmt;
      s.reset();
      Status bound = s.bind_int64(1, static_cast<std::int64_t>(e.header.seq));
      if (bound) bound = s.bind_int64(2, static_cast<std::int64_t>(e.header.kind));
      if (bound) bound = s.bind_text(3, protocol::kind_name(e.header.kind));
      if (bound) bound = s.bind_int64(4, static_cast<std::int64_t>(e.header.direction));
      if (bound) bound = s.bind_int64(5, static_cast<std::int64_t>(e.header.session_id));
      if (bound) bound = s.bind_int64(6, static_cast<std::int64_t>(e.header.vs_time_ms));
      if (bound) bound = s.bind_blob_static(7, e.header.prev_entry_hash.view());
      if (bound) bound = s.bind_blob_static(8, e.entry_hash.view());
      if (bound) bound = s.bind_blob_static(9, e.message);
      if (!bound) {
        s.reset();
        return Error{where + "entry " + std::to_string(e.header.seq) + ": " + bound.error()};
      }
      auto step = s.step();
      s.reset();  // release the borrowed bytes and the statement before any rollback
      if (!step) {
        return Error{where + "entry " + std::to_string(e.header.seq) + ": " + step.error()};
      }
    }
  }
  for (const FrontierRow& row : frontiers) {
    auto& s = insert_frontier_stmt;
    s.reset();
    const Bytes bytes = frontier_bytes(row.frontier);
    Status bound = s.bind_int64(1, static_cast<std::int64_t>(row.seq));
    if (bound) bound = s.bind_blob(2, bytes);
    if (bound) {
      if (auto step = s.step(); !step) bound = Error{step.error()};
    }
    s.reset();
    if (!bound) {
      return Error{where + "the frontier of entry " + std::to_string(row.seq) + ": " +
                   bound.error()};
    }
  }
  if (auto status = tx.commit(); !status) return Error{where + status.error()};
  return Status::success();
}

// ---- Log ----

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;

namespace {

Result<std::unique_ptr<Log::Impl>> open_impl(const std::string& path, OpenMode mode,
                                             std::optional<StoreRole> role,
                                             const OpenOptions& options) {
  // SQLite would take an empty name for a private temporary database.
  if (path.empty()) return Error{"store: no path given"};
  if (is_segmented_path(path)) {
    if (mode == OpenMode::kReadWrite) {
      return open_segmented_read_write(path, role.value_or(StoreRole::kVs), options);
    }
    return open_segmented_read_only(path, role, std::nullopt);
  }
  if (mode == OpenMode::kReadWrite) return open_read_write(path, role.value_or(StoreRole::kVs));
  return open_read_only(path, role);
}

// One file of the store, for reading: a sealed segment, or the single file / active segment.
struct FileView {
  sqlite::Db* db;
  std::uint64_t first_seq;
};

std::vector<FileView> files_of(Log::Impl& impl) {
  std::vector<FileView> files;
  files.reserve(impl.sealed.size() + 1);
  for (SealedSegment& segment : impl.sealed) files.push_back({&segment.db, segment.first_seq});
  files.push_back({&impl.db, impl.active_first_seq});
  return files;
}

// The file that holds `seq` (the last whose first entry is at or before it).
sqlite::Db& file_for(Log::Impl& impl, std::uint64_t seq) {
  if (seq >= impl.active_first_seq) return impl.db;
  sqlite::Db* found = &impl.db;
  for (SealedSegment& segment : impl.sealed) {
    if (segment.first_seq <= seq) found = &segment.db;
  }
  return *found;
}

}  // namespace

Result<std::unique_ptr<Log>> Log::open(const std::string& path, OpenMode mode, StoreRole role) {
  return open(path, mode, role, OpenOptions{});
}

Result<std::unique_ptr<Log>> Log::open(const std::string& path, OpenMode mode, StoreRole role,
                                       const OpenOptions& options) {
  auto impl = open_impl(path, mode, role, options);
  if (!impl) return Error{impl.error()};
  return std::unique_ptr<Log>(new Log(std::move(*impl)));
}

Result<std::unique_ptr<Log>> Log::open(const std::string& path, const SegmentRange& segments) {
  if (!is_segmented_path(path)) {
    return Error{"store " + path + ": not a directory of segments (a segment range needs one)"};
  }
  auto impl = open_segmented_read_only(path, std::nullopt, segments);
  if (!impl) return Error{impl.error()};
  return std::unique_ptr<Log>(new Log(std::move(*impl)));
}

Result<std::unique_ptr<Log>> Log::open(const std::string& path, OpenMode mode) {
  auto impl = open_impl(path, mode, std::nullopt, OpenOptions{});
  if (!impl) return Error{impl.error()};
  return std::unique_ptr<Log>(new Log(std::move(*impl)));
}

StoreRole Log::role() const { return impl_->role; }

std::vector<Log::SegmentInfo> Log::segments() const {
  std::vector<SegmentInfo> out;
  if (!impl_->segmented) {
    out.push_back({impl_->path, 0});
    return out;
  }
  for (const SealedSegment& segment : impl_->sealed)
    out.push_back({segment.file, segment.first_seq});
  out.push_back({impl_->active_file, impl_->active_first_seq});
  return out;
}

Result<std::vector<Entry>> Log::append(std::span<const PendingEntry> entries) {
  auto prepared = impl_->prepare(entries);
  if (!prepared) return prepared;
  // The frontier rows come from moving the head; on a failed write it moves back.
  const std::uint64_t size = impl_->size;
  const Hash32 head = impl_->head;
  const merkle::Accumulator accumulator = impl_->accumulator;
  const std::vector<FrontierRow> frontiers = impl_->advance(*prepared);
  const std::span<const Entry> group(*prepared);
  if (auto status = impl_->write(std::span<const std::span<const Entry>>(&group, 1), frontiers);
      !status) {
    impl_->size = size;
    impl_->head = head;
    impl_->accumulator = accumulator;
    return Error{status.error()};
  }
  return prepared;
}

std::uint64_t Log::size() const {
  if (impl_->mode == OpenMode::kReadWrite) return impl_->size;
  // The last file holds the head; an empty last segment starts where its seal left off.
  auto stmt = sqlite::Stmt::prepare(impl_->db, "SELECT MAX(seq) FROM log_entry");
  if (!stmt) return impl_->active_first_seq;
  auto step = stmt->step();
  if (!step || *step != sqlite::Stmt::Step::kRow || stmt->column_type(0) != SQLITE_INTEGER) {
    return impl_->active_first_seq;
  }
  const std::int64_t last = stmt->column_int64(0);
  return last < 0 ? impl_->active_first_seq : static_cast<std::uint64_t>(last) + 1;
}

Hash32 Log::head_hash() const {
  if (impl_->mode == OpenMode::kReadWrite) return impl_->head;
  auto stmt = sqlite::Stmt::prepare(impl_->db,
                                    "SELECT entry_hash FROM log_entry ORDER BY seq DESC LIMIT 1");
  if (!stmt) return {};
  auto step = stmt->step();
  if (!step) return {};
  if (*step != sqlite::Stmt::Step::kRow) return impl_->active_link;
  auto hash = read_hash(*stmt, 0, "entry_hash");
  return hash ? *hash : Hash32{};
}

Hash32 Log::merkle_root() const {
  if (impl_->mode == OpenMode::kReadWrite) return impl_->accumulator.root();
  merkle::Accumulator accumulator;
  for (const FileView& file : files_of(*impl_)) {
    auto stmt = sqlite::Stmt::prepare(*file.db, "SELECT entry_hash FROM log_entry ORDER BY seq");
    if (!stmt) return accumulator.root();
    for (;;) {
      auto step = stmt->step();
      if (!step || *step != sqlite::Stmt::Step::kRow) break;
      auto hash = read_hash(*stmt, 0, "entry_hash");
      accumulator.append(hash ? *hash : Hash32{});
    }
  }
  return accumulator.root();
}

Status Log::scan(const Filter& filter, const std::function<bool(const Entry&)>& visit,
                 const BadRowReporter& report_bad_row) const {
  if (filter.from_seq > kMaxStoredInteger) return Status::success();
  if (filter.session_id && *filter.session_id > kMaxStoredInteger) return Status::success();
  std::string sql = std::string(kSelectColumns) + " WHERE seq >= ?1";
  const bool bounded = filter.to_seq && *filter.to_seq <= kMaxStoredInteger;
  if (bounded) sql += " AND seq < ?2";
  if (filter.session_id) sql += " AND session_id = ?3";
  if (filter.kind) sql += " AND kind = ?4";
  sql += " ORDER BY seq";

  const std::vector<FileView> files = files_of(*impl_);
  for (std::size_t i = 0; i < files.size(); ++i) {
    // Files that end before from_seq or start at or after to_seq hold nothing selected.
    if (i + 1 < files.size() && files[i + 1].first_seq <= filter.from_seq) continue;
    if (bounded && files[i].first_seq >= *filter.to_seq) break;
    const std::string where = impl_->segmented ? impl_->label(files[i].first_seq) : impl_->label();
    auto stmt = sqlite::Stmt::prepare(*files[i].db, sql);
    if (!stmt) return Error{where + ": cannot scan: " + stmt.error()};
    Status bound = stmt->bind_int64(1, static_cast<std::int64_t>(filter.from_seq));
    if (bound && bounded) bound = stmt->bind_int64(2, static_cast<std::int64_t>(*filter.to_seq));
    if (bound && filter.session_id) {
      bound = stmt->bind_int64(3, static_cast<std::int64_t>(*filter.session_id));
    }
    if (bound && filter.kind) bound = stmt->bind_int64(4, static_cast<std::int64_t>(*filter.kind));
    if (!bound) return Error{where + ": cannot scan: " + bound.error()};

    for (;;) {
      auto step = stmt->step();
      if (!step) return Error{where + ": scan failed: " + step.error()};
      if (*step == sqlite::Stmt::Step::kDone) break;
      auto row = read_row(*stmt);
      if (!row) {
        // seq is the rowid, so always an integer, and at least filter.from_seq, so not negative.
        const auto seq = static_cast<std::uint64_t>(stmt->column_int64(kColSeq));
        if (!report_bad_row) return Error{impl_->label(seq) + ": " + row.error()};
        report_bad_row(seq, row.error());
        continue;
      }
      if (!visit(to_entry(std::move(*row)))) return Status::success();
    }
  }
  return Status::success();
}

Result<std::optional<Entry>> read_entry(sqlite::Db& db, std::uint64_t seq) {
  auto stmt = sqlite::Stmt::prepare(db, std::string(kSelectColumns) + " WHERE seq = ?1");
  if (!stmt) return Error{"cannot read: " + stmt.error()};
  if (auto status = stmt->bind_int64(1, static_cast<std::int64_t>(seq)); !status) {
    return Error{"cannot read: " + status.error()};
  }
  auto step = stmt->step();
  if (!step) return Error{"cannot read: " + step.error()};
  if (*step == sqlite::Stmt::Step::kDone) return std::optional<Entry>{};
  auto row = read_row(*stmt);
  if (!row) return Error{row.error()};
  return std::optional<Entry>{to_entry(std::move(*row))};
}

Result<std::optional<std::pair<std::uint64_t, std::uint64_t>>> seq_range(sqlite::Db& db) {
  // Each of MIN and MAX of the rowid alone is one look down the table's b-tree; both in one
  // SELECT would scan the whole table (SQLite's min/max shortcut takes a single aggregate).
  auto stmt = sqlite::Stmt::prepare(
      db, "SELECT (SELECT MIN(seq) FROM log_entry), (SELECT MAX(seq) FROM log_entry)");
  if (!stmt) return Error{stmt.error()};
  auto step = stmt->step();
  if (!step) return Error{step.error()};
  using Range = std::optional<std::pair<std::uint64_t, std::uint64_t>>;
  if (*step != sqlite::Stmt::Step::kRow || stmt->column_type(0) != SQLITE_INTEGER) return Range{};
  const std::int64_t low = stmt->column_int64(0);
  const std::int64_t high = stmt->column_int64(1);
  if (low < 0 || high < low) return Error{"a row has the negative seq " + std::to_string(low)};
  return Range{std::pair{static_cast<std::uint64_t>(low), static_cast<std::uint64_t>(high)}};
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

Result<Entry> Log::get(std::uint64_t seq) const {
  if (seq > kMaxStoredInteger) return Error{impl_->label(seq) + ": no such entry"};
  auto entry = read_entry(file_for(*impl_, seq), seq);
  if (!entry) return Error{impl_->label(seq) + ": " + entry.error()};
  if (!*entry) {
    return Error{impl_->label(seq) + ": no such entry (the log holds " + std::to_string(size()) +
                 ")"};
  }
  return std::move(**entry);
}

}  // namespace gsvs::storage
