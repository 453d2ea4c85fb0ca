#include "gsd/cli.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/config_file.h"
#include "app/hangup.h"
#include "app/log_line.h"
#include "app/program.h"
#include "app/service_notify.h"
#include "gsd/build_hash.h"
#include "gsd/config.h"
#include "gsd/daemon.h"
#include "net/asio.h"
#include "protocol/keyfile.h"
#include "storage/log.h"

namespace gsvs::gsd {

namespace {

namespace asio = net::asio;

using app::kExitFailed;
using app::kExitOk;
using app::kExitUsage;

int keygen(const std::string& program, const std::string& path, bool force) {
  auto key = crypto::SecretKey::generate();
  Status written = keyfile::write_key_pair(
      path, key, force ? keyfile::Overwrite::kAllow : keyfile::Overwrite::kRefuse);
  if (!written) {
    std::cerr << program << " keygen: " << written.error() << "\n";
    return kExitUsage;
  }
  std::cout << "secret key: " << path << " (mode 0600; this GS's long-term identity)\n"
            << "public key: " << path << ".pub\n"
            << to_hex(key.public_key()) << "\n"
            << "Add the public key to the VS's allowed_gs, and point this GS's 'key' at " << path
            << ".\n";
  return kExitOk;
}

int version(const std::string& program, bool hash_only) {
  auto hash = own_sw_hash();
  if (!hash) {
    std::cerr << program << " version: " << hash.error() << "\n";
    return kExitFailed;
  }
  if (hash_only) {
    std::cout << to_hex(*hash) << "\n";
    return kExitOk;
  }
  std::cout << program << " " << app::project_version() << " (protocol v1)\n"
            << "sw_hash " << to_hex(*hash) << "\n"
            << "sw_hash is the SHA-256 of this executable's bytes (as sha256sum prints it). Add "
               "it to the VS's allowed_builds.\n";
  return kExitOk;
}

int run(const std::string& program, Config config, const CliExtension& extension) {
  const std::string where = program + " run: ";
  Status valid = validate(config);
  if (!valid) {
    std::cerr << where << valid.error() << "\n";
    return kExitUsage;
  }
  app::configure_logging(program, config.log_level, config.log_format);
  app::ignore_hangups_until_handled();
  app::ServiceNotifier service;  // systemd's readiness protocol; nothing without NOTIFY_SOCKET
  // Computed once, at start: the build this process is.
  auto own = own_sw_hash();
  if (!own) {
    std::cerr << where << "cannot compute sw_hash: " << own.error() << "\n";
    return kExitUsage;
  }
  std::shared_ptr<Behaviour> behaviour = std::make_shared<Behaviour>();
  if (extension.make_behaviour) {
    auto made = extension.make_behaviour(*own);
    if (!made) {
      std::cerr << where << made.error() << "\n";
      return kExitUsage;
    }
    behaviour = *made;
  }
  auto identity = keyfile::read_secret_key(config.key);
  if (!identity) {
    std::cerr << where << "config key 'key': " << identity.error() << "\n";
    return kExitUsage;
  }
  service.status("opening and verifying the store " + storage::printable_store(config.store));
  auto store =
      storage::Log::open(config.store, storage::OpenMode::kReadWrite, storage::StoreRole::kGs);
  if (!store) {
    const int code = app::start_failed(program, store.failure().within("config key 'store': "));
    if (code == kExitUsage) {
      // As vsd's: the same exit whether the store fails its checks or cannot be opened.
      std::cerr << "Where the message says the store fails its checks (an entry or file that does "
                   "not verify), it is never appended to: keep it for reconciliation and start on "
                   "a new one. Otherwise fix what it names and start again.\n";
    }
    return code;
  }
  std::string vs_keys;
  for (const auto& key : config.vs_keys) vs_keys += (vs_keys.empty() ? "" : ",") + to_hex(key);
  spdlog::info("{} {}: build {} identity {}; VS {} with key{} {}; store {} at {} entries", program,
               app::project_version(), to_hex(behaviour->join_sw_hash(*own)),
               to_hex(identity->public_key()), config.vs, config.vs_keys.size() == 1 ? "" : "s",
               vs_keys, storage::printable_store(config.store), (*store)->size());

  // One thread: see gsd/daemon.cpp.
  asio::io_context io(1);
  app::DaemonSignals signals(io);  // before start: a stop sent right after it is held, not fatal
  Daemon daemon(io, config, std::move(identity).value(), *own, std::move(store).value(), behaviour);
  Status started = daemon.start();
  if (!started) return app::start_failed(program, started.failure());
  service.ready(io, "client port " + config.listen_host + ":" +
                        std::to_string(daemon.client_port()) + " bound; joining the VS at " +
                        config.vs);
  signals.run_until_stopped([&daemon, &service] {
    service.stopping("stopping: ending the session with the VS, closing clients");
    daemon.stop();
  });
  Status flushed = daemon.flush();
  if (!flushed || daemon.failed()) {
    spdlog::critical("stopped after a failure: {}",
                     flushed ? "see the critical error above" : "the store: " + flushed.error());
    return kExitFailed;
  }
  spdlog::info("stopped: store flushed");
  return kExitOk;
}

constexpr const char* kRunHelp =
    "Run the game server. Every option is also a key of the --config file, by the same name "
    "(TOML: key = value); the command line wins; unknown keys are errors. The GS joins the VS "
    "(a new session key per session), then serves clients on 'listen'. On a revocation it "
    "forwards the VS's notice to its clients, stops the match and joins again. SIGINT/SIGTERM "
    "end the session cleanly (a GsLeaving to the VS, answered by a gs_left revocation that is "
    "forwarded to the clients; at most 1 s), close the clients, flush the store and exit 0.";

}  // namespace

int run_cli(int argc, char** argv, const CliExtension& extension) {
  const std::string& program = extension.program;
  if (!app::ready_to_run(program, app::BrokenPipe::kFailsTheWrite)) return kExitUsage;
  CLI::App app{extension.description.empty()
                   ? "gsd: the game server. It joins a validation server (VS) that audits it, "
                     "serves players an authoritative 2-D world, and hands them the VS's "
                     "short-lived play tickets with proofs of freshness. Everything exchanged with "
                     "the VS is kept in an append-only SQLite store."
                   : extension.description,
               program};
  app.require_subcommand(1);
  app.footer("Start here:\n  " + program +
             " keygen --out gs.key       # once; add the printed key to the VS's allowed_gs\n  " +
             program +
             " version                   # add the printed sw_hash to allowed_builds\n  " +
             program +
             " run --config gsd.toml      # see docs/OPERATIONS.md for every key\n"
             "Minimal gsd.toml:\n"
             "  vs = \"vs.example.net:7700\"\n"
             "  vs_public_key = \"vs.key.pub\"   # or 64 hex characters\n"
             "  key = \"gs.key\"\n"
             "  listen = \"0.0.0.0:7800\"\n"
             "  store = \"gs.db\"\n\n" +
             std::string(app::kDaemonExitCodes));
  app::add_version_flag(app, program);

  std::string key_out = "gs.key";
  bool force = false;
  auto* keygen_cmd = app.add_subcommand("keygen", "Create this GS's long-term identity key pair");
  keygen_cmd->add_option("--out", key_out, "Secret key file to create (public key: FILE.pub)")
      ->capture_default_str();
  keygen_cmd->add_flag("--force", force, "Overwrite an existing key file (a new identity!)");

  bool hash_only = false;
  auto* version_cmd = app.add_subcommand(
      "version", "Print the version and sw_hash (SHA-256 of this executable) for allowed_builds");
  version_cmd->add_flag("--sw-hash", hash_only, "Print only the sw_hash, in hex");

  // `run` is parsed by its own top-level App, so that its --help lists every option.
  auto* run_cmd = app.add_subcommand("run", kRunHelp);
  run_cmd->allow_extras();
  if (argc >= 2 && std::string_view(argv[1]) == "run") {
    CLI::App run_app{kRunHelp, program + " run"};
    run_app.footer(std::string(app::kDaemonExitCodes));
    Config config;
    app::add_config_file_option(run_app);
    add_config_options(run_app, config);
    if (extension.add_run_options) extension.add_run_options(run_app);
    app::decimal_integers(run_app);
    try {
      run_app.parse(argc - 1, argv + 1);
    } catch (const CLI::ParseError& e) {
      return run_app.exit(e) == 0 ? kExitOk : kExitUsage;
    }
    return run(program, config, extension);
  }

  app::decimal_integers(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (*keygen_cmd) return keygen(program, key_out, force);
  if (*version_cmd) return version(program, hash_only);
  return kExitUsage;
}

}  // namespace gsvs::gsd
