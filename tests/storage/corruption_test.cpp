// A store edited behind the triggers' back (the triggers dropped first, as anyone holding the
// file can) is refused at read-write open, naming the first bad entry and what is wrong with it.
// A read-only open still reads it, so the audit can walk past the damage. Every case runs on a
// store of schema version 3 (what a VS creates) and of version 1 (what older builds created).
#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "storage/log.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/tamper.h"

namespace gsvs::storage {
namespace {

using testing::RawDb;
using testing::sample_entries;
using testing::TempDir;

constexpr std::uint64_t kEntries = 20;

class Corruption : public ::testing::TestWithParam<SchemaLayout> {
 protected:
  void SetUp() override {
    path_ = dir_.file("vs.db");
    ASSERT_TRUE(testing::create_store(path_, GetParam()).ok());
    auto log = Log::open(path_, OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.error();
    auto appended = (*log)->append(sample_entries(0, kEntries));
    ASSERT_TRUE(appended.ok()) << appended.error();
    entries_ = *appended;
    root_ = (*log)->merkle_root();
  }

  // Runs SQL as an insider would: drop the triggers, then edit.
  void tamper(const std::string& sql) {
    RawDb raw(path_);
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(raw.exec("DROP TRIGGER log_entry_no_update; DROP TRIGGER log_entry_no_delete; "
                       "DROP TRIGGER log_entry_append_seq; DROP TRIGGER log_entry_append_link;"),
              SQLITE_OK)
        << raw.error();
    if (kind_table()) {
      ASSERT_EQ(raw.exec("DROP TRIGGER message_kind_no_update; DROP TRIGGER "
                         "message_kind_no_delete; DROP TRIGGER message_kind_no_replace;"),
                SQLITE_OK)
          << raw.error();
    }
    ASSERT_EQ(raw.exec(sql), SQLITE_OK) << sql << ": " << raw.error();
  }

  // Read-write open must fail, naming `where` ("entry 7") and `what`.
  void expect_refused(const std::string& where, const std::string& what) {
    auto log = Log::open(path_, OpenMode::kReadWrite);
    ASSERT_FALSE(log.ok()) << "a tampered store was opened for writing";
    EXPECT_NE(log.error().find("store " + path_ + ": " + where + ": "), std::string::npos)
        << log.error();
    EXPECT_NE(log.error().find(what), std::string::npos) << log.error();
    // For good: a daemon refused it stops with the exit code that systemd does not restart.
    EXPECT_EQ(log.failure().retry, Retry::kNo) << log.error();
  }

  std::vector<Entry> read_only_scan(Status* status = nullptr, std::uint64_t from = 0) {
    std::vector<Entry> out;
    auto log = Log::open(path_, OpenMode::kReadOnly);
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error());
    if (!log.ok()) return out;
    Status result = (*log)->scan(testing::make_filter(from), [&](const Entry& e) {
      out.push_back(e);
      return true;
    });
    if (status != nullptr) *status = result;
    return out;
  }

  static std::string hex(const Hash32& h) { return to_hex(h); }

  // Version 3 keeps kind names in message_kind; versions 1 and 2 in each row's kind_name.
  static bool kind_table() { return GetParam() == SchemaLayout::kKindTable; }
  // The kind_name column and a Heartbeat's value for it, where the layout has one, for SQL
  // that lists the columns.
  static std::string kind_name_column() { return kind_table() ? "" : "kind_name, "; }
  static std::string heartbeat_name() { return kind_table() ? "" : "'Heartbeat', "; }

  TempDir dir_;
  std::string path_;
  std::vector<Entry> entries_;
  Hash32 root_;
};

TEST_P(Corruption, IntactStoreOpens) {
  auto log = Log::open(path_, OpenMode::kReadWrite);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_EQ((*log)->size(), kEntries);
  EXPECT_EQ((*log)->merkle_root(), root_);
}

TEST_P(Corruption, EditedMessageByte) {
  Bytes edited = entries_[7].message;
  edited[0] = 0xff;
  tamper("UPDATE log_entry SET message = x'" + to_hex(edited) + "' WHERE seq = 7");
  expect_refused("entry 7", "entry_hash does not match its contents");
  // The audit still reads the edited row as stored.
  const auto rows = read_only_scan();
  ASSERT_EQ(rows.size(), kEntries);
  EXPECT_EQ(rows[7].message[0], 0xff);
}

TEST_P(Corruption, EditedHeaderFields) {
  tamper("UPDATE log_entry SET vs_time_ms = vs_time_ms + 1 WHERE seq = 12");
  expect_refused("entry 12", "entry_hash does not match its contents");
}

TEST_P(Corruption, EditedPrevHash) {
  tamper("UPDATE log_entry SET prev_hash = zeroblob(32) WHERE seq = 9");
  expect_refused("entry 9", "prev_hash does not match the entry_hash of entry 8");
}

TEST_P(Corruption, EditedFirstPrevHash) {
  tamper("UPDATE log_entry SET prev_hash = x'" + hex(entries_[3].entry_hash) + "' WHERE seq = 0");
  expect_refused("entry 0", "prev_hash of the first entry is not 32 zero bytes");
}

TEST_P(Corruption, EditedEntryHash) {
  tamper("UPDATE log_entry SET entry_hash = x'" + hex(entries_[2].entry_hash) + "' WHERE seq = 15");
  // Entry 15 no longer matches its own contents; that is found before entry 16's link.
  expect_refused("entry 15", "entry_hash does not match its contents");
}

TEST_P(Corruption, EditedRowWithRecomputedHashBreaksTheNextLink) {
  Entry forged = entries_[7];
  forged.message[0] ^= 0x01;
  forged.entry_hash = chains::log_entry_hash(forged.header, forged.message);
  tamper("UPDATE log_entry SET message = x'" + to_hex(forged.message) + "', entry_hash = x'" +
         hex(forged.entry_hash) + "' WHERE seq = 7");
  expect_refused("entry 8", "prev_hash does not match the entry_hash of entry 7");
}

TEST_P(Corruption, EditedKindName) {
  // Entry 3 is the first JoinReject (kind 4).
  if (kind_table()) {
    tamper("UPDATE message_kind SET name = 'Heartbeat' WHERE kind = 4");
    expect_refused("entry 3", "kind 4 (JoinReject) has 'Heartbeat' in message_kind (edited?)");
  } else {
    tamper("UPDATE log_entry SET kind_name = 'Heartbeat' WHERE seq = 3");
    expect_refused("entry 3", "kind_name 'Heartbeat' does not match kind 4 (JoinReject)");
  }
  // A reader gets the name as stored, to judge it itself.
  const auto rows = read_only_scan();
  ASSERT_EQ(rows.size(), kEntries);
  EXPECT_EQ(rows[3].kind_name, "Heartbeat");
  EXPECT_EQ(rows[4].kind_name, protocol::kind_name(rows[4].header.kind));
}

TEST_P(Corruption, KindNameThatIsNotText) {
  // The right name as a blob: what sqlite3 prints, but not text.
  if (kind_table()) {
    tamper(
        "PRAGMA ignore_check_constraints = ON; UPDATE message_kind SET name = "
        "CAST('JoinReject' AS BLOB) WHERE kind = 4");
    expect_refused("entry 3", "kind 4 (JoinReject) has no name, or one that is not text,");
  } else {
    tamper(
        "PRAGMA ignore_check_constraints = ON; UPDATE log_entry SET kind_name = "
        "CAST('JoinReject' AS BLOB) WHERE seq = 3");
    expect_refused("entry 3", "kind_name (not text) does not match kind 4 (JoinReject)");
  }
  const auto rows = read_only_scan();
  ASSERT_EQ(rows.size(), kEntries);
  EXPECT_EQ(rows[3].kind_name, std::nullopt);
}

TEST_P(Corruption, DeletedRow) {
  tamper("DELETE FROM log_entry WHERE seq = 5");
  expect_refused("entry 5", "missing; the next stored row is entry 6");
  EXPECT_EQ(read_only_scan().size(), kEntries - 1);
}

TEST_P(Corruption, DeletedFirstRows) {
  tamper("DELETE FROM log_entry WHERE seq < 2");
  expect_refused("entry 0", "missing; the next stored row is entry 2");
}

TEST_P(Corruption, SwappedRows) {
  // Rows 11 and 12 trade everything but their seq.
  const std::string cols = "kind, " + kind_name_column() +
                           "direction, session_id, vs_time_ms, prev_hash, entry_hash, message";
  tamper(
      "CREATE TEMP TABLE saved AS SELECT * FROM log_entry WHERE seq IN (11, 12);"
      "UPDATE log_entry SET (" +
      cols + ") = (SELECT " + cols +
      " FROM saved WHERE saved.seq = 23 - log_entry.seq) WHERE seq IN (11, 12);");
  expect_refused("entry 11", "prev_hash does not match the entry_hash of entry 10");
}

TEST_P(Corruption, RowsReorderedBySeq) {
  // Renumbering instead: 11 becomes 12 and 12 becomes 11.
  tamper(
      "UPDATE log_entry SET seq = 1000 WHERE seq = 11; UPDATE log_entry SET seq = 11 WHERE "
      "seq = 12; UPDATE log_entry SET seq = 12 WHERE seq = 1000;");
  expect_refused("entry 11", "prev_hash does not match the entry_hash of entry 10");
}

TEST_P(Corruption, InsertedRowWithNegativeSeq) {
  tamper("PRAGMA ignore_check_constraints = ON; INSERT INTO log_entry SELECT -1, kind, " +
         kind_name_column() +
         "direction, session_id, vs_time_ms, prev_hash, entry_hash, message FROM log_entry "
         "WHERE seq = 0;");
  auto log = Log::open(path_, OpenMode::kReadWrite);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().find("store " + path_ + ": a row has the negative seq -1"),
            std::string::npos)
      << log.error();
}

TEST_P(Corruption, RowAppendedByHand) {
  tamper("INSERT INTO log_entry VALUES (20, 5, " + heartbeat_name() + "1, 0, 0, x'" +
         hex(entries_.back().entry_hash) + "', zeroblob(32), x'00')");
  expect_refused("entry 20", "entry_hash does not match its contents");
}

TEST_P(Corruption, HashOfTheWrongLength) {
  tamper(
      "PRAGMA ignore_check_constraints = ON; UPDATE log_entry SET prev_hash = "
      "substr(prev_hash, 1, 31) WHERE seq = 4;");
  expect_refused("entry 4", "prev_hash is 31 bytes, not 32");

  // Without a reporter, a scan ends at a row it cannot represent, naming it.
  Status status;
  const auto head = read_only_scan(&status);
  EXPECT_EQ(head.size(), 4U);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().find("store " + path_ + ": entry 4: prev_hash is 31 bytes, not 32"),
            std::string::npos)
      << status.error();
}

// Every row that cannot be represented goes to the reporter, with its seq and reason, in seq
// order between its neighbours' visits, and the scan reads on to the end.
TEST_P(Corruption, ScanReportsEveryUnrepresentableRowAndReadsOn) {
  struct Case {
    std::uint64_t seq;
    std::string set;  // SQL assignment that breaks the row
    std::string reason;
  };
  const Case cases[] = {
      {0, "entry_hash = x'00'", "entry_hash is 1 bytes, not 32"},
      {4, "prev_hash = substr(prev_hash, 1, 31)", "prev_hash is 31 bytes, not 32"},
      {5, "message = 'hello'", "message is text, not a blob"},
      {9, "session_id = -3", "session_id -3 is out of range"},
      {12, "kind = 'Heartbeat'", "kind is text, not an integer"},
      {13, "direction = 2.5", "direction is a real, not an integer"},
      {14, "kind = 256", "kind 256 is out of range"},
      {19, "vs_time_ms = x'00'", "vs_time_ms is a blob, not an integer"},
  };
  std::string sql = "PRAGMA ignore_check_constraints = ON;";
  for (const auto& c : cases) {
    sql += "UPDATE log_entry SET " + c.set + " WHERE seq = " + std::to_string(c.seq) + ";";
  }
  tamper(sql);

  auto log = Log::open(path_, OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  std::vector<std::string> events;
  std::vector<std::string> expected;
  std::size_t next_case = 0;
  for (std::uint64_t seq = 0; seq < kEntries; ++seq) {
    if (next_case < std::size(cases) && cases[next_case].seq == seq) {
      expected.push_back("bad " + std::to_string(seq) + ": " + cases[next_case++].reason);
    } else {
      expected.push_back("row " + std::to_string(seq));
    }
  }
  const Status status = (*log)->scan(
      {},
      [&](const Entry& e) {
        events.push_back("row " + std::to_string(e.header.seq));
        return true;
      },
      [&](std::uint64_t seq, const std::string& reason) {
        events.push_back("bad " + std::to_string(seq) + ": " + reason);
      });
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(events, expected);

  // The filter applies to bad rows too, and stopping early stops the reports.
  events.clear();
  const Status part = (*log)->scan(
      testing::make_filter(5, 13),
      [&](const Entry& e) {
        events.push_back("row " + std::to_string(e.header.seq));
        return e.header.seq < 10;
      },
      [&](std::uint64_t seq, const std::string&) {
        events.push_back("bad " + std::to_string(seq));
      });
  ASSERT_TRUE(part.ok()) << part.error();
  EXPECT_EQ(events,
            (std::vector<std::string>{"bad 5", "row 6", "row 7", "row 8", "bad 9", "row 10"}));
}

TEST_P(Corruption, MessageStoredAsText) {
  tamper(
      "PRAGMA ignore_check_constraints = ON; UPDATE log_entry SET message = 'hello' "
      "WHERE seq = 2;");
  expect_refused("entry 2", "message is text, not a blob");
}

TEST_P(Corruption, UnknownKindWithConsistentHashes) {
  Entry odd = entries_.back();
  odd.header.seq = kEntries;
  odd.header.kind = static_cast<protocol::MessageKind>(200);
  odd.header.prev_entry_hash = entries_.back().entry_hash;
  odd.entry_hash = chains::log_entry_hash(odd.header, odd.message);
  tamper("INSERT INTO log_entry VALUES (20, 200, " +
         std::string(kind_table() ? "" : "'unknown', ") +
         std::to_string(static_cast<int>(odd.header.direction)) + ", " +
         std::to_string(odd.header.session_id) + ", " + std::to_string(odd.header.vs_time_ms) +
         ", x'" + hex(odd.header.prev_entry_hash) + "', x'" + hex(odd.entry_hash) + "', x'" +
         to_hex(odd.message) + "')");
  expect_refused("entry 20", "kind 200 is not a message kind this build knows");
}

TEST_P(Corruption, CutTailIsOnlyCaughtAgainstACheckpoint) {
  // Removing the newest rows leaves a shorter chain that verifies on its own; only a Merkle
  // root held elsewhere (a signed checkpoint) shows the cut.
  tamper("DELETE FROM log_entry WHERE seq >= 17");
  auto log = Log::open(path_, OpenMode::kReadWrite);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_EQ((*log)->size(), 17U);
  EXPECT_NE((*log)->merkle_root(), root_);
  std::vector<Hash32> kept;
  for (std::size_t i = 0; i < 17; ++i) kept.push_back(entries_[i].entry_hash);
  EXPECT_EQ((*log)->merkle_root(), merkle::root(kept));
}

TEST_P(Corruption, UnknownSchemaVersionIsRefused) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.exec("DROP TRIGGER meta_no_update; UPDATE meta SET value = '4' WHERE key = "
                       "'schema_version'"),
              SQLITE_OK)
        << raw.error();
  }
  for (const auto mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    auto log = Log::open(path_, mode);
    ASSERT_FALSE(log.ok());
    EXPECT_NE(log.error().find("schema version '4' is not supported"), std::string::npos)
        << log.error();
  }
}

// meta naming the other known version than the tables have: refused, naming what is missing,
// where reads would have met a bare SQL error ("no such column: kind_name").
TEST_P(Corruption, ASchemaVersionTheTablesDoNotHaveIsRefused) {
  const bool by_kind_table = kind_table();
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.exec(std::string("DROP TRIGGER meta_no_update; UPDATE meta SET value = '") +
                       (by_kind_table ? "1" : "3") + "' WHERE key = 'schema_version'"),
              SQLITE_OK)
        << raw.error();
  }
  const std::string expected =
      by_kind_table ? "table log_entry has no column 'kind_name'" : "(no table 'message_kind')";
  for (const auto mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    auto log = Log::open(path_, mode);
    ASSERT_FALSE(log.ok());
    EXPECT_NE(log.error().find(expected), std::string::npos) << log.error();
  }
}

TEST_P(Corruption, MissingMetaIsRefused) {
  {
    RawDb raw(path_);
    ASSERT_EQ(raw.exec("DROP TABLE meta"), SQLITE_OK) << raw.error();
  }
  auto log = Log::open(path_, OpenMode::kReadWrite);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().find("not a gsvs log store (no table 'meta')"), std::string::npos)
      << log.error();
}

INSTANTIATE_TEST_SUITE_P(SchemaVersions, Corruption,
                         ::testing::Values(SchemaLayout::kKindTable, SchemaLayout::kKindNameColumn),
                         testing::layout_test_name);

// A damaged page of the table (a leaf overwritten by a failing disk) ends a scan with SQLite's
// error, unless the caller takes damaged rows as ranges: then the rows of each run of damaged
// leaves are reported once, between their neighbours, and every row of a whole leaf is read, even
// one between two damaged leaves. Rows: which leaves (by index among the table's leaves in key
// order) are damaged; the last holds the head, so where the file ends is lost too.
TEST(DamagedPage, AScanGivenADamagedRowsReporterReadsEveryWholeLeaf) {
  constexpr std::uint64_t kRows = 3000;
  const struct {
    const char* name;
    std::vector<std::ptrdiff_t> from_middle;  // offsets from the middle leaf; kHead: the last
  } cases[] = {
      {"one leaf", {0}},
      {"two leaves, a whole one between them", {-1, 1}},
      {"three leaves in a row", {-1, 0, 1}},
      {"the head's leaf", {PTRDIFF_MAX}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const std::string path = dir.file("vs.db");
    {
      auto log = Log::open(path, OpenMode::kReadWrite);
      ASSERT_TRUE(log.ok()) << log.error();
      ASSERT_TRUE((*log)->append(sample_entries(0, kRows)).ok());
    }
    const auto leaves = gsvs::testing::leaf_pages(path);
    ASSERT_GT(leaves.size(), 10U);
    std::vector<bool> damaged(leaves.size(), false);
    for (const std::ptrdiff_t offset : c.from_middle) {
      const std::size_t index =
          offset == PTRDIFF_MAX
              ? leaves.size() - 1
              : static_cast<std::size_t>(static_cast<std::ptrdiff_t>(leaves.size() / 2) + offset);
      damaged[index] = true;
      gsvs::testing::damage_page(path, leaves[index].pageno);
    }
    // What a scan must report: each leaf's rows, or each run of damaged leaves as one range (to
    // the file's end for the head's, which hides MAX(seq) as well).
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      if (!damaged[i]) {
        for (std::uint64_t seq = leaves[i].first_seq; seq <= leaves[i].last_seq; ++seq) {
          expected.push_back("row " + std::to_string(seq));
        }
        continue;
      }
      std::size_t j = i;
      while (j + 1 < leaves.size() && damaged[j + 1]) ++j;
      expected.push_back(
          "damaged " + std::to_string(leaves[i].first_seq) + ".." +
          (j + 1 == leaves.size() ? std::string("end") : std::to_string(leaves[j].last_seq)));
      i = j;
    }

    auto log = Log::open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(log.ok()) << log.error();
    std::vector<std::string> events;
    const auto visit = [&](const Entry& e) {
      events.push_back("row " + std::to_string(e.header.seq));
      return true;
    };
    const Status plain = (*log)->scan({}, visit, Log::read_past_bad_rows);
    ASSERT_FALSE(plain.ok());
    EXPECT_NE(plain.error().find("malformed"), std::string::npos) << plain.error();

    events.clear();
    std::string reason;
    const Status salvaged = (*log)->scan(
        {}, visit, Log::read_past_bad_rows,
        [&](std::uint64_t first, std::optional<std::uint64_t> last, const std::string& why) {
          events.push_back("damaged " + std::to_string(first) + ".." +
                           (last ? std::to_string(*last) : std::string("end")));
          reason = why;
        });
    ASSERT_TRUE(salvaged.ok()) << salvaged.error();
    EXPECT_EQ(events, expected);
    EXPECT_NE(reason.find("store " + path + ": "), std::string::npos) << reason;
  }
}

}  // namespace
}  // namespace gsvs::storage
