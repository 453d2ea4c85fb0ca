#include "protocol/crypto.h"

#include <sodium.h>

#include <mutex>
#include <stdexcept>

namespace gsvs::crypto {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  });
}

Hash32 sha256(ByteView data) {
  Hash32 out;
  crypto_hash_sha256(out.bytes.data(), data.data(), data.size());
  return out;
}

struct Sha256::State {
  crypto_hash_sha256_state state;
};

Sha256::Sha256() : state_(std::make_unique<State>()) { crypto_hash_sha256_init(&state_->state); }
Sha256::~Sha256() = default;

Sha256& Sha256::update(ByteView data) {
  crypto_hash_sha256_update(&state_->state, data.data(), data.size());
  return *this;
}

Hash32 Sha256::finish() {
  Hash32 out;
  crypto_hash_sha256_final(&state_->state, out.bytes.data());
  return out;
}

void random_bytes(std::span<std::uint8_t> out) {
  init();
  randombytes_buf(out.data(), out.size());
}

SecretKey SecretKey::generate() {
  Seed seed = random_fixed<32>();
  SecretKey key = from_seed(seed);
  crypto::wipe(seed.bytes);
  return key;
}

SecretKey SecretKey::from_seed(const Seed& seed) {
  init();
  SecretKey key;
  crypto_sign_seed_keypair(key.public_.bytes.data(), key.secret_.data(), seed.bytes.data());
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept : secret_(other.secret_), public_(other.public_) {
  other.wipe();
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_ = other.public_;
    other.wipe();
  }
  return *this;
}

SecretKey::~SecretKey() { wipe(); }

void SecretKey::wipe() noexcept { sodium_memzero(secret_.data(), secret_.size()); }

Signature SecretKey::sign(ByteView message) const {
  Signature sig;
  crypto_sign_detached(sig.bytes.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

Seed SecretKey::seed() const {
  Seed seed;
  crypto_sign_ed25519_sk_to_seed(seed.bytes.data(), secret_.data());
  return seed;
}

bool verify(const PublicKey& key, ByteView message, const Signature& signature) {
  return crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                     key.bytes.data()) == 0;
}

void wipe(std::span<std::uint8_t> secret) noexcept { sodium_memzero(secret.data(), secret.size()); }

}  // namespace gsvs::crypto
