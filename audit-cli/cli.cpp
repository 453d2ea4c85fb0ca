#include <CLI/CLI.hpp>
#include <iostream>

#include "app/config_file.h"
#include "app/program.h"
#include "audit-cli/commands.h"
#include "protocol/crypto.h"

namespace gsvs::audit {

void set_run(CLI::App& command, int& exit_code, std::function<int()> run) {
  command.callback([&command, &exit_code, run = std::move(run)] {
    try {
      exit_code = run();
    } catch (const CommandError& e) {
      std::cerr << "audit-cli " << command.get_name() << ": " << e.what() << "\n";
      exit_code = kExitUsage;
    } catch (const std::exception& e) {
      // What the command could not get from the system (memory, a thread) or did not foresee:
      // said, not an abort.
      std::cerr << "audit-cli " << command.get_name() << ": stopped: " << e.what() << "\n";
      exit_code = kExitUsage;
    }
  });
}

void setup_commands(CLI::App& app, int& exit_code) {
  setup_verify(app, exit_code);
  setup_sessions(app, exit_code);
  setup_timeline(app, exit_code);
  setup_explain(app, exit_code);
  setup_report(app, exit_code);
  setup_verify_report(app, exit_code);
  setup_reconcile(app, exit_code);
  setup_consistency(app, exit_code);
  setup_verify_consistency(app, exit_code);
  setup_verify_adoption(app, exit_code);
}

int run_cli(int argc, char** argv) {
  if (!app::ready_to_run("audit-cli", app::BrokenPipe::kEndsTheProgram)) return kExitUsage;
  CLI::App app{
      "audit-cli: the investigator's tool for validation-server stores. It checks that a store "
      "is intact (hash chain, every signature, counters, ticket chains, receipts, checkpoints), "
      "reconstructs what happened in a session, explains revocations with the numbers behind "
      "them, and exports dispute reports that anyone holding the VS public key can re-check "
      "offline. Stores are opened read-only and never modified.",
      "audit-cli"};
  app.require_subcommand(1);
  set_help_footer(app, "",
                  {{kExitOk, "intact / ok"},
                   {kExitFailed, "verification failed"},
                   {kExitUsage, "usage or I/O error"}},
                  {"audit-cli verify vs.db --vs-pubkey vs.key.pub", "audit-cli sessions vs.db",
                   "audit-cli explain vs.db --session 2",
                   "audit-cli timeline vs.db --session 2 --format svg -o session2.svg",
                   "audit-cli report vs.db --session 2 -o dispute.json",
                   "audit-cli verify-report dispute.json --vs-pubkey vs.key.pub"});
  app::add_version_flag(app, "audit-cli");
  int exit_code = kExitUsage;
  setup_commands(app, exit_code);
  app::decimal_integers(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}

}  // namespace gsvs::audit
