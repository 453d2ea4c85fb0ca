#include "tests/audit/audit_fixture.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <limits>
#include <memory>
#include <stdexcept>

#include "storage/log.h"

extern char** environ;

namespace gsvs::testing {

namespace {

struct Generated {
  TempDir dir;
  std::string path = dir.file("generated.db");
  GeneratedStore store;
};

Generated& instance() {
  // One store per test process, made on first use; its directory is removed at exit (ctest runs
  // every test in a process of its own, so a store kept past exit would be left behind by each).
  static const std::unique_ptr<Generated> g = [] {
    auto made = std::make_unique<Generated>();
    StoreGeneratorOptions options;
    options.seed = kAuditSeed;
    options.min_entries = 3000;
    options.concurrent_sessions = 4;
    options.players_per_session = 3;
    options.session_seconds = 8;
    options.checkpoint_every = 200;
    options.receipt_batch = 5;  // half the receipts signed in batches, at every leaf position
    auto store = generate_store(made->path, options);
    if (!store) throw std::runtime_error("generate_store: " + store.error());
    made->store = std::move(store).value();
    return made;
  }();
  return *g;
}

}  // namespace

const GeneratedStore& generated() { return instance().store; }
const std::string& generated_path() { return instance().path; }
crypto::PublicKey generated_vs_key() { return generated().vs_public_key; }

std::vector<audit::Finding> VerifyRun::failures() const {
  std::vector<audit::Finding> out;
  for (const auto& f : sink.kept()) {
    if (f.severity == audit::Severity::kFailure) out.push_back(f);
  }
  return out;
}

std::uint64_t VerifyRun::first_failure() const {
  std::uint64_t first = std::numeric_limits<std::uint64_t>::max();
  for (const auto& f : failures()) first = std::min(first, f.seq);
  return first;
}

bool VerifyRun::has(std::string_view check, std::uint64_t seq) const {
  for (const auto& f : sink.kept()) {
    if (f.check == check && f.seq <= seq && seq <= f.last_seq) return true;
  }
  return false;
}

std::string VerifyRun::describe() const {
  std::string out = error.empty() ? "" : "error: " + error + "\n";
  out += std::to_string(sink.failures()) + " failures, " + std::to_string(sink.warnings()) +
         " warnings\n";
  for (const auto& f : sink.kept()) out += "  " + audit::to_text(f) + "\n";
  return out;
}

VerifyRun verify(const std::string& path, audit::VerifyOptions options) {
  VerifyRun run;
  if (!options.vs_key) options.vs_key = audit::KeySource{generated_vs_key(), "test"};
  // Two workers unless a test asks for more or fewer: threads, yet no more than CI's cores.
  if (options.threads == 0) options.threads = 2;
  auto result = audit::verify_store(path, options, run.sink);
  if (result) {
    run.result = std::move(result).value();
  } else {
    run.error = result.error();
  }
  return run;
}

CliResult run_audit_cli(const std::vector<std::string>& args) {
  TempDir dir;
  const std::string out_path = dir.file("out");
  const std::string err_path = dir.file("err");
  std::vector<std::string> argv{program("audit-cli")};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, raw[0], &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  CliResult result;
  if (spawned != 0) throw std::runtime_error("cannot run " + argv[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(out_path);
  result.err = read_text(err_path);
  return result;
}

std::vector<std::uint64_t> checkpoint_positions(const std::string& path, std::uint64_t from_seq) {
  auto log = storage::Log::open(path, storage::OpenMode::kReadOnly);
  EXPECT_TRUE(log.ok()) << log.error();
  std::vector<std::uint64_t> positions;
  if (!log) return positions;
  storage::Filter filter;
  filter.from_seq = from_seq;
  filter.kind = protocol::MessageKind::kCheckpoint;
  const Status scanned = (*log)->scan(filter, [&](const storage::Entry& e) {
    positions.push_back(e.header.seq);
    return true;
  });
  EXPECT_TRUE(scanned.ok()) << scanned.error();
  return positions;
}

}  // namespace gsvs::testing
