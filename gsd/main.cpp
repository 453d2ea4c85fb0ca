#include "gsd/cli.h"

int main(int argc, char** argv) { return gsvs::gsd::run_cli(argc, argv); }
