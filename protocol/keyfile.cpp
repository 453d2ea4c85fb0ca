#include "protocol/keyfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "protocol/regular_file.h"

namespace gsvs::keyfile {

namespace {

constexpr std::string_view kSecretHeader = "gsvs-ed25519-secret-v1 ";

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{"cannot write " + path + ": " + errno_text()};
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd) != 0) return Error{"cannot sync " + path + ": " + errno_text()};
  return {};
}

Status write_file(const std::string& path, std::string_view contents, mode_t mode,
                  Overwrite overwrite) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
  flags |= overwrite == Overwrite::kRefuse ? O_EXCL : O_TRUNC;
  FileDescriptor fd(::open(path.c_str(), flags, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return Error{path + " already exists; refusing to overwrite a key (move it away first)"};
    }
    return Error{"cannot create " + path + ": " + errno_text()};
  }
  // O_TRUNC keeps an old file's mode; set it explicitly so a secret never stays readable.
  if (::fchmod(fd.get(), mode) != 0) return Error{"cannot chmod " + path + ": " + errno_text()};
  return write_all(fd.get(), contents, path);
}

// Key files are one line; anything much larger is not one.
constexpr std::size_t kMaxKeyFileBytes = 4096;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

}  // namespace

Status write_key_pair(const std::string& path, const crypto::SecretKey& key, Overwrite overwrite) {
  auto seed = key.seed();
  std::string line = std::string(kSecretHeader) + to_hex(seed) + "\n";
  crypto::wipe(seed.bytes);
  Status written = write_file(path, line, 0600, overwrite);
  crypto::wipe({reinterpret_cast<std::uint8_t*>(line.data()), line.size()});
  if (!written) return written;
  Status pub = write_file(path + ".pub", to_hex(key.public_key()) + "\n", 0644, overwrite);
  // Never leave a new secret key beside a stale or missing public half: remove the secret file
  // this call created (O_EXCL made it ours) so the operator can retry after moving the old file.
  if (!pub && overwrite == Overwrite::kRefuse) ::unlink(path.c_str());
  return pub;
}

Result<crypto::SecretKey> read_secret_key(const std::string& path) {
  auto file = read_regular_file(path, kMaxKeyFileBytes);
  if (!file) return Error{"secret key: " + file.error()};
  std::string* contents = &file->contents;
  const mode_t file_mode = file->mode;
  if ((file_mode & (S_IRWXG | S_IRWXO)) != 0) {
    crypto::wipe({reinterpret_cast<std::uint8_t*>(contents->data()), contents->size()});
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(file_mode & 07777));
    return Error{"secret key " + path + " has mode " + mode +
                 ": group/others may access it; run 'chmod 600 " + path + "'"};
  }
  std::string_view text = trim(*contents);
  Result<crypto::SecretKey> result = Error{"secret key " + path + " is not a key file (expected '" +
                                           std::string(trim(kSecretHeader)) + " <64 hex>')"};
  if (text.substr(0, kSecretHeader.size()) == kSecretHeader) {
    if (auto seed = fixed_from_hex<32>(text.substr(kSecretHeader.size()))) {
      result = crypto::SecretKey::from_seed(*seed);
      crypto::wipe(seed->bytes);
    }
  }
  crypto::wipe({reinterpret_cast<std::uint8_t*>(contents->data()), contents->size()});
  return result;
}

Status write_public_key(const std::string& path, const crypto::PublicKey& key) {
  return write_file(path, to_hex(key) + "\n", 0644, Overwrite::kAllow);
}

Result<crypto::PublicKey> parse_public_key_hex(std::string_view hex) {
  auto key = fixed_from_hex<32>(trim(hex));
  if (!key) return Error{"not a public key: expected 64 hex characters"};
  return *key;
}

Result<crypto::PublicKey> read_public_key(const std::string& path) {
  auto file = read_regular_file(path, kMaxKeyFileBytes);
  if (!file) return Error{"public key: " + file.error()};
  auto key = parse_public_key_hex(file->contents);
  if (!key) return Error{"public key file " + path + ": " + key.error()};
  return key;
}

Result<crypto::PublicKey> public_key_from_hex_or_file(const std::string& hex_or_path) {
  if (auto key = parse_public_key_hex(hex_or_path)) return key;
  if (::access(hex_or_path.c_str(), F_OK) != 0) {
    return Error{"'" + hex_or_path + "' is neither 64 hex characters nor an existing key file"};
  }
  return read_public_key(hex_or_path);
}

}  // namespace gsvs::keyfile
