// run_until_stopped: the daemon survives SIGHUP and stops once on SIGTERM or SIGINT.
#include "app/hangup.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <csignal>

namespace gsvs::app {
namespace {

namespace asio = net::asio;

TEST(RunUntilStopped, SighupIsIgnoredAndSigtermOrSigintCallsStopOnce) {
  for (const int signal : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(signal);
    asio::io_context io(1);
    int stops = 0;
    asio::post(io, [&io, signal] {
      std::raise(SIGHUP);
      asio::post(io, [signal] { std::raise(signal); });
    });
    // Nothing else waits on `io`: run() returns once the stop signal was handled.
    run_until_stopped(io, [&stops] { ++stops; });
    EXPECT_EQ(stops, 1);
  }
}

}  // namespace
}  // namespace gsvs::app
