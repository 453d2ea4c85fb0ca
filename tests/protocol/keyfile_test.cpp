#include "protocol/keyfile.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/regular_file.h"

namespace gsvs::keyfile {
namespace {

// The one errno printer of the project (std::strerror is not safe from several threads).
TEST(ErrnoText, NamesTheGivenErrorOrTheCurrentErrno) {
  EXPECT_EQ(errno_text(ENOENT), "No such file or directory");
  errno = EACCES;
  EXPECT_EQ(errno_text(), "Permission denied");
}

crypto::Seed seed_of(std::uint8_t fill) {
  crypto::Seed seed;
  seed.bytes.fill(fill);
  return seed;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/gsvs-keyfile-test-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    ASSERT_NE(::mkdtemp(buffer.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = buffer.data();
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  [[nodiscard]] std::string path(std::string_view name) const {
    return dir_ + "/" + std::string(name);
  }

  static void write_text(const std::string& file, std::string_view text, mode_t mode) {
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      ASSERT_TRUE(out.good()) << file;
      out << text;
    }
    ASSERT_EQ(::chmod(file.c_str(), mode), 0) << file;
  }

  static std::string read_text(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static mode_t mode_of(const std::string& file) {
    struct stat info {};
    EXPECT_EQ(::stat(file.c_str(), &info), 0) << file;
    return info.st_mode & 07777;
  }

  std::string dir_;
};

TEST_F(KeyFile, WriteKeyPairCreatesPrivateSecretAndPublicFile) {
  auto key = crypto::SecretKey::from_seed(seed_of(0x11));
  const std::string secret = path("node.key");
  ASSERT_TRUE(write_key_pair(secret, key).ok());

  EXPECT_EQ(mode_of(secret), 0600u);
  EXPECT_EQ(mode_of(secret + ".pub"), 0644u);
  EXPECT_EQ(read_text(secret), "gsvs-ed25519-secret-v1 " + std::string(64, '1') + "\n");
  EXPECT_EQ(read_text(secret + ".pub"), to_hex(key.public_key()) + "\n");

  auto loaded = read_secret_key(secret);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->public_key(), key.public_key());
  const auto message = as_bytes("signed after a round trip through a file");
  EXPECT_EQ(loaded->sign(message), key.sign(message));

  auto pub = read_public_key(secret + ".pub");
  ASSERT_TRUE(pub.ok()) << pub.error();
  EXPECT_EQ(*pub, key.public_key());
}

TEST_F(KeyFile, GeneratedKeyRoundTrips) {
  auto key = crypto::SecretKey::generate();
  const std::string secret = path("generated.key");
  ASSERT_TRUE(write_key_pair(secret, key).ok());
  auto loaded = read_secret_key(secret);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->public_key(), key.public_key());
  EXPECT_EQ(loaded->seed(), key.seed());
}

// The .pub file given where the secret key goes is named for what it is (it is mode 0644, and was
// met with 'run chmod 600', after which it was "not a key file").
TEST_F(KeyFile, APublicKeyGivenAsTheSecretOneIsNamed) {
  const std::string secret = path("pair.key");
  ASSERT_TRUE(write_key_pair(secret, crypto::SecretKey::generate()).ok());
  auto loaded = read_secret_key(secret + ".pub");
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(contains(loaded.error(), "holds a bare public key")) << loaded.error();
  EXPECT_FALSE(contains(loaded.error(), "chmod")) << loaded.error();
}

TEST_F(KeyFile, RefusesToOverwriteAnExistingKey) {
  auto first = crypto::SecretKey::from_seed(seed_of(0x21));
  auto second = crypto::SecretKey::from_seed(seed_of(0x22));
  const std::string secret = path("id.key");
  ASSERT_TRUE(write_key_pair(secret, first).ok());
  const std::string before = read_text(secret);
  const std::string before_pub = read_text(secret + ".pub");

  auto again = write_key_pair(secret, second);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(contains(again.error(), "already exists")) << again.error();
  EXPECT_TRUE(contains(again.error(), secret)) << again.error();
  EXPECT_EQ(read_text(secret), before);
  EXPECT_EQ(read_text(secret + ".pub"), before_pub);
  auto loaded = read_secret_key(secret);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->public_key(), first.public_key());
}

TEST_F(KeyFile, ExistingPublicFileLeavesNoHalfWrittenPair) {
  // A stale .pub from another key must not end up next to a fresh secret key.
  auto old_key = crypto::SecretKey::from_seed(seed_of(0x23));
  auto new_key = crypto::SecretKey::from_seed(seed_of(0x24));
  const std::string secret = path("pair.key");
  write_text(secret + ".pub", to_hex(old_key.public_key()) + "\n", 0644);

  auto written = write_key_pair(secret, new_key);
  ASSERT_FALSE(written.ok());
  EXPECT_TRUE(contains(written.error(), secret + ".pub")) << written.error();
  EXPECT_TRUE(contains(written.error(), "already exists")) << written.error();
  EXPECT_FALSE(std::filesystem::exists(secret)) << "secret key left without its public half";
  EXPECT_EQ(read_text(secret + ".pub"), to_hex(old_key.public_key()) + "\n");

  // Once the stale file is moved away, the same call succeeds.
  ASSERT_EQ(::unlink((secret + ".pub").c_str()), 0);
  ASSERT_TRUE(write_key_pair(secret, new_key).ok());
  auto pub = read_public_key(secret + ".pub");
  ASSERT_TRUE(pub.ok()) << pub.error();
  EXPECT_EQ(*pub, new_key.public_key());
}

TEST_F(KeyFile, OverwriteAllowedResetsTheMode) {
  auto first = crypto::SecretKey::from_seed(seed_of(0x31));
  auto second = crypto::SecretKey::from_seed(seed_of(0x32));
  const std::string secret = path("rotate.key");
  ASSERT_TRUE(write_key_pair(secret, first).ok());
  ASSERT_EQ(::chmod(secret.c_str(), 0644), 0);  // someone loosened it
  ASSERT_TRUE(write_key_pair(secret, second, Overwrite::kAllow).ok());
  EXPECT_EQ(mode_of(secret), 0600u);
  auto loaded = read_secret_key(secret);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->public_key(), second.public_key());
  auto pub = read_public_key(secret + ".pub");
  ASSERT_TRUE(pub.ok()) << pub.error();
  EXPECT_EQ(*pub, second.public_key());
}

TEST_F(KeyFile, DoesNotWriteThroughASymlink) {
  auto key = crypto::SecretKey::from_seed(seed_of(0x41));
  const std::string target = path("target");
  write_text(target, "untouched", 0644);
  const std::string link = path("link.key");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_FALSE(write_key_pair(link, key).ok());
  EXPECT_FALSE(write_key_pair(link, key, Overwrite::kAllow).ok());
  EXPECT_EQ(read_text(target), "untouched");
}

TEST_F(KeyFile, RefusesSecretKeyReadableByOthers) {
  auto key = crypto::SecretKey::from_seed(seed_of(0x51));
  const std::string secret = path("loose.key");
  ASSERT_TRUE(write_key_pair(secret, key).ok());
  for (mode_t mode : {0640u, 0604u, 0660u, 0620u, 0602u, 0644u, 0666u, 0610u, 0601u}) {
    ASSERT_EQ(::chmod(secret.c_str(), mode), 0);
    auto loaded = read_secret_key(secret);
    ASSERT_FALSE(loaded.ok()) << std::oct << mode;
    EXPECT_TRUE(contains(loaded.error(), "chmod 600")) << loaded.error();
    EXPECT_TRUE(contains(loaded.error(), secret)) << loaded.error();
  }
  // 0400 (read-only for the owner) is as private as 0600.
  for (mode_t mode : {0600u, 0400u}) {
    ASSERT_EQ(::chmod(secret.c_str(), mode), 0);
    auto loaded = read_secret_key(secret);
    ASSERT_TRUE(loaded.ok()) << std::oct << mode << ": " << loaded.error();
    EXPECT_EQ(loaded->public_key(), key.public_key());
  }
}

TEST_F(KeyFile, SecretKeyFileErrors) {
  const std::string header = "gsvs-ed25519-secret-v1 ";
  const std::string hex(64, 'a');

  auto missing = read_secret_key(path("missing.key"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.error(), "cannot open")) << missing.error();
  EXPECT_TRUE(contains(missing.error(), "missing.key")) << missing.error();

  struct Case {
    const char* name;
    std::string contents;
  };
  const std::vector<Case> bad = {
      {"empty", ""},
      {"garbage", "this is not a key\n"},
      {"binary", std::string("\x00\x01\x02\xff", 4)},
      {"wrong header", "gsvs-ed25519-secret-v2 " + hex + "\n"},
      {"no header", hex + "\n"},
      {"header only", header + "\n"},
      {"short hex", header + hex.substr(2) + "\n"},
      {"odd hex", header + hex.substr(1) + "\n"},
      {"long hex", header + hex + "aa\n"},
      {"non-hex", header + std::string(63, 'a') + "g\n"},
      {"two keys", header + hex + "\n" + header + hex + "\n"},
  };
  for (const auto& c : bad) {
    const std::string file = path(std::string("bad-") + c.name);
    write_text(file, c.contents, 0600);
    auto loaded = read_secret_key(file);
    ASSERT_FALSE(loaded.ok()) << c.name;
    EXPECT_TRUE(contains(loaded.error(), "not a key file")) << c.name << ": " << loaded.error();
    EXPECT_TRUE(contains(loaded.error(), file)) << loaded.error();
  }

  // Line endings around a good key are accepted.
  for (const std::string& contents : {header + hex, header + hex + "\n", header + hex + "\r\n"}) {
    const std::string file = path("ok.key");
    write_text(file, contents, 0600);
    auto loaded = read_secret_key(file);
    EXPECT_TRUE(loaded.ok()) << loaded.error();
  }

  auto directory = read_secret_key(dir_);
  ASSERT_FALSE(directory.ok());
  EXPECT_FALSE(directory.error().empty());

  const std::string large = path("large.key");
  write_text(large, std::string(5000, 'a'), 0600);
  auto too_large = read_secret_key(large);
  ASSERT_FALSE(too_large.ok());
  EXPECT_TRUE(contains(too_large.error(), "too large")) << too_large.error();
}

// Every way a key is read, run on a thread: a reader that blocks on a FIFO is released (by
// opening the FIFO's other end) and reported instead of hanging the test binary.
std::string read_error(const std::function<std::string()>& read, const std::string& fifo) {
  auto result = std::async(std::launch::async, read);
  if (result.wait_for(std::chrono::seconds(10)) == std::future_status::timeout) {
    const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    result.wait();
    if (writer >= 0) ::close(writer);
    return "blocked on " + fifo;
  }
  return result.get();
}

TEST_F(KeyFile, RefusesWhatIsNotARegularFileWithoutBlocking) {
  const std::string fifo = path("fifo.key");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string directory = path("dir.key");
  ASSERT_EQ(::mkdir(directory.c_str(), 0700), 0);
  // Each returns the error, or "" when the key loads.
  auto error_of = [](const auto& result) { return result.ok() ? std::string() : result.error(); };
  struct Case {
    const char* name;
    std::function<std::string(const std::string&)> read;
  };
  const std::vector<Case> readers = {
      {"secret", [&](const std::string& p) { return error_of(read_secret_key(p)); }},
      {"public", [&](const std::string& p) { return error_of(read_public_key(p)); }},
      {"hex or file",
       [&](const std::string& p) { return error_of(public_key_from_hex_or_file(p)); }},
  };
  for (const auto& reader : readers) {
    for (const auto& target_and_kind :
         {std::pair{fifo, "a FIFO"}, std::pair{directory, "a directory"}}) {
      // Not a structured binding: a lambda below captures it, which clang accepts only from 16.
      const std::string& target = target_and_kind.first;
      const char* const kind = target_and_kind.second;
      const std::string error = read_error([&] { return reader.read(target); }, fifo);
      EXPECT_TRUE(contains(error, target)) << reader.name << ": " << error;
      EXPECT_TRUE(contains(error, kind)) << reader.name << ": " << error;
      EXPECT_TRUE(contains(error, "not a regular file")) << reader.name << ": " << error;
    }
  }
}

TEST_F(KeyFile, PublicKeyFiles) {
  auto key = crypto::SecretKey::from_seed(seed_of(0x61));
  const std::string file = path("peer.pub");
  ASSERT_TRUE(write_public_key(file, key.public_key()).ok());
  EXPECT_EQ(read_text(file), to_hex(key.public_key()) + "\n");
  auto loaded = read_public_key(file);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(*loaded, key.public_key());

  auto missing = read_public_key(path("nope.pub"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.error(), "nope.pub")) << missing.error();

  const std::string garbage = path("garbage.pub");
  write_text(garbage, "hello world\n", 0644);
  auto bad = read_public_key(garbage);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.error(), "64 hex")) << bad.error();
  EXPECT_TRUE(contains(bad.error(), garbage)) << bad.error();

  const std::string short_hex = path("short.pub");
  write_text(short_hex, to_hex(key.public_key()).substr(2) + "\n", 0644);
  EXPECT_FALSE(read_public_key(short_hex).ok());
}

TEST_F(KeyFile, PublicKeyFromHexOrFile) {
  auto key = crypto::SecretKey::from_seed(seed_of(0x71));
  const std::string hex = to_hex(key.public_key());

  auto from_hex_text = public_key_from_hex_or_file(hex);
  ASSERT_TRUE(from_hex_text.ok()) << from_hex_text.error();
  EXPECT_EQ(*from_hex_text, key.public_key());

  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto from_upper = public_key_from_hex_or_file(upper);
  ASSERT_TRUE(from_upper.ok()) << from_upper.error();
  EXPECT_EQ(*from_upper, key.public_key());

  const std::string secret = path("vs.key");
  ASSERT_TRUE(write_key_pair(secret, key).ok());
  auto from_file = public_key_from_hex_or_file(secret + ".pub");
  ASSERT_TRUE(from_file.ok()) << from_file.error();
  EXPECT_EQ(*from_file, key.public_key());

  auto neither = public_key_from_hex_or_file(path("does-not-exist"));
  ASSERT_FALSE(neither.ok());
  EXPECT_TRUE(contains(neither.error(), "neither")) << neither.error();
  EXPECT_TRUE(contains(neither.error(), "does-not-exist")) << neither.error();

  auto short_hex = public_key_from_hex_or_file(hex.substr(2));
  ASSERT_FALSE(short_hex.ok());
  EXPECT_TRUE(contains(short_hex.error(), "neither")) << short_hex.error();

  // An existing file that is not a public key file: the file's error, not the hex one.
  const std::string garbage = path("garbage");
  write_text(garbage, "xyz", 0644);
  auto bad_file = public_key_from_hex_or_file(garbage);
  ASSERT_FALSE(bad_file.ok());
  EXPECT_TRUE(contains(bad_file.error(), garbage)) << bad_file.error();

  // The secret key file is not a public key file.
  EXPECT_FALSE(public_key_from_hex_or_file(secret).ok());

  auto empty = public_key_from_hex_or_file("");
  EXPECT_FALSE(empty.ok());
}

}  // namespace
}  // namespace gsvs::keyfile
