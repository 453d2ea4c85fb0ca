// The admin socket: in-process (AdminServer on its own io_context: what it refuses to replace,
// path limits, slow and silent clients) and against the real vsd (a mistaken admin_socket must
// not cost the operator a file; a too-long path is an error, not an abort).
#include "vsd/admin.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/escape.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::vsd {
namespace {

namespace asio = net::asio;
using std::chrono::milliseconds;
using testing::ChildProcess;
using testing::TempDir;
using LocalSocket = asio::local::stream_protocol::socket;
using LocalEndpoint = asio::local::stream_protocol::endpoint;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// True when the peer closes the connection within `timeout` (anything it sends first is read).
bool closed_by_peer(LocalSocket& socket, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{socket.native_handle(), POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    char byte = 0;
    const auto got = ::read(socket.native_handle(), &byte, 1);
    if (got <= 0) return true;
  }
  return false;
}

// AdminServers on one io_context run by a thread of the fixture; the servers are destroyed
// after that thread ends, as in vsd.
class AdminServerTest : public ::testing::Test {
 protected:
  ~AdminServerTest() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  AdminServer& make_server(const std::string& path,
                           milliseconds timeout = kAdminConnectionTimeout) {
    AdminOperations operations{
        [] {
          return nlohmann::json{{"sessions", nlohmann::json::array()}};
        },
        [this](protocol::SessionId id, const std::string& reason, OperatorRevocation kind) {
          revoked_.emplace_back(id, reason);
          revoke_kinds_.push_back(kind);
          return std::string{};
        },
        [this]() -> Result<std::string> {
          if (refuse_reload_) return Error{"config key 'threads' differs"};
          return std::string("policy #2 applied");
        },
        [this](const protocol::PublicKey& identity,
               const std::string& reason) -> Result<nlohmann::json> {
          pardoned_.emplace_back(identity, reason);
          return nlohmann::json{{"pardon_position", 42}};
        }};
    servers_.push_back(std::make_unique<AdminServer>(io_, path, std::move(operations), timeout));
    return *servers_.back();
  }
  void serve(AdminServer& server) {
    server.start(nullptr, testing::fail_the_test());
    if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
  }
  // The reply to a status request, or the error that prevented it.
  static std::string status_of(const std::string& path) {
    auto reply = admin_request(path, {{"command", "status"}});
    return reply ? reply->dump() : reply.error();
  }

  TempDir dir_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::unique_ptr<AdminServer>> servers_;
  std::vector<std::pair<protocol::SessionId, std::string>> revoked_;
  std::atomic<bool> refuse_reload_{false};  // the reload operation refuses
  std::vector<OperatorRevocation> revoke_kinds_;
  std::vector<std::pair<protocol::PublicKey, std::string>> pardoned_;
  std::thread thread_;
};

TEST_F(AdminServerTest, AnswersStatusAndRemovesItsSocketAtClose) {
  const auto path = dir_.file("vsd.sock");
  auto& server = make_server(path);
  ASSERT_TRUE(server.open());
  serve(server);
  EXPECT_TRUE(contains(status_of(path), R"("ok":true)")) << status_of(path);
  EXPECT_TRUE(is_socket(path));
  io_.stop();
  thread_.join();
  server.close();
  EXPECT_FALSE(std::filesystem::exists(path));
}

// Whatever else the path names stays as it was; the error names the path and what is there.
TEST_F(AdminServerTest, RefusesAPathThatIsNotASocket) {
  struct Case {
    const char* name;
    std::function<void(const std::string&)> make;
    const char* described;
  };
  const std::vector<Case> cases = {
      {"store", [](const std::string& p) { testing::write_text(p, "SQLite format 3"); },
       "a regular file"},
      {"dir", [](const std::string& p) { std::filesystem::create_directory(p); }, "a directory"},
      {"link",
       [this](const std::string& p) {
         testing::write_text(dir_.file("target"), "kept");
         std::filesystem::create_symlink(dir_.file("target"), p);
       },
       "a symbolic link"},
      {"fifo", [](const std::string& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0); }, "a FIFO"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto path = dir_.file(c.name);
    c.make(path);
    const auto type_before = std::filesystem::symlink_status(path).type();
    auto& server = make_server(path);
    Status opened = server.open();
    ASSERT_FALSE(opened);
    EXPECT_TRUE(contains(opened.error(), path)) << opened.error();
    EXPECT_TRUE(contains(opened.error(), c.described)) << opened.error();
    server.close();
    EXPECT_EQ(std::filesystem::symlink_status(path).type(), type_before);
  }
  EXPECT_EQ(testing::read_text(dir_.file("store")), "SQLite format 3");
  EXPECT_EQ(testing::read_text(dir_.file("target")), "kept");
}

TEST_F(AdminServerTest, RefusesASocketAnotherServerAnswersOn) {
  const auto path = dir_.file("vsd.sock");
  auto& running = make_server(path);
  ASSERT_TRUE(running.open());
  serve(running);
  auto& second = make_server(path);
  Status opened = second.open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error(), "admin socket " + path + " is in use by a running vsd");
  second.close();  // must not remove the running server's socket
  EXPECT_TRUE(contains(status_of(path), R"("ok":true)")) << status_of(path);
}

// A socket nobody listens on (left by a crash) is the one thing open() replaces.
TEST_F(AdminServerTest, ReplacesAStaleSocket) {
  const auto path = dir_.file("vsd.sock");
  {
    asio::local::stream_protocol::acceptor crashed(io_, LocalEndpoint(path));
  }  // closed without removing the file
  ASSERT_TRUE(is_socket(path));
  auto& server = make_server(path);
  Status opened = server.open();
  ASSERT_TRUE(opened) << opened.error();
  serve(server);
  EXPECT_TRUE(contains(status_of(path), R"("ok":true)")) << status_of(path);
}

// close() removes the socket it created, not a file put there since.
TEST_F(AdminServerTest, CloseLeavesAFileThatReplacedItsSocket) {
  const auto path = dir_.file("vsd.sock");
  auto& server = make_server(path);
  ASSERT_TRUE(server.open());
  ASSERT_EQ(::unlink(path.c_str()), 0);
  testing::write_text(path, "someone else's");
  server.close();
  EXPECT_EQ(testing::read_text(path), "someone else's");
}

// sun_path holds 107 bytes and a NUL: the server and the client both say so instead of
// throwing from the endpoint's constructor.
TEST_F(AdminServerTest, SocketPathLengthIsCheckedAgainstTheLimit) {
  const std::string base = dir_.path() + "/";
  ASSERT_LT(base.size(), kMaxSocketPathBytes);
  struct Case {
    std::size_t length;
    bool accepted;
  };
  for (const Case c :
       {Case{kMaxSocketPathBytes, true}, Case{kMaxSocketPathBytes + 1, false}, Case{200, false}}) {
    SCOPED_TRACE(c.length);
    const std::string path = base + std::string(c.length - base.size(), 's');
    auto& server = make_server(path);
    Status opened = server.open();
    EXPECT_EQ(opened.ok(), c.accepted) << (opened ? "" : opened.error());
    if (c.accepted) {
      server.close();
      continue;
    }
    auto reply = admin_request(path, {{"command", "status"}});
    const std::string limit = "at most " + std::to_string(kMaxSocketPathBytes);
    EXPECT_TRUE(contains(opened.error(), path) && contains(opened.error(), limit))
        << opened.error();
    ASSERT_FALSE(reply);
    EXPECT_TRUE(contains(reply.error(), path) && contains(reply.error(), limit)) << reply.error();
  }
  EXPECT_FALSE(check_socket_path(""));
}

// A client that connects and says nothing is dropped after the timeout; others are served
// meanwhile.
TEST_F(AdminServerTest, SilentClientIsDroppedAndOthersAreServed) {
  const auto path = dir_.file("vsd.sock");
  auto& server = make_server(path, milliseconds(200));
  ASSERT_TRUE(server.open());
  serve(server);
  asio::io_context client_io;
  LocalSocket silent(client_io);
  silent.connect(LocalEndpoint(path));
  EXPECT_TRUE(contains(status_of(path), R"("ok":true)")) << status_of(path);
  EXPECT_TRUE(closed_by_peer(silent, milliseconds(10000)));
  EXPECT_TRUE(contains(status_of(path), R"("ok":true)")) << status_of(path);
}

// A request line longer than the cap gets an error reply, not an ever-growing buffer.
TEST_F(AdminServerTest, OversizeRequestIsRefused) {
  const auto path = dir_.file("vsd.sock");
  auto& server = make_server(path);
  ASSERT_TRUE(server.open());
  serve(server);
  asio::io_context client_io;
  LocalSocket client(client_io);
  client.connect(LocalEndpoint(path));
  const std::string request(kMaxAdminRequestBytes * 2, 'x');
  boost::system::error_code ec;
  asio::write(client, asio::buffer(request), ec);
  std::string reply(256, '\0');
  const auto got = client.read_some(asio::buffer(reply), ec);
  reply.resize(got);
  EXPECT_TRUE(contains(reply, "at most 4096 bytes")) << reply;
}

// Sends one raw request line and returns the reply, parsed.
nlohmann::json raw_request(const std::string& path, const std::string& line) {
  asio::io_context client_io;
  LocalSocket client(client_io);
  client.connect(LocalEndpoint(path));
  asio::write(client, asio::buffer(line + "\n"));
  std::string reply;
  boost::system::error_code ec;
  std::array<char, 512> chunk{};
  while (reply.find('\n') == std::string::npos) {
    const auto got = client.read_some(asio::buffer(chunk), ec);
    if (ec) break;
    reply.append(chunk.data(), got);
  }
  return nlohmann::json::parse(reply, nullptr, false);
}

// Revoke requests the daemon refuses before asking for a revocation; each gets an error reply
// (a reply that quotes bytes that are not UTF-8 must still be sent, not thrown).
TEST_F(AdminServerTest, RevokeRequestsThatAreRefused) {
  const auto path = dir_.file("vsd.sock");
  auto& server = make_server(path);
  ASSERT_TRUE(server.open());
  serve(server);
  struct Case {
    std::string request;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"{\"command\":\"revoke\",\"session_id\":1,\"reason\":\"bad \xff byte\"}",
       "request is not JSON in UTF-8"},
      {"{\"command\":\"revoke\",\"session_id\":1,\"reason\":\"cut \xc3\"}",
       "request is not JSON in UTF-8"},
      {R"({"command":"revoke","session_id":1,"reason":"lone \udc00 surrogate"})",
       "request is not JSON in UTF-8"},
      {R"({"command":"revoke","session_id":1,"reason":""})", "the reason is empty"},
      {R"({"command":"revoke","session_id":1})", "unknown request"},
      {R"({"command":"revoke","session_id":-1,"reason":"r"})", "unknown request"},
      {R"({"command":"revoke","session_id":1,"reason":"r","quarantine":"yes"})",
       "\"quarantine\" must be true or false"},
      {"not json", "request is not JSON in UTF-8"},
      {R"({"command":"revoke","session_id":1e999,"reason":"r"})",
       "request holds a number out of range"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.request);
    auto reply = raw_request(path, c.request);
    ASSERT_TRUE(reply.is_object()) << reply;
    EXPECT_EQ(reply.value("ok", true), false);
    EXPECT_TRUE(contains(reply.value("error", ""), c.error)) << reply;
  }
  EXPECT_TRUE(revoked_.empty());
  auto reply = raw_request(path, R"({"command":"revoke","session_id":7,"reason":"caught"})");
  EXPECT_EQ(reply.value("ok", false), true) << reply;
  ASSERT_EQ(revoked_.size(), 1u);
  EXPECT_EQ(revoked_[0], std::make_pair(protocol::SessionId{7}, std::string("caught")));
  // Quarantine only when asked (PROTOCOL.md §8.16).
  reply = raw_request(path,
                      R"({"command":"revoke","session_id":8,"reason":"rogue","quarantine":true})");
  EXPECT_EQ(reply.value("ok", false), true) << reply;
  EXPECT_EQ(revoke_kinds_,
            (std::vector{OperatorRevocation::kRevoke, OperatorRevocation::kQuarantine}));
}

// Pardon requests (PROTOCOL.md §8.16) refused before the daemon is asked, each with an error that
// names what is wrong; then one that is passed on.
TEST_F(AdminServerTest, PardonRequestsThatAreRefused) {
  const auto path = dir_.file("vsd.sock");
  auto& server = make_server(path);
  ASSERT_TRUE(server.open());
  serve(server);
  const std::string key(64, 'a');
  struct Case {
    std::string request;
    std::string error;
  };
  const std::vector<Case> cases = {
      {R"({"command":"pardon","reason":"r"})", "names the GS identity"},
      {R"({"command":"pardon","gs_identity":7,"reason":"r"})", "names the GS identity"},
      {R"({"command":"pardon","gs_identity":"abc","reason":"r"})", "64 hex characters"},
      {R"({"command":"pardon","gs_identity":")" + key + R"("})", "the reason is empty"},
      {R"({"command":"pardon","gs_identity":")" + key + R"(","reason":" "})",
       "the reason is empty"},
      {R"({"command":"pardon","gs_identity":")" + key + R"(","reason":")" +
           std::string(protocol::kMaxPardonReasonBytes + 1, 'x') + R"("})",
       "at most 512"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.request);
    auto reply = raw_request(path, c.request);
    ASSERT_TRUE(reply.is_object()) << reply;
    EXPECT_EQ(reply.value("ok", true), false);
    EXPECT_TRUE(contains(reply.value("error", ""), c.error)) << reply;
  }
  EXPECT_TRUE(pardoned_.empty());
  auto reply = raw_request(
      path, R"({"command":"pardon","gs_identity":")" + key + R"(","reason":"reviewed"})");
  EXPECT_EQ(reply.value("ok", false), true) << reply;
  EXPECT_EQ(reply.value("pardon_position", 0), 42) << reply;
  ASSERT_EQ(pardoned_.size(), 1u);
  EXPECT_EQ(to_hex(pardoned_[0].first), key);
  EXPECT_EQ(pardoned_[0].second, "reviewed");
}

// `vsd reload`: what was applied, or why the whole reload was refused.
TEST_F(AdminServerTest, ReloadAnswersWhatWasAppliedOrWhyNot) {
  const auto path = dir_.file("vsd.sock");
  auto& server = make_server(path);
  ASSERT_TRUE(server.open());
  serve(server);
  auto applied = raw_request(path, R"({"command":"reload"})");
  EXPECT_EQ(applied.value("ok", false), true) << applied;
  EXPECT_EQ(applied.value("applied", ""), "policy #2 applied") << applied;
  refuse_reload_ = true;
  auto refused = raw_request(path, R"({"command":"reload"})");
  EXPECT_EQ(refused.value("ok", true), false) << refused;
  EXPECT_TRUE(contains(refused.value("error", ""), "'threads'")) << refused;
}

// The client refuses to send text that is not UTF-8 (JSON cannot carry it) instead of throwing.
TEST_F(AdminServerTest, ClientRefusesARequestThatIsNotUtf8) {
  auto reply = admin_request(dir_.file("vsd.sock"),
                             {{"command", "revoke"}, {"session_id", 1}, {"reason", "\xff"}});
  ASSERT_FALSE(reply);
  EXPECT_TRUE(contains(reply.error(), "not UTF-8")) << reply.error();
}

// ---- Against the real vsd -------------------------------------------------------------------

class VsdAdminSocket : public ::testing::Test {
 protected:
  void start() {
    vs_ = std::make_unique<testing::VsProcess>(
        dir_, std::vector<crypto::PublicKey>{identity_.public_key()}, std::vector<Hash32>{build_});
  }
  // Runs a program to its end; its exit code and output.
  std::pair<int, std::string> run(std::vector<std::string> argv) {
    ChildProcess child(std::move(argv), dir_.file("child-" + std::to_string(++children_) + ".out"));
    const int code = child.wait(std::chrono::seconds(30));
    return {code, child.output()};
  }
  // A second `vsd run` from the fixture's config with its own port and `store`.
  std::pair<int, std::string> run_vsd(const std::string& admin_socket, const std::string& store) {
    return run({testing::program("vsd"), "run", "--config", vs_->config_path(), "--listen",
                "127.0.0.1:" + std::to_string(testing::free_port()), "--store", store,
                "--admin_socket", admin_socket});
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("build"));
  std::unique_ptr<testing::VsProcess> vs_;
  int children_ = 0;
};

// An admin_socket set by mistake to the store used to delete the store at start.
TEST_F(VsdAdminSocket, AdminSocketNamingTheStoreIsRefusedAndTheStoreKept) {
  start();
  ASSERT_EQ(vs_->stop(), 0);
  const auto entries = vs_->entries().size();
  auto [code, output] = run_vsd(vs_->store_path(), vs_->store_path());
  EXPECT_EQ(code, 2) << output;
  EXPECT_TRUE(contains(output, "admin socket " + vs_->store_path() + " is a regular file"))
      << output;
  EXPECT_EQ(vs_->entries().size(), entries);
}

// The same configuration started twice: the second stops at the admin socket, before its
// recovery could revoke the first one's live session in the shared store.
TEST_F(VsdAdminSocket, SecondVsdOnTheSameConfigurationLeavesTheStoreAlone) {
  start();
  testing::ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  auto [code, output] = run({testing::program("vsd"), "run", "--config", vs_->config_path()});
  // 1, not 2: the same start passes once the first has stopped, and systemd starts it again.
  EXPECT_EQ(code, 1) << output;
  EXPECT_TRUE(contains(output, "This may pass without a change: exit code 1")) << output;
  // The store's writer lock refuses it first; the admin socket would refuse it next. Either way
  // it stops before recovery, so the running vsd's sessions are not revoked under it.
  EXPECT_TRUE(contains(output, "in use by another writer")) << output;
  for (const auto& entry : vs_->entries()) {
    EXPECT_NE(entry.header.kind, protocol::MessageKind::kRevocation) << "at " << entry.header.seq;
  }
}

// A GS port another process holds stops the start before the store is touched, as the admin
// socket and the metrics port do: no VsStart, and the session live at the last stop is left for
// the next start to recover. The port was bound after recovery, which had logged already.
TEST_F(VsdAdminSocket, AGsPortInUseStopsTheStartWithNothingLogged) {
  start();
  testing::ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  ASSERT_EQ(vs_->stop(), 0);
  const auto entries = vs_->entries().size();
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(
      io, {boost::asio::ip::make_address("127.0.0.1"), testing::free_port()});
  const std::string busy = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  auto [code, output] =
      run({testing::program("vsd"), "run", "--config", vs_->config_path(), "--listen", busy});
  EXPECT_EQ(code, 2) << output;
  EXPECT_TRUE(contains(output, "cannot listen on " + busy + ": Address already in use")) << output;
  EXPECT_EQ(vs_->entries().size(), entries);
}

TEST_F(VsdAdminSocket, SecondVsdOnTheSameAdminSocketIsRefused) {
  start();
  auto [code, output] = run_vsd(vs_->admin_socket(), dir_.file("second.db"));
  EXPECT_EQ(code, 2) << output;
  EXPECT_TRUE(
      contains(output, "admin socket " + vs_->admin_socket() + " is in use by a running vsd"))
      << output;
  auto [status_code, status_output] =
      run({testing::program("vsd"), "status", "--admin-socket", vs_->admin_socket()});
  EXPECT_EQ(status_code, 0) << status_output;
  EXPECT_EQ(vs_->stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(vs_->admin_socket())) << "removed at clean stop";
}

// A path longer than sun_path used to abort vsd (an uncaught exception); now every command that
// takes it says what is wrong.
TEST_F(VsdAdminSocket, TooLongAdminSocketPathIsAnErrorNotAnAbort) {
  start();
  const std::string path = dir_.path() + "/" + std::string(200, 's') + ".sock";
  const std::string message = "admin socket path " + path + " is " + std::to_string(path.size()) +
                              " bytes long; a Unix socket path holds at most 107";
  auto [code, output] = run_vsd(path, dir_.file("second.db"));
  EXPECT_EQ(code, 2) << output;
  EXPECT_TRUE(contains(output, message)) << output;
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"status"},
        std::vector<std::string>{"revoke", "--session", "1", "--reason", "test"}}) {
    std::vector<std::string> argv{testing::program("vsd")};
    argv.insert(argv.end(), command.begin(), command.end());
    argv.insert(argv.end(), {"--admin-socket", path});
    auto [cli_code, cli_output] = run(argv);
    EXPECT_EQ(cli_code, 1) << command[0] << ": " << cli_output;
    EXPECT_TRUE(contains(cli_output, message)) << command[0] << ": " << cli_output;
  }
}

// The operator's reason is cut to the detail limit on a character boundary: a cut inside a
// character made a notice the GS cannot decode.
TEST_F(VsdAdminSocket, LongOperatorReasonIsCutOnACharacterBoundary) {
  start();
  testing::ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  std::string reason = "x";  // "operator: x" is 11 bytes, so two-byte characters straddle 1024
  for (int i = 0; i < 600; ++i) reason += "\u00e9";
  auto [code, output] =
      run({testing::program("vsd"), "revoke", "--admin-socket", vs_->admin_socket(), "--session",
           std::to_string(gs.session_id()), "--reason", reason});
  EXPECT_EQ(code, 0) << output;
  auto revocation = gs.expect<protocol::Revocation>();
  ASSERT_TRUE(revocation.has_value()) << vs_->process().output();
  EXPECT_TRUE(protocol::verify(*revocation, vs_->public_key()));
  const std::string whole = "operator: " + reason;
  EXPECT_EQ(revocation->detail, whole.substr(0, protocol::kMaxDetailBytes - 1));
}

TEST_F(VsdAdminSocket, ReasonThatIsNotUtf8IsRefusedByTheCli) {
  start();
  auto [code, output] = run({testing::program("vsd"), "revoke", "--admin-socket",
                             vs_->admin_socket(), "--session", "1", "--reason", "\xff"});
  EXPECT_EQ(code, 2) << output;  // a usage error, refused before anything is sent
  EXPECT_TRUE(contains(output, "not valid UTF-8")) << output;
}

// At the descriptor limit accept() fails until connections close. vsd used to retry at once,
// at full CPU with a log line per attempt (53 MB in 4 s), and the admin socket stopped accepting
// for good; now both listeners wait, log the shortage once, and accept again when it ends.
TEST_F(VsdAdminSocket, AtTheDescriptorLimitAcceptingPausesAndResumes) {
  constexpr std::ptrdiff_t kDescriptorLimit = 64;
  testing::VsOptions options;
  options.max_open_files = kDescriptorLimit;
  options.extra = "handshake_timeout_ms = 600000\n";  // held connections stay until closed
  vs_ = std::make_unique<testing::VsProcess>(dir_,
                                             std::vector<crypto::PublicKey>{identity_.public_key()},
                                             std::vector<Hash32>{build_}, options);
  // Sanitizer builds check an object's dynamic type through a pipe the first time they meet
  // that type; at the descriptor limit the pipe fails and the check reports a false error (and
  // stops vsd). So a GS connection that closes and an admin exchange go through vsd once before
  // the limit is reached.
  { testing::FrameSocket warm_up(vs_->port()); }
  ASSERT_TRUE(vs_->process().wait_for_output("closed by peer", std::chrono::seconds(20)));
  asio::io_context client_io;
  const auto status_reply = [&] {
    LocalSocket admin(client_io);
    admin.connect(LocalEndpoint(vs_->admin_socket()));
    asio::write(admin, asio::buffer(std::string(R"({"command":"status"})") + "\n"));
    return admin;
  };
  {
    LocalSocket warm_admin = status_reply();
    ASSERT_TRUE(closed_by_peer(warm_admin, milliseconds(20000)));
  }
  const auto open_descriptors = [pid = vs_->process().pid()] {
    const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
    return std::distance(std::filesystem::directory_iterator(fds),
                         std::filesystem::directory_iterator());
  };
  const std::ptrdiff_t before_the_flood = open_descriptors();
  ASSERT_LE(before_the_flood, kDescriptorLimit / 2) << "vsd starts with too many descriptors";
  std::vector<std::unique_ptr<testing::FrameSocket>> held;
  for (int i = 0; i < 100; ++i) held.push_back(std::make_unique<testing::FrameSocket>(vs_->port()));
  ASSERT_TRUE(
      vs_->process().wait_for_output("GS listener: cannot accept connections: Too many "
                                     "open files",
                                     std::chrono::seconds(20)))
      << vs_->process().output();
  // Queued behind the shortage like the GS connections, and answered once it ends. (From this
  // process: a child would inherit the held connections and keep them open.)
  LocalSocket admin = status_reply();
  ASSERT_TRUE(vs_->process().wait_for_output(
      "admin socket " + vs_->admin_socket() + ": cannot accept connections",
      std::chrono::seconds(20)))
      << vs_->process().output();
  held.clear();
  pollfd readable{admin.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&readable, 1, 20000), 1) << "no status reply";
  std::string reply(4096, '\0');
  boost::system::error_code read_error;
  reply.resize(admin.read_some(asio::buffer(reply), read_error));
  ASSERT_FALSE(read_error) << read_error.message() << "\n" << vs_->process().output();
  EXPECT_TRUE(contains(reply, R"("ok":true)")) << reply;
  EXPECT_TRUE(vs_->process().wait_for_output("GS listener: accepting connections again",
                                             std::chrono::seconds(20)))
      << vs_->process().output();
  // The join meets types the warm-up did not, so it waits until vsd has closed the connections
  // it was holding and has descriptors to spare. (A few over the count before the flood: the
  // store may hold a reader open by then.)
  constexpr std::ptrdiff_t kSlack = 4;
  const auto drained_by = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (open_descriptors() > before_the_flood + kSlack &&
         std::chrono::steady_clock::now() < drained_by) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_LE(open_descriptors(), before_the_flood + kSlack) << vs_->process().output();
  testing::ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  ASSERT_EQ(vs_->stop(), 0);
  // A line when a shortage starts and one when it ends, not one per attempt: as connections
  // close and queued ones take their place, a listener may run short more than once.
  const std::string output = vs_->process().output();
  const auto count = [&output](const std::string& text) {
    std::size_t n = 0;
    for (auto at = output.find(text); at != std::string::npos; at = output.find(text, at + 1)) ++n;
    return n;
  };
  const std::size_t shortages = count("cannot accept connections: Too many open files");
  EXPECT_GE(shortages, 2u);
  EXPECT_LE(shortages, count("accepting connections again") + 2) << output.substr(0, 4000);
}

}  // namespace
}  // namespace gsvs::vsd
