#include "protocol/crypto.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <mutex>
#include <stdexcept>
#include <string>

namespace gsvs::crypto {

Status init() {
  // A static's initialiser runs once, and other threads wait for it.
  static const Status ready = []() -> Status {
    if (sodium_init() < 0) return Error{"libsodium failed to initialise"};
    try {
      // SHA-256 too, so that an OpenSSL without it stops a program at its start.
      static_cast<void>(sha256(ByteView{}));
    } catch (const std::runtime_error& e) {
      return Error{e.what()};
    }
    return {};
  }();
  return ready;
}

namespace {

// OpenSSL's reason for its last failure, for an error message; clears OpenSSL's error queue.
std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no reason given";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

// OpenSSL's SHA-256 rather than libsodium's: libsodium 1.0.18 has only portable C, where
// OpenSSL uses the CPU's SHA extensions or AVX2: about three times faster for what the VS hashes
// a message, up to six on long inputs (docs/PROTOCOL.md §3.1). Fetched once; contexts reused.
const EVP_MD* sha256_algorithm() {
  static const EVP_MD* const algorithm = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) {
      throw std::runtime_error(
          "OpenSSL offers no SHA-256 (EVP_MD_fetch: " + openssl_reason() +
          "); check OPENSSL_CONF and the providers its configuration asks for");
    }
    return fetched;
  }();
  return algorithm;
}

struct DigestContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextFree>;

void check_digest(int openssl_result) {
  if (openssl_result != 1)
    throw std::runtime_error("OpenSSL's SHA-256 failed: " + openssl_reason());
}

DigestContext new_sha256_context() {
  DigestContext context(EVP_MD_CTX_new());
  if (context == nullptr) throw std::runtime_error("OpenSSL could not allocate a digest context");
  check_digest(EVP_DigestInit_ex2(context.get(), sha256_algorithm(), nullptr));
  return context;
}

Hash32 finish_digest(EVP_MD_CTX* context) {
  Hash32 out;
  check_digest(EVP_DigestFinal_ex(context, out.bytes.data(), nullptr));
  return out;
}

// For the functions that need libsodium initialised; a program has called init() at its start.
void require_init() {
  if (auto ready = init(); !ready) throw std::runtime_error(ready.error());
}

}  // namespace

Hash32 sha256(ByteView data) {
  // One context per thread, reset for each hash: no allocation per call.
  thread_local const DigestContext context = new_sha256_context();
  check_digest(EVP_DigestInit_ex2(context.get(), nullptr, nullptr));
  check_digest(EVP_DigestUpdate(context.get(), data.data(), data.size()));
  return finish_digest(context.get());
}

struct Sha256::State {
  DigestContext context = new_sha256_context();
  bool finished = false;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {}
Sha256::~Sha256() = default;

Sha256& Sha256::update(ByteView data) {
  if (state_->finished) throw std::logic_error("Sha256::update after finish");
  check_digest(EVP_DigestUpdate(state_->context.get(), data.data(), data.size()));
  return *this;
}

Hash32 Sha256::finish() {
  if (state_->finished) throw std::logic_error("Sha256::finish called twice");
  state_->finished = true;
  return finish_digest(state_->context.get());
}

void random_bytes(std::span<std::uint8_t> out) {
  require_init();
  randombytes_buf(out.data(), out.size());
}

SecretKey SecretKey::generate() {
  Seed seed = random_fixed<32>();
  SecretKey key = from_seed(seed);
  crypto::wipe(seed.bytes);
  return key;
}

SecretKey SecretKey::from_seed(const Seed& seed) {
  require_init();
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
