#include "client/cli.h"

int main(int argc, char** argv) { return gsvs::client::run_cli(argc, argv); }
