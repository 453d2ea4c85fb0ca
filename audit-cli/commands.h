// audit-cli's subcommands, one file pair each (setup_x registers options and the callback that
// runs it). Every command opens stores read-only and never modifies them.
#pragma once

#include <CLI/App.hpp>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/result.h"

namespace gsvs::audit {

// Exit codes, the same for every command.
inline constexpr int kExitOk = 0;      // intact / done
inline constexpr int kExitFailed = 1;  // verification found a problem
inline constexpr int kExitUsage = 2;   // usage, input or I/O error

// A usage, input or I/O error that ends a command: set_run prints it as "audit-cli COMMAND: what"
// on stderr and the command exits with kExitUsage.
struct CommandError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The value of `result`; otherwise a CommandError with its error, after `context`.
template <class T>
T usable(Result<T> result, std::string_view context = {}) {
  if (!result) throw CommandError(std::string(context) + result.error());
  return std::move(result).value();
}
// Makes `run` the callback of `command`: its exit code goes to `exit_code`, and a CommandError
// is printed and ends the command with kExitUsage.
void set_run(CLI::App& command, int& exit_code, std::function<int()> run);
// Adds the subcommand `name` to `app`, with the Options its options are parsed into; when it
// runs, `run` gets them (set_run). Returns both, for the setup to add options and help.
template <class Options>
std::pair<CLI::App*, Options*> add_command(CLI::App& app, int& exit_code, std::string name,
                                           std::string description, int (*run)(const Options&)) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(std::move(name), std::move(description));
  set_run(*command, exit_code, [options, run] { return run(*options); });
  return {command, options.get()};
}

// What one exit code means for one command.
struct ExitCodeMeaning {
  int code;
  std::string_view meaning;
};
// Ends `command`'s --help the same way for every command: `details` (what it checks, may be
// empty), then "Exit codes:" one per line, then "Examples:" one per line.
void set_help_footer(CLI::App& command, std::string_view details,
                     std::initializer_list<ExitCodeMeaning> exit_codes,
                     std::initializer_list<std::string_view> examples);

// Each setup adds its subcommand to `app`; when it runs, the callback stores its exit code.
void setup_verify(CLI::App& app, int& exit_code);
void setup_sessions(CLI::App& app, int& exit_code);
void setup_timeline(CLI::App& app, int& exit_code);
void setup_explain(CLI::App& app, int& exit_code);
void setup_report(CLI::App& app, int& exit_code);
void setup_verify_report(CLI::App& app, int& exit_code);
void setup_reconcile(CLI::App& app, int& exit_code);
void setup_consistency(CLI::App& app, int& exit_code);
void setup_verify_consistency(CLI::App& app, int& exit_code);
void setup_verify_adoption(CLI::App& app, int& exit_code);
// All of the above, in the order --help lists them.
void setup_commands(CLI::App& app, int& exit_code);

int run_cli(int argc, char** argv);

}  // namespace gsvs::audit
