// ReceiptBatcher: the receipts asked for in one turn of a loop share one signature, up to the
// configured batch size (PROTOCOL.md §5.11.1).
#include "vsd/receipt_batcher.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <map>
#include <vector>

#include "tests/support/escape.h"

namespace gsvs::vsd {
namespace {

namespace asio = net::asio;

crypto::SecretKey vs_key() {
  crypto::Seed seed;
  seed.bytes.fill(0xC3);
  return crypto::SecretKey::from_seed(seed);
}

// Each receipt `sign` gives, as its session (the index asked) decoded it.
struct Signed {
  std::map<std::size_t, protocol::ProtectedReceipt> receipts;
};

// `sessions` coroutines each ask for one receipt in the same turn of the loop.
Signed sign_together(std::size_t sessions, std::size_t max_batch) {
  asio::io_context loop(1);
  const crypto::SecretKey key = vs_key();
  ReceiptBatcher batcher(loop.get_executor(), key, max_batch);
  Signed out;
  for (std::size_t i = 0; i < sessions; ++i) {
    asio::co_spawn(
        loop,
        [&, i]() -> asio::awaitable<void> {
          protocol::ProtectedReceipt receipt;
          receipt.session_id = 10 + i;
          receipt.receipt_index = 1;
          const Bytes bytes = co_await batcher.sign(receipt);
          auto decoded = protocol::decode<protocol::ProtectedReceipt>(bytes);
          EXPECT_TRUE(decoded.ok()) << decoded.error();
          if (decoded) out.receipts[i] = *decoded;
        },
        testing::fail_the_test_on_escape());
  }
  loop.run();
  return out;
}

TEST(ReceiptBatcher, TheReceiptsOfOneTurnShareOneSignature) {
  const Signed got = sign_together(7, 64);
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
  const Signed got = sign_together(7, 3);
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
  const Signed got = sign_together(4, 1);
  ASSERT_EQ(got.receipts.size(), 4u);
  for (const auto& [i, r] : got.receipts) {
    EXPECT_FALSE(r.batch.has_value()) << i;
    EXPECT_TRUE(protocol::verify(r, vs_key().public_key())) << i;
  }
}

TEST(ReceiptBatcher, ReceiptsAskedForInLaterTurnsAreLaterBatches) {
  asio::io_context loop(1);
  const crypto::SecretKey key = vs_key();
  ReceiptBatcher batcher(loop.get_executor(), key, 64);
  std::vector<std::uint32_t> counts;
  asio::co_spawn(
      loop,
      [&]() -> asio::awaitable<void> {
        // One session, one receipt after another: each turn has only its own.
        for (int i = 0; i < 3; ++i) {
          auto r = protocol::decode<protocol::ProtectedReceipt>(
              co_await batcher.sign(protocol::ProtectedReceipt{}));
          counts.push_back(r && r->batch ? r->batch->leaf_count : 1);
        }
      },
      testing::fail_the_test_on_escape());
  loop.run();
  EXPECT_EQ(counts, (std::vector<std::uint32_t>{1, 1, 1}));
}

// A batch that fills up is signed at once; the post its first receipt made for the end of the
// turn must then leave the next batch alone until that batch's own turn ends.
TEST(ReceiptBatcher, AFullBatchsPostDoesNotCutTheNextBatchShort) {
  asio::io_context loop(1);
  const crypto::SecretKey key = vs_key();
  ReceiptBatcher batcher(loop.get_executor(), key, 3);
  std::map<std::size_t, std::uint32_t> leaf_counts;
  std::function<void(std::size_t)> session = [&](std::size_t i) {
    asio::co_spawn(
        loop,
        [&, i]() -> asio::awaitable<void> {
          // Session 1 starts session 4 first: its start is queued after the first batch's post
          // and before the second batch's, as a read completing late in a turn would be.
          if (i == 1) session(4);
          auto r = protocol::decode<protocol::ProtectedReceipt>(
              co_await batcher.sign(protocol::ProtectedReceipt{}));
          leaf_counts[i] = r && r->batch ? r->batch->leaf_count : 1;
        },
        testing::fail_the_test_on_escape());
  };
  for (std::size_t i = 0; i < 4; ++i) session(i);
  loop.run();
  // Sessions 0 to 2 fill the first batch; 3 and 4 ask in the turn that follows, together.
  EXPECT_EQ(leaf_counts,
            (std::map<std::size_t, std::uint32_t>{{0, 3}, {1, 3}, {2, 3}, {3, 2}, {4, 2}}));
}

}  // namespace
}  // namespace gsvs::vsd
