// A store says whose record it is (meta.format, docs/STORE.md §2.1): the VS's log or a GS's own
// record. A program that keeps one role refuses a store of the other, naming both formats.
#include <gtest/gtest.h>

#include <string>

#include "tests/storage/store_fixture.h"

namespace gsvs::storage {
namespace {

using testing::RawDb;
using testing::sample_entries;
using testing::TempDir;

std::string meta_format(const std::string& path) {
  RawDb raw(path, SQLITE_OPEN_READONLY);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(raw.get(), "SELECT value FROM meta WHERE key = 'format'", -1, &stmt,
                         nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return out;
}

// Creates a store of `role` holding a few entries.
std::string make_store(const TempDir& dir, const std::string& name, StoreRole role) {
  auto path = dir.file(name);
  auto log = Log::open(path, OpenMode::kReadWrite, role);
  EXPECT_TRUE(log.ok()) << (log ? "" : log.error());
  if (log) {
    EXPECT_TRUE((*log)->append(sample_entries(0, 3)).ok());
  }
  return path;
}

TEST(StoreRole, EachRoleIsCreatedWithItsFormatAndReopens) {
  TempDir dir;
  const struct {
    StoreRole role;
    const char* format;
  } cases[] = {{StoreRole::kVs, "gsvs-vs-log"}, {StoreRole::kGs, "gsvs-gs-log"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.format);
    EXPECT_EQ(store_format(c.role), c.format);
    const auto path = make_store(dir, std::string(c.format) + ".db", c.role);
    EXPECT_EQ(meta_format(path), c.format);
    auto writer = Log::open(path, OpenMode::kReadWrite, c.role);
    ASSERT_TRUE(writer.ok()) << writer.error();
    EXPECT_EQ((*writer)->role(), c.role);
    EXPECT_EQ((*writer)->size(), 3u);
    writer.value().reset();
    // A read-only open without a role takes either and tells which.
    auto reader = Log::open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(reader.ok()) << reader.error();
    EXPECT_EQ((*reader)->role(), c.role);
    auto pinned = Log::open(path, OpenMode::kReadOnly, c.role);
    ASSERT_TRUE(pinned.ok()) << pinned.error();
  }
}

TEST(StoreRole, TheTwoArgumentReadWriteOpenKeepsAVsStore) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto log = Log::open(path, OpenMode::kReadWrite);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_EQ((*log)->role(), StoreRole::kVs);
  log.value().reset();
  EXPECT_EQ(meta_format(path), "gsvs-vs-log");
}

TEST(StoreRole, AStoreOfTheOtherRoleIsRefusedNamingBothFormats) {
  TempDir dir;
  const auto vs = make_store(dir, "vs.db", StoreRole::kVs);
  const auto gs = make_store(dir, "gs.db", StoreRole::kGs);
  const struct {
    std::string path;
    OpenMode mode;
    StoreRole expected;
    std::string message;
  } cases[] = {
      {gs, OpenMode::kReadWrite, StoreRole::kVs,
       "a GS store (meta.format 'gsvs-gs-log'), not the VS store ('gsvs-vs-log') expected here"},
      {gs, OpenMode::kReadOnly, StoreRole::kVs,
       "a GS store (meta.format 'gsvs-gs-log'), not the VS store ('gsvs-vs-log') expected here"},
      {vs, OpenMode::kReadWrite, StoreRole::kGs,
       "a VS store (meta.format 'gsvs-vs-log'), not the GS store ('gsvs-gs-log') expected here. A "
       "GS store made before format 'gsvs-gs-log' existed says 'gsvs-vs-log' too: keep it as "
       "evidence (audit-cli reads it with --role gs) and give gsd a new store"},
      {vs, OpenMode::kReadOnly, StoreRole::kGs, "not the GS store ('gsvs-gs-log') expected here"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path + (c.mode == OpenMode::kReadWrite ? " read-write" : " read-only"));
    auto log = Log::open(c.path, c.mode, c.expected);
    ASSERT_FALSE(log.ok());
    EXPECT_NE(log.error().find("store " + c.path + ": "), std::string::npos) << log.error();
    EXPECT_NE(log.error().find(c.message), std::string::npos) << log.error();
  }
  // Refused before anything was written: both still hold their three entries, as they were.
  EXPECT_EQ(meta_format(vs), "gsvs-vs-log");
  EXPECT_EQ(meta_format(gs), "gsvs-gs-log");
  auto writer = Log::open(gs, OpenMode::kReadWrite, StoreRole::kGs);
  ASSERT_TRUE(writer.ok()) << writer.error();
  EXPECT_EQ((*writer)->size(), 3u);
}

TEST(StoreRole, AnUnknownFormatIsRefusedNamingTheKnownOnes) {
  TempDir dir;
  const auto path = make_store(dir, "odd.db", StoreRole::kVs);
  {
    RawDb raw(path);
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(raw.exec("DROP TRIGGER meta_no_update; UPDATE meta SET value = 'gsvs-xx-log' "
                       "WHERE key = 'format'"),
              SQLITE_OK)
        << raw.error();
  }
  auto any = Log::open(path, OpenMode::kReadOnly);
  ASSERT_FALSE(any.ok());
  EXPECT_NE(any.error().find("meta.format is 'gsvs-xx-log', expected 'gsvs-vs-log' or "
                             "'gsvs-gs-log'"),
            std::string::npos)
      << any.error();
  auto gs = Log::open(path, OpenMode::kReadWrite, StoreRole::kGs);
  ASSERT_FALSE(gs.ok());
  EXPECT_NE(gs.error().find("meta.format is 'gsvs-xx-log', expected 'gsvs-gs-log'"),
            std::string::npos)
      << gs.error();
}

}  // namespace
}  // namespace gsvs::storage
