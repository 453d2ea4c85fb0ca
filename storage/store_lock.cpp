#include "storage/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "protocol/regular_file.h"

namespace gsvs::storage {

namespace {

// A holder removes the lock file when it closes cleanly. A process that opened the file just
// before that may then lock a file no longer at the path, so acquire() checks that the file it
// locked is still the one named, and starts over when not. Each retry needs another writer to
// open and close in between, so a few are plenty.
constexpr int kAttempts = 8;

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Who holds the lock, from the pid its holder wrote into the file.
std::string holder_of(int fd) {
  char buffer[32] = {};
  const ssize_t got = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string text(buffer, got > 0 ? static_cast<std::size_t>(got) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return "a process that has not written its pid yet";
  for (const char c : text) {
    if (c < '0' || c > '9') return "a process that left no readable pid";
  }
  return "pid " + text;
}

}  // namespace

std::string StoreLock::path_for(const std::string& store_path) { return store_path + ".lock"; }

Result<StoreLock> StoreLock::acquire(const std::string& store_path, const std::string& label) {
  const std::string path = path_for(store_path);
  const std::string where = label + ": lock file " + path + ": ";
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    // O_NOFOLLOW: the file is truncated below, and must not be a link to something else.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return Error{where + "cannot open: " + errno_text(errno)};
    StoreLock candidate(path, fd);  // closes fd on every early return
    struct stat held {};
    if (::fstat(fd, &held) != 0) return Error{where + "cannot stat: " + errno_text(errno)};
    if (!S_ISREG(held.st_mode)) return Error{where + "not a regular file"};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (error == EWOULDBLOCK) {
        // Retried: a holder that is stopping lets go when it exits.
        return Error{label + ": in use by another writer, " + holder_of(fd) + " (it holds " + path +
                         "); stop that process before starting another on this store, or open the "
                         "store read-only to read it",
                     Retry::kLater};
      }
      return Error{where + "cannot lock: " + errno_text(error)};
    }
    struct stat named {};
    if (::stat(path.c_str(), &named) != 0 || !same_file(held, named)) continue;  // replaced

    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      return Error{where + "cannot write the pid: " + errno_text(errno)};
    }
    candidate.owner_pid_ = ::getpid();
    return candidate;
  }
  return Error{where + "replaced " + std::to_string(kAttempts) +
               " times while being locked; another program keeps recreating it"};
}

StoreLock::~StoreLock() { release(); }

StoreLock::StoreLock(StoreLock&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      owner_pid_(std::exchange(other.owner_pid_, 0)) {}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    owner_pid_ = std::exchange(other.owner_pid_, 0);
  }
  return *this;
}

void StoreLock::release() noexcept {
  if (fd_ < 0) return;
  // Remove the file while still holding the lock, and only if it is still ours: someone may
  // have deleted it by hand and a new writer created its own. A child forked while the lock is
  // held shares it and must not remove the file under its parent.
  struct stat held {};
  struct stat named {};
  if (owner_pid_ == ::getpid() && ::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 &&
      same_file(held, named)) {
    ::unlink(path_.c_str());
  }
  ::close(fd_);  // releases the lock
  fd_ = -1;
}

}  // namespace gsvs::storage
