// Key files. A secret key file holds one line, "gsvs-ed25519-secret-v1 <64 hex seed>"; it is
// created 0600 and refused at load when group or others may read or write it. A public key file
// holds the key as 64 hex characters.
#pragma once

#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/result.h"

namespace gsvs::keyfile {

enum class Overwrite { kRefuse, kAllow };

// Writes the secret key 0600 and its public half to `path + ".pub"`.
Status write_key_pair(const std::string& path, const crypto::SecretKey& key,
                      Overwrite overwrite = Overwrite::kRefuse);
Result<crypto::SecretKey> read_secret_key(const std::string& path);

Status write_public_key(const std::string& path, const crypto::PublicKey& key);
Result<crypto::PublicKey> read_public_key(const std::string& path);
Result<crypto::PublicKey> parse_public_key_hex(std::string_view hex);
// For options documented as HEX|FILE: 64 hex characters, or else a path to a public key file.
Result<crypto::PublicKey> public_key_from_hex_or_file(const std::string& hex_or_path);

// A fleet's key set (docs/OPERATIONS.md "Running a fleet"): the public keys of its VS nodes, for
// the options that trust a VS (gsd's vs_public_key, the client's --vs-pubkey). Given as 64 hex
// characters, several of them separated by commas, or a file holding one key per line (from '#'
// to the end of a line is a comment; blank lines are ignored), such as a public key file, a set
// of one. At most
// kMaxKeySet keys, none twice.
inline constexpr std::size_t kMaxKeySet = 256;
Result<std::vector<crypto::PublicKey>> public_keys_from_hex_or_file(const std::string& hex_or_path);

}  // namespace gsvs::keyfile
