// Starts a real program as a child process for integration tests, with its output in a file,
// and makes sure it is gone when the test ends (SIGTERM, then SIGKILL).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace gsvs::testing {

class ChildProcess {
 public:
  // argv[0] is the program path. Output (stdout and stderr) goes to output_path.
  ChildProcess(std::vector<std::string> argv, std::string output_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Sends SIGTERM and waits; returns the exit code (128 + signal if killed), -1 on timeout
  // (then the child is SIGKILLed).
  int stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  // Waits for the child to exit by itself; -1 on timeout (the child keeps running).
  int wait(std::chrono::milliseconds timeout);
  [[nodiscard]] bool running();
  [[nodiscard]] std::string output() const;
  // Polls the output until it contains `text`; false on timeout or if the child exited first.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  bool exited_ = false;
  std::string output_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();
// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Path of a built program, from the environment variable GSVS_BIN_DIR set by CTest.
std::string program(const std::string& name);
// Path of a file of the source tree (docs/report.schema.json, docs/OPERATIONS.md): under
// GSVS_SOURCE_DIR, which CTest sets, else under the parent or the current directory. Throws
// when it is nowhere.
std::string source_file(const std::string& relative);

void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);
// How many times `what` occurs in `text` (overlapping occurrences count).
std::size_t count_of(const std::string& text, const std::string& what);

}  // namespace gsvs::testing
