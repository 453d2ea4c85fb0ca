// The `client` program itself: help, key generation, and exit code 2 for every usage error.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/program.h"
#include "protocol/keyfile.h"
#include "protocol/messages.h"
#include "tests/support/forged_session.h"
#include "tests/support/frame_server.h"
#include "tests/support/process.h"

namespace gsvs::testing {
namespace {

int run_client(const TempDir& dir, std::vector<std::string> args, std::string* output = nullptr) {
  args.insert(args.begin(), program("client"));
  ChildProcess child(args, dir.file("client.out"));
  const int code = child.wait(std::chrono::seconds(20));
  if (output != nullptr) *output = child.output();
  return code;
}

TEST(ClientCli, HelpTeachesAndListsExitCodes) {
  TempDir dir;
  std::string out;
  EXPECT_EQ(run_client(dir, {"--help"}, &out), 0);
  EXPECT_NE(out.find("Exit codes"), std::string::npos) << out;
  EXPECT_NE(out.find("keygen"), std::string::npos);
  EXPECT_EQ(run_client(dir, {"run", "--help"}, &out), 0);
  for (const char* option : {"--gs", "--vs-pubkey", "--key", "--bot", "--speed-m-s", "--cheat",
                             "--duration-s", "--events", "--skew-ms", "--handshake-timeout-ms"}) {
    EXPECT_NE(out.find(option), std::string::npos) << option;
  }
  EXPECT_NE(out.find("4  ticket starvation"), std::string::npos) << out;
  EXPECT_EQ(run_client(dir, {"--version"}, &out), 0);
  EXPECT_EQ(out, "client " + std::string(app::project_version()) + "\n");
}

TEST(ClientCli, KeygenWritesAKeyPairAndRefusesToOverwrite) {
  TempDir dir;
  const std::string key = dir.file("player.key");
  std::string out;
  ASSERT_EQ(run_client(dir, {"keygen", "--out", key}, &out), 0) << out;
  auto secret = keyfile::read_secret_key(key);
  ASSERT_TRUE(secret.ok()) << secret.error();
  auto pub = keyfile::read_public_key(key + ".pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, secret->public_key());
  EXPECT_NE(out.find(to_hex(*pub)), std::string::npos);
  EXPECT_EQ(run_client(dir, {"keygen", "--out", key}), 2);
}

TEST(ClientCli, UsageAndKeyErrorsExitWith2) {
  TempDir dir;
  const std::string key = dir.file("player.key");
  ASSERT_EQ(run_client(dir, {"keygen", "--out", key}), 0);
  const std::string vs = std::string(64, 'a');
  EXPECT_EQ(run_client(dir, {}), 2);
  EXPECT_EQ(run_client(dir, {"run", "--gs", "127.0.0.1:1"}), 2);  // missing options
  EXPECT_EQ(run_client(dir, {"run", "--gs", "nonsense", "--vs-pubkey", vs, "--key", key}), 2);
  EXPECT_EQ(run_client(dir, {"run", "--gs", "127.0.0.1:1", "--vs-pubkey", "zz", "--key", key}), 2);
  EXPECT_EQ(run_client(dir, {"run", "--gs", "127.0.0.1:1", "--vs-pubkey", vs, "--key",
                             dir.file("missing.key")}),
            2);
  EXPECT_EQ(run_client(dir, {"run", "--gs", "127.0.0.1:1", "--vs-pubkey", vs, "--key", key,
                             "--events", dir.file("no/such/dir/events")}),
            2);
  EXPECT_EQ(run_client(dir, {"run", "--bogus"}), 2);
}

// `client run --config`: the options' long names as TOML keys, required ones included.
TEST(ClientCli, ConfigFileIsToml) {
  TempDir dir;
  const std::string key = dir.file("player.key");
  ASSERT_EQ(run_client(dir, {"keygen", "--out", key}), 0);
  const std::string options = "gs = \"127.0.0.1:1\"\nvs-pubkey = \"" + std::string(64, 'a') +
                              "\"\nkey = \"" + key + "\"\nbot = true\n";
  // A byte order mark and a digit separator: read, so the client gets as far as connecting
  // (nothing listens on port 1: exit 6).
  write_text(dir.file("client.toml"), "\xEF\xBB\xBF" + options + "handshake-timeout-ms = 1_000\n");
  std::string out;
  EXPECT_EQ(run_client(dir, {"run", "--config", dir.file("client.toml")}, &out), 6) << out;
  // A misspelt key stops it with the file, line and key.
  write_text(dir.file("typo.toml"), options + "handshake-timout-ms = 1000\n");
  EXPECT_EQ(run_client(dir, {"run", "--config", dir.file("typo.toml")}, &out), 2);
  EXPECT_NE(out.find("typo.toml:5:1: unknown key 'handshake-timout-ms'"), std::string::npos) << out;
}

TEST(ClientCli, EventsOnStdoutAreOnlyJson) {
  TempDir dir;
  const std::string key = dir.file("player.key");
  ASSERT_EQ(run_client(dir, {"keygen", "--out", key}), 0);
  // Human log lines go to stderr; capture stdout alone through a shell redirection.
  const std::string stdout_file = dir.file("stdout.jsonl");
  const std::string command = program("client") +
                              " run --gs 127.0.0.1:" + std::to_string(free_port()) +
                              " --vs-pubkey " + std::string(64, 'a') + " --key " + key +
                              " --events - > " + stdout_file + " 2> " + dir.file("stderr.txt");
  ChildProcess shell({"/bin/sh", "-c", command}, dir.file("shell.out"));
  EXPECT_EQ(shell.wait(std::chrono::seconds(20)), 6);
  std::istringstream lines(read_text(stdout_file));
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["event"], "disconnected");
    EXPECT_EQ(j["exit_code"], 6);
    ++count;
  }
  EXPECT_EQ(count, 1);
  EXPECT_NE(read_text(dir.file("stderr.txt")).find("connection_refused"), std::string::npos);
}

// Each stopping signal ends the client cleanly, with exit code 0 and a last event that says so;
// SIGHUP (its terminal closed) used to kill it without one.
TEST(ClientCli, StoppingSignalsEndItCleanly) {
  TempDir dir;
  const std::string key = dir.file("player.key");
  ASSERT_EQ(run_client(dir, {"keygen", "--out", key}), 0);
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
    SCOPED_TRACE(signal);
    FrameListener listener;  // a GS that accepts and says nothing yet
    const std::string events = dir.file("events" + std::to_string(signal) + ".jsonl");
    ChildProcess client(
        {program("client"), "run", "--gs", "127.0.0.1:" + std::to_string(listener.port()),
         "--vs-pubkey", to_hex(crypto::SecretKey::generate().public_key()), "--key", key,
         "--events", events, "--handshake-timeout-ms", "60000"},
        dir.file("client" + std::to_string(signal) + ".out"));
    auto gs = listener.accept(std::chrono::seconds(10));  // held open while the signal comes
    ASSERT_TRUE(gs);
    ASSERT_EQ(::kill(client.pid(), signal), 0);
    EXPECT_EQ(client.wait(std::chrono::seconds(10)), 0) << client.output();
    EXPECT_NE(read_text(events).find("\"reason\":\"stopped\""), std::string::npos)
        << read_text(events);
  }
}

TEST(ClientCli, ImpostorGsIsRefusedWithExit5) {
  TempDir dir;
  const std::string key = dir.file("player.key");
  ASSERT_EQ(run_client(dir, {"keygen", "--out", key}), 0);
  ForgedSession session;
  FrameListener listener;
  // A fleet's key set, whose second key signed the JoinAccept: the hello fails on the session
  // key, after the JoinAccept's check.
  const std::string key_set = to_hex(crypto::SecretKey::generate().public_key()) + "," +
                              to_hex(session.vs_key().public_key());
  ChildProcess client(
      {program("client"), "run", "--gs", "127.0.0.1:" + std::to_string(listener.port()),
       "--vs-pubkey", key_set, "--key", key, "--events", dir.file("events.jsonl")},
      dir.file("client.out"));
  auto gs = listener.accept(std::chrono::seconds(10));
  ASSERT_TRUE(gs);
  gs->send_frame(protocol::encode(protocol::ClientChallenge{}));
  auto hello = gs->read_frame();
  ASSERT_TRUE(hello);
  auto decoded = protocol::decode<protocol::ClientHello>(*hello);
  ASSERT_TRUE(decoded.ok());
  // A real session's JoinAccept, but a ServerHello signed with a key that is not its session key.
  auto impostor = crypto::SecretKey::generate();
  gs->send_frame(session.server_hello(decoded->client_key, decoded->client_nonce, &impostor));
  EXPECT_EQ(client.wait(std::chrono::seconds(10)), 5) << client.output();
  EXPECT_NE(read_text(dir.file("events.jsonl")).find("\"handshake_failed\""), std::string::npos);
  EXPECT_NE(client.output().find("not signed by the session key"), std::string::npos)
      << client.output();
  EXPECT_TRUE(gs->wait_closed(std::chrono::seconds(2)));
}

}  // namespace
}  // namespace gsvs::testing
