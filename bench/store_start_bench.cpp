// Start-up time of a segmented VS store against its size (docs/PERFORMANCE.md, "Store start").
//
//   store_start_bench generate DIR ENTRIES [SEGMENT_BYTES]
//     Writes a segmented store of about ENTRIES entries (Heartbeat-sized messages of ~420 bytes,
//     a JoinAccept and a Revocation every 2,000 entries, a signed checkpoint every 1,000) through
//     the BatchWriter that vsd uses, rotating at SEGMENT_BYTES (default 1 GiB, vsd's default).
//   store_start_bench open DIR [VS_PUBLIC_KEY_FILE]
//     Does what vsd's start does with the store, and times it: the read-write open (the seals,
//     one signature per segment, and the active segment from its newest checkpoint), then the
//     recovery reads (JoinAccepts and Revocations, by kind). Prints one JSON line. The seals are
//     checked with the key in VS_PUBLIC_KEY_FILE (default: the key `generate` signs with), so it
//     times any segmented store, such as bench/long_run.sh's.
//   store_start_bench key PATH
//     Writes the VS key the stores are signed with as a vsd key file, so `vsd run` can start on
//     them (bench/store_start.sh times that too).
//
// The VS key comes from a fixed seed, so `open` checks what `generate` signed.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/keyfile.h"
#include "protocol/messages.h"
#include "storage/log.h"

namespace {

using gsvs::Hash32;
using gsvs::storage::BatchWriter;
using gsvs::storage::Log;
using gsvs::storage::PendingEntry;
namespace protocol = gsvs::protocol;
namespace crypto = gsvs::crypto;
namespace chains = gsvs::chains;

constexpr std::uint64_t kCheckpointEvery = 1000;
constexpr std::uint64_t kSessionEvery = 2000;
constexpr std::size_t kMessageBytes = 420;
constexpr std::uint64_t kSubmitEntries = 500;
constexpr std::uint64_t kStartMs = 1'700'000'000'000;

crypto::SecretKey bench_key() {
  crypto::Seed seed;
  for (std::size_t i = 0; i < seed.bytes.size(); ++i) {
    seed.bytes[i] = static_cast<std::uint8_t>(0xB0 + i);
  }
  return crypto::SecretKey::from_seed(seed);
}

PendingEntry checkpoint(const crypto::SecretKey& key, std::uint64_t size, const Hash32& root) {
  protocol::Checkpoint cp;
  cp.log_size = size;
  cp.root = root;
  cp.vs_time_ms = kStartMs + size;
  protocol::sign(cp, key);
  return PendingEntry{protocol::MessageKind::kCheckpoint, chains::Direction::kIssued, 0,
                      cp.vs_time_ms, protocol::encode(cp)};
}

// Entry `seq` of the generated log: filler of a received message's size, with a join and a
// revocation now and then so that the recovery reads find something.
PendingEntry filler(std::uint64_t seq) {
  PendingEntry p;
  p.direction = chains::Direction::kReceived;
  p.kind = protocol::MessageKind::kHeartbeat;
  if (seq % kSessionEvery == 0) {
    p.kind = protocol::MessageKind::kJoinAccept;
    p.direction = chains::Direction::kIssued;
  } else if (seq % kSessionEvery == kSessionEvery / 2) {
    p.kind = protocol::MessageKind::kRevocation;
    p.direction = chains::Direction::kIssued;
  }
  p.session_id = 1 + seq / kSessionEvery;
  p.vs_time_ms = kStartMs + seq;
  p.message.resize(kMessageBytes);
  std::uint64_t x = seq * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& byte : p.message) {
    x ^= x << 13U;
    x ^= x >> 7U;
    x ^= x << 17U;
    byte = static_cast<std::uint8_t>(x);
  }
  return p;
}

gsvs::storage::OpenOptions options_for(const crypto::PublicKey& key) {
  return gsvs::storage::OpenOptions{key, gsvs::storage::Verify::kFast};
}

int generate(const std::string& dir, std::uint64_t entries, std::uint64_t segment_bytes) {
  const auto key = bench_key();
  auto log = Log::open(dir + "/", gsvs::storage::OpenMode::kReadWrite,
                       gsvs::storage::StoreRole::kVs, options_for(key.public_key()));
  if (!log) {
    std::cerr << log.error() << "\n";
    return 1;
  }
  BatchWriter::Options options;
  options.max_batch_entries = 4096;
  options.segment_max_bytes = segment_bytes;
  options.seal = [&key](std::uint64_t size, const Hash32& root) {
    return checkpoint(key, size, root);
  };
  BatchWriter writer(std::move(*log), options);
  std::uint64_t next_checkpoint = writer.size() + kCheckpointEvery;
  const auto started = std::chrono::steady_clock::now();
  while (writer.size() < entries) {
    std::vector<PendingEntry> batch;
    const std::uint64_t first = writer.size();
    for (std::uint64_t i = 0; i < kSubmitEntries; ++i) batch.push_back(filler(first + i));
    if (auto placed = writer.submit(std::move(batch), {}); !placed) {
      std::cerr << placed.error() << "\n";
      return 1;
    }
    if (writer.size() >= next_checkpoint) {
      auto placed = writer.submit_at_head(
          [&key](std::uint64_t size, const Hash32& root) {
            return std::vector<PendingEntry>{checkpoint(key, size, root)};
          },
          {});
      if (!placed) {
        std::cerr << placed.error() << "\n";
        return 1;
      }
      next_checkpoint = writer.size() + kCheckpointEvery;
    }
  }
  if (auto flushed = writer.flush(); !flushed) {
    std::cerr << flushed.error() << "\n";
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << "generated " << writer.size() << " entries in " << seconds << " s\n";
  return 0;
}

int open_and_time(const std::string& dir, const crypto::PublicKey& key) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  auto log = Log::open(dir, gsvs::storage::OpenMode::kReadWrite, gsvs::storage::StoreRole::kVs,
                       options_for(key));
  if (!log) {
    std::cerr << log.error() << "\n";
    return 1;
  }
  const auto opened = Clock::now();
  // vsd's recovery (vsd/recovery.cpp): a read-only view, JoinAccepts then Revocations by kind.
  auto reader = Log::open(dir, gsvs::storage::OpenMode::kReadOnly);
  if (!reader) {
    std::cerr << reader.error() << "\n";
    return 1;
  }
  std::uint64_t joins = 0;
  for (const auto kind : {protocol::MessageKind::kJoinAccept, protocol::MessageKind::kRevocation}) {
    gsvs::storage::Filter filter;
    filter.kind = kind;
    auto scanned = (*reader)->scan(filter, [&joins](const gsvs::storage::Entry&) {
      ++joins;
      return true;
    });
    if (!scanned) {
      std::cerr << scanned.error() << "\n";
      return 1;
    }
  }
  const auto recovered = Clock::now();
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  std::cout << "{\"entries\": " << (*log)->size() << ", \"segments\": " << (*log)->segments().size()
            << ", \"open_ms\": " << ms(opened - started)
            << ", \"recovery_reads_ms\": " << ms(recovered - opened)
            << ", \"joins_and_revocations\": " << joins
            << ", \"start_ms\": " << ms(recovered - started) << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto ready = crypto::init(); !ready) {
    std::cerr << "store_start_bench: " << ready.error() << "\n";
    return 2;
  }
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 3 && args[0] == "generate") {
    const std::uint64_t segment_bytes =
        args.size() >= 4 ? std::strtoull(args[3].c_str(), nullptr, 10) : std::uint64_t{1} << 30;
    return generate(args[1], std::strtoull(args[2].c_str(), nullptr, 10), segment_bytes);
  }
  if ((args.size() == 2 || args.size() == 3) && args[0] == "open") {
    crypto::PublicKey key = bench_key().public_key();
    if (args.size() == 3) {
      auto read = gsvs::keyfile::read_public_key(args[2]);
      if (!read) {
        std::cerr << read.error() << "\n";
        return 2;
      }
      key = *read;
    }
    return open_and_time(args[1], key);
  }
  if (args.size() == 2 && args[0] == "key") {
    if (auto written = gsvs::keyfile::write_key_pair(args[1], bench_key()); !written) {
      std::cerr << written.error() << "\n";
      return 1;
    }
    return 0;
  }
  std::cerr << "usage: store_start_bench generate DIR ENTRIES [SEGMENT_BYTES]\n"
               "       store_start_bench open DIR [VS_PUBLIC_KEY_FILE]\n"
               "       store_start_bench key PATH\n";
  return 2;
}
