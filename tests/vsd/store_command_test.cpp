// `vsd store archive` and `vsd store prune`: the duration they take. What they refuse is in
// tests/vsd/cli_test.cpp, what retention does to a store in tests/storage/segments_test.cpp.
#include "vsd/store_command.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace gsvs::testing {
namespace {

TEST(StoreCommand, ParsesADurationOfOneUnit) {
  using std::chrono::milliseconds;
  struct Case {
    const char* text;
    std::optional<milliseconds> expected;  // nullopt: refused
  };
  const Case cases[] = {
      {"90d", milliseconds(90LL * 86'400'000)},
      {"12h", milliseconds(12LL * 3'600'000)},
      {"30m", milliseconds(30LL * 60'000)},
      {"45s", milliseconds(45'000)},
      {"0s", milliseconds(0)},
      {"", std::nullopt},
      {"d", std::nullopt},
      {"90", std::nullopt},
      {"90w", std::nullopt},
      {"-1d", std::nullopt},
      {"1.5h", std::nullopt},
      {"99999999999999d", std::nullopt},
  };
  for (const Case& c : cases) {
    auto parsed = vsd::parse_duration(c.text);
    ASSERT_EQ(parsed.ok(), c.expected.has_value()) << "'" << c.text << "'";
    if (c.expected) {
      EXPECT_EQ(*parsed, *c.expected) << c.text;
    } else {
      EXPECT_NE(parsed.error().find(c.text), std::string::npos) << parsed.error();
    }
  }
}

}  // namespace
}  // namespace gsvs::testing
