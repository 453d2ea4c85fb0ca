#include "protocol/bytes.h"

#include <algorithm>

namespace gsvs {

std::string to_hex(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (auto b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::string short_hex(ByteView data, std::size_t chars) {
  return to_hex(data.first(std::min(data.size(), (chars + 1) / 2))).substr(0, chars);
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  // text[cut] is the first byte left out; while it continues a character (10xxxxxx), that
  // character began before the cut, so it goes too. A character has at most three continuation
  // bytes; longer runs are not UTF-8 and are cut where the limit falls.
  auto continues = [&](std::size_t at) {
    return (static_cast<unsigned char>(text[at]) & 0xC0u) == 0x80u;
  };
  std::size_t cut = max_bytes;
  for (int step = 0; step < 3 && cut > 0 && continues(cut); ++step) --cut;
  if (continues(cut)) cut = max_bytes;
  return std::string(text.substr(0, cut));
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]);
    int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>((hi << 4) | lo));
  }
  return out;
}

}  // namespace gsvs
