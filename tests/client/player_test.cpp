// The client against a GS scripted by hand in the test process: every message the "GS" sends is
// forged here, honest or not, and the client's exit code and events are checked.
#include "client/player.h"

#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "client/events.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/framing.h"
#include "tests/support/forged_session.h"
#include "tests/support/frame_server.h"
#include "tests/support/process.h"

namespace gsvs::client {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;
using testing::ForgedSession;
using testing::FrameSocket;

constexpr std::uint32_t kPeriod = 200;
constexpr std::uint32_t kTicketValidityMs = 400;

class ScriptedGs : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EventLog::open(dir_.file("events.jsonl"));
    ASSERT_TRUE(log.ok());
    events_ = std::move(log).value();
    options_.gs_port = listener_.port();
    options_.vs_keys = {forge_.vs_key().public_key()};
    options_.handshake_timeout = milliseconds(2000);
  }

  void start_client() {
    client_ = std::async(std::launch::async, [this] { return play(options_, key_, *events_); });
  }
  // The client's exit code; fails the test if it does not end within the timeout.
  int client_exit(milliseconds timeout = milliseconds(5000)) {
    if (client_.wait_for(timeout) != std::future_status::ready) {
      ADD_FAILURE() << "the client did not end";
      if (gs_) gs_->close();  // lets it end by itself (connection lost) for the cleanup
      return client_.get();
    }
    return client_.get();
  }
  std::vector<nlohmann::json> events() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(testing::read_text(dir_.file("events.jsonl")));
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  nlohmann::json last_event() const {
    auto all = events();
    return all.empty() ? nlohmann::json() : all.back();
  }

  // GS side: accepts the client and reads its ClientHello.
  ClientHello accept_hello() {
    gs_ = listener_.accept();
    EXPECT_TRUE(gs_);
    if (!gs_) return {};
    ClientChallenge challenge;
    challenge.challenge = crypto::random_fixed<32>();
    gs_->send_frame(encode(challenge));
    auto frame = gs_->read_frame();
    EXPECT_TRUE(frame);
    if (!frame) return {};
    auto hello = decode<ClientHello>(*frame);
    EXPECT_TRUE(hello.ok());
    EXPECT_TRUE(verify(*hello, key_.public_key()));
    EXPECT_EQ(hello->gs_challenge, challenge.challenge);
    pending_.push_back(hello->client_nonce);
    return *hello;
  }
  // Honest handshake: ServerHello, then the current ticket without proof.
  ClientHello handshake() {
    ClientHello hello = accept_hello();
    gs_->send_frame(forge_.server_hello(hello.client_key, hello.client_nonce));
    send_ticket(/*with_proof=*/false);
    return hello;
  }
  // Issues the next ticket over the pending nonces and forwards it, with the proof for the
  // client's latest nonce unless told otherwise.
  Bytes send_ticket(bool with_proof) {
    Bytes ticket = forge_.next_ticket(pending_, unix_time_ms());
    std::optional<std::uint32_t> index;
    if (with_proof && !pending_.empty()) index = static_cast<std::uint32_t>(pending_.size() - 1);
    gs_->send_frame(ForgedSession::forward(ticket, pending_, index));
    pending_.clear();
    tickets_.push_back(ticket);
    return ticket;
  }
  // Reads client frames for `duration`: nonces are queued for the next ticket, inputs kept.
  void pump(milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until && !gs_->closed()) {
      auto left =
          std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
      auto frame = gs_->read_frame(std::max(left, milliseconds(1)));
      if (!frame) continue;
      auto kind = peek_kind(*frame);
      ASSERT_TRUE(kind.ok());
      if (*kind == MessageKind::kClientNonce) {
        pending_.push_back(decode<ClientNonce>(*frame)->nonce);
      } else if (*kind == MessageKind::kClientInput) {
        auto input = decode<ClientInput>(*frame);
        ASSERT_TRUE(input.ok());
        inputs_.push_back(*input);
      } else {
        ADD_FAILURE() << "unexpected " << kind_name(*kind) << " from the client";
      }
    }
  }
  // An honest GS: a ticket every period binding the nonces received, each with its proof.
  void play_honest(milliseconds duration, bool with_proof = true) {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until && !gs_->closed()) {
      pump(milliseconds(kPeriod / 2));
      send_ticket(with_proof);
      pump(milliseconds(kPeriod / 2));
    }
  }

  testing::TempDir dir_;
  ForgedSession forge_{7, kPeriod, kTicketValidityMs};
  testing::FrameListener listener_;
  crypto::SecretKey key_ = crypto::SecretKey::generate();
  std::unique_ptr<EventLog> events_;
  PlayerOptions options_;
  std::future<int> client_;
  std::unique_ptr<FrameSocket> gs_;
  std::vector<Nonce32> pending_;
  std::vector<Bytes> tickets_;
  std::vector<ClientInput> inputs_;
};

TEST_F(ScriptedGs, HonestGsKeepsTheClientForItsWholeDuration) {
  options_.bot = true;
  options_.duration = milliseconds(1500);
  start_client();
  handshake();
  play_honest(milliseconds(2500));
  EXPECT_EQ(client_exit(), 0);

  // Every input is signed by the client, bound to a ticket it was given, numbered upwards.
  ASSERT_GE(inputs_.size(), 5u);
  std::uint64_t last_seq = 0;
  for (const auto& input : inputs_) {
    EXPECT_TRUE(verify(input, key_.public_key()));
    EXPECT_EQ(input.session_id, forge_.session_id());
    EXPECT_GT(input.client_seq, last_seq);
    last_seq = input.client_seq;
    bool bound = false;
    for (const auto& t : tickets_) {
      if (chains::message_hash(t) == input.ticket_hash) {
        bound = decode<PlayTicket>(t)->ticket_seq == input.ticket_seq;
      }
    }
    EXPECT_TRUE(bound) << "input " << input.client_seq;
  }
  auto all = events();
  ASSERT_GE(all.size(), 3u);
  EXPECT_EQ(all.front()["event"], "connected");
  EXPECT_EQ(all.front()["session"], forge_.session_id());
  int proven = 0;
  for (const auto& e : all) {
    if (e["event"] == "ticket_accepted" && e["proven"] == true) ++proven;
    EXPECT_NE(e["event"], "input_rejected");
  }
  EXPECT_GE(proven, 4);
  EXPECT_EQ(all.back()["event"], "disconnected");
  EXPECT_EQ(all.back()["reason"], "duration_reached");
  EXPECT_EQ(all.back()["exit_code"], 0);
}

TEST_F(ScriptedGs, AnEventLogThatCannotBeWrittenStopsTheClient) {
  auto full = EventLog::open("/dev/full");
  ASSERT_TRUE(full.ok()) << full.error();
  events_ = std::move(full).value();
  options_.duration = milliseconds(5000);
  start_client();
  handshake();
  // The first event (connected) cannot be written: the client leaves at once, exit 2.
  EXPECT_EQ(client_exit(), 2);
}

TEST_F(ScriptedGs, ImpostorWithoutTheSessionKeyIsRefused) {
  start_client();
  ClientHello hello = accept_hello();
  // A GS relaying a real session's JoinAccept, but holding another key.
  auto impostor = crypto::SecretKey::generate();
  gs_->send_frame(forge_.server_hello(hello.client_key, hello.client_nonce, &impostor));
  send_ticket(false);
  EXPECT_EQ(client_exit(), 5);
  EXPECT_EQ(last_event()["reason"], "handshake_failed");
  EXPECT_NE(last_event()["detail"].get<std::string>().find("impostor"), std::string::npos);
  EXPECT_TRUE(gs_->wait_closed(milliseconds(2000)));
}

TEST_F(ScriptedGs, ImpostorEchoingAnotherNonceIsRefused) {
  start_client();
  ClientHello hello = accept_hello();
  // A ServerHello the real GS signed for another client's nonce, replayed to this client.
  gs_->send_frame(forge_.server_hello(hello.client_key, crypto::random_fixed<32>()));
  send_ticket(false);
  EXPECT_EQ(client_exit(), 5);
  EXPECT_EQ(last_event()["reason"], "handshake_failed");
  EXPECT_EQ(last_event()["exit_code"], 5);
}

TEST_F(ScriptedGs, JoinAcceptFromAnotherVsIsRefused) {
  ForgedSession other;  // a different VS key
  options_.vs_keys = {forge_.vs_key().public_key()};
  start_client();
  ClientHello hello = accept_hello();
  gs_->send_frame(other.server_hello(hello.client_key, hello.client_nonce));
  EXPECT_EQ(client_exit(), 5);
}

TEST_F(ScriptedGs, SilenceAfterTheHelloIsAHandshakeFailure) {
  options_.handshake_timeout = milliseconds(300);
  start_client();
  accept_hello();
  EXPECT_EQ(client_exit(), 5);
  EXPECT_EQ(last_event()["reason"], "handshake_failed");
}

TEST_F(ScriptedGs, NoTicketAfterTheServerHelloIsStarvation) {
  options_.handshake_timeout = milliseconds(300);
  start_client();
  ClientHello hello = accept_hello();
  gs_->send_frame(forge_.server_hello(hello.client_key, hello.client_nonce));
  EXPECT_EQ(client_exit(), 4);
  EXPECT_EQ(last_event()["reason"], "ticket_starvation");
}

// A GS that stops cleanly forwards the VS's gs_left notice: the match is over by nobody's
// fault, and the client says so and exits 0.
TEST_F(ScriptedGs, AGsThatLeftCleanlyIsNoFailure) {
  start_client();
  handshake();
  play_honest(milliseconds(400));
  gs_->send_frame(forge_.revocation(RevocationReason::kGsLeft, "the GS left", unix_time_ms()));
  EXPECT_EQ(client_exit(), 0);
  auto e = last_event();
  EXPECT_EQ(e["event"], "disconnected");
  EXPECT_EQ(e["reason"], "gs_left");
  EXPECT_EQ(e["exit_code"], 0);
  EXPECT_EQ(e["revocation_reason"], "gs_left");
}

TEST_F(ScriptedGs, ForwardedRevocationEndsTheSession) {
  start_client();
  handshake();
  play_honest(milliseconds(400));
  const std::uint64_t vs_time = unix_time_ms();
  gs_->send_frame(forge_.revocation(RevocationReason::kOperator, "operator: test", vs_time));
  EXPECT_EQ(client_exit(), 3);
  auto e = last_event();
  EXPECT_EQ(e["event"], "disconnected");
  EXPECT_EQ(e["reason"], "revoked");
  EXPECT_EQ(e["exit_code"], 3);
  EXPECT_EQ(e["revocation_reason"], "operator");
  EXPECT_EQ(e["revocation_detail"], "operator: test");
  EXPECT_EQ(e["revocation_vs_time_ms"], vs_time);
  EXPECT_EQ(e["session"], forge_.session_id());
  EXPECT_TRUE(e["ms_since_last_valid_ticket"].is_number());
}

TEST_F(ScriptedGs, ForgedRevocationIsAProtocolViolation) {
  start_client();
  handshake();
  gs_->send_frame(forge_.revocation(RevocationReason::kOperator, "forged", unix_time_ms(), &key_));
  EXPECT_EQ(client_exit(), 7);
  EXPECT_EQ(last_event()["reason"], "protocol_violation");
}

TEST_F(ScriptedGs, BrokenTicketChainIsAProtocolViolation) {
  start_client();
  handshake();
  play_honest(milliseconds(400));
  PlayTicket t = forge_.draft_ticket({}, unix_time_ms());
  t.ticket_seq += 1;  // skips one
  gs_->send_frame(ForgedSession::forward(forge_.custom_ticket(t)));
  EXPECT_EQ(client_exit(), 7);
  EXPECT_NE(last_event()["detail"].get<std::string>().find("chain broken"), std::string::npos);
}

TEST_F(ScriptedGs, MalformedFrameIsAProtocolViolation) {
  start_client();
  handshake();
  const Bytes empty_frame{0, 0, 0, 0};
  gs_->send_raw(empty_frame);
  EXPECT_EQ(client_exit(), 7);
}

TEST_F(ScriptedGs, UnexpectedKindIsAProtocolViolation) {
  start_client();
  ClientHello hello = handshake();
  gs_->send_frame(forge_.server_hello(hello.client_key, hello.client_nonce));  // a second one
  EXPECT_EQ(client_exit(), 7);
}

TEST_F(ScriptedGs, InputRejectIsLoggedAndChangesNothing) {
  options_.duration = milliseconds(800);
  start_client();
  handshake();
  InputReject reject;
  reject.client_seq = 3;
  reject.reason = static_cast<std::uint16_t>(InputRejectReason::kStaleTicket);
  reject.detail = "ticket 1 is stale";
  gs_->send_frame(encode(reject));
  play_honest(milliseconds(1500));
  EXPECT_EQ(client_exit(), 0);
  bool seen = false;
  for (const auto& e : events()) {
    if (e["event"] == "input_rejected") {
      seen = true;
      EXPECT_EQ(e["client_seq"], 3);
      EXPECT_EQ(e["reason"], "stale_ticket");
      EXPECT_EQ(e["detail"], "ticket 1 is stale");
    }
  }
  EXPECT_TRUE(seen);
}

TEST_F(ScriptedGs, TicketsWithoutProofsStarveTheClient) {
  start_client();
  handshake();
  const auto anchored = std::chrono::steady_clock::now();
  // The GS keeps the chain going but never proves a nonce: no credit after the bootstrap.
  play_honest(milliseconds(3000), /*with_proof=*/false);
  EXPECT_EQ(client_exit(), 4);
  const auto ended = std::chrono::steady_clock::now();
  EXPECT_EQ(last_event()["reason"], "ticket_starvation");
  // Within the bootstrap credit (validity) of the anchor, plus scheduling slack.
  const auto took = std::chrono::duration_cast<milliseconds>(ended - anchored).count();
  EXPECT_LT(took, kTicketValidityMs + 400);
}

TEST_F(ScriptedGs, HoardedTicketsEarnNoCredit) {
  start_client();
  handshake();
  // Tickets bind the client's nonces at once, but the GS hands each one over 600 ms late,
  // longer than the validity: every proof is for a nonce that is too old.
  std::vector<std::pair<std::chrono::steady_clock::time_point, Bytes>> held;
  const auto until = std::chrono::steady_clock::now() + milliseconds(3000);
  while (std::chrono::steady_clock::now() < until && !gs_->closed()) {
    pump(milliseconds(kPeriod / 2));
    Bytes ticket = forge_.next_ticket(pending_, unix_time_ms());
    std::optional<std::uint32_t> index;
    if (!pending_.empty()) index = static_cast<std::uint32_t>(pending_.size() - 1);
    held.emplace_back(std::chrono::steady_clock::now(),
                      ForgedSession::forward(ticket, pending_, index));
    pending_.clear();
    while (!held.empty() &&
           std::chrono::steady_clock::now() - held.front().first > milliseconds(600)) {
      gs_->send_frame(held.front().second);
      held.erase(held.begin());
    }
  }
  // The first held ticket comes after the bootstrap credit ran out: the client is gone by then,
  // and no held ticket could have brought it back (their nonces are older than the validity).
  EXPECT_EQ(client_exit(), 4);
  auto e = last_event();
  EXPECT_EQ(e["reason"], "ticket_starvation");
  EXPECT_LT(e["ms_since_last_valid_ticket"].get<std::int64_t>(), kTicketValidityMs + 300);
}

TEST_F(ScriptedGs, ConnectionRefusedIsExit6) {
  options_.gs_port = testing::free_port();
  start_client();
  EXPECT_EQ(client_exit(), 6);
  EXPECT_EQ(last_event()["reason"], "connection_refused");
}

TEST_F(ScriptedGs, GsClosingTheConnectionIsExit6) {
  start_client();
  handshake();
  play_honest(milliseconds(300));
  gs_->close();
  EXPECT_EQ(client_exit(), 6);
  EXPECT_EQ(last_event()["reason"], "connection_lost");
}

}  // namespace
}  // namespace gsvs::client
