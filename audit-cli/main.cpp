#include "audit-cli/commands.h"

int main(int argc, char** argv) { return gsvs::audit::run_cli(argc, argv); }
