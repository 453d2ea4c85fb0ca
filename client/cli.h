// The client's command line: keygen and run. main.cpp only calls run_cli.
#pragma once

namespace gsvs::client {

// Exit codes: see ExitCode in client/player.h (0, 2 to 7).
int run_cli(int argc, char** argv);

}  // namespace gsvs::client
