#include "protocol/messages.h"

#include <gtest/gtest.h>

namespace gsvs::protocol {
namespace {

TEST(Messages, HeartbeatRoundTrip) {
  auto key = crypto::SecretKey::from_seed(Hash32{});
  Heartbeat hb;
  hb.session_id = 7;
  hb.gs_counter = 3;
  sign(hb, key);
  auto bytes = encode(hb);
  auto back = decode<Heartbeat>(bytes);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(verify(*back, key.public_key()));
  EXPECT_EQ(encode(*back), bytes);
}

}  // namespace
}  // namespace gsvs::protocol
