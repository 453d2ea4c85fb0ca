// The fleet schema in PostgreSQL (docs/STORE.md §11.6): who holds each GS identity, and the
// session ids, shared by the nodes of one database.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>

#include "protocol/bytes.h"
#include "storage/fleet.h"
#include "storage/postgres.h"

namespace gsvs::storage {

namespace {

// The least time between two attempts to connect the fleet connection again (State::begin_call).
constexpr std::chrono::seconds kReconnectPause{1};

// 2: the quarantine table. A fleet of version 1 is brought to 2 by the first node that joins it
// (kUpgradeFleet).
constexpr std::string_view kFleetVersion = "2";

// The largest id a node may store (STORE.md §8: integers stay below 2^63).
constexpr std::uint64_t kMaxSessionId = (std::uint64_t{1} << 63) - 1;

bool is_plain_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name.front() >= '0' && name.front() <= '9') return false;
  for (const char c : name) {
    const bool lower = c >= 'a' && c <= 'z';
    const bool digit = c >= '0' && c <= '9';
    if (!lower && !digit && c != '_') return false;
  }
  return true;
}

// Created together under a transaction-level advisory lock, so that nodes starting at once do
// not race on CREATE ... IF NOT EXISTS. `%` stands for the fleet schema.
constexpr std::string_view kCreateFleet = R"(
CREATE SCHEMA IF NOT EXISTS %;
CREATE TABLE IF NOT EXISTS %.fleet_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS %.node (
  log_schema text PRIMARY KEY,
  vs_public_key bytea NOT NULL CHECK (octet_length(vs_public_key) = 32),
  registered_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS %.live_session (
  gs_identity bytea PRIMARY KEY CHECK (octet_length(gs_identity) = 32),
  node text NOT NULL REFERENCES %.node (log_schema),
  claimed_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS %.session_ids (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  next_id bigint NOT NULL CHECK (next_id > 0));
INSERT INTO %.session_ids (next_id) VALUES (1) ON CONFLICT DO NOTHING;
INSERT INTO %.fleet_meta (key, value) VALUES ('fleet_version', '1') ON CONFLICT DO NOTHING;
)";

// Version 1 to 2, under the same lock: the quarantines each node began, and the sessions each
// node took up from another's log.
constexpr std::string_view kUpgradeFleet = R"(
CREATE TABLE IF NOT EXISTS %.quarantine (
  gs_identity bytea NOT NULL CHECK (octet_length(gs_identity) = 32),
  node text NOT NULL REFERENCES %.node (log_schema),
  session_id bigint NOT NULL,
  reason integer NOT NULL,
  since_vs_ms bigint NOT NULL,
  revocation_position bigint NOT NULL,
  quarantine_ms bigint NOT NULL,
  PRIMARY KEY (gs_identity, node));
ALTER TABLE %.live_session ADD COLUMN IF NOT EXISTS session_id bigint;
CREATE TABLE IF NOT EXISTS %.adoption (
  from_node text NOT NULL REFERENCES %.node (log_schema),
  session_id bigint NOT NULL,
  by_node text NOT NULL REFERENCES %.node (log_schema),
  adopted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (from_node, session_id));
UPDATE %.fleet_meta SET value = '2' WHERE key = 'fleet_version' AND value = '1';
)";

constexpr std::string_view kQuarantineColumns =
    "node, session_id, reason, since_vs_ms, revocation_position, quarantine_ms";

std::string with_schema(std::string_view sql, const std::string& schema) {
  std::string out;
  for (const char c : sql) {
    if (c == '%') {
      out += schema;
    } else {
      out += c;
    }
  }
  return out;
}

// Runs `sql` (with `%` for the fleet schema) in one transaction under the fleet's advisory lock.
Status exec_under_fleet_lock(postgres::Conn& c, const std::string& fleet_schema,
                             std::string_view sql) {
  postgres::Transaction tx(c);
  if (auto begun = tx.begin(); !begun) return begun;
  if (auto locked = c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                            {postgres::Param::of("gsvs-fleet:" + fleet_schema)});
      !locked) {
    return locked.failure();
  }
  if (auto done = c.exec(with_schema(sql, fleet_schema)); !done) return done;
  return tx.commit();
}

}  // namespace

// A session id for a nullable column, read as NULLIF($n, '')::int8: none is the empty text.
postgres::Param session_param(std::optional<std::uint64_t> session_id) {
  return postgres::Param::of(session_id ? std::to_string(*session_id) : std::string());
}

struct Fleet::State {
  std::mutex mutex;
  postgres::Conn conn;
  std::string schema;  // the fleet's
  std::string node;    // this node's log schema
  std::string label;   // "fleet F of postgresql://...", for messages
  // The holds on each identity this node claimed, given back by release().
  std::map<crypto::PublicKey, std::uint32_t> holds;
  // A release failed: the database may hold claims of this node that nothing here holds.
  // Deleted before the next claim.
  bool stale_claims = false;
  // This node's quarantines in force, as its log says; the database's rows follow them.
  std::map<crypto::PublicKey, Quarantine> quarantines;
  // A write of them failed: the rows are replaced with `quarantines` before the next claim, and
  // no claim is deleted until then.
  bool stale_quarantines = false;

  // Told when the connection was lost and connected again (or could not be).
  std::function<void(const std::string&)> on_notice;
  // The dead nodes whose writer lock this connection holds (lock_dead_holder to unlock_node). A
  // lost connection takes them along: what was to be done under one is refused after a reset,
  // as the node may have started meanwhile.
  std::set<std::string> node_locks;
  // While the server cannot be reached, one attempt to connect again a second at most: the
  // calls between fail at once rather than each waiting on a connect.
  std::chrono::steady_clock::time_point next_reconnect{};

  std::string table(std::string_view name) const { return schema + "." + std::string(name); }

  // Refuses a step that needs `node`'s writer lock where this connection no longer holds it.
  Status holds_lock_of(const std::string& other) const {
    if (node_locks.contains(other)) return Status::success();
    return Error{label + ": node " + other +
                 "'s writer lock was lost with the connection (it may be alive again): nothing "
                 "is taken over from it"};
  }

  // What a connection of the fleet sets: quiet on what CREATE ... IF NOT EXISTS skips, and named
  // as a fleet connection (a start tells a dead node's writer lock by it, pg_store.cpp).
  Status set_up() {
    return conn.exec("SET client_min_messages = warning; SET application_name = '" +
                     std::string(postgres::kFleetApplication) + "'");
  }

  // Locks the state for one call, first connecting again where the connection was lost, so that
  // a lost connection costs the call under way, not every one after it. Never mid-call: a
  // statement must not run outside the transaction it belonged to. What a failed write left
  // (quarantines, released claims) is written again before the next claim.
  std::unique_lock<std::mutex> begin_call() {
    std::unique_lock lock(mutex);
    if (!conn.lost()) return lock;
    node_locks.clear();
    const auto now = std::chrono::steady_clock::now();
    if (now < next_reconnect) return lock;
    next_reconnect = now + kReconnectPause;
    Status again = conn.reset();
    if (again) again = set_up();
    if (!again) {
      if (on_notice) on_notice(label + ": the connection is lost; " + again.error());
      return lock;
    }
    stale_quarantines = true;
    stale_claims = true;
    if (on_notice) on_notice(label + ": the connection was lost; connected again");
    return lock;
  }

  // Deletes this node's claims on identities nothing here holds, except `keep`.
  Status delete_unheld_claims(const std::optional<crypto::PublicKey>& keep) {
    std::string held = keep ? to_hex(keep->view()) : std::string();
    for (const auto& [identity, count] : holds) {
      held += (held.empty() ? "" : ",") + to_hex(identity.view());
    }
    auto deleted = conn.query(
        "DELETE FROM " + table("live_session") +
            " WHERE node = $1 AND NOT (gs_identity = ANY (ARRAY(SELECT decode(h, 'hex') FROM "
            "unnest(string_to_array($2, ',')) AS h)))",
        {postgres::Param::of(node), postgres::Param::of(held)});
    if (!deleted) return deleted.failure();
    stale_claims = false;
    return Status::success();
  }

  // Replaces this node's quarantine rows with `quarantines`, in one transaction.
  Status write_quarantines() {
    postgres::Transaction tx(conn);
    if (auto begun = tx.begin(); !begun) return begun;
    auto deleted = conn.query("DELETE FROM " + table("quarantine") + " WHERE node = $1",
                              {postgres::Param::of(node)});
    if (!deleted) return deleted.failure();
    for (const auto& [identity, q] : quarantines) {
      if (auto written = upsert_quarantine(q); !written) return written;
    }
    if (auto committed = tx.commit(); !committed) return committed;
    stale_quarantines = false;
    return Status::success();
  }

  // This node's quarantine `q`, replacing its earlier one of the identity.
  Status upsert_quarantine(const Quarantine& q) {
    return insert_quarantine(q, node,
                             "DO UPDATE SET session_id = EXCLUDED.session_id, reason = "
                             "EXCLUDED.reason, since_vs_ms = EXCLUDED.since_vs_ms, "
                             "revocation_position = EXCLUDED.revocation_position, quarantine_ms = "
                             "EXCLUDED.quarantine_ms");
  }

  // `q` as node `by`'s, with `on_conflict` the action for a row of that node and identity.
  Status insert_quarantine(const Quarantine& q, const std::string& by,
                           std::string_view on_conflict) {
    auto written = conn.query(
        "INSERT INTO " + table("quarantine") + " (gs_identity, " + std::string(kQuarantineColumns) +
            ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (gs_identity, node) " +
            std::string(on_conflict),
        {postgres::Param::of_bytes(q.identity.view()), postgres::Param::of(by),
         postgres::Param::of(static_cast<std::int64_t>(q.session_id)),
         postgres::Param::of(std::int64_t{q.reason}),
         postgres::Param::of(static_cast<std::int64_t>(q.since_ms)),
         postgres::Param::of(static_cast<std::int64_t>(q.position)),
         postgres::Param::of(std::int64_t{q.quarantine_ms})});
    if (!written) return written.failure();
    return Status::success();
  }

  // Moves the claim on `identity` to this node if `from` still holds it: of two nodes taking
  // over at once, one wins.
  // `session_id`: the session that takes it up (an adoption), or none yet (a join).
  Result<bool> take_over(const crypto::PublicKey& identity, const std::string& from,
                         std::optional<std::uint64_t> session_id) {
    auto taken = conn.query("UPDATE " + table("live_session") +
                                " SET node = $2, claimed_at = now(), session_id = NULLIF($4, "
                                "'')::int8 WHERE gs_identity = $1 "
                                "AND node = $3 RETURNING 1",
                            {postgres::Param::of_bytes(identity.view()), postgres::Param::of(node),
                             postgres::Param::of(from), session_param(session_id)});
    if (!taken) return taken.failure();
    return taken->rows() == 1;
  }
};

Fleet::Fleet(std::unique_ptr<State> state) : state_(std::move(state)) {}
Fleet::~Fleet() = default;

const std::string& Fleet::node() const { return state_->node; }

Result<std::vector<std::string>> Fleet::fleets_of(const std::string& store_url) {
  const std::string label = "store " + postgres::redacted(store_url);
  auto conn = postgres::Conn::connect(store_url);
  if (!conn) return conn.failure().within(label + ": ");
  // The schemas with a fleet's tables whose node list this role may read: a fleet's nodes hold
  // USAGE on its schema and SELECT on its node table (docs/OPERATIONS.md "Running a fleet").
  // information_schema shows what the role has any privilege on; a schema it cannot read, or an
  // application's tables that happen to share the names, are no fleet of this node.
  // The privileges are asked of the candidates only (materialized first; CASE keeps the
  // schema's before the table's, whose name resolves only with USAGE on the schema).
  auto schemas = conn->query(
      "WITH candidate AS MATERIALIZED ("
      " SELECT c.table_schema::text AS name FROM information_schema.columns c"
      " WHERE c.table_name = 'node' AND c.column_name = 'log_schema'"
      " AND c.table_schema <> current_schema()"
      " AND EXISTS (SELECT 1 FROM information_schema.tables t"
      " WHERE t.table_schema = c.table_schema AND t.table_name = 'fleet_meta'))"
      " SELECT name FROM candidate WHERE CASE WHEN has_schema_privilege(name, 'USAGE')"
      " THEN has_column_privilege(format('%I.node', name), 'log_schema', 'SELECT')"
      " ELSE false END ORDER BY 1");
  if (!schemas)
    return Error{label + ": cannot look for the fleets it is a node of: " + schemas.error()};
  std::vector<std::string> fleets;
  for (int row = 0; row < schemas->rows(); ++row) {
    const std::string schema = schemas->text(row, 0);
    if (!is_plain_identifier(schema)) continue;  // no fleet is named so (join() refuses it)
    auto listed =
        postgres::single_integer(*conn, "SELECT count(*)::int FROM \"" + schema +
                                            "\".node WHERE log_schema = current_schema()");
    if (!listed) {
      return Error{label + ": cannot read the nodes of fleet " + schema + ": " + listed.error()};
    }
    if (*listed > 0) fleets.push_back(schema);
  }
  return fleets;
}

Result<std::unique_ptr<Fleet>> Fleet::join(const std::string& store_url,
                                           const std::string& fleet_schema,
                                           const crypto::PublicKey& vs_key,
                                           std::function<void(const std::string&)> on_notice) {
  auto state = std::make_unique<State>();
  state->schema = fleet_schema;
  state->on_notice = std::move(on_notice);
  state->label = "fleet " + fleet_schema + " of " + postgres::redacted(store_url);
  const std::string& label = state->label;
  if (!is_plain_identifier(fleet_schema)) {
    return Error{label +
                 ": the fleet schema must be a lowercase SQL name (a-z, 0-9, _; not "
                 "starting with a digit; at most 63 characters)"};
  }
  auto conn = postgres::Conn::connect(store_url);
  if (!conn) return conn.failure().within(label + ": ");
  state->conn = std::move(*conn);
  postgres::Conn& c = state->conn;
  if (auto set = state->set_up(); !set) return Error{label + ": " + set.error()};
  auto schema = c.query("SELECT current_schema()");
  if (!schema || schema->rows() != 1 || schema->is_null(0, 0)) {
    return Error{label + ": the store's connection has no current schema" +
                 (schema ? std::string() : ": " + schema.error())};
  }
  state->node = schema->text(0, 0);
  if (state->node == fleet_schema) {
    return Error{label +
                 ": the fleet schema is the node's own log schema; a node's log and the "
                 "fleet each need a schema of their own"};
  }
  // Created by the first node (or by an administrator, when the nodes' role may not create
  // schemas): a role without CREATE never runs CREATE.
  auto exists = postgres::single_integer(c, "SELECT (to_regclass($1) IS NOT NULL)::int",
                                         {postgres::Param::of(state->table("fleet_meta"))});
  if (!exists) return Error{label + ": " + exists.error()};
  if (*exists == 0) {
    if (auto created = exec_under_fleet_lock(
            c, fleet_schema, std::string(kCreateFleet) + std::string(kUpgradeFleet));
        !created) {
      return Error{label +
                   ": cannot create the fleet's tables (does this role have CREATE on the "
                   "database, or were they created by an administrator, "
                   "docs/OPERATIONS.md?): " +
                   created.error()};
    }
  }
  const std::string read_version =
      "SELECT value FROM " + state->table("fleet_meta") + " WHERE key = 'fleet_version'";
  auto version = c.query(read_version);
  if (!version) return Error{label + ": cannot read fleet_meta: " + version.error()};
  if (version->rows() == 1 && version->text(0, 0) == "1") {
    if (auto upgraded = exec_under_fleet_lock(c, fleet_schema, kUpgradeFleet); !upgraded) {
      return Error{label +
                   ": cannot bring the fleet's tables from version 1 to 2 (does this role have "
                   "CREATE on the fleet schema, or may an administrator run the upgrade, "
                   "docs/STORE.md §11.6?): " +
                   upgraded.error()};
    }
    version = c.query(read_version);
    if (!version) return Error{label + ": cannot read fleet_meta: " + version.error()};
  }
  if (version->rows() != 1 || version->text(0, 0) != kFleetVersion) {
    return Error{label + ": fleet_meta.fleet_version is " +
                 (version->rows() == 1 ? "'" + version->text(0, 0) + "'" : std::string("absent")) +
                 ", not " + std::string(kFleetVersion) + ", the version this build reads"};
  }
  auto registered = c.query(
      "INSERT INTO " + state->table("node") +
          " AS n (log_schema, vs_public_key) VALUES ($1, $2) ON CONFLICT (log_schema) DO UPDATE "
          "SET log_schema = n.log_schema WHERE n.vs_public_key = EXCLUDED.vs_public_key "
          "RETURNING 1",
      {postgres::Param::of(state->node), postgres::Param::of_bytes(vs_key.view())});
  if (!registered)
    return Error{label + ": cannot register node " + state->node + ": " + registered.error()};
  if (registered->rows() != 1) {
    return Error{label + ": node " + state->node +
                 " is registered with another VS key than this vsd's " + to_hex(vs_key.view()) +
                 "; a node keeps its key for the life of its log (a new key is a new node, with a "
                 "log schema of its own)"};
  }
  return std::unique_ptr<Fleet>(new Fleet(std::move(state)));
}

Result<Fleet::Claim> Fleet::claim(const crypto::PublicKey& identity,
                                  std::optional<std::uint64_t> session_id) {
  State& s = *state_;
  const auto lock = s.begin_call();
  const auto failed = [&s](const std::string& what) -> Error {
    return Error{s.label + ": cannot claim a GS identity: " + what};
  };
  if (s.stale_quarantines) {
    if (auto written = s.write_quarantines(); !written) {
      return failed("this node's quarantines are not yet in the database: " + written.error());
    }
  }
  if (s.stale_claims) {
    if (auto deleted = s.delete_unheld_claims(identity); !deleted) return failed(deleted.error());
  }
  const auto granted = [&s, &identity]() -> Result<Claim> {
    ++s.holds[identity];
    return Claim{true, {}, std::nullopt};
  };
  const postgres::Param node = postgres::Param::of(s.node);
  const postgres::Param id = postgres::Param::of_bytes(identity.view());
  // Inserted, or this node's already (a start names its session on a row its previous run left).
  const std::string insert =
      "INSERT INTO " + s.table("live_session") +
      " AS l (gs_identity, node, session_id) VALUES ($1, $2, NULLIF($3, '')::int8) ON CONFLICT "
      "(gs_identity) DO UPDATE SET session_id = coalesce(EXCLUDED.session_id, l.session_id) WHERE "
      "l.node = EXCLUDED.node RETURNING 1";
  const postgres::Param session = session_param(session_id);
  const std::string select_holder =
      "SELECT node, session_id FROM " + s.table("live_session") + " WHERE gs_identity = $1";
  // Inserted, or held already: then who holds it. Twice at most, as the holder may give it back
  // between the two statements.
  std::optional<Claim> held_by;
  for (int attempt = 0; attempt < 2 && !held_by; ++attempt) {
    auto inserted = s.conn.query(insert, {id, node, session});
    if (!inserted) return failed(inserted.error());
    if (inserted->rows() == 1) return granted();
    auto row = s.conn.query(select_holder, {id});
    if (!row) return failed(row.error());
    if (row->rows() == 1) {
      held_by = Claim{false, row->text(0, 0), std::nullopt};
      if (!row->is_null(0, 1)) {
        held_by->holder_session = static_cast<std::uint64_t>(row->integer(0, 1).value_or(0));
      }
    }
  }
  if (!held_by) return failed("the claim changed hands twice while it was read; try again");
  return *held_by;
}

Status Fleet::claimed_for(const crypto::PublicKey& identity, std::uint64_t session_id) {
  State& s = *state_;
  const auto lock = s.begin_call();
  // A failure leaves the claim without its session: a node taking it over after this one dies
  // then refuses to (fail closed) until this node starts again.
  auto named =
      s.conn.query("UPDATE " + s.table("live_session") +
                       " SET session_id = $3::int8 WHERE gs_identity = $1 AND node = $2",
                   {postgres::Param::of_bytes(identity.view()), postgres::Param::of(s.node),
                    postgres::Param::of(static_cast<std::int64_t>(session_id))});
  if (!named) {
    return Error{s.label + ": cannot record session " + std::to_string(session_id) +
                 " with its claim: " + named.error()};
  }
  return Status::success();
}

Result<bool> Fleet::take_claim_from(const crypto::PublicKey& identity, const std::string& node) {
  State& s = *state_;
  const auto lock = s.begin_call();
  if (Status held = s.holds_lock_of(node); !held) return held.failure();
  auto taken = s.take_over(identity, node, std::nullopt);
  if (!taken) return Error{s.label + ": cannot take a claim over: " + taken.error()};
  if (*taken) ++s.holds[identity];
  return taken;
}

Result<std::optional<Fleet::Node>> Fleet::lock_dead_holder(const crypto::PublicKey& identity) {
  State& s = *state_;
  const auto lock = s.begin_call();
  const auto failed = [&s](const std::string& what) -> Error {
    return Error{s.label + ": cannot look up the node that held a GS identity: " + what};
  };
  auto row = s.conn.query("SELECT l.node, n.vs_public_key, l.session_id FROM " +
                              s.table("live_session") + " AS l JOIN " + s.table("node") +
                              " AS n ON n.log_schema = l.node WHERE l.gs_identity = $1",
                          {postgres::Param::of_bytes(identity.view())});
  if (!row) return failed(row.error());
  if (row->rows() != 1 || row->text(0, 0) == s.node) return std::optional<Node>();
  Node holder{row->text(0, 0), {}, std::nullopt};
  const ByteView key = row->bytes(0, 1);
  if (key.size() != crypto::PublicKey::size) {
    return failed("node " + holder.name + ": its vs_public_key is not 32 bytes");
  }
  std::copy(key.begin(), key.end(), holder.vs_key.bytes.begin());
  if (!row->is_null(0, 2)) {
    holder.session_id = static_cast<std::uint64_t>(row->integer(0, 2).value_or(0));
  }
  auto taken = postgres::single_integer(
      s.conn, "SELECT pg_try_advisory_lock(" + postgres::writer_lock_key("$1::text") + ")::int",
      {postgres::Param::of(holder.name)});
  if (!taken) return failed(taken.error());
  if (*taken != 1) return std::optional<Node>();
  s.node_locks.insert(holder.name);
  return std::optional<Node>(std::move(holder));
}

void Fleet::unlock_node(const std::string& node) {
  State& s = *state_;
  const auto lock = s.begin_call();
  s.node_locks.erase(node);
  // A failure leaves the lock to the connection's end: the node stays out until then.
  (void)s.conn.query("SELECT pg_advisory_unlock(" + postgres::writer_lock_key("$1::text") + ")",
                     {postgres::Param::of(node)});
}

Result<Fleet::Adoption> Fleet::adopt_session(const crypto::PublicKey& identity,
                                             const std::string& node, std::uint64_t session_id) {
  State& s = *state_;
  const auto lock = s.begin_call();
  const auto failed = [&s](const std::string& what) -> Error {
    return Error{s.label + ": cannot take up a session: " + what};
  };
  if (Status held = s.holds_lock_of(node); !held) return held.failure();
  const postgres::Param from = postgres::Param::of(node);
  const postgres::Param id = postgres::Param::of(static_cast<std::int64_t>(session_id));
  postgres::Transaction tx(s.conn);
  if (auto begun = tx.begin(); !begun) return failed(begun.error());
  auto recorded = s.conn.query("INSERT INTO " + s.table("adoption") +
                                   " (from_node, session_id, by_node) VALUES ($1, $2, $3) ON "
                                   "CONFLICT DO NOTHING RETURNING 1",
                               {from, id, postgres::Param::of(s.node)});
  if (!recorded) return failed(recorded.error());
  if (recorded->rows() != 1) {
    auto before = s.conn.query(
        "SELECT by_node FROM " + s.table("adoption") + " WHERE from_node = $1 AND session_id = $2",
        {from, id});
    if (!before) return failed(before.error());
    return Adoption{false, "session " + std::to_string(session_id) + " of node " + node +
                               " was taken up before, by node " +
                               (before->rows() == 1 ? before->text(0, 0) : "another")};
  }
  auto taken = s.take_over(identity, node, session_id);
  if (!taken) return failed(taken.error());
  if (!*taken) return Adoption{false, "node " + node + " no longer holds the identity"};
  if (auto committed = tx.commit(); !committed) return failed(committed.error());
  ++s.holds[identity];
  return Adoption{true, {}};
}

void Fleet::forget_adoption(const std::string& node, std::uint64_t session_id) {
  State& s = *state_;
  const auto lock = s.begin_call();
  // A failure leaves the record: the session is then not taken up again, and node's next start
  // revokes it. Fail closed, at the cost of that one session.
  (void)s.conn.query(
      "DELETE FROM " + s.table("adoption") +
          " WHERE from_node = $1 AND session_id = $2 AND by_node = $3",
      {postgres::Param::of(node), postgres::Param::of(static_cast<std::int64_t>(session_id)),
       postgres::Param::of(s.node)});
}

Result<std::map<std::uint64_t, std::string>> Fleet::adopted_from_here() {
  State& s = *state_;
  const auto lock = s.begin_call();
  auto rows = s.conn.query(
      "SELECT session_id, by_node FROM " + s.table("adoption") + " WHERE from_node = $1",
      {postgres::Param::of(s.node)});
  if (!rows) {
    return Error{s.label + ": cannot read the sessions other nodes took up from node " + s.node +
                 ": " + rows.error()};
  }
  std::map<std::uint64_t, std::string> adopted;
  for (int row = 0; row < rows->rows(); ++row) {
    adopted[static_cast<std::uint64_t>(rows->integer(row, 0).value_or(0))] = rows->text(row, 1);
  }
  return adopted;
}

void Fleet::release(const crypto::PublicKey& identity) {
  State& s = *state_;
  const auto lock = s.begin_call();
  auto it = s.holds.find(identity);
  if (it == s.holds.end()) return;
  if (--it->second > 0) return;
  s.holds.erase(it);
  if (s.stale_quarantines && !s.write_quarantines()) {
    // Kept until the quarantines are in: deleted then, before the next claim.
    s.stale_claims = true;
    return;
  }
  auto deleted = s.conn.query(
      "DELETE FROM " + s.table("live_session") + " WHERE gs_identity = $1 AND node = $2",
      {postgres::Param::of_bytes(identity.view()), postgres::Param::of(s.node)});
  if (!deleted) s.stale_claims = true;
}

Status Fleet::drop_unheld_claims() {
  State& s = *state_;
  const auto lock = s.begin_call();
  if (auto deleted = s.delete_unheld_claims(std::nullopt); !deleted) {
    return Error{s.label + ": cannot delete the claims an earlier run of node " + s.node +
                 " left: " + deleted.error()};
  }
  return Status::success();
}

Result<std::uint64_t> Fleet::reserve_session_ids(std::uint64_t floor, std::uint64_t count) {
  State& s = *state_;
  const auto lock = s.begin_call();
  if (count == 0 || floor > kMaxSessionId - count) {
    return Error{s.label + ": no " + std::to_string(count) + " session ids above " +
                 std::to_string(floor) + " below 2^63"};
  }
  auto first = postgres::single_integer(
      s.conn,
      "UPDATE " + s.table("session_ids") +
          " SET next_id = GREATEST(next_id, $1::int8) + $2::int8 RETURNING next_id - $2::int8",
      {postgres::Param::of(static_cast<std::int64_t>(floor)),
       postgres::Param::of(static_cast<std::int64_t>(count))});
  if (!first) return Error{s.label + ": cannot reserve session ids: " + first.error()};
  return static_cast<std::uint64_t>(*first);
}

void Fleet::quarantined(const Quarantine& quarantine) {
  State& s = *state_;
  const auto lock = s.begin_call();
  s.quarantines[quarantine.identity] = quarantine;
  const Status written =
      s.stale_quarantines ? s.write_quarantines() : s.upsert_quarantine(quarantine);
  if (!written) s.stale_quarantines = true;
}

void Fleet::pardoned(const crypto::PublicKey& identity) {
  State& s = *state_;
  const auto lock = s.begin_call();
  s.quarantines.erase(identity);
  if (s.stale_quarantines) {
    (void)s.write_quarantines();
    return;
  }
  auto deleted =
      s.conn.query("DELETE FROM " + s.table("quarantine") + " WHERE gs_identity = $1 AND node = $2",
                   {postgres::Param::of_bytes(identity.view()), postgres::Param::of(s.node)});
  if (!deleted) s.stale_quarantines = true;
}

Status Fleet::quarantined_by_dead_node(const Quarantine& quarantine) {
  State& s = *state_;
  const auto lock = s.begin_call();
  // The node's own row stands unless this Revocation is a later one of that log (an older
  // quarantine of the identity, lapsed, whose row the node kept).
  if (auto written = s.insert_quarantine(
          quarantine, quarantine.node,
          "DO UPDATE SET session_id = EXCLUDED.session_id, reason = EXCLUDED.reason, "
          "since_vs_ms = EXCLUDED.since_vs_ms, revocation_position = "
          "EXCLUDED.revocation_position, quarantine_ms = EXCLUDED.quarantine_ms WHERE "
          "quarantine.revocation_position < EXCLUDED.revocation_position");
      !written) {
    return Error{s.label + ": cannot write the quarantine node " + quarantine.node +
                 "'s log holds: " + written.error()};
  }
  return Status::success();
}

Status Fleet::publish_quarantines(const std::vector<Quarantine>& in_force) {
  State& s = *state_;
  const auto lock = s.begin_call();
  s.quarantines.clear();
  for (const auto& q : in_force) s.quarantines[q.identity] = q;
  if (auto written = s.write_quarantines(); !written) {
    s.stale_quarantines = true;
    return Error{s.label + ": cannot publish the quarantines of node " + s.node + ": " +
                 written.error()};
  }
  return Status::success();
}

Result<std::optional<Fleet::Quarantine>> Fleet::quarantine_elsewhere(
    const crypto::PublicKey& identity, std::uint64_t vs_time_ms) {
  State& s = *state_;
  const auto lock = s.begin_call();
  auto row = s.conn.query(
      "SELECT " + std::string(kQuarantineColumns) + " FROM " + s.table("quarantine") +
          " WHERE gs_identity = $1 AND node <> $2 AND (quarantine_ms = 0 OR since_vs_ms + "
          "quarantine_ms > $3::int8) ORDER BY since_vs_ms DESC LIMIT 1",
      {postgres::Param::of_bytes(identity.view()), postgres::Param::of(s.node),
       postgres::Param::of(static_cast<std::int64_t>(vs_time_ms))});
  if (!row) {
    return Error{s.label + ": cannot read the fleet's quarantines: " + row.error()};
  }
  if (row->rows() == 0) return std::optional<Quarantine>();
  Quarantine q;
  q.identity = identity;
  q.node = row->text(0, 0);
  const auto number = [&row](int column) {
    return static_cast<std::uint64_t>(row->integer(0, column).value_or(0));
  };
  q.session_id = number(1);
  q.reason = static_cast<std::uint16_t>(number(2));
  q.since_ms = number(3);
  q.position = number(4);
  q.quarantine_ms = static_cast<std::uint32_t>(number(5));
  return std::optional<Quarantine>(std::move(q));
}

}  // namespace gsvs::storage
