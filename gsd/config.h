// gsd's configuration: read from a TOML file (app/config_file.h) by `gsd run --config`,
// checked as a whole before the daemon starts so that a bad key fails with its name. Every key is
// also a command-line option of `run` (--key_name), and the command line wins.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/cli_fwd.h"
#include "app/log_line.h"
#include "app/program.h"
#include "protocol/crypto.h"
#include "protocol/result.h"

namespace gsvs::gsd {

// One node of the VS a GS joins: one address of the `vs` list.
struct VsNode {
  std::string address;  // HOST:PORT as configured, for the log
  std::string host;
  std::uint16_t port = 0;
};

struct Config {
  // The validation server: HOST:PORT, or a fleet's nodes as a comma-separated list of them.
  std::string vs = "127.0.0.1:7700";
  std::string vs_public_key;   // HEX|FILE: the pinned VS key (required)
  std::string key = "gs.key";  // long-term identity secret key file
  std::string listen = "127.0.0.1:7800";
  std::string store = "gs.db";
  std::uint32_t tick_rate_hz = 20;
  std::uint32_t max_players = 64;
  double world_width_m = 100.0;
  double world_height_m = 100.0;
  double max_speed_m_s = 7.0;
  std::uint32_t digest_interval_ms = 500;
  std::uint32_t input_grace_ms = 500;
  std::uint32_t handshake_timeout_ms = 5000;
  std::uint32_t reconnect_backoff_min_ms = 200;
  std::uint32_t reconnect_backoff_max_ms = 10000;
  std::uint32_t max_frame_bytes = 16384;
  std::uint32_t store_stall_ms = app::kDefaultStoreStallMs;  // app::exit_when_store_stalls
  std::string log_level = "info";
  app::LogFormat log_format = app::LogFormat::kText;
  // HOST:PORT to serve Prometheus metrics on (GET /metrics); empty: no metrics endpoint.
  std::string metrics_listen;

  // Filled by validate().
  std::vector<crypto::PublicKey> vs_keys;  // one, or a fleet's key set
  std::vector<VsNode> vs_nodes;            // in the order listed; at least one
  std::string listen_host;
  std::uint16_t listen_port = 0;  // 0: any free port (the log line names the one bound)
};

// Declares every key as an option of `run`, with its default, range and a line of help.
void add_config_options(CLI::App& run, Config& config);
// Checks what CLI11 cannot (addresses, relations between keys, the VS key); the error names the
// key and the problem.
Status validate(Config& config);

}  // namespace gsvs::gsd
