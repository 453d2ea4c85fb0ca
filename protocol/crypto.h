// Ed25519 signatures (libsodium) and SHA-256 (OpenSSL), behind fixed-size types so no other
// module needs <sodium.h> or OpenSSL's headers. SHA-256 is the project's one hash function: see
// docs/PROTOCOL.md §3.
#pragma once

#include <memory>
#include <string_view>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace gsvs::crypto {

using PublicKey = FixedBytes<32>;
using Signature = FixedBytes<64>;
using Seed = FixedBytes<32>;

// Initialises libsodium and checks that OpenSSL offers SHA-256, once; safe to call from any
// thread, any number of times. Programs call it first and stop with its error (an OPENSSL_CONF
// whose providers offer no SHA-256, say) rather than fail mid-command. The functions below that
// need libsodium initialised call it too and throw std::runtime_error with its error; the
// SHA-256 functions throw the same error where OpenSSL offers none.
[[nodiscard]] Status init();

Hash32 sha256(ByteView data);

// Incremental SHA-256 for hashing several pieces without concatenating them. One use: finish()
// once, and nothing after it (either throws std::logic_error).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(ByteView data);
  Sha256& update(std::string_view text) { return update(as_bytes(text)); }
  template <std::size_t N>
  Sha256& update(const FixedBytes<N>& v) {
    return update(v.view());
  }
  Hash32 finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

void random_bytes(std::span<std::uint8_t> out);
template <std::size_t N>
FixedBytes<N> random_fixed() {
  FixedBytes<N> out;
  random_bytes(out.bytes);
  return out;
}

// An Ed25519 key pair. The secret half is held in memory that is wiped on destruction and on
// move; it is never copied implicitly.
class SecretKey {
 public:
  static SecretKey generate();
  // Deterministic: the same seed always gives the same key (test vectors, key files).
  static SecretKey from_seed(const Seed& seed);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  [[nodiscard]] const PublicKey& public_key() const { return public_; }
  [[nodiscard]] Signature sign(ByteView message) const;
  // The 32-byte seed, for writing a key file. The caller must wipe what it copies.
  [[nodiscard]] Seed seed() const;

 private:
  SecretKey() = default;
  void wipe() noexcept;
  std::array<std::uint8_t, 64> secret_{};  // libsodium's seed || public key layout
  PublicKey public_;
};

bool verify(const PublicKey& key, ByteView message, const Signature& signature);

// Wipes memory that held secret material, in a way the compiler cannot optimise away.
void wipe(std::span<std::uint8_t> secret) noexcept;

}  // namespace gsvs::crypto
