// gsd_tests start the programs of their own build. GSVS_BIN_DIR (set by CTest) says where they
// are; when it is not set, the build's bin directory is used.
#include <cstdlib>

namespace {

[[maybe_unused]] const int kDefaultBinDir = ::setenv("GSVS_BIN_DIR", GSVS_DEFAULT_BIN_DIR, 0);

}  // namespace
