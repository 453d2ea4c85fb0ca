#include "protocol/crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/bytes.h"

namespace gsvs::crypto {
namespace {

// RFC 8032 §7.1, TEST 1.
constexpr std::string_view kRfcSeed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfcPublic =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfcSignature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6bd25bf5f0595bbe24655141438e7a100b";

Seed rfc_seed() {
  auto seed = fixed_from_hex<32>(kRfcSeed);
  EXPECT_TRUE(seed.has_value());
  return seed.value_or(Seed{});
}

Seed seed_of(std::uint8_t fill) {
  Seed seed;
  seed.bytes.fill(fill);
  return seed;
}

TEST(Crypto, FromSeedMatchesRfc8032Vector1) {
  auto key = SecretKey::from_seed(rfc_seed());
  EXPECT_EQ(to_hex(key.public_key()), kRfcPublic);
  auto sig = key.sign({});
  EXPECT_EQ(to_hex(sig), kRfcSignature);
  EXPECT_TRUE(verify(key.public_key(), {}, sig));
  EXPECT_EQ(to_hex(key.seed()), kRfcSeed);
}

TEST(Crypto, FromSeedIsDeterministic) {
  auto a = SecretKey::from_seed(seed_of(0x42));
  auto b = SecretKey::from_seed(seed_of(0x42));
  auto c = SecretKey::from_seed(seed_of(0x43));
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_NE(a.public_key(), c.public_key());
  const auto message = as_bytes("the same message");
  EXPECT_EQ(a.sign(message), b.sign(message));  // Ed25519 signatures are deterministic
  EXPECT_NE(a.sign(message), c.sign(message));
  EXPECT_EQ(a.seed(), seed_of(0x42));
}

TEST(Crypto, GenerateGivesDistinctWorkingKeys) {
  auto a = SecretKey::generate();
  auto b = SecretKey::generate();
  EXPECT_NE(a.public_key(), b.public_key());
  const auto message = as_bytes("hello");
  EXPECT_TRUE(verify(a.public_key(), message, a.sign(message)));
  // A generated key is reproducible from its seed (what a key file stores).
  EXPECT_EQ(SecretKey::from_seed(a.seed()).public_key(), a.public_key());
}

TEST(Crypto, VerifyRejectsWrongKeyMessageOrSignature) {
  auto key = SecretKey::from_seed(seed_of(1));
  auto other = SecretKey::from_seed(seed_of(2));
  const std::string text = "signed text";
  auto sig = key.sign(as_bytes(text));
  EXPECT_TRUE(verify(key.public_key(), as_bytes(text), sig));
  EXPECT_FALSE(verify(other.public_key(), as_bytes(text), sig));
  EXPECT_FALSE(verify(key.public_key(), as_bytes("signed texT"), sig));
  EXPECT_FALSE(verify(key.public_key(), as_bytes(text + "x"), sig));
  EXPECT_FALSE(verify(key.public_key(), as_bytes(text), Signature{}));
  for (std::size_t i = 0; i < Signature::size; ++i) {
    auto bad = sig;
    bad.bytes[i] ^= 0x01;
    EXPECT_FALSE(verify(key.public_key(), as_bytes(text), bad)) << "byte " << i;
  }
}

TEST(Crypto, Sha256KnownAnswers) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // FIPS 180-2 appendix B.3 (a million "a": many blocks) and the 896-bit example message.
  EXPECT_EQ(to_hex(sha256(Bytes(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(
      to_hex(sha256(as_bytes("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                             "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"))),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Crypto, Sha256IncrementalEqualsOneShot) {
  Bytes data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
  const Hash32 expected = sha256(data);

  EXPECT_EQ(Sha256().finish(), sha256({}));
  EXPECT_EQ(Sha256().update(ByteView(data)).finish(), expected);

  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    Sha256 h;
    std::size_t pos = 0;
    while (pos < data.size()) {
      std::size_t chunk = std::uniform_int_distribution<std::size_t>(0, 130)(rng);
      chunk = std::min(chunk, data.size() - pos);
      h.update(ByteView(data).subspan(pos, chunk));
      pos += chunk;
    }
    EXPECT_EQ(h.finish(), expected) << "round " << round;
  }

  // The string_view and FixedBytes overloads hash the same bytes as the one-shot function.
  Hash32 fixed = sha256(as_bytes("x"));
  Sha256 mixed;
  mixed.update(std::string_view("ab")).update(std::string_view("c")).update(fixed);
  Bytes joined = {'a', 'b', 'c'};
  joined.insert(joined.end(), fixed.bytes.begin(), fixed.bytes.end());
  EXPECT_EQ(mixed.finish(), sha256(joined));
}

// One-shot hashes share a context per thread, and each Sha256 has its own: none disturbs
// another, on one thread or on several at once.
TEST(Crypto, Sha256ContextsDoNotInterfere) {
  const std::string first_text = "the first of two hashes in progress";
  const std::string second_text = "and the second, longer, which takes two updates and a few more";
  Sha256 first;
  Sha256 second;
  first.update(std::string_view(first_text).substr(0, 10));
  second.update(std::string_view(second_text).substr(0, 20));
  const Hash32 between = sha256(as_bytes("abc"));
  first.update(std::string_view(first_text).substr(10));
  second.update(std::string_view(second_text).substr(20));
  EXPECT_EQ(second.finish(), sha256(as_bytes(second_text)));
  EXPECT_EQ(first.finish(), sha256(as_bytes(first_text)));
  EXPECT_EQ(to_hex(between), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  // Thread 0 hashes a known answer; the others, inputs of one to four blocks.
  constexpr std::size_t kThreads = 4;
  std::vector<Bytes> inputs{Bytes{'a', 'b', 'c'}};
  std::vector<Hash32> expected{
      *fixed_from_hex<32>("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")};
  for (std::size_t t = 1; t < kThreads; ++t) {
    inputs.emplace_back(64 * t + 31, static_cast<std::uint8_t>(t));
    expected.push_back(sha256(inputs.back()));
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2000; ++round) {
        const bool one_shot = round % 2 == 0;
        const Hash32 got = one_shot ? sha256(inputs[t]) : Sha256().update(inputs[t]).finish();
        if (got != expected[t]) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(Crypto, Sha256IsSpentAfterFinish) {
  Sha256 h;
  h.update(std::string_view("abc"));
  static_cast<void>(h.finish());
  EXPECT_THROW(h.update(std::string_view("more")), std::logic_error);
  EXPECT_THROW(static_cast<void>(h.finish()), std::logic_error);
}

TEST(Bytes, HexRoundTrip) {
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  const std::string hex = to_hex(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  EXPECT_EQ(from_hex(hex), all);
  EXPECT_EQ(to_hex(Bytes{}), "");
}

struct HexCase {
  std::string_view hex;
  std::optional<Bytes> decoded;  // nullopt: refused
};

TEST(Bytes, HexDecodingAcceptsExactlyPairsOfHexDigits) {
  const std::vector<HexCase> cases{
      {"", Bytes{}},
      {"00ff", Bytes{0x00, 0xff}},
      {"ABCDEF", Bytes{0xab, 0xcd, 0xef}},
      {"aBcD", Bytes{0xab, 0xcd}},
      {"09af", Bytes{0x09, 0xaf}},
      // Odd length.
      {"a", std::nullopt},
      {"abc", std::nullopt},
      // A non-hex character in either half of a pair, at the start, in the middle or at the end.
      {"0g", std::nullopt},
      {"g0", std::nullopt},
      {"00zz", std::nullopt},
      {"zz00", std::nullopt},
      {"GG", std::nullopt},
      // Just outside the digit ranges.
      {"::", std::nullopt},  // after '9'
      {"//", std::nullopt},  // before '0'
      {"@@", std::nullopt},  // before 'A'
      {"``", std::nullopt},  // before 'a'
      {"gG", std::nullopt},  // after 'f' and 'F'
      // Prefixes and separators are not skipped.
      {"0x00", std::nullopt},
      {"00 1", std::nullopt},
      {"0 ", std::nullopt},
      {" 00", std::nullopt},
      {"00:11", std::nullopt},
      {"00-11", std::nullopt},
      {"00\n", std::nullopt},
      {std::string_view("0\0", 2), std::nullopt},
      {std::string_view("00\0\0", 4), std::nullopt},
      // Bytes above 0x7f, including those whose low bits look like a digit or a letter.
      {"\xff\xff", std::nullopt},
      {"\xb0\xb1", std::nullopt},  // 0x30 | 0x80
      {"\xc1\xe1", std::nullopt},  // 'A' | 0x80, 'a' | 0x80
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(std::string(c.hex)));
    EXPECT_EQ(from_hex(c.hex), c.decoded);
  }
}

TEST(Bytes, HexDecodingOfEveryCharacterInEitherHalfOfAPair) {
  constexpr std::string_view kLower = "0123456789abcdef";
  constexpr std::string_view kUpper = "0123456789ABCDEF";
  for (int code = 0; code < 256; ++code) {
    const char c = static_cast<char>(code);
    SCOPED_TRACE(code);
    std::optional<std::uint8_t> digit;
    if (auto at = kLower.find(c); at != std::string_view::npos)
      digit = static_cast<std::uint8_t>(at);
    if (auto at = kUpper.find(c); at != std::string_view::npos)
      digit = static_cast<std::uint8_t>(at);
    const std::string high{c, '5'};
    const std::string low{'5', c};
    if (digit) {
      EXPECT_EQ(from_hex(high), Bytes{static_cast<std::uint8_t>(*digit << 4 | 5)});
      EXPECT_EQ(from_hex(low), Bytes{static_cast<std::uint8_t>(0x50 | *digit)});
    } else {
      EXPECT_FALSE(from_hex(high).has_value());
      EXPECT_FALSE(from_hex(low).has_value());
    }
  }
}

TEST(Bytes, FixedFromHexChecksLength) {
  const std::string hex64(64, 'a');
  auto ok = fixed_from_hex<32>(hex64);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(to_hex(*ok), hex64);
  EXPECT_FALSE(fixed_from_hex<32>(hex64.substr(2)).has_value());
  EXPECT_FALSE(fixed_from_hex<32>(hex64 + "aa").has_value());
  EXPECT_FALSE(fixed_from_hex<32>(hex64.substr(1)).has_value());
  EXPECT_FALSE(fixed_from_hex<32>("").has_value());
}

TEST(Crypto, MoveConstructionTransfersTheKey) {
  const auto message = as_bytes("move me");
  auto reference = SecretKey::from_seed(seed_of(7));
  auto source = SecretKey::from_seed(seed_of(7));
  const PublicKey public_key = source.public_key();

  SecretKey destination(std::move(source));
  EXPECT_EQ(destination.public_key(), public_key);
  EXPECT_EQ(destination.sign(message), reference.sign(message));
  EXPECT_EQ(destination.seed(), seed_of(7));

  // The source is wiped but safe: its public key is still readable, its seed is gone, and
  // anything it signs now does not verify.
  EXPECT_EQ(source.public_key(), public_key);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(source.seed().is_zero());
  EXPECT_FALSE(verify(public_key, message, source.sign(message)));
}

TEST(Crypto, MoveAssignmentTransfersTheKey) {
  const auto message = as_bytes("assign me");
  auto reference = SecretKey::from_seed(seed_of(8));
  auto source = SecretKey::from_seed(seed_of(8));
  auto destination = SecretKey::from_seed(seed_of(9));
  destination = std::move(source);
  EXPECT_EQ(destination.public_key(), reference.public_key());
  EXPECT_EQ(destination.sign(message), reference.sign(message));
  EXPECT_EQ(source.public_key(), reference.public_key());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(source.seed().is_zero());
  EXPECT_FALSE(verify(reference.public_key(), message, source.sign(message)));

  // Assigning a key to itself keeps it.
  SecretKey& alias = destination;
  destination = std::move(alias);
  EXPECT_EQ(destination.sign(message), reference.sign(message));
}

TEST(Crypto, WipeZeroes) {
  std::array<std::uint8_t, 16> secret{};
  secret.fill(0xAA);
  wipe(secret);
  for (auto b : secret) {
    EXPECT_EQ(b, 0);
  }
}

TEST(Crypto, RandomBytesAreNotConstant) {
  auto a = random_fixed<32>();
  auto b = random_fixed<32>();
  EXPECT_NE(a, b);
  EXPECT_FALSE(a.is_zero());
}

}  // namespace
}  // namespace gsvs::crypto
