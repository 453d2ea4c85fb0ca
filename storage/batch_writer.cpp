// Group commit over a Log. One mutex guards the queue and the Log's in-memory head; the database
// connection is used by the writer thread alone (after construction), so the two never contend.
// Callbacks run with no lock held. The WAL of the file written is checkpointed by a
// WalCheckpointer between commits, or inside them as SQLite does by default (docs/STORE.md §7.1).
#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "protocol/clock.h"
#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/wal_checkpointer.h"

namespace gsvs::storage {

namespace {
// What a row costs beyond its message, for the estimate of a segment's size: the other columns
// (two 32-byte hashes among them), the kind index and the b-tree's own bookkeeping.
constexpr std::uint64_t kRowOverheadBytes = 160;

// Failed background checkpoints are reported with a commit at most this often: a failing disk
// fails every pass, and one line in ten seconds says so as well as thousands.
constexpr std::chrono::seconds kCheckpointFailureReportPeriod{10};

// The file the writer appends to: the single file, or the active segment.
std::string file_being_written(const Log::Impl& log) {
  return log.segmented ? log.path + "/" + log.active_file : log.path;
}
}  // namespace

struct BatchWriter::Impl {
  using Clock = std::chrono::steady_clock;
  struct Item {
    std::vector<Entry> entries;
    Done done;
    Clock::time_point enqueued;
    std::vector<FrontierRow> frontiers;  // of the Checkpoint entries among them
    bool seal = false;  // its one entry seals the active segment: rotate after its commit
  };

  Options options;
  // What the writer connection's WAL hook reports; before `log`, whose connection points to it.
  WalCommitWatch wal_watch;
  // kBackground only. After `log`: destroyed first, so the writer's close is the file's last and
  // folds the WAL back into it.
  std::unique_ptr<Log> log;  // null: every submit fails
  std::unique_ptr<WalCheckpointer> checkpointer;
  // The WAL size at which the writer checkpoints itself next (raised while readers keep it from
  // resetting the WAL, so that it does not try at every commit). Writer thread only.
  std::uint32_t wal_next_max = 0;
  // kInline: the checkpoints inside commits that failed, not yet reported. Writer thread only.
  CheckpointFailures inline_failures;

  mutable std::mutex mutex;
  std::condition_variable wake;      // the writer waits here for work, a full batch or a deadline
  std::condition_variable progress;  // flush() waits here
  std::deque<Item> queue;
  std::size_t queued_entries = 0;
  std::optional<std::string> failure;  // the first failed commit; final
  std::uint64_t failed_from = 0;       // the first submit (by number) that failed
  bool stopping = false;
  // Submits are numbered from 0 in order; the callbacks of the first `completed` have run.
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;
  // A flush() waits for this many submits: the writer commits at once instead of waiting out
  // the delay.
  std::uint64_t flush_target = 0;
  std::thread::id writer_id;
  std::thread thread;
  // The commit under way (options.stall_after): when it began, and commits begun so far.
  std::optional<Clock::time_point> commit_started_at;
  std::uint64_t commits_started = 0;
  bool stall_watch_stopping = false;  // set once the writer thread has ended
  std::condition_variable stall_wake;
  std::thread stall_watcher;
  // Rotation (segmented stores with a seal builder): what the active segment holds, estimated,
  // and when it was started. Under `mutex`.
  bool rotates = false;
  std::uint64_t segment_bytes = 0;
  std::uint64_t segment_started_ms = 0;

  void run();
  // The stall watcher's thread: tells options.on_stall of a commit in flight for stall_after.
  void watch_stalls();
  // Sets up the WAL checkpoints of the file being written (at the start, and after a rotation).
  Status watch_wal();
  // After a commit (writer thread, no lock held): wakes the checkpointer, or checkpoints at the
  // WAL's maximum; fills in what the commit's stats say about the WAL.
  void after_commit(CommitStats& stats);
  // Both with `mutex` held.
  [[nodiscard]] Status check_open() const;
  Result<std::vector<Entry>> submit_locked(std::span<const PendingEntry> entries, Done done);
  // Appends the seal and marks the segment for rotation once it is full or old enough.
  void seal_if_due();
  [[nodiscard]] bool batch_ready() const {
    return stopping || queued_entries >= options.max_batch_entries || flush_target > completed;
  }
  static void run_callbacks(std::vector<Item>& items, const Status& status) {
    for (Item& item : items) {
      if (item.done) item.done(status);
    }
  }
};

void BatchWriter::Impl::run() {
  std::unique_lock lock(mutex);
  for (;;) {
    wake.wait(lock, [this] { return stopping || !queue.empty(); });
    if (queue.empty()) return;  // stopping, and nothing left to commit

    if (!failure) {
      const auto deadline =
          queue.front().enqueued + std::chrono::microseconds(options.max_delay_us);
      wake.wait_until(lock, deadline, [this] { return batch_ready(); });
    }

    // Whole submits only, up to max_batch_entries (one larger submit goes alone).
    std::vector<Item> batch;
    std::size_t count = 0;
    // A seal ends its batch: the entries after it go to the next segment.
    while (!queue.empty() &&
           (batch.empty() || (!batch.back().seal &&
                              count + queue.front().entries.size() <= options.max_batch_entries))) {
      count += queue.front().entries.size();
      queued_entries -= queue.front().entries.size();
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }

    if (failure) {
      // Entries queued behind a failed commit are never written; their callbacks learn why.
      const Status status = Error{*failure};
      lock.unlock();
      run_callbacks(batch, status);
      lock.lock();
      completed += batch.size();
      progress.notify_all();
      continue;
    }

    std::vector<std::span<const Entry>> groups;
    std::vector<FrontierRow> frontiers;
    groups.reserve(batch.size());
    for (const Item& item : batch) {
      groups.emplace_back(item.entries);
      frontiers.insert(frontiers.end(), item.frontiers.begin(), item.frontiers.end());
    }

    const auto commit_started = Clock::now();
    commit_started_at = commit_started;
    ++commits_started;
    lock.unlock();
    const Status written = log->impl_->write(groups, frontiers);
    Status rotated = Status::success();
    CommitStats stats;
    stats.entries = count;
    if (written) after_commit(stats);
    if (written && batch.back().seal) {
      // The seal is durable: the next segment starts after it. If it cannot be made, nothing
      // more is appended; this batch is durable all the same, and its submits are told so. The
      // checkpointer lets go of the sealed segment first, so that the writer's close folds its
      // WAL back into it.
      if (checkpointer) checkpointer->release();
      rotated = log->impl_->rotate(batch.back().entries.back(), batch.back().frontiers.back());
      if (rotated) rotated = watch_wal();
    }
    if (written) {
      stats.duration = Clock::now() - commit_started;
      if (options.on_commit) options.on_commit(stats);
      if (options.on_notice) {
        for (const WalNotice& notice : wal_notices(stats, options.wal.max_pages)) {
          options.on_notice(notice.severity == WalNotice::Severity::kError, notice.text);
        }
      }
    }
    lock.lock();
    commit_started_at.reset();
    if (!written || !rotated) {
      // Final: later submits are refused, and whatever is still queued fails with the same
      // reason on the next turns of the loop.
      failure =
          written ? "the next segment could not be started after a durable seal: " + rotated.error()
                  : written.error();
      failed_from = written ? completed + batch.size() : completed;
    }
    lock.unlock();
    run_callbacks(batch, written);
    lock.lock();
    completed += batch.size();
    progress.notify_all();
  }
}

void BatchWriter::Impl::watch_stalls() {
  // Told within a quarter of stall_after (a second at most) of the moment it is due.
  const auto period = std::clamp<std::chrono::milliseconds>(
      options.stall_after / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
  std::uint64_t told = 0;  // the commit (by number) on_stall was told of; 0: none
  std::unique_lock lock(mutex);
  while (!stall_watch_stopping) {
    stall_wake.wait_for(lock, period, [this] { return stall_watch_stopping; });
    if (stall_watch_stopping || !commit_started_at || commits_started == told) continue;
    const auto in_flight = Clock::now() - *commit_started_at;
    if (in_flight < options.stall_after) continue;
    told = commits_started;
    lock.unlock();
    options.on_stall(std::chrono::duration_cast<std::chrono::milliseconds>(in_flight));
    lock.lock();
  }
}

std::vector<WalNotice> wal_notices(const CommitStats& stats, std::uint32_t wal_max_pages) {
  std::vector<WalNotice> notices;
  const std::string pages = std::to_string(stats.wal_pages);
  if (!stats.wal_checkpoint_failure.empty()) {
    notices.push_back({WalNotice::Severity::kError,
                       "store: WAL checkpoint failed: " + stats.wal_checkpoint_failure +
                           "; every commit stays in the WAL, which grows until a checkpoint "
                           "succeeds (now " +
                           pages + " pages): check the disk"});
  }
  if (stats.wal_checkpoint != WalCheckpointInCommit::kAtMax &&
      stats.wal_checkpoint != WalCheckpointInCommit::kAtMaxBusy) {
    return notices;
  }
  std::array<char, 32> ms{};
  std::snprintf(ms.data(), ms.size(), "%.1f",
                std::chrono::duration<double, std::milli>(stats.wal_checkpoint_duration).count());
  const std::string at_max =
      "store: the WAL reached " + pages + " pages (wal_max_pages " + std::to_string(wal_max_pages);
  if (stats.wal_checkpoint == WalCheckpointInCommit::kAtMax) {
    notices.push_back({WalNotice::Severity::kWarning,
                       at_max +
                           ") before the background checkpoints emptied it; the writer "
                           "checkpointed it itself in " +
                           ms.data() + " ms"});
  } else {
    notices.push_back({WalNotice::Severity::kWarning,
                       at_max + ") and the writer could not empty it in " + ms.data() +
                           " ms: " + stats.wal_checkpoint_detail + "; it tries again " +
                           std::to_string(wal_max_pages) + " pages on"});
  }
  return notices;
}

BatchWriter::BatchWriter(std::unique_ptr<Log> log, Options options)
    : impl_(std::make_unique<Impl>()) {
  impl_->log = std::move(log);
  impl_->options = std::move(options);
  if (impl_->options.max_batch_entries == 0) impl_->options.max_batch_entries = 1;
  if (!impl_->log) {
    impl_->failure = "no log to write to";
    return;
  }
  const Log::Impl& log_impl = *impl_->log->impl_;
  impl_->rotates = log_impl.segmented && log_impl.mode == OpenMode::kReadWrite &&
                   impl_->options.seal &&
                   (impl_->options.segment_max_bytes > 0 || impl_->options.segment_max_age_ms > 0);
  impl_->segment_bytes = log_impl.active_bytes_at_open;
  impl_->segment_started_ms = log_impl.active_created_ms;
  // A PostgreSQL store has no WAL of ours to look after: the server checkpoints its own.
  if (log_impl.mode == OpenMode::kReadWrite && !log_impl.pg) {
    impl_->wal_watch.options = impl_->options.wal;
    if (impl_->options.wal.mode == WalCheckpointMode::kBackground) {
      impl_->checkpointer = std::make_unique<WalCheckpointer>(impl_->options.wal.start_pages);
    }
    // A store whose WAL cannot be looked after is refused, as one that cannot be written.
    if (auto status = impl_->watch_wal(); !status) impl_->failure = status.error();
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
  if (impl_->options.stall_after.count() > 0 && impl_->options.on_stall) {
    impl_->stall_watcher = std::thread([impl = impl_.get()] { impl->watch_stalls(); });
  }
  const std::lock_guard lock(impl_->mutex);
  impl_->writer_id = impl_->thread.get_id();
}

BatchWriter::~BatchWriter() {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->stall_watcher.joinable()) {
    {
      const std::lock_guard lock(impl_->mutex);
      impl_->stall_watch_stopping = true;
    }
    impl_->stall_wake.notify_all();
    impl_->stall_watcher.join();
  }
  // Its last pass ends; the writer's connection, closed after it, folds the WAL back.
  impl_->checkpointer.reset();
}

Status BatchWriter::Impl::watch_wal() {
  Log::Impl& written = *log->impl_;
  if (auto status = watch_wal_commits(written.db, wal_watch); !status) {
    return Error{written.label() + ": " + status.error()};
  }
  wal_next_max = options.wal.max_pages;
  if (!checkpointer) return Status::success();
  return checkpointer->follow(file_being_written(written), written.label());
}

void BatchWriter::Impl::after_commit(CommitStats& stats) {
  stats.wal_pages = wal_watch.pages;
  if (wal_watch.checkpointed) {
    stats.wal_checkpoint = WalCheckpointInCommit::kInline;
    stats.wal_checkpoint_duration = wal_watch.checkpoint_duration;
    if (!wal_watch.checkpoint_failure.empty()) {
      inline_failures.add(file_being_written(*log->impl_) + ": " + wal_watch.checkpoint_failure);
    }
  }
  auto failed = checkpointer
                    ? checkpointer->take_failures(Clock::now(), kCheckpointFailureReportPeriod)
                    : inline_failures.take(Clock::now(), kCheckpointFailureReportPeriod);
  if (failed) stats.wal_checkpoint_failure = std::move(*failed);
  if (!checkpointer) return;
  if (wal_watch.pages < wal_next_max) {
    checkpointer->committed(wal_watch.pages);
    return;
  }
  // The checkpointer has not kept up (or readers hold old pages): bound the WAL here.
  const WalCheckpointer::AtMax at_max = checkpointer->checkpoint_at_max(log->impl_->db);
  stats.wal_checkpoint_duration = at_max.duration;
  if (at_max.reset) {
    stats.wal_checkpoint = WalCheckpointInCommit::kAtMax;
    wal_next_max = options.wal.max_pages;
  } else {
    stats.wal_checkpoint = WalCheckpointInCommit::kAtMaxBusy;
    stats.wal_checkpoint_detail = at_max.detail;
    wal_next_max = wal_watch.pages + options.wal.max_pages;
  }
}

Result<std::vector<Entry>> BatchWriter::Impl::submit_locked(std::span<const PendingEntry> entries,
                                                            Done done) {
  Log::Impl& head = *log->impl_;
  auto prepared = head.prepare(entries);
  if (!prepared) return prepared;
  std::vector<FrontierRow> frontiers = head.advance(*prepared);
  const bool was_empty = queue.empty();
  queued_entries += prepared->size();
  for (const Entry& entry : *prepared) segment_bytes += entry.message.size() + kRowOverheadBytes;
  queue.push_back(Item{*prepared, std::move(done), Clock::now(), std::move(frontiers)});
  ++submitted;
  if (was_empty || queued_entries >= options.max_batch_entries) wake.notify_one();
  seal_if_due();
  return prepared;
}

void BatchWriter::Impl::seal_if_due() {
  if (!rotates) return;
  const bool full = options.segment_max_bytes > 0 && segment_bytes >= options.segment_max_bytes;
  const bool old = options.segment_max_age_ms > 0 &&
                   unix_time_ms() >= segment_started_ms + options.segment_max_age_ms;
  if (!full && !old) return;
  Log::Impl& head = *log->impl_;
  const PendingEntry seal = options.seal(head.size, head.accumulator.root());
  auto prepared = head.prepare(std::span<const PendingEntry>(&seal, 1));
  std::vector<FrontierRow> frontiers;
  if (prepared) frontiers = head.advance(*prepared);
  if (!prepared || frontiers.size() != 1) {
    // A seal that is not a checkpoint of this log at its head cannot link the next segment:
    // stop rather than grow the segment without bound unnoticed.
    failure = head.label() + ": cannot seal the active segment: " +
              (prepared ? std::string("the seal is not a Checkpoint of the log at its head")
                        : prepared.error());
    failed_from = submitted;
    return;
  }
  queued_entries += 1;
  queue.push_back(Item{std::move(*prepared), nullptr, Clock::now(), std::move(frontiers), true});
  ++submitted;
  segment_bytes = 0;
  segment_started_ms = unix_time_ms();
  wake.notify_one();
}

Status BatchWriter::Impl::check_open() const {
  if (failure) return Error{"log writer stopped after a failure: " + *failure};
  if (stopping) return Error{"log writer is shutting down"};
  return Status::success();
}

// Callers hand their entries over (std::move at every call site), so the vector is taken by value.
// cppcheck-suppress passedByValue
Result<std::vector<Entry>> BatchWriter::submit(std::vector<PendingEntry> entries, Done done) {
  const std::lock_guard lock(impl_->mutex);
  if (auto status = impl_->check_open(); !status) return status.failure();
  return impl_->submit_locked(entries, std::move(done));
}

Result<std::vector<Entry>> BatchWriter::submit_at_head(const BuildAtHead& build, Done done) {
  const std::lock_guard lock(impl_->mutex);
  if (auto status = impl_->check_open(); !status) return status.failure();
  const Log::Impl& head = *impl_->log->impl_;
  const std::vector<PendingEntry> entries = build(head.size, head.accumulator.root());
  return impl_->submit_locked(entries, std::move(done));
}

Status BatchWriter::flush() {
  std::unique_lock lock(impl_->mutex);
  if (std::this_thread::get_id() == impl_->writer_id) {
    return Error{"flush() called from a done callback would wait for itself"};
  }
  if (!impl_->log) return Error{*impl_->failure};
  const std::uint64_t target = impl_->submitted;
  if (target > impl_->flush_target) {
    impl_->flush_target = target;
    impl_->wake.notify_one();
  }
  impl_->progress.wait(lock, [&] { return impl_->completed >= target; });
  if (impl_->failure && impl_->failed_from < target) return Error{*impl_->failure};
  return Status::success();
}

std::uint64_t BatchWriter::size() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->log ? impl_->log->impl_->size : 0;
}

std::size_t BatchWriter::queued_entries() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->queued_entries;
}

Hash32 BatchWriter::merkle_root() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->log ? impl_->log->impl_->accumulator.root() : merkle::empty_root();
}

}  // namespace gsvs::storage
