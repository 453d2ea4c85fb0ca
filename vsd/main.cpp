#include "vsd/cli.h"

int main(int argc, char** argv) { return gsvs::vsd::run_cli(argc, argv); }
