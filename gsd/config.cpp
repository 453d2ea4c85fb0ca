#include "gsd/config.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <set>
#include <string_view>

#include "app/config_file.h"
#include "metrics/http_server.h"
#include "net/framed_connection.h"
#include "protocol/keyfile.h"

namespace gsvs::gsd {

void add_config_options(CLI::App& run, Config& c) {
  run.add_option("--vs", c.vs,
                 "HOST:PORT of the validation server (vsd's 'listen'); for a fleet of VS nodes, "
                 "each node's, separated by commas: a join goes to one node at a time, a resume "
                 "to the session's node first, then to the others")
      ->capture_default_str();
  run.add_option("--vs_public_key", c.vs_public_key,
                 "HEX|FILE: the VS public key (printed by 'vsd keygen'); everything the VS signs "
                 "is checked against it. For a fleet of VS nodes, its key set: keys separated by "
                 "commas, or a file of one key a line; a session keeps the key of the node that "
                 "accepted it. Required");
  run.add_option("--key", c.key,
                 "This GS's identity secret key file (from 'gsd keygen', mode 0600); its public "
                 "key must be in the VS's allowed_gs")
      ->capture_default_str();
  run.add_option("--listen", c.listen,
                 "HOST:PORT clients connect to (port 0: any free port, named in the log)")
      ->capture_default_str();
  run.add_option("--store", c.store,
                 "The log of everything exchanged with the VS: a SQLite file, or a PostgreSQL "
                 "database (postgresql://USER@HOST/DB); created if absent, with the VS store's "
                 "schema (docs/STORE.md)")
      ->capture_default_str();
  run.add_option("--tick_rate_hz", c.tick_rate_hz,
                 "Simulation ticks per second; a player's first move may cover one tick")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  run.add_option("--max_players", c.max_players,
                 "Client connections served at once; more are refused (closed)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  // Positions are i32 millimetres: 1,000 km (1e9 mm) still fits.
  run.add_option("--world_width_m", c.world_width_m, "World size along x; positions are clamped")
      ->capture_default_str()
      ->check(app::finite_range(0.001, 1000000.0));
  run.add_option("--world_height_m", c.world_height_m, "World size along y")
      ->capture_default_str()
      ->check(app::finite_range(0.001, 1000000.0));
  run.add_option("--max_speed_m_s", c.max_speed_m_s,
                 "Player speed limit applied to inputs (never above the limit the VS announces "
                 "in its JoinAccept)")
      ->capture_default_str()
      ->check(app::finite_range(0.001, 100000.0));
  run.add_option("--digest_interval_ms", c.digest_interval_ms,
                 "Send the VS a signed TranscriptDigest (every player's position) this often")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  run.add_option("--input_grace_ms", c.input_grace_ms,
                 "Inputs bound to the previous ticket are accepted this long after a new one")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  run.add_option("--handshake_timeout_ms", c.handshake_timeout_ms,
                 "Connecting and joining the VS, and a client's ClientHello, must complete "
                 "within this")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  run.add_option("--reconnect_backoff_min_ms", c.reconnect_backoff_min_ms,
                 "Shortest wait before joining the VS again after a failure or a session end")
      ->capture_default_str()
      ->check(CLI::Range(10, 3600000));
  run.add_option("--reconnect_backoff_max_ms", c.reconnect_backoff_max_ms,
                 "Longest wait: each wait is drawn at random between the shortest and a "
                 "ceiling that starts at twice it and doubles after each failed join, up to this")
      ->capture_default_str()
      ->check(CLI::Range(10, 3600000));
  run.add_option("--max_frame_bytes", c.max_frame_bytes, "Largest frame accepted from any peer")
      ->capture_default_str()
      ->check(CLI::Range(1024, 16777216));
  app::add_store_stall_option(run, c.store_stall_ms);
  run.add_option("--log_level", c.log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  app::add_log_format_option(run, c.log_format);
  run.add_option("--metrics_listen", c.metrics_listen,
                 "HOST:PORT to serve Prometheus metrics on (GET /metrics); empty: none")
      ->capture_default_str();
}

namespace {

// The `vs` list: HOST:PORT items separated by commas (spaces around an item are ignored), none
// empty and none twice.
Result<std::vector<VsNode>> parse_vs_nodes(const std::string& text) {
  std::vector<VsNode> nodes;
  std::string_view rest = text;
  for (std::size_t n = 1;; ++n) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    // A single address is named by its value alone, as before lists.
    const std::string where =
        text.find(',') == std::string::npos ? "" : "item " + std::to_string(n) + ": ";
    if (item.empty()) {
      return Error{where + "empty: give HOST:PORT, or several separated by commas"};
    }
    auto address = net::parse_host_port(std::string(item));
    if (!address) return Error{where + address.error()};
    VsNode node{std::string(item), address->first, address->second};
    const auto same = [&node](const VsNode& other) {
      return other.host == node.host && other.port == node.port;
    };
    if (std::any_of(nodes.begin(), nodes.end(), same)) {
      return Error{where + "'" + node.address + "' is listed twice"};
    }
    nodes.push_back(std::move(node));
    if (comma == std::string_view::npos) return nodes;
    rest.remove_prefix(comma + 1);
  }
}

// Like net::parse_host_port, but a listening port may be 0 (any free port).
Result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& text) {
  if (text.size() > 2 && text.ends_with(":0")) {
    auto probe = net::parse_host_port(text.substr(0, text.size() - 1) + "1");
    if (!probe) return probe;
    return std::make_pair(probe->first, std::uint16_t{0});
  }
  return net::parse_host_port(text);
}

}  // namespace

Status validate(Config& c) {
  auto vs_nodes = parse_vs_nodes(c.vs);
  if (!vs_nodes) return Error{"config key 'vs': " + vs_nodes.error()};
  c.vs_nodes = std::move(vs_nodes).value();
  auto listen = parse_listen(c.listen);
  if (!listen) return Error{"config key 'listen': " + listen.error()};
  c.listen_host = listen->first;
  c.listen_port = listen->second;
  auto metrics_address = metrics::parse_listen_address(c.metrics_listen);
  if (!metrics_address) return Error{"config key 'metrics_listen': " + metrics_address.error()};
  if (c.vs_public_key.empty()) {
    return Error{
        "config key 'vs_public_key' is missing: give the VS public key (64 hex characters, "
        "or the .pub file written by 'vsd keygen')"};
  }
  auto vs_keys = keyfile::public_keys_from_hex_or_file(c.vs_public_key);
  if (!vs_keys) return Error{"config key 'vs_public_key': " + vs_keys.error()};
  c.vs_keys = std::move(vs_keys).value();
  if (c.key.empty()) return Error{"config key 'key' is empty"};
  if (c.store.empty()) return Error{"config key 'store' is empty"};
  if (c.reconnect_backoff_max_ms < c.reconnect_backoff_min_ms) {
    return Error{"config key 'reconnect_backoff_max_ms' (" +
                 std::to_string(c.reconnect_backoff_max_ms) +
                 ") must be at least 'reconnect_backoff_min_ms' (" +
                 std::to_string(c.reconnect_backoff_min_ms) + ")"};
  }
  const std::uint32_t tick_ms = 1000 / c.tick_rate_hz;
  if (c.digest_interval_ms < tick_ms) {
    return Error{"config key 'digest_interval_ms' (" + std::to_string(c.digest_interval_ms) +
                 ") must be at least one tick (" + std::to_string(tick_ms) +
                 " ms at 'tick_rate_hz' = " + std::to_string(c.tick_rate_hz) + ")"};
  }
  static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
  if (!kLevels.contains(c.log_level)) {
    return Error{"config key 'log_level' = '" + c.log_level +
                 "': use trace, debug, info, warn or error"};
  }
  return {};
}

}  // namespace gsvs::gsd
