// One writer per store: a read-write Log holds "<store>.lock" (flock) for its whole life, so a
// second vsd or gsd started on the same store is refused at open, naming the holder.
#include "storage/store_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "storage/log.h"
#include "tests/storage/store_fixture.h"

namespace gsvs::storage {
namespace {

using testing::sample_entries;
using testing::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(StoreLock, SecondReadWriteOpenFailsNamingTheStoreAndTheHolder) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto first = Log::open(path, OpenMode::kReadWrite);
  ASSERT_TRUE(first.ok()) << first.error();

  auto second = Log::open(path, OpenMode::kReadWrite);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(contains(second.error(), "store " + path + ": in use by another writer"))
      << second.error();
  EXPECT_TRUE(contains(second.error(), "pid " + std::to_string(::getpid()))) << second.error();
  EXPECT_TRUE(contains(second.error(), path + ".lock")) << second.error();
  // It opens once the holder has stopped: a daemon refused it exits with the code systemd
  // restarts.
  EXPECT_EQ(second.failure().retry, Retry::kLater);

  // The refused open changed nothing: the first writer appends on.
  ASSERT_TRUE((*first)->append(sample_entries(0, 3)).ok());
  EXPECT_EQ((*first)->size(), 3U);
}

TEST(StoreLock, ReadOnlyOpensAreNotBlocked) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto writer = Log::open(path, OpenMode::kReadWrite);
  ASSERT_TRUE(writer.ok()) << writer.error();
  ASSERT_TRUE((*writer)->append(sample_entries(0, 4)).ok());
  auto reader = Log::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(reader.ok()) << reader.error();
  EXPECT_EQ((*reader)->size(), 4U);
}

TEST(StoreLock, ReleasedWhenTheLogOrItsBatchWriterIsDestroyed) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  {
    auto log = Log::open(path, OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.error();
    EXPECT_TRUE(std::filesystem::exists(path + ".lock"));
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".lock"));  // a clean close removes it
  {
    auto log = Log::open(path, OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.error();
    BatchWriter writer(std::move(*log), {});
    EXPECT_FALSE(Log::open(path, OpenMode::kReadWrite).ok());  // the writer holds it now
  }
  auto again = Log::open(path, OpenMode::kReadWrite);
  EXPECT_TRUE(again.ok()) << again.error();
}

TEST(StoreLock, AFailedOpenLeavesNoLockBehind) {
  TempDir dir;
  const auto text = dir.file("notes.txt");
  std::ofstream(text) << "this is not a database, just some text that is long enough to read\n";
  ASSERT_FALSE(Log::open(text, OpenMode::kReadWrite).ok());
  EXPECT_FALSE(std::filesystem::exists(text + ".lock"));
}

TEST(StoreLock, LockHeldByAnotherProcessIsDetectedAndDiesWithIt) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  int ready[2];
  int release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    ::close(release[1]);
    auto log = Log::open(path, OpenMode::kReadWrite);
    const char opened = log.ok() ? 'y' : 'n';
    if (::write(ready[1], &opened, 1) != 1) _exit(3);
    char byte = 0;
    while (::read(release[0], &byte, 1) > 0) {
    }
    _exit(0);  // without closing the Log, as a crash would: the lock file stays behind
  }
  ::close(ready[1]);
  ::close(release[0]);
  char opened = 0;
  ASSERT_EQ(::read(ready[0], &opened, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(opened, 'y');

  auto refused = Log::open(path, OpenMode::kReadWrite);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(contains(refused.error(), "in use by another writer, pid " + std::to_string(child)))
      << refused.error();
  auto reader = Log::open(path, OpenMode::kReadOnly);
  EXPECT_TRUE(reader.ok()) << reader.error();

  ::close(release[1]);  // the child exits
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(std::filesystem::exists(path + ".lock"));  // stale, and harmless
  auto after = Log::open(path, OpenMode::kReadWrite);
  EXPECT_TRUE(after.ok()) << after.error();
}

// What the refusal says when the lock file does not hold a pid this build wrote.
TEST(StoreLock, NamesTheHolderOnlyFromAPidItCanRead) {
  struct Case {
    std::string content;
    std::string says;
  };
  const Case cases[] = {
      {"4242\n", "pid 4242"},
      {"", "a process that has not written its pid yet"},
      {"vsd\n", "a process that left no readable pid"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.content);
    TempDir dir;
    const auto path = dir.file("vs.db");
    auto held = StoreLock::acquire(path, "store " + path);
    ASSERT_TRUE(held.ok()) << held.error();
    std::ofstream(StoreLock::path_for(path), std::ios::trunc) << c.content;
    auto refused = StoreLock::acquire(path, "store " + path);
    ASSERT_FALSE(refused.ok());
    EXPECT_TRUE(contains(refused.error(), "in use by another writer, " + c.says + " ("))
        << refused.error();
  }
}

TEST(StoreLock, RefusesALockFileThatIsALink) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  const auto target = dir.file("precious.txt");
  std::ofstream(target) << "not to be truncated\n";
  std::filesystem::create_symlink(target, path + ".lock");
  auto refused = Log::open(path, OpenMode::kReadWrite);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(contains(refused.error(), "lock file " + path + ".lock")) << refused.error();
  std::ifstream in(target);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "not to be truncated");
}

}  // namespace
}  // namespace gsvs::storage
