// Every program readies itself before it does anything else (app::ready_to_run). It checks its
// crypto libraries: where OpenSSL offers no SHA-256, here an OPENSSL_CONF that asks for
// FIPS-approved algorithms without loading a FIPS provider, each stops with exit code 2,
// OpenSSL's reason and what to check, and writes nothing (before, they aborted mid-command). And
// a write to a pipe nobody reads fails instead of killing it with SIGPIPE.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/program.h"
#include "tests/support/process.h"

namespace gsvs::testing {
namespace {

constexpr const char* kNoSha256Config =
    "openssl_conf = openssl_init\n"
    "[openssl_init]\n"
    "alg_section = evp_properties\n"
    "[evp_properties]\n"
    "default_properties = fips=yes\n";

struct Case {
  const char* program;
  std::vector<std::string> args;  // what it is asked to do; `KEY` stands for a key file to create
};

TEST(CryptoReady, EveryProgramStopsAtStartWhereOpenSslOffersNoSha256) {
  TempDir dir;
  const std::string config = dir.file("no-sha256.cnf");
  std::ofstream(config) << kNoSha256Config;
  const std::vector<Case> cases = {
      {"vsd", {"keygen", "--out", "KEY"}},
      {"gsd", {"keygen", "--out", "KEY"}},
      {"gsd", {"version"}},
      {"gsd-rogue", {"keygen", "--out", "KEY"}},
      {"client", {"keygen", "--out", "KEY"}},
      {"audit-cli", {"sessions", "no-such-store.db"}},
  };
  int run = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.program) + " " + c.args.front());
    const std::string key = dir.file("key" + std::to_string(++run));
    std::vector<std::string> argv{"/usr/bin/env", "OPENSSL_CONF=" + config, program(c.program)};
    for (const auto& arg : c.args) argv.push_back(arg == "KEY" ? key : arg);
    ChildProcess child(argv, dir.file("out" + std::to_string(run)));
    EXPECT_EQ(child.wait(std::chrono::seconds(20)), app::kExitUsage) << child.output();
    EXPECT_NE(child.output().find(std::string(c.program) + ": OpenSSL offers no SHA-256"),
              std::string::npos)
        << child.output();
    EXPECT_NE(child.output().find("check OPENSSL_CONF"), std::string::npos) << child.output();
    EXPECT_FALSE(std::filesystem::exists(key));
  }
  // The same command with the machine's own OpenSSL configuration does its work: the refusal
  // above came from the configuration, not from the command.
  const std::string key = dir.file("control.key");
  ChildProcess control({program("vsd"), "keygen", "--out", key}, dir.file("control.out"));
  EXPECT_EQ(control.wait(std::chrono::seconds(20)), app::kExitOk) << control.output();
  EXPECT_TRUE(std::filesystem::exists(key));
}

// The daemons and the client live on past a reader that left; audit-cli ends, as a filter does.
TEST(CryptoReady, AWriteToAPipeNobodyReadsKillsOnlyAuditCli) {
  for (const char* name : {"vsd", "gsd", "client", "audit-cli"}) {
    SCOPED_TRACE(name);
    const bool ends = std::string(name) == "audit-cli";
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[0]);  // no reader: the first write fails with EPIPE, or raises SIGPIPE
    const std::string path = program(name);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::signal(SIGPIPE, SIG_DFL);  // whatever the test runner's disposition
      ::dup2(fds[1], STDOUT_FILENO);
      ::execl(path.c_str(), path.c_str(), "--help", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (ends) {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE) << status;
    } else {
      EXPECT_FALSE(WIFSIGNALED(status)) << "killed by signal " << WTERMSIG(status);
      EXPECT_TRUE(WIFEXITED(status));
    }
  }
}

}  // namespace
}  // namespace gsvs::testing
