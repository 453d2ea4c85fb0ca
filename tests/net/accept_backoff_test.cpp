// AcceptBackoff's policy: which accept errors are a shortage to wait out, and how long to wait.
#include "net/accept_backoff.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace gsvs::net {
namespace {

using std::chrono::milliseconds;

TEST(AcceptBackoff, ShortagesAreTheErrorsThatLastUntilConnectionsClose) {
  struct Case {
    int error;
    bool shortage;
  };
  for (const Case c :
       {Case{EMFILE, true}, Case{ENFILE, true}, Case{ENOBUFS, true}, Case{ENOMEM, true},
        Case{ECONNABORTED, false}, Case{EPROTO, false}, Case{EPERM, false}}) {
    SCOPED_TRACE(c.error);
    EXPECT_EQ(AcceptBackoff::is_shortage({c.error, boost::system::system_category()}), c.shortage);
  }
  EXPECT_FALSE(AcceptBackoff::is_shortage(asio::error::operation_aborted));
}

TEST(AcceptBackoff, DelayDoublesFromAHundredMillisecondsToOneSecond) {
  struct Case {
    std::uint32_t failures;
    milliseconds delay;
  };
  for (const Case c :
       {Case{1, milliseconds(100)}, Case{2, milliseconds(200)}, Case{3, milliseconds(400)},
        Case{4, milliseconds(800)}, Case{5, milliseconds(1000)}, Case{6, milliseconds(1000)},
        Case{4'000'000'000U, milliseconds(1000)}}) {
    SCOPED_TRACE(c.failures);
    EXPECT_EQ(AcceptBackoff::delay_after(c.failures), c.delay);
  }
}

}  // namespace
}  // namespace gsvs::net
