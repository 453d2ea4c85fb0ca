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

// A host counts once per IPv4 address and once per IPv6 /64, however it writes its address.
TEST(BudgetSource, IsTheIpv4AddressOrTheIpv6Slash64) {
  struct Case {
    const char* peer;
    const char* source;
  };
  for (const Case& c :
       {Case{"203.0.113.7", "203.0.113.7"}, Case{"::ffff:203.0.113.7", "203.0.113.7"},
        Case{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
        Case{"2001:db8:1:2::1", "2001:db8:1:2::/64"}, Case{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
        Case{"::1", "::/64"}}) {
    EXPECT_EQ(budget_source(asio::ip::make_address(c.peer)), c.source) << c.peer;
  }
}

}  // namespace
}  // namespace gsvs::net
