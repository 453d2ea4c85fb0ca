// vsd's configuration: read from a TOML file (app/config_file.h) by `vsd run --config`,
// checked as a whole before the daemon starts so that a bad key fails with its name.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "app/cli_fwd.h"
#include "app/log_line.h"
#include "app/program.h"
#include "protocol/bytes.h"
#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "protocol/result.h"
#include "rules/movement.h"

namespace gsvs::vsd {

struct Config {
  std::string listen = "127.0.0.1:7700";
  std::string store = "vs.db";  // a file, or a directory of segments (ends in '/' or exists)
  std::string key = "vs.key";
  // A PostgreSQL store's fleet (docs/STORE.md §11.6): the schema that the nodes of one database
  // share, where one live session per GS identity holds across them; empty: a single node.
  std::string fleet;
  std::string admin_socket = "vsd.sock";
  std::vector<std::string> allowed_gs;      // GS identity public keys, hex
  std::vector<std::string> allowed_builds;  // sw_hash values, hex
  std::uint32_t ticket_period_ms = 1000;
  std::uint32_t ticket_validity_ms = 2000;
  std::uint32_t heartbeat_interval_ms = 500;
  std::uint32_t heartbeat_timeout_ms = 2000;
  std::uint32_t max_clock_skew_ms = 5000;
  std::uint32_t max_receipt_lag = 8;
  double max_speed_m_s = 7.0;
  double speed_tolerance = 0.10;
  std::uint32_t jitter_allowance_ms = 1000;
  double excess_decay = 0.9;
  double max_excess_m = 1.0;
  std::uint32_t spawn_min_interval_ms = 5000;
  std::uint32_t max_players_per_session = 4096;
  // How long a quarantine of a GS identity lasts (PROTOCOL.md §8.16); 0: until `vsd pardon`.
  std::uint32_t quarantine_ms = 0;
  // A session whose last accepted digest named players is revoked (digests_stopped) when no
  // digest follows within this (PROTOCOL.md §8.5 "Digests required").
  std::uint32_t digest_timeout_ms = 5000;
  // Continuity across sessions (PROTOCOL.md §8.6): a player's last notarized position under the
  // identity holds its first position in a new session for this long (0: off).
  std::uint32_t continuity_window_ms = 60000;
  // Where a spawn is free (PROTOCOL.md §8.6), each "rect:X1,Y1,X2,Y2" or "circle:X,Y,R" in
  // millimetres; none: anywhere.
  std::vector<std::string> spawn_zones;
  std::uint32_t checkpoint_every_entries = 1000;
  std::uint32_t checkpoint_interval_ms = 5000;
  // A StateCarried restates what a start reads (PROTOCOL.md §8.16 "Carried forward") at most this
  // often, when the log has grown since the last one; retention keeps nothing it restates.
  std::uint32_t carry_interval_ms = 3'600'000;
  std::uint32_t max_connections = 10000;
  // Connections whose peer has not authenticated yet (PROTOCOL.md §8.14): a budget of their own,
  // apart from max_connections, in all and per source address.
  std::uint32_t max_unauthenticated = 1024;
  std::uint32_t max_unauthenticated_per_source = 64;
  // Authenticated joins go ahead at most this many a second (0: unpaced); one that would wait
  // more than half of handshake_timeout_ms is refused instead.
  std::uint32_t max_joins_per_second = 1000;
  // Joins also wait while a session loop runs this late (0: never): a VS that falls behind reads
  // live sessions' digests late, and the movement rule would see them bunched (§8.14).
  std::uint32_t admission_max_lag_ms = 200;
  std::uint32_t handshake_timeout_ms = 5000;
  // Sessions a previous run left live may be resumed this long after the start (PROTOCOL.md
  // §8.15); 0 revokes them all at start. A graceful stop leaves them live unless revoke_on_stop.
  std::uint32_t resume_window_ms = 10000;
  bool revoke_on_stop = false;
  std::uint32_t max_frame_bytes = 16384;
  std::uint32_t threads = 0;  // 0: one per core
  // Group commit: the longest an entry waits for its batch. A commit costs vsd CPU of its own
  // (the fsync, SQLite's locks, the pages it writes again), so under load longer batches leave
  // more to the sessions: 5 ms against 2 ms took a 2,000-session load from 0.90 to 0.66 of a
  // core; at light load a reply waits up to 3 ms longer (docs/PERFORMANCE.md, "Group commits of
  // 5 ms").
  std::uint32_t commit_max_delay_us = 5000;
  // Receipts under one signature (PROTOCOL.md §5.11.1): those one session loop issues in the
  // same turn, up to this many; 1 signs each alone (protocol version 1, for GSes that speak no
  // version 2).
  std::uint32_t receipt_batch_max = 64;
  std::uint32_t max_uncommitted_per_session = 64;
  // A segmented store starts its next segment once the active one holds this many bytes or is
  // this old (docs/STORE.md §10.2); a single-file store never rotates.
  std::uint64_t segment_max_bytes = std::uint64_t{1} << 30;
  std::uint64_t segment_max_age_s = 86400;
  // How the store's WAL is copied back into the file being written (docs/STORE.md §7.1):
  // "background" (a checkpointer thread, from wal_checkpoint_pages; the writer itself at
  // wal_max_pages) or "inline" (SQLite's own, inside the commit that reaches
  // wal_checkpoint_pages).
  std::string wal_checkpoint = "background";
  std::uint32_t wal_checkpoint_pages = 1000;
  std::uint32_t wal_max_pages = 16384;
  std::uint32_t store_stall_ms = app::kDefaultStoreStallMs;  // app::exit_when_store_stalls
  std::string log_level = "info";
  app::LogFormat log_format = app::LogFormat::kText;
  // HOST:PORT to serve Prometheus metrics on (GET /metrics); empty: no metrics endpoint.
  std::string metrics_listen;

  // Filled by validate().
  std::set<crypto::PublicKey> allowed_gs_keys;
  std::set<Hash32> allowed_build_hashes;
  std::vector<protocol::SpawnZone> spawn_zone_shapes;  // spawn_zones, parsed
  std::string listen_host;
  std::uint16_t listen_port = 0;
  [[nodiscard]] rules::MovementLimits physics() const;
};

// ---- Reload (PROTOCOL.md §8.17, OPERATIONS.md "Reload")
// ------------------------------------------

// The keys a reload applies live: the policy (allowlists, the terms of new sessions' JoinAccepts,
// the clock skew a join may show). Every other key is fixed while vsd runs.
std::span<const std::string_view> policy_keys();
std::span<const std::string_view> fixed_keys();
// The policy part of a validated configuration, in its canonical form (sorted allowlists).
protocol::Policy policy_of(const Config& config);
// The first key outside the policy whose value differs between the running configuration and
// a reloaded one, by name; nullopt when only policy keys differ.
std::optional<std::string_view> fixed_key_changed(const Config& running, const Config& reloaded);

// One spawn zone of the configuration ("rect:X1,Y1,X2,Y2" or "circle:X,Y,R", millimetres), or
// why it is not one.
Result<protocol::SpawnZone> parse_spawn_zone(std::string_view text);

// Declares every key as an option of `run`, with its default and a line of help.
void add_config_options(CLI::App& run, Config& config);
// Checks ranges and relations (validity >= period, timeout > interval, ...) and parses the
// allowlists; the error names the key and the problem.
Status validate(Config& config);

}  // namespace gsvs::vsd
