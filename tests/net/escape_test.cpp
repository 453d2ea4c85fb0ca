// EscapeHandler as co_spawn's completion: a coroutine that ends by an exception is named with
// its reason and the program's Failure is called, where asio::detached would drop it unseen; a
// coroutine that returns calls nothing.
#include "net/escape.h"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "net/asio.h"

namespace gsvs::net {
namespace {

struct EscapeCase {
  const char* name;
  bool throws_std;
  bool throws_other;
  std::optional<std::string> fault;  // what the Failure is told; none where it is not called
};

asio::awaitable<void> ends(const EscapeCase& c) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(1));
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (c.throws_std) throw std::out_of_range("map::at");
  if (c.throws_other) throw 42;
}

class EscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeTest, TheFailureHearsWhatEndedAndWhy) {
  const EscapeCase& c = GetParam();
  asio::io_context io;
  std::optional<std::string> told;
  int calls = 0;
  asio::co_spawn(io, ends(c), EscapeHandler("the test loop", [&](const std::string& fault) {
                   told = fault;
                   ++calls;
                 }));
  io.run();
  EXPECT_EQ(told, c.fault);
  EXPECT_EQ(calls, c.fault ? 1 : 0);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EscapeTest,
    ::testing::Values(
        EscapeCase{"returns", false, false, std::nullopt},
        EscapeCase{"std_exception", true, false,
                   "internal error: the test loop ended by an exception: map::at"},
        EscapeCase{"other_exception", false, true,
                   "internal error: the test loop ended by an exception: an exception that is "
                   "not a std::exception"}),
    [](const ::testing::TestParamInfo<EscapeCase>& row) { return std::string(row.param.name); });

}  // namespace
}  // namespace gsvs::net
