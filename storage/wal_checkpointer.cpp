#include "storage/wal_checkpointer.h"

#include <utility>

#include "storage/log_impl.h"

namespace gsvs::storage {

namespace {

// The writer's checkpoint at max_pages waits this long for readers of an older snapshot before
// it gives up for now: the commit that runs it holds its batch's callbacks meanwhile.
constexpr int kAtMaxReaderWaitMs = 100;

// A checkpoint's result that is a fault (an I/O error, a full disk, a corrupt file), not a
// reader or another checkpoint holding it back: its text, else nothing.
std::string checkpoint_fault(sqlite3* db, int rc) {
  if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) return {};
  return sqlite::describe(db, rc);
}

// The WAL hook of the writer connection: runs at the end of every COMMIT, after the write lock
// is released, with the pages now in the WAL.
int wal_commit_hook(void* context, sqlite3* db, const char* schema, int pages) {
  auto& watch = *static_cast<WalCommitWatch*>(context);
  watch.pages = pages > 0 ? static_cast<std::uint32_t>(pages) : 0;
  watch.checkpointed = false;
  watch.checkpoint_duration = {};
  watch.checkpoint_failure.clear();
  if (watch.options.mode == WalCheckpointMode::kInline &&
      watch.pages >= watch.options.start_pages) {
    // What SQLite's default hook does (sqlite3WalDefaultHook), timed: its errors are not the
    // commit's, which is durable already.
    const auto started = std::chrono::steady_clock::now();
    watch.checkpoint_failure = checkpoint_fault(db, sqlite3_wal_checkpoint(db, schema));
    watch.checkpoint_duration = std::chrono::steady_clock::now() - started;
    watch.checkpointed = true;
  }
  return SQLITE_OK;
}

}  // namespace

// The connection changes through its raw handle, which cppcheck does not count as a change.
// cppcheck-suppress constParameter
Status watch_wal_commits(sqlite::Db& db, WalCommitWatch& watch) {
  // Off first: the automatic checkpoint is itself a WAL hook, which the next call replaces.
  if (sqlite3_wal_autocheckpoint(db.get(), 0) != SQLITE_OK) {
    return Error{"cannot turn off the automatic WAL checkpoint: " + db.last_error()};
  }
  sqlite3_wal_hook(db.get(), wal_commit_hook, &watch);
  return Status::success();
}

WalCheckpointer::WalCheckpointer(std::uint32_t start_pages)
    : start_pages_(start_pages), thread_([this] { run(); }) {}

WalCheckpointer::~WalCheckpointer() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status WalCheckpointer::follow(const std::string& file, const std::string& label) {
  auto db = open_file_read_write(file, label + " (WAL checkpointer)");
  if (!db) return db.failure();
  {
    const std::lock_guard connection(connection_mutex_);
    db_ = std::move(*db);
  }
  const std::lock_guard lock(mutex_);
  file_ = file;
  connected_ = true;
  chasing_ = false;
  wal_pages_ = 0;
  return Status::success();
}

void WalCheckpointer::release() {
  {
    const std::lock_guard lock(mutex_);
    connected_ = false;
  }
  const std::lock_guard connection(connection_mutex_);
  db_ = sqlite::Db{};
}

void WalCheckpointer::committed(std::uint32_t wal_pages) {
  bool due = false;
  {
    const std::lock_guard lock(mutex_);
    wal_pages_ = wal_pages;
    commit_seen_ = true;
    due = connected_ && (wal_pages >= start_pages_ || chasing_);
  }
  if (due) wake_.notify_one();
}

// cppcheck-suppress constParameter ; as watch_wal_commits: changed through its raw handle
WalCheckpointer::AtMax WalCheckpointer::checkpoint_at_max(sqlite::Db& writer) {
  // No pass of ours at the same time: SQLite would answer the second checkpoint SQLITE_BUSY.
  const std::lock_guard connection(connection_mutex_);
  const auto started = std::chrono::steady_clock::now();
  sqlite3_busy_timeout(writer.get(), kAtMaxReaderWaitMs);
  int wal_frames = 0;
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(writer.get(), "main", SQLITE_CHECKPOINT_TRUNCATE,
                                           &wal_frames, &copied);
  sqlite3_busy_timeout(writer.get(), kStoreBusyTimeoutMs);
  AtMax result;
  result.duration = std::chrono::steady_clock::now() - started;
  result.reset = rc == SQLITE_OK;
  if (rc == SQLITE_BUSY) {
    result.detail = "a reader of an older snapshot or another checkpoint kept " +
                    std::to_string(wal_frames > copied ? wal_frames - copied : 0) +
                    " pages from being copied";
  } else if (rc != SQLITE_OK) {
    result.detail = writer.last_error();
  }
  {
    const std::lock_guard lock(mutex_);
    chasing_ = false;
  }
  return result;
}

std::uint64_t WalCheckpointer::passes() const {
  const std::lock_guard lock(mutex_);
  return passes_;
}

std::uint64_t WalCheckpointer::complete_passes() const {
  const std::lock_guard lock(mutex_);
  return complete_passes_;
}

std::optional<std::string> WalCheckpointer::take_failures(
    std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration period) {
  const std::lock_guard lock(mutex_);
  return failures_.take(now, period);
}

void CheckpointFailures::add(std::string error) {
  if (count_++ == 0) first_ = std::move(error);
}

std::optional<std::string> CheckpointFailures::take(std::chrono::steady_clock::time_point now,
                                                    std::chrono::steady_clock::duration period) {
  if (count_ == 0 || (last_report_ && now - *last_report_ < period)) return std::nullopt;
  last_report_ = now;
  std::string report = std::to_string(count_) + " checkpoint" + (count_ == 1 ? "" : "s") +
                       " failed, the first: " + first_;
  count_ = 0;
  first_.clear();
  return report;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // A pass starts right after a commit, so that it has the whole gap before the next one to
    // reach the WAL's end; a pass that does lets that next commit start the WAL over.
    wake_.wait(lock, [this] {
      return stopping_ || (connected_ && commit_seen_ && (wal_pages_ >= start_pages_ || chasing_));
    });
    if (stopping_) return;
    commit_seen_ = false;
    lock.unlock();
    int rc = SQLITE_OK;
    int wal_frames = 0;
    int copied = 0;
    std::string fault;
    {
      const std::lock_guard connection(connection_mutex_);
      if (db_.get() != nullptr) {
        rc = sqlite3_wal_checkpoint_v2(db_.get(), "main", SQLITE_CHECKPOINT_PASSIVE, &wal_frames,
                                       &copied);
        fault = checkpoint_fault(db_.get(), rc);
      }
    }
    lock.lock();
    ++passes_;
    if (!fault.empty()) failures_.add(file_ + ": " + fault);
    const bool complete = rc == SQLITE_OK && copied >= wal_frames;
    if (complete) ++complete_passes_;
    // After an error, wait for the WAL to reach start_pages again; if it never empties, the
    // writer's own checkpoint at max_pages bounds it (and reports the error).
    chasing_ = rc == SQLITE_OK && !complete;
  }
}

}  // namespace gsvs::storage
