#include "gsd/input_check.h"

#include <gtest/gtest.h>

#include <functional>

namespace gsvs::gsd {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

constexpr SessionId kSession = 7;
constexpr std::uint64_t kArrived = 10'000;  // the current ticket's arrival (GS clock)
constexpr std::uint32_t kGrace = 500;

struct Fixture {
  crypto::SecretKey player = crypto::SecretKey::generate();
  crypto::SecretKey other = crypto::SecretKey::generate();
  TicketRef previous{4, crypto::sha256(as_bytes("ticket 4"))};
  TicketRef current{5, crypto::sha256(as_bytes("ticket 5"))};
  TicketWindow window;

  Fixture() {
    window.advance(previous, kArrived - 1000);
    window.advance(current, kArrived);
  }
  // A well-formed input from `player`, bound to the current ticket, client_seq 11.
  ClientInput input() const {
    ClientInput in;
    in.client_key = player.public_key();
    in.session_id = kSession;
    in.ticket_seq = current.seq;
    in.ticket_hash = current.hash;
    in.client_seq = 11;
    in.move_x_mm = 10;
    return in;
  }
  InputContext context(std::uint64_t now = kArrived + 10) const {
    InputContext c;
    c.hello_key = player.public_key();
    c.session_id = kSession;
    c.tickets = &window;
    c.now_ms = now;
    c.input_grace_ms = kGrace;
    c.last_client_seq = 10;
    return c;
  }
};

std::optional<InputRejectReason> reason_of(const ClientFrameVerdict& v) {
  if (const auto* r = std::get_if<InputRejected>(&v)) {
    return static_cast<InputRejectReason>(r->reject.reason);
  }
  return std::nullopt;
}

// One row per check of docs/PROTOCOL.md §8.9: how the input or the context is changed, and the
// verdict (nullopt: accepted).
struct Row {
  const char* name;
  std::function<Bytes(const Fixture&)> frame;
  std::function<InputContext(const Fixture&)> context;
  std::optional<InputRejectReason> expected;
  std::uint64_t expected_seq = 11;
};

Bytes signed_by(const crypto::SecretKey& key, ClientInput in) {
  sign(in, key);
  return encode(in);
}

TEST(InputCheck, EveryReasonInOrder) {
  auto normal = [](const Fixture& f) { return f.context(); };
  const Row rows[] = {
      {"accepted: bound to the current ticket",
       [](const Fixture& f) { return signed_by(f.player, f.input()); }, normal, std::nullopt},
      {"accepted: the previous ticket within the grace",
       [](const Fixture& f) {
         auto in = f.input();
         in.ticket_seq = f.previous.seq;
         in.ticket_hash = f.previous.hash;
         return signed_by(f.player, in);
       },
       [](const Fixture& f) { return f.context(kArrived + kGrace - 1); }, std::nullopt},
      {"accepted: the first input of a player may have any client_seq",
       [](const Fixture& f) {
         auto in = f.input();
         in.client_seq = 0;
         return signed_by(f.player, in);
       },
       [](const Fixture& f) {
         auto c = f.context();
         c.last_client_seq.reset();
         return c;
       },
       std::nullopt, 0},
      {"malformed: truncated",
       [](const Fixture& f) {
         Bytes b = signed_by(f.player, f.input());
         b.pop_back();
         return b;
       },
       normal, InputRejectReason::kMalformed, 0},
      {"malformed: trailing byte",
       [](const Fixture& f) {
         Bytes b = signed_by(f.player, f.input());
         b.push_back(0);
         return b;
       },
       normal, InputRejectReason::kMalformed, 0},
      {"malformed: not a client message",
       [](const Fixture& f) {
         ClientHello hello;
         hello.client_key = f.player.public_key();
         sign(hello, f.player);
         return encode(hello);
       },
       normal, InputRejectReason::kMalformed, 0},
      {"malformed: garbage", [](const Fixture&) { return Bytes{1}; }, normal,
       InputRejectReason::kMalformed, 0},
      {"wrong_key: another player's key, validly signed",
       [](const Fixture& f) {
         auto in = f.input();
         in.client_key = f.other.public_key();
         return signed_by(f.other, in);
       },
       normal, InputRejectReason::kWrongKey},
      {"wrong_key comes before bad_signature",
       [](const Fixture& f) {
         auto in = f.input();
         in.client_key = f.other.public_key();
         return signed_by(f.player, in);
       },
       normal, InputRejectReason::kWrongKey},
      {"bad_signature: signed by another key",
       [](const Fixture& f) { return signed_by(f.other, f.input()); }, normal,
       InputRejectReason::kBadSignature},
      {"bad_signature: a field changed after signing",
       [](const Fixture& f) {
         auto in = f.input();
         sign(in, f.player);
         in.move_x_mm = 1'000'000;
         return encode(in);
       },
       normal, InputRejectReason::kBadSignature},
      {"bad_signature comes before wrong_session",
       [](const Fixture& f) {
         auto in = f.input();
         sign(in, f.other);
         in.session_id = 8;
         return encode(in);
       },
       normal, InputRejectReason::kBadSignature},
      {"wrong_session",
       [](const Fixture& f) {
         auto in = f.input();
         in.session_id = kSession + 1;
         return signed_by(f.player, in);
       },
       normal, InputRejectReason::kWrongSession},
      {"no_ticket: the GS holds none yet",
       [](const Fixture& f) { return signed_by(f.player, f.input()); },
       [](const Fixture& f) {
         static const TicketWindow empty;
         auto c = f.context();
         c.tickets = &empty;
         return c;
       },
       InputRejectReason::kNoTicket},
      {"stale_ticket: the previous ticket after the grace",
       [](const Fixture& f) {
         auto in = f.input();
         in.ticket_seq = f.previous.seq;
         in.ticket_hash = f.previous.hash;
         return signed_by(f.player, in);
       },
       [](const Fixture& f) { return f.context(kArrived + kGrace); },
       InputRejectReason::kStaleTicket},
      {"unknown_ticket: older than the previous",
       [](const Fixture& f) {
         auto in = f.input();
         in.ticket_seq = 3;
         in.ticket_hash = crypto::sha256(as_bytes("ticket 3"));
         return signed_by(f.player, in);
       },
       normal, InputRejectReason::kUnknownTicket},
      {"unknown_ticket: the current seq with another hash",
       [](const Fixture& f) {
         auto in = f.input();
         in.ticket_hash = crypto::sha256(as_bytes("forged ticket 5"));
         return signed_by(f.player, in);
       },
       normal, InputRejectReason::kUnknownTicket},
      {"unknown_ticket: a ticket from the future",
       [](const Fixture& f) {
         auto in = f.input();
         in.ticket_seq = 6;
         return signed_by(f.player, in);
       },
       normal, InputRejectReason::kUnknownTicket},
      {"replayed_sequence: equal to the last accepted",
       [](const Fixture& f) {
         auto in = f.input();
         in.client_seq = 10;
         return signed_by(f.player, in);
       },
       normal, InputRejectReason::kReplayedSequence, 10},
      {"replayed_sequence: below the last accepted",
       [](const Fixture& f) {
         auto in = f.input();
         in.client_seq = 2;
         return signed_by(f.player, in);
       },
       normal, InputRejectReason::kReplayedSequence, 2},
      {"stale_ticket comes before replayed_sequence",
       [](const Fixture& f) {
         auto in = f.input();
         in.client_seq = 1;
         in.ticket_seq = f.previous.seq;
         in.ticket_hash = f.previous.hash;
         return signed_by(f.player, in);
       },
       [](const Fixture& f) { return f.context(kArrived + 10 * kGrace); },
       InputRejectReason::kStaleTicket, 1},
  };
  for (const auto& row : rows) {
    Fixture f;
    const Bytes frame = row.frame(f);
    const InputContext context = row.context(f);
    const ClientFrameVerdict verdict = check_client_frame(frame, context);
    EXPECT_EQ(reason_of(verdict), row.expected) << row.name;
    if (const auto* r = std::get_if<InputRejected>(&verdict)) {
      EXPECT_EQ(r->reject.client_seq, row.expected_seq) << row.name;
      EXPECT_FALSE(r->reject.detail.empty()) << row.name;
      // The reject is ready to send: it encodes and decodes.
      EXPECT_TRUE(decode<InputReject>(encode(r->reject)).ok()) << row.name;
    } else if (const auto* a = std::get_if<InputAccepted>(&verdict)) {
      EXPECT_EQ(encode(a->input), frame) << row.name;
    } else {
      ADD_FAILURE() << row.name << ": taken for a nonce";
    }
  }
}

TEST(InputCheck, NoncesAreRecognised) {
  Fixture f;
  ClientNonce nonce;
  nonce.nonce = crypto::random_fixed<32>();
  auto verdict = check_client_frame(encode(nonce), f.context());
  ASSERT_TRUE(std::holds_alternative<NonceReceived>(verdict));
  EXPECT_EQ(std::get<NonceReceived>(verdict).nonce, nonce.nonce);

  Bytes bad = encode(nonce);
  bad.push_back(0);
  EXPECT_EQ(reason_of(check_client_frame(bad, f.context())), InputRejectReason::kMalformed);
}

}  // namespace
}  // namespace gsvs::gsd
