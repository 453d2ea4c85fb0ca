// What every program (vsd, gsd, client, audit-cli) says the same way: its version and, for the
// daemons, its exit codes.
#pragma once

#include <string>
#include <string_view>

#include "app/cli_fwd.h"

namespace gsvs::app {

// The project version, from CMake's project(gsvs VERSION ...).
std::string_view project_version();

// Adds --version to `app`: prints "PROGRAM VERSION" on stdout; CLI11 then ends the parse with
// exit code 0 (App::exit).
void add_version_flag(CLI::App& app, const std::string& program);

// Readies the crypto libraries (crypto::init) before a program does anything else. False, after
// printing "PROGRAM: WHY" on stderr, where they are unusable (an OPENSSL_CONF whose providers
// offer no SHA-256): the program then exits with its code for a configuration error, rather than
// failing mid-command.
[[nodiscard]] bool crypto_ready(std::string_view program);

// The exit codes of vsd and gsd (the client and audit-cli have their own, richer sets).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// The --help footer lines that explain kExitOk, kExitFailed and kExitUsage for the daemons.
inline constexpr std::string_view kDaemonExitCodes =
    "Exit codes:\n"
    "  0  stopped cleanly (SIGINT/SIGTERM), or the command did what it was asked\n"
    "  1  failed while running (the store), or an admin request was refused or could not\n"
    "     reach the daemon (vsd status, vsd revoke), or gsd version could not hash itself\n"
    "  2  usage, configuration, key or store error at start";

}  // namespace gsvs::app
