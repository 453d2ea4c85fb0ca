// libFuzzer target: hex and public-key parsing on arbitrary text. What parses must print back
// as the same hex (lowercased); what fails must really be malformed.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/bytes.h"
#include "protocol/keyfile.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return out;
}

bool all_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gsvs;  // NOLINT(google-build-using-namespace)
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto raw = from_hex(text);
  const bool well_formed = size % 2 == 0 && all_hex(text);
  if (raw.has_value() != well_formed) fuzz::fail("from_hex disagrees with the hex grammar");
  if (raw && to_hex(*raw) != lower(text)) fuzz::fail("from_hex does not round-trip");

  const auto fixed = fixed_from_hex<32>(text);
  if (fixed.has_value() != (well_formed && size == 64)) fuzz::fail("fixed_from_hex<32> length");

  const auto key = keyfile::parse_public_key_hex(text);
  if (key && lower(text).find(to_hex(*key)) == std::string::npos) {
    fuzz::fail("parsed key is not the text's hex");
  }
  if (fixed && !key) fuzz::fail("64 hex characters refused as a key");
  (void)fixed_from_hex<64>(text);
  return 0;
}
