// ReceiptBatcher: the receipts asked for in one turn of a loop share one signature, up to the
// configured batch size (PROTOCOL.md §5.11.1).
#include "vsd/receipt_batcher.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace gsvs::vsd {
namespace {

namespace asio = net::asio;

crypto::SecretKey vs_key() {
  crypto::Seed seed;
  seed.bytes.fill(0xC3);
  return crypto::SecretKey::from_seed(seed);
}

// Each receipt `sign` gives, as its session (the index asked) decoded it.
struct SignedReceipts {
  std::map<std::size_t, protocol::ProtectedReceipt> receipts;
};

// The receipt a session's `then` got, decoded, and checked against the one it asked for.
protocol::ProtectedReceipt decoded(const protocol::ProtectedReceipt& asked, const Bytes& bytes) {
  auto receipt = protocol::decode<protocol::ProtectedReceipt>(bytes);
  EXPECT_TRUE(receipt.ok()) << receipt.error();
  if (!receipt) return {};
  EXPECT_EQ(receipt->session_id, asked.session_id);
  EXPECT_EQ(receipt->receipt_index, asked.receipt_index);
  return *receipt;
}

// `sessions` handlers of the loop each ask for one receipt in the same turn of it.
SignedReceipts sign_together(std::size_t sessions, std::size_t max_batch) {
  asio::io_context loop(1);
  const crypto::SecretKey key = vs_key();
  ReceiptBatcher batcher(loop.get_executor(), key, max_batch);
  SignedReceipts out;
  for (std::size_t i = 0; i < sessions; ++i) {
    asio::post(loop, [&, i] {
      protocol::ProtectedReceipt receipt;
      receipt.session_id = 10 + i;
      receipt.receipt_index = 1;
      batcher.sign(receipt, [&, i](const protocol::ProtectedReceipt& asked, const Bytes& bytes) {
        out.receipts[i] = decoded(asked, bytes);
      });
    });
  }
  loop.run();
  return out;
}

TEST(ReceiptBatcher, TheReceiptsOfOneTurnShareOneSignature) {
  const SignedReceipts got = sign_together(7, 64);
  ASSERT_EQ(got.receipts.size(), 7u);
  for (const auto& [i, r] : got.receipts) {
    EXPECT_EQ(r.session_id, 10 + i);
    ASSERT_TRUE(r.batch.has_value());
    EXPECT_EQ(r.batch->leaf_count, 7u);
    EXPECT_EQ(r.signatures[0], got.receipts.at(0).signatures[0]);
    EXPECT_TRUE(protocol::verify(r, vs_key().public_key()));
  }
}

TEST(ReceiptBatcher, AFullBatchIsSignedAtOnceAndTheRestWithTheTurn) {
  const SignedReceipts got = sign_together(7, 3);
  ASSERT_EQ(got.receipts.size(), 7u);
  std::vector<std::uint32_t> counts;
  for (const auto& [i, r] : got.receipts) {
    EXPECT_TRUE(protocol::verify(r, vs_key().public_key())) << i;
    counts.push_back(r.batch ? r.batch->leaf_count : 1);
  }
  EXPECT_EQ(counts, (std::vector<std::uint32_t>{3, 3, 3, 3, 3, 3, 1}));
  EXPECT_FALSE(got.receipts.at(6).batch.has_value()) << "the last alone: version 1";
}

TEST(ReceiptBatcher, ABatchOfOneSignsEachReceiptAlone) {
  const SignedReceipts got = sign_together(4, 1);
  ASSERT_EQ(got.receipts.size(), 4u);
  for (const auto& [i, r] : got.receipts) {
    EXPECT_FALSE(r.batch.has_value()) << i;
    EXPECT_TRUE(protocol::verify(r, vs_key().public_key())) << i;
  }
}

// A session judges on while its receipts are signed: those it asks for in one turn share the
// turn's batch and come back in its order; one it asks for after they came back is the next.
TEST(ReceiptBatcher, ASessionsReceiptsComeBackInItsOrder) {
  asio::io_context loop(1);
  const crypto::SecretKey key = vs_key();
  ReceiptBatcher batcher(loop.get_executor(), key, 64);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> back;  // receipt_index, leaf_count
  std::function<void(std::uint64_t)> ask = [&](std::uint64_t index) {
    protocol::ProtectedReceipt receipt;
    receipt.session_id = 7;
    receipt.receipt_index = index;
    batcher.sign(receipt, [&](const protocol::ProtectedReceipt& asked, const Bytes& bytes) {
      const protocol::ProtectedReceipt r = decoded(asked, bytes);
      back.emplace_back(r.receipt_index, r.batch ? r.batch->leaf_count : 1);
      if (r.receipt_index == 3) ask(4);  // asked from a `then`: the next turn's batch
    });
  };
  asio::post(loop, [&] {
    for (std::uint64_t index = 1; index <= 3; ++index) ask(index);
  });
  loop.run();
  EXPECT_EQ(back,
            (std::vector<std::pair<std::uint64_t, std::uint32_t>>{{1, 3}, {2, 3}, {3, 3}, {4, 1}}));
}

// A batch that fills up is signed at once; the post its first receipt made for the end of the
// turn must then leave the next batch alone until that batch's own turn ends.
TEST(ReceiptBatcher, AFullBatchsPostDoesNotCutTheNextBatchShort) {
  asio::io_context loop(1);
  const crypto::SecretKey key = vs_key();
  ReceiptBatcher batcher(loop.get_executor(), key, 3);
  std::map<std::size_t, std::uint32_t> leaf_counts;
  std::function<void(std::size_t)> session = [&](std::size_t i) {
    asio::post(loop, [&, i] {
      // Session 1 starts session 4 first: its start is queued after the first batch's post
      // and before the second batch's, as a read completing late in a turn would be.
      if (i == 1) session(4);
      protocol::ProtectedReceipt receipt;
      receipt.session_id = 10 + i;
      batcher.sign(receipt, [&, i](const protocol::ProtectedReceipt& asked, const Bytes& bytes) {
        const protocol::ProtectedReceipt r = decoded(asked, bytes);
        leaf_counts[i] = r.batch ? r.batch->leaf_count : 1;
      });
    });
  };
  for (std::size_t i = 0; i < 4; ++i) session(i);
  loop.run();
  // Sessions 0 to 2 fill the first batch; 3 and 4 ask in the turn that follows, together.
  EXPECT_EQ(leaf_counts,
            (std::map<std::size_t, std::uint32_t>{{0, 3}, {1, 3}, {2, 3}, {3, 2}, {4, 2}}));
}

// A loop that stops before the end of the turn: the receipts asked for are never handed back,
// and the `then`s (which hold what a session holds) are destroyed with the batcher.
TEST(ReceiptBatcher, ALoopThatStopsFirstDropsItsThensUnrun) {
  auto held = std::make_shared<int>(0);
  bool ran = false;
  {
    asio::io_context loop(1);
    const crypto::SecretKey key = vs_key();
    ReceiptBatcher batcher(loop.get_executor(), key, 64);
    asio::post(loop, [&] {
      batcher.sign(protocol::ProtectedReceipt{},
                   [&, held](const protocol::ProtectedReceipt&, const Bytes&) { ran = true; });
      loop.stop();
    });
    loop.run();
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(held.use_count(), 1);
}

}  // namespace
}  // namespace gsvs::vsd
