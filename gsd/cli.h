// gsd's command line: keygen, version, run. main.cpp only calls run_cli. The demonstration
// program gsd-rogue reuses it through CliExtension (extra `run` options and its own Behaviour);
// the production main passes none.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "app/cli_fwd.h"
#include "gsd/behaviour.h"
#include "protocol/result.h"

namespace gsvs::gsd {

struct CliExtension {
  std::string program = "gsd";
  std::string description;  // replaces the default description when not empty
  // Adds options to `run` before parsing.
  std::function<void(CLI::App& run)> add_run_options;
  // After parsing `run`: the behaviour to run with; an error is a usage error (exit 2).
  std::function<Result<std::shared_ptr<Behaviour>>(const Hash32& own_sw_hash)> make_behaviour;
};

// Exit codes: 0 success (including a stop by SIGINT/SIGTERM); 1 the daemon failed at run time
// (its store); 2 usage, configuration, key or store error at start.
int run_cli(int argc, char** argv, const CliExtension& extension = {});

}  // namespace gsvs::gsd
