// FramedConnection over a real loopback socket pair: read deadlines (per read, whatever the
// timer does between reads), frames split across reads, and writes that keep their order.
#include "net/framed_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "net/asio.h"  // first: see net/asio.h
#include "protocol/framing.h"
#include "tests/support/escape.h"

namespace gsvs::net {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// One io_context on the test thread: a FramedConnection on one end of a loopback connection and
// a plain socket (the peer) on the other.
class FramedConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    tcp::socket accepted(io_);
    acceptor.accept(accepted);
    conn_ = std::make_shared<FramedConnection>(std::move(accepted), ConnectionLimits{});
    conn_->start(testing::fail_the_test());
  }

  // Runs `body` as a coroutine to completion (with a generous cap so a hang fails, not blocks).
  template <class Body>
  void run(Body body) {
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          co_await body();
          done = true;
          io_.stop();  // the connection's writer and timer would keep run_for() busy
        },
        testing::fail_the_test_on_escape());
    io_.run_for(std::chrono::seconds(20));
    ASSERT_TRUE(done) << "the coroutine did not finish";
  }

  // The peer writes raw bytes after `delay`, from a timer on the same io_context.
  void peer_writes_after(milliseconds delay, Bytes bytes) {
    auto timer = std::make_shared<asio::steady_timer>(io_, delay);
    auto data = std::make_shared<Bytes>(std::move(bytes));
    timer->async_wait([this, timer, data](const boost::system::error_code&) {
      asio::write(peer_, asio::buffer(*data));
    });
  }

  asio::io_context io_;
  tcp::socket peer_{io_};
  std::shared_ptr<FramedConnection> conn_;
};

Bytes payload(const std::string& text) { return Bytes(text.begin(), text.end()); }

TEST_F(FramedConnectionTest, ASilentPeerTimesOutAfterTheReadsOwnTimeout) {
  run([&]() -> asio::awaitable<void> {
    const auto start = Clock::now();
    auto frame = co_await conn_->read_frame(milliseconds(150));
    const auto waited = Clock::now() - start;
    EXPECT_FALSE(frame.ok());
    if (!frame.ok()) {
      EXPECT_EQ(frame.error(), "timed out after 150 ms");
    }
    EXPECT_GE(waited, milliseconds(150));
    EXPECT_LT(waited, milliseconds(1500));
    EXPECT_FALSE(conn_->is_open());
  });
}

TEST_F(FramedConnectionTest, APeerThatSendsWithinEachReadsTimeoutNeverTimesOut) {
  // Ten frames 60 ms apart against a 150 ms timeout: 600 ms in all, four timeouts' worth. The
  // deadline belongs to each read, not to the first one.
  for (int i = 0; i < 10; ++i) {
    peer_writes_after(milliseconds(60 * (i + 1)),
                      framing::frame(payload("frame " + std::to_string(i))));
  }
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 10; ++i) {
      auto frame = co_await conn_->read_frame(milliseconds(150));
      EXPECT_TRUE(frame.ok()) << "frame " << i << ": " << (frame.ok() ? "" : frame.error());
      if (!frame.ok()) co_return;
      EXPECT_EQ(*frame, payload("frame " + std::to_string(i)));
    }
  });
}

TEST_F(FramedConnectionTest, AShorterTimeoutAfterALongerOneIsHonoured) {
  peer_writes_after(milliseconds(10), framing::frame(payload("first")));
  run([&]() -> asio::awaitable<void> {
    auto first = co_await conn_->read_frame(milliseconds(10000));
    EXPECT_TRUE(first.ok());
    const auto start = Clock::now();
    auto second = co_await conn_->read_frame(milliseconds(100));
    const auto waited = Clock::now() - start;
    EXPECT_FALSE(second.ok());
    EXPECT_GE(waited, milliseconds(100));
    EXPECT_LT(waited, milliseconds(2000)) << "waited for the first read's 10 s timeout";
  });
}

TEST_F(FramedConnectionTest, AFrameCutOffMidwayTimesOut) {
  const Bytes framed = framing::frame(payload("a frame that never ends"));
  peer_writes_after(milliseconds(10), Bytes(framed.begin(), framed.begin() + 6));
  run([&]() -> asio::awaitable<void> {
    auto frame = co_await conn_->read_frame(milliseconds(200));
    EXPECT_FALSE(frame.ok());
    if (!frame.ok()) {
      EXPECT_EQ(frame.error(), "timed out after 200 ms");
    }
  });
}

TEST_F(FramedConnectionTest, AFrameSplitAcrossWritesArrivesWhole) {
  const Bytes framed = framing::frame(payload("split in three"));
  peer_writes_after(milliseconds(10), Bytes(framed.begin(), framed.begin() + 2));
  peer_writes_after(milliseconds(40), Bytes(framed.begin() + 2, framed.begin() + 9));
  peer_writes_after(milliseconds(70), Bytes(framed.begin() + 9, framed.end()));
  run([&]() -> asio::awaitable<void> {
    auto frame = co_await conn_->read_frame(milliseconds(1000));
    EXPECT_TRUE(frame.ok());
    if (frame.ok()) {
      EXPECT_EQ(*frame, payload("split in three"));
    }
  });
}

TEST_F(FramedConnectionTest, SendsArriveInOrderAndCloseAfterFlushDeliversThemAll) {
  constexpr int kFrames = 2000;  // more than one gathered write
  for (int i = 0; i < kFrames; ++i) conn_->send(payload("frame " + std::to_string(i)));
  conn_->close_after_flush();
  std::vector<Bytes> received;
  run([&]() -> asio::awaitable<void> {
    framing::FrameDecoder decoder(16 * 1024);
    for (;;) {
      auto room = decoder.prepare(4096);
      boost::system::error_code ec;
      const std::size_t got = co_await peer_.async_read_some(
          asio::buffer(room.data(), room.size()), asio::redirect_error(asio::use_awaitable, ec));
      decoder.commit(got);
      for (;;) {
        auto frame = decoder.next();
        EXPECT_TRUE(frame.ok());
        if (!frame.ok() || !*frame) break;
        received.push_back(std::move(**frame));
      }
      if (ec) break;  // end of stream once everything was flushed
    }
  });
  ASSERT_EQ(received.size(), std::size_t{kFrames});
  for (std::size_t i = 0; i < received.size(); ++i) {
    EXPECT_EQ(received[i], payload("frame " + std::to_string(i)));
  }
  EXPECT_FALSE(conn_->is_open());
}

}  // namespace
}  // namespace gsvs::net
