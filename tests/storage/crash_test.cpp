// Fault injection: a writer process killed with SIGKILL in the middle of its batches leaves a
// store that opens, verifies and holds every entry whose callback reported it durable.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "protocol/merkle.h"
#include "storage/log.h"
#include "tests/storage/store_fixture.h"

namespace gsvs::storage {
namespace {

using testing::sample_entry;
using testing::TempDir;

// How the child writes: one file, or a directory of segments rotated every few kilobytes.
enum class Layout : std::uint8_t { kSingleFile, kSegments };

constexpr std::uint64_t kSmallSegmentBytes = 24 * 1024;

// WAL checkpoints every few commits, so that the kills land in them too (docs/STORE.md §7.1):
// the checkpointer's passes from 8 pages, the writer's own TRUNCATE at 64.
constexpr WalCheckpointOptions kFrequentBackgroundCheckpoints{WalCheckpointMode::kBackground, 8,
                                                              64};
constexpr WalCheckpointOptions kFrequentInlineCheckpoints{WalCheckpointMode::kInline, 8, 64};

// The child: appends sample entries forever, writing the durable size to `fd` from every
// callback. Never returns.
[[noreturn]] void append_until_killed(const std::string& path, int fd, Layout layout,
                                      const WalCheckpointOptions& wal) {
  auto log = layout == Layout::kSingleFile ? Log::open(path, OpenMode::kReadWrite)
                                           : Log::open(path, OpenMode::kReadWrite, StoreRole::kVs,
                                                       testing::segmented_options());
  if (!log.ok()) _exit(2);
  BatchWriter::Options options = layout == Layout::kSingleFile
                                     ? BatchWriter::Options{}
                                     : testing::rotating_options(kSmallSegmentBytes);
  options.max_batch_entries = 64;
  options.max_delay_us = 300;
  options.wal = wal;
  BatchWriter writer(std::move(*log), options);
  for (std::uint64_t round = 0;; ++round) {
    const std::uint64_t first = writer.size();
    std::vector<PendingEntry> entries;
    for (std::uint64_t i = 0; i < 1 + round % 7; ++i) entries.push_back(sample_entry(first + i));
    auto submitted =
        writer.submit(std::move(entries), [fd, end = first + 1 + round % 7](const Status& status) {
          if (!status.ok()) _exit(3);
          std::uint8_t bytes[8];
          for (int k = 0; k < 8; ++k) bytes[k] = static_cast<std::uint8_t>(end >> (8 * k));
          if (write(fd, bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes)) _exit(4);
        });
    if (!submitted.ok()) _exit(5);
    // Keep a bounded queue, as a daemon under load does.
    if (round % 256 == 255 && !writer.flush().ok()) _exit(6);
  }
}

// Reads the 8-byte durable sizes the child sends until `until`, EOF, or (with `first_only`) the
// first one; returns the largest seen, or `known` if larger.
std::uint64_t read_acknowledged(int fd, std::uint64_t known,
                                std::chrono::steady_clock::time_point until, bool first_only) {
  std::uint8_t buffer[8 * 64];
  std::size_t have = 0;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return known;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return known;
    const ssize_t got = read(fd, buffer + have, sizeof buffer - have);
    if (got <= 0) return known;  // EOF: the child is gone
    have += static_cast<std::size_t>(got);
    std::size_t used = 0;
    for (; used + 8 <= have; used += 8) {
      std::uint64_t value = 0;
      for (std::size_t k = 0; k < 8; ++k) {
        value |= static_cast<std::uint64_t>(buffer[used + k]) << (8 * k);
      }
      if (value > known) known = value;
    }
    std::memmove(buffer, buffer + used, have - used);
    have -= used;
    if (first_only && known > 0) return known;
  }
}

// Kills a writer of `layout` four times at moments that vary, and checks each time that the store
// opens, verifies and holds every acknowledged entry.
void kill_and_reopen(const std::string& path, Layout layout,
                     const WalCheckpointOptions& wal = WalCheckpointOptions{}) {
  std::uint64_t previous_size = 0;
  std::uint64_t total_acknowledged = 0;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      append_until_killed(path, fds[1], layout, wal);
    }
    close(fds[1]);

    // Let the child get going (its first durable batch), then about 100 ms of appends.
    using std::chrono::steady_clock;
    std::uint64_t acknowledged =
        read_acknowledged(fds[0], 0, steady_clock::now() + std::chrono::seconds(20), true);
    if (acknowledged == 0) kill(child, SIGKILL);
    ASSERT_GT(acknowledged, 0U) << "the writer child made no progress";
    acknowledged =
        read_acknowledged(fds[0], acknowledged,
                          steady_clock::now() + std::chrono::milliseconds(80 + 15 * round), false);
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(child, &wstatus, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "the child ended on its own, status " << wstatus;
    // Whatever it managed to report before dying is in the pipe still.
    acknowledged = read_acknowledged(fds[0], acknowledged,
                                     steady_clock::now() + std::chrono::seconds(5), false);
    close(fds[0]);

    // Verifies the whole chain, across segments and seals.
    auto log = layout == Layout::kSingleFile ? Log::open(path, OpenMode::kReadWrite)
                                             : Log::open(path, OpenMode::kReadWrite, StoreRole::kVs,
                                                         testing::segmented_options(Verify::kFull));
    ASSERT_TRUE(log.ok()) << log.error();
    const std::uint64_t size = (*log)->size();
    EXPECT_GE(size, acknowledged) << "an entry reported durable was lost";
    EXPECT_GE(size, previous_size);
    std::vector<Hash32> hashes;
    std::uint64_t expected_seq = 0;
    ASSERT_TRUE((*log)
                    ->scan({},
                           [&](const Entry& e) {
                             EXPECT_EQ(e.header.seq, expected_seq);
                             // Seals are the writer's own entries between the samples.
                             if (e.header.kind != protocol::MessageKind::kCheckpoint) {
                               EXPECT_EQ(e.message, sample_entry(e.header.seq).message);
                             }
                             ++expected_seq;
                             hashes.push_back(e.entry_hash);
                             return true;
                           })
                    .ok());
    EXPECT_EQ(expected_seq, size);
    EXPECT_EQ((*log)->merkle_root(), merkle::root(hashes));
    previous_size = size;
    total_acknowledged = acknowledged;
  }
  EXPECT_GT(total_acknowledged, 0U);
}

TEST(Crash, SigkillMidBatchLeavesAVerifiedPrefixHoldingEveryAcknowledgedEntry) {
  TempDir dir;
  kill_and_reopen(dir.file("vs.db"), Layout::kSingleFile);
}

TEST(Crash, SigkillWhileTheCheckpointerCopiesTheWalLosesNothingAcknowledged) {
  TempDir dir;
  kill_and_reopen(dir.file("vs.db"), Layout::kSingleFile, kFrequentBackgroundCheckpoints);
}

TEST(Crash, SigkillWhileACommitCheckpointsTheWalLosesNothingAcknowledged) {
  TempDir dir;
  kill_and_reopen(dir.file("vs.db"), Layout::kSingleFile, kFrequentInlineCheckpoints);
}

TEST(Crash, SigkillDuringRotationWithTheCheckpointerLosesNothingAcknowledged) {
  TempDir dir;
  kill_and_reopen(dir.file("vs") + "/", Layout::kSegments, kFrequentBackgroundCheckpoints);
}

TEST(Crash, SigkillDuringRotationLosesNothingAcknowledgedAndTheChainVerifiesAcrossSegments) {
  TempDir dir;
  const std::string store = dir.file("vs");
  kill_and_reopen(store + "/", Layout::kSegments);
  auto log = Log::open(store, OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_GE((*log)->segments().size(), 3U) << "the writer never rotated";
}

}  // namespace
}  // namespace gsvs::storage
