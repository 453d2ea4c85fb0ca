#include "net/refusal_window.h"

#include <gtest/gtest.h>

#include <string>

namespace gsvs::net {
namespace {

using std::chrono::milliseconds;

class Window : public ::testing::Test {
 protected:
  RefusalWindow window_{{"displaced", "turned away", "refused when full"}};
  RefusalWindow::Clock::time_point start_ = RefusalWindow::Clock::now();
};

TEST_F(Window, TheFirstOfAWindowHasALineOfItsOwnAndTheRestAreSummarised) {
  EXPECT_TRUE(window_.count(1, "a", start_));
  EXPECT_FALSE(window_.count(1, "a", start_ + milliseconds(10)));
  EXPECT_FALSE(window_.count(0, "b", start_ + milliseconds(20)));
  const auto line = window_.take_summary("authenticating", start_ + milliseconds(250));
  ASSERT_TRUE(line);
  // The kinds in their given order, those never counted left out.
  EXPECT_EQ(*line,
            "3 connections closed before authenticating in 250 ms, from 2 addresses: "
            "1 displaced, 2 turned away");
  // A new window: its first refusal has its own line again.
  EXPECT_FALSE(window_.take_summary("authenticating", start_ + milliseconds(300)));
  EXPECT_TRUE(window_.count(2, "a", start_ + milliseconds(400)));
  EXPECT_EQ(window_.total(), 4u);
}

TEST_F(Window, ALoneRefusalHasNoSummaryItsLineSaidItAll) {
  EXPECT_FALSE(window_.take_summary("authenticating", start_));
  EXPECT_TRUE(window_.count(0, "a", start_));
  EXPECT_FALSE(window_.take_summary("authenticating", start_ + milliseconds(5)));
  EXPECT_TRUE(window_.count(0, "a", start_ + milliseconds(6)));  // the next window's first
}

TEST_F(Window, ManySourcesAreCountedUpToABound) {
  for (int i = 0; i < 5000; ++i) window_.count(1, "10.0." + std::to_string(i), start_);
  const auto line = window_.take_summary("authenticating", start_);
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("from at least 4096 addresses: 5000 turned away"), std::string::npos)
      << *line;
}

}  // namespace
}  // namespace gsvs::net
