#include "protocol/bytes.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "protocol/messages.h"

namespace gsvs {
namespace {

// "é" is 2 bytes (C3 A9), "€" 3 (E2 82 AC), "😀" 4 (F0 9F 98 80).
struct TruncateCase {
  std::string_view text;
  std::size_t max_bytes;
  std::string_view expected;
};

class TruncateUtf8 : public testing::TestWithParam<TruncateCase> {};

TEST_P(TruncateUtf8, CutsOnACharacterBoundary) {
  const auto& c = GetParam();
  EXPECT_EQ(truncate_utf8(c.text, c.max_bytes), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TruncateUtf8,
    testing::Values(
        // Short enough: unchanged, whatever it holds.
        TruncateCase{"", 0, ""}, TruncateCase{"abc", 3, "abc"}, TruncateCase{"abc", 10, "abc"},
        TruncateCase{"a\xC3\xA9", 3, "a\xC3\xA9"},
        // ASCII is cut anywhere.
        TruncateCase{"abcdef", 4, "abcd"}, TruncateCase{"abc", 0, ""},
        // The limit falls inside a 2-byte character: it goes.
        TruncateCase{"a\xC3\xA9z", 2, "a"}, TruncateCase{"a\xC3\xA9z", 3, "a\xC3\xA9"},
        TruncateCase{"\xC3\xA9", 1, ""},
        // Inside a 3-byte character, at each of its positions.
        TruncateCase{"a\xE2\x82\xAC", 1, "a"}, TruncateCase{"a\xE2\x82\xAC", 2, "a"},
        TruncateCase{"a\xE2\x82\xAC", 3, "a"}, TruncateCase{"a\xE2\x82\xAC!", 4, "a\xE2\x82\xAC"},
        // Inside a 4-byte character, at each of its positions.
        TruncateCase{"ab\xF0\x9F\x98\x80", 3, "ab"}, TruncateCase{"ab\xF0\x9F\x98\x80", 4, "ab"},
        TruncateCase{"ab\xF0\x9F\x98\x80", 5, "ab"},
        TruncateCase{"ab\xF0\x9F\x98\x80!", 6, "ab\xF0\x9F\x98\x80"},
        // Characters back to back: the last whole one stays.
        TruncateCase{"\xC3\xA9\xC3\xA9\xC3\xA9", 5, "\xC3\xA9\xC3\xA9"},
        // Not UTF-8 (a run of continuation bytes): cut where the limit falls, no further back.
        TruncateCase{"a\x80\x80\x80\x80\x80", 4, "a\x80\x80\x80"}));

TEST(TruncateUtf8Detail, CappedMultiByteDetailStillEncodesAndDecodes) {
  std::string long_detail;
  while (long_detail.size() <= protocol::kMaxDetailBytes) long_detail += "\xE2\x82\xAC";
  protocol::Revocation revocation;
  revocation.detail = truncate_utf8(long_detail, protocol::kMaxDetailBytes);
  EXPECT_LE(revocation.detail.size(), protocol::kMaxDetailBytes);
  EXPECT_EQ(revocation.detail.size() % 3, 0U);
  auto decoded = protocol::decode<protocol::Revocation>(protocol::encode(revocation));
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->detail, revocation.detail);
}

}  // namespace
}  // namespace gsvs
