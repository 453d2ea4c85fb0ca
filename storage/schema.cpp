// The store's schema (docs/STORE.md §2): the SQL a new store or segment is created with, and the
// checks that a file is a gsvs log of a schema version this build reads.
#include <utility>

#include "protocol/clock.h"
#include "storage/log.h"
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

std::optional<StoreRole> role_of_format(std::string_view format) {
  if (format == kVsFormat) return StoreRole::kVs;
  if (format == kGsFormat) return StoreRole::kGs;
  return std::nullopt;
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

Status check_single_file_schema(Log::Impl& impl, bool create, std::optional<StoreRole> expected) {
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

// ---- roles ----

std::string_view store_format(StoreRole role) {
  return role == StoreRole::kGs ? kGsFormat : kVsFormat;
}

std::string_view store_role_name(StoreRole role) {
  return role == StoreRole::kGs ? "GS store" : "VS store";
}

}  // namespace gsvs::storage
