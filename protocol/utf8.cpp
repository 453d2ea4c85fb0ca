#include "protocol/utf8.h"

namespace gsvs::utf8 {

Character decode(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return {1, lead};
  std::size_t extra = 0;
  std::uint32_t code_point = 0;
  if ((lead & 0xE0) == 0xC0) {
    extra = 1;
    code_point = lead & 0x1Fu;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2;
    code_point = lead & 0x0Fu;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3;
    code_point = lead & 0x07u;
  } else {
    return {};
  }
  if (at + extra >= text.size()) return {};
  for (std::size_t k = 1; k <= extra; ++k) {
    const auto next = static_cast<unsigned char>(text[at + k]);
    if ((next & 0xC0) != 0x80) return {};
    code_point = (code_point << 6) | (next & 0x3Fu);
  }
  static constexpr std::uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
  if (code_point < kMinForLength[extra] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return {};
  }
  return {extra + 1, code_point};
}

bool valid(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const Character c = decode(text, at);
    if (c.length == 0) return false;
    at += c.length;
  }
  return true;
}

}  // namespace gsvs::utf8
