// Signed inputs and the bot's random walk.
#include "client/input.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gsvs::client {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

TEST(InputSigner, SignsBindsAndNumbersEveryInput) {
  auto key = crypto::SecretKey::generate();
  InputSigner signer(key, 42);
  const Hash32 ticket_hash = crypto::sha256(as_bytes("ticket 9"));
  std::uint64_t last_seq = 0;
  for (int i = 0; i < 5; ++i) {
    auto input = decode<ClientInput>(signer.sign(9, ticket_hash, 100 * i, -7, 1000));
    ASSERT_TRUE(input.ok()) << input.error();
    EXPECT_TRUE(verify(*input, key.public_key()));
    EXPECT_EQ(input->client_key, key.public_key());
    EXPECT_EQ(input->session_id, 42u);
    EXPECT_EQ(input->ticket_seq, 9u);
    EXPECT_EQ(input->ticket_hash, ticket_hash);
    EXPECT_GT(input->client_seq, last_seq);
    EXPECT_EQ(input->move_x_mm, 100 * i);
    EXPECT_EQ(input->move_y_mm, -7);
    last_seq = input->client_seq;
  }
  EXPECT_EQ(signer.last_client_seq(), 5u);
}

TEST(InputSigner, ContinuesAboveAnEarlierRun) {
  auto key = crypto::SecretKey::generate();
  InputSigner signer(key, 42, 1'000'000);
  auto input = decode<ClientInput>(signer.sign(1, Hash32{}, 0, 0, 0));
  ASSERT_TRUE(input.ok());
  EXPECT_EQ(input->client_seq, 1'000'001u);
}

TEST(RandomWalk, WalksAtTheRequestedSpeed) {
  RandomWalk walk(5.0, false, 1);
  for (int i = 0; i < 100; ++i) {
    auto [x, y] = walk.step(100.0);
    EXPECT_NEAR(std::hypot(x, y), 500.0, 1.5);  // 5 m/s for 100 ms
  }
}

TEST(RandomWalk, CheatingAsksForTenTimesTheSpeed) {
  RandomWalk walk(5.0, true, 1);
  EXPECT_DOUBLE_EQ(walk.requested_speed_mm_s(), 50000.0);
  auto [x, y] = walk.step(100.0);
  EXPECT_NEAR(std::hypot(x, y), 5000.0, 1.5);
}

TEST(RandomWalk, ALongStallAsksForNoMoreThanFits) {
  RandomWalk walk(1000.0, true, 1);
  auto [x, y] = walk.step(1.0e12);
  EXPECT_LE(std::hypot(x, y), 1.0e9 + 1);
}

}  // namespace
}  // namespace gsvs::client
