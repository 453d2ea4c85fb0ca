#include "app/program.h"

#include <CLI/App.hpp>

namespace gsvs::app {

std::string_view project_version() { return GSVS_VERSION; }

void add_version_flag(CLI::App& app, const std::string& program) {
  app.set_version_flag("--version", program + " " + std::string(project_version()),
                       "Print the program name and version, then exit");
}

}  // namespace gsvs::app
