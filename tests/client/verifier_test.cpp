// TicketVerifier as a pure class: handshakes, tickets, proofs and revocations fed in by hand on a
// made-up timeline. Each table row is one case.
#include "client/verifier.h"

#include <gtest/gtest.h>

#include <functional>

#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "tests/support/forged_session.h"

namespace gsvs::client {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using testing::ForgedSession;

constexpr std::uint64_t kWall = 1'700'000'100'000;  // the client's wall clock at t0
constexpr milliseconds kSkew{500};
constexpr milliseconds kHandshake{5000};
constexpr std::int64_t kValidity = 400;
constexpr std::uint32_t kValidityU32 = 400;

// A client that sent its hello at t0 and got a good ServerHello from `forge`.
struct Client {
  explicit Client(ForgedSession& f)
      : forge(f), verifier({f.vs_key().public_key()}, kSkew, t0 + kHandshake) {
    verifier.record_nonce(hello_nonce, t0);
  }
  Result<SessionInfo> handshake() {
    return verifier.accept_server_hello(forge.server_hello(key.public_key(), hello_nonce),
                                        key.public_key(), hello_nonce);
  }
  // Time and wall clock `ms` after t0.
  [[nodiscard]] SteadyTime at(std::int64_t ms) const { return t0 + milliseconds(ms); }
  static std::uint64_t wall(std::int64_t ms) { return kWall + static_cast<std::uint64_t>(ms); }
  Nonce32 send_nonce(std::int64_t ms) {
    Nonce32 n = crypto::random_fixed<32>();
    verifier.record_nonce(n, at(ms));
    return n;
  }
  [[nodiscard]] std::int64_t deadline_ms() const {
    return std::chrono::duration_cast<milliseconds>(verifier.deadline() - t0).count();
  }

  ForgedSession& forge;
  crypto::SecretKey key = crypto::SecretKey::generate();
  Nonce32 hello_nonce = crypto::random_fixed<32>();
  SteadyTime t0 = std::chrono::steady_clock::now();
  TicketVerifier verifier;
};

// ---- ServerHello ------------------------------------------------------------------------------

struct HelloCase {
  const char* name;
  std::function<Bytes(Client&)> hello;  // what the GS sends
  bool accepted;
  const char* error;  // a substring of the error
};

TEST(VerifierHandshake, Table) {
  const std::vector<HelloCase> cases = {
      {"honest", [](Client& c) { return c.forge.server_hello(c.key.public_key(), c.hello_nonce); },
       true, ""},
      {"signed by a key that is not the JoinAccept's session key (impostor)",
       [](Client& c) {
         auto impostor = crypto::SecretKey::generate();
         return c.forge.server_hello(c.key.public_key(), c.hello_nonce, &impostor);
       },
       false, "impostor"},
      {"echoes another client's nonce (relayed handshake)",
       [](Client& c) {
         return c.forge.server_hello(c.key.public_key(), crypto::random_fixed<32>());
       },
       false, "not the one this client sent"},
      {"echoes another client key",
       [](Client& c) {
         return c.forge.server_hello(crypto::SecretKey::generate().public_key(), c.hello_nonce);
       },
       false, "client key"},
      {"JoinAccept not signed by the pinned VS key",
       [](Client& c) {
         JoinAccept forged = c.forge.join_accept();
         sign(forged, crypto::SecretKey::generate());
         Bytes bytes = encode(forged);
         return c.forge.server_hello(c.key.public_key(), c.hello_nonce, nullptr, &bytes);
       },
       false, "pinned VS key"},
      {"JoinAccept of another session under this session key",
       [](Client& c) {
         JoinAccept other = c.forge.join_accept();
         other.session_id += 1;
         sign(other, c.forge.vs_key());
         Bytes bytes = encode(other);
         return c.forge.server_hello(c.key.public_key(), c.hello_nonce, nullptr, &bytes);
       },
       false, "names session"},
      {"JoinAccept that does not decode",
       [](Client& c) {
         Bytes bytes = c.forge.join_accept_bytes();
         bytes.pop_back();
         return c.forge.server_hello(c.key.public_key(), c.hello_nonce, nullptr, &bytes);
       },
       false, "does not decode"},
      {"a ticket instead of a ServerHello",
       [](Client& c) { return ForgedSession::forward(c.forge.next_ticket({}, Client::wall(0))); },
       false, "expected a ServerHello"},
      {"garbage",
       [](Client&) {
         return Bytes{1, 13, 0};
       },
       false, "does not decode"},
  };
  for (const auto& row : cases) {
    SCOPED_TRACE(row.name);
    ForgedSession forge;
    Client c(forge);
    auto result = c.verifier.accept_server_hello(row.hello(c), c.key.public_key(), c.hello_nonce);
    EXPECT_EQ(result.ok(), row.accepted) << (result.ok() ? "" : result.error());
    if (!result.ok()) {
      EXPECT_NE(result.error().find(row.error), std::string::npos) << result.error();
      EXPECT_FALSE(c.verifier.session().has_value());
    } else {
      EXPECT_EQ(result->session_id, forge.session_id());
      EXPECT_EQ(result->ticket_validity, milliseconds(kValidity));
      EXPECT_EQ(result->join_accept_hash, chains::message_hash(forge.join_accept_bytes()));
    }
  }
}

// A fleet's key set (PROTOCOL.md §8.12): the JoinAccept of any node of the set is taken, and a key
// outside the set signs nothing the client takes.
TEST(VerifierHandshake, AKeySetTakesAnyNodesJoinAccept) {
  ForgedSession forge;
  const crypto::SecretKey other_node = crypto::SecretKey::generate();
  const auto t0 = std::chrono::steady_clock::now();
  crypto::SecretKey client = crypto::SecretKey::generate();
  const Nonce32 nonce = crypto::random_fixed<32>();
  TicketVerifier verifier({other_node.public_key(), forge.vs_key().public_key()}, kSkew,
                          t0 + kHandshake);
  auto hello = verifier.accept_server_hello(forge.server_hello(client.public_key(), nonce),
                                            client.public_key(), nonce);
  ASSERT_TRUE(hello.ok()) << hello.error();

  TicketVerifier outside({other_node.public_key()}, kSkew, t0 + kHandshake);
  auto foreign = outside.accept_server_hello(forge.server_hello(client.public_key(), nonce),
                                             client.public_key(), nonce);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().find("not signed by the pinned VS key"), std::string::npos)
      << foreign.error();
}

// ---- Handover: another node of the fleet takes the session up ---------------------------------

// A client that trusts the fleet {`forge`'s VS key, `node_b`}, past the ServerHello of a session
// `forge`'s VS accepted.
TicketVerifier verifier_of_fleet(ForgedSession& forge, const crypto::SecretKey& node_b,
                                 std::chrono::steady_clock::time_point t0) {
  const crypto::SecretKey client = crypto::SecretKey::generate();
  const Nonce32 nonce = crypto::random_fixed<32>();
  TicketVerifier verifier({forge.vs_key().public_key(), node_b.public_key()}, kSkew,
                          t0 + kHandshake);
  EXPECT_TRUE(verifier
                  .accept_server_hello(forge.server_hello(client.public_key(), nonce),
                                       client.public_key(), nonce)
                  .ok());
  return verifier;
}

// The session's node A issued ticket 1; the second ticket comes from `signer`. A fleet node that
// adopted the session signs with its own key, and its ticket must chain exactly as A's would.
TEST(VerifierHandover, Table) {
  const crypto::SecretKey node_b = crypto::SecretKey::generate();
  const crypto::SecretKey outsider = crypto::SecretKey::generate();
  struct Row {
    const char* name;
    const crypto::SecretKey* signer;
    std::function<void(PlayTicket&)> spoil;
    bool accepted;
    const char* error;
  };
  const std::vector<Row> rows = {
      {"another key of the set, chained: handed over", &node_b, [](PlayTicket&) {}, true, ""},
      {"another key of the set, skipping a sequence number", &node_b,
       [](PlayTicket& t) { t.ticket_seq += 1; }, false, "chain broken"},
      {"another key of the set, naming another predecessor", &node_b,
       [](PlayTicket& t) { t.prev_ticket_hash = crypto::sha256(as_bytes("elsewhere")); }, false,
       "predecessor"},
      {"a key outside the set, chained", &outsider, [](PlayTicket&) {}, false,
       "not signed by the VS key in use nor by another key of the set"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    ForgedSession forge;
    const auto t0 = std::chrono::steady_clock::now();
    TicketVerifier verifier = verifier_of_fleet(forge, node_b, t0);
    auto first =
        verifier.accept_ticket(ForgedSession::forward(forge.next_ticket({}, kWall)), t0, kWall);
    ASSERT_TRUE(first.ok()) << first.error();
    EXPECT_FALSE(first->handed_over_to.has_value());
    PlayTicket second = forge.draft_ticket({}, kWall);
    row.spoil(second);
    const Bytes second_bytes = forge.custom_ticket(second, row.signer);
    auto outcome = verifier.accept_ticket(ForgedSession::forward(second_bytes), t0, kWall);
    ASSERT_EQ(outcome.ok(), row.accepted) << (outcome.ok() ? "" : outcome.error());
    if (!outcome.ok()) {
      EXPECT_NE(outcome.error().find(row.error), std::string::npos) << outcome.error();
      EXPECT_EQ(verifier.last_ticket_seq(), 1u);
      continue;
    }
    ASSERT_TRUE(outcome->handed_over_to.has_value());
    EXPECT_EQ(*outcome->handed_over_to, node_b.public_key());
    // B's key is in use from here on: its next ticket is no handover (it is reported once).
    PlayTicket third = second;
    third.ticket_seq += 1;
    third.prev_ticket_hash = chains::message_hash(second_bytes);
    auto next = verifier.accept_ticket(ForgedSession::forward(forge.custom_ticket(third, &node_b)),
                                       t0, kWall);
    ASSERT_TRUE(next.ok()) << next.error();
    EXPECT_FALSE(next->handed_over_to.has_value());
  }
}

// A Revocation of the session under any key of the set ends it: the node that holds the session
// may have changed since the last ticket. A key outside the set is a forged notice.
TEST(VerifierHandover, ARevocationVerifiesUnderAnyKeyOfTheSet) {
  const crypto::SecretKey node_b = crypto::SecretKey::generate();
  ForgedSession forge;
  const auto t0 = std::chrono::steady_clock::now();
  TicketVerifier verifier = verifier_of_fleet(forge, node_b, t0);
  EXPECT_TRUE(verifier.check_revocation(forge.revocation(RevocationReason::kOperator, "x", 1)));
  EXPECT_TRUE(
      verifier.check_revocation(forge.revocation(RevocationReason::kOperator, "x", 1, &node_b)));
  const crypto::SecretKey outsider = crypto::SecretKey::generate();
  auto forged =
      verifier.check_revocation(forge.revocation(RevocationReason::kOperator, "x", 1, &outsider));
  ASSERT_FALSE(forged.ok());
  EXPECT_NE(forged.error().find("forged notice"), std::string::npos) << forged.error();
}

// ---- Ticket chain: what is a protocol violation -------------------------------------------------

struct ChainCase {
  const char* name;
  // Builds the second ticket's TicketForward after the anchor (ticket 1) was accepted.
  std::function<Bytes(ForgedSession&)> second;
  bool accepted;
  const char* error;
};

TEST(VerifierChain, Table) {
  const std::vector<ChainCase> cases = {
      {"next ticket",
       [](ForgedSession& f) { return ForgedSession::forward(f.next_ticket({}, Client::wall(0))); },
       true, ""},
      {"skips a sequence number",
       [](ForgedSession& f) {
         PlayTicket t = f.draft_ticket({}, Client::wall(0));
         t.ticket_seq += 1;
         return ForgedSession::forward(f.custom_ticket(t));
       },
       false, "chain broken"},
      {"replays the anchor",
       [](ForgedSession& f) {
         PlayTicket t = f.draft_ticket({}, Client::wall(0));
         t.ticket_seq -= 1;
         return ForgedSession::forward(f.custom_ticket(t));
       },
       false, "chain broken"},
      {"names the wrong predecessor",
       [](ForgedSession& f) {
         PlayTicket t = f.draft_ticket({}, Client::wall(0));
         t.prev_ticket_hash = crypto::sha256(as_bytes("another ticket"));
         return ForgedSession::forward(f.custom_ticket(t));
       },
       false, "predecessor"},
      {"bad signature",
       [](ForgedSession& f) {
         auto other = crypto::SecretKey::generate();
         return ForgedSession::forward(
             f.custom_ticket(f.draft_ticket({}, Client::wall(0)), &other));
       },
       false, "not signed by the VS key"},
      {"signed by the GS session key",
       [](ForgedSession& f) {
         return ForgedSession::forward(
             f.custom_ticket(f.draft_ticket({}, Client::wall(0)), &f.session_key()));
       },
       false, "not signed by the VS key"},
      {"another session's ticket",
       [](ForgedSession& f) {
         PlayTicket t = f.draft_ticket({}, Client::wall(0));
         t.session_id += 1;
         return ForgedSession::forward(f.custom_ticket(t));
       },
       false, "for session"},
      {"TicketForward with trailing bytes",
       [](ForgedSession& f) {
         Bytes b = ForgedSession::forward(f.next_ticket({}, Client::wall(0)));
         b.push_back(0);
         return b;
       },
       false, "does not decode"},
      {"embedded ticket that does not decode",
       [](ForgedSession& f) {
         Bytes t = f.next_ticket({}, Client::wall(0));
         t.resize(t.size() - 1);
         return ForgedSession::forward(t);
       },
       false, "does not decode"},
  };
  for (const auto& row : cases) {
    SCOPED_TRACE(row.name);
    ForgedSession forge;
    Client c(forge);
    ASSERT_TRUE(c.handshake().ok());
    auto anchor = c.verifier.accept_ticket(
        ForgedSession::forward(forge.next_ticket({}, Client::wall(0))), c.at(0), Client::wall(0));
    ASSERT_TRUE(anchor.ok()) << anchor.error();
    const Hash32 anchor_hash = c.verifier.last_ticket_hash();
    auto result = c.verifier.accept_ticket(row.second(forge), c.at(10), Client::wall(10));
    EXPECT_EQ(result.ok(), row.accepted) << (result.ok() ? "" : result.error());
    if (!result.ok()) {
      EXPECT_NE(result.error().find(row.error), std::string::npos) << result.error();
      // A refused ticket changes nothing.
      EXPECT_EQ(c.verifier.last_ticket_seq(), 1u);
      EXPECT_EQ(c.verifier.last_ticket_hash(), anchor_hash);
    } else {
      EXPECT_EQ(c.verifier.last_ticket_seq(), 2u);
    }
  }
}

TEST(VerifierChain, TicketOneMustChainToTheJoinAccept) {
  ForgedSession forge;
  Client c(forge);
  ASSERT_TRUE(c.handshake().ok());
  PlayTicket t = forge.draft_ticket({}, Client::wall(0));
  t.prev_ticket_hash = crypto::sha256(as_bytes("not the join accept"));
  auto result = c.verifier.accept_ticket(ForgedSession::forward(forge.custom_ticket(t)), c.at(0),
                                         Client::wall(0));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("JoinAccept"), std::string::npos) << result.error();
}

TEST(VerifierChain, ALaterFirstTicketIsTakenAsTheAnchor) {
  ForgedSession forge;
  for (int i = 0; i < 5; ++i) forge.next_ticket({}, Client::wall(-1000));  // before we joined
  Client c(forge);
  ASSERT_TRUE(c.handshake().ok());
  auto anchor = c.verifier.accept_ticket(
      ForgedSession::forward(forge.next_ticket({}, Client::wall(0))), c.at(0), Client::wall(0));
  ASSERT_TRUE(anchor.ok()) << anchor.error();
  EXPECT_TRUE(anchor->anchor);
  EXPECT_EQ(anchor->ticket_seq, 6u);
  auto next = c.verifier.accept_ticket(
      ForgedSession::forward(forge.next_ticket({}, Client::wall(5))), c.at(5), Client::wall(5));
  ASSERT_TRUE(next.ok()) << next.error();
  EXPECT_FALSE(next->anchor);
}

TEST(VerifierChain, NoTicketBeforeTheServerHello) {
  ForgedSession forge;
  Client c(forge);
  auto result = c.verifier.accept_ticket(
      ForgedSession::forward(forge.next_ticket({}, Client::wall(0))), c.at(0), Client::wall(0));
  EXPECT_FALSE(result.ok());
}

// ---- Freshness and the trust deadline ---------------------------------------------------------

// Timeline: hello at t0; anchor (ticket 1, issued at VS wall time `anchor_issued`) arrives at
// t = 10 ms. Then the row's ticket arrives at `arrive_ms`.
struct CreditCase {
  const char* name;
  std::int64_t anchor_issued;  // VS wall time of ticket 1, relative to the client's kWall
  // Returns the TicketForward of ticket 2; may record nonces on the client first.
  std::function<Bytes(Client&)> second;
  std::int64_t arrive_ms;
  std::int64_t client_wall_offset;  // client wall clock minus VS wall clock, ms
  bool proven;
  bool wall_clock_ok;
  Credit credit;
  std::int64_t deadline_ms;  // expected deadline after ticket 2, relative to t0
  bool expired_after;        // at arrive_ms + 1
  const char* note;          // substring of the note ("" : none expected)
};

// Ticket 2 binding `batch` and proving batch[index], issued at VS wall `issued` (relative).
Bytes second_ticket(Client& c, const std::vector<Nonce32>& batch,
                    std::optional<std::uint32_t> index, std::int64_t issued) {
  return ForgedSession::forward(c.forge.next_ticket(batch, Client::wall(issued)), batch, index);
}

TEST(VerifierCredit, Table) {
  const std::vector<CreditCase> cases = {
      {"fresh proof extends to send time + validity", 0,
       [](Client& c) {
         auto n = c.send_nonce(100);
         return second_ticket(c, {crypto::random_fixed<32>(), n}, 1, 150);
       },
       200, 0, true, true, Credit::kNonce, 100 + kValidity, false, ""},
      {"the hello nonce proves the first tickets", 0,
       [](Client& c) { return second_ticket(c, {c.hello_nonce}, 0, 50); }, 60, 0, true, true,
       Credit::kNone, 10 + kValidity, false, ""},
      {"no proof: chain holds, no credit", 0,
       [](Client& c) { return second_ticket(c, {}, std::nullopt, 150); }, 200, 0, false, true,
       Credit::kNone, 10 + kValidity, false, ""},
      {"proof for a foreign nonce", 0,
       [](Client& c) {
         c.send_nonce(100);
         return second_ticket(c, {crypto::random_fixed<32>()}, 0, 150);
       },
       200, 0, false, true, Credit::kNone, 10 + kValidity, false, "did not send"},
      {"proof that does not verify (wrong leaf index)", 0,
       [](Client& c) {
         auto n = c.send_nonce(100);
         std::vector<Nonce32> batch{crypto::random_fixed<32>(), n, crypto::random_fixed<32>()};
         Bytes ticket = c.forge.next_ticket(batch, Client::wall(150));
         TicketForward f;
         f.ticket = ticket;
         f.has_proof = 1;
         f.nonce = n;
         f.leaf_index = 0;
         f.proof = client_binding::proof(batch, 1);
         return encode(f);
       },
       200, 0, false, true, Credit::kNone, 10 + kValidity, false, "does not verify"},
      {"proof against a binding of another batch", 0,
       [](Client& c) {
         auto n = c.send_nonce(100);
         std::vector<Nonce32> batch{n, crypto::random_fixed<32>()};
         Bytes ticket = c.forge.next_ticket({crypto::random_fixed<32>()}, Client::wall(150));
         return ForgedSession::forward(ticket, batch, 0);
       },
       200, 0, false, true, Credit::kNone, 10 + kValidity, false, "does not verify"},
      {"stale wall clock: proven but past not_after + skew", 0,
       [](Client& c) {
         auto n = c.send_nonce(100);
         return second_ticket(c, {n}, 0, 150 - kValidity - 600);
       },
       200, 0, true, false, Credit::kNone, 10 + kValidity, false, "stale by the wall clock"},
      {"client clock lagging the VS by 3 s still earns credit", 3000,
       [](Client& c) {
         auto n = c.send_nonce(100);
         return second_ticket(c, {n}, 0, 3150);
       },
       200, -3000, true, true, Credit::kNonce, 100 + kValidity, false, ""},
      {"proof for a nonce older than the validity gives nothing, even before the deadline", 0,
       [](Client& c) {
         auto n = c.send_nonce(-500);
         return second_ticket(c, {n}, 0, -450);
       },
       200, 0, false, true, Credit::kNone, 10 + kValidity, false, "hoarded or delayed"},
      {"hoarded ticket anchored to an old nonce: its credit ends in the past", 0,
       [](Client& c) {
         auto n = c.send_nonce(100);
         // Issued right after the nonce, but the GS holds it back 600 ms.
         return second_ticket(c, {n}, 0, 150);
       },
       750, 0, false, true, Credit::kNone, 10 + kValidity, true, "hoarded or delayed"},
      {"proof for an older nonce never moves the deadline back", 0,
       [](Client& c) {
         c.send_nonce(20);
         auto old_nonce = c.send_nonce(40);
         auto later = c.send_nonce(300);
         // First a proof for the later nonce (credit to 300 + V), then for the older one.
         auto t2 = c.verifier.accept_ticket(
             ForgedSession::forward(c.forge.next_ticket({later}, Client::wall(310)), {later}, 0),
             c.at(320), Client::wall(320));
         EXPECT_TRUE(t2.ok());
         return ForgedSession::forward(c.forge.next_ticket({old_nonce}, Client::wall(330)),
                                       {old_nonce}, 0);
       },
       340, 0, true, true, Credit::kNone, 300 + kValidity, false, ""},
  };
  for (const auto& row : cases) {
    SCOPED_TRACE(row.name);
    ForgedSession forge(7, 200, kValidityU32);
    Client c(forge);
    ASSERT_TRUE(c.handshake().ok());
    // Anchor: issued at VS time anchor_issued, read at client wall 10 + offset.
    auto anchor = c.verifier.accept_ticket(
        ForgedSession::forward(forge.next_ticket({}, Client::wall(row.anchor_issued))), c.at(10),
        Client::wall(10 + row.client_wall_offset + row.anchor_issued));
    ASSERT_TRUE(anchor.ok()) << anchor.error();
    ASSERT_EQ(anchor->credit, Credit::kBootstrap);
    ASSERT_EQ(c.deadline_ms(), 10 + kValidity);

    Bytes second = row.second(c);
    auto out = c.verifier.accept_ticket(
        second, c.at(row.arrive_ms),
        Client::wall(row.arrive_ms + row.client_wall_offset + row.anchor_issued));
    ASSERT_TRUE(out.ok()) << out.error();
    EXPECT_EQ(out->proven, row.proven) << out->note;
    EXPECT_EQ(out->wall_clock_ok, row.wall_clock_ok) << out->note;
    EXPECT_EQ(out->credit, row.credit) << out->note;
    EXPECT_EQ(c.deadline_ms(), row.deadline_ms);
    EXPECT_EQ(c.verifier.expired(c.at(row.arrive_ms + 1)), row.expired_after);
    if (std::string(row.note).empty()) {
      EXPECT_TRUE(out->note.empty()) << out->note;
    } else {
      EXPECT_NE(out->note.find(row.note), std::string::npos) << out->note;
    }
    // Whatever the credit, the chain moved on.
    EXPECT_EQ(c.verifier.last_ticket_seq(), out->ticket_seq);
  }
}

// The first ticket after the handshake: deadline = now + min(validity, not_after + skew - now).
struct BootstrapCase {
  const char* name;
  std::int64_t issued;  // VS wall time of the ticket, relative to the client's wall clock at t0
  std::int64_t arrive;  // ms after t0
  std::int64_t deadline_ms;
  bool wall_clock_ok;
  bool expired;  // right after
};

TEST(VerifierBootstrap, Table) {
  const std::vector<BootstrapCase> cases = {
      {"fresh ticket: a full validity", 0, 10, 10 + kValidity, true, false},
      {"ticket a period old: capped by not_after + skew", -300, 10, 10 + kValidity, true, false},
      {"old ticket: not_after + skew - now", -700, 10, -700 + kValidity + 500, true, false},
      {"hoarded ticket past not_after + skew: deadline in the past", -2000, 10,
       10 + (-2000 + kValidity + 500 - 10), false, true},
  };
  for (const auto& row : cases) {
    SCOPED_TRACE(row.name);
    ForgedSession forge(7, 200, kValidityU32);
    Client c(forge);
    ASSERT_TRUE(c.handshake().ok());
    EXPECT_EQ(c.deadline_ms(), kHandshake.count());  // before any ticket
    auto out = c.verifier.accept_ticket(
        ForgedSession::forward(forge.next_ticket({}, Client::wall(row.issued))), c.at(row.arrive),
        Client::wall(row.arrive));
    ASSERT_TRUE(out.ok()) << out.error();
    EXPECT_TRUE(out->anchor);
    EXPECT_EQ(out->credit, Credit::kBootstrap);
    EXPECT_EQ(out->wall_clock_ok, row.wall_clock_ok);
    EXPECT_EQ(c.deadline_ms(), row.deadline_ms);
    EXPECT_EQ(c.verifier.expired(c.at(row.arrive)), row.expired);
  }
}

TEST(VerifierDeadline, NoTicketRevivesAStarvedClient) {
  ForgedSession forge(7, 200, kValidityU32);
  Client c(forge);
  ASSERT_TRUE(c.handshake().ok());
  ASSERT_TRUE(c.verifier
                  .accept_ticket(ForgedSession::forward(forge.next_ticket({}, Client::wall(0))),
                                 c.at(10), Client::wall(10))
                  .ok());
  EXPECT_FALSE(c.verifier.expired(c.at(409)));
  EXPECT_TRUE(c.verifier.expired(c.at(410)));
  // A perfectly fresh, proven ticket after the deadline changes nothing.
  auto n = c.send_nonce(420);
  auto late = c.verifier.accept_ticket(
      ForgedSession::forward(forge.next_ticket({n}, Client::wall(430)), {n}, 0), c.at(440),
      Client::wall(440));
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->proven);
  EXPECT_EQ(late->credit, Credit::kNone);
  EXPECT_EQ(c.deadline_ms(), 410);
  EXPECT_TRUE(c.verifier.expired(c.at(441)));
}

TEST(VerifierDeadline, TheFirstTicketAfterTheHandshakeTimeoutIsTooLate) {
  ForgedSession forge(7, 200, kValidityU32);
  Client c(forge);
  ASSERT_TRUE(c.handshake().ok());
  const std::int64_t late = kHandshake.count() + 1;
  auto out =
      c.verifier.accept_ticket(ForgedSession::forward(forge.next_ticket({}, Client::wall(late))),
                               c.at(late), Client::wall(late));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->credit, Credit::kNone);
  EXPECT_TRUE(c.verifier.expired(c.at(late)));
}

TEST(VerifierDeadline, SteadyProofsKeepAnHonestClientAlive) {
  // Period 200, nonces every 100, each ticket proves the nonce sent 50-150 ms before it.
  ForgedSession forge(7, 200, kValidityU32);
  Client c(forge);
  ASSERT_TRUE(c.handshake().ok());
  ASSERT_TRUE(c.verifier
                  .accept_ticket(ForgedSession::forward(forge.next_ticket({}, Client::wall(0))),
                                 c.at(5), Client::wall(5))
                  .ok());
  std::vector<Nonce32> pending{c.hello_nonce};
  for (std::int64_t t = 100; t <= 5000; t += 100) {
    pending.push_back(c.send_nonce(t));
    if (t % 200 == 0) {
      auto out = c.verifier.accept_ticket(
          ForgedSession::forward(forge.next_ticket(pending, Client::wall(t + 20)), pending,
                                 static_cast<std::uint32_t>(pending.size() - 1)),
          c.at(t + 30), Client::wall(t + 30));
      ASSERT_TRUE(out.ok());
      EXPECT_TRUE(out->proven) << out->note;
      pending.clear();
    }
    EXPECT_FALSE(c.verifier.expired(c.at(t + 50))) << "at " << t;
  }
  // Old nonces are forgotten.
  EXPECT_LE(c.verifier.remembered_nonces(), 10u);
}

// ---- Revocation -------------------------------------------------------------------------------

TEST(VerifierRevocation, Table) {
  struct Row {
    const char* name;
    std::function<Bytes(ForgedSession&)> notice;
    bool accepted;
  };
  const std::vector<Row> rows = {
      {"VS-signed, this session",
       [](ForgedSession& f) {
         return f.revocation(RevocationReason::kOperator, "operator: test", 123);
       },
       true},
      {"signed by the GS session key (forged notice)",
       [](ForgedSession& f) {
         return f.revocation(RevocationReason::kOperator, "x", 1, &f.session_key());
       },
       false},
      {"another session's revocation",
       [](ForgedSession& f) {
         return f.revocation(RevocationReason::kOperator, "x", 1, nullptr, f.session_id() + 1);
       },
       false},
      {"malformed",
       [](ForgedSession& f) {
         Bytes b = f.revocation(RevocationReason::kOperator, "x", 1);
         b.push_back(0);
         return b;
       },
       false},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    ForgedSession forge;
    Client c(forge);
    ASSERT_TRUE(c.handshake().ok());
    auto r = c.verifier.check_revocation(row.notice(forge));
    EXPECT_EQ(r.ok(), row.accepted) << (r.ok() ? "" : r.error());
    if (r.ok()) {
      EXPECT_EQ(r->vs_time_ms, 123u);
      EXPECT_EQ(r->reason, static_cast<std::uint16_t>(RevocationReason::kOperator));
    }
  }
}

}  // namespace
}  // namespace gsvs::client
