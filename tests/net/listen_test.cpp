// bind_and_listen: a usable socket on success, an error naming what is wrong otherwise.
#include "net/listen.h"

#include <gtest/gtest.h>

namespace gsvs::net {
namespace {

TEST(BindAndListen, ListensOnAnEphemeralPort) {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  ASSERT_TRUE(bind_and_listen(acceptor, "127.0.0.1", 0, "127.0.0.1:0"));
  boost::system::error_code ec;
  EXPECT_NE(acceptor.local_endpoint(ec).port(), 0);
  EXPECT_FALSE(ec);
}

TEST(BindAndListen, ErrorsNameWhatIsWrong) {
  asio::io_context io;
  tcp::acceptor taken(io);
  ASSERT_TRUE(bind_and_listen(taken, "127.0.0.1", 0, "first"));
  const std::uint16_t port = taken.local_endpoint().port();
  struct Case {
    std::string host;
    std::uint16_t port;
    std::string error_starts_with;
  };
  for (const Case& c : {Case{"localhost", 7800, "listen address 'localhost' is not an IP address"},
                        Case{"300.1.2.3", 7800, "listen address '300.1.2.3' is not an IP address"},
                        Case{"127.0.0.1", port, "cannot listen on the configured address: "}}) {
    SCOPED_TRACE(c.host);
    tcp::acceptor acceptor(io);
    Status status = bind_and_listen(acceptor, c.host, c.port, "the configured address");
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().rfind(c.error_starts_with, 0), 0U) << status.error();
  }
}

}  // namespace
}  // namespace gsvs::net
