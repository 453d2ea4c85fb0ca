// Private to storage/: the exclusive lock a read-write Log holds on its store for its whole life,
// so that a second writer (a second vsd or gsd started on the same file) is refused at open
// instead of revoking the first one's sessions and forking its chain.
//
// The lock is flock(2) on a sidecar file, "<store>.lock", never on the database: SQLite keeps
// POSIX (fcntl) locks on the database file, and closing any descriptor of that file in the
// process would drop them. flock locks belong to the open file description and die with the
// process, so a lock file left behind by a crash holds nothing. docs/STORE.md §1 and §6.1.
#pragma once

#include <sys/types.h>

#include <string>

#include "protocol/result.h"

namespace gsvs::storage {

class StoreLock {
 public:
  StoreLock() = default;  // holds nothing
  // Takes the lock without waiting and writes this process's pid into the lock file. Fails,
  // naming the lock file and the pid written there, when another open file description (in any
  // process, this one included) holds it. `label` ("store <path>") prefixes every error.
  static Result<StoreLock> acquire(const std::string& store_path, const std::string& label);
  ~StoreLock();  // removes the lock file, then releases the lock
  StoreLock(StoreLock&& other) noexcept;
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  // "<store>.lock".
  static std::string path_for(const std::string& store_path);

 private:
  StoreLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  void release() noexcept;
  std::string path_;
  int fd_ = -1;
  pid_t owner_pid_ = 0;  // the process that took the lock; only it removes the file
};

}  // namespace gsvs::storage
