// DaemonSignals: the daemon survives SIGHUP and stops once on SIGTERM or SIGINT, also on one sent
// before it began to run.
#include "app/hangup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <csignal>

namespace gsvs::app {
namespace {

namespace asio = net::asio;

TEST(DaemonSignals, SighupIsIgnoredAndSigtermOrSigintCallsStopOnce) {
  for (const int signal : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(signal);
    asio::io_context io(1);
    DaemonSignals signals(io);
    int stops = 0;
    asio::post(io, [&io, signal] {
      std::raise(SIGHUP);
      asio::post(io, [signal] { std::raise(signal); });
    });
    // Nothing else waits on `io`: run() returns once the stop signal was handled.
    signals.run_until_stopped([&stops] { ++stops; });
    EXPECT_EQ(stops, 1);
  }
}

// A daemon logs "listening on" before it runs its io_context; a supervisor may stop it at once.
TEST(DaemonSignals, AStopSentWhileTheDaemonStartsIsHeldAndStopsItCleanly) {
  for (const int signal : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(signal);
    asio::io_context io(1);
    DaemonSignals signals(io);
    // kill(), not std::raise: cppcheck takes raise() for a function that never returns.
    ::kill(::getpid(), SIGHUP);
    ::kill(::getpid(), signal);  // without the handler taken at construction, this ends the test
    int stops = 0;
    signals.run_until_stopped([&stops] { ++stops; });
    EXPECT_EQ(stops, 1);
  }
}

}  // namespace
}  // namespace gsvs::app
