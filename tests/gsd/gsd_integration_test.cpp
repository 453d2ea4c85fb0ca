// gsd and gsd-rogue as real processes, joined to a real vsd on 127.0.0.1, with a client scripted
// by hand: the handshake, tickets and their nonce proofs, every input verdict, revocations, the
// cheats the VS and the clients must catch, and the GS's own store.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "protocol/chains.h"
#include "protocol/keyfile.h"
#include "storage/log.h"
#include "tests/support/frame_relay.h"
#include "tests/support/frame_server.h"
#include "tests/support/gsd_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;
using std::chrono::seconds;

class GsdIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(keyfile::write_key_pair(key_path_, identity_).ok());
    build_ = sha256_of_file(program("gsd"));
  }
  void start(const GsdOptions& gs = {}, const VsOptions& vs = {}) {
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                      std::vector<Hash32>{build_}, vs);
    gsd_ = std::make_unique<GsdProcess>(dir_, *vs_, key_path_, gs);
  }
  // A rogue that claims to be the honest build the VS allows.
  static GsdOptions rogue(std::vector<std::string> flags) {
    GsdOptions o;
    o.program = "gsd-rogue";
    o.extra_args = std::move(flags);
    o.extra_args.emplace_back("--claim-build-of");
    o.extra_args.push_back(program("gsd"));
    return o;
  }
  std::unique_ptr<ScriptedClient> connect() {
    auto client = std::make_unique<ScriptedClient>(gsd_->port(), vs_->public_key());
    client->handshake();
    return client;
  }
  // Runs a program to completion; returns its exit code and output.
  std::pair<int, std::string> run(std::vector<std::string> argv, const std::string& name) {
    ChildProcess p(std::move(argv), dir_.file(name + ".out"));
    const int code = p.wait(seconds(20));
    return {code, p.output()};
  }
  void operator_revoke(SessionId session) {
    auto [code, out] = run({program("vsd"), "revoke", "--admin-socket", vs_->admin_socket(),
                            "--session", std::to_string(session), "--reason", "test revocation"},
                           "revoke");
    ASSERT_EQ(code, 0) << out;
  }
  // Sends an input every `every`, each asking for `dx_mm` (far more than the speed limit allows),
  // bound to the latest ticket, reading the GS's frames in between.
  static void drive(ScriptedClient& client, milliseconds duration, milliseconds every,
                    std::int32_t dx_mm) {
    const auto until = std::chrono::steady_clock::now() + duration;
    int n = 0;
    while (std::chrono::steady_clock::now() < until && !client.revocation() && !client.closed()) {
      client.send_input(client.make_input(dx_mm, 0));
      if (++n % 5 == 0) client.send_nonce();
      client.pump_for(every);
    }
  }
  // The player's positions in the digests the VS logged, in order.
  std::vector<PlayerPosition> reported_positions(const crypto::PublicKey& player) {
    std::vector<PlayerPosition> out;
    for (const auto& e : vs_->entries()) {
      if (e.header.kind != MessageKind::kTranscriptDigest) continue;
      auto digest = decode<TranscriptDigest>(e.message);
      if (!digest) continue;
      for (const auto& p : digest->players) {
        if (p.player == player) out.push_back(p);
      }
    }
    return out;
  }
  std::string diagnostics() {
    return "--- gsd ---\n" + (gsd_ ? gsd_->process().output() : "") + "--- vsd ---\n" +
           (vs_ ? vs_->process().output() : "");
  }
  // The client receives the VS-signed Revocation for its session, then the GS closes it.
  Revocation expect_revocation(ScriptedClient& client, RevocationReason reason) {
    EXPECT_TRUE(client.pump_until([&] { return client.revocation().has_value(); }, seconds(8)))
        << diagnostics();
    if (!client.revocation()) return {};
    auto revocation = decode<Revocation>(*client.revocation());
    EXPECT_TRUE(revocation.ok());
    if (!revocation) return {};
    EXPECT_TRUE(verify(*revocation, vs_->public_key()));
    EXPECT_EQ(revocation->session_id, client.session_id());
    EXPECT_EQ(revocation->reason, static_cast<std::uint16_t>(reason))
        << reason_name(static_cast<RevocationReason>(revocation->reason)) << ": "
        << revocation->detail;
    EXPECT_TRUE(client.socket().wait_closed(seconds(3)));
    return *revocation;
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  std::string key_path_ = dir_.file("gs.key");
  Hash32 build_;
  std::unique_ptr<VsProcess> vs_;
  std::unique_ptr<GsdProcess> gsd_;
};

// ---- command line -----------------------------------------------------------------------------

TEST_F(GsdIntegration, VersionPrintsTheSha256OfTheExecutable) {
  auto [code, out] = run({program("gsd"), "version"}, "version");
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("sw_hash " + to_hex(build_)), std::string::npos) << out;
  auto [code2, hash] = run({program("gsd"), "version", "--sw-hash"}, "version2");
  EXPECT_EQ(code2, 0);
  EXPECT_EQ(hash, to_hex(build_) + "\n");
  // The rogue reports its own build unless told to claim another.
  auto [code3, rogue] = run({program("gsd-rogue"), "version", "--sw-hash"}, "version3");
  EXPECT_EQ(code3, 0);
  EXPECT_EQ(rogue, to_hex(sha256_of_file(program("gsd-rogue"))) + "\n");
}

TEST_F(GsdIntegration, KeygenWritesAKeyPairAndPrintsThePublicKey) {
  const std::string path = dir_.file("new.key");
  auto [code, out] = run({program("gsd"), "keygen", "--out", path}, "keygen");
  ASSERT_EQ(code, 0) << out;
  auto secret = keyfile::read_secret_key(path);
  ASSERT_TRUE(secret.ok()) << secret.error();
  EXPECT_NE(out.find(to_hex(secret->public_key())), std::string::npos) << out;
  EXPECT_EQ(*keyfile::read_public_key(path + ".pub"), secret->public_key());
  // Never silently replaced.
  auto [again, again_out] = run({program("gsd"), "keygen", "--out", path}, "keygen2");
  EXPECT_EQ(again, 2) << again_out;
}

TEST_F(GsdIntegration, RunRefusesABadConfigurationNamingTheKey) {
  write_text(dir_.file("bad.toml"), "vs_public_key = \"" + std::string(64, 'a') + "\"\nkey = \"" +
                                        key_path_ + "\"\nmax_players = 0\n");
  auto [code, out] = run({program("gsd"), "run", "--config", dir_.file("bad.toml")}, "bad");
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("max_players"), std::string::npos) << out;

  write_text(dir_.file("nokey.toml"), "key = \"" + key_path_ + "\"\n");
  auto [code2, out2] = run({program("gsd"), "run", "--config", dir_.file("nokey.toml")}, "nokey");
  EXPECT_EQ(code2, 2);
  EXPECT_NE(out2.find("vs_public_key"), std::string::npos) << out2;

  write_text(dir_.file("typo.toml"),
             "vs_public_key = \"" + std::string(64, 'a') + "\"\nmax_player = 3\n");
  auto [code3, out3] = run({program("gsd"), "run", "--config", dir_.file("typo.toml")}, "typo");
  EXPECT_EQ(code3, 2);
  EXPECT_NE(out3.find("max_player"), std::string::npos) << out3;
}

// ---- serving clients --------------------------------------------------------------------------

TEST_F(GsdIntegration, HandshakeVerifiesAndTicketsCarryProofsOfTheClientsNonces) {
  start();
  ASSERT_NE(gsd_->process().output().find("joined VS as session 1"), std::string::npos);
  auto client = connect();
  EXPECT_EQ(client->session_id(), 1u);
  EXPECT_EQ(client->join_accept().gs_identity, identity_.public_key());
  EXPECT_EQ(client->join_accept().sw_hash, build_);
  // Right after the ServerHello: the current ticket, without a proof.
  ASSERT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)))
      << diagnostics();
  EXPECT_FALSE(client->tickets().front().has_proof);

  // A fresh nonce every half ticket period (100 ms); proven tickets follow.
  const auto until = std::chrono::steady_clock::now() + milliseconds(1500);
  while (std::chrono::steady_clock::now() < until) {
    client->send_nonce();
    client->pump_for(milliseconds(100));
  }
  std::size_t proven = 0;
  for (const auto& t : client->tickets()) {
    EXPECT_TRUE(!t.has_proof || t.proof_valid) << "ticket " << t.ticket.ticket_seq;
    if (t.proof_valid) ++proven;
  }
  EXPECT_GE(proven, 4u) << "of " << client->tickets().size() << " tickets\n" << diagnostics();
  EXPECT_TRUE(client->problems().empty()) << client->problems().front();
  EXPECT_FALSE(client->closed());
}

TEST_F(GsdIntegration, AVsKeyThatIsNotTheVssIsNamedAsTheCauseAndNoMatchIsServed) {
  GsdOptions options;
  const auto stranger = crypto::SecretKey::generate().public_key();
  options.vs_keys = {stranger};
  options.wait_until_listening = false;
  start(options);
  // The VS accepts; gsd cannot verify the JoinAccept, and then the identity_busy JoinReject of
  // its next try: both say what to check, and no client port opens.
  const std::string cause = "is signed by none of the keys vs_public_key pins (" +
                            short_hex(stranger) + "): gsd was given another VS's public key";
  EXPECT_TRUE(gsd_->wait_for_count(cause, 2, seconds(10))) << diagnostics();
  EXPECT_GE(gsd_->count("its JoinAccept is signed by none"), 1u) << diagnostics();
  EXPECT_EQ(gsd_->count("listening for clients"), 0u);
  EXPECT_EQ(gsd_->count("JoinAccept refused"), 0u);
  EXPECT_EQ(gsd_->count("invalid JoinReject"), 0u) << diagnostics();
}

TEST_F(GsdIntegration, ClientHelloWithABadSignatureGetsNoAnswer) {
  start();
  FrameSocket socket(gsd_->port());
  auto challenge = socket.read_frame();
  ASSERT_TRUE(challenge.has_value());
  auto key = crypto::SecretKey::generate();
  ClientHello hello;
  hello.client_key = key.public_key();
  hello.client_nonce = crypto::random_fixed<32>();
  hello.gs_challenge = decode<ClientChallenge>(*challenge)->challenge;
  sign(hello, crypto::SecretKey::generate());
  socket.send_frame(encode(hello));
  EXPECT_FALSE(socket.read_frame(milliseconds(1000)).has_value());
  EXPECT_TRUE(socket.wait_closed(milliseconds(100)));
}

TEST_F(GsdIntegration, AReplayedClientHelloProvesNothingAndBlocksNobody) {
  start();
  const auto seed = crypto::SecretKey::generate().seed();
  Bytes recorded;
  {
    ScriptedClient player(gsd_->port(), vs_->public_key(), crypto::SecretKey::from_seed(seed));
    recorded = player.send_hello();
    ASSERT_EQ(player.check_server_hello(), "");
  }
  ASSERT_TRUE(gsd_->wait_for_count(") left: ", 1, seconds(3))) << diagnostics();

  // Someone who recorded that hello replays it once the player has left...
  FrameSocket replay(gsd_->port());
  ASSERT_TRUE(replay.read_frame().has_value());  // this connection's challenge
  replay.send_frame(recorded);
  // ...while the player comes back: the player gets in, the replay gets no answer.
  ScriptedClient again(gsd_->port(), vs_->public_key(), crypto::SecretKey::from_seed(seed));
  again.send_hello();
  EXPECT_EQ(again.check_server_hello(), "") << diagnostics();
  EXPECT_FALSE(replay.read_frame(milliseconds(1000)).has_value());
  EXPECT_TRUE(replay.wait_closed(milliseconds(100)));
  EXPECT_EQ(gsd_->count("does not sign this connection's challenge"), 1u) << diagnostics();
  EXPECT_TRUE(again.pump_until([&] { return !again.tickets().empty(); }, seconds(3)));
}

TEST_F(GsdIntegration, APlayerConnectingAgainReplacesItsOldConnection) {
  start();
  const auto seed = crypto::SecretKey::generate().seed();
  ScriptedClient old_connection(gsd_->port(), vs_->public_key(),
                                crypto::SecretKey::from_seed(seed));
  old_connection.handshake();
  ScriptedClient new_connection(gsd_->port(), vs_->public_key(),
                                crypto::SecretKey::from_seed(seed));
  new_connection.handshake();
  EXPECT_TRUE(old_connection.socket().wait_closed(seconds(3)));
  EXPECT_TRUE(
      new_connection.pump_until([&] { return !new_connection.tickets().empty(); }, seconds(3)));
  EXPECT_FALSE(new_connection.closed()) << diagnostics();
  // The old connection's end names its cause, not the read it cut short.
  EXPECT_TRUE(gsd_->wait_for_count("left: replaced by a newer connection of the same player", 1,
                                   seconds(3)))
      << diagnostics();
  EXPECT_EQ(gsd_->count("Operation canceled"), 0u) << diagnostics();
}

TEST_F(GsdIntegration, InputsAreAcceptedOrRejectedWithTheRightReason) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return client->tickets().size() >= 2; }, seconds(3)));

  // Bound to the ticket just received: accepted (no InputReject).
  const std::size_t seen = client->tickets().size();
  ASSERT_TRUE(client->pump_until([&] { return client->tickets().size() > seen; }, seconds(2)));
  const ClientInput good = client->make_input(500, 0);
  client->send_input(good);
  // Replayed: the very same signed bytes again, while their ticket is still current. Only the
  // replay is rejected.
  client->send_input(good);

  auto expect_reject = [&](InputRejectReason reason, std::uint64_t seq, const char* what) {
    auto reject = client->next_reject(seconds(2));
    ASSERT_TRUE(reject.has_value()) << what << "\n" << diagnostics();
    EXPECT_EQ(reject->reason, static_cast<std::uint16_t>(reason))
        << what << ": got " << reason_name(static_cast<InputRejectReason>(reject->reason)) << ": "
        << reject->detail;
    EXPECT_EQ(reject->client_seq, seq) << what;
  };

  expect_reject(InputRejectReason::kReplayedSequence, good.client_seq, "replay");
  EXPECT_FALSE(client->next_reject(milliseconds(300)).has_value());
  // A fresh input reusing an old client_seq is a replay too.
  ClientInput reused = client->make_input(0, 0);
  reused.client_seq = good.client_seq;
  client->sign_and_send(reused);
  expect_reject(InputRejectReason::kReplayedSequence, good.client_seq, "reused sequence");

  // Forged: changed after signing.
  ClientInput forged = client->make_input(0, 0);
  forged.move_x_mm = 1'000'000;
  client->send_input(forged);
  expect_reject(InputRejectReason::kBadSignature, forged.client_seq, "forged");

  // Acting for another player: its own key, validly signed, on this connection.
  auto other = crypto::SecretKey::generate();
  ClientInput impersonated = client->make_input(0, 0);
  impersonated.client_key = other.public_key();
  sign(impersonated, other);
  client->send_input(impersonated);
  expect_reject(InputRejectReason::kWrongKey, impersonated.client_seq, "wrong key");

  ClientInput other_session = client->make_input(0, 0);
  other_session.session_id += 1;
  client->sign_and_send(other_session);
  expect_reject(InputRejectReason::kWrongSession, other_session.client_seq, "wrong session");

  ClientInput unknown = client->make_input(0, 0);
  unknown.ticket_hash = crypto::random_fixed<32>();
  client->sign_and_send(unknown);
  expect_reject(InputRejectReason::kUnknownTicket, unknown.client_seq, "unknown ticket");

  const Bytes garbage{kProtocolVersion, static_cast<std::uint8_t>(MessageKind::kClientInput), 1};
  client->socket().send_frame(garbage);
  expect_reject(InputRejectReason::kMalformed, 0, "malformed");

  // Stale: bound to the previous ticket after the grace (100 ms) of the current one. The ticket
  // period is 200 ms: send 150 ms after a ticket arrives (retry if the timing slipped).
  bool stale_seen = false;
  for (int attempt = 0; attempt < 5 && !stale_seen; ++attempt) {
    const std::size_t n = client->tickets().size();
    ASSERT_TRUE(client->pump_until([&] { return client->tickets().size() > n; }, seconds(2)));
    const ReceivedTicket previous = client->tickets()[client->tickets().size() - 2];
    client->pump_for(milliseconds(150));
    ClientInput stale = client->make_input(0, 0);
    stale.ticket_seq = previous.ticket.ticket_seq;
    stale.ticket_hash = chains::message_hash(previous.bytes);
    client->sign_and_send(stale);
    auto reject = client->next_reject(seconds(2));
    ASSERT_TRUE(reject.has_value());
    stale_seen = reject->reason == static_cast<std::uint16_t>(InputRejectReason::kStaleTicket);
  }
  EXPECT_TRUE(stale_seen) << diagnostics();

  // The accepted input moved the player, capped by the speed limit (authoritative), and the
  // position reached the VS in a signed digest.
  client->pump_for(milliseconds(400));
  std::optional<PlayerPosition> first, last;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind != MessageKind::kTranscriptDigest) continue;
    auto digest = decode<TranscriptDigest>(e.message);
    ASSERT_TRUE(digest.ok());
    for (const auto& p : digest->players) {
      if (p.player != client->key().public_key()) continue;
      if (!first) first = p;
      last = p;
    }
  }
  ASSERT_TRUE(first && last) << diagnostics();
  EXPECT_EQ(first->flags, kPlayerSpawn);
  EXPECT_EQ(first->x_mm, 50'000);  // the centre of the default 100 m world
  EXPECT_GT(last->x_mm, 50'000);
  EXPECT_LE(last->x_mm, 50'000 + 350);  // 500 mm asked; a first move gets one tick at 7 m/s
  EXPECT_EQ(last->y_mm, 50'000);
  EXPECT_FALSE(client->closed());
}

TEST_F(GsdIntegration, AnHonestServerIsNeverRevokedForAPlayerAtFullSpeed) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
  drive(*client, milliseconds(2500), milliseconds(20), 10'000);
  client->pump_for(milliseconds(300));
  EXPECT_FALSE(client->revocation().has_value()) << diagnostics();
  EXPECT_FALSE(client->closed());
  const auto positions = reported_positions(client->key().public_key());
  ASSERT_GE(positions.size(), 10u);
  // Close to 7 m/s for 2.5 s, never more.
  const std::int32_t travelled = positions.back().x_mm - positions.front().x_mm;
  EXPECT_GE(travelled, 8'000) << diagnostics();
  EXPECT_LE(travelled, 7 * 2800 + 500);
}

// With spawn zones at the VS, gsd puts new players inside one (PROTOCOL.md §8.6 "Spawn zones"),
// where their spawns are free, not at the world's centre, where the VS would judge every
// respawn as a move from the player's last position.
TEST_F(GsdIntegration, PlayersSpawnInsideTheVsSpawnZones) {
  VsOptions vs;
  vs.extra = "spawn_zones = [\"rect:10000,10000,20000,20000\"]\n";
  start({}, vs);
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
  drive(*client, milliseconds(1000), milliseconds(20), 10'000);
  client->pump_for(milliseconds(300));
  EXPECT_FALSE(client->revocation().has_value()) << diagnostics();
  const auto positions = reported_positions(client->key().public_key());
  ASSERT_FALSE(positions.empty()) << diagnostics();
  // It spawned at the zone's centre, (15 m, 15 m), and may have walked for up to one digest
  // interval (500 ms, 3.5 m) before its first digest: still inside the zone, where the world's
  // centre (50 m, 50 m) is not.
  const PlayerPosition& first = positions.front();
  EXPECT_TRUE(first.x_mm >= 10'000 && first.x_mm <= 20'000 && first.y_mm >= 10'000 &&
              first.y_mm <= 20'000)
      << first.x_mm << ", " << first.y_mm << "\n"
      << diagnostics();
  EXPECT_NE(first.flags & kPlayerSpawn, 0) << "the first appearance is its spawn";
  EXPECT_TRUE(gsd_->wait_for_count("players spawn at (15000 mm, 15000 mm)", 1, seconds(1)))
      << diagnostics();
}

TEST_F(GsdIntegration, ADigestIntervalTheVsTimeoutsDoNotLeaveRoomForIsShortenedAndSaidSo) {
  GsdOptions options;
  options.digest_interval_ms = 900;  // the VS: digest timeout 6000 ms, heartbeat timeout 5000 ms
  start(options);
  EXPECT_TRUE(
      gsd_->wait_for_count("digest_interval_ms (900) leaves the VS's digest_timeout_ms "
                           "(6000) too little room past its heartbeat timeout (5000 ms): "
                           "sending a digest every 500 ms",
                           1, seconds(3)))
      << diagnostics();
}

TEST_F(GsdIntegration, MaxPlayersIsEnforced) {
  GsdOptions options;
  options.max_players = 1;
  start(options);
  auto first = connect();
  ScriptedClient second(gsd_->port(), vs_->public_key());
  second.send_hello();
  EXPECT_FALSE(second.check_server_hello(seconds(2)).empty());
  EXPECT_TRUE(second.socket().wait_closed(seconds(1)));
  EXPECT_TRUE(gsd_->wait_for_count("max_players (1) reached", 1, seconds(2))) << diagnostics();
  first->pump_for(milliseconds(100));
  EXPECT_FALSE(first->closed());
}

// ---- admission: what must not lock players out ----------------------------------------------

TEST_F(GsdIntegration, AtTheDescriptorLimitAcceptingPausesQuietlyAndRecovers) {
  start();
  const pid_t pid = gsd_->process().pid();
  std::size_t open = 0;
  for ([[maybe_unused]] const auto& fd :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++open;
  }
  // Room for two more connections; accept() then fails with EMFILE while the rest wait in the
  // backlog.
  const rlimit limit{open + 2, open + 2};
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &limit, nullptr), 0) << std::strerror(errno);
  std::vector<std::unique_ptr<FrameSocket>> sockets;
  for (int i = 0; i < 20; ++i) sockets.push_back(std::make_unique<FrameSocket>(gsd_->port()));
  ASSERT_TRUE(gsd_->wait_for_count("client listener: cannot accept connections", 1, seconds(5)))
      << diagnostics();
  const std::size_t log_size = gsd_->process().output().size();
  // A loop retrying at once writes thousands of lines in this time.
  std::this_thread::sleep_for(milliseconds(1000));
  EXPECT_EQ(gsd_->count("accepting a client failed"), 0u);
  EXPECT_LE(gsd_->count("client listener: cannot accept connections"), 2u);
  EXPECT_LT(gsd_->process().output().size(), log_size + 2048) << diagnostics();

  sockets.clear();
  ASSERT_TRUE(gsd_->wait_for_count("client listener: accepting connections again", 1, seconds(5)))
      << diagnostics();
  auto client = connect();
  EXPECT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
}

TEST_F(GsdIntegration, SilentSocketsDoNotLockPlayersOut) {
  GsdOptions options;
  options.max_players = 2;
  start(options);
  // Far more silent connections than max_players and than the pre-handshake budget (64).
  std::vector<std::unique_ptr<FrameSocket>> silent;
  for (int i = 0; i < 100; ++i) silent.push_back(std::make_unique<FrameSocket>(gsd_->port()));
  auto first = connect();
  auto second = connect();
  EXPECT_TRUE(first->pump_until([&] { return !first->tickets().empty(); }, seconds(3)))
      << diagnostics();
  EXPECT_TRUE(second->pump_until([&] { return !second->tickets().empty(); }, seconds(3)));
  // The oldest silent connections made room; none of them lives past the handshake timeout.
  EXPECT_TRUE(silent.front()->wait_closed(seconds(1)));
  EXPECT_TRUE(silent.back()->wait_closed(seconds(4)));
  // The log has a line for the first refusal of each second and a summary of the rest, not a
  // line for each of the hundred (a port scan must not fill the journal).
  EXPECT_TRUE(
      gsd_->wait_for_count("connections closed before their player joined in ", 1, seconds(3)))
      << diagnostics();
  EXPECT_GE(gsd_->count(" displaced by newer ones (64 before their ClientHello, 16 per address)"),
            1u)
      << diagnostics();
  EXPECT_LE(gsd_->count(" refused: "), 8u) << diagnostics();
  EXPECT_EQ(gsd_->count("Operation canceled"), 0u) << diagnostics();
}

TEST_F(GsdIntegration, ThrowAwayKeysDoNotExhaustTheDistinctPlayerBudget) {
  GsdOptions options;
  options.max_players = 1;  // the session remembers 8 keys
  start(options);
  for (int i = 0; i < 12; ++i) {
    auto passer_by = connect();  // a fresh key each time, which never plays
    passer_by->socket().close();
    ASSERT_TRUE(gsd_->wait_for_count(") left: ", static_cast<std::size_t>(i) + 1, seconds(3)))
        << diagnostics();
  }
  auto player = connect();
  ASSERT_TRUE(player->pump_until([&] { return !player->tickets().empty(); }, seconds(3)));
  auto reject = [&] {
    player->send_input(player->make_input(100, 0));
    return player->next_reject(milliseconds(300));
  }();
  EXPECT_FALSE(reject.has_value()) << reject->detail;
  EXPECT_FALSE(player->closed()) << diagnostics();
}

// ---- revocation and the VS link ---------------------------------------------------------------

TEST_F(GsdIntegration, OperatorRevocationReachesTheClientAndGsdJoinsAgain) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
  operator_revoke(client->session_id());
  Revocation revocation = expect_revocation(*client, RevocationReason::kOperator);
  EXPECT_NE(revocation.detail.find("test revocation"), std::string::npos);
  // The exact bytes the VS logged.
  bool logged = false;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind == MessageKind::kRevocation)
      logged = logged || e.message == *client->revocation();
  }
  EXPECT_TRUE(logged);
  // A new session, and clients are served again.
  ASSERT_TRUE(gsd_->wait_for_count("joined VS as session 2", 1, seconds(5))) << diagnostics();
  ASSERT_TRUE(gsd_->wait_for_count("listening for clients on", 2, seconds(5)));
  auto again = connect();
  EXPECT_EQ(again->session_id(), 2u);
}

// A lost VS connection is not the end of the session (PROTOCOL.md §8.11, §8.15): gsd keeps its
// players on the tickets they hold and tries to resume; it tells them nothing, since nothing
// ended. (Their own credit is what drops them if the VS never comes back.)
TEST_F(GsdIntegration, LostVsConnectionKeepsTheClientsWhileGsdTriesToResume) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
  ::kill(vs_->process().pid(), SIGKILL);
  EXPECT_TRUE(gsd_->wait_for_count("VS connection lost", 1, seconds(3))) << diagnostics();
  // Two attempts to resume against the dead VS, and the player is still there.
  EXPECT_TRUE(gsd_->wait_for_count("VS unreachable", 2, seconds(5))) << diagnostics();
  EXPECT_TRUE(gsd_->wait_for_count("resuming with the VS again", 2, seconds(5))) << diagnostics();
  client->pump_for(milliseconds(100));  // reads a close, had there been one
  EXPECT_FALSE(client->closed()) << diagnostics();
  EXPECT_FALSE(client->revocation().has_value());
  EXPECT_TRUE(gsd_->process().running());
}

// A fleet's node list (PROTOCOL.md §8.15, OPERATIONS.md "Running a fleet"): a join that fails on
// one node goes to the next. The first node listed is a port nothing listens on.
TEST_F(GsdIntegration, AJoinMovesOnToTheNextNodeOfTheList) {
  vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                    std::vector<Hash32>{build_});
  GsdOptions gs;
  const std::uint16_t dead = free_port();
  gs.vs_ports = {dead, vs_->port()};
  gsd_ = std::make_unique<GsdProcess>(dir_, *vs_, key_path_, gs);
  const std::string live = "127.0.0.1:" + std::to_string(vs_->port());
  EXPECT_EQ(gsd_->count("VS unreachable at 127.0.0.1:" + std::to_string(dead)), 1u)
      << diagnostics();
  EXPECT_EQ(gsd_->count("the next join goes to the VS at " + live), 1u) << diagnostics();
  EXPECT_EQ(gsd_->count("joined VS as session 1 at " + live), 1u) << diagnostics();
  auto client = connect();
  EXPECT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
}

// A fleet node that does not hold the session: it sends its challenge, reads the GsResume and
// closes the connection unanswered (PROTOCOL.md §8.15 check 4), as a node does whose database says
// nothing of the session.
class StrangerNode {
 public:
  StrangerNode()
      : thread_([this] {
          while (!stopping_) {
            auto conn = listener_.accept(milliseconds(100));
            if (!conn) continue;
            VsChallenge challenge;
            challenge.challenge = crypto::random_fixed<32>();
            conn->send_frame(encode(challenge));
            if (auto frame = conn->read_frame(seconds(2));
                frame && peek_kind(*frame).ok() && *peek_kind(*frame) == MessageKind::kGsResume) {
              ++resumes_;
            }
          }
        }) {}
  ~StrangerNode() {
    stopping_ = true;
    thread_.join();
  }
  StrangerNode(const StrangerNode&) = delete;
  StrangerNode& operator=(const StrangerNode&) = delete;
  [[nodiscard]] std::uint16_t port() const { return listener_.port(); }
  [[nodiscard]] int resumes() const { return resumes_; }

 private:
  FrameListener listener_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> resumes_{0};
  std::thread thread_;  // last: started once the rest is ready
};

// The session's node is gone (here the relay it was reached through): the resume tries it first
// and finds it unreachable, then a node that does not hold the session and turns it away, then
// the next node listed, which takes the session up (the same vsd, reached directly: a network
// cut, §8.15). The client sees the ticket chain go on.
TEST_F(GsdIntegration, AResumeMovesOnToTheNextNodeUntilOneTakesTheSessionUp) {
  vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                    std::vector<Hash32>{build_});
  auto relay = std::make_unique<FrameRelay>(vs_->port());
  StrangerNode stranger;
  GsdOptions gs;
  const auto address = [](std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); };
  const std::string session_node = address(relay->port());
  gs.vs_ports = {relay->port(), stranger.port(), vs_->port()};
  gsd_ = std::make_unique<GsdProcess>(dir_, *vs_, key_path_, gs);
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
  relay.reset();  // closes the session's connection, and nothing listens there any more
  EXPECT_TRUE(gsd_->wait_for_count("VS connection lost", 1, seconds(3))) << diagnostics();
  EXPECT_TRUE(gsd_->wait_for_count(
      "the VS at " + session_node + " is unreachable; trying the next node", 1, seconds(5)))
      << diagnostics();
  EXPECT_TRUE(gsd_->wait_for_count(
      "the VS at " + address(stranger.port()) + " does not hold the session; trying the next node",
      1, seconds(5)))
      << diagnostics();
  EXPECT_TRUE(gsd_->wait_for_count("resumed with the VS at " + address(vs_->port()), 1, seconds(5)))
      << diagnostics();
  EXPECT_EQ(stranger.resumes(), 1);
  const std::size_t before = client->tickets().size();
  EXPECT_TRUE(
      client->pump_until([&] { return client->tickets().size() >= before + 2; }, seconds(5)))
      << diagnostics();
  EXPECT_TRUE(client->problems().empty()) << client->problems().front();
  EXPECT_FALSE(client->closed());
  EXPECT_EQ(gsd_->count("match stopped"), 0u) << diagnostics();
}

// No node takes the session up: past its heartbeat deadline (the connection's loss plus the
// JoinAccept's heartbeat_timeout_ms) no node could, and gsd ends the match rather than retry.
TEST_F(GsdIntegration, AFleetResumeEndsAtTheSessionsHeartbeatDeadline) {
  VsOptions vs;
  vs.heartbeat_timeout_ms = 1000;
  vs.digest_timeout_ms = 2000;
  vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                    std::vector<Hash32>{build_}, vs);
  auto relay = std::make_unique<FrameRelay>(vs_->port());
  GsdOptions gs;
  gs.vs_ports = {relay->port(), free_port()};
  gsd_ = std::make_unique<GsdProcess>(dir_, *vs_, key_path_, gs);
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
  relay.reset();
  EXPECT_TRUE(gsd_->wait_for_count("no VS node resumed the session before its heartbeat deadline",
                                   1, seconds(8)))
      << diagnostics();
  EXPECT_TRUE(client->socket().wait_closed(seconds(3))) << diagnostics();
  EXPECT_EQ(gsd_->count("resumed with the VS"), 0u) << diagnostics();
}

TEST_F(GsdIntegration, StopClosesClientsAndTheStoreHoldsTheSession) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return client->tickets().size() >= 2; }, seconds(3)));
  client->send_nonce();
  client->send_input(client->make_input(100, 100));
  client->pump_for(milliseconds(600));
  EXPECT_EQ(gsd_->stop(), 0) << diagnostics();
  EXPECT_TRUE(client->socket().wait_closed(seconds(2)));

  auto entries = read_store(gsd_->store_path());
  ASSERT_GE(entries.size(), 2u);
  EXPECT_EQ(entries[0].header.kind, MessageKind::kJoinRequest);
  EXPECT_EQ(entries[0].header.direction, chains::Direction::kIssued);
  EXPECT_EQ(entries[1].header.kind, MessageKind::kJoinAccept);
  EXPECT_EQ(entries[1].header.direction, chains::Direction::kReceived);
  EXPECT_EQ(entries[1].header.session_id, client->session_id());
  std::map<MessageKind, std::map<chains::Direction, int>> counts;
  for (const auto& e : entries) ++counts[e.header.kind][e.header.direction];
  EXPECT_GE((counts[MessageKind::kPlayTicket][chains::Direction::kReceived]), 3);
  EXPECT_GE((counts[MessageKind::kHeartbeat][chains::Direction::kIssued]), 3);
  EXPECT_GE((counts[MessageKind::kTranscriptDigest][chains::Direction::kIssued]), 3);
  EXPECT_GE((counts[MessageKind::kProtectedReceipt][chains::Direction::kReceived]), 1);
  EXPECT_GE((counts[MessageKind::kNonceBatch][chains::Direction::kIssued]), 1);
  EXPECT_GE((counts[MessageKind::kCheckpoint][chains::Direction::kReceived]), 1);
  // The VS logged the same bytes: the GS's record reconciles with the VS's.
  auto vs_entries = vs_->entries();
  std::set<Bytes> vs_messages;
  for (const auto& e : vs_entries) vs_messages.insert(e.message);
  for (const auto& e : entries) {
    if (e.header.kind == MessageKind::kCheckpoint || e.header.kind == MessageKind::kPlayTicket ||
        e.header.kind == MessageKind::kJoinAccept || e.header.kind == MessageKind::kJoinRequest ||
        e.header.kind == MessageKind::kProtectedReceipt) {
      EXPECT_TRUE(vs_messages.contains(e.message)) << kind_name(e.header.kind);
    }
  }
}

// ---- gsd-rogue: what the VS and the clients catch ---------------------------------------------

TEST_F(GsdIntegration, RogueSpeedIsRevokedForSpeedViolationWithEvidence) {
  start(rogue({"--speed"}));
  auto client = connect();
  Revocation revocation = expect_revocation(*client, RevocationReason::kSpeedViolation);
  ASSERT_EQ(revocation.evidence.size(), 2u) << revocation.detail;
  auto entries = vs_->entries();
  for (auto seq : revocation.evidence) {
    ASSERT_LT(seq, entries.size());
    EXPECT_EQ(entries[seq].header.kind, MessageKind::kTranscriptDigest);
    EXPECT_EQ(entries[seq].header.session_id, client->session_id());
  }
  EXPECT_NE(revocation.detail.find(to_hex(client->key().public_key()).substr(0, 16)),
            std::string::npos)
      << revocation.detail;
}

TEST_F(GsdIntegration, RogueInflateTimeGainsNothing) {
  // Reports its clock running 10x fast and moves players by that clock: the VS bounds the time
  // by its own receive clock.
  start(rogue({"--inflate-time"}));
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return !client->tickets().empty(); }, seconds(3)));
  drive(*client, milliseconds(3000), milliseconds(20), 10'000);
  Revocation revocation = expect_revocation(*client, RevocationReason::kSpeedViolation);
  EXPECT_EQ(revocation.evidence.size(), 2u);
}

TEST_F(GsdIntegration, RogueSwapBuildIsRevokedForSwHashChanged) {
  start(rogue({"--swap-build", "--turn-rogue-after-ms", "300"}));
  auto client = connect();
  expect_revocation(*client, RevocationReason::kSwHashChanged);
}

TEST_F(GsdIntegration, RogueSuppressKeepsTheClientConnectedButTicketsStop) {
  start(rogue({"--suppress"}));
  auto client = connect();
  ASSERT_TRUE(client->pump_until([&] { return client->tickets().size() >= 2; }, seconds(3)));
  operator_revoke(client->session_id());
  ASSERT_TRUE(gsd_->wait_for_count("SUPPRESSED", 1, seconds(3))) << diagnostics();
  for (int i = 0; i < 10; ++i) {  // 1 s: five ticket periods
    client->send_nonce();
    client->pump_for(milliseconds(100));
  }
  EXPECT_FALSE(client->revocation().has_value());
  EXPECT_FALSE(client->closed());
  // No ticket the client holds was issued after the revocation: it starves.
  std::optional<Revocation> revocation;
  for (const auto& e : vs_->entries()) {
    if (e.header.kind == MessageKind::kRevocation) revocation = *decode<Revocation>(e.message);
  }
  ASSERT_TRUE(revocation.has_value());
  for (const auto& t : client->tickets()) EXPECT_LE(t.ticket.issued_ms, revocation->vs_time_ms);
  const auto quiet_since = std::chrono::steady_clock::now() - milliseconds(700);
  EXPECT_LT(client->tickets().back().received_at, quiet_since);
  EXPECT_EQ(gsd_->count("joined VS as session"), 1u);  // it does not join again
}

TEST_F(GsdIntegration, RogueHoardHandsOutTicketsAfterTheyExpired) {
  start(rogue({"--hoard"}));
  auto client = connect();
  // The ticket sent with the handshake is not held; the next ones are, past their validity.
  ASSERT_TRUE(client->pump_until([&] { return client->tickets().size() >= 3; }, seconds(5)))
      << diagnostics();
  for (std::size_t i = 1; i < client->tickets().size(); ++i) {
    const auto& t = client->tickets()[i];
    EXPECT_GT(t.received_wall_ms, t.ticket.not_after_ms) << "ticket " << t.ticket.ticket_seq;
  }
}

}  // namespace
}  // namespace gsvs::testing
