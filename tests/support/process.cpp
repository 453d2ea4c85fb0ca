#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace gsvs::testing {

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string output_path)
    : output_path_(std::move(output_path)) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    // The program under test starts with stdin, stdout and stderr only, as under a service
    // manager: descriptors the test runner or this process left open without close-on-exec
    // would count against its descriptor limit and differ from one machine to the next.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int inherited = 3; inherited < 65536; ++inherited) ::close(inherited);
    }
    ::execv(args[0], args.data());
    std::_Exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (!exited_) stop(std::chrono::milliseconds(5000));
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int ChildProcess::stop(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  ::kill(pid_, SIGTERM);
  int code = wait(timeout);
  if (code == -1) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::milliseconds(5000));
    return -1;
  }
  return code;
}

bool ChildProcess::running() { return wait(std::chrono::milliseconds(0)) == -1; }

std::string ChildProcess::output() const { return read_text(output_path_); }

bool ChildProcess::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (output().find(text) != std::string::npos) return true;
    if (!running()) return output().find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!bound) throw std::runtime_error("no free port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "gsvs-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("GSVS_KEEP_TEST_DIRS") == nullptr) std::filesystem::remove_all(path_, ec);
}

std::string program(const std::string& name) {
  const char* dir = std::getenv("GSVS_BIN_DIR");
  return std::string(dir != nullptr ? dir : GSVS_DEFAULT_BIN_DIR) + "/" + name;
}

std::string source_file(const std::string& relative) {
  const char* root = std::getenv("GSVS_SOURCE_DIR");
  for (const std::string& base :
       {root ? std::string(root) : std::string("."), std::string(".."), std::string(".")}) {
    if (std::filesystem::exists(base + "/" + relative)) return base + "/" + relative;
  }
  throw std::runtime_error("cannot find " + relative + " (set GSVS_SOURCE_DIR)");
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace gsvs::testing
