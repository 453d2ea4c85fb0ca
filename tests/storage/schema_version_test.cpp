// Schema versions (docs/STORE.md §2): a new store is version 3, whose rows carry no kind name and
// whose kind index holds only the kinds read by kind; stores of versions 1 and 2, made by older
// builds, keep opening, verifying and taking appends, and a segmented store of version-2
// segments rotates into version-3 segments and reads as one log.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "storage/log.h"
#include "storage/log_impl.h"
#include "tests/storage/store_fixture.h"

namespace gsvs::storage {
namespace {

using testing::make_filter;
using testing::RawDb;
using testing::sample_entries;
using testing::sample_entry;
using testing::scan_all;
using testing::TempDir;

std::string schema_version(const std::string& file) {
  RawDb raw(file, SQLITE_OPEN_READONLY);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(raw.get(), "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                         &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return out;
}

// Every row read back names its kind as protocol/ does, whichever layout holds the name.
void expect_kind_names(const std::vector<Entry>& rows) {
  for (const Entry& e : rows) {
    EXPECT_EQ(e.kind_name, protocol::kind_name(e.header.kind)) << "entry " << e.header.seq;
  }
}

TEST(SchemaVersion, ANewStoreKeepsKindNamesOnceInMessageKind) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  {
    auto log = Log::open(path, OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.error();
    ASSERT_TRUE((*log)->append(sample_entries(0, 40)).ok());
  }
  EXPECT_EQ(schema_version(path), "3");
  RawDb raw(path, SQLITE_OPEN_READONLY);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM pragma_table_info('log_entry') WHERE name = "
                          "'kind_name'"),
            0);
  // One row per kind protocol/ knows, named as protocol/ names it.
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM message_kind"), protocol::kMaxMessageKind);
  for (unsigned kind = 1; kind <= protocol::kMaxMessageKind; ++kind) {
    const std::string name(protocol::kind_name(static_cast<protocol::MessageKind>(kind)));
    EXPECT_EQ(raw.query_int("SELECT count(*) FROM message_kind WHERE kind = " +
                            std::to_string(kind) + " AND name = '" + name + "'"),
              1)
        << name;
  }
  // The readable view joins the name in.
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry_readable AS r JOIN message_kind AS k "
                          "USING (kind) WHERE r.kind_name IS k.name"),
            40);
  auto log = Log::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  expect_kind_names(scan_all(**log));
}

// A scan by kind returns the same rows whether the kind is in the partial index (JoinAccept,
// Checkpoint, Revocation) or not, on both layouts.
class ScanByKind : public ::testing::TestWithParam<SchemaLayout> {};

TEST_P(ScanByKind, ReturnsEveryRowOfTheKindInOrder) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  ASSERT_TRUE(testing::create_store(path, GetParam()).ok());
  auto log = Log::open(path, OpenMode::kReadWrite);
  ASSERT_TRUE(log.ok()) << log.error();
  ASSERT_TRUE((*log)->append(sample_entries(0, 100)).ok());
  const std::vector<Entry> all = scan_all(**log);
  for (unsigned value = 1; value <= protocol::kMaxMessageKind; ++value) {
    const auto kind = static_cast<protocol::MessageKind>(value);
    SCOPED_TRACE(std::string(protocol::kind_name(kind)));
    std::vector<std::uint64_t> expected;
    for (const Entry& e : all) {
      if (e.header.kind == kind && e.header.seq >= 10 && e.header.seq < 90) {
        expected.push_back(e.header.seq);
      }
    }
    std::vector<std::uint64_t> found;
    for (const Entry& e : scan_all(**log, make_filter(10, 90, {}, kind))) {
      found.push_back(e.header.seq);
    }
    EXPECT_EQ(found, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(SchemaVersions, ScanByKind,
                         ::testing::Values(SchemaLayout::kKindTable, SchemaLayout::kKindNameColumn),
                         testing::layout_test_name);

TEST(SchemaVersion, AVersion3IndexHoldsOnlyTheKindsReadByKind) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  {
    auto log = Log::open(path, OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.error();
    ASSERT_TRUE((*log)->append(sample_entries(0, 5 * protocol::kMaxMessageKind)).ok());
  }
  RawDb raw(path, SQLITE_OPEN_READONLY);
  // The entries cycle through every kind five times: five rows each of kinds 3, 10 and 11.
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry INDEXED BY log_entry_by_kind WHERE "
                          "kind = 3 OR kind = 10 OR kind = 11"),
            15);
}

TEST(SchemaVersion, AVersion1StoreOpensVerifiesAndTakesAppends) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  ASSERT_TRUE(testing::create_store(path, SchemaLayout::kKindNameColumn).ok());
  for (std::uint64_t round = 0; round < 2; ++round) {
    auto log = Log::open(path, OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.error();
    EXPECT_EQ((*log)->size(), round * 20);
    ASSERT_TRUE((*log)->append(sample_entries(round * 20, 20)).ok());
  }
  EXPECT_EQ(schema_version(path), "1");  // evidence is not rewritten
  RawDb raw(path, SQLITE_OPEN_READONLY);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM sqlite_master WHERE name = 'message_kind'"), 0);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry WHERE kind = 5 AND kind_name = "
                          "'Heartbeat'"),
            raw.query_int("SELECT count(*) FROM log_entry WHERE kind = 5"));
  auto log = Log::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  const auto rows = scan_all(**log);
  ASSERT_EQ(rows.size(), 40U);
  expect_kind_names(rows);
}

// A store made before a kind existed has no name for it; the first read-write open by a build
// that knows the kind adds it, so its rows are named.
TEST(SchemaVersion, AKindAddedAfterTheStoreWasMadeGetsItsNameAtTheNextReadWriteOpen) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  const auto newest = static_cast<protocol::MessageKind>(protocol::kMaxMessageKind);
  {
    auto log = Log::open(path, OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.error();
    ASSERT_TRUE((*log)->append(sample_entries(0, 5)).ok());
  }
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec("DROP TRIGGER message_kind_no_delete; DELETE FROM message_kind WHERE kind "
                       "= " +
                       std::to_string(protocol::kMaxMessageKind)),
              SQLITE_OK)
        << raw.error();
  }
  auto log = Log::open(path, OpenMode::kReadWrite);
  ASSERT_TRUE(log.ok()) << log.error();
  PendingEntry entry = sample_entry(5);
  entry.kind = newest;
  ASSERT_TRUE((*log)->append({&entry, 1}).ok());
  auto reader = Log::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(reader.ok()) << reader.error();
  const auto rows = scan_all(**reader);
  ASSERT_EQ(rows.size(), 6U);
  EXPECT_EQ(rows.back().kind_name, protocol::kind_name(newest));
  expect_kind_names(rows);
}

// A kind's name is checked at every read-write open even where no row has that kind yet: a
// writer never appends under a wrong name.
TEST(SchemaVersion, AnEditedNameOfAKindWithoutRowsIsRefusedAtReadWriteOpen) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  {
    auto log = Log::open(path, OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.error();
    ASSERT_TRUE((*log)->append(sample_entries(0, 3)).ok());
  }
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec("DROP TRIGGER message_kind_no_update; UPDATE message_kind SET name = "
                       "'Heartbeet' WHERE kind = 5"),
              SQLITE_OK)
        << raw.error();
  }
  auto log = Log::open(path, OpenMode::kReadWrite);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().find("store " + path +
                             ": message_kind names kind 5 'Heartbeet', not 'Heartbeat'"),
            std::string::npos)
      << log.error();
  // A reader shows what is stored, for the audit to judge.
  auto reader = Log::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(reader.ok()) << reader.error();
  EXPECT_EQ(scan_all(**reader).size(), 3U);
}

// A directory of version-2 segments (made before version 3) opens read-write, rotates into a
// version-3 segment, verifies in full across both layouts, and reads as one log.
TEST(SchemaVersion, AVersion2SegmentedStoreRotatesIntoVersion3Segments) {
  TempDir dir;
  const std::string store = dir.path() + "/vs";
  std::filesystem::create_directory(store);
  SegmentCreate first;
  first.meta = {{"segment_index", "0"}, {"first_seq", "0"}};
  ASSERT_TRUE(testing::create_store(store + "/segment-00000000.db", SchemaLayout::kKindNameColumn,
                                    StoreRole::kVs, &first)
                  .ok());
  {
    auto log = Log::open(store, OpenMode::kReadWrite, StoreRole::kVs, testing::segmented_options());
    ASSERT_TRUE(log.ok()) << log.error();
    BatchWriter writer(std::move(*log), testing::rotating_options(4096));
    for (std::uint64_t i = 0; i < 60; ++i) {
      ASSERT_TRUE(writer.submit({sample_entry(i)}, [](const Status&) {}).ok());
    }
    ASSERT_TRUE(writer.flush().ok());
  }
  EXPECT_EQ(schema_version(store + "/segment-00000000.db"), "2");
  ASSERT_TRUE(std::filesystem::exists(store + "/segment-00000001.db"));
  EXPECT_EQ(schema_version(store + "/segment-00000001.db"), "3");

  auto full = Log::open(store, OpenMode::kReadWrite, StoreRole::kVs,
                        testing::segmented_options(Verify::kFull));
  ASSERT_TRUE(full.ok()) << full.error();
  EXPECT_GT((*full)->segments().size(), 1U);
  full->reset();
  auto reader = Log::open(store, OpenMode::kReadOnly);
  ASSERT_TRUE(reader.ok()) << reader.error();
  const auto rows = scan_all(**reader);
  EXPECT_EQ(rows.size(), (*reader)->size());
  EXPECT_GT(rows.size(), 60U);  // the entries and the seals
  expect_kind_names(rows);
}

}  // namespace
}  // namespace gsvs::storage
