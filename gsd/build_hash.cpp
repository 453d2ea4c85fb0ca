#include "gsd/build_hash.h"

#include <cerrno>
#include <fstream>

#include "protocol/crypto.h"
#include "protocol/regular_file.h"

namespace gsvs::gsd {

Result<Hash32> sha256_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path + ": " + errno_text()};
  crypto::Sha256 hash;
  std::vector<char> chunk(1 << 16);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got > 0) {
      hash.update(ByteView(reinterpret_cast<const std::uint8_t*>(chunk.data()), got));
    }
  }
  if (in.bad()) return Error{"error while reading " + path};
  return hash.finish();
}

Result<Hash32> own_sw_hash() { return sha256_of_file("/proc/self/exe"); }

}  // namespace gsvs::gsd
