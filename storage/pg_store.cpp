// A Log in PostgreSQL (docs/STORE.md §11): the schema, the opens, and reading and writing rows.
#include "storage/pg_store.h"

#include <algorithm>
#include <chrono>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "storage/segment_files.h"

namespace gsvs::storage {

namespace {

// docs/STORE.md §11.1 reproduces this schema; change both together, and give the schema a new
// meta.schema_version when a table, a trigger or meta changes.
constexpr std::string_view kPgSchemaVersion = "2";
constexpr std::string_view kCreateSchema = R"sql(
CREATE TABLE meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE message_kind (
  kind smallint PRIMARY KEY CHECK (kind BETWEEN 1 AND 255),
  name text     NOT NULL
);
CREATE TABLE log_entry (
  seq        bigint   PRIMARY KEY CHECK (seq >= 0),
  kind       smallint NOT NULL REFERENCES message_kind (kind),
  direction  smallint NOT NULL CHECK (direction IN (1, 2)),
  session_id bigint   NOT NULL CHECK (session_id >= 0),
  vs_time_ms bigint   NOT NULL CHECK (vs_time_ms >= 0),
  prev_hash  bytea    NOT NULL CHECK (octet_length(prev_hash) = 32),
  entry_hash bytea    NOT NULL CHECK (octet_length(entry_hash) = 32),
  message    bytea    NOT NULL
);
CREATE INDEX log_entry_by_kind ON log_entry (kind, seq) WHERE kind IN (3, 10, 11);
CREATE FUNCTION gsvs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TABLE retired_range (
  seal_seq        bigint PRIMARY KEY CHECK (seal_seq >= 0),
  first_seq       bigint NOT NULL CHECK (first_seq BETWEEN 0 AND seal_seq),
  seal_entry_hash bytea  NOT NULL CHECK (octet_length(seal_entry_hash) = 32),
  seal_message    bytea  NOT NULL,
  seal_frontier   bytea  NOT NULL CHECK (octet_length(seal_frontier) % 32 = 0),
  disposition     text   NOT NULL CHECK (disposition IN ('archived', 'pruned')),
  at_ms           bigint NOT NULL CHECK (at_ms >= 0),
  archived_to     text   NOT NULL
);
CREATE FUNCTION gsvs_delete_retired_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  retired_to bigint;
BEGIN
  EXECUTE format('SELECT max(seal_seq) FROM %I.retired_range', TG_TABLE_SCHEMA) INTO retired_to;
  IF retired_to IS NOT NULL AND OLD.seq <= retired_to THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'log_entry is append-only: DELETE of entry % refused (only entries a retired_range row covers may go)', OLD.seq;
END
$$;
CREATE TRIGGER log_entry_append_only BEFORE UPDATE ON log_entry
  FOR EACH ROW EXECUTE FUNCTION gsvs_refuse_change();
CREATE TRIGGER log_entry_delete_retired_only BEFORE DELETE ON log_entry
  FOR EACH ROW EXECUTE FUNCTION gsvs_delete_retired_only();
CREATE TRIGGER log_entry_no_truncate BEFORE TRUNCATE ON log_entry
  FOR EACH STATEMENT EXECUTE FUNCTION gsvs_refuse_change();
CREATE TRIGGER message_kind_append_only BEFORE UPDATE OR DELETE ON message_kind
  FOR EACH ROW EXECUTE FUNCTION gsvs_refuse_change();
CREATE TRIGGER message_kind_no_truncate BEFORE TRUNCATE ON message_kind
  FOR EACH STATEMENT EXECUTE FUNCTION gsvs_refuse_change();
CREATE TRIGGER meta_append_only BEFORE UPDATE OR DELETE ON meta
  FOR EACH ROW EXECUTE FUNCTION gsvs_refuse_change();
CREATE TRIGGER meta_no_truncate BEFORE TRUNCATE ON meta
  FOR EACH STATEMENT EXECUTE FUNCTION gsvs_refuse_change();
CREATE TRIGGER retired_range_append_only BEFORE UPDATE OR DELETE ON retired_range
  FOR EACH ROW EXECUTE FUNCTION gsvs_refuse_change();
CREATE TRIGGER retired_range_no_truncate BEFORE TRUNCATE ON retired_range
  FOR EACH STATEMENT EXECUTE FUNCTION gsvs_refuse_change();
)sql";

// The columns read_pg_row expects, in its order.
constexpr std::string_view kSelectColumns =
    "SELECT e.seq, e.kind, k.name, e.direction, e.session_id, e.vs_time_ms, e.prev_hash, "
    "e.entry_hash, e.message FROM log_entry e LEFT JOIN message_kind k ON k.kind = e.kind";
// Rows read per query by scans and the open's verification: constant memory, few round trips.
constexpr int kPageRows = 2000;
// Rows per INSERT: PostgreSQL takes at most 65,535 parameters in one statement, 8 a row.
constexpr std::size_t kInsertRows = 1000;
// Retention's lock: one retention at a time per log, beside its writer (docs/STORE.md §11.5).
constexpr std::string_view kRetentionLockKey =
    "hashtextextended('gsvs-retention:' || current_schema(), 0)";

Result<std::uint64_t> unsigned_column(const postgres::Res& res, int row, int column,
                                      std::string_view name) {
  const auto value = res.integer(row, column);
  if (res.is_null(row, column) || !value || *value < 0) {
    return Error{std::string(name) + " is not a non-negative integer"};
  }
  return static_cast<std::uint64_t>(*value);
}

Result<Hash32> hash_column(const postgres::Res& res, int row, int column, std::string_view name) {
  const ByteView bytes = res.bytes(row, column);
  if (res.is_null(row, column) || bytes.size() != Hash32::size) {
    return Error{std::string(name) + " is " + std::to_string(bytes.size()) + " bytes, not 32"};
  }
  Hash32 out;
  std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
  return out;
}

// One row of a kSelectColumns query; the message is borrowed from `res`.
Result<RowView> read_pg_row(const postgres::Res& res, int row) {
  RowView out;
  auto seq = unsigned_column(res, row, 0, "seq");
  if (!seq) return seq.failure();
  auto kind = unsigned_column(res, row, 1, "kind");
  if (!kind || *kind > 255) return Error{"kind is not a small integer"};
  auto direction = unsigned_column(res, row, 3, "direction");
  if (!direction || *direction > 255) return Error{"direction is not a small integer"};
  auto session = unsigned_column(res, row, 4, "session_id");
  if (!session) return session.failure();
  auto time = unsigned_column(res, row, 5, "vs_time_ms");
  if (!time) return time.failure();
  auto prev = hash_column(res, row, 6, "prev_hash");
  if (!prev) return prev.failure();
  auto hash = hash_column(res, row, 7, "entry_hash");
  if (!hash) return hash.failure();
  out.header.seq = *seq;
  out.header.kind = static_cast<protocol::MessageKind>(*kind);
  out.header.direction = static_cast<chains::Direction>(*direction);
  out.header.session_id = *session;
  out.header.vs_time_ms = *time;
  out.header.prev_entry_hash = *prev;
  out.entry_hash = *hash;
  out.message = res.bytes(row, 8);
  if (!res.is_null(row, 2)) out.kind_name = res.text(row, 2);
  return out;
}

Result<std::optional<std::string>> pg_meta_value(postgres::Conn& conn, std::string_view key) {
  auto res = conn.query("SELECT value FROM meta WHERE key = $1", {postgres::Param::of(key)});
  if (!res) return res.failure();
  if (res->rows() == 0) return std::optional<std::string>{};
  return std::optional<std::string>{res->text(0, 0)};
}

// The store's schema exists, or (read-write) is created; its format names `role` (or any role
// when none is expected); sets impl.role.
Status check_or_create_schema(Log::Impl& impl, bool create, std::optional<StoreRole> expected) {
  postgres::Conn& conn = impl.pg->conn;
  // In the current schema itself: an unqualified name would find a log_entry of a later schema of
  // the search_path, another node's log, while the writer lock is this schema's.
  auto exists = postgres::single_integer(
      conn, "SELECT (to_regclass(quote_ident(current_schema()) || '.log_entry') IS NOT NULL)::int");
  if (!exists) return Error{impl.label() + ": " + exists.error()};
  if (*exists == 0) {
    auto schema = conn.query("SELECT current_schema()");
    const std::string name = schema && schema->rows() == 1 && !schema->is_null(0, 0)
                                 ? schema->text(0, 0)
                                 : std::string("(none)");
    if (!create) {
      return Error{impl.label() + ": no gsvs log in schema " + name +
                   " of this database (no log_entry table)"};
    }
    postgres::Transaction tx(conn);
    if (auto status = tx.begin(); !status) return Error{impl.label() + ": " + status.error()};
    if (auto status = conn.exec(std::string(kCreateSchema)); !status) {
      return Error{impl.label() + ": cannot create the schema in " + name + ": " + status.error()};
    }
    const StoreRole role = expected.value_or(StoreRole::kVs);
    for (const auto& [key, value] :
         {std::pair<std::string_view, std::string_view>{"format", store_format(role)},
          {"schema_version", kPgSchemaVersion}}) {
      if (auto row = conn.query("INSERT INTO meta (key, value) VALUES ($1, $2)",
                                {postgres::Param::of(key), postgres::Param::of(value)});
          !row) {
        return Error{impl.label() + ": cannot create the schema: " + row.error()};
      }
    }
    if (auto status = tx.commit(); !status) {
      return Error{impl.label() + ": cannot create the schema: " + status.error()};
    }
  }
  auto format = pg_meta_value(conn, "format");
  if (!format) return Error{impl.label() + ": cannot read meta: " + format.error()};
  if (!*format) return Error{impl.label() + ": meta has no format (not a gsvs log?)"};
  std::optional<StoreRole> role;
  for (const StoreRole r : {StoreRole::kVs, StoreRole::kGs}) {
    if (**format == store_format(r)) role = r;
  }
  if (!role) return Error{impl.label() + ": meta.format is '" + **format + "', not a gsvs log"};
  if (expected && *role != *expected) {
    return Error{impl.label() + ": a " + std::string(store_role_name(*role)) + " (" + **format +
                 "), not a " + std::string(store_role_name(*expected)) + " (" +
                 std::string(store_format(*expected)) + ")"};
  }
  auto version = pg_meta_value(conn, "schema_version");
  if (!version || !*version || **version != kPgSchemaVersion) {
    return Error{impl.label() + ": meta.schema_version is " +
                 (version && *version ? "'" + **version + "'" : std::string("absent")) + ", not " +
                 std::string(kPgSchemaVersion) +
                 ", the version of the PostgreSQL schema this build reads"};
  }
  impl.role = *role;
  return Status::success();
}

// Read-write: every kind this build knows has its name in message_kind (the names are the kinds'
// for good: a name that differs is an edit).
Status sync_pg_kind_names(Log::Impl& impl) {
  postgres::Conn& conn = impl.pg->conn;
  auto stored = conn.query("SELECT kind::int8, name FROM message_kind");
  if (!stored) return Error{impl.label() + ": cannot read message_kind: " + stored.error()};
  std::vector<bool> present(protocol::kMaxMessageKind + 1, false);
  for (int r = 0; r < stored->rows(); ++r) {
    const auto kind = stored->integer(r, 0).value_or(0);
    if (kind < 1 || kind > protocol::kMaxMessageKind) continue;
    const auto k = static_cast<protocol::MessageKind>(kind);
    if (stored->text(r, 1) != protocol::kind_name(k)) {
      return Error{impl.label() + ": message_kind names kind " + std::to_string(kind) + " '" +
                   stored->text(r, 1) + "', not '" + std::string(protocol::kind_name(k)) +
                   "' (edited?)"};
    }
    present[static_cast<std::size_t>(kind)] = true;
  }
  for (unsigned kind = 1; kind <= protocol::kMaxMessageKind; ++kind) {
    const auto k = static_cast<protocol::MessageKind>(kind);
    if (present[kind] || !known_kind(k)) continue;
    if (auto row = conn.query("INSERT INTO message_kind (kind, name) VALUES ($1, $2)",
                              {postgres::Param::of(static_cast<std::int64_t>(kind)),
                               postgres::Param::of(protocol::kind_name(k))});
        !row) {
      return Error{impl.label() + ": cannot add kind " + std::to_string(kind) +
                   " to message_kind: " + row.error()};
    }
  }
  return Status::success();
}

// A session-level advisory lock, held until the connection closes (so a holder that dies
// releases it with its connection). The error names the backend pid that holds it. A fleet node
// (its connection's application_name is postgres::kFleetApplication) holds a dead node's writer
// lock only while it takes up a session or a claim of that node (docs/STORE.md §11.6): the node,
// starting again, waits for it, up to kFleetHoldWait.
constexpr auto kFleetHoldWait = std::chrono::seconds(30);

Status take_advisory_lock(const Log::Impl& impl, std::string_view key, std::string_view who,
                          std::string_view lock, std::string_view one_at_a_time) {
  postgres::Conn& conn = impl.pg->conn;
  const auto give_up_at = std::chrono::steady_clock::now() + kFleetHoldWait;
  for (;;) {
    auto taken = postgres::single_integer(
        conn, "SELECT pg_try_advisory_lock(" + std::string(key) + ")::int");
    if (!taken) {
      return Error{impl.label() + ": cannot take the " + std::string(lock) + ": " + taken.error()};
    }
    if (*taken == 1) return Status::success();
    auto holder = conn.query(
        "SELECT l.pid::int8, coalesce(a.application_name, '') FROM pg_locks AS l LEFT JOIN "
        "pg_stat_activity AS a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
        "l.objsubid = 1 AND ((l.classid::int8 << 32) | l.objid::int8) = " +
        std::string(key) + " LIMIT 1");
    const bool known = holder && holder->rows() == 1 && holder->integer(0, 0);
    const bool fleet_node = known && holder->text(0, 1) == postgres::kFleetApplication;
    if (fleet_node && std::chrono::steady_clock::now() < give_up_at) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const std::string pid = known ? std::to_string(*holder->integer(0, 0)) : "unknown";
    return Error{
        impl.label() + ": another " + std::string(who) +
            (fleet_node ? " (a node of the fleet, for longer than " +
                              std::to_string(kFleetHoldWait.count()) + " s)"
                        : std::string()) +
            " holds it (the server process of its connection has pid " + pid + "); " +
            std::string(one_at_a_time),
        Retry::kLater};  // a holder that died goes once the server sees its connection close
  }
}

Status take_writer_lock(const Log::Impl& impl) {
  // The lock is keyed by the schema, which is NULL when none on the search_path exists (a schema
  // misspelt in the URI, or not created yet): say so rather than what the NULL makes of the lock.
  auto no_schema =
      postgres::single_integer(impl.pg->conn, "SELECT (current_schema() IS NULL)::int");
  if (!no_schema) return Error{impl.label() + ": cannot read the schema: " + no_schema.error()};
  if (*no_schema == 1) {
    return Error{impl.label() +
                 ": no schema on the connection's search_path exists: create the schema the "
                 "store's URI names (options=-csearch_path=...), or correct the URI "
                 "(OPERATIONS.md, \"Running on PostgreSQL\")"};
  }
  // One per schema, so that each log of a database has its own writer.
  return take_advisory_lock(impl, postgres::writer_lock_key("current_schema()"), "writer",
                            "writer lock", "one vsd writes a log at a time");
}

Status take_retention_lock(const Log::Impl& impl) {
  return take_advisory_lock(impl, kRetentionLockKey, "retention", "retention lock",
                            "one retention runs on a log at a time");
}

// A commit the server acknowledges before its WAL is flushed could be lost with the server, after
// the VS acted on it: refused.
Status check_durable_commits(const Log::Impl& impl) {
  auto res = impl.pg->conn.query("SHOW synchronous_commit");
  if (!res || res->rows() != 1) {
    return Error{impl.label() + ": cannot read synchronous_commit: " +
                 (res ? std::string("no row") : res.error())};
  }
  if (res->text(0, 0) == "off") {
    return Error{impl.label() +
                 ": synchronous_commit is off, so a commit could be lost after the VS acted on "
                 "it; set it to on (or remote_apply with a synchronous standby, "
                 "docs/OPERATIONS.md)"};
  }
  return Status::success();
}

// Where the chain of the rows held starts: at entry 0, or after the seal of the newest retired
// range, with the tree over the entries before it. With `vs_key` that seal is checked as vsd checks
// a segment's recorded seal (its signature, and its frontier against the signed root).
Result<ChainState> held_chain_start(const Log::Impl& impl, const Log::Retention& retention,
                                    const std::optional<crypto::PublicKey>& vs_key) {
  if (!retention.first_held) return ChainState{};
  const SegmentMeta& held = *retention.first_held;
  const SegmentMeta::Seal& seal = *held.seal;
  const std::string where = impl.label() + ": retired_range, the range ending at entry " +
                            std::to_string(seal.seq) + ": ";
  std::optional<merkle::Accumulator> tree;
  if (vs_key) {
    auto checked = check_recorded_seal(held, *vs_key);
    if (!checked) return Error{where + checked.error()};
    tree = std::move(*checked);
  } else {
    tree = merkle::Accumulator::from_frontier(seal.seq, seal.frontier);
    if (!tree) return Error{where + "seal_frontier does not fit a tree of its seal_seq entries"};
  }
  return chain_after_seal(seal, std::move(*tree));
}

// Every row from `state` on (entry 0, or the first after the newest retired range's seal).
Status verify_pg_chain(Log::Impl& impl, ChainState state) {
  const auto where = [&impl](std::uint64_t seq) { return impl.label(seq); };
  for (;;) {
    auto page = impl.pg->conn.query(
        std::string(kSelectColumns) + " WHERE e.seq >= $1 ORDER BY e.seq LIMIT " +
            std::to_string(kPageRows),
        {postgres::Param::of(static_cast<std::int64_t>(state.next_seq))});
    if (!page) return Error{where(state.next_seq) + ": cannot read log_entry: " + page.error()};
    for (int r = 0; r < page->rows(); ++r) {
      auto row = read_pg_row(*page, r);
      if (!row) return Error{where(state.next_seq) + ": " + row.error()};
      if (auto next = expect_next_seq(row->header.seq, state, where); !next) return next;
      if (auto chained = chain_row(*row, SchemaLayout::kKindTable, state, where, std::nullopt);
          !chained) {
        return chained;
      }
    }
    if (page->rows() < kPageRows) break;
  }
  impl.size = state.next_seq;
  impl.head = state.previous;
  impl.accumulator = std::move(state.accumulator);
  return Status::success();
}

}  // namespace

bool is_postgres_store(std::string_view path) { return postgres::is_url(path); }

std::string printable_store(std::string_view path) { return postgres::redacted(path); }

Result<std::unique_ptr<Log::Impl>> open_postgres(const std::string& url, OpenMode mode,
                                                 std::optional<StoreRole> role,
                                                 const std::optional<crypto::PublicKey>& vs_key,
                                                 PgOpenFor purpose, const std::string& schema) {
  auto impl = std::make_unique<Log::Impl>();
  impl->path = postgres::redacted(url) + (schema.empty() ? "" : " (schema " + schema + ")");
  impl->mode = mode;
  if (!schema.empty() && mode != OpenMode::kReadOnly) {
    return Error{impl->label() + ": another schema's log is opened read-only only"};
  }
  auto conn = postgres::Conn::connect(url);
  if (!conn) return conn.failure().within(impl->label() + ": ");
  impl->pg = std::make_unique<PgStore>();
  impl->pg->conn = std::move(*conn);
  if (!schema.empty()) {
    auto set = impl->pg->conn.query("SELECT set_config('search_path', quote_ident($1), false)",
                                    {postgres::Param::of(schema)});
    if (!set) return Error{impl->label() + ": " + set.error()};
  }
  if (mode == OpenMode::kReadOnly) {
    if (auto status = impl->pg->conn.exec("SET default_transaction_read_only = on"); !status) {
      return Error{impl->label() + ": " + status.error()};
    }
    if (auto status = check_or_create_schema(*impl, /*create=*/false, role); !status) {
      return status.failure();
    }
    auto retention = impl->pg->retention(*impl);
    if (!retention) return retention.failure();
    auto start = held_chain_start(*impl, *retention, std::nullopt);
    if (!start) return start.failure();
    impl->active_first_seq = start->next_seq;
    impl->active_link = start->previous;
    return impl;
  }
  const bool writer = purpose == PgOpenFor::kWriting;
  for (const auto step : {check_durable_commits, writer ? take_writer_lock : take_retention_lock}) {
    if (auto status = step(*impl); !status) return status.failure();
  }
  if (auto status = check_or_create_schema(*impl, /*create=*/writer, role.value_or(StoreRole::kVs));
      !status) {
    return status.failure();
  }
  auto retention = impl->pg->retention(*impl);
  if (!retention) return retention.failure();
  if (retention->first_held && !vs_key) {
    return Error{impl->label() + ": entries 0.." +
                 std::to_string(retention->first_held->first_seq - 1) +
                 " were retired; a read-write open checks the seal they end with, and needs the "
                 "VS public key"};
  }
  auto start = held_chain_start(*impl, *retention, vs_key);
  if (!start) return start.failure();
  impl->active_first_seq = start->next_seq;
  impl->active_link = start->previous;
  if (auto status = verify_pg_chain(*impl, std::move(*start)); !status) {
    return status.failure();
  }
  if (writer) {
    if (auto status = sync_pg_kind_names(*impl); !status) return status.failure();
  }
  return impl;
}

Status PgStore::write(const std::string& label, std::span<const std::span<const Entry>> groups) {
  std::vector<const Entry*> entries;
  for (const auto& group : groups) {
    for (const Entry& e : group) entries.push_back(&e);
  }
  if (entries.empty()) return Status::success();
  const std::string where = label + ": cannot append entries " +
                            std::to_string(entries.front()->header.seq) + ".." +
                            std::to_string(entries.back()->header.seq) + ": ";
  // One INSERT is a transaction of its own, committed before its answer comes: a group that fits
  // one costs one round trip to the server, not three (BEGIN, INSERT, COMMIT).
  const bool one_statement = entries.size() <= kInsertRows;
  postgres::Transaction tx(conn);
  if (!one_statement) {
    if (auto status = tx.begin(); !status) return Error{where + status.error()};
  }
  for (std::size_t first = 0; first < entries.size(); first += kInsertRows) {
    const std::size_t count = std::min(kInsertRows, entries.size() - first);
    std::string sql =
        "INSERT INTO log_entry (seq, kind, direction, session_id, vs_time_ms, prev_hash, "
        "entry_hash, message) VALUES ";
    std::vector<postgres::Param> params;
    params.reserve(count * 8);
    for (std::size_t i = 0; i < count; ++i) {
      const Entry& e = *entries[first + i];
      const std::size_t base = params.size();
      sql += i == 0 ? "(" : ",(";
      for (std::size_t column = 1; column <= 8; ++column) {
        sql += (column == 1 ? "$" : ",$") + std::to_string(base + column);
      }
      sql += ")";
      params.push_back(postgres::Param::of(static_cast<std::int64_t>(e.header.seq)));
      params.push_back(postgres::Param::of(static_cast<std::int64_t>(e.header.kind)));
      params.push_back(postgres::Param::of(static_cast<std::int64_t>(e.header.direction)));
      params.push_back(postgres::Param::of(static_cast<std::int64_t>(e.header.session_id)));
      params.push_back(postgres::Param::of(static_cast<std::int64_t>(e.header.vs_time_ms)));
      params.push_back(postgres::Param::of_bytes(e.header.prev_entry_hash.view()));
      params.push_back(postgres::Param::of_bytes(e.entry_hash.view()));
      params.push_back(postgres::Param::of_bytes(e.message));
    }
    if (auto inserted = conn.query(sql, params); !inserted) {
      return Error{where + inserted.error()};
    }
  }
  if (one_statement) return Status::success();
  if (auto status = tx.commit(); !status) return Error{where + status.error()};
  return Status::success();
}

Status PgStore::scan(const Log::Impl& impl, const Filter& filter,
                     const std::function<bool(const Entry&)>& visit,
                     const Log::BadRowReporter& report_bad_row) {
  if (filter.from_seq > kMaxStoredInteger) return Status::success();
  if (filter.session_id && *filter.session_id > kMaxStoredInteger) return Status::success();
  std::string where_clause = " WHERE e.seq >= $1";
  std::vector<postgres::Param> params{postgres::Param::of(std::int64_t{0})};
  if (filter.to_seq && *filter.to_seq <= kMaxStoredInteger) {
    params.push_back(postgres::Param::of(static_cast<std::int64_t>(*filter.to_seq)));
    where_clause += " AND e.seq < $" + std::to_string(params.size());
  }
  if (filter.session_id) {
    params.push_back(postgres::Param::of(static_cast<std::int64_t>(*filter.session_id)));
    where_clause += " AND e.session_id = $" + std::to_string(params.size());
  }
  if (filter.kind) {
    where_clause += " AND e.kind = " + std::to_string(static_cast<unsigned>(*filter.kind));
  }
  const std::string sql = std::string(kSelectColumns) + where_clause + " ORDER BY e.seq LIMIT " +
                          std::to_string(kPageRows);
  std::uint64_t next = filter.from_seq;
  for (;;) {
    params[0] = postgres::Param::of(static_cast<std::int64_t>(next));
    auto page = conn.query(sql, params);
    if (!page) return Error{impl.label() + ": scan failed: " + page.error()};
    for (int r = 0; r < page->rows(); ++r) {
      auto seq = unsigned_column(*page, r, 0, "seq");
      if (!seq) return Error{impl.label() + ": scan failed: " + seq.error()};
      next = *seq + 1;
      auto row = read_pg_row(*page, r);
      if (!row) {
        if (!report_bad_row) return Error{impl.label(*seq) + ": " + row.error()};
        report_bad_row(*seq, row.error());
        continue;
      }
      if (!visit(to_entry(std::move(*row)))) return Status::success();
    }
    if (page->rows() < kPageRows) return Status::success();
  }
}

Result<std::optional<Entry>> PgStore::read_entry(std::uint64_t seq) {
  auto res = conn.query(std::string(kSelectColumns) + " WHERE e.seq = $1",
                        {postgres::Param::of(static_cast<std::int64_t>(seq))});
  if (!res) return Error{"cannot read: " + res.error()};
  if (res->rows() == 0) return std::optional<Entry>{};
  auto row = read_pg_row(*res, 0);
  if (!row) return row.failure();
  return std::optional<Entry>{to_entry(std::move(*row))};
}

Result<std::uint64_t> PgStore::size(const Log::Impl& impl) {
  auto last = postgres::single_integer(conn, "SELECT COALESCE(MAX(seq) + 1, 0) FROM log_entry");
  if (!last) return last.failure();
  return std::max(static_cast<std::uint64_t>(*last), impl.active_first_seq);
}

Result<Hash32> PgStore::head_hash(const Log::Impl& impl) {
  auto res = conn.query("SELECT entry_hash FROM log_entry ORDER BY seq DESC LIMIT 1");
  if (!res) return res.failure();
  if (res->rows() == 0) return impl.active_link;
  return hash_column(*res, 0, 0, "entry_hash");
}

Status PgStore::scan_hashes(const Log::Impl& impl, std::uint64_t from_seq,
                            const std::function<void(std::optional<Hash32>)>& visit) {
  std::uint64_t next = from_seq;
  for (;;) {
    auto page = conn.query(
        "SELECT seq, entry_hash FROM log_entry WHERE seq >= $1 ORDER BY seq "
        "LIMIT " +
            std::to_string(kPageRows),
        {postgres::Param::of(static_cast<std::int64_t>(next))});
    if (!page) return Error{impl.label() + ": cannot read entry_hash: " + page.error()};
    for (int r = 0; r < page->rows(); ++r) {
      auto seq = unsigned_column(*page, r, 0, "seq");
      if (!seq) return Error{impl.label() + ": cannot read entry_hash: " + seq.error()};
      next = *seq + 1;
      auto hash = hash_column(*page, r, 1, "entry_hash");
      visit(hash ? std::optional<Hash32>(*hash) : std::nullopt);
    }
    if (page->rows() < kPageRows) return Status::success();
  }
}

Result<Log::Retention> PgStore::retention(const Log::Impl& impl) {
  auto res = conn.query(
      "SELECT seal_seq, first_seq, seal_entry_hash, seal_message, seal_frontier, disposition, "
      "at_ms, archived_to FROM retired_range ORDER BY seal_seq");
  if (!res) return Error{impl.label() + ": cannot read retired_range: " + res.error()};
  Log::Retention out;
  std::uint64_t next = 0;
  for (int r = 0; r < res->rows(); ++r) {
    const std::string where =
        impl.label() + ": retired_range, row " + std::to_string(r + 1) + " in seal_seq order: ";
    auto seal_seq = unsigned_column(*res, r, 0, "seal_seq");
    if (!seal_seq) return Error{where + seal_seq.error()};
    auto first_seq = unsigned_column(*res, r, 1, "first_seq");
    if (!first_seq) return Error{where + first_seq.error()};
    auto seal_hash = hash_column(*res, r, 2, "seal_entry_hash");
    if (!seal_hash) return Error{where + seal_hash.error()};
    auto at_ms = unsigned_column(*res, r, 6, "at_ms");
    if (!at_ms) return Error{where + at_ms.error()};
    const ByteView frontier_column = res->bytes(r, 4);
    if (frontier_column.size() % Hash32::size != 0) {
      return Error{where + "seal_frontier is not a sequence of 32-byte hashes"};
    }
    if (*first_seq != next) {
      return Error{where + "the range starts at entry " + std::to_string(*first_seq) +
                   ", not at entry " + std::to_string(next) +
                   " where the ranges before it end: retired ranges run from entry 0 without a "
                   "gap (a row added or removed?)"};
    }
    RetiredSegment record;
    record.index = static_cast<std::uint64_t>(r);
    record.first_seq = *first_seq;
    record.seal_seq = *seal_seq;
    record.seal_entry_hash = *seal_hash;
    record.disposition = res->text(r, 5) == "archived" ? RetiredSegment::Disposition::kArchived
                                                       : RetiredSegment::Disposition::kPruned;
    record.at_ms = *at_ms;
    record.archived_to = res->text(r, 7);
    out.retired.push_back(std::move(record));
    next = *seal_seq + 1;
    if (r + 1 == res->rows()) {
      SegmentMeta::Seal seal;
      seal.seq = *seal_seq;
      seal.entry_hash = *seal_hash;
      for (std::size_t at = 0; at < frontier_column.size(); at += Hash32::size) {
        Hash32 hash;
        std::copy_n(frontier_column.begin() + static_cast<std::ptrdiff_t>(at), Hash32::size,
                    hash.bytes.begin());
        seal.frontier.push_back(hash);
      }
      const ByteView message = res->bytes(r, 3);
      seal.message.assign(message.begin(), message.end());
      out.first_held =
          SegmentMeta{static_cast<std::uint64_t>(res->rows()), next, *at_ms, std::move(seal)};
    }
  }
  return out;
}

Result<merkle::Accumulator> PgStore::tree_before_first(const Log::Impl& impl) {
  auto retention = this->retention(impl);
  if (!retention) return retention.failure();
  auto start = held_chain_start(impl, *retention, std::nullopt);
  if (!start) return start.failure();
  return std::move(start->accumulator);
}

}  // namespace gsvs::storage
