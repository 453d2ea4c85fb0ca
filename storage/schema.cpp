// The store's schema (docs/STORE.md §2): the SQL a new store or segment is created with, and the
// checks that a file is a gsvs log of a schema version this build reads.
#include <utility>

#include "protocol/clock.h"
#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/sqlite.h"

namespace gsvs::storage {

namespace {

// docs/STORE.md §2 reproduces this schema; change both together, and give the store a new
// schema version when a table, a trigger or meta changes (indexes are access paths: readers never
// depend on them). meta.format by role; a GS store has the same schema (docs/STORE.md §2.1).
constexpr std::string_view kVsFormat = "gsvs-vs-log";
constexpr std::string_view kGsFormat = "gsvs-gs-log";
// Versions 1 (a single file) and 2 (a segment) keep each row's kind name in a kind_name column;
// version 3, both for single files and for segments (told apart by meta.segment_index), keeps
// the names once, in the message_kind table (docs/STORE.md §2.3).
constexpr std::string_view kSingleFileV1 = "1";
constexpr std::string_view kSegmentV2 = "2";
constexpr std::string_view kCurrentVersion = "3";
constexpr int kApplicationId = 0x67737673;  // "gsvs", shown by `sqlite3 X .dbinfo`

constexpr std::string_view kCreateMeta = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
)sql";

// Versions 1 and 2, as older builds made them (frozen: tests create such stores to check that they
// keep working): the kind's name in every row, and every row in the kind index.
constexpr std::string_view kCreateLogEntryV1 = R"sql(
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

// Version 3: the names once, in message_kind (a kind keeps its name: rows are only ever added,
// by the writer, for kinds its build knows), and only the kinds that are read by kind in the
// index: JoinAccept (3) and Revocation (11) at VS recovery, Checkpoint (10) for reports.
constexpr std::string_view kCreateLogEntryV3 = R"sql(
CREATE TABLE message_kind (
  kind INTEGER PRIMARY KEY CHECK (kind BETWEEN 1 AND 255),
  name TEXT    NOT NULL CHECK (typeof(name) = 'text')
);
CREATE TRIGGER message_kind_no_update BEFORE UPDATE ON message_kind
BEGIN
  SELECT RAISE(ABORT, 'message_kind is append-only: UPDATE refused');
END;
CREATE TRIGGER message_kind_no_delete BEFORE DELETE ON message_kind
BEGIN
  SELECT RAISE(ABORT, 'message_kind is append-only: DELETE refused');
END;
CREATE TRIGGER message_kind_no_replace BEFORE INSERT ON message_kind
WHEN EXISTS (SELECT 1 FROM message_kind WHERE kind = NEW.kind)
BEGIN
  SELECT RAISE(ABORT, 'message_kind is append-only: a kind keeps its name');
END;
CREATE TABLE log_entry (
  seq        INTEGER PRIMARY KEY CHECK (seq >= 0),
  kind       INTEGER NOT NULL CHECK (typeof(kind) = 'integer' AND kind BETWEEN 1 AND 255),
  direction  INTEGER NOT NULL CHECK (typeof(direction) = 'integer' AND direction IN (1, 2)),
  session_id INTEGER NOT NULL CHECK (typeof(session_id) = 'integer' AND session_id >= 0),
  vs_time_ms INTEGER NOT NULL CHECK (typeof(vs_time_ms) = 'integer' AND vs_time_ms >= 0),
  prev_hash  BLOB    NOT NULL CHECK (typeof(prev_hash) = 'blob' AND length(prev_hash) = 32),
  entry_hash BLOB    NOT NULL CHECK (typeof(entry_hash) = 'blob' AND length(entry_hash) = 32),
  message    BLOB    NOT NULL CHECK (typeof(message) = 'blob')
);
CREATE INDEX log_entry_by_kind ON log_entry (kind) WHERE kind = 3 OR kind = 10 OR kind = 11;
CREATE VIEW log_entry_readable AS
SELECT seq,
       kind,
       (SELECT name FROM message_kind WHERE message_kind.kind = log_entry.kind) AS kind_name,
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

// Every version: rows are appended in seq order, each linking to the one before, and never
// changed. A segment's schema replaces the first seq (0) and the first link (zeros).
constexpr std::string_view kLogEntryTriggers = R"sql(
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

// The schema of a new store: a single file, or a segment whose first entry is `first_seq` and
// links to `link` (the insert triggers then expect those instead of 0 and zeros).
std::string schema_sql(SchemaLayout layout, std::uint64_t first_seq, const Hash32& link,
                       bool segment) {
  std::string sql(kCreateMeta);
  sql += layout == SchemaLayout::kKindTable ? kCreateLogEntryV3 : kCreateLogEntryV1;
  std::string triggers(kLogEntryTriggers);
  if (segment) {
    const auto replace = [&triggers](std::string_view from, const std::string& to) {
      triggers.replace(triggers.find(from), from.size(), to);
    };
    replace("COALESCE(MAX(seq) + 1, 0)",
            "COALESCE(MAX(seq) + 1, " + std::to_string(first_seq) + ")");
    replace("zeroblob(32))", "X'" + to_hex(link) + "')");
  }
  sql += triggers;
  if (segment) sql += kCreateFrontierTable;
  return sql;
}

std::string_view schema_version(SchemaLayout layout, bool segment) {
  if (layout == SchemaLayout::kKindTable) return kCurrentVersion;
  return segment ? kSegmentV2 : kSingleFileV1;
}

// Adds the name of every kind this build knows that message_kind lacks (all of them in a new
// store; in a store made by an older build, the kinds added since). Inside the caller's
// transaction.
Status add_missing_kind_names(sqlite::Db& db) {
  auto insert =
      sqlite::Stmt::prepare(db,
                            "INSERT INTO message_kind (kind, name) SELECT ?1, ?2 "
                            "WHERE NOT EXISTS (SELECT 1 FROM message_kind WHERE kind = ?1)");
  if (!insert) return insert.failure();
  for (unsigned value = 1; value <= protocol::kMaxMessageKind; ++value) {
    const auto kind = static_cast<protocol::MessageKind>(value);
    insert->reset();
    Status bound = insert->bind_int64(1, value);
    if (bound) bound = insert->bind_text(2, protocol::kind_name(kind));
    if (!bound) return bound;
    if (auto step = insert->step(); !step) return step.failure();
  }
  return Status::success();
}

std::optional<StoreRole> role_of_format(std::string_view format) {
  if (format == kVsFormat) return StoreRole::kVs;
  if (format == kGsFormat) return StoreRole::kGs;
  return std::nullopt;
}

}  // namespace

Result<std::optional<std::string>> query_text(sqlite::Db& db, std::string_view sql,
                                              std::string_view param) {
  auto stmt = sqlite::Stmt::prepare(db, sql);
  if (!stmt) return stmt.failure();
  if (!param.empty()) {
    if (auto status = stmt->bind_text(1, param); !status) return status.failure();
  }
  auto step = stmt->step();
  if (!step) return step.failure();
  if (*step == sqlite::Stmt::Step::kDone) return std::optional<std::string>{};
  return std::optional<std::string>{stmt->column_text(0)};
}

Status create_schema(sqlite::Db& db, StoreRole role, const SegmentCreate* segment,
                     SchemaLayout layout) {
  sqlite::Transaction tx(db);
  if (auto status = tx.begin(); !status) return status;
  // Another process may have created the store between our look and our lock.
  auto count = query_text(db, "SELECT count(*) FROM sqlite_master");
  if (!count) return count.failure();
  if (*count && **count != "0") return tx.commit();

  const std::string sql = segment ? schema_sql(layout, segment->first_seq, segment->link, true)
                                  : schema_sql(layout, 0, Hash32{}, false);
  if (auto status = db.exec(sql); !status) return status;
  if (layout == SchemaLayout::kKindTable) {
    if (auto status = add_missing_kind_names(db); !status) return status;
  }
  auto insert = sqlite::Stmt::prepare(db, "INSERT INTO meta (key, value) VALUES (?1, ?2)");
  if (!insert) return insert.failure();
  const auto now = static_cast<std::int64_t>(unix_time_ms());
  std::vector<std::pair<std::string, std::string>> rows = {
      {"format", std::string(store_format(role))},
      {"schema_version", std::string(schema_version(layout, segment != nullptr))},
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
    if (!step) return step.failure();
  }
  if (auto status = db.exec(std::string(kMetaTriggers)); !status) return status;
  if (auto status = db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)); !status) {
    return status;
  }
  return tx.commit();
}

namespace {

// Which file a known schema version makes of `db`, and how it keeps kind names; nullopt for a
// version this build does not know.
Result<std::optional<std::pair<StoreFile, SchemaLayout>>> file_of_version(
    sqlite::Db& db, const std::string& label, std::string_view version) {
  using Found = std::optional<std::pair<StoreFile, SchemaLayout>>;
  if (version == kSingleFileV1 || version == kSegmentV2) {
    // Versions 1 and 2 keep each entry's kind name in a column: a store without it says a
    // version it was not made with (a damaged meta row), which reads would meet as a bare SQL
    // error.
    auto column = query_text(db, "SELECT name FROM pragma_table_info('log_entry') WHERE name = ?1",
                             "kind_name");
    if (!column) return Error{label + ": cannot read the schema: " + column.error()};
    if (!*column) {
      return Error{label + ": meta says schema version " + std::string(version) +
                   ", but table log_entry has no column 'kind_name', which that version has: "
                   "the meta row is damaged, or the file was edited"};
    }
    return Found{{version == kSingleFileV1 ? StoreFile::kSingle : StoreFile::kSegment,
                  SchemaLayout::kKindNameColumn}};
  }
  if (version != kCurrentVersion) return Found{};
  auto type = query_text(db, "SELECT type FROM sqlite_master WHERE name = ?1", "message_kind");
  if (!type) return Error{label + ": cannot read the schema: " + type.error()};
  if (!*type || **type != "table") {
    return Error{label + ": not a gsvs log store of schema version 3 (no table 'message_kind')"};
  }
  auto index = query_text(db, "SELECT value FROM meta WHERE key = ?1", "segment_index");
  if (!index) return Error{label + ": cannot read meta: " + index.error()};
  return Found{{*index ? StoreFile::kSegment : StoreFile::kSingle, SchemaLayout::kKindTable}};
}

}  // namespace

Result<StoreSchema> check_store_schema(sqlite::Db& db, const std::string& label, StoreFile file,
                                       std::optional<StoreRole> expected) {
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
  auto found = file_of_version(db, label, **stored);
  if (!found) return found.failure();
  if (!*found) {
    return Error{label + ": schema version '" + **stored +
                 "' is not supported by this build, which reads versions 1 and 3 (a single file) "
                 "and 2 and 3 (segments); use a build that knows it"};
  }
  const auto [found_file, layout] = **found;
  if (found_file == file) return StoreSchema{*role, layout};
  if (found_file == StoreFile::kSegment) {
    return Error{label + ": a segment of a segmented store (schema version " + **stored +
                 "), not a store of its own: open the directory that holds it"};
  }
  return Error{label + ": a single-file store (schema version " + **stored +
               "), not a segment of a segmented store (a file that does not belong in the "
               "directory?)"};
}

Result<SchemaLayout> layout_of(sqlite::Db& db) {
  auto stored = query_text(db, "SELECT value FROM meta WHERE key = ?1", "schema_version");
  if (!stored) return Error{"cannot read meta: " + stored.error()};
  return *stored == kCurrentVersion ? SchemaLayout::kKindTable : SchemaLayout::kKindNameColumn;
}

std::string select_columns(SchemaLayout layout) {
  const std::string_view kind_name =
      layout == SchemaLayout::kKindTable
          ? "(SELECT name FROM message_kind WHERE message_kind.kind = log_entry.kind)"
          : "kind_name";
  return "SELECT seq, kind, " + std::string(kind_name) +
         ", direction, session_id, vs_time_ms, prev_hash, entry_hash, message FROM log_entry";
}

Status sync_kind_names(sqlite::Db& db, const std::string& label) {
  auto rows = sqlite::Stmt::prepare(db, "SELECT kind, name FROM message_kind ORDER BY kind");
  if (!rows) return Error{label + ": cannot read message_kind: " + rows.error()};
  for (;;) {
    auto step = rows->step();
    if (!step) return Error{label + ": cannot read message_kind: " + step.error()};
    if (*step == sqlite::Stmt::Step::kDone) break;
    // Kinds this build does not know (a newer build wrote them) are that build's to check.
    const std::int64_t value = rows->column_int64(0);
    if (rows->column_type(0) != SQLITE_INTEGER || value < 1 || value > protocol::kMaxMessageKind) {
      continue;
    }
    const auto kind = static_cast<protocol::MessageKind>(value);
    const std::string_view expected = protocol::kind_name(kind);
    if (rows->column_type(1) != SQLITE_TEXT || rows->column_text(1) != expected) {
      const std::string stored = rows->column_type(1) == SQLITE_TEXT
                                     ? "'" + rows->column_text(1) + "'"
                                     : std::string("a name that is not text");
      return Error{label + ": message_kind names kind " + std::to_string(value) + " " + stored +
                   ", not '" + std::string(expected) + "' (edited?)"};
    }
  }
  sqlite::Transaction tx(db);
  if (auto status = tx.begin(); !status) return Error{label + ": " + status.error()};
  if (auto status = add_missing_kind_names(db); !status) {
    return Error{label + ": cannot add to message_kind: " + status.error()};
  }
  if (auto status = tx.commit(); !status) return Error{label + ": " + status.error()};
  return Status::success();
}

Status check_single_file_schema(Log::Impl& impl, bool create, std::optional<StoreRole> expected) {
  auto count = query_text(impl.db, "SELECT count(*) FROM sqlite_master");
  if (!count) return Error{impl.label() + ": cannot read the database: " + count.error()};
  if (*count && **count == "0") {
    if (!create) return Error{impl.label() + ": empty database, not a gsvs log store"};
    if (auto status = create_schema(impl.db, impl.role, nullptr); !status) {
      return Error{impl.label() + ": cannot create the schema: " + status.error()};
    }
  }
  auto schema = check_store_schema(impl.db, impl.label(), StoreFile::kSingle, expected);
  if (!schema) return schema.failure();
  impl.role = schema->role;
  return Status::success();
}

// ---- roles ----

std::string_view store_format(StoreRole role) {
  return role == StoreRole::kGs ? kGsFormat : kVsFormat;
}

std::string_view store_role_name(StoreRole role) {
  return role == StoreRole::kGs ? "GS store" : "VS store";
}

}  // namespace gsvs::storage
