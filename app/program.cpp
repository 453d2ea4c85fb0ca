#include "app/program.h"

#include <spdlog/spdlog.h>

#include <CLI/App.hpp>
#include <CLI/Validators.hpp>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <system_error>
#include <utility>

#include "app/log_line.h"
#include "protocol/crypto.h"

namespace gsvs::app {

std::string_view project_version() { return GSVS_VERSION; }

void add_version_flag(CLI::App& app, const std::string& program) {
  app.set_version_flag("--version", program + " " + std::string(project_version()),
                       "Print the program name and version, then exit");
}

bool ready_to_run(std::string_view program, BrokenPipe broken_pipe) {
  std::signal(SIGPIPE, broken_pipe == BrokenPipe::kFailsTheWrite ? SIG_IGN : SIG_DFL);
  const Status ready = crypto::init();
  if (!ready) std::cerr << program << ": " << ready.error() << "\n";
  return ready.ok();
}

int start_failed(std::string_view program, const Error& why) {
  std::cerr << program << " run: " << why.message << "\n";
  if (why.retry == Retry::kNo) return kExitUsage;
  std::cerr << "This may pass without a change: exit code " << kExitFailed
            << ", which systemd starts again after RestartSec.\n";
  return kExitFailed;
}

void add_store_stall_option(CLI::App& run, std::uint32_t& store_stall_ms) {
  run.add_option("--store_stall_ms", store_stall_ms,
                 "A commit to the store that has not returned after this long makes the daemon "
                 "exit with code 1 rather than wait without end (a PostgreSQL server lost, a disk "
                 "that hangs); 0: wait")
      ->capture_default_str()
      ->check(
          [](const std::string& text) -> std::string {
            std::uint32_t ms = 0;
            const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ms);
            // A leading zero ("0100", octal to CLI11) is refused by app::decimal_integers.
            const bool number = error == std::errc() && end == text.data() + text.size();
            if (number && (ms == 0 || (ms >= 1000 && ms <= 3600000))) return {};
            return "Value " + text + " not 0 (wait) or in [1000 - 3600000]";
          },
          "0 or [1000 - 3600000]");
}

std::function<void(std::chrono::milliseconds in_flight)> exit_when_store_stalls(std::string program,
                                                                                std::string store) {
  return [program = std::move(program), store = std::move(store)](std::chrono::milliseconds ms) {
    spdlog::critical(
        "store {}: a commit has not returned for {} ms (store_stall_ms): the store does not "
        "answer (a PostgreSQL server lost mid-commit or waiting for a synchronous standby that "
        "is gone, a disk that hangs); {} exits now with code {} rather than wait without end, "
        "losing what a crash would: the commit under way. Check the database server and its "
        "synchronous standby, or the disk; the next start goes on from the store once it answers",
        store, ms.count(), program, kExitFailed);
    spdlog::default_logger()->flush();
    std::_Exit(kExitFailed);
  };
}

void log_store_notice(bool is_error, const std::string& text) {
  if (is_error) {
    spdlog::error("{}", log_text(text));
  } else {
    spdlog::warn("{}", log_text(text));
  }
}

}  // namespace gsvs::app
