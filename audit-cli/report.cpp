#include "audit-cli/commands.h"

namespace gsvs::audit {

void setup_report(CLI::App& app, int& exit_code) {
  (void)app;
  (void)exit_code;
}

}  // namespace gsvs::audit
