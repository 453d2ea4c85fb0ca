#include "protocol/bytes.h"

#include <sodium.h>

#include <algorithm>

namespace gsvs {

std::string to_hex(ByteView data) {
  // sodium_bin2hex writes a terminating NUL after the digits.
  std::string out(data.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
  out.pop_back();
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

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  if (hex.empty()) return Bytes{};  // sodium_hex2bin wants a buffer even for nothing
  Bytes out(hex.size() / 2);
  std::size_t written = 0;
  // No characters to ignore and no end pointer: any character outside 0-9, a-f, A-F, wherever
  // it stands, is refused.
  const int rc =
      sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, nullptr);
  if (rc != 0 || written != out.size()) {
    sodium_memzero(out.data(), out.size());  // what was decoded before the bad character
    return std::nullopt;
  }
  return out;
}

}  // namespace gsvs
