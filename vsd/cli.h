// vsd's command line: keygen, run, status, revoke, store archive and store prune. main.cpp only
// calls run_cli.
#pragma once

namespace gsvs::vsd {

// Exit codes: 0 success; 1 the daemon failed at run time or the request was refused;
// 2 usage, configuration, key or store error at start.
int run_cli(int argc, char** argv);

}  // namespace gsvs::vsd
