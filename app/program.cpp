#include "app/program.h"

#include <CLI/App.hpp>
#include <iostream>

#include "protocol/crypto.h"

namespace gsvs::app {

std::string_view project_version() { return GSVS_VERSION; }

void add_version_flag(CLI::App& app, const std::string& program) {
  app.set_version_flag("--version", program + " " + std::string(project_version()),
                       "Print the program name and version, then exit");
}

bool crypto_ready(std::string_view program) {
  const Status ready = crypto::init();
  if (!ready) std::cerr << program << ": " << ready.error() << "\n";
  return ready.ok();
}

}  // namespace gsvs::app
