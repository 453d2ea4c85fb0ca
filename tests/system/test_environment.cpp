// These tests start the programs of their own build. GSVS_BIN_DIR says where they are; CTest is
// meant to set it, but gtest_discover_tests keeps only the first variable of the ENVIRONMENT list
// in tests/CMakeLists.txt, so when it is not set the build's bin directory is used.
#include <cstdlib>

namespace {

[[maybe_unused]] const int kDefaultBinDir = ::setenv("GSVS_BIN_DIR", GSVS_DEFAULT_BIN_DIR, 0);

}  // namespace
