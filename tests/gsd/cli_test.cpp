// The gsd program's command line: --version, the exit codes in --help, and SIGHUP.
#include "gsd/cli.h"

#include <gtest/gtest.h>

#include <csignal>

#include "app/program.h"
#include "protocol/keyfile.h"
#include "tests/support/gsd_fixture.h"

namespace gsvs::testing {
namespace {

TEST(GsdCli, VersionAndExitCodes) {
  TempDir dir;
  for (const std::string name : {"gsd", "gsd-rogue"}) {
    ChildProcess version({program(name), "--version"}, dir.file("version.out"));
    EXPECT_EQ(version.wait(std::chrono::seconds(20)), 0) << version.output();
    EXPECT_EQ(version.output(), name + " " + std::string(app::project_version()) + "\n");
  }
  for (const auto& args : {std::vector<std::string>{"--help"}, {"run", "--help"}}) {
    std::vector<std::string> argv{program("gsd")};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess help(argv, dir.file("help.out"));
    EXPECT_EQ(help.wait(std::chrono::seconds(20)), 0);
    EXPECT_NE(help.output().find(app::kDaemonExitCodes), std::string::npos) << help.output();
  }
}

TEST(GsdCli, SighupIsLoggedAndIgnored) {
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  ASSERT_TRUE(keyfile::write_key_pair(dir.file("gs.key"), identity).ok());
  VsProcess vs(dir, {identity.public_key()}, {sha256_of_file(program("gsd"))});
  GsdProcess gsd(dir, vs, dir.file("gs.key"));
  ASSERT_EQ(::kill(gsd.process().pid(), SIGHUP), 0);
  ASSERT_TRUE(gsd.process().wait_for_output("SIGHUP received", std::chrono::seconds(10)))
      << gsd.process().output();
  // Still serving: a client completes its handshake.
  ScriptedClient client(gsd.port(), vs.public_key());
  client.handshake();
  EXPECT_FALSE(client.closed());
  EXPECT_EQ(gsd.stop(), 0) << gsd.process().output();
  EXPECT_NE(gsd.process().output().find("stopped: store flushed"), std::string::npos);
}

}  // namespace
}  // namespace gsvs::testing
