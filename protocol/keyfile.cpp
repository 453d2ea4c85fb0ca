#include "protocol/keyfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
      return Error{path +
                   " already exists; refusing to overwrite a key (move it away first, or give "
                   "keygen --force to replace it: the old key is lost)"};
    }
    return Error{"cannot create " + path + ": " + errno_text()};
  }
  // O_TRUNC keeps an old file's mode; set it explicitly so a secret never stays readable.
  if (::fchmod(fd.get(), mode) != 0) return Error{"cannot chmod " + path + ": " + errno_text()};
  return write_all(fd.get(), contents, path);
}

// Key files are one line; anything much larger is not one.
constexpr std::size_t kMaxKeyFileBytes = 4096;
// A key set: kMaxKeySet lines of a key, with room for comments.
constexpr std::size_t kMaxKeySetFileBytes = 1 << 16;

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
  // A public key (keygen's FILE.pub, mode 0644) given where the secret one goes: say so, rather
  // than ask for a chmod that would lead on to "not a key file".
  if (parse_public_key_hex(*contents)) {
    return Error{"secret key " + path +
                 " is not a key file for a secret key: it holds a bare public key (64 hex "
                 "digits), as keygen's FILE.pub does; keygen writes the secret key to FILE: give "
                 "that file"};
  }
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

Result<std::vector<crypto::PublicKey>> public_keys_from_hex_or_file(
    const std::string& hex_or_path) {
  std::vector<crypto::PublicKey> keys;
  const auto add = [&keys](std::string_view hex, const std::string& where) -> Status {
    auto key = parse_public_key_hex(hex);
    if (!key) return Error{where + key.error()};
    if (std::find(keys.begin(), keys.end(), *key) != keys.end()) {
      return Error{where + "key " + to_hex(*key) + " is listed twice"};
    }
    if (keys.size() == kMaxKeySet) {
      return Error{where + "more than " + std::to_string(kMaxKeySet) + " keys"};
    }
    keys.push_back(*key);
    return Status::success();
  };
  const bool inline_keys =
      ::access(hex_or_path.c_str(), F_OK) != 0 &&
      (hex_or_path.find(',') != std::string::npos || parse_public_key_hex(hex_or_path).ok());
  if (inline_keys) {
    std::string_view rest = hex_or_path;
    for (std::size_t n = 1;; ++n) {
      const std::size_t comma = rest.find(',');
      if (auto added = add(rest.substr(0, comma), "key " + std::to_string(n) + ": "); !added) {
        return Error{added.error()};
      }
      if (comma == std::string_view::npos) return keys;
      rest.remove_prefix(comma + 1);
    }
  }
  if (::access(hex_or_path.c_str(), F_OK) != 0) {
    return Error{"'" + hex_or_path +
                 "' is neither 64 hex characters (or several, separated by commas) nor an "
                 "existing key file"};
  }
  auto file = read_regular_file(hex_or_path, kMaxKeySetFileBytes);
  if (!file) return Error{"key set: " + file.error()};
  std::istringstream lines(file->contents);
  std::string line;
  for (std::size_t n = 1; std::getline(lines, line); ++n) {
    const std::string_view text = trim(std::string_view(line).substr(0, line.find('#')));
    if (text.empty()) continue;
    if (auto added = add(text, "key set " + hex_or_path + " line " + std::to_string(n) + ": ");
        !added) {
      return Error{added.error()};
    }
  }
  if (keys.empty()) return Error{"key set " + hex_or_path + ": no key in it"};
  return keys;
}

Result<crypto::PublicKey> public_key_from_hex_or_file(const std::string& hex_or_path) {
  if (auto key = parse_public_key_hex(hex_or_path)) return key;
  if (::access(hex_or_path.c_str(), F_OK) != 0) {
    return Error{"'" + hex_or_path + "' is neither 64 hex characters nor an existing key file"};
  }
  return read_public_key(hex_or_path);
}

}  // namespace gsvs::keyfile
