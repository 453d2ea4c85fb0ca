// Private to storage/: keeps the WAL of the file a BatchWriter writes short without making its
// commits copy pages or fsync the database file (docs/STORE.md §7.1).
//
// SQLite's default checkpoints inside the commit that takes the WAL past 1,000 pages: that commit
// copies the pages into the database file and fsyncs it, and every callback of its batch waits.
// Here the writer connection only counts its WAL pages (its WAL hook), and a WalCheckpointer,
// a thread with a connection of its own to the same file, runs PASSIVE checkpoints, which never
// take the writer's lock: the writer commits while one runs. A pass that copies every frame
// before the next commit lets that commit start the WAL over (SQLite resets it when the whole
// WAL is in the database file), so under steady load the WAL stays near start_pages.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "protocol/result.h"
#include "storage/log.h"
#include "storage/sqlite.h"

namespace gsvs::storage {

// What the writer connection's WAL hook saw in the last commit. Written by the hook, which runs
// inside COMMIT on the writer thread, and read by that thread after the commit: no lock.
struct WalCommitWatch {
  WalCheckpointOptions options;
  std::uint32_t pages = 0;  // frames in the WAL after the last commit
  // kInline mode: the last commit ran SQLite's checkpoint, how long it took, and its error where
  // it failed for another reason than a reader.
  bool checkpointed = false;
  std::chrono::steady_clock::duration checkpoint_duration{};
  std::string checkpoint_failure;
};

// Failed checkpoints, said at most once per period, since a failing disk fails every one: how
// many since the last report and the first one's error. Not thread-safe: its owner locks.
class CheckpointFailures {
 public:
  void add(std::string error);
  // The report, if any failed since the last one and that one is at least `period` old.
  std::optional<std::string> take(std::chrono::steady_clock::time_point now,
                                  std::chrono::steady_clock::duration period);

 private:
  std::uint64_t count_ = 0;
  std::string first_;
  std::optional<std::chrono::steady_clock::time_point> last_report_;
};

// Installs the WAL hook of `db` with `watch`, which must outlive the connection or the next
// install on it. kInline: the hook does what SQLite's default one does (a PASSIVE checkpoint once
// the WAL holds options.start_pages), timed. kBackground: it counts, and SQLite's automatic
// checkpoint is off.
Status watch_wal_commits(sqlite::Db& db, WalCommitWatch& watch);

// Runs PASSIVE checkpoints of one store file on its own thread and connection.
// Threading: committed() and at_max() are called by the writer thread, follow() and release() by
// the writer thread or the owner; all are safe together with the checkpointer's own thread.
class WalCheckpointer {
 public:
  explicit WalCheckpointer(std::uint32_t start_pages);
  // Stops the thread after the pass in progress, joins it and closes the connection.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Opens the checkpointer's connection to `file` (the file being written), closing any earlier
  // one. `label` prefixes errors.
  Status follow(const std::string& file, const std::string& label);
  // Closes the connection, after the pass in progress: a sealed segment's writer must be the last
  // to close it, so that its close folds the WAL back into the file.
  void release();
  // The writer committed and its WAL now holds `wal_pages`: wakes the thread when a pass is due
  // (the WAL is at start_pages, or the last pass did not reach the WAL's end).
  void committed(std::uint32_t wal_pages);

  // The writer's own checkpoint when the WAL reached max_pages: TRUNCATE on `writer` (waiting at
  // most a short while for readers), with no pass of the checkpointer running.
  struct AtMax {
    bool reset = false;  // the WAL was copied whole and truncated
    std::chrono::steady_clock::duration duration{};
    std::string detail;  // when not reset: why
  };
  AtMax checkpoint_at_max(sqlite::Db& writer);

  // Passes run so far, and how many copied the WAL to its end.
  [[nodiscard]] std::uint64_t passes() const;
  [[nodiscard]] std::uint64_t complete_passes() const;
  // The passes that failed for another reason than a reader (an I/O error, a full disk), as
  // CheckpointFailures::take reports them.
  std::optional<std::string> take_failures(std::chrono::steady_clock::time_point now,
                                           std::chrono::steady_clock::duration period);

 private:
  void run();

  const std::uint32_t start_pages_;
  // Guards the connection: held for a whole pass, by release(), follow() and checkpoint_at_max().
  std::mutex connection_mutex_;
  sqlite::Db db_;
  // Guards the rest; never held while a pass runs, so committed() never waits for one.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool connected_ = false;
  bool commit_seen_ = false;  // a commit since the last pass began
  bool chasing_ = false;      // the last pass left frames behind
  std::uint32_t wal_pages_ = 0;
  std::uint64_t passes_ = 0;
  std::uint64_t complete_passes_ = 0;
  CheckpointFailures failures_;
  std::string file_;    // the file followed, which the failures' text names
  std::thread thread_;  // last: started when everything above is ready
};

}  // namespace gsvs::storage
