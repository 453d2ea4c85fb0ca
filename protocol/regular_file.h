// Reading a small file that must be a regular file: key files and configuration files. A FIFO,
// a device or a directory named by mistake is refused with a message naming the path, never
// waited on (the open does not block, and nothing is read before the type is checked).
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <string>

#include "protocol/result.h"

namespace gsvs {

// Owns a file descriptor; closes it on every path.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

struct RegularFile {
  std::string contents;
  mode_t mode = 0;  // st_mode: the caller may check permissions
};

// Reads the whole file at `path`; refuses anything but a regular file, and files over
// `max_bytes`. The error names the path and the problem. What was read before a read error is
// wiped (the file may hold a secret).
Result<RegularFile> read_regular_file(const std::string& path, std::size_t max_bytes);

// The text of an errno value ("No such file or directory"). Safe from any thread, which
// std::strerror is not.
std::string errno_text(int error = errno);

}  // namespace gsvs
