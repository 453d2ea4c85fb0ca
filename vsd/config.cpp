#include "vsd/config.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <limits>

#include "app/config_file.h"
#include "metrics/http_server.h"
#include "net/framed_connection.h"
#include "protocol/message_kinds.h"
#include "rules/continuity.h"
#include "rules/policy_rules.h"
#include "storage/log.h"

namespace gsvs::vsd {

namespace {
// A segment below 64 KiB would be mostly schema; one above 1 TiB defeats the point of rotating.
constexpr std::uint64_t kMinSegmentBytes = std::uint64_t{64} << 10;
constexpr std::uint64_t kMaxSegmentBytes = std::uint64_t{1} << 40;
constexpr std::uint64_t kMaxSegmentAgeS = std::uint64_t{366} * 86400;
constexpr std::uint32_t kMaxTicketPeriodMs = 600000;
// The revocation ripple bound: a revoked GS keeps its players this long at most.
constexpr std::uint32_t kMaxTicketValidityMs = 2 * kMaxTicketPeriodMs;

// A digest every 100 ms is more than any GS sends; an hour without one is no audit at all.
constexpr std::uint32_t kMinDigestTimeoutMs = 100;
constexpr std::uint32_t kMaxDigestTimeoutMs = 3600000;
// WAL pages (4 KiB): up to 4 GiB before a checkpoint starts, 64 GiB before the writer's own.
constexpr std::uint32_t kMaxWalCheckpointPages = 1000000;
constexpr std::uint32_t kMaxWalMaxPages = 16777216;
}  // namespace

rules::MovementLimits Config::physics() const {
  rules::MovementLimits limits;
  limits.max_speed_mm_s = max_speed_m_s * 1000.0;
  limits.tolerance = speed_tolerance;
  limits.jitter_allowance_ms = jitter_allowance_ms;
  limits.decay = excess_decay;
  limits.max_excess_mm = max_excess_m * 1000.0;
  limits.spawn_min_interval_ms = spawn_min_interval_ms;
  limits.max_players = max_players_per_session;
  limits.continuity_window_ms = continuity_window_ms;
  limits.spawn_zones = spawn_zone_shapes;
  return limits;
}

void add_config_options(CLI::App& run, Config& c) {
  run.add_option("--listen", c.listen, "HOST:PORT the GS connections arrive on")
      ->capture_default_str();
  run.add_option("--store", c.store,
                 "The log: a SQLite file, a directory of segments (a path ending in '/' or an "
                 "existing directory), or a PostgreSQL database (postgresql://USER@HOST/DB, "
                 "docs/STORE.md §11); created if absent")
      ->capture_default_str();
  run.add_option("--key", c.key, "VS secret key file (from 'vsd keygen', mode 0600)")
      ->capture_default_str();
  run.add_option("--fleet", c.fleet,
                 "With a PostgreSQL store: the schema the fleet's nodes share (e.g. gsvs_fleet), "
                 "where a GS identity has one live session across them (docs/OPERATIONS.md "
                 "\"Running a fleet\"); empty: this vsd is a single node");
  run.add_option("--admin_socket", c.admin_socket,
                 "Unix socket for 'vsd status' and 'vsd revoke' (created 0600)")
      ->capture_default_str();
  run.add_option("--allowed_gs", c.allowed_gs, "GS identity public keys (hex) allowed to join");
  run.add_option("--allowed_builds", c.allowed_builds, "GS build hashes (sw_hash, hex) allowed");
  run.add_option("--ticket_period_ms", c.ticket_period_ms, "Issue a PlayTicket this often")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{10}, kMaxTicketPeriodMs));
  run.add_option(
         "--ticket_validity_ms", c.ticket_validity_ms,
         "A ticket's lifetime; also the revocation ripple bound (plus client skew): at most "
         "twice the longest ticket_period_ms")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{10}, kMaxTicketValidityMs));
  run.add_option("--heartbeat_interval_ms", c.heartbeat_interval_ms,
                 "How often a GS must heartbeat (told to it in JoinAccept)")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  run.add_option("--heartbeat_timeout_ms", c.heartbeat_timeout_ms,
                 "Revoke a session with no valid heartbeat for this long")
      ->capture_default_str()
      ->check(CLI::Range(20, 3600000));
  run.add_option("--max_clock_skew_ms", c.max_clock_skew_ms,
                 "Refuse a JoinRequest whose GS time differs from the VS clock by more")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
  run.add_option(
         "--max_receipt_lag", c.max_receipt_lag,
         "Receipts a heartbeat's receipt_count may trail the VS by (signed in the JoinAccept)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  run.add_option("--max_speed_m_s", c.max_speed_m_s, "Player speed limit")
      ->capture_default_str()
      ->check(app::finite_range(0.001, 100000.0));
  run.add_option("--speed_tolerance", c.speed_tolerance,
                 "Fraction above the limit still allowed (0.10 = 10%)")
      ->capture_default_str()
      ->check(app::finite_range(0.0, 10.0));
  run.add_option("--jitter_allowance_ms", c.jitter_allowance_ms,
                 "How far a session's credited clock may trail the VS's (PROTOCOL.md §8.6)")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  run.add_option("--excess_decay", c.excess_decay,
                 "Accumulated excess distance kept per 500 ms of credited time (PROTOCOL.md §8.6)")
      ->capture_default_str()
      ->check(app::finite_range(0.0, 1.0));
  run.add_option("--max_excess_m", c.max_excess_m,
                 "Revoke for speed once accumulated excess distance passes this")
      ->capture_default_str()
      ->check(app::finite_range(0.0, 1000000.0));
  run.add_option("--spawn_min_interval_ms", c.spawn_min_interval_ms,
                 "At most one unchecked respawn per player this often")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400000));
  run.add_option("--max_players_per_session", c.max_players_per_session,
                 "Distinct players one session may name in its digests; one more revokes it "
                 "(too_many_players). Bounds the movement state kept per session")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  run.add_option("--quarantine_ms", c.quarantine_ms,
                 "A quarantine of a GS identity (after a revocation for an integrity fault) "
                 "lapses this long after it began (0: only 'vsd pardon' lifts it)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{0}, std::numeric_limits<std::uint32_t>::max()));
  run.add_option("--digest_timeout_ms", c.digest_timeout_ms,
                 "Revoke a session (digests_stopped) whose last digest named players and no "
                 "digest followed for this long (signed in the JoinAccept)")
      ->capture_default_str()
      ->check(CLI::Range(kMinDigestTimeoutMs, kMaxDigestTimeoutMs));
  run.add_option("--continuity_window_ms", c.continuity_window_ms,
                 "A player's first position in a new session of a GS identity is checked from its "
                 "last position notarized under that identity this long before (0: off)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{0}, rules::kMaxContinuityWindowMs));
  run.add_option("--spawn_zones", c.spawn_zones,
                 "Where a spawn is free, each rect:X1,Y1,X2,Y2 or circle:X,Y,R in millimetres; "
                 "a spawn elsewhere is checked as a move (none: anywhere)");
  run.add_option("--checkpoint_every_entries", c.checkpoint_every_entries,
                 "Sign a checkpoint after this many new log entries")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  run.add_option("--checkpoint_interval_ms", c.checkpoint_interval_ms,
                 "... or after this long, whichever comes first")
      ->capture_default_str()
      ->check(CLI::Range(10, 86400000));
  run.add_option("--carry_interval_ms", c.carry_interval_ms,
                 "Restate what a start reads (the quarantines in force, the numbers, the policy) "
                 "in a StateCarried this often, so that retention can retire what came before")
      ->capture_default_str()
      ->check(CLI::Range(1000, 604800000));
  run.add_option("--max_connections", c.max_connections,
                 "Authenticated GS connections at most (those still joining count apart, "
                 "against max_unauthenticated)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  run.add_option("--max_unauthenticated", c.max_unauthenticated,
                 "Connections whose peer has not yet shown an allowed identity's signature; a "
                 "newer one takes the place of the oldest")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  run.add_option("--max_unauthenticated_per_source", c.max_unauthenticated_per_source,
                 "... of which one source address holds at most this many; its newer "
                 "connection takes the place of its own oldest")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  run.add_option("--max_joins_per_second", c.max_joins_per_second,
                 "Joins decided a second at most (0: no limit); a join waits its turn for up to "
                 "half of handshake_timeout_ms, else it is closed and its GS retries")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  run.add_option("--admission_max_lag_ms", c.admission_max_lag_ms,
                 "Joins also wait while a session loop runs this late (0: never), so that a "
                 "storm of joins cannot delay live sessions' digests; keep it well under "
                 "jitter_allowance_ms")
      ->capture_default_str()
      ->check(CLI::Range(0, 60000));
  run.add_option("--handshake_timeout_ms", c.handshake_timeout_ms,
                 "A GS must complete its join within this")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  run.add_option("--resume_window_ms", c.resume_window_ms,
                 "A session left live by the previous run may be resumed this long after the "
                 "start (0: revoke them all at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  run.add_option("--revoke_on_stop", c.revoke_on_stop,
                 "Revoke every live session at a graceful stop instead of leaving them "
                 "resumable by the next start")
      ->capture_default_str();
  run.add_option("--max_frame_bytes", c.max_frame_bytes, "Largest frame accepted")
      ->capture_default_str()
      ->check(CLI::Range(1024, 16777216));
  run.add_option("--threads", c.threads,
                 "Threads running GS sessions, each its own event loop (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  run.add_option("--commit_max_delay_us", c.commit_max_delay_us,
                 "Group commit: the longest an entry waits for its batch")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  run.add_option("--receipt_batch_max", c.receipt_batch_max,
                 "Receipts signed with one signature (PROTOCOL.md 5.11.1): those a session "
                 "loop issues together, up to this many; 1 signs each alone (protocol version 1)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, protocol::kMaxReceiptBatch));
  run.add_option("--max_uncommitted_per_session", c.max_uncommitted_per_session,
                 "Replies to one GS (receipts, tickets) waiting for their batch to commit; at "
                 "this many vsd stops reading from that GS until one commits")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  run.add_option("--segment_max_bytes", c.segment_max_bytes,
                 "A segmented store seals its active segment and starts the next at this size")
      ->capture_default_str()
      ->check(CLI::Range(kMinSegmentBytes, kMaxSegmentBytes));
  run.add_option("--segment_max_age_s", c.segment_max_age_s,
                 "... or at this age, whichever comes first (0: no age limit)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{0}, kMaxSegmentAgeS));
  run.add_option("--wal_checkpoint", c.wal_checkpoint,
                 "How the store's WAL is checkpointed: background (a thread of its own, between "
                 "commits) or inline (inside the commit that reaches wal_checkpoint_pages)")
      ->capture_default_str()
      ->check(CLI::IsMember({"background", "inline"}));
  run.add_option("--wal_checkpoint_pages", c.wal_checkpoint_pages,
                 "Checkpoint the WAL once it holds this many pages")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{1}, kMaxWalCheckpointPages));
  run.add_option("--wal_max_pages", c.wal_max_pages,
                 "background: at this many WAL pages the writer checkpoints it itself (a commit "
                 "waits for it)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint32_t{2}, kMaxWalMaxPages));
  app::add_store_stall_option(run, c.store_stall_ms);
  run.add_option("--log_level", c.log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  app::add_log_format_option(run, c.log_format);
  run.add_option("--metrics_listen", c.metrics_listen,
                 "HOST:PORT to serve Prometheus metrics on (GET /metrics); empty: none")
      ->capture_default_str();
}

Result<protocol::SpawnZone> parse_spawn_zone(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view shape = text.substr(0, colon);
  const bool rectangle = shape == "rect";
  if (colon == std::string_view::npos || (!rectangle && shape != "circle")) {
    return Error{"begin with 'rect:' or 'circle:'"};
  }
  std::vector<std::int32_t> numbers;
  std::string_view rest = text.substr(colon + 1);
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    std::int32_t value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
      return Error{"'" + std::string(item) +
                   "' is not a whole number of millimetres within -2147483648..2147483647"};
    }
    numbers.push_back(value);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  protocol::SpawnZone zone;
  if (rectangle) {
    if (numbers.size() != 4) return Error{"a rectangle is rect:X1,Y1,X2,Y2 (4 numbers)"};
    zone.shape = static_cast<std::uint8_t>(protocol::SpawnZoneShape::kRectangle);
    zone.x_mm = std::min(numbers[0], numbers[2]);
    zone.y_mm = std::min(numbers[1], numbers[3]);
    zone.x2_mm = std::max(numbers[0], numbers[2]);
    zone.y2_mm = std::max(numbers[1], numbers[3]);
    return zone;
  }
  if (numbers.size() != 3) return Error{"a circle is circle:X,Y,R (3 numbers)"};
  if (numbers[2] < 0) return Error{"the radius " + std::to_string(numbers[2]) + " is negative"};
  zone.shape = static_cast<std::uint8_t>(protocol::SpawnZoneShape::kCircle);
  zone.x_mm = numbers[0];
  zone.y_mm = numbers[1];
  zone.x2_mm = numbers[2];
  return zone;
}

Status validate(Config& c) {
  auto address = net::parse_host_port(c.listen);
  if (!address) return Error{"config key 'listen': " + address.error()};
  c.listen_host = address->first;
  c.listen_port = address->second;
  auto metrics_address = metrics::parse_listen_address(c.metrics_listen);
  if (!metrics_address) return Error{"config key 'metrics_listen': " + metrics_address.error()};
  if (c.store.empty()) return Error{"config key 'store' is empty"};
  if (c.key.empty()) return Error{"config key 'key' is empty"};
  if (!c.fleet.empty() && !storage::is_postgres_store(c.store)) {
    return Error{"config key 'fleet' = '" + c.fleet +
                 "' needs a PostgreSQL store (postgresql://...): the nodes of a fleet share one "
                 "database, and 'store' is " +
                 c.store};
  }
  if (c.allowed_gs.empty()) {
    return Error{
        "config key 'allowed_gs' is empty: no GS could join (add the hex public key "
        "printed by 'gsd keygen')"};
  }
  if (c.allowed_builds.empty()) {
    return Error{
        "config key 'allowed_builds' is empty: no GS build could join (add the sw_hash "
        "printed by 'gsd version')"};
  }
  if (c.allowed_gs.size() > protocol::kMaxPolicyIdentities) {
    return Error{"config key 'allowed_gs' lists " + std::to_string(c.allowed_gs.size()) +
                 " identities; at most " + std::to_string(protocol::kMaxPolicyIdentities) +
                 " fit the policy the VS logs"};
  }
  if (c.allowed_builds.size() > protocol::kMaxPolicyBuilds) {
    return Error{"config key 'allowed_builds' lists " + std::to_string(c.allowed_builds.size()) +
                 " builds; at most " + std::to_string(protocol::kMaxPolicyBuilds) +
                 " fit the policy the VS logs"};
  }
  c.allowed_gs_keys.clear();
  for (const auto& hex : c.allowed_gs) {
    auto key = fixed_from_hex<32>(hex);
    if (!key) return Error{"config key 'allowed_gs': '" + hex + "' is not 64 hex characters"};
    c.allowed_gs_keys.insert(*key);
  }
  c.allowed_build_hashes.clear();
  for (const auto& hex : c.allowed_builds) {
    auto hash = fixed_from_hex<32>(hex);
    if (!hash) return Error{"config key 'allowed_builds': '" + hex + "' is not 64 hex characters"};
    c.allowed_build_hashes.insert(*hash);
  }
  if (c.spawn_zones.size() > protocol::kMaxSpawnZones) {
    return Error{"config key 'spawn_zones' lists " + std::to_string(c.spawn_zones.size()) +
                 " zones; at most " + std::to_string(protocol::kMaxSpawnZones) +
                 " fit the JoinAccept"};
  }
  c.spawn_zone_shapes.clear();
  for (std::size_t i = 0; i < c.spawn_zones.size(); ++i) {
    auto zone = parse_spawn_zone(c.spawn_zones[i]);
    if (!zone) {
      return Error{"config key 'spawn_zones', zone " + std::to_string(i + 1) + " '" +
                   c.spawn_zones[i] + "': " + zone.error()};
    }
    c.spawn_zone_shapes.push_back(*zone);
  }
  if (c.continuity_window_ms > rules::kMaxContinuityWindowMs) {
    return Error{"config key 'continuity_window_ms' (" + std::to_string(c.continuity_window_ms) +
                 ") must be at most " + std::to_string(rules::kMaxContinuityWindowMs) +
                 " (10 minutes), or 0"};
  }
  if (c.ticket_validity_ms < c.ticket_period_ms) {
    return Error{"config key 'ticket_validity_ms' (" + std::to_string(c.ticket_validity_ms) +
                 ") must be at least 'ticket_period_ms' (" + std::to_string(c.ticket_period_ms) +
                 "), or clients starve between tickets"};
  }
  if (c.heartbeat_timeout_ms <= c.heartbeat_interval_ms) {
    return Error{"config key 'heartbeat_timeout_ms' (" + std::to_string(c.heartbeat_timeout_ms) +
                 ") must exceed 'heartbeat_interval_ms' (" +
                 std::to_string(c.heartbeat_interval_ms) + ")"};
  }
  // A GS that crashes, or whose link is cut, stops its heartbeats and its digests at once; it
  // must miss its heartbeats first, so that a liveness end never reads as digests_stopped,
  // which quarantines (PROTOCOL.md §8.5 "Digests required").
  if (c.digest_timeout_ms <= c.heartbeat_timeout_ms) {
    return Error{"config key 'digest_timeout_ms' (" + std::to_string(c.digest_timeout_ms) +
                 ") must exceed 'heartbeat_timeout_ms' (" + std::to_string(c.heartbeat_timeout_ms) +
                 "), so that a GS that goes silent misses its heartbeats first"};
  }
  // The same bounds as the options' checks, for a Config built in code.
  if (c.digest_timeout_ms < kMinDigestTimeoutMs || c.digest_timeout_ms > kMaxDigestTimeoutMs) {
    return Error{"config key 'digest_timeout_ms' (" + std::to_string(c.digest_timeout_ms) +
                 ") must be between " + std::to_string(kMinDigestTimeoutMs) + " and " +
                 std::to_string(kMaxDigestTimeoutMs) +
                 " (digests are required while a session has players; there is no off)"};
  }
  if (c.segment_max_bytes < kMinSegmentBytes || c.segment_max_bytes > kMaxSegmentBytes) {
    return Error{"config key 'segment_max_bytes' (" + std::to_string(c.segment_max_bytes) +
                 ") must be between " + std::to_string(kMinSegmentBytes) + " and " +
                 std::to_string(kMaxSegmentBytes)};
  }
  if (c.segment_max_age_s > kMaxSegmentAgeS) {
    return Error{"config key 'segment_max_age_s' (" + std::to_string(c.segment_max_age_s) +
                 ") must be at most " + std::to_string(kMaxSegmentAgeS) + " (a year), or 0"};
  }
  if (c.wal_checkpoint != "background" && c.wal_checkpoint != "inline") {
    return Error{"config key 'wal_checkpoint' = '" + c.wal_checkpoint +
                 "': use background or inline"};
  }
  if (c.receipt_batch_max < 1 || c.receipt_batch_max > protocol::kMaxReceiptBatch) {
    return Error{"config key 'receipt_batch_max' (" + std::to_string(c.receipt_batch_max) +
                 ") must be between 1 and " + std::to_string(protocol::kMaxReceiptBatch)};
  }
  if (c.wal_checkpoint_pages < 1 || c.wal_checkpoint_pages > kMaxWalCheckpointPages) {
    return Error{"config key 'wal_checkpoint_pages' (" + std::to_string(c.wal_checkpoint_pages) +
                 ") must be between 1 and " + std::to_string(kMaxWalCheckpointPages)};
  }
  if (c.wal_max_pages <= c.wal_checkpoint_pages || c.wal_max_pages > kMaxWalMaxPages) {
    return Error{"config key 'wal_max_pages' (" + std::to_string(c.wal_max_pages) +
                 ") must exceed 'wal_checkpoint_pages' (" + std::to_string(c.wal_checkpoint_pages) +
                 ") and be at most " + std::to_string(kMaxWalMaxPages)};
  }
  if (c.resume_window_ms > 600000) {
    return Error{"config key 'resume_window_ms' (" + std::to_string(c.resume_window_ms) +
                 ") must be at most 600000 (10 minutes), or 0"};
  }
  if (c.max_unauthenticated_per_source > c.max_unauthenticated) {
    return Error{"config key 'max_unauthenticated_per_source' (" +
                 std::to_string(c.max_unauthenticated_per_source) +
                 ") must not exceed 'max_unauthenticated' (" +
                 std::to_string(c.max_unauthenticated) + ")"};
  }
  static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
  if (!kLevels.contains(c.log_level)) {
    return Error{"config key 'log_level' = '" + c.log_level +
                 "': use trace, debug, info, warn or error"};
  }
  return {};
}

namespace {

// What a reload may change: the policy. Every key is in exactly one of the two lists (a test
// holds them to the options of `vsd run`).
constexpr std::string_view kPolicyKeys[] = {
    "allowed_gs",           "allowed_builds",        "heartbeat_interval_ms",
    "heartbeat_timeout_ms", "ticket_period_ms",      "ticket_validity_ms",
    "max_receipt_lag",      "max_clock_skew_ms",     "max_speed_m_s",
    "speed_tolerance",      "jitter_allowance_ms",   "excess_decay",
    "max_excess_m",         "spawn_min_interval_ms", "max_players_per_session",
    "quarantine_ms",        "digest_timeout_ms",     "continuity_window_ms",
    "spawn_zones",
};

// Each fixed key, and whether two configurations agree on it. The listener, the store, the key,
// the threads and the budgets are set up once at the start; the rest shapes what the start did.
struct FixedKey {
  std::string_view name;
  bool (*same)(const Config&, const Config&);
};
template <auto Field>
bool same(const Config& a, const Config& b) {
  return a.*Field == b.*Field;
}
const FixedKey kFixedKeys[] = {
    {"listen", &same<&Config::listen>},
    {"store", &same<&Config::store>},
    {"fleet", &same<&Config::fleet>},
    {"key", &same<&Config::key>},
    {"admin_socket", &same<&Config::admin_socket>},
    {"checkpoint_every_entries", &same<&Config::checkpoint_every_entries>},
    {"checkpoint_interval_ms", &same<&Config::checkpoint_interval_ms>},
    {"carry_interval_ms", &same<&Config::carry_interval_ms>},
    {"max_connections", &same<&Config::max_connections>},
    {"max_unauthenticated", &same<&Config::max_unauthenticated>},
    {"max_unauthenticated_per_source", &same<&Config::max_unauthenticated_per_source>},
    {"max_joins_per_second", &same<&Config::max_joins_per_second>},
    {"admission_max_lag_ms", &same<&Config::admission_max_lag_ms>},
    {"handshake_timeout_ms", &same<&Config::handshake_timeout_ms>},
    {"resume_window_ms", &same<&Config::resume_window_ms>},
    {"revoke_on_stop", &same<&Config::revoke_on_stop>},
    {"max_frame_bytes", &same<&Config::max_frame_bytes>},
    {"threads", &same<&Config::threads>},
    {"commit_max_delay_us", &same<&Config::commit_max_delay_us>},
    {"receipt_batch_max", &same<&Config::receipt_batch_max>},
    {"max_uncommitted_per_session", &same<&Config::max_uncommitted_per_session>},
    {"segment_max_bytes", &same<&Config::segment_max_bytes>},
    {"segment_max_age_s", &same<&Config::segment_max_age_s>},
    {"wal_checkpoint", &same<&Config::wal_checkpoint>},
    {"wal_checkpoint_pages", &same<&Config::wal_checkpoint_pages>},
    {"wal_max_pages", &same<&Config::wal_max_pages>},
    {"store_stall_ms", &same<&Config::store_stall_ms>},
    {"log_level", &same<&Config::log_level>},
    {"log_format", &same<&Config::log_format>},
    {"metrics_listen", &same<&Config::metrics_listen>},
};

}  // namespace

std::span<const std::string_view> policy_keys() { return kPolicyKeys; }

std::span<const std::string_view> fixed_keys() {
  static const auto names = [] {
    std::vector<std::string_view> out;
    for (const auto& fixed : kFixedKeys) out.push_back(fixed.name);
    return out;
  }();
  return names;
}

protocol::Policy policy_of(const Config& c) {
  protocol::Policy policy;
  policy.allowed_gs.assign(c.allowed_gs_keys.begin(), c.allowed_gs_keys.end());
  policy.allowed_builds.assign(c.allowed_build_hashes.begin(), c.allowed_build_hashes.end());
  rules::canonicalize(policy);
  // The terms as a JoinAccept carries them, in its integer units (rules::announce_limits).
  protocol::JoinAccept terms;
  rules::announce_limits(c.physics(), terms);
  policy.heartbeat_interval_ms = c.heartbeat_interval_ms;
  policy.heartbeat_timeout_ms = c.heartbeat_timeout_ms;
  policy.ticket_period_ms = c.ticket_period_ms;
  policy.ticket_validity_ms = c.ticket_validity_ms;
  policy.max_receipt_lag = c.max_receipt_lag;
  policy.max_clock_skew_ms = c.max_clock_skew_ms;
  policy.max_speed_mm_s = terms.max_speed_mm_s;
  policy.speed_tolerance_ppm = terms.speed_tolerance_ppm;
  policy.jitter_allowance_ms = terms.jitter_allowance_ms;
  policy.excess_decay_ppm = terms.excess_decay_ppm;
  policy.max_excess_mm = terms.max_excess_mm;
  policy.spawn_min_interval_ms = terms.spawn_min_interval_ms;
  policy.max_players_per_session = terms.max_players_per_session;
  policy.quarantine_ms = c.quarantine_ms;
  policy.digest_timeout_ms = c.digest_timeout_ms;
  policy.continuity_window_ms = terms.continuity_window_ms;
  policy.spawn_zones = terms.spawn_zones;
  return policy;
}

std::optional<std::string_view> fixed_key_changed(const Config& running, const Config& reloaded) {
  for (const auto& fixed : kFixedKeys) {
    if (!fixed.same(running, reloaded)) return fixed.name;
  }
  return std::nullopt;
}

}  // namespace gsvs::vsd
