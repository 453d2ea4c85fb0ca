// The audit-cli program's own options (its subcommands have their tests beside this one).
#include <gtest/gtest.h>

#include "app/program.h"
#include "tests/support/process.h"

namespace gsvs::testing {
namespace {

TEST(AuditCli, Version) {
  TempDir dir;
  ChildProcess version({program("audit-cli"), "--version"}, dir.file("version.out"));
  EXPECT_EQ(version.wait(std::chrono::seconds(20)), 0) << version.output();
  EXPECT_EQ(version.output(), "audit-cli " + std::string(app::project_version()) + "\n");
}

}  // namespace
}  // namespace gsvs::testing
