#include "protocol/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "protocol/crypto.h"

namespace gsvs {

namespace {

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

}  // namespace

std::string errno_text(int error) { return std::generic_category().message(error); }

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

Result<RegularFile> read_regular_file(const std::string& path, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) return Error{"cannot open " + path + ": " + errno_text()};
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return Error{"cannot stat " + path + ": " + errno_text()};
  if (!S_ISREG(info.st_mode)) {
    const std::string kind = kind_of(info.st_mode);
    return Error{path + " is " + (kind.starts_with("a ") ? kind + ", not a regular file" : kind)};
  }
  if (static_cast<std::size_t>(info.st_size) > max_bytes) {
    return Error{path + " is too large (" + std::to_string(info.st_size) + " bytes; at most " +
                 std::to_string(max_bytes) + ")"};
  }
  RegularFile file;
  file.mode = info.st_mode;
  file.contents.assign(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t got = 0;
  while (got < file.contents.size()) {
    ssize_t n = ::read(fd.get(), file.contents.data() + got, file.contents.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string reason = errno_text();
      crypto::wipe({reinterpret_cast<std::uint8_t*>(file.contents.data()), file.contents.size()});
      return Error{"cannot read " + path + ": " + reason};
    }
    if (n == 0) break;  // the file shrank while being read
    got += static_cast<std::size_t>(n);
  }
  file.contents.resize(got);
  return file;
}

}  // namespace gsvs
