// The vsd program's command line: --version, the exit codes in --help, the checks on an
// operator's reason, SIGHUP, and what `vsd store archive|prune` refuse.
#include "vsd/cli.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>

#include "app/program.h"
#include "protocol/bytes.h"
#include "storage/log.h"
#include "tests/support/vs_fixture.h"
#include "vsd/admin.h"

namespace gsvs::testing {
namespace {

// Runs vsd to completion; returns its exit code and output.
std::pair<int, std::string> run_vsd(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), program("vsd"));
  ChildProcess child(args, dir.file("vsd-cli.out"));
  const int code = child.wait(std::chrono::seconds(20));
  return {code, child.output()};
}

// Polls the output until `text` appears `times` times; false after 10 s.
bool wait_for_occurrences(const ChildProcess& process, const std::string& text, std::size_t times) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (count_of(process.output(), text) >= times) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(VsdCli, VersionAndExitCodes) {
  TempDir dir;
  auto [code, out] = run_vsd(dir, {"--version"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "vsd " + std::string(app::project_version()) + "\n");
  for (const auto& args : {std::vector<std::string>{"--help"}, {"run", "--help"}}) {
    auto [help_code, help] = run_vsd(dir, args);
    EXPECT_EQ(help_code, 0);
    EXPECT_NE(help.find(app::kDaemonExitCodes), std::string::npos) << help;
  }
}

TEST(VsdCli, RevokeRefusesAReasonThatSaysNothingOrIsNotText) {
  TempDir dir;
  struct Case {
    const char* name;
    std::string reason;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"empty", "", "must not be empty"},
      {"blank", "  ", "must not be empty"},
      {"not UTF-8", "cheat\xFF\xFE", "not valid UTF-8"},
  };
  for (const auto& c : cases) {
    // Refused before any connection: no daemon is needed.
    auto [code, out] = run_vsd(dir, {"revoke", "--admin-socket", dir.file("none.sock"), "--session",
                                     "1", "--reason", c.reason});
    EXPECT_EQ(code, 2) << c.name << ": " << out;
    EXPECT_NE(out.find("--reason"), std::string::npos) << c.name << ": " << out;
    EXPECT_NE(out.find(c.expected), std::string::npos) << c.name << ": " << out;
  }
}

// SIGHUP reloads the policy (PROTOCOL.md §8.17; tests/vsd/reload_test.cpp for changes): with an
// unchanged file it logs that and nothing else, and vsd keeps serving.
TEST(VsdCli, SighupWithAnUnchangedFileChangesNothing) {
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  const Hash32 build = crypto::sha256(as_bytes("build"));
  VsProcess vs(dir, {identity.public_key()}, {build});
  const std::string unchanged = "SIGHUP: reload: the policy is unchanged";
  ASSERT_EQ(::kill(vs.process().pid(), SIGHUP), 0);
  ASSERT_TRUE(vs.process().wait_for_output(unchanged, std::chrono::seconds(10)))
      << vs.process().output();
  // Still serving: a GS joins; and a second SIGHUP changes nothing either.
  ScriptedGs gs(vs.port(), identity, build);
  gs.join();
  ASSERT_EQ(::kill(vs.process().pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_for_occurrences(vs.process(), unchanged, 2)) << vs.process().output();
  gs.send_signed(gs.make_heartbeat());
  EXPECT_TRUE(vs.process().running());
  EXPECT_EQ(vs.stop(), 0) << vs.process().output();
  const std::string out = vs.process().output();
  EXPECT_NE(out.find("stopped: store flushed"), std::string::npos) << out;
  // Every line in the one format, time in UTC.
  EXPECT_TRUE(std::regex_search(
      out, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info vsd: SIGHUP: reload: )",
                      std::regex::multiline)))
      << out;
  // Only the start's policy is logged.
  std::size_t policies = 0;
  for (const auto& e : read_store(vs.store_path())) {
    policies += e.header.kind == protocol::MessageKind::kPolicyApplied ? 1 : 0;
  }
  EXPECT_EQ(policies, 1U);
}

// Something on the admin socket that answers each connection with one line: a vsd of another
// version, or another program.
class OneLineServer {
 public:
  OneLineServer(const std::string& path, std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(fd_, 4) != 0) {
      throw std::runtime_error("cannot listen on " + path);
    }
    thread_ = std::thread([this] {
      for (int conn; (conn = ::accept(fd_, nullptr, nullptr)) >= 0; ::close(conn)) {
        std::array<char, 4096> request{};
        static_cast<void>(::read(conn, request.data(), request.size()));
        static_cast<void>(::write(conn, reply_.data(), reply_.size()));
      }
    });
  }
  ~OneLineServer() {
    ::shutdown(fd_, SHUT_RDWR);  // ends the accept
    thread_.join();
    ::close(fd_);
  }
  OneLineServer(const OneLineServer&) = delete;
  OneLineServer& operator=(const OneLineServer&) = delete;

 private:
  std::string reply_;
  int fd_ = -1;
  std::thread thread_;
};

// The admin commands read a reply of another shape than this build's vsd sends as an error that
// says so, exit code 1; they never abort on it.
TEST(VsdCli, AdminRepliesOfAnotherShapeAreAnErrorNotAnAbort) {
  TempDir dir;
  const std::vector<std::string> replies = {
      "[]\n",
      "{\"ok\":\"yes\"}\n",
      "{\"ok\":true,\"sessions\":[1,2],\"quarantined\":7}\n",
      "{\"ok\":true,\"sessions\":[{\"session_id\":\"seven\"}]}\n",
  };
  int run = 0;
  for (const auto& reply : replies) {
    SCOPED_TRACE(reply);
    const std::string socket = dir.file("admin" + std::to_string(++run) + ".sock");
    OneLineServer server(socket, reply);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"status", "--admin-socket", socket},
             {"reload", "--admin-socket", socket},
             {"revoke", "--admin-socket", socket, "--session", "1", "--reason", "test"},
             {"pardon", "--admin-socket", socket, "--identity", std::string(64, 'a'), "--reason",
              "test"}}) {
      SCOPED_TRACE(args.front());
      auto [code, out] = run_vsd(dir, args);
      EXPECT_TRUE(code == 0 || code == 1) << code << out;
      EXPECT_EQ(out.find("terminate"), std::string::npos) << out;
    }
  }
  OneLineServer array_server(dir.file("array.sock"), "[]\n");
  auto [code, out] = run_vsd(dir, {"status", "--admin-socket", dir.file("array.sock")});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("not a JSON object"), std::string::npos) << out;
}

// A daemon that is stopped (SIGSTOP) or stuck still has its connections accepted, by the
// kernel, and never answers: an admin request gives up after its timeout and says so, where it
// used to wait for good (a monitoring job's `vsd status` piled up).
TEST(VsdCli, AnAdminSocketThatNeverAnswersIsGivenUpOn) {
  TempDir dir;
  const std::string path = dir.file("silent.sock");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);  // never accepted: the connection waits in the backlog
  const auto started = std::chrono::steady_clock::now();
  auto reply = vsd::admin_request(path, {{"command", "status"}}, std::chrono::milliseconds(300));
  const auto waited = std::chrono::steady_clock::now() - started;
  ::close(fd);
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.error().find("no reply from vsd on " + path + " within 300 ms"),
            std::string::npos)
      << reply.error();
  EXPECT_LT(waited, std::chrono::seconds(10));
}

TEST(VsdCli, StoreArchiveAndPruneRefuseWhatIsNotSafeAndSayWhy) {
  TempDir dir;
  const auto key = crypto::SecretKey::generate();
  const std::string key_hex = to_hex(key.public_key());
  const std::string store = dir.file("vs");
  {
    auto log = storage::Log::open(store + "/", storage::OpenMode::kReadWrite,
                                  storage::StoreRole::kVs, storage::OpenOptions{key.public_key()});
    ASSERT_TRUE(log.ok()) << log.error();
  }
  struct Case {
    const char* name;
    std::vector<std::string> args;
    int code;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"prune without --yes",
       {"store", "prune", "--store", store, "--vs-public-key", key_hex, "--older-than", "90d"},
       2,
       "add --yes to confirm"},
      {"a duration that is not one",
       {"store", "prune", "--store", store, "--vs-public-key", key_hex, "--older-than", "3x",
        "--yes"},
       2,
       "--older-than: '3x' is not a duration"},
      {"a key that is not one",
       {"store", "archive", "--store", store, "--vs-public-key", "nokey", "--to", dir.file("a")},
       2,
       "--vs-public-key"},
      {"a single-file store",
       {"store", "prune", "--store", dir.file("vs.db"), "--vs-public-key", key_hex, "--older-than",
        "1d", "--yes"},
       1,
       "not a directory of segments"},
      {"nothing sealed yet",
       {"store", "archive", "--store", store, "--vs-public-key", key_hex, "--to", dir.file("a")},
       0,
       "0 sealed segment(s) archived"},
      {"an export from a seal without the key that checks it",
       {"store", "export", "--store", store, "--to", dir.file("e") + "/", "--from", "5"},
       1,
       "which the VS public key checks: give it"},
      {"an export of what is not a store",
       {"store", "export", "--store", dir.file("none.db"), "--to", dir.file("e.db")},
       2,
       "none.db"},
  };
  for (const Case& c : cases) {
    auto [code, out] = run_vsd(dir, c.args);
    EXPECT_EQ(code, c.code) << c.name << ": " << out;
    EXPECT_NE(out.find(c.expected), std::string::npos) << c.name << ": " << out;
  }

  // While a writer (vsd) holds the store, nothing is touched and the holder is named.
  auto writer = storage::Log::open(store, storage::OpenMode::kReadWrite, storage::StoreRole::kVs,
                                   storage::OpenOptions{key.public_key()});
  ASSERT_TRUE(writer.ok()) << writer.error();
  auto [code, out] = run_vsd(dir, {"store", "prune", "--store", store, "--vs-public-key", key_hex,
                                   "--older-than", "0s", "--yes"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("pid " + std::to_string(::getpid())), std::string::npos) << out;
}

}  // namespace
}  // namespace gsvs::testing
