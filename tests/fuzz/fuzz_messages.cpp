// libFuzzer target: protocol::decode_any on arbitrary bytes. Whatever decodes must re-encode to
// exactly the input (one encoding per message), lose its meaning when cut short or extended by
// a byte, and survive signing_input and verify with any key.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "protocol/messages.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace gsvs;  // NOLINT(google-build-using-namespace)

void check_signatures(const protocol::AnyMessage& message, const crypto::PublicKey& key) {
  std::visit(
      [&](const auto& m) {
        for (std::size_t i = 0; i < m.signatures.size(); ++i) {
          (void)protocol::signing_input(m, i);
          (void)protocol::verify(m, key, i);
        }
        if (protocol::verify(m, key, m.signatures.size())) {
          fuzz::fail("verify accepted a signature index past the end");
        }
      },
      message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  auto decoded = protocol::decode_any(input);
  auto kind = protocol::peek_kind(input);
  if (!decoded) return 0;
  if (!kind) fuzz::fail("decode_any accepted what peek_kind refused");

  const Bytes again = protocol::encode_any(*decoded);
  if (again != Bytes(input.begin(), input.end())) fuzz::fail("re-encoding differs from the input");
  if (protocol::decode_any(input.first(size - 1))) fuzz::fail("a proper prefix decoded");
  Bytes longer = again;
  longer.push_back(0);
  if (protocol::decode_any(longer)) fuzz::fail("trailing byte accepted");

  // Any 32 bytes as a key: libsodium must refuse bad points and small orders, never crash.
  fuzz::Input key_bytes(data, size);
  check_signatures(*decoded, key_bytes.fixed<32>());
  return 0;
}
