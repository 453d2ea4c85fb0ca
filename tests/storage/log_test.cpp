#include "storage/log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "tests/storage/store_fixture.h"

namespace gsvs::storage {
namespace {

using testing::make_filter;
using testing::open_log;
using testing::RawDb;
using testing::sample_entries;
using testing::sample_entry;
using testing::scan_all;
using testing::TempDir;

std::vector<Hash32> entry_hashes(const std::vector<Entry>& entries) {
  std::vector<Hash32> out;
  for (const Entry& e : entries) out.push_back(e.entry_hash);
  return out;
}

void expect_same(const Entry& a, const Entry& b) {
  EXPECT_EQ(a.header.seq, b.header.seq);
  EXPECT_EQ(a.header.kind, b.header.kind);
  EXPECT_EQ(a.header.direction, b.header.direction);
  EXPECT_EQ(a.header.session_id, b.header.session_id);
  EXPECT_EQ(a.header.vs_time_ms, b.header.vs_time_ms);
  EXPECT_EQ(a.header.prev_entry_hash, b.header.prev_entry_hash);
  EXPECT_EQ(a.entry_hash, b.entry_hash);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.kind_name, b.kind_name);
}

TEST(Log, NewStoreIsEmpty) {
  TempDir dir;
  auto log = open_log(dir.file("vs.db"));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), 0U);
  EXPECT_TRUE(log->head_hash().is_zero());
  EXPECT_EQ(log->merkle_root(), merkle::empty_root());
  EXPECT_TRUE(scan_all(*log).empty());
  EXPECT_FALSE(log->get(0).ok());
}

TEST(Log, AppendAssignsSeqsAndChainsHashes) {
  TempDir dir;
  auto log = open_log(dir.file("vs.db"));
  ASSERT_NE(log, nullptr);
  const auto pending = sample_entries(0, 5);
  auto appended = log->append(pending);
  ASSERT_TRUE(appended.ok()) << appended.error();
  ASSERT_EQ(appended->size(), 5U);

  Hash32 previous;  // zeros before entry 0
  for (std::size_t i = 0; i < appended->size(); ++i) {
    const Entry& e = (*appended)[i];
    EXPECT_EQ(e.header.seq, i);
    EXPECT_EQ(e.header.kind, pending[i].kind);
    EXPECT_EQ(e.header.direction, pending[i].direction);
    EXPECT_EQ(e.header.session_id, pending[i].session_id);
    EXPECT_EQ(e.header.vs_time_ms, pending[i].vs_time_ms);
    EXPECT_EQ(e.message, pending[i].message);
    EXPECT_EQ(e.kind_name, protocol::kind_name(pending[i].kind));
    EXPECT_EQ(e.header.prev_entry_hash, previous);
    EXPECT_EQ(e.entry_hash, chains::log_entry_hash(e.header, e.message));
    previous = e.entry_hash;
  }
  EXPECT_EQ(log->size(), 5U);
  EXPECT_EQ(log->head_hash(), previous);
}

TEST(Log, GetAndScanReturnWhatWasAppended) {
  TempDir dir;
  auto log = open_log(dir.file("vs.db"));
  ASSERT_NE(log, nullptr);
  auto first = log->append(sample_entries(0, 3));
  auto second = log->append(sample_entries(3, 4));
  ASSERT_TRUE(first.ok() && second.ok());
  std::vector<Entry> all = *first;
  all.insert(all.end(), second->begin(), second->end());

  const auto scanned = scan_all(*log);
  ASSERT_EQ(scanned.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    expect_same(scanned[i], all[i]);
    auto got = log->get(i);
    ASSERT_TRUE(got.ok()) << got.error();
    expect_same(*got, all[i]);
  }
  auto missing = log->get(7);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("entry 7"), std::string::npos) << missing.error();
}

TEST(Log, EmptyMessageAndEmptyAppendAreFine) {
  TempDir dir;
  auto log = open_log(dir.file("vs.db"));
  ASSERT_NE(log, nullptr);
  auto none = log->append({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  PendingEntry p = sample_entry(0);
  p.message.clear();
  ASSERT_TRUE(log->append(std::vector<PendingEntry>{p}).ok());
  auto got = log->get(0);
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_TRUE(got->message.empty());
  EXPECT_EQ(got->entry_hash, chains::log_entry_hash(got->header, {}));
}

TEST(Log, MerkleRootIsTheRootOverEntryHashes) {
  TempDir dir;
  auto log = open_log(dir.file("vs.db"));
  ASSERT_NE(log, nullptr);
  std::vector<Hash32> hashes;
  std::uint64_t next = 0;
  for (std::uint64_t batch : {1U, 1U, 2U, 3U, 5U, 8U, 13U, 1U, 7U}) {
    auto appended = log->append(sample_entries(next, batch));
    ASSERT_TRUE(appended.ok()) << appended.error();
    next += batch;
    for (const Entry& e : *appended) hashes.push_back(e.entry_hash);
    EXPECT_EQ(log->merkle_root(), merkle::root(hashes)) << "after " << hashes.size();
  }
  EXPECT_EQ(entry_hashes(scan_all(*log)), hashes);
}

TEST(Log, ReopenResumesTheChain) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  Hash32 head;
  Hash32 root;
  {
    auto log = open_log(path);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->append(sample_entries(0, 10)).ok());
    head = log->head_hash();
    root = log->merkle_root();
  }
  auto log = open_log(path);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), 10U);
  EXPECT_EQ(log->head_hash(), head);
  EXPECT_EQ(log->merkle_root(), root);
  auto more = log->append(sample_entries(10, 2));
  ASSERT_TRUE(more.ok()) << more.error();
  EXPECT_EQ((*more)[0].header.seq, 10U);
  EXPECT_EQ((*more)[0].header.prev_entry_hash, head);
  log.reset();  // one writer at a time

  auto again = open_log(path);
  ASSERT_NE(again, nullptr);  // the next read-write open verifies what the last one wrote
  EXPECT_EQ(again->size(), 12U);
  EXPECT_EQ(again->merkle_root(), merkle::root(entry_hashes(scan_all(*again))));
}

TEST(Log, ScanFilters) {
  TempDir dir;
  auto log = open_log(dir.file("vs.db"));
  ASSERT_NE(log, nullptr);
  auto appended = log->append(sample_entries(0, 60));
  ASSERT_TRUE(appended.ok());

  auto seqs = [&](const Filter& filter) {
    std::vector<std::uint64_t> out;
    for (const Entry& e : scan_all(*log, filter)) out.push_back(e.header.seq);
    return out;
  };
  auto expected = [&](auto predicate) {
    std::vector<std::uint64_t> out;
    for (const Entry& e : *appended) {
      if (predicate(e)) out.push_back(e.header.seq);
    }
    return out;
  };

  EXPECT_EQ(seqs(make_filter(55)), (std::vector<std::uint64_t>{55, 56, 57, 58, 59}));
  EXPECT_EQ(seqs(make_filter(3, 6)), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_TRUE(seqs(make_filter(6, 6)).empty());
  EXPECT_TRUE(seqs(make_filter(60)).empty());
  EXPECT_TRUE(seqs(make_filter(~std::uint64_t{0})).empty());
  EXPECT_EQ(seqs(make_filter(58, ~std::uint64_t{0})), (std::vector<std::uint64_t>{58, 59}));
  EXPECT_EQ(seqs(make_filter(0, {}, 2)),
            expected([](const Entry& e) { return e.header.session_id == 2; }));
  EXPECT_TRUE(seqs(make_filter(0, {}, ~std::uint64_t{0})).empty());
  EXPECT_EQ(
      seqs(make_filter(0, {}, {}, protocol::MessageKind::kPlayTicket)),
      expected([](const Entry& e) { return e.header.kind == protocol::MessageKind::kPlayTicket; }));
  EXPECT_EQ(seqs(make_filter(10, 50, 1, protocol::MessageKind::kJoinRequest)),
            expected([](const Entry& e) {
              return e.header.seq >= 10 && e.header.seq < 50 && e.header.session_id == 1 &&
                     e.header.kind == protocol::MessageKind::kJoinRequest;
            }));

  int visited = 0;
  ASSERT_TRUE(log->scan({}, [&](const Entry&) { return ++visited < 4; }).ok());
  EXPECT_EQ(visited, 4);
}

TEST(Log, AppendRefusesWhatTheStoreCannotHoldAndChangesNothing) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto log = open_log(path);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append(sample_entries(0, 3)).ok());
  const Hash32 head = log->head_hash();
  const Hash32 root = log->merkle_root();

  std::vector<PendingEntry> bad_batches[5];
  for (auto& batch : bad_batches) batch = sample_entries(3, 3);
  bad_batches[0][1].kind = static_cast<protocol::MessageKind>(0);
  bad_batches[1][2].kind = static_cast<protocol::MessageKind>(protocol::kMaxMessageKind + 1);
  bad_batches[2][0].direction = static_cast<chains::Direction>(3);
  bad_batches[3][1].session_id = std::uint64_t{1} << 63;
  bad_batches[4][2].vs_time_ms = ~std::uint64_t{0};
  for (const auto& batch : bad_batches) {
    auto result = log->append(batch);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().find("cannot append entry"), std::string::npos) << result.error();
    EXPECT_EQ(log->size(), 3U);
    EXPECT_EQ(log->head_hash(), head);
    EXPECT_EQ(log->merkle_root(), root);
  }
  RawDb raw(path, SQLITE_OPEN_READONLY);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry"), 3);

  PendingEntry largest = sample_entry(3);
  largest.session_id = (std::uint64_t{1} << 63) - 1;
  largest.vs_time_ms = (std::uint64_t{1} << 63) - 1;
  ASSERT_TRUE(log->append(std::vector<PendingEntry>{largest}).ok());
  auto got = log->get(3);
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(got->header.session_id, largest.session_id);
  EXPECT_EQ(got->header.vs_time_ms, largest.vs_time_ms);
}

TEST(Log, FailedAppendRollsBackTheWholeBatchAndKeepsTheHead) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto log = open_log(path);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append(sample_entries(0, 3)).ok());
  const Hash32 head = log->head_hash();
  const Hash32 root = log->merkle_root();

  // A fault in the middle of the batch: the third of four rows is refused.
  RawDb raw(path);
  ASSERT_EQ(raw.exec("CREATE TRIGGER injected_fault BEFORE INSERT ON log_entry WHEN NEW.seq = 5 "
                     "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"),
            SQLITE_OK)
      << raw.error();
  auto failed = log->append(sample_entries(3, 4));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("injected fault"), std::string::npos) << failed.error();
  EXPECT_EQ(log->size(), 3U);
  EXPECT_EQ(log->head_hash(), head);
  EXPECT_EQ(log->merkle_root(), root);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry"), 3);

  ASSERT_EQ(raw.exec("DROP TRIGGER injected_fault"), SQLITE_OK);
  auto retried = log->append(sample_entries(3, 4));
  ASSERT_TRUE(retried.ok()) << retried.error();
  EXPECT_EQ((*retried)[0].header.prev_entry_hash, head);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry"), 7);
}

TEST(Log, TriggersRefuseUpdateDeleteAndOutOfOrderInserts) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto log = open_log(path);
  ASSERT_NE(log, nullptr);
  auto appended = log->append(sample_entries(0, 4));
  ASSERT_TRUE(appended.ok());

  RawDb raw(path);
  ASSERT_TRUE(raw.ok());
  const std::string head_hex = to_hex(log->head_hash());
  const std::string refused[] = {
      "UPDATE log_entry SET message = x'00' WHERE seq = 1",
      "UPDATE log_entry SET session_id = 9",
      "UPDATE OR REPLACE log_entry SET seq = 9 WHERE seq = 3",
      "DELETE FROM log_entry WHERE seq = 3",
      "DELETE FROM log_entry",
      // REPLACE deletes the old row without a DELETE trigger: the insert trigger catches it.
      "INSERT OR REPLACE INTO log_entry SELECT * FROM log_entry WHERE seq = 2",
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement over three lines
      "REPLACE INTO log_entry (seq, kind, direction, session_id, vs_time_ms, prev_hash, "
      "entry_hash, message) VALUES (1, 5, 1, 0, 0, zeroblob(32), zeroblob(32), x'')",
      // Skipping a seq, or a prev_hash that is not the head, or no seq at all.
      "INSERT INTO log_entry VALUES (5, 5, 1, 0, 0, x'" + head_hex + "', zeroblob(32), x'')",
      "INSERT INTO log_entry VALUES (4, 5, 1, 0, 0, zeroblob(32), zeroblob(32), x'')",
      "INSERT INTO log_entry (kind, direction, session_id, vs_time_ms, prev_hash, entry_hash, "
      "message) VALUES (5, 1, 0, 0, x'" +
          head_hex + "', zeroblob(32), x'')",
      // A kind keeps its name: no renaming, removing or replacing a message_kind row.
      "UPDATE message_kind SET name = 'Heartbeet' WHERE kind = 5",
      "DELETE FROM message_kind WHERE kind = 5",
      "INSERT OR REPLACE INTO message_kind VALUES (5, 'Heartbeet')",
      "INSERT INTO message_kind VALUES (5, 'Heartbeet')",
      "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
      "DELETE FROM meta",
      "INSERT INTO meta VALUES ('note', 'x')",
  };
  for (const auto& sql : refused) {
    EXPECT_NE(raw.exec(sql), SQLITE_OK) << sql;
    EXPECT_TRUE(raw.error().find("append-only") != std::string::npos ||
                raw.error().find("read-only") != std::string::npos)
        << sql << ": " << raw.error();
  }
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry"), 4);
  log.reset();                             // one writer at a time
  ASSERT_TRUE(open_log(path) != nullptr);  // still intact

  // The next row in order, linked to the head, is accepted (hashes are the chain's job).
  EXPECT_EQ(raw.exec("INSERT INTO log_entry VALUES (4, 5, 1, 0, 0, x'" + head_hex +
                     "', zeroblob(32), x'')"),
            SQLITE_OK)
      << raw.error();
}

TEST(Log, SchemaIsReadableWithPlainSql) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  {
    auto log = open_log(path);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->append(sample_entries(0, 20)).ok());
  }
  RawDb raw(path, SQLITE_OPEN_READONLY);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.query_int("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'"),
            3);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM meta WHERE key = 'format' AND value = "
                          "'gsvs-vs-log'"),
            1);
  EXPECT_GT(raw.query_int("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'created_at_ms'"),
            1'600'000'000'000);
  EXPECT_EQ(raw.query_int("PRAGMA application_id"), 0x67737673);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry_readable WHERE direction = 'issued'"), 7);
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry_readable WHERE kind_name = 'Heartbeat' "
                          "AND kind = 5"),
            raw.query_int("SELECT count(*) FROM log_entry WHERE kind = 5"));
  EXPECT_EQ(raw.query_int("SELECT length(message_hex) FROM log_entry_readable WHERE seq = 3"),
            2 * (16 + 3));
  EXPECT_EQ(raw.query_int("SELECT count(*) FROM log_entry_readable WHERE vs_time_utc LIKE "
                          "'2023-11-14T22:13:20.%Z'"),
            20);
  const std::string journal = [&] {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    sqlite3_prepare_v2(raw.get(), "PRAGMA journal_mode", -1, &stmt, nullptr);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }();
  EXPECT_EQ(journal, "wal");
}

TEST(Log, ReadOnlyOpenNeverCreatesAFile) {
  TempDir dir;
  const auto path = dir.file("absent.db");
  auto log = Log::open(path, OpenMode::kReadOnly);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().find("no such file"), std::string::npos) << log.error();
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Log, ReadOnlyOpenOfAClosedStoreLeavesTheDirectoryAlone) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  {
    auto log = open_log(path);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->append(sample_entries(0, 5)).ok());
  }
  ASSERT_FALSE(std::filesystem::exists(path + "-wal"));  // a clean close folds the WAL back
  const auto before = std::filesystem::last_write_time(path);
  {
    auto log = open_log(path, OpenMode::kReadOnly);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->size(), 5U);
    EXPECT_EQ(scan_all(*log).size(), 5U);
    auto refused = log->append(sample_entries(5, 1));
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().find("read-only"), std::string::npos) << refused.error();
  }
  std::set<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir.path())) {
    names.insert(item.path().filename().string());
  }
  EXPECT_EQ(names, std::set<std::string>{"vs.db"});
  EXPECT_EQ(std::filesystem::last_write_time(path), before);
}

TEST(Log, ReadOnlyOpenSeesALiveStore) {
  TempDir dir;
  const auto path = dir.file("vs.db");
  auto writer = open_log(path);
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->append(sample_entries(0, 6)).ok());
  auto reader = open_log(path, OpenMode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->size(), 6U);
  EXPECT_EQ(reader->head_hash(), writer->head_hash());
  EXPECT_EQ(reader->merkle_root(), writer->merkle_root());

  ASSERT_TRUE(writer->append(sample_entries(6, 3)).ok());
  EXPECT_EQ(reader->size(), 9U);  // read-only answers come from the store at each call
  EXPECT_EQ(reader->head_hash(), writer->head_hash());
  EXPECT_EQ(reader->merkle_root(), writer->merkle_root());
  EXPECT_EQ(scan_all(*reader).size(), 9U);
}

TEST(Log, RefusesFilesThatAreNotStores) {
  TempDir dir;
  const auto text = dir.file("notes.txt");
  std::ofstream(text) << "this is not a database, just some text that is long enough to read\n";
  for (const auto mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    auto log = Log::open(text, mode);
    ASSERT_FALSE(log.ok());
    EXPECT_NE(log.error().find("store " + text), std::string::npos) << log.error();
  }

  const auto other = dir.file("other.db");
  {
    RawDb raw(other, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_EQ(raw.exec("CREATE TABLE t (x)"), SQLITE_OK);
  }
  for (const auto mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    auto log = Log::open(other, mode);
    ASSERT_FALSE(log.ok());
    EXPECT_NE(log.error().find("not a gsvs log store"), std::string::npos) << log.error();
  }

  auto in_missing_dir = Log::open(dir.file("no/such/dir/vs.db"), OpenMode::kReadWrite);
  ASSERT_FALSE(in_missing_dir.ok());
  EXPECT_FALSE(Log::open("", OpenMode::kReadWrite).ok());
  EXPECT_FALSE(Log::open("", OpenMode::kReadOnly).ok());
  EXPECT_FALSE(Log::open(dir.path(), OpenMode::kReadOnly).ok());
}

TEST(Log, PathsWithUriCharactersWork) {
  TempDir dir;
  const auto path = dir.file("odd name?x=1#frag%20.db");
  {
    auto log = open_log(path);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->append(sample_entries(0, 2)).ok());
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  auto reader = open_log(path, OpenMode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->size(), 2U);
}

}  // namespace
}  // namespace gsvs::storage
