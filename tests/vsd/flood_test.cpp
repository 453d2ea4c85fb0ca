// A flood of connections that never authenticate against a real vsd (PROTOCOL.md §8.14): idle
// sockets, junk after the challenge, from one address and from another, while a real gsd joins.
// The GS gets in; nothing of the flood reaches the store or is signed; the VS's log lines about
// it are a summary a second, not a line per connection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "protocol/keyfile.h"
#include "tests/support/frame_socket.h"
#include "tests/support/gsd_fixture.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

// A TCP connection to 127.0.0.1:port from `source` (any address of 127.0.0.0/8), left idle; owns
// the descriptor. Invalid when the connection could not be made.
class IdleConnection {
 public:
  IdleConnection(const char* source, std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0 ||
        ::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
      // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~IdleConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  IdleConnection(IdleConnection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  IdleConnection& operator=(IdleConnection&&) = delete;
  IdleConnection(const IdleConnection&) = delete;
  IdleConnection& operator=(const IdleConnection&) = delete;
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens connections from `source` without end, holding the newest `held`, until stopped.
class Flood {
 public:
  Flood(const char* source, std::uint16_t port, std::size_t held)
      : thread_([this, source, port, held] {
          std::deque<IdleConnection> open;
          while (!stop_) {
            open.emplace_back(source, port);
            if (open.back().valid()) ++opened_;
            if (open.size() > held) open.pop_front();
          }
        }) {}
  ~Flood() { stop(); }
  Flood(const Flood&) = delete;
  Flood& operator=(const Flood&) = delete;
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] std::size_t opened() const { return opened_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> opened_{0};
  std::thread thread_;
};

// The measurement, turned around: 300 idle connections with max_connections = 300 used
// to refuse every other connection, the GS's included, with a warning line each.
TEST(VsdFlood, AGsJoinsWhileStrangersFloodThePort) {
  TempDir dir;
  const auto identity = crypto::SecretKey::generate();
  const std::string key_path = dir.file("gs.key");
  ASSERT_TRUE(keyfile::write_key_pair(key_path, identity).ok());
  VsOptions options;
  options.extra =
      "max_connections = 300\nmax_unauthenticated = 64\nmax_unauthenticated_per_source = 16\n";
  VsProcess vs(dir, {identity.public_key()}, {sha256_of_file(program("gsd"))}, options);
  const auto started = std::chrono::steady_clock::now();

  // From the GS's own address: 300 idle connections, then junk after the challenge (a
  // Heartbeat, another protocol version, bytes that decode as nothing).
  std::vector<IdleConnection> idle;
  for (int i = 0; i < 300; ++i) idle.emplace_back("127.0.0.1", vs.port());
  std::vector<std::unique_ptr<FrameSocket>> junk;
  const std::vector<Bytes> junk_frames{encode(Heartbeat{}), Bytes{2, 2, 0, 0},
                                       Bytes{0xde, 0xad, 0xbe, 0xef}};
  for (std::size_t i = 0; i < 30; ++i) {
    junk.push_back(std::make_unique<FrameSocket>(vs.port()));
    junk.back()->send_frame(junk_frames[i % junk_frames.size()]);
  }
  // From another address, for as long as the GS takes to join: connections without end, more
  // held at any time than max_connections.
  Flood flood("127.0.0.2", vs.port(), 400);

  GsdOptions gs;
  gs.wait_until_listening = false;
  GsdProcess gsd(dir, vs, key_path, gs);
  EXPECT_TRUE(gsd.process().wait_for_output("listening for clients on", std::chrono::seconds(30)))
      << gsd.process().output() << vs.process().output();
  flood.stop();
  EXPECT_GT(flood.opened(), 0u);
  EXPECT_EQ(gsd.stop(), 0) << gsd.process().output();
  EXPECT_EQ(vs.stop(), 0) << vs.process().output();
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();

  // Nothing of the flood is in the store, and the VS signed nothing for it: the GS's request
  // and its JoinAccept, its session, and no JoinReject.
  const auto entries = vs.entries();
  std::size_t requests = 0;
  std::size_t rejects = 0;
  for (const auto& e : entries) {
    requests += e.header.kind == MessageKind::kJoinRequest ? 1 : 0;
    rejects += e.header.kind == MessageKind::kJoinReject ? 1 : 0;
  }
  EXPECT_EQ(requests, 1u);
  EXPECT_EQ(rejects, 0u);
  std::string audit;
  EXPECT_EQ(vs.audit_verify(audit), 0) << audit;

  // Hundreds of refusals, a few lines: the first of each second in full, then a summary.
  const std::string out = vs.process().output();
  const std::size_t lines =
      count_of(out, "turned away") + count_of(out, "closed before authenticating");
  EXPECT_GE(count_of(out, "closed before authenticating"), 1u) << out;
  EXPECT_LE(lines, 2 * static_cast<std::size_t>(seconds + 2)) << out;
  // Authenticated connections count apart: the flood never fills max_connections.
  EXPECT_EQ(count_of(out, "max_connections ("), 0u) << out;
}

// Refusals in the second before a stop are summarised by the stop, not lost with the timer that
// would have reported them: vsd stops here well within a second of its start.
TEST(VsdFlood, TheLastSecondsRefusalsAreSummarisedAtStop) {
  TempDir dir;
  VsOptions options;
  options.extra = "max_unauthenticated_per_source = 2\n";
  VsProcess vs(dir, {crypto::SecretKey::generate().public_key()}, {Hash32{}}, options);
  // Each connection is accepted once its challenge arrives; all but the last two are displaced.
  std::vector<std::unique_ptr<FrameSocket>> connections;
  for (int i = 0; i < 6; ++i) {
    connections.push_back(std::make_unique<FrameSocket>(vs.port()));
    ASSERT_TRUE(connections.back()->read_frame().has_value()) << vs.process().output();
  }
  EXPECT_EQ(vs.stop(), 0) << vs.process().output();
  const std::string out = vs.process().output();
  EXPECT_EQ(count_of(out, "connections closed before authenticating"), 1u) << out;
  EXPECT_EQ(count_of(out, "4 displaced by newer ones"), 1u) << out;
}

// `count` GS identities the VS allows, all of one build.
struct GsIdentities {
  explicit GsIdentities(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      keys.push_back(crypto::SecretKey::generate());
      allowed.push_back(keys.back().public_key());
    }
  }
  std::vector<crypto::SecretKey> keys;
  std::vector<crypto::PublicKey> allowed;
  Hash32 build = crypto::sha256(as_bytes("honest build 1.0"));
};

// After a VS restart every GS comes back at once: joins beyond max_joins_per_second wait their
// turn instead of failing, and every GS joins.
TEST(VsdJoinPace, JoinsBeyondThePaceWaitTheirTurn) {
  constexpr std::size_t kGses = 12;
  constexpr std::uint32_t kPerSecond = 5;
  TempDir dir;
  const GsIdentities gs(kGses);
  VsOptions options;
  options.extra = "max_joins_per_second = " + std::to_string(kPerSecond) + "\n";
  VsProcess vs(dir, gs.allowed, {gs.build}, options);
  std::vector<std::unique_ptr<ScriptedGs>> gses(kGses);
  std::vector<std::thread> joiners;
  for (std::size_t i = 0; i < kGses; ++i) {
    joiners.emplace_back([&, i] {
      gses[i] = std::make_unique<ScriptedGs>(vs.port(), gs.keys[i], gs.build);
      gses[i]->join();
    });
  }
  for (auto& joiner : joiners) joiner.join();
  EXPECT_EQ(vs.stop(), 0) << vs.process().output();
  std::vector<std::uint64_t> accepted_at;
  for (const auto& e : vs.entries()) {
    if (e.header.kind == MessageKind::kJoinAccept) accepted_at.push_back(e.header.vs_time_ms);
  }
  ASSERT_EQ(accepted_at.size(), kGses) << vs.process().output();
  // A second's worth at once, then one per 1/kPerSecond s: the last is decided at least seven
  // intervals (1400 ms) after the first arrived; 200 ms spare for the first's own decision.
  const auto [first, last] = std::minmax_element(accepted_at.begin(), accepted_at.end());
  EXPECT_GE(*last - *first, (kGses - kPerSecond) * 1000 / kPerSecond - 200);
}

// Joins whose turn is too far off are closed unanswered (their GSes retry), and a storm of them
// writes a line for the first of each second and one count a second, not a line each.
TEST(VsdJoinPace, JoinsClosedForThePaceAreCountedNotLoggedEach) {
  constexpr std::size_t kGses = 30;
  TempDir dir;
  const GsIdentities gs(kGses);
  VsOptions options;
  // One join a second, and a join may wait 200 ms: of joins arriving together, one goes ahead.
  options.extra = "max_joins_per_second = 1\nhandshake_timeout_ms = 400\n";
  VsProcess vs(dir, gs.allowed, {gs.build}, options);
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<ScriptedGs>> gses;
  for (std::size_t i = 0; i < kGses; ++i) {
    gses.push_back(std::make_unique<ScriptedGs>(vs.port(), gs.keys[i], gs.build));
    gses.back()->send_join(gses.back()->make_join_request());
  }
  std::size_t closed = 0;
  for (auto& scripted : gses)
    closed += scripted->socket().wait_closed(std::chrono::seconds(3)) ? 1U : 0U;
  EXPECT_GE(closed, kGses - 2);  // one admitted; a second if the first took a second to decide
  // The summary of the second in which they were closed.
  EXPECT_TRUE(vs.process().wait_for_output("joins closed unanswered in the last second",
                                           std::chrono::seconds(5)))
      << vs.process().output();
  EXPECT_EQ(vs.stop(), 0) << vs.process().output();
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  const std::string out = vs.process().output();
  EXPECT_LE(count_of(out, "closed unanswered: more joins are waiting"),
            static_cast<std::size_t>(seconds + 1))
      << out;
}

}  // namespace
}  // namespace gsvs::testing
