// Helper for bench/audit_verify.sh and bench/long_run.sh:
//   audit_verify_bench generate STORE ENTRIES [SEED [SESSIONS [SECONDS [SEGMENT_BYTES]]]]
//                                                       writes a generated store (and
//                                                       STORE.vs.pub): SESSIONS at a time (16),
//                                                       about SECONDS long each (600); a STORE
//                                                       ending in '/' is a segmented store,
//                                                       rotated at SEGMENT_BYTES (1 GiB, vsd's
//                                                       default); prints one JSON line
//   audit_verify_bench key PATH [SEED]                  writes the VS key of the stores of SEED
//                                                       (1) as a vsd key file, for `vsd run`
//   audit_verify_bench raw-verify COUNT THREADS         times COUNT crypto_sign_verify_detached
//                                                       calls on THREADS threads; prints JSON
// The raw loop is the baseline the audit's throughput is a ratio to (docs/PERFORMANCE.md): the
// same number of signatures, on the same number of threads, over inputs of a typical size.
#include <sodium.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/keyfile.h"
#include "storage/log.h"
#include "tests/support/store_generator.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: audit_verify_bench generate STORE ENTRIES [SEED [SESSIONS [SECONDS "
               "[SEGMENT_BYTES]]]]\n"
               "       audit_verify_bench key PATH [SEED]\n"
               "       audit_verify_bench raw-verify COUNT THREADS\n");
  return 2;
}

int generate(const std::string& path, std::uint64_t entries, std::uint64_t seed,
             std::uint32_t concurrent, std::uint32_t session_seconds, std::uint64_t segment_bytes) {
  if (path.empty()) return usage();
  gsvs::testing::StoreGeneratorOptions options;
  options.segment_max_bytes = segment_bytes;
  options.seed = seed;
  options.min_entries = entries;
  options.concurrent_sessions = concurrent;
  options.players_per_session = 8;
  options.session_seconds = session_seconds;
  options.checkpoint_every = 1000;
  // As an operator who reviews each quarantine: retention (bench/long_run.sh) may then retire
  // the segments that held them.
  options.pardon_quarantines = true;
  const auto started = std::chrono::steady_clock::now();
  auto store = gsvs::testing::generate_store(path, options);
  if (!store) {
    std::fprintf(stderr, "generate: %s\n", store.error().c_str());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string base = path.back() == '/' ? path.substr(0, path.size() - 1) : path;
  auto status = gsvs::keyfile::write_public_key(base + ".vs.pub", store->vs_public_key);
  if (!status) {
    std::fprintf(stderr, "generate: %s\n", status.error().c_str());
    return 1;
  }
  auto log = gsvs::storage::Log::open(path, gsvs::storage::OpenMode::kReadOnly);
  if (!log) {
    std::fprintf(stderr, "generate: %s\n", log.error().c_str());
    return 1;
  }
  std::printf(
      "{\"store\": \"%s\", \"entries\": %llu, \"sessions\": %zu, \"segments\": %zu, "
      "\"seconds\": %.1f}\n",
      path.c_str(), static_cast<unsigned long long>(store->entries), store->sessions.size(),
      (*log)->segments().size(), seconds);
  return 0;
}

int write_key(const std::string& path, std::uint64_t seed) {
  if (auto written = gsvs::keyfile::write_key_pair(path, gsvs::testing::generator_vs_key(seed));
      !written) {
    std::fprintf(stderr, "key: %s\n", written.error().c_str());
    return 1;
  }
  return 0;
}

int raw_verify(std::uint64_t count, unsigned threads) {
  if (sodium_init() < 0) return 1;
  // 64 distinct signed messages of 160 bytes (a Heartbeat's signing input is 116, a
  // TranscriptDigest's of 8 players 422): verified in turn.
  constexpr std::size_t kMessages = 64;
  constexpr std::size_t kBytes = 160;
  std::vector<std::vector<unsigned char>> messages(kMessages, std::vector<unsigned char>(kBytes));
  std::vector<std::array<unsigned char, crypto_sign_BYTES>> signatures(kMessages);
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  for (std::size_t i = 0; i < kMessages; ++i) {
    randombytes_buf(messages[i].data(), kBytes);
    crypto_sign_detached(signatures[i].data(), nullptr, messages[i].data(), kBytes, sk.data());
  }
  std::atomic<std::uint64_t> failures{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    const std::uint64_t share = count / threads + (t < count % threads ? 1 : 0);
    workers.emplace_back([&, share, t] {
      std::uint64_t bad = 0;
      for (std::uint64_t i = 0; i < share; ++i) {
        const std::size_t m = (i + t) % kMessages;
        if (crypto_sign_verify_detached(signatures[m].data(), messages[m].data(), kBytes,
                                        pk.data()) != 0) {
          ++bad;
        }
      }
      failures += bad;
    });
  }
  for (auto& w : workers) w.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // every thread's CPU time, set-up included (negligible)
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf(
      "{\"signatures\": %llu, \"threads\": %u, \"seconds\": %.3f, \"cpu_seconds\": %.3f, "
      "\"per_second\": %.0f, \"failures\": %llu}\n",
      static_cast<unsigned long long>(count), threads, seconds, cpu,
      static_cast<double>(count) / seconds, static_cast<unsigned long long>(failures.load()));
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string command = argv[1];
  if (command == "generate" && argc >= 4 && argc <= 8) {
    return generate(
        argv[2], std::strtoull(argv[3], nullptr, 10),
        argc >= 5 ? std::strtoull(argv[4], nullptr, 10) : 1,
        argc >= 6 ? static_cast<std::uint32_t>(std::strtoul(argv[5], nullptr, 10)) : 16,
        argc >= 7 ? static_cast<std::uint32_t>(std::strtoul(argv[6], nullptr, 10)) : 600,
        argc >= 8 ? std::strtoull(argv[7], nullptr, 10) : std::uint64_t{1} << 30);
  }
  if (command == "key" && (argc == 3 || argc == 4)) {
    return write_key(argv[2], argc == 4 ? std::strtoull(argv[3], nullptr, 10) : 1);
  }
  if (command == "raw-verify" && argc == 4) {
    return raw_verify(std::strtoull(argv[2], nullptr, 10),
                      static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10)));
  }
  return usage();
}
