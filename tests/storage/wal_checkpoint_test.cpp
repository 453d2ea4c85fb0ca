// How a BatchWriter checkpoints its WAL (docs/STORE.md §7.1): inside the commit that reaches
// start_pages (kInline, SQLite's way), or on the checkpointer's thread between commits with the
// writer stepping in only at max_pages (kBackground); a rotation hands the checkpointer the new
// segment, and every close leaves no WAL behind.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "storage/log.h"
#include "storage/wal_checkpointer.h"
#include "tests/storage/store_fixture.h"

namespace gsvs::storage {
namespace {

using testing::RawDb;
using testing::sample_entries;
using testing::TempDir;

// Collects the stats of every commit, and the notices for the operator (on_notice).
class CommitLog {
 public:
  std::function<void(const CommitStats&)> recorder() {
    return [this](const CommitStats& stats) {
      const std::lock_guard lock(mutex_);
      commits_.push_back(stats);
    };
  }
  std::function<void(bool, const std::string&)> notice_recorder() {
    return [this](bool is_error, const std::string& text) {
      const std::lock_guard lock(mutex_);
      notices_.emplace_back(is_error, text);
    };
  }
  std::vector<std::pair<bool, std::string>> notices() {
    const std::lock_guard lock(mutex_);
    return notices_;
  }
  std::vector<CommitStats> commits() {
    const std::lock_guard lock(mutex_);
    return commits_;
  }
  CommitStats last() {
    const std::lock_guard lock(mutex_);
    return commits_.empty() ? CommitStats{} : commits_.back();
  }

 private:
  std::mutex mutex_;
  std::vector<CommitStats> commits_;
  std::vector<std::pair<bool, std::string>> notices_;
};

BatchWriter::Options wal_options(WalCheckpointMode mode, std::uint32_t start_pages,
                                 std::uint32_t max_pages, CommitLog& commits) {
  BatchWriter::Options options;
  options.max_delay_us = 100;
  options.wal = WalCheckpointOptions{mode, start_pages, max_pages};
  options.on_commit = commits.recorder();
  options.on_notice = commits.notice_recorder();
  return options;
}

// Submits `count` sample entries from `first` in one commit and waits for it.
void commit_one(BatchWriter& writer, std::uint64_t first, std::uint64_t count = 20) {
  ASSERT_TRUE(writer.submit(sample_entries(first, count), nullptr).ok());
  ASSERT_TRUE(writer.flush().ok());
}

// Commits `count` entries at a time, from the writer's size on, until `done` holds for the last
// commit's stats (at most `limit` commits); returns whether it did.
bool commit_until(BatchWriter& writer, CommitLog& commits,
                  const std::function<bool(const CommitStats&)>& done, int limit = 400,
                  std::uint64_t count = 20) {
  for (int i = 0; i < limit; ++i) {
    commit_one(writer, writer.size(), count);
    if (done(commits.last())) return true;
  }
  return false;
}

bool checkpointed_in_commit(const CommitStats& stats) {
  return stats.wal_checkpoint != WalCheckpointInCommit::kNone;
}

// Commits with gaps between them, as under load, until the WAL starts over (a commit leaves
// fewer pages in it than an earlier one, which had at least `start_pages`).
bool commit_until_the_wal_starts_over(BatchWriter& writer, CommitLog& commits,
                                      std::uint32_t start_pages, std::uint64_t count) {
  std::uint32_t highest = 0;
  return commit_until(
      writer, commits,
      [&](const CommitStats& stats) {
        const bool started_over = highest >= start_pages && stats.wal_pages < highest;
        highest = std::max(highest, stats.wal_pages);
        return started_over;
      },
      3000, count);
}

void expect_no_checkpoint_in_a_commit(CommitLog& commits) {
  for (const CommitStats& stats : commits.commits()) {
    EXPECT_EQ(stats.wal_checkpoint, WalCheckpointInCommit::kNone) << "a commit checkpointed";
  }
}

bool wal_exists(const std::string& file) { return std::filesystem::exists(file + "-wal"); }

// A writer on a new single-file store at `path` with these WAL options.
std::unique_ptr<BatchWriter> open_writer(const std::string& path, WalCheckpointMode mode,
                                         std::uint32_t start_pages, std::uint32_t max_pages,
                                         CommitLog& commits) {
  return std::make_unique<BatchWriter>(testing::open_log(path),
                                       wal_options(mode, start_pages, max_pages, commits));
}

// Stops the writer and checks that its close folded the WAL back and the store reopens (which
// verifies it) with every entry.
void close_and_check(std::unique_ptr<BatchWriter>& writer, const std::string& path) {
  const std::uint64_t size = writer->size();
  writer.reset();
  EXPECT_FALSE(wal_exists(path)) << "a clean close folds the WAL back";
  auto log = testing::open_log(path);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), size);
}

// A single-file store in a scratch directory, and the stats of every commit to it.
class WalCheckpoint : public ::testing::Test {
 protected:
  TempDir dir;
  const std::string path = dir.file("vs.db");
  CommitLog commits;
};

TEST_F(WalCheckpoint, InlineRunsInTheCommitThatReachesStartPagesAndTheNextCommitResetsTheWal) {
  auto writer = open_writer(path, WalCheckpointMode::kInline, 16, 64, commits);
  ASSERT_TRUE(commit_until(*writer, commits, checkpointed_in_commit)) << "never checkpointed";
  const CommitStats crossing = commits.last();
  EXPECT_EQ(crossing.wal_checkpoint, WalCheckpointInCommit::kInline);
  EXPECT_GE(crossing.wal_pages, 16U);
  EXPECT_GT(crossing.wal_checkpoint_duration.count(), 0);
  // Nothing else reads the file: the checkpoint copied the whole WAL, which starts over.
  commit_one(*writer, writer->size());
  EXPECT_LT(commits.last().wal_pages, crossing.wal_pages);
  close_and_check(writer, path);
}

TEST_F(WalCheckpoint, BackgroundKeepsCheckpointsOutOfTheCommitsAndTheWalStartsOver) {
  auto writer = open_writer(path, WalCheckpointMode::kBackground, 16, 100000, commits);
  // Each pass of the checkpointer begins after a commit and has the gap to reach the WAL's end.
  EXPECT_TRUE(commit_until_the_wal_starts_over(*writer, commits, 16, 20));
  expect_no_checkpoint_in_a_commit(commits);
  close_and_check(writer, path);
}

TEST_F(WalCheckpoint, AtMaxPagesTheWriterTruncatesTheWalItself) {
  // The checkpointer never starts (start_pages beyond the maximum): only the writer's own
  // checkpoint bounds the WAL.
  auto writer = open_writer(path, WalCheckpointMode::kBackground, 1000000, 32, commits);
  ASSERT_TRUE(commit_until(*writer, commits, checkpointed_in_commit));
  const CommitStats at_max = commits.last();
  EXPECT_EQ(at_max.wal_checkpoint, WalCheckpointInCommit::kAtMax);
  EXPECT_GE(at_max.wal_pages, 32U);
  // The operator is told, as a warning (the daemons log it: app::log_store_notice).
  const auto notices = commits.notices();
  ASSERT_EQ(notices.size(), 1U);
  EXPECT_FALSE(notices[0].first);
  EXPECT_EQ(notices[0].second, wal_notices(at_max, 32).front().text);
  EXPECT_EQ(std::filesystem::file_size(path + "-wal"), 0U) << "TRUNCATE empties the file";
  commit_one(*writer, writer->size());
  EXPECT_LT(commits.last().wal_pages, 32U);
  EXPECT_EQ(commits.last().wal_checkpoint, WalCheckpointInCommit::kNone);
}

TEST_F(WalCheckpoint, AReaderThatHoldsOldPagesDelaysTheWritersCheckpointWithoutStallingEachCommit) {
  auto writer = open_writer(path, WalCheckpointMode::kBackground, 1000000, 32, commits);
  commit_one(*writer, 0);
  // A reader (an audit of the live store, say) in the middle of a long read.
  auto reader = std::make_unique<RawDb>(path, SQLITE_OPEN_READONLY);
  ASSERT_TRUE(reader->ok());
  ASSERT_EQ(reader->exec("BEGIN"), SQLITE_OK);
  ASSERT_GT(reader->query_int("SELECT count(*) FROM log_entry"), 0);
  ASSERT_TRUE(commit_until(*writer, commits, checkpointed_in_commit));
  const CommitStats busy = commits.last();
  EXPECT_EQ(busy.wal_checkpoint, WalCheckpointInCommit::kAtMaxBusy);
  EXPECT_FALSE(busy.wal_checkpoint_detail.empty());
  // The next commits do not wait for the reader again until the WAL has grown by max_pages more.
  commit_one(*writer, writer->size());
  EXPECT_EQ(commits.last().wal_checkpoint, WalCheckpointInCommit::kNone);
  ASSERT_EQ(reader->exec("COMMIT"), SQLITE_OK);
  EXPECT_TRUE(commit_until(*writer, commits, [](const CommitStats& stats) {
    return stats.wal_checkpoint == WalCheckpointInCommit::kAtMax;
  }));
  reader.reset();  // else the writer's close is not the last, and leaves the WAL
  close_and_check(writer, path);
}

TEST_F(WalCheckpoint, TheCheckpointerFollowsARotationAndEverySealedSegmentIsFoldedBack) {
  const std::string store = dir.file("vs");
  auto log =
      Log::open(store + "/", OpenMode::kReadWrite, StoreRole::kVs, testing::segmented_options());
  ASSERT_TRUE(log.ok()) << log.error();
  BatchWriter::Options options = testing::rotating_options(48 * 1024);
  options.wal = WalCheckpointOptions{WalCheckpointMode::kBackground, 8, 100000};
  options.on_commit = commits.recorder();
  auto writer = std::make_unique<BatchWriter>(std::move(*log), options);
  for (int i = 0; i < 200; ++i) commit_one(*writer, writer->size());
  const auto segments = [&] {
    auto reader = Log::open(store, OpenMode::kReadOnly);
    EXPECT_TRUE(reader.ok());
    return reader.ok() ? (*reader)->segments() : std::vector<Log::SegmentInfo>{};
  }();
  ASSERT_GE(segments.size(), 3U) << "the writer never rotated";
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    EXPECT_FALSE(wal_exists(store + "/" + segments[i].file))
        << segments[i].file << " is sealed, yet its WAL is still beside it";
  }
  // The active segment's WAL starts over too: the checkpointer works on the newest file.
  EXPECT_TRUE(commit_until_the_wal_starts_over(*writer, commits, 8, 2));
  expect_no_checkpoint_in_a_commit(commits);
  const std::uint64_t size = writer->size();
  writer.reset();
  auto reopened = Log::open(store, OpenMode::kReadWrite, StoreRole::kVs,
                            testing::segmented_options(Verify::kFull));
  ASSERT_TRUE(reopened.ok()) << reopened.error();
  EXPECT_EQ((*reopened)->size(), size);
}

// A failing disk fails every checkpoint: how many and the first one's error, at most once a
// period, and nothing when none failed since.
TEST(CheckpointFailures, ReportsHowManyAndTheFirstAtMostOncePerPeriod) {
  using std::chrono::seconds;
  CheckpointFailures failures;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(failures.take(t0, seconds(10)), std::nullopt);
  failures.add("a.db: disk I/O error");
  failures.add("a.db: another");
  EXPECT_EQ(failures.take(t0, seconds(10)),
            "2 checkpoints failed, the first: a.db: disk I/O error");
  failures.add("b.db: disk I/O error");
  EXPECT_EQ(failures.take(t0 + seconds(5), seconds(10)), std::nullopt);  // too soon: kept
  failures.add("b.db: again");
  EXPECT_EQ(failures.take(t0 + seconds(10), seconds(10)),
            "2 checkpoints failed, the first: b.db: disk I/O error");
  EXPECT_EQ(failures.take(t0 + seconds(30), seconds(10)), std::nullopt);
  failures.add("c.db: full");
  EXPECT_EQ(failures.take(t0 + seconds(31), seconds(10)),
            "1 checkpoint failed, the first: c.db: full");
}

// What a commit's stats tell the daemon's log: nothing for an ordinary commit; an error for failed
// checkpoints; a warning for the writer's own checkpoint at wal_max_pages, done or refused.
struct WalNoticeCase {
  const char* name;
  CommitStats stats;
  std::vector<std::pair<WalNotice::Severity, std::string>> expected;
};

CommitStats commit_stats(WalCheckpointInCommit checkpoint, std::string failure,
                         std::string detail = {}) {
  CommitStats stats;
  stats.wal_pages = 16400;
  stats.wal_checkpoint = checkpoint;
  stats.wal_checkpoint_duration = std::chrono::microseconds(12340);
  stats.wal_checkpoint_failure = std::move(failure);
  stats.wal_checkpoint_detail = std::move(detail);
  return stats;
}

class WalNotices : public ::testing::TestWithParam<WalNoticeCase> {};

TEST_P(WalNotices, SayWhatTheOperatorShouldHear) {
  std::vector<std::pair<WalNotice::Severity, std::string>> got;
  for (const auto& notice : wal_notices(GetParam().stats, 16384)) {
    got.emplace_back(notice.severity, notice.text);
  }
  EXPECT_EQ(got, GetParam().expected);
}

constexpr auto kError = WalNotice::Severity::kError;
constexpr auto kWarning = WalNotice::Severity::kWarning;

INSTANTIATE_TEST_SUITE_P(
    Cases, WalNotices,
    ::testing::Values(
        WalNoticeCase{"ordinary", commit_stats(WalCheckpointInCommit::kNone, ""), {}},
        WalNoticeCase{"inline_checkpoint", commit_stats(WalCheckpointInCommit::kInline, ""), {}},
        WalNoticeCase{
            "failed",
            commit_stats(WalCheckpointInCommit::kNone, "2 checkpoints failed, the first: a.db: x"),
            {{kError,
              "store: WAL checkpoint failed: 2 checkpoints failed, the first: a.db: x; every "
              "commit stays in the WAL, which grows until a checkpoint succeeds (now 16400 "
              "pages): check the disk"}}},
        WalNoticeCase{"at_max",
                      commit_stats(WalCheckpointInCommit::kAtMax, ""),
                      {{kWarning,
                        "store: the WAL reached 16400 pages (wal_max_pages 16384) before the "
                        "background checkpoints emptied it; the writer checkpointed it itself in "
                        "12.3 ms"}}},
        WalNoticeCase{"at_max_busy_and_failed",
                      commit_stats(WalCheckpointInCommit::kAtMaxBusy,
                                   "1 checkpoint failed, the "
                                   "first: b.db: y",
                                   "a reader holds 90 pages"),
                      {{kError,
                        "store: WAL checkpoint failed: 1 checkpoint failed, the first: b.db: y; "
                        "every commit stays in the WAL, which grows until a checkpoint succeeds "
                        "(now 16400 pages): check the disk"},
                       {kWarning,
                        "store: the WAL reached 16400 pages (wal_max_pages 16384) and the writer "
                        "could not empty it in 12.3 ms: a reader holds 90 pages; it tries again "
                        "16384 pages on"}}}),
    [](const ::testing::TestParamInfo<WalNoticeCase>& row) { return std::string(row.param.name); });

}  // namespace
}  // namespace gsvs::storage
