#include "gsd/nonce_book.h"

#include <gtest/gtest.h>

#include "protocol/merkle.h"

namespace gsvs::gsd {
namespace {

using protocol::PlayTicket;

Nonce32 nonce(int i) { return crypto::sha256(as_bytes("nonce " + std::to_string(i))); }

// A ticket binding exactly `bound`, as the VS builds it.
PlayTicket ticket_over(const std::vector<Nonce32>& bound, std::uint64_t seq = 1) {
  PlayTicket t;
  t.ticket_seq = seq;
  t.client_binding = client_binding::root(bound);
  t.nonce_count = static_cast<std::uint32_t>(bound.size());
  return t;
}

void expect_proof(const TicketProofs& proofs, ClientId client, const Nonce32& expected,
                  const PlayTicket& ticket) {
  auto it = proofs.proofs.find(client);
  ASSERT_NE(it, proofs.proofs.end()) << "client " << client;
  EXPECT_EQ(it->second.nonce, expected);
  EXPECT_TRUE(client_binding::verify(it->second.nonce, it->second.leaf_index, ticket.nonce_count,
                                     it->second.proof, ticket.client_binding));
}

TEST(NonceBook, BatchesKeepArrivalOrderAndOnlyTheNewestPendingNoncePerClient) {
  NonceBook book;
  EXPECT_FALSE(book.has_pending());
  book.add(1, nonce(1));
  book.add(2, nonce(2));
  book.add(1, nonce(3));  // replaces client 1's pending nonce in place
  auto batch = book.take_batch();
  EXPECT_EQ(batch, (std::vector<Nonce32>{nonce(3), nonce(2)}));
  EXPECT_FALSE(book.has_pending());
  EXPECT_TRUE(book.take_batch().empty());
}

TEST(NonceBook, AtMost256NoncesPerBatch) {
  NonceBook book;
  for (int i = 0; i < 300; ++i) book.add(static_cast<ClientId>(i), nonce(i));
  EXPECT_EQ(book.take_batch().size(), 256u);
  EXPECT_EQ(book.take_batch().size(), 44u);
}

TEST(NonceBook, EachClientGetsTheProofOfItsLatestNonceInTheTicketsBatch) {
  NonceBook book;
  book.add(1, nonce(1));
  book.add(2, nonce(2));
  auto first = book.take_batch();
  book.add(1, nonce(3));  // client 1 again, in a second batch
  auto second = book.take_batch();
  std::vector<Nonce32> bound = first;
  bound.insert(bound.end(), second.begin(), second.end());
  const PlayTicket ticket = ticket_over(bound);
  TicketProofs proofs = book.on_ticket(ticket);
  ASSERT_TRUE(proofs.matched) << proofs.problem;
  EXPECT_EQ(proofs.proofs.size(), 2u);
  expect_proof(proofs, 1, nonce(3), ticket);
  expect_proof(proofs, 2, nonce(2), ticket);
  // Consumed: the next ticket binds nothing.
  TicketProofs next = book.on_ticket(ticket_over({}, 2));
  EXPECT_TRUE(next.matched);
  EXPECT_TRUE(next.proofs.empty());
}

TEST(NonceBook, ABatchInFlightWhenTheTicketWasIssuedGoesToTheNextTicket) {
  NonceBook book;
  book.add(1, nonce(1));
  auto first = book.take_batch();
  book.add(2, nonce(2));
  auto second = book.take_batch();
  // The VS issued its ticket after the first batch arrived, before the second.
  const PlayTicket t1 = ticket_over(first, 1);
  TicketProofs p1 = book.on_ticket(t1);
  ASSERT_TRUE(p1.matched) << p1.problem;
  EXPECT_EQ(p1.proofs.size(), 1u);
  expect_proof(p1, 1, nonce(1), t1);
  const PlayTicket t2 = ticket_over(second, 2);
  TicketProofs p2 = book.on_ticket(t2);
  ASSERT_TRUE(p2.matched) << p2.problem;
  expect_proof(p2, 2, nonce(2), t2);
}

TEST(NonceBook, AnEmptyTicketLeavesTheBatchesForTheNext) {
  NonceBook book;
  book.add(1, nonce(1));
  auto batch = book.take_batch();
  TicketProofs empty = book.on_ticket(ticket_over({}, 1));
  EXPECT_TRUE(empty.matched);
  EXPECT_TRUE(empty.proofs.empty());
  const PlayTicket t2 = ticket_over(batch, 2);
  TicketProofs p = book.on_ticket(t2);
  ASSERT_TRUE(p.matched);
  expect_proof(p, 1, nonce(1), t2);
}

TEST(NonceBook, ABindingThatMatchesNothingSentGivesNoProofsAndTheNextTicketRealigns) {
  NonceBook book;
  book.add(1, nonce(1));
  (void)book.take_batch();
  TicketProofs p = book.on_ticket(ticket_over({nonce(99)}, 1));
  EXPECT_FALSE(p.matched);
  EXPECT_TRUE(p.proofs.empty());
  EXPECT_NE(p.problem.find("ticket 1 binds 1 nonces"), std::string::npos) << p.problem;
  // The batch the unmatched ticket left is passed over when the next binds a later one.
  book.add(2, nonce(2));
  auto batch = book.take_batch();
  const PlayTicket t2 = ticket_over(batch, 2);
  TicketProofs p2 = book.on_ticket(t2);
  ASSERT_TRUE(p2.matched) << p2.problem;
  expect_proof(p2, 2, nonce(2), t2);
  EXPECT_EQ(p2.proofs.count(1), 0u);
}

TEST(NonceBook, ABatchInFlightAtAnUnmatchedTicketStillGetsItsProofFromTheNext) {
  NonceBook book;
  book.add(1, nonce(1));
  auto first = book.take_batch();
  book.add(2, nonce(2));
  auto second = book.take_batch();
  EXPECT_FALSE(book.on_ticket(ticket_over({nonce(99)}, 1)).matched);
  std::vector<Nonce32> bound = first;
  bound.insert(bound.end(), second.begin(), second.end());
  const PlayTicket t2 = ticket_over(bound, 2);
  TicketProofs p2 = book.on_ticket(t2);
  ASSERT_TRUE(p2.matched) << p2.problem;
  expect_proof(p2, 1, nonce(1), t2);
  expect_proof(p2, 2, nonce(2), t2);
}

// PROTOCOL.md §8.15: of the batches sent on a connection that was lost, the VS got the first
// ones and none after; a ticket after the resume binds those, then the new connection's.
TEST(NonceBook, AfterALostConnectionATicketBindsWhatTheVsGotThenTheNewBatches) {
  NonceBook book;
  std::vector<std::vector<Nonce32>> old_batches;
  for (int i = 1; i <= 3; ++i) {
    book.add(static_cast<ClientId>(i), nonce(i));
    old_batches.push_back(book.take_batch());
  }
  book.connection_lost();
  book.add(4, nonce(4));
  auto new_first = book.take_batch();
  book.add(5, nonce(5));
  auto new_second = book.take_batch();
  // A ticket sent again after the resume: it bound the first old batch, before the cut.
  const PlayTicket resent = ticket_over(old_batches[0], 1);
  TicketProofs p1 = book.on_ticket(resent);
  ASSERT_TRUE(p1.matched) << p1.problem;
  expect_proof(p1, 1, nonce(1), resent);
  // The next binds the second old batch (the VS got it) and the first new one; the third old
  // batch was lost in the cut.
  std::vector<Nonce32> bound = old_batches[1];
  bound.insert(bound.end(), new_first.begin(), new_first.end());
  const PlayTicket fresh = ticket_over(bound, 2);
  TicketProofs p2 = book.on_ticket(fresh);
  ASSERT_TRUE(p2.matched) << p2.problem;
  expect_proof(p2, 2, nonce(2), fresh);
  expect_proof(p2, 4, nonce(4), fresh);
  EXPECT_EQ(p2.proofs.count(3), 0u);
  const PlayTicket next = ticket_over(new_second, 3);
  TicketProofs p3 = book.on_ticket(next);
  ASSERT_TRUE(p3.matched) << p3.problem;
  expect_proof(p3, 5, nonce(5), next);
}

TEST(NonceBook, TheVsCapOf1024PerTicketIsApplied) {
  NonceBook book;
  std::vector<Nonce32> all;
  for (int b = 0; b < 5; ++b) {
    for (int i = 0; i < 256; ++i) {
      const int n = b * 256 + i;
      book.add(static_cast<ClientId>(n), nonce(n));
    }
    auto batch = book.take_batch();
    all.insert(all.end(), batch.begin(), batch.end());
  }
  std::vector<Nonce32> bound(all.begin(), all.begin() + 1024);
  const PlayTicket ticket = ticket_over(bound);
  TicketProofs p = book.on_ticket(ticket);
  ASSERT_TRUE(p.matched) << p.problem;
  EXPECT_EQ(p.proofs.size(), 1024u);
  expect_proof(p, 0, nonce(0), ticket);
  expect_proof(p, 1023, nonce(1023), ticket);
  EXPECT_EQ(p.proofs.count(1024), 0u);
}

}  // namespace
}  // namespace gsvs::gsd
