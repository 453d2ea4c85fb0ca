// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing above U+10FFFF. Text
// fields on the wire must be valid UTF-8; log lines keep valid characters and escape the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gsvs::utf8 {

struct Character {
  std::size_t length = 0;  // 0: the bytes at this position are not a well-formed character
  std::uint32_t code_point = 0;
};

// The character that starts at text[at] (at < text.size()).
Character decode(std::string_view text, std::size_t at);

bool valid(std::string_view text);

}  // namespace gsvs::utf8
