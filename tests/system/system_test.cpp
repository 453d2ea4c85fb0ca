// The whole system as real processes on 127.0.0.1: vsd, gsd or gsd-rogue, and `client` bots.
// Each test reads the clients' exit codes and JSON events and the VS store.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "protocol/keyfile.h"
#include "protocol/messages.h"
#include "tests/support/frame_relay.h"
#include "tests/support/gsd_fixture.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Tickets every 100 ms, valid 800 ms. The liveness condition of docs/PROTOCOL.md §9.5,
// V >= P + I + b + 4l (I = P/2 client nonces, b <= P/4 GS batching), then leaves about 600 ms for
// scheduling stalls. That margin is needed: with V = 400 (200 ms of margin) honest clients
// occasionally starved when two of these tests ran at once under ASan on two cores.
constexpr std::uint32_t kPeriodMs = 100;
constexpr std::int64_t kValidityMs = 800;
constexpr std::int64_t kSkewMs = 500;  // client default

// One `client` process with its own key and event file.
class ClientRun {
 public:
  // `vs_pubkey`: the client's --vs-pubkey (one key in hex, or a fleet's set).
  ClientRun(const TempDir& dir, const std::string& name, std::uint16_t gs_port,
            const std::string& vs_pubkey, const std::vector<std::string>& extra,
            const std::string& key_path = "")
      : events_path_(dir.file(name + ".events")),
        key_path_(key_path.empty() ? dir.file(name + ".key") : key_path) {
    if (key_path.empty()) {
      auto key = crypto::SecretKey::generate();
      public_key_ = key.public_key();
      if (!keyfile::write_key_pair(key_path_, key)) throw std::runtime_error("client key");
    } else {
      public_key_ = keyfile::read_secret_key(key_path_)->public_key();
    }
    std::vector<std::string> argv{
        program("client"), "run",        "--gs",        "127.0.0.1:" + std::to_string(gs_port),
        "--vs-pubkey",     vs_pubkey,    "--key",       key_path_,
        "--events",        events_path_, "--log-level", "debug"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ChildProcess>(argv, dir.file(name + ".out"));
  }

  [[nodiscard]] std::vector<json> events() const {
    std::vector<json> out;
    std::istringstream in(read_text(events_path_));
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) out.push_back(j);
    }
    return out;
  }
  [[nodiscard]] std::vector<json> events(const std::string& kind) const {
    std::vector<json> out;
    for (auto& e : events()) {
      if (e["event"] == kind) out.push_back(e);
    }
    return out;
  }
  bool wait_for(const std::string& kind, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!events(kind).empty()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }
  [[nodiscard]] json disconnected() const {
    auto all = events("disconnected");
    return all.empty() ? json() : all.back();
  }
  int wait(milliseconds timeout) { return process_->wait(timeout); }
  [[nodiscard]] std::string output() const { return process_->output(); }
  [[nodiscard]] const crypto::PublicKey& public_key() const { return public_key_; }
  [[nodiscard]] const std::string& key_path() const { return key_path_; }

 private:
  std::string events_path_;
  std::string key_path_;
  crypto::PublicKey public_key_;
  std::unique_ptr<ChildProcess> process_;
};

class System : public ::testing::Test {
 protected:
  void SetUp() override {
    identity_path_ = dir_.file("gs.key");
    ASSERT_TRUE(keyfile::write_key_pair(identity_path_, identity_));
  }

  void start(const std::string& gs_program = "gsd", std::vector<std::string> rogue_flags = {}) {
    VsOptions vs_options;
    vs_options.ticket_period_ms = kPeriodMs;
    vs_options.ticket_validity_ms = static_cast<std::uint32_t>(kValidityMs);
    // A GS stalled by a loaded machine must not be revoked for missed heartbeats mid-test.
    vs_options.heartbeat_timeout_ms = 2000;
    const std::vector<Hash32> builds{sha256_of_file(program("gsd")),
                                     sha256_of_file(program("gsd-rogue"))};
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                      builds, vs_options);
    GsdOptions gs_options;
    gs_options.program = gs_program;
    gs_options.extra_args = std::move(rogue_flags);
    gs_options.input_grace_ms = 500;
    gs_options.digest_interval_ms = 200;
    gs_ = std::make_unique<GsdProcess>(dir_, *vs_, identity_path_, gs_options);
  }

  // `count` bots; each with the given extra arguments.
  void start_clients(int count, const std::vector<std::string>& extra) {
    for (int i = 0; i < count; ++i) {
      const std::string name = "client" + std::to_string(clients_.size());
      clients_.push_back(std::make_unique<ClientRun>(dir_, name, gs_->port(), vs_pubkey(), extra));
    }
  }
  void wait_all_connected() {
    for (auto& c : clients_) {
      ASSERT_TRUE(c->wait_for("ticket_accepted", seconds(10))) << c->output();
    }
  }
  SessionId session_of(const ClientRun& c) const {
    auto connected = c.events("connected");
    return connected.empty() ? 0 : connected.front()["session"].get<SessionId>();
  }

  void revoke(SessionId session, const std::string& reason) {
    ChildProcess revoke({program("vsd"), "revoke", "--admin-socket", vs_->admin_socket(),
                         "--session", std::to_string(session), "--reason", reason},
                        dir_.file("revoke.out"));
    ASSERT_EQ(revoke.wait(seconds(10)), 0) << revoke.output();
  }

  // The Revocation of `session` in the VS store (nullopt if none) and its log position.
  std::optional<std::pair<Revocation, std::uint64_t>> stored_revocation(SessionId session) const {
    for (const auto& e : vs_->entries()) {
      if (e.header.kind != MessageKind::kRevocation) continue;
      auto r = decode<Revocation>(e.message);
      if (r && r->session_id == session) return std::make_pair(*r, e.header.seq);
    }
    return std::nullopt;
  }

  // Whether vs_'s store holds `count` receipts within 10 s (the players have walked a while).
  bool wait_for_receipts(std::size_t count) const {
    auto receipts = [&] {
      std::size_t n = 0;
      for (const auto& e : vs_->entries()) n += e.header.kind == MessageKind::kProtectedReceipt;
      return n;
    };
    const auto until = std::chrono::steady_clock::now() + seconds(10);
    while (receipts() < count && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(50));  // polls the store
    }
    return receipts() >= count;
  }
  // What the clients and the GS's audit trust: the VS's key, or a fleet's key set.
  [[nodiscard]] std::string vs_pubkey() const {
    return fleet_keys_.empty() ? to_hex(vs_->public_key()) : fleet_keys_;
  }
  // `audit-cli verify --role gs` on the GS's own store (stopped first).
  void expect_gs_store_verifies() {
    ChildProcess gs_audit({program("audit-cli"), "verify", gs_->store_path(), "--role", "gs",
                           "--vs-pubkey", vs_pubkey(), "--no-progress"},
                          dir_.file("gs-audit.out"));
    EXPECT_EQ(gs_audit.wait(seconds(60)), 0) << gs_audit.output();
  }

  // Two bots playing for 6 s on a gsd that reaches its VS through relay_, for the network cut
  // tests (PROTOCOL.md §8.15); the session they play in.
  SessionId start_match_through_relay(const VsOptions& vs_options) {
    const std::vector<Hash32> builds{sha256_of_file(program("gsd"))};
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                      builds, vs_options);
    relay_ = std::make_unique<FrameRelay>(vs_->port());
    GsdOptions gs_options;
    gs_options.input_grace_ms = 500;
    gs_options.digest_interval_ms = 200;
    gs_options.vs_ports = {relay_->port()};
    gs_ = std::make_unique<GsdProcess>(dir_, *vs_, identity_path_, gs_options);
    start_clients(2, {"--bot", "--speed-m-s", "5", "--duration-s", "6"});
    wait_all_connected();
    return session_of(*clients_.front());
  }

  // After a cut: every client played its whole duration in `session`; the VS did not restart,
  // refused and revoked nothing and resumed the session once; both stores verify.
  void expect_match_survived_cut(SessionId session) {
    for (auto& c : clients_) {
      EXPECT_EQ(c->wait(seconds(30)), 0) << diagnostics();
      EXPECT_EQ(c->disconnected()["reason"], "duration_reached") << c->output();
      EXPECT_EQ(session_of(*c), session);
    }
    ASSERT_EQ(vs_->stop(), 0) << diagnostics();
    std::size_t resumes = 0;
    std::size_t starts = 0;
    for (const auto& e : vs_->entries()) {
      EXPECT_NE(e.header.kind, MessageKind::kRevocation) << "at " << e.header.seq;
      EXPECT_NE(e.header.kind, MessageKind::kJoinReject) << "at " << e.header.seq;
      resumes += e.header.kind == MessageKind::kResumeAccept ? 1 : 0;
      starts += e.header.kind == MessageKind::kVsStart ? 1 : 0;
    }
    EXPECT_EQ(resumes, 1U);
    EXPECT_EQ(starts, 1U) << "the VS restarted";
    std::string audit;
    EXPECT_EQ(vs_->audit_verify(audit), 0) << audit;
    ASSERT_EQ(gs_->stop(), 0) << diagnostics();
    expect_gs_store_verifies();
  }

  std::string diagnostics() const {
    std::string out = "--- vsd\n" + vs_->process().output() + "--- gs\n" + gs_->process().output();
    for (const auto& c : clients_) out += "--- client\n" + c->output();
    return out;
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  std::string identity_path_;
  std::unique_ptr<VsProcess> vs_;
  std::unique_ptr<GsdProcess> gs_;
  std::vector<std::unique_ptr<ClientRun>> clients_;
  std::unique_ptr<FrameRelay> relay_;  // between gsd and vsd in the network cut tests
  std::string fleet_keys_;             // a fleet's key set, comma-separated (the fleet test)
};

TEST_F(System, BotsPlayUntilTheirDurationWithEveryInputAccepted) {
  start();
  start_clients(3, {"--bot", "--speed-m-s", "5", "--duration-s", "3"});
  for (auto& c : clients_) EXPECT_EQ(c->wait(seconds(15)), 0) << diagnostics();

  for (auto& c : clients_) {
    EXPECT_TRUE(c->events("input_rejected").empty()) << c->events("input_rejected").front();
    const auto tickets = c->events("ticket_accepted");
    int proven = 0;
    for (const auto& t : tickets) proven += t["proven"].get<bool>() ? 1 : 0;
    EXPECT_GE(proven, 8) << "of " << tickets.size() << " tickets";
    EXPECT_EQ(c->disconnected()["reason"], "duration_reached");
    EXPECT_EQ(c->disconnected()["exit_code"], 0);
  }
  // The VS notarized all three players moving, and revoked nothing.
  const SessionId session = session_of(*clients_.front());
  std::set<crypto::PublicKey> seen;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind == MessageKind::kRevocation) ADD_FAILURE() << "unexpected revocation";
    if (e.header.kind != MessageKind::kTranscriptDigest || e.header.session_id != session) continue;
    auto digest = decode<TranscriptDigest>(e.message);
    ASSERT_TRUE(digest.ok());
    for (const auto& p : digest->players) seen.insert(p.player);
  }
  for (auto& c : clients_) EXPECT_TRUE(seen.contains(c->public_key()));
}

TEST_F(System, OperatorRevocationDisconnectsEveryClient) {
  start();
  start_clients(3, {"--bot"});
  wait_all_connected();
  const SessionId session = session_of(*clients_.front());
  for (const auto& c : clients_) ASSERT_EQ(session_of(*c), session);
  revoke(session, "system test");

  for (auto& c : clients_) EXPECT_EQ(c->wait(seconds(5)), 3) << diagnostics();
  auto stored = stored_revocation(session);
  ASSERT_TRUE(stored);
  for (auto& c : clients_) {
    const json d = c->disconnected();
    EXPECT_EQ(d["reason"], "revoked");
    EXPECT_EQ(d["revocation_reason"], "operator");
    EXPECT_EQ(d["revocation_detail"], "operator: system test");
    EXPECT_EQ(d["revocation_vs_time_ms"], stored->first.vs_time_ms);
    // An honest GS forwards the notice at once (bench/ripple.sh measures it; here the bound only
    // has to leave room for sanitizer builds sharing the cores).
    const std::int64_t ripple =
        d["t_ms"].get<std::int64_t>() - d["revocation_vs_time_ms"].get<std::int64_t>();
    EXPECT_LT(ripple, 500) << d;
    EXPECT_GE(ripple, 0) << d;
  }
}

TEST_F(System, SuppressingRogueStillLosesEveryClientWithinTheRippleBound) {
  start("gsd-rogue", {"--suppress"});
  start_clients(3, {"--bot"});
  wait_all_connected();
  const SessionId session = session_of(*clients_.front());
  revoke(session, "suppression test");

  for (auto& c : clients_) EXPECT_EQ(c->wait(seconds(5)), 4) << diagnostics();
  auto stored = stored_revocation(session);
  ASSERT_TRUE(stored);
  const auto revoked_at = static_cast<std::int64_t>(stored->first.vs_time_ms);
  for (auto& c : clients_) {
    const json d = c->disconnected();
    EXPECT_EQ(d["reason"], "ticket_starvation");
    EXPECT_FALSE(d.contains("revocation_reason"));  // the GS hid the notice
    const std::int64_t ripple = d["t_ms"].get<std::int64_t>() - revoked_at;
    EXPECT_LE(ripple, kValidityMs + kSkewMs) << d;
    EXPECT_GE(ripple, 0) << d;
  }
  EXPECT_TRUE(gs_->process().running());  // still serving: the clients left on their own
}

TEST_F(System, HoardedTicketsAreCaughtByTheNonceBinding) {
  start("gsd-rogue", {"--hoard"});
  start_clients(3, {"--bot", "--duration-s", "4"});
  for (auto& c : clients_) EXPECT_EQ(c->wait(seconds(10)), 4) << diagnostics();
  for (auto& c : clients_) {
    // The late tickets earn no credit: only the first ticket (bootstrap) ever moved a deadline.
    for (const auto& t : c->events("ticket_accepted")) EXPECT_NE(t["credit"], "nonce") << t;
    EXPECT_EQ(c->disconnected()["reason"], "ticket_starvation");
  }
}

TEST_F(System, WithheldNoncesMeanNoProofsAndStarvation) {
  start("gsd-rogue", {"--withhold-nonces"});
  start_clients(2, {"--duration-s", "4"});
  for (auto& c : clients_) EXPECT_EQ(c->wait(seconds(10)), 4) << diagnostics();
  for (auto& c : clients_) {
    for (const auto& t : c->events("ticket_accepted")) EXPECT_FALSE(t["proven"].get<bool>()) << t;
    // Starved one validity after the bootstrap ticket.
    EXPECT_LE(c->disconnected()["ms_since_last_valid_ticket"].get<std::int64_t>(), kValidityMs);
  }
}

TEST_F(System, SpeedingRogueIsRevokedWithEvidence) {
  start("gsd-rogue", {"--speed", "--turn-rogue-after-ms", "1500"});
  start_clients(3, {"--bot"});
  wait_all_connected();
  const SessionId session = session_of(*clients_.front());
  for (const auto& c : clients_) ASSERT_EQ(session_of(*c), session);

  for (auto& c : clients_) EXPECT_EQ(c->wait(seconds(10)), 3) << diagnostics();
  for (auto& c : clients_) EXPECT_EQ(c->disconnected()["revocation_reason"], "speed_violation");

  auto stored = stored_revocation(session);
  ASSERT_TRUE(stored);
  const Revocation& r = stored->first;
  EXPECT_EQ(r.reason, static_cast<std::uint16_t>(RevocationReason::kSpeedViolation));
  ASSERT_EQ(r.evidence.size(), 2u) << r.detail;
  // The evidence names the two digests of this session the offending step lies between.
  const auto entries = vs_->entries();
  for (auto seq : r.evidence) {
    ASSERT_LT(seq, entries.size());
    EXPECT_EQ(entries[seq].header.kind, MessageKind::kTranscriptDigest);
    EXPECT_EQ(entries[seq].header.session_id, session);
    EXPECT_LT(seq, stored->second);
  }
  EXPECT_LT(r.evidence[0], r.evidence[1]);
  // The rogue host tries to join again and is kept out (PROTOCOL.md §8.16); earlier versions let
  // it back in as a new session.
  ASSERT_TRUE(gs_->wait_for_count("join rejected by the VS: quarantined", 1, seconds(15)))
      << diagnostics();
  std::size_t accepts = 0;
  for (const auto& e : vs_->entries()) accepts += e.header.kind == MessageKind::kJoinAccept;
  EXPECT_EQ(accepts, 1U) << diagnostics();
}

TEST_F(System, CheatingClientIsCappedByAnHonestGs) {
  start();
  start_clients(1, {"--bot", "--cheat", "--duration-s", "3"});
  start_clients(1, {"--bot", "--duration-s", "3"});
  for (auto& c : clients_) EXPECT_EQ(c->wait(seconds(15)), 0) << diagnostics();
  // The GS capped the cheater's moves, so the VS saw nothing to revoke.
  const SessionId session = session_of(*clients_.front());
  EXPECT_FALSE(stored_revocation(session));
  // Between consecutive digests the cheater moved no faster than the limit (7 m/s) allows.
  std::optional<PlayerPosition> previous;
  std::uint64_t previous_time = 0;
  int steps = 0;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind != MessageKind::kTranscriptDigest || e.header.session_id != session) continue;
    auto digest = decode<TranscriptDigest>(e.message);
    ASSERT_TRUE(digest.ok());
    for (const auto& p : digest->players) {
      if (p.player != clients_.front()->public_key()) continue;
      if (previous && digest->gs_time_ms > previous_time) {
        const double d = std::hypot(static_cast<double>(p.x_mm) - previous->x_mm,
                                    static_cast<double>(p.y_mm) - previous->y_mm);
        const double allowed =
            7000.0 * 1.1 * static_cast<double>(digest->gs_time_ms - previous_time) / 1000.0;
        EXPECT_LE(d, allowed + 1.0) << "step " << steps;
        ++steps;
      }
      previous = p;
      previous_time = digest->gs_time_ms;
    }
  }
  EXPECT_GE(steps, 5);
}

TEST_F(System, ReturningPlayerContinuesItsInputSequence) {
  start();
  auto first = std::make_unique<ClientRun>(dir_, "first", gs_->port(), vs_pubkey(),
                                           std::vector<std::string>{"--bot", "--duration-s", "1"});
  EXPECT_EQ(first->wait(seconds(10)), 0) << first->output();
  // Same key, same session: the GS remembers its last client_seq.
  ClientRun again(dir_, "again", gs_->port(), vs_pubkey(), {"--bot", "--duration-s", "1"},
                  first->key_path());
  EXPECT_EQ(again.wait(seconds(10)), 0) << again.output();
  EXPECT_EQ(session_of(again), session_of(*first));
  EXPECT_TRUE(again.events("input_rejected").empty());
}

// A VS restart mid-match (PROTOCOL.md §8.15): vsd stops (SIGTERM) and a new vsd starts on the
// same store, key and port while two bots play. gsd keeps its players, resumes its session, and
// no player notices: the tickets chain on, every bot plays its whole duration, nothing is
// revoked, and the audit accepts the store, having judged each player's step across the gap from
// its last notarized position over the VS-observed time.
TEST_F(System, AVsRestartMidMatchDropsNoPlayer) {
  VsOptions vs_options;
  vs_options.ticket_period_ms = kPeriodMs;
  // The players' credit must outlast the restart: a stop, a start under the sanitizers, and the
  // GS's reconnection backoff.
  vs_options.ticket_validity_ms = 8000;
  vs_options.heartbeat_timeout_ms = 2000;
  const std::vector<Hash32> builds{sha256_of_file(program("gsd"))};
  const std::vector<crypto::PublicKey> allowed{identity_.public_key()};
  vs_ = std::make_unique<VsProcess>(dir_, allowed, builds, vs_options);
  GsdOptions gs_options;
  gs_options.input_grace_ms = 500;
  gs_options.digest_interval_ms = 200;
  gs_ = std::make_unique<GsdProcess>(dir_, *vs_, identity_path_, gs_options);
  start_clients(2, {"--bot", "--speed-m-s", "5", "--duration-s", "6"});
  wait_all_connected();
  const SessionId session = session_of(*clients_.front());
  // Restart once the players have walked under a few receipts.
  ASSERT_TRUE(wait_for_receipts(4)) << diagnostics();
  vs_options.port = vs_->port();
  ASSERT_EQ(vs_->stop(), 0) << diagnostics();
  vs_ = std::make_unique<VsProcess>(dir_, allowed, builds, vs_options);
  ASSERT_TRUE(gs_->wait_for_count("resumed with the VS", 1, seconds(15))) << diagnostics();
  for (auto& c : clients_) {
    EXPECT_EQ(c->wait(seconds(30)), 0) << diagnostics();
    EXPECT_EQ(c->disconnected()["reason"], "duration_reached") << c->output();
    EXPECT_EQ(session_of(*c), session);
  }
  ASSERT_EQ(vs_->stop(), 0) << diagnostics();
  const auto entries = vs_->entries();
  std::size_t resumes = 0;
  std::size_t digests_after_resume = 0;
  std::size_t receipts_after_resume = 0;
  for (const auto& e : entries) {
    EXPECT_NE(e.header.kind, MessageKind::kRevocation) << "at " << e.header.seq;
    if (e.header.session_id != session) continue;
    if (e.header.kind == MessageKind::kResumeAccept) ++resumes;
    if (resumes == 0) continue;
    digests_after_resume += e.header.kind == MessageKind::kTranscriptDigest ? 1 : 0;
    receipts_after_resume += e.header.kind == MessageKind::kProtectedReceipt ? 1 : 0;
  }
  EXPECT_EQ(resumes, 1U);
  // Every digest after the resume, the step across the gap first, passed the movement rule.
  EXPECT_GE(digests_after_resume, 3U);
  EXPECT_EQ(receipts_after_resume, digests_after_resume);
  std::string audit;
  EXPECT_EQ(vs_->audit_verify(audit), 0) << audit;
  // The GS's own store holds the resume and its answer, as gsd checked them.
  ASSERT_EQ(gs_->stop(), 0) << diagnostics();
  expect_gs_store_verifies();
}

// A network cut, the VS running on (PROTOCOL.md §8.15): gsd's VS connection breaks mid-match and
// gsd resumes its session on a new connection through the same relay. No player notices, nothing
// is revoked, the VS did not restart, and both stores verify.
TEST_F(System, ANetworkCutMidMatchDropsNoPlayer) {
  VsOptions vs_options;
  // The cut falls just after a ticket; the next is a second away, so none is lost in it.
  vs_options.ticket_period_ms = 1000;
  vs_options.ticket_validity_ms = 8000;
  vs_options.heartbeat_timeout_ms = 4000;
  const SessionId session = start_match_through_relay(vs_options);
  relay_->cut_after_next(MessageKind::kPlayTicket);
  ASSERT_TRUE(relay_->wait_cut(seconds(10))) << diagnostics();
  ASSERT_TRUE(gs_->wait_for_count("resumed with the VS", 1, seconds(15))) << diagnostics();
  expect_match_survived_cut(session);
}

// A silent cut (PROTOCOL.md §8.15 "A silent VS"): the path to the VS swallows everything both
// ways and neither end sees a close. gsd notices the silence well before the VS's heartbeat
// deadline, closes the dead connection and resumes on a new one (the path is back for new
// connections), while the VS still holds the old one half-open. Tickets the VS sent into the
// hole are sent again after the ResumeAccept ("Replies lost in a cut"), so the clients' ticket
// chain goes on.
TEST_F(System, ASilentNetworkCutMidMatchDropsNoPlayer) {
  VsOptions vs_options;
  // Two tickets a second, so that the silence gsd waits out (1 s) swallows at least one.
  vs_options.ticket_period_ms = 500;
  vs_options.ticket_validity_ms = 4000;
  vs_options.heartbeat_interval_ms = 100;
  vs_options.heartbeat_timeout_ms = 2000;
  const SessionId session = start_match_through_relay(vs_options);
  relay_->black_hole_after_next(MessageKind::kPlayTicket);
  ASSERT_TRUE(relay_->wait_cut(seconds(10))) << diagnostics();
  ASSERT_TRUE(gs_->wait_for_count("resumed with the VS", 1, seconds(15))) << diagnostics();
  EXPECT_GE(relay_->swallowed_from_target(MessageKind::kPlayTicket), 1U)
      << "the cut was meant to swallow a ticket";
  expect_match_survived_cut(session);
}

// A fleet (PROTOCOL.md §8.10 "When a node dies"): two vsd nodes on one PostgreSQL database, a
// gsd that lists both and trusts both keys, and two players. The node the session is on is
// killed mid-match (kill -9): the other adopts the session from its log, gsd resumes there, and
// no player notices: both play their whole duration in the one session, nothing is revoked, and
// both logs and the GS's store verify.
TEST_F(System, AFleetNodeKilledMidMatchDropsNoPlayer) {
  PostgresServer postgres;
  const std::string database = postgres.create_database();
  postgres.psql(database, "CREATE SCHEMA node_a; CREATE SCHEMA node_b");
  VsOptions vs_options;
  vs_options.ticket_period_ms = kPeriodMs;
  // The players' credit outlasts the failover: gsd's reconnection and the adoption.
  vs_options.ticket_validity_ms = 8000;
  vs_options.heartbeat_timeout_ms = 4000;
  vs_options.digest_timeout_ms = 5000;
  vs_options.extra = "fleet = \"gsvs_fleet\"\n";
  const std::vector<Hash32> builds{sha256_of_file(program("gsd"))};
  const std::vector<crypto::PublicKey> allowed{identity_.public_key()};
  TempDir dir_b;  // each node has its own key and admin socket
  auto node = [&](const std::string& schema, const TempDir& dir) {
    VsOptions options = vs_options;
    options.store = postgres.url(database) + "?options=-csearch_path%3D" + schema;
    return std::make_unique<VsProcess>(dir, allowed, builds, options);
  };
  vs_ = node("node_a", dir_);
  auto node_b = node("node_b", dir_b);
  const crypto::PublicKey key_a = vs_->public_key();
  fleet_keys_ = to_hex(key_a) + "," + to_hex(node_b->public_key());
  GsdOptions gs_options;
  gs_options.input_grace_ms = 500;
  gs_options.digest_interval_ms = 200;
  gs_options.vs_ports = {vs_->port(), node_b->port()};
  gs_options.vs_keys = {key_a, node_b->public_key()};
  gs_ = std::make_unique<GsdProcess>(dir_, *vs_, identity_path_, gs_options);
  start_clients(2, {"--bot", "--speed-m-s", "5", "--duration-s", "8"});
  wait_all_connected();
  const SessionId session = session_of(*clients_.front());
  // Killed once the players have walked under a few receipts.
  ASSERT_TRUE(wait_for_receipts(4)) << diagnostics();
  ::kill(vs_->process().pid(), SIGKILL);
  ASSERT_EQ(vs_->process().wait(seconds(5)), 128 + SIGKILL);
  ASSERT_TRUE(gs_->wait_for_count("resumed with the VS", 1, seconds(15)))
      << diagnostics() << "--- node b\n"
      << node_b->process().output();
  for (auto& c : clients_) {
    EXPECT_EQ(c->wait(seconds(30)), 0) << diagnostics();
    EXPECT_EQ(c->disconnected()["reason"], "duration_reached") << c->output();
    EXPECT_EQ(session_of(*c), session);
  }
  ASSERT_EQ(node_b->stop(), 0) << node_b->process().output();
  std::size_t adopted = 0;
  std::size_t receipts_after = 0;
  for (const auto& e : node_b->entries()) {
    EXPECT_NE(e.header.kind, MessageKind::kRevocation) << "at " << e.header.seq;
    if (e.header.session_id != session) continue;
    adopted += e.header.kind == MessageKind::kSessionAdopted ? 1 : 0;
    receipts_after += e.header.kind == MessageKind::kProtectedReceipt ? 1 : 0;
  }
  EXPECT_EQ(adopted, 1U);
  EXPECT_GE(receipts_after, 3U) << "the players walked on under node b";
  std::string audit;
  EXPECT_EQ(vs_->audit_verify(audit), 0) << audit;
  EXPECT_EQ(node_b->audit_verify(audit), 0) << audit;
  ASSERT_EQ(gs_->stop(), 0) << diagnostics();
  expect_gs_store_verifies();
}

}  // namespace
}  // namespace gsvs::testing
