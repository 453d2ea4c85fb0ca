// What every program (vsd, gsd, client, audit-cli) says the same way: its version and, for the
// daemons, its exit codes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "app/cli_fwd.h"
#include "protocol/result.h"

namespace gsvs::app {

// The project version, from CMake's project(gsvs VERSION ...).
std::string_view project_version();

// Adds --version to `app`: prints "PROGRAM VERSION" on stdout; CLI11 then ends the parse with
// exit code 0 (App::exit).
void add_version_flag(CLI::App& app, const std::string& program);

// What a write to a pipe whose reader left does to the program.
enum class BrokenPipe : std::uint8_t {
  // Fails with EPIPE, which the writer handles: a daemon or a client that lives on (a log shipper
  // restarting must not kill vsd without a log line, a final checkpoint or a flushed store).
  kFailsTheWrite,
  // Ends the program (SIGPIPE), as it ends a filter: `audit-cli verify ... | head -1` stops.
  kEndsTheProgram,
};
// Readies the process before a program does anything else: SIGPIPE as `broken_pipe` says, and
// the crypto libraries (crypto::init): false, after printing "PROGRAM: WHY" on stderr, where they
// are unusable (an OPENSSL_CONF whose providers offer no SHA-256): the program then exits with
// its code for a configuration error, rather than failing mid-command.
[[nodiscard]] bool ready_to_run(std::string_view program, BrokenPipe broken_pipe);

// The exit code of a daemon whose start failed for `why`: kExitFailed where the same start may
// pass later with nothing changed (a database server not up yet, a store lock its last holder has
// yet to let go of: Retry::kLater), which systemd starts again (Restart=on-failure, RestartSec);
// kExitUsage for any other reason, which it does not (RestartPreventExitStatus=2). Prints
// "PROGRAM run: WHY" on stderr, and that it may pass where it may.
int start_failed(std::string_view program, const Error& why);

// What a daemon does when a commit to its store does not return (the writer's on_stall): it
// logs, as critical, that the store named `store` has not answered for so long, and exits with
// kExitFailed at once. Waiting on would hold every reply, and a graceful stop would wait on the
// same commit; an exit loses only what a crash would, and a restart recovers from the store once
// it answers (docs/OPERATIONS.md, "Store stalls").
std::function<void(std::chrono::milliseconds in_flight)> exit_when_store_stalls(std::string program,
                                                                                std::string store);

// The store_stall_ms key of vsd and gsd: how long a commit, with the WAL checkpoint or segment
// rotation that follows it, may run before exit_when_store_stalls; 0 waits without end, else at
// least a second (an fsync on a busy disk may take hundreds of milliseconds).
// 10 s: under systemd, well inside half of WatchdogSec (30 s), so that a stall that also holds the
// main loop (a stop's flush) is told and ends with code 1, not killed unexplained by the watchdog.
inline constexpr std::uint32_t kDefaultStoreStallMs = 10000;
// Logs a line about the store from its writer (storage::BatchWriter::Options::on_notice: a WAL
// checkpoint that failed, the writer's own at wal_max_pages) as an error or a warning.
void log_store_notice(bool is_error, const std::string& text);
void add_store_stall_option(CLI::App& run, std::uint32_t& store_stall_ms);

// The exit codes of vsd and gsd (the client and audit-cli have their own, richer sets).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// The --help footer lines that explain kExitOk, kExitFailed and kExitUsage for the daemons.
inline constexpr std::string_view kDaemonExitCodes =
    "Exit codes:\n"
    "  0  stopped cleanly (SIGINT/SIGTERM), or the command did what it was asked\n"
    "  1  failed while running (the store), or a start that may pass without a change (the\n"
    "     store's lock still held, its database server unreachable), or an admin request was\n"
    "     refused or could not reach the daemon (vsd status, reload, revoke, pardon), or a\n"
    "     vsd store command failed on the way, or gsd version could not hash itself\n"
    "  2  usage, configuration, key or store error at start (also: vsd store export given\n"
    "     what is not a store)";

}  // namespace gsvs::app
