#include "vsd/cli.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/config_file.h"
#include "app/hangup.h"
#include "app/log_line.h"
#include "app/program.h"
#include "app/service_notify.h"
#include "net/asio.h"
#include "protocol/keyfile.h"
#include "protocol/utf8.h"
#include "storage/log.h"
#include "vsd/admin.h"
#include "vsd/config.h"
#include "vsd/server.h"
#include "vsd/store_command.h"

namespace gsvs::vsd {

namespace {

namespace asio = net::asio;

using app::kExitFailed;
using app::kExitOk;
using app::kExitUsage;

int keygen(const std::string& path, bool force) {
  auto key = crypto::SecretKey::generate();
  Status written = keyfile::write_key_pair(
      path, key, force ? keyfile::Overwrite::kAllow : keyfile::Overwrite::kRefuse);
  if (!written) {
    std::cerr << "vsd keygen: " << written.error() << "\n";
    return kExitUsage;
  }
  std::cout << "secret key: " << path << " (mode 0600; keep it on the VS host only)\n"
            << "public key: " << path << ".pub\n"
            << to_hex(key.public_key()) << "\n"
            << "Give the public key to every GS and client operator (their vs_public_key).\n";
  return kExitOk;
}

// Parses the options of `vsd run` (args[0] is "run"), the --config file included, and checks
// the result; a reload reads the configuration again the same way.
Result<Config> parse_run_options(const std::vector<std::string>& args) {
  CLI::App run_app{"vsd run", "vsd run"};
  Config config;
  app::add_config_file_option(run_app);
  add_config_options(run_app, config);
  app::decimal_integers(run_app);
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const auto& arg : args) argv.push_back(arg.c_str());
  try {
    run_app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return Error{e.what()};
  }
  Status valid = validate(config);
  if (!valid) return Error{valid.error()};
  return config;
}

int run(Config config, const std::vector<std::string>& run_args) {
  Status valid = validate(config);
  if (!valid) {
    std::cerr << "vsd run: " << valid.error() << "\n";
    return kExitUsage;
  }
  app::configure_logging("vsd", config.log_level, config.log_format);
  app::ignore_hangups_until_handled();
  app::ServiceNotifier service;  // systemd's readiness protocol; nothing without NOTIFY_SOCKET
  auto key = keyfile::read_secret_key(config.key);
  if (!key) {
    std::cerr << "vsd run: " << key.error() << "\n";
    return kExitUsage;
  }
  service.status("opening and verifying the store " + storage::printable_store(config.store));
  // The VS key checks the seals and checkpoints of a segmented store (docs/STORE.md §10.4).
  auto log = storage::Log::open(config.store, storage::OpenMode::kReadWrite,
                                storage::StoreRole::kVs, storage::OpenOptions{key->public_key()});
  if (!log) {
    const int code = app::start_failed("vsd", log.failure());
    if (code == kExitUsage) {
      // The same exit for a store that fails its checks and for one that cannot be reached
      // (a path, a permission, a database's address or credentials): the advice tells them apart.
      std::cerr << "Where the message says the store fails its checks (an entry, seal or file that "
                   "does not verify), it is never appended to: hand it to an investigator "
                   "('audit-cli verify') and start on a new one. Otherwise fix what it names and "
                   "start again.\n";
    }
    return code;
  }
  // One descriptor per GS connection: take the whole hard limit.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  asio::io_context io(1);  // the listener, admin socket and checkpoints; sessions have their own
  Server* running = nullptr;
  // Before start: a stop sent right after it is held, not fatal; a SIGHUP reloads the policy.
  app::DaemonSignals signals(io, [&running] {
    if (running) {
      running->reload("SIGHUP");
    } else {
      spdlog::warn("SIGHUP received while starting: ignored (send it again once vsd listens)");
    }
  });
  Server server(io, config, std::move(key).value(), std::move(log).value());
  server.set_config_source([run_args] { return parse_run_options(run_args); });
  running = &server;
  Status started = server.start();
  if (!started) return app::start_failed("vsd", started.failure());
  service.ready(io, "listening on " + config.listen_host + ":" + std::to_string(server.port()));
  signals.run_until_stopped([&server, &service] {
    service.stopping("stopping: revoking live sessions, writing the final checkpoint");
    server.stop();
  });
  return server.failed() ? kExitFailed : kExitOk;
}

// The admin socket: --admin-socket, else the config file's admin_socket, else the default.
Result<std::string> admin_socket_from(const std::string& socket, const std::string& config_path) {
  if (!socket.empty()) return socket;
  CLI::App reader;
  Config config;
  add_config_options(reader, config);
  if (!config_path.empty()) {
    reader.parse(std::vector<std::string>{});
    Status read = app::apply_config_file(reader, config_path);
    if (!read) return Error{read.error()};
  }
  return config.admin_socket;
}

// The quarantined identities of a status reply (PROTOCOL.md §8.16), one line each.
void print_quarantined(const nlohmann::json& reply) {
  const auto list = reply.find("quarantined");
  if (list == reply.end() || !list->is_array() || list->empty()) return;
  std::cout << list->size() << " quarantined GS identit" << (list->size() == 1 ? "y" : "ies")
            << " (joins refused, PROTOCOL.md §8.16):\n";
  for (const auto& q : *list) {
    std::cout << "  " << q.value("gs_identity", "") << " since " << q.value("since_vs_ms", 0ULL)
              << " ms: session " << q.value("session_id", 0ULL) << " revoked for "
              << q.value("reason", "") << " (log position " << q.value("revocation_position", 0ULL)
              << ")";
    // quarantine_ms set when it began: it lapses by itself; else only `vsd pardon` lifts it.
    const auto lapses = q.find("lapses_vs_ms");
    if (lapses != q.end() && lapses->is_number_unsigned()) {
      std::cout << "; lapses at " << lapses->get<std::uint64_t>() << " ms (in "
                << q.value("lapses_in_ms", 0ULL) << " ms)";
    } else {
      std::cout << "; until pardoned";
    }
    std::cout << "\n";
  }
}

int status(const Result<std::string>& socket, bool json) {
  if (!socket) {
    std::cerr << "vsd status: " << socket.error() << "\n";
    return kExitUsage;
  }
  auto reply = admin_request(*socket, {{"command", "status"}});
  if (!reply) {
    std::cerr << "vsd status: " << reply.error() << "\n";
    return kExitFailed;
  }
  if (!reply->value("ok", false) || !(*reply)["sessions"].is_array()) {
    std::cerr << "vsd status: " << reply->value("error", "the VS sent no session list") << "\n";
    return kExitFailed;
  }
  if (json) {
    std::cout << reply->dump(2) << "\n";
    return kExitOk;
  }
  const auto& r = *reply;
  std::cout << "VS key " << r.value("vs_public_key", "") << ", log size " << r.value("log_size", 0)
            << ", " << r["sessions"].size() << " live session(s)\n";
  if (!r["sessions"].empty()) {
    std::printf("%-8s %-18s %-18s %-22s %9s %8s %8s %7s\n", "SESSION", "GS IDENTITY", "BUILD",
                "PEER", "COUNTER", "DIGESTS", "TICKETS", "PLAYERS");
  }
  for (const auto& s : r["sessions"]) {
    std::printf("%-8llu %-18s %-18s %-22s %9llu %8llu %8llu %7llu\n",
                static_cast<unsigned long long>(s.value("session_id", 0ULL)),
                s.value("gs_identity", "").substr(0, 16).c_str(),
                s.value("sw_hash", "").substr(0, 16).c_str(), s.value("peer", "").c_str(),
                static_cast<unsigned long long>(s.value("gs_counter", 0ULL)),
                static_cast<unsigned long long>(s.value("digests", 0ULL)),
                static_cast<unsigned long long>(s.value("tickets", 0ULL)),
                static_cast<unsigned long long>(s.value("players", 0ULL)));
  }
  print_quarantined(r);
  return kExitOk;
}

int reload(const Result<std::string>& socket) {
  if (!socket) {
    std::cerr << "vsd reload: " << socket.error() << "\n";
    return kExitUsage;
  }
  auto reply = admin_request(*socket, {{"command", "reload"}});
  if (!reply) {
    std::cerr << "vsd reload: " << reply.error() << "\n";
    return kExitFailed;
  }
  if (!reply->value("ok", false)) {
    std::cerr << "vsd reload: refused: " << reply->value("error", "no reason given") << "\n";
    return kExitFailed;
  }
  std::cout << reply->value("applied", "applied") << "\n";
  return kExitOk;
}

int revoke(const Result<std::string>& socket, std::uint64_t session, const std::string& reason,
           bool quarantine) {
  if (!socket) {
    std::cerr << "vsd revoke: " << socket.error() << "\n";
    return kExitUsage;
  }
  auto reply = admin_request(*socket, {{"command", "revoke"},
                                       {"session_id", session},
                                       {"reason", reason},
                                       {"quarantine", quarantine}});
  if (!reply) {
    std::cerr << "vsd revoke: " << reply.error() << "\n";
    return kExitFailed;
  }
  if (!reply->value("ok", false)) {
    std::cerr << "vsd revoke: " << reply->value("error", "refused") << "\n";
    return kExitFailed;
  }
  std::cout << "session " << session << " revoked; the GS has been sent a signed notice and "
            << "its clients drop it within one ticket validity at the latest\n";
  if (quarantine) {
    std::cout << "its GS identity is quarantined: its joins are refused (PROTOCOL.md §8.16)\n";
  }
  return kExitOk;
}

// `vsd pardon`: lifts the quarantine of a GS identity (PROTOCOL.md §8.16).
int pardon(const Result<std::string>& socket, const std::string& identity,
           const std::string& reason) {
  if (!socket) {
    std::cerr << "vsd pardon: " << socket.error() << "\n";
    return kExitUsage;
  }
  auto reply = admin_request(
      *socket, {{"command", "pardon"}, {"gs_identity", identity}, {"reason", reason}});
  if (!reply) {
    std::cerr << "vsd pardon: " << reply.error() << "\n";
    return kExitFailed;
  }
  if (!reply->value("ok", false)) {
    std::cerr << "vsd pardon: refused: " << reply->value("error", "no reason given") << "\n";
    return kExitFailed;
  }
  std::cout << "GS identity " << reply->value("gs_identity", identity)
            << " pardoned: the quarantine begun by the revocation of session "
            << reply->value("session_id", 0ULL) << " (log position "
            << reply->value("revocation_position", 0ULL)
            << ") is lifted; its joins are accepted again. Pardon logged at position "
            << reply->value("pardon_position", 0ULL) << "\n";
  return kExitOk;
}

// The GS identity `vsd pardon` names: 64 hex characters, as `vsd status` prints it.
const CLI::Validator kGsIdentityHex(
    [](std::string& hex) -> std::string {
      if (fixed_from_hex<32>(hex)) return {};
      return "is not a GS identity key: 64 hex characters, as 'vsd status' lists it";
    },
    "HEX");

// The operator's reason for a Pardon: the checks the admin socket makes, before sending.
const CLI::Validator kPardonReason(
    [](std::string& reason) -> std::string { return pardon_reason_problem(reason); }, "TEXT");

// An operator's reason travels in the signed notice, whose text must be UTF-8, and tells the
// investigator why: an empty one, or bytes that are not text, are refused before sending.
const CLI::Validator kOperatorReason(
    [](std::string& reason) -> std::string {
      if (reason.find_first_not_of(" \t") == std::string::npos) {
        return "must not be empty: say why the session is revoked (it goes into the signed "
               "notice and the log)";
      }
      if (!utf8::valid(reason)) return "is not valid UTF-8 text (check the terminal's encoding)";
      return {};
    },
    "TEXT");

}  // namespace

constexpr const char* kRunHelp =
    "Run the daemon. Every option is also a key of the --config file, by the same name (TOML: "
    "key = value, lists as [\"a\", \"b\"]); the command line wins. SIGINT/SIGTERM stop it "
    "cleanly: a final checkpoint is written, and live sessions stay resumable for the next start "
    "(for resume_window_ms; with 0 that start revokes them), or are revoked at the stop with "
    "revoke_on_stop = true.";

// Runs an admin command, whose reply is read in the shape this build's vsd sends: another shape
// (a vsd of another version, another program on the socket) is said, not an abort.
template <class Command>
int reading_reply(const char* command, Command&& ask_and_print) {
  try {
    return ask_and_print();
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "vsd " << command << ": the admin socket's reply is not in the shape this vsd "
              << "expects (" << e.what() << "); is the daemon a vsd of the same version?\n";
    return kExitFailed;
  }
}

int run_cli(int argc, char** argv) {
  if (!app::ready_to_run("vsd", app::BrokenPipe::kFailsTheWrite)) return kExitUsage;
  CLI::App app{
      "vsd: the validation server. It admits allowlisted game servers (GS), checks their "
      "heartbeats and movement digests, issues short-lived play tickets and signed receipts, and "
      "revokes a GS that breaks a rule. Everything it receives or issues goes into an "
      "append-only, hash-chained log for later audit: a SQLite file or directory of segments, or "
      "a PostgreSQL database.",
      "vsd"};
  app.require_subcommand(1);
  app.footer(
      "Start here:\n"
      "  vsd keygen --out vs.key            # once; prints the VS public key\n"
      "  vsd run --config vsd.toml          # see docs/OPERATIONS.md for every key\n"
      "  vsd status --config vsd.toml       # live sessions\n"
      "  vsd reload --config vsd.toml       # apply a changed allowlist (also: SIGHUP)\n"
      "  vsd revoke --config vsd.toml --session 7 --reason \"cheating reported\"\n"
      "  vsd pardon --config vsd.toml --identity HEX --reason \"reviewed: lag, not a hack\"\n"
      "  vsd store archive --store /var/lib/gsvs/vs --vs-public-key vs.key.pub --to /archive\n"
      "  vsd store export --store postgresql://gsvs_vsd@db/gsvs --to copy.db   # for an audit\n\n" +
      std::string(app::kDaemonExitCodes));
  app::add_version_flag(app, "vsd");

  std::string key_out = "vs.key";
  bool force = false;
  auto* keygen_cmd = app.add_subcommand("keygen", "Create the VS signing key pair");
  keygen_cmd->add_option("--out", key_out, "Secret key file to create (public key: FILE.pub)")
      ->capture_default_str();
  keygen_cmd->add_flag("--force", force, "Overwrite an existing key file (dangerous)");

  // `run` is parsed by its own top-level App, so that its --help lists every option.
  auto* run_cmd = app.add_subcommand("run", kRunHelp);
  run_cmd->allow_extras();
  if (argc >= 2 && std::string_view(argv[1]) == "run") {
    CLI::App run_app{kRunHelp, "vsd run"};
    run_app.footer(std::string(app::kDaemonExitCodes));
    Config config;
    app::add_config_file_option(run_app);
    add_config_options(run_app, config);
    app::decimal_integers(run_app);
    try {
      run_app.parse(argc - 1, argv + 1);
    } catch (const CLI::ParseError& e) {
      return run_app.exit(e) == 0 ? kExitOk : kExitUsage;
    }
    return run(config, std::vector<std::string>(argv + 1, argv + argc));
  }

  std::string socket;
  std::string config_path;
  bool json = false;
  auto* status_cmd = app.add_subcommand("status", "List live sessions (through the admin socket)");
  status_cmd->add_option("--admin-socket", socket, "The daemon's admin socket");
  status_cmd->add_option("--config", config_path, "Read admin_socket from this config file");
  status_cmd->add_flag("--json", json, "Print the raw JSON reply");

  auto* reload_cmd = app.add_subcommand(
      "reload",
      "Read the configuration file again and apply its policy live (allowlists, new sessions' "
      "terms); refused as a whole, naming the key, if anything else changed (same as SIGHUP)");
  reload_cmd->add_option("--admin-socket", socket, "The daemon's admin socket");
  reload_cmd->add_option("--config", config_path, "Read admin_socket from this config file");

  std::uint64_t session = 0;
  std::string reason;
  auto* revoke_cmd = app.add_subcommand("revoke", "Revoke a live session now (operator action)");
  revoke_cmd->add_option("--admin-socket", socket, "The daemon's admin socket");
  revoke_cmd->add_option("--config", config_path, "Read admin_socket from this config file");
  revoke_cmd->add_option("--session", session, "Session id (see 'vsd status')")->required();
  revoke_cmd
      ->add_option("--reason", reason,
                   "Why, in words (UTF-8, not empty); recorded in the signed notice and the log")
      ->required()
      ->check(kOperatorReason);
  bool quarantine = false;
  revoke_cmd->add_flag("--quarantine", quarantine,
                       "Also quarantine the GS identity: its joins are refused from now on "
                       "(logged as reason operator_quarantine)");

  std::string pardon_identity;
  std::string pardon_reason;
  auto* pardon_cmd = app.add_subcommand(
      "pardon",
      "Lift the quarantine of a GS identity (operator action): its joins are accepted again. "
      "Logged as a VS-signed Pardon; refused, and nothing logged, if it is not quarantined");
  pardon_cmd->add_option("--admin-socket", socket, "The daemon's admin socket");
  pardon_cmd->add_option("--config", config_path, "Read admin_socket from this config file");
  pardon_cmd
      ->add_option("--identity", pardon_identity,
                   "The GS identity public key (hex, as 'vsd status' lists it)")
      ->required()
      ->check(kGsIdentityHex);
  pardon_cmd
      ->add_option("--reason", pardon_reason,
                   "Why, in words (UTF-8, not empty, at most 512 bytes); recorded in the signed "
                   "Pardon and the log")
      ->required()
      ->check(kPardonReason);

  StoreCommandOptions store_options;
  const StoreCommands store_cmds = setup_store_commands(app, store_options);

  app::decimal_integers(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (*keygen_cmd) return keygen(key_out, force);
  if (*status_cmd) {
    return reading_reply("status",
                         [&] { return status(admin_socket_from(socket, config_path), json); });
  }
  if (*revoke_cmd) {
    return reading_reply("revoke", [&] {
      return revoke(admin_socket_from(socket, config_path), session, reason, quarantine);
    });
  }
  if (*reload_cmd) {
    return reading_reply("reload", [&] { return reload(admin_socket_from(socket, config_path)); });
  }
  if (*pardon_cmd) {
    return reading_reply("pardon", [&] {
      return pardon(admin_socket_from(socket, config_path), pardon_identity, pardon_reason);
    });
  }
  if (*store_cmds.archive) return run_store_archive(store_options);
  if (*store_cmds.prune) return run_store_prune(store_options);
  if (*store_cmds.export_log) return run_store_export(store_options);
  return kExitUsage;
}

}  // namespace gsvs::vsd
