#include "client/cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>
#include <set>

#include "app/config_file.h"
#include "app/log_line.h"
#include "app/program.h"
#include "client/events.h"
#include "client/player.h"
#include "net/asio.h"
#include "net/framed_connection.h"
#include "protocol/keyfile.h"

namespace gsvs::client {

namespace {

namespace asio = net::asio;

constexpr int kExitOk = static_cast<int>(ExitCode::kOk);
constexpr int kExitUsage = static_cast<int>(ExitCode::kUsage);

struct RunOptions {
  std::string gs;
  std::string vs_pubkey;
  std::string key;
  bool bot = false;
  double speed_m_s = 5.0;
  bool cheat = false;
  std::uint32_t duration_s = 0;
  std::string events;
  std::uint32_t skew_ms = 500;
  std::uint32_t handshake_timeout_ms = 5000;
  std::uint32_t input_interval_ms = 100;
  std::uint64_t seed = 0;
  std::string log_level = "info";
};

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0  ran for --duration-s (or stopped by SIGINT, SIGTERM or SIGHUP) and quit, or the GS\n"
    "     ended its match cleanly (a VS-signed gs_left Revocation)\n"
    "  1  a fault in the client itself (logged; please report it), not the GS's doing\n"
    "  2  usage, configuration or key error, or the event log cannot be written\n"
    "  3  revoked: the GS forwarded a VS-signed Revocation for its session\n"
    "  4  ticket starvation: no fresh VS ticket before the trust deadline, whatever the GS said\n"
    "  5  handshake failed: impostor GS, bad join acceptance, or no ServerHello in time\n"
    "  6  connection to the GS refused or lost\n"
    "  7  protocol violation by the GS: broken ticket chain, bad signature, malformed frame";

constexpr const char* kRunHelp =
    "Play on a game server (GS) while it can prove, with tickets signed by the validation server "
    "(VS), that it is allowed to serve. The client checks the GS's handshake against the pinned "
    "VS key, every ticket's signature and hash chain, and the Merkle proofs that bind its own "
    "fresh nonces into new tickets; it drops the GS as soon as its trust deadline passes or the "
    "VS revokes the session. Every option is also a key of the --config file (TOML), by its long "
    "name; the command line wins.";

int keygen(const std::string& path, bool force) {
  auto key = crypto::SecretKey::generate();
  Status written = keyfile::write_key_pair(
      path, key, force ? keyfile::Overwrite::kAllow : keyfile::Overwrite::kRefuse);
  if (!written) {
    std::cerr << "client keygen: " << written.error() << "\n";
    return kExitUsage;
  }
  std::cout << "secret key: " << path << " (mode 0600; it signs every input you send)\n"
            << "public key: " << path << ".pub\n"
            << to_hex(key.public_key()) << "\n"
            << "Your public key is your player identity on every GS.\n";
  return kExitOk;
}

void add_run_options(CLI::App& app, RunOptions& o) {
  app.add_option("--gs", o.gs, "HOST:PORT of the game server")->required();
  app.add_option("--vs-pubkey", o.vs_pubkey,
                 "The VS public key to pin: 64 hex characters or a .pub file (HEX|FILE); for a "
                 "fleet of VS nodes, its key set: keys separated by commas, or a file of one key "
                 "a line")
      ->required();
  app.add_option("--key", o.key, "Your secret key file (from 'client keygen', mode 0600)")
      ->required();
  app.add_flag("--bot", o.bot,
               "Play as a bot: a random walk, one signed input every --input-interval-ms. "
               "Without it the client sends no input and only watches its tickets");
  app.add_option("--speed-m-s", o.speed_m_s, "Bot walking speed")
      ->capture_default_str()
      ->check(app::finite_range(0.0, 1000.0));
  app.add_flag("--cheat", o.cheat,
               "Bot asks for moves 10 times faster than --speed-m-s (an honest GS caps them)");
  app.add_option("--duration-s", o.duration_s, "Quit after this many seconds (0: never)")
      ->capture_default_str();
  app.add_option("--events", o.events,
                 "Write JSON-lines events to FILE (appended), or to stdout with '-'");
  app.add_option("--skew-ms", o.skew_ms, "Wall-clock skew allowed on a ticket's not_after_ms")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
  app.add_option("--handshake-timeout-ms", o.handshake_timeout_ms,
                 "Give up unless the ServerHello and the first ticket arrive within this")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  app.add_option("--input-interval-ms", o.input_interval_ms, "Bot: time between inputs")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  app.add_option("--seed", o.seed, "Bot: random walk seed (0: random)")->capture_default_str();
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn or error (on stderr)")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
}

void configure_logging(const std::string& level) {
  // stdout may carry the JSON events; human lines go to stderr.
  auto logger = spdlog::stderr_color_mt("client");
  spdlog::set_default_logger(logger);
  app::configure_logging("client", level);
}

int run(const RunOptions& o) {
  auto address = net::parse_host_port(o.gs);
  if (!address) {
    std::cerr << "client run: --gs: " << address.error() << "\n";
    return kExitUsage;
  }
  auto vs_keys = keyfile::public_keys_from_hex_or_file(o.vs_pubkey);
  if (!vs_keys) {
    std::cerr << "client run: --vs-pubkey: " << vs_keys.error() << "\n";
    return kExitUsage;
  }
  auto key = keyfile::read_secret_key(o.key);
  if (!key) {
    std::cerr << "client run: --key: " << key.error() << "\n";
    return kExitUsage;
  }
  auto events = EventLog::open(o.events);
  if (!events) {
    std::cerr << "client run: --events: " << events.error() << "\n";
    return kExitUsage;
  }
  configure_logging(o.log_level);

  PlayerOptions options;
  options.gs_host = address->first;
  options.gs_port = address->second;
  options.vs_keys = std::move(vs_keys).value();
  options.skew = std::chrono::milliseconds(o.skew_ms);
  options.handshake_timeout = std::chrono::milliseconds(o.handshake_timeout_ms);
  options.duration = std::chrono::milliseconds(std::uint64_t{o.duration_s} * 1000);
  options.bot = o.bot;
  options.speed_m_s = o.speed_m_s;
  options.cheat = o.cheat;
  options.input_interval = std::chrono::milliseconds(o.input_interval_ms);
  options.seed = o.seed;

  asio::io_context io(1);
  Player player(io, options, *key, **events);
  // SIGHUP too: closing the player's terminal stops it as cleanly as Ctrl-C does.
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  player.start([&signals] {
    boost::system::error_code ignored;
    signals.cancel(ignored);
  });
  signals.async_wait([&player](const boost::system::error_code& ec, int signal) {
    if (!ec) player.stop("stopped by signal " + std::to_string(signal));
  });
  io.run();
  return player.exit_code();
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (!app::ready_to_run("client", app::BrokenPipe::kFailsTheWrite)) return kExitUsage;
  CLI::App app{
      "client: a game client that trusts only the validation server (VS). It stays on a game "
      "server (GS) only while the GS shows fresh VS-signed tickets bound to the client's own "
      "nonces, and leaves at once when the VS revokes the GS.",
      "client"};
  app.require_subcommand(1);
  app.footer(std::string("Start here:\n"
                         "  client keygen --out player.key\n"
                         "  client run --gs 127.0.0.1:7800 --vs-pubkey vs.key.pub "
                         "--key player.key --bot --events -\n\n") +
             kExitCodes);
  app::add_version_flag(app, "client");

  std::string key_out = "player.key";
  bool force = false;
  auto* keygen_cmd = app.add_subcommand("keygen", "Create your player key pair");
  keygen_cmd->add_option("--out", key_out, "Secret key file to create (public key: FILE.pub)")
      ->capture_default_str();
  keygen_cmd->add_flag("--force", force, "Overwrite an existing key file");

  // `run` is parsed by its own top-level App: CLI11 reads config files only for the top level.
  auto* run_cmd = app.add_subcommand(
      "run", "Play on a GS while it shows fresh VS tickets ('client run --help' for options)");
  run_cmd->allow_extras();
  if (argc >= 2 && std::string_view(argv[1]) == "run") {
    CLI::App run_app{kRunHelp, "client run"};
    run_app.footer(kExitCodes);
    RunOptions options;
    app::add_config_file_option(run_app);
    add_run_options(run_app, options);
    app::decimal_integers(run_app);
    try {
      run_app.parse(argc - 1, argv + 1);
    } catch (const CLI::ParseError& e) {
      return run_app.exit(e) == 0 ? kExitOk : kExitUsage;
    }
    return run(options);
  }

  app::decimal_integers(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (*keygen_cmd) return keygen(key_out, force);
  return kExitUsage;
}

}  // namespace gsvs::client
