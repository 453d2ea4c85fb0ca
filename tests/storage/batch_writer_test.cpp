#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "storage/log.h"
#include "tests/storage/store_fixture.h"

namespace gsvs::storage {
namespace {

using testing::open_log;
using testing::RawDb;
using testing::sample_entries;
using testing::sample_entry;
using testing::TempDir;

std::vector<Entry> read_back(const std::string& path) {
  auto log = open_log(path);  // a read-write open verifies the whole chain
  std::vector<Entry> out;
  if (!log) return out;
  EXPECT_TRUE(log->scan({},
                        [&](const Entry& e) {
                          out.push_back(e);
                          return true;
                        })
                  .ok());
  return out;
}

// Counts callbacks and lets a test wait for a number of them.
class Completions {
 public:
  BatchWriter::Done done(std::uint64_t tag = 0) {
    return [this, tag](const Status& status) {
      const std::lock_guard lock(mutex_);
      order_.push_back(tag);
      if (status.ok()) {
        ++ok_;
      } else {
        errors_.push_back(status.error());
      }
      changed_.notify_all();
    };
  }
  bool wait_for(std::size_t count, std::chrono::seconds limit = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return order_.size() >= count; });
  }
  std::size_t ok() {
    const std::lock_guard lock(mutex_);
    return ok_;
  }
  std::vector<std::string> errors() {
    const std::lock_guard lock(mutex_);
    return errors_;
  }
  std::vector<std::uint64_t> order() {
    const std::lock_guard lock(mutex_);
    return order_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t ok_ = 0;
  std::vector<std::string> errors_;
  std::vector<std::uint64_t> order_;
};

TEST(BatchWriter, SubmitAssignsPositionsAtOnce) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto log = open_log(path);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append(sample_entries(0, 3)).ok());
  const Hash32 head = log->head_hash();
  // A long delay: positions must be known long before anything is committed.
  BatchWriter writer(std::move(log), {.max_batch_entries = 1000, .max_delay_us = 200'000});
  Completions completions;

  std::vector<Hash32> hashes;
  {
    auto reader = Log::open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(reader.ok()) << reader.error();
    ASSERT_TRUE((*reader)
                    ->scan({},
                           [&](const Entry& e) {
                             hashes.push_back(e.entry_hash);
                             return true;
                           })
                    .ok());
  }
  ASSERT_EQ(hashes.size(), 3U);

  auto first = writer.submit(sample_entries(3, 2), completions.done(1));
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ((*first)[0].header.seq, 3U);
  EXPECT_EQ((*first)[0].header.prev_entry_hash, head);
  EXPECT_EQ((*first)[1].header.seq, 4U);
  EXPECT_EQ((*first)[1].header.prev_entry_hash, (*first)[0].entry_hash);
  for (const Entry& e : *first) {
    EXPECT_EQ(e.entry_hash, chains::log_entry_hash(e.header, e.message));
    hashes.push_back(e.entry_hash);
  }
  EXPECT_EQ(writer.size(), 5U);
  EXPECT_EQ(writer.merkle_root(), merkle::root(hashes));

  auto second = writer.submit(sample_entries(5, 1), completions.done(2));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)[0].header.seq, 5U);
  EXPECT_EQ((*second)[0].header.prev_entry_hash, (*first)[1].entry_hash);
  hashes.push_back((*second)[0].entry_hash);
  EXPECT_EQ(writer.merkle_root(), merkle::root(hashes));

  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(completions.order(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(completions.ok(), 2U);
  RawDb raw(path, SQLITE_OPEN_READONLY);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry"), 6);
}

TEST(BatchWriter, CallbacksRunInOrderAfterTheEntriesAreDurable) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  BatchWriter writer(open_log(path), {.max_batch_entries = 16, .max_delay_us = 500});
  Completions completions;
  std::atomic<int> not_durable{0};
  constexpr std::uint64_t kCount = 300;
  for (std::uint64_t i = 0; i < kCount; ++i) {
    auto done = completions.done(i);
    auto submitted = writer.submit({sample_entry(i)}, [&, i, done](const Status& status) {
      if (i % 50 == 0) {
        // Another connection already sees the row when the callback runs.
        RawDb raw(path, SQLITE_OPEN_READONLY);
        if (raw.query_int("SELECT count(*) FROM log_entry WHERE seq = " + std::to_string(i)) != 1) {
          ++not_durable;
        }
      }
      done(status);
    });
    ASSERT_TRUE(submitted.ok()) << submitted.error();
    EXPECT_EQ((*submitted)[0].header.seq, i);
  }
  ASSERT_TRUE(writer.flush().ok());
  const auto order = completions.order();
  ASSERT_EQ(order.size(), kCount);
  for (std::uint64_t i = 0; i < kCount; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(completions.ok(), kCount);
  EXPECT_EQ(not_durable.load(), 0);
}

TEST(BatchWriter, ConcurrentSubmittersGetContiguousPositions) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  Hash32 root;
  {
    BatchWriter writer(open_log(path), {.max_batch_entries = 64, .max_delay_us = 1000});
    Completions completions;
    constexpr int kThreads = 4;
    constexpr int kPerThread = 250;
    std::vector<std::vector<std::uint64_t>> seqs(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto submitted = writer.submit(sample_entries(static_cast<std::uint64_t>(t) * kPerThread +
                                                            static_cast<std::uint64_t>(i),
                                                        static_cast<std::uint64_t>(1 + i % 3)),
                                         completions.done());
          if (submitted.ok()) {
            // One submit's entries are placed consecutively, whatever the other threads submit:
            // vsd relies on it to log a JoinRequest right before its answer (PROTOCOL.md §8.3).
            const std::uint64_t first = submitted->front().header.seq;
            for (std::size_t k = 0; k < submitted->size(); ++k) {
              EXPECT_EQ((*submitted)[k].header.seq, first + k);
            }
            for (const Entry& e : *submitted)
              seqs[static_cast<std::size_t>(t)].push_back(e.header.seq);
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_TRUE(writer.flush().ok());
    EXPECT_EQ(completions.ok(), static_cast<std::size_t>(kThreads * kPerThread));
    std::vector<bool> seen(writer.size(), false);
    for (const auto& mine : seqs) {
      for (std::size_t i = 1; i < mine.size(); ++i) EXPECT_LT(mine[i - 1], mine[i]);
      for (auto seq : mine) {
        ASSERT_LT(seq, seen.size());
        EXPECT_FALSE(seen[seq]);
        seen[seq] = true;
      }
    }
    root = writer.merkle_root();
  }
  std::size_t expected = 0;
  for (int i = 0; i < 250; ++i) expected += 4 * static_cast<std::size_t>(1 + i % 3);
  const auto stored = read_back(path);
  EXPECT_EQ(stored.size(), expected);
  std::vector<Hash32> hashes;
  for (const Entry& e : stored) hashes.push_back(e.entry_hash);
  EXPECT_EQ(merkle::root(hashes), root);
}

TEST(BatchWriter, CallbacksMaySubmitAgain) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  BatchWriter writer(open_log(path), {.max_batch_entries = 8, .max_delay_us = 100});
  std::mutex mutex;
  std::condition_variable finished;
  int rounds = 0;
  std::vector<std::uint64_t> seqs;
  std::function<void(const Status&)> again = [&](const Status& status) {
    ASSERT_TRUE(status.ok());
    std::unique_lock lock(mutex);
    if (++rounds == 10) {
      finished.notify_all();
      return;
    }
    lock.unlock();
    // Submitting from the writer thread, with no lock of the writer's held, must not deadlock.
    auto submitted = writer.submit({sample_entry(static_cast<std::uint64_t>(rounds))}, again);
    ASSERT_TRUE(submitted.ok()) << submitted.error();
    lock.lock();
    seqs.push_back((*submitted)[0].header.seq);
  };
  ASSERT_TRUE(writer.submit({sample_entry(0)}, again).ok());
  std::unique_lock lock(mutex);
  ASSERT_TRUE(finished.wait_for(lock, std::chrono::seconds(20), [&] { return rounds == 10; }));
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  lock.unlock();
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(writer.size(), 10U);
}

TEST(BatchWriter, FlushFromACallbackIsRefusedInsteadOfHanging) {
  TempDir dir;
  BatchWriter writer(open_log(dir.file("vs.db")), {});
  Completions completions;
  std::string flush_error;
  auto done = completions.done();
  ASSERT_TRUE(writer
                  .submit({sample_entry(0)},
                          [&](const Status& status) {
                            const Status flushed = writer.flush();
                            flush_error = flushed.ok() ? "" : flushed.error();
                            done(status);
                          })
                  .ok());
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_NE(flush_error.find("would wait for itself"), std::string::npos) << flush_error;
}

TEST(BatchWriter, EmptySubmitIsABarrier) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  BatchWriter writer(open_log(path), {.max_batch_entries = 100, .max_delay_us = 1000});
  Completions completions;
  ASSERT_TRUE(writer.submit(sample_entries(0, 3), completions.done(1)).ok());
  auto barrier = writer.submit({}, completions.done(2));
  ASSERT_TRUE(barrier.ok());
  EXPECT_TRUE(barrier->empty());
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(completions.order(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(completions.ok(), 2U);
}

TEST(BatchWriter, ASubmitLargerThanABatchIsCommittedWhole) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  {
    BatchWriter writer(open_log(path), {.max_batch_entries = 4, .max_delay_us = 100});
    Completions completions;
    ASSERT_TRUE(writer.submit(sample_entries(0, 2), completions.done(1)).ok());
    ASSERT_TRUE(writer.submit(sample_entries(2, 11), completions.done(2)).ok());
    ASSERT_TRUE(writer.submit(sample_entries(13, 3), completions.done(3)).ok());
    ASSERT_TRUE(writer.flush().ok());
    EXPECT_EQ(completions.order(), (std::vector<std::uint64_t>{1, 2, 3}));
  }
  EXPECT_EQ(read_back(path).size(), 16U);
}

TEST(BatchWriter, EachCommitIsReportedWithItsEntriesAndQueuedEntriesFallToZero) {
  TempDir dir;
  std::mutex mutex;
  std::vector<CommitStats> commits;
  BatchWriter::Options options{.max_batch_entries = 4, .max_delay_us = 30'000'000};
  options.on_commit = [&](const CommitStats& stats) {
    const std::lock_guard lock(mutex);
    commits.push_back(stats);
  };
  BatchWriter writer(open_log(dir.file("vs.db")), options);
  // Held by the 30 s delay: 2 and 1 entries, fewer than a batch, wait. The third submit makes
  // the queue a full batch, which the writer may commit at once: only then can it be counted.
  ASSERT_TRUE(writer.submit(sample_entries(0, 2), nullptr).ok());
  ASSERT_TRUE(writer.submit(sample_entries(2, 1), nullptr).ok());
  EXPECT_EQ(writer.queued_entries(), 3U);
  ASSERT_TRUE(writer.submit(sample_entries(3, 4), nullptr).ok());
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(writer.queued_entries(), 0U);
  const std::lock_guard lock(mutex);
  std::size_t entries = 0;
  for (const CommitStats& commit : commits) {
    EXPECT_LE(commit.entries, 4U);  // whole submits, at most max_batch_entries together
    EXPECT_GT(commit.duration.count(), 0);
    entries += commit.entries;
  }
  EXPECT_EQ(entries, 7U);
  EXPECT_GE(commits.size(), 2U);
}

TEST(BatchWriter, AFullBatchDoesNotWaitForTheDelay) {
  TempDir dir;
  BatchWriter writer(open_log(dir.file("vs.db")),
                     {.max_batch_entries = 8, .max_delay_us = 30'000'000});
  Completions completions;
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(writer.submit({sample_entry(i)}, completions.done(i)).ok());
  }
  ASSERT_TRUE(completions.wait_for(8, std::chrono::seconds(20)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(completions.ok(), 8U);
}

TEST(BatchWriter, TheDelayBoundsHowLongAnEntryWaits) {
  TempDir dir;
  BatchWriter writer(open_log(dir.file("vs.db")),
                     {.max_batch_entries = 1000, .max_delay_us = 5000});
  Completions completions;
  ASSERT_TRUE(writer.submit({sample_entry(0)}, completions.done()).ok());
  // No flush: the lone entry is committed once its delay is up.
  ASSERT_TRUE(completions.wait_for(1, std::chrono::seconds(20)));
  EXPECT_EQ(completions.ok(), 1U);
}

TEST(BatchWriter, DestructorCommitsWhatIsQueued) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  Completions completions;
  {
    BatchWriter writer(open_log(path), {.max_batch_entries = 1000, .max_delay_us = 30'000'000});
    for (std::uint64_t i = 0; i < 50; ++i) {
      ASSERT_TRUE(writer.submit({sample_entry(i)}, completions.done(i)).ok());
    }
  }
  EXPECT_EQ(completions.ok(), 50U);
  EXPECT_EQ(read_back(path).size(), 50U);
}

TEST(BatchWriter, InvalidEntriesAreRefusedWithoutHarm) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  BatchWriter writer(open_log(path), {});
  Completions completions;
  ASSERT_TRUE(writer.submit(sample_entries(0, 2), completions.done(1)).ok());
  const Hash32 root = writer.merkle_root();
  auto bad = sample_entries(2, 2);
  bad[1].kind = static_cast<protocol::MessageKind>(0);
  auto refused = writer.submit(bad, completions.done(99));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("unknown message kind 0"), std::string::npos) << refused.error();
  EXPECT_EQ(writer.size(), 2U);
  EXPECT_EQ(writer.merkle_root(), root);
  auto next = writer.submit(sample_entries(2, 1), completions.done(2));
  ASSERT_TRUE(next.ok()) << next.error();
  EXPECT_EQ((*next)[0].header.seq, 2U);
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(completions.order(), (std::vector<std::uint64_t>{1, 2}));  // never 99
}

TEST(BatchWriter, AFailedCommitFailsTheQueueAndEveryLaterSubmit) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto log = open_log(path);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append(sample_entries(0, 3)).ok());
  const Hash32 head = log->head_hash();
  BatchWriter writer(std::move(log), {.max_batch_entries = 1, .max_delay_us = 0});
  Completions completions;

  // Another writer holds the write lock, so our writer thread waits inside its first commit
  // while more submits queue up behind it; then that other writer takes seq 3.
  RawDb other(path);
  ASSERT_EQ(other.exec("BEGIN IMMEDIATE"), SQLITE_OK) << other.error();
  ASSERT_TRUE(writer.submit({sample_entry(3)}, completions.done(1)).ok());
  ASSERT_TRUE(writer.submit({sample_entry(4)}, completions.done(2)).ok());
  ASSERT_TRUE(writer.submit({sample_entry(5)}, completions.done(3)).ok());
  ASSERT_EQ(other.exec("INSERT INTO log_entry VALUES (3, 5, 1, 0, 0, x'" + to_hex(head) +
                       "', zeroblob(32), x'')"),
            SQLITE_OK)
      << other.error();
  ASSERT_EQ(other.exec("COMMIT"), SQLITE_OK) << other.error();

  ASSERT_TRUE(completions.wait_for(3));
  EXPECT_EQ(completions.order(), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(completions.ok(), 0U);
  for (const auto& error : completions.errors()) {
    EXPECT_NE(error.find("seq must be one past the last entry"), std::string::npos) << error;
  }
  auto later = writer.submit({sample_entry(6)}, completions.done(4));
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.error().find("stopped after a failure"), std::string::npos) << later.error();
  const Status flushed = writer.flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(completions.order().size(), 3U);  // the refused submit has no callback
  EXPECT_EQ(other.query_int("SELECT count(*) FROM log_entry"), 4);
}

// A commit that has not returned after stall_after is told to on_stall once, while it still
// waits (here for another writer's lock, which SQLite waits out for up to 5 s); a commit that
// returns in time is not told at all.
TEST(BatchWriter, ACommitThatDoesNotReturnIsToldOnceAsAStall) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto log = open_log(path);
  ASSERT_NE(log, nullptr);
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::chrono::milliseconds> told;
  BatchWriter::Options options{.max_batch_entries = 1, .max_delay_us = 0};
  options.stall_after = std::chrono::milliseconds(1000);
  options.on_stall = [&](std::chrono::milliseconds in_flight) {
    const std::lock_guard lock(mutex);
    told.push_back(in_flight);
    changed.notify_all();
  };
  BatchWriter writer(std::move(log), options);
  Completions completions;
  ASSERT_TRUE(writer.submit({sample_entry(0)}, completions.done(1)).ok());
  ASSERT_TRUE(writer.flush().ok());

  RawDb other(path);
  ASSERT_EQ(other.exec("BEGIN IMMEDIATE"), SQLITE_OK) << other.error();
  const auto held_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(writer.submit({sample_entry(1)}, completions.done(2)).ok());
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(4), [&] { return !told.empty(); }))
        << "no stall told while the commit waited";
    EXPECT_GE(told.front(), options.stall_after);
  }
  // Still waiting, and told once only.
  std::this_thread::sleep_until(held_at + std::chrono::milliseconds(2500));
  ASSERT_EQ(other.exec("ROLLBACK"), SQLITE_OK) << other.error();
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(completions.ok(), 2U);
  const std::lock_guard lock(mutex);
  EXPECT_EQ(told.size(), 1U);
}

TEST(BatchWriter, WithoutALogEverythingFails) {
  BatchWriter writer(nullptr, {});
  Completions completions;
  EXPECT_FALSE(writer.submit({sample_entry(0)}, completions.done()).ok());
  EXPECT_FALSE(writer.flush().ok());
  EXPECT_EQ(writer.size(), 0U);
  EXPECT_EQ(writer.merkle_root(), merkle::empty_root());
}

TEST(BatchWriter, AReadOnlyLogRefusesSubmits) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  ASSERT_NE(open_log(path), nullptr);
  auto log = Log::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  BatchWriter writer(std::move(*log), {});
  auto refused = writer.submit({sample_entry(0)}, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("read-only"), std::string::npos) << refused.error();
}

TEST(BatchWriter, SubmitAtHeadSeesTheHeadItLandsOn) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto writer_owned = std::make_unique<BatchWriter>(
      open_log(path), BatchWriter::Options{.max_batch_entries = 32, .max_delay_us = 200});
  BatchWriter& writer = *writer_owned;
  Completions completions;
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    for (std::uint64_t i = 0; !stop; ++i) {
      if (!writer.submit({sample_entry(i)}, nullptr).ok()) return;
    }
  });
  std::vector<std::pair<std::uint64_t, Hash32>> seen;  // size and root handed to build
  std::vector<Entry> checkpoints;
  for (int round = 0; round < 20; ++round) {
    auto submitted = writer.submit_at_head(
        [&](std::uint64_t size, const Hash32& root) {
          seen.emplace_back(size, root);
          PendingEntry p = sample_entry(size);
          p.kind = protocol::MessageKind::kCheckpoint;
          p.direction = chains::Direction::kIssued;
          p.message.assign(root.bytes.begin(), root.bytes.end());
          return std::vector<PendingEntry>{p};
        },
        completions.done());
    ASSERT_TRUE(submitted.ok()) << submitted.error();
    checkpoints.push_back((*submitted)[0]);
  }
  stop = true;
  busy.join();
  ASSERT_TRUE(writer.flush().ok());
  writer_owned.reset();  // read_back opens the store for writing: one writer at a time

  const auto stored = read_back(path);
  std::vector<Hash32> hashes;
  for (const Entry& e : stored) hashes.push_back(e.entry_hash);
  ASSERT_EQ(seen.size(), checkpoints.size());
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    const auto seq = checkpoints[i].header.seq;
    EXPECT_EQ(seq, seen[i].first);
    // The root handed to build is the root of exactly the entries before the checkpoint.
    EXPECT_EQ(seen[i].second, merkle::root(std::span<const Hash32>(hashes.data(), seq)));
  }
}

}  // namespace
}  // namespace gsvs::storage
