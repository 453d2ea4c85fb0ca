// The log in PostgreSQL (docs/STORE.md §11), against a real server this suite starts
// (tests/support/postgres_server.h): it holds the same entries as a SQLite store and reads them
// back the same way, its append-only rules are the database's own, one writer at a time, an
// edited or removed row is found at the next read-write open, and a server that could lose an
// acknowledged commit is refused.
#include "storage/postgres.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "storage/log.h"
#include "storage/pg_store.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/postgres_server.h"

namespace gsvs::storage::testing {
namespace {

using gsvs::testing::PostgresServer;

class PostgresStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    database_ = server_->create_database();
    url_ = server_->url(database_);
  }
  // Runs `sql` as the superuser in this test's database; its output.
  std::string psql(const std::string& sql) const { return server_->psql(database_, sql); }
  // The error of a read-write open of `url` that must fail.
  static Error open_failure(const std::string& url, StoreRole role = StoreRole::kVs) {
    auto log = Log::open(url, OpenMode::kReadWrite, role);
    EXPECT_FALSE(log.ok()) << url << " opened";
    return log.ok() ? Error{} : log.failure();
  }
  static std::string open_error(const std::string& url, StoreRole role = StoreRole::kVs) {
    return open_failure(url, role).message;
  }
  // A store at url_ holding sample entries 0..count-1.
  void fill(std::uint64_t count) const {
    auto log = open_log(url_);
    ASSERT_NE(log, nullptr);
    for (std::uint64_t first = 0; first < count; first += 50) {
      ASSERT_TRUE(log->append(sample_entries(first, std::min<std::uint64_t>(50, count - first))));
    }
  }

  static std::unique_ptr<PostgresServer> server_;
  std::string database_;
  std::string url_;
};

std::unique_ptr<PostgresServer> PostgresStore::server_;

void expect_same_entries(const std::vector<Entry>& got, const std::vector<Entry>& want,
                         const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].header.seq, want[i].header.seq) << what;
    EXPECT_EQ(got[i].entry_hash, want[i].entry_hash) << what << ", entry " << want[i].header.seq;
    EXPECT_EQ(got[i].message, want[i].message) << what << ", entry " << want[i].header.seq;
    EXPECT_EQ(got[i].kind_name, want[i].kind_name) << what << ", entry " << want[i].header.seq;
  }
}

TEST_F(PostgresStore, HoldsWhatASqliteStoreHoldsAndReadsItBackTheSameWay) {
  TempDir dir;
  const std::string file = dir.file("vs.db");
  {
    auto sqlite_log = open_log(file);
    auto pg_log = open_log(url_);
    ASSERT_TRUE(sqlite_log && pg_log);
    for (std::uint64_t first = 0; first < 300; first += 37) {
      const auto batch = sample_entries(first, std::min<std::uint64_t>(37, 300 - first));
      ASSERT_TRUE(sqlite_log->append(batch));
      ASSERT_TRUE(pg_log->append(batch));
    }
    // More than one INSERT takes: a transaction of several.
    const auto large = sample_entries(300, 2500);
    ASSERT_TRUE(sqlite_log->append(large));
    ASSERT_TRUE(pg_log->append(large));
    EXPECT_EQ(pg_log->size(), 2800U);
    EXPECT_EQ(pg_log->head_hash(), sqlite_log->head_hash());
    EXPECT_EQ(pg_log->merkle_root(), sqlite_log->merkle_root());
  }
  // Reopened read-write, the chain verifies and the head is where it was.
  auto reopened = open_log(url_);
  ASSERT_NE(reopened, nullptr);
  auto sqlite_log = open_log(file, OpenMode::kReadOnly);
  EXPECT_EQ(reopened->merkle_root(), sqlite_log->merkle_root());
  reopened.reset();

  auto pg_log = open_log(url_, OpenMode::kReadOnly);
  ASSERT_NE(pg_log, nullptr);
  EXPECT_EQ(pg_log->role(), StoreRole::kVs);
  EXPECT_EQ(pg_log->size(), sqlite_log->size());
  EXPECT_EQ(pg_log->head_hash(), sqlite_log->head_hash());
  EXPECT_EQ(pg_log->merkle_root(), sqlite_log->merkle_root());
  EXPECT_TRUE(pg_log->tree_before_first().ok());
  const struct {
    const char* name;
    Filter filter;
  } cases[] = {
      {"everything", make_filter()},
      {"from 100", make_filter(100)},
      {"50 to 120", make_filter(50, 120)},
      {"session 3", make_filter(0, {}, 3)},
      {"JoinAccepts", make_filter(0, {}, {}, protocol::MessageKind::kJoinAccept)},
      {"session 2's Revocations from 40",
       make_filter(40, {}, 2, protocol::MessageKind::kRevocation)},
      {"past the end", make_filter(5000)},
  };
  for (const auto& c : cases) {
    expect_same_entries(scan_all(*pg_log, c.filter), scan_all(*sqlite_log, c.filter), c.name);
  }
  auto entry = pg_log->get(123);
  ASSERT_TRUE(entry.ok()) << entry.error();
  EXPECT_EQ(entry->entry_hash, sqlite_log->get(123)->entry_hash);
  EXPECT_FALSE(pg_log->get(2800).ok());
}

TEST_F(PostgresStore, TheBatchWriterCommitsBeforeItsCallbacksRun) {
  auto log = open_log(url_);
  ASSERT_NE(log, nullptr);
  BatchWriter writer(std::move(log), {.max_batch_entries = 64, .max_delay_us = 1000});
  std::atomic<int> durable{0};
  for (std::uint64_t i = 0; i < 200; ++i) {
    auto submitted = writer.submit({sample_entry(i)}, [&, i](const Status& status) {
      EXPECT_TRUE(status.ok()) << status.error();
      // A callback's entry is in the database already, for another connection to read.
      if (i % 50 == 0) {
        auto reader = Log::open(url_, OpenMode::kReadOnly);
        ASSERT_TRUE(reader.ok()) << reader.error();
        EXPECT_GT((*reader)->size(), i);
      }
      ++durable;
    });
    ASSERT_TRUE(submitted.ok()) << submitted.error();
  }
  ASSERT_TRUE(writer.flush().ok());
  EXPECT_EQ(durable.load(), 200);
  EXPECT_EQ(writer.size(), 200U);
}

TEST_F(PostgresStore, TheDatabaseRefusesEveryChangeButAnInsert) {
  fill(10);
  for (const std::string sql :
       {"UPDATE log_entry SET vs_time_ms = 0 WHERE seq = 3", "DELETE FROM log_entry WHERE seq = 9",
        "TRUNCATE log_entry", "UPDATE message_kind SET name = 'x'", "DELETE FROM meta",
        "TRUNCATE retired_range"}) {
    try {
      (void)psql(sql);
      ADD_FAILURE() << sql << " was allowed";
    } catch (const std::runtime_error& refused) {
      EXPECT_NE(std::string(refused.what()).find("is append-only"), std::string::npos)
          << sql << ": " << refused.what();
    }
  }
  EXPECT_TRUE(open_log(url_) != nullptr);  // and the log is whole
}

// The role vsd runs as may read and insert, nothing else (docs/OPERATIONS.md, "Running a
// fleet"): the owner made the schema; the grants are the documented ones.
TEST_F(PostgresStore, AnInsertOnlyRoleWritesTheLogAndCannotChangeIt) {
  fill(5);
  psql("CREATE ROLE gsvs_vsd_" + database_ + " LOGIN");
  const std::string role = "gsvs_vsd_" + database_;
  psql("GRANT USAGE ON SCHEMA public TO " + role + "; GRANT SELECT, INSERT ON log_entry, " +
       "message_kind TO " + role + "; GRANT SELECT ON meta, retired_range TO " + role);
  {
    auto log = Log::open(server_->url(database_, role), OpenMode::kReadWrite, StoreRole::kVs);
    ASSERT_TRUE(log.ok()) << log.error();
    ASSERT_TRUE((*log)->append(sample_entries(5, 3)).ok());
  }
  try {
    (void)psql("SET ROLE " + role + "; ALTER TABLE log_entry DISABLE TRIGGER USER");
    ADD_FAILURE() << "the vsd role could disable the triggers";
  } catch (const std::runtime_error& refused) {
    EXPECT_NE(std::string(refused.what()).find("must be owner"), std::string::npos)
        << refused.what();
  }
  EXPECT_EQ(open_log(url_, OpenMode::kReadOnly)->size(), 8U);
}

// Retention (docs/STORE.md §11.5): the entries up to a checkpoint go as one range, archived into a
// segmented SQLite store that verifies on its own, or pruned; what the store still holds reads,
// verifies and takes appends as before, with the same size, head and Merkle root.
TEST_F(PostgresStore, RetentionArchivesOrPrunesTheEntriesUpToACheckpoint) {
  TempDir dir;
  const crypto::PublicKey key = test_vs_key().public_key();
  // 100 entries and a checkpoint, three times (checkpoints at 100, 201 and 302), then 50 more.
  std::vector<std::uint64_t> checkpoint_seqs;
  {
    auto log = Log::open(url_, OpenMode::kReadWrite, StoreRole::kVs, segmented_options());
    ASSERT_TRUE(log.ok()) << log.error();
    for (int block = 0; block < 3; ++block) {
      ASSERT_TRUE((*log)->append(sample_entries((*log)->size(), 100)));
      checkpoint_seqs.push_back((*log)->size());
      const auto checkpoint =
          checkpoint_entry(test_vs_key(), (*log)->size(), (*log)->merkle_root());
      ASSERT_TRUE((*log)->append(std::vector<PendingEntry>{checkpoint}));
    }
    ASSERT_TRUE((*log)->append(sample_entries((*log)->size(), 50)));
  }
  const auto before = open_log(url_, OpenMode::kReadOnly);
  std::uint64_t size = before->size();
  Hash32 head = before->head_hash();
  Hash32 root = before->merkle_root();
  // Only checkpoints issued before the time given end a range (checkpoint_entry's vs_time_ms is
  // 1'700'000'000'000 plus its seq): here the second one.
  const std::uint64_t after_second = 1'700'000'000'000 + checkpoint_seqs[1] + 1;
  const std::string archive = dir.file("archive");

  auto none = retire_sealed_segments(url_, RetireOptions{key, archive, 1'700'000'000'000, 7, {}});
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->empty());
  // One retention at a time: another one holding the log's retention lock refuses this one.
  {
    auto other =
        open_postgres(url_, OpenMode::kReadWrite, StoreRole::kVs, key, PgOpenFor::kRetention);
    ASSERT_TRUE(other.ok()) << other.error();
    auto refused = retire_sealed_segments(url_, RetireOptions{key, archive, after_second, 7, {}});
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().find("another retention holds it"), std::string::npos)
        << refused.error();
  }
  // Beside a writer, which goes on appending.
  auto writer = Log::open(url_, OpenMode::kReadWrite, StoreRole::kVs, segmented_options());
  ASSERT_TRUE(writer.ok()) << writer.error();
  auto archived = retire_sealed_segments(url_, RetireOptions{key, archive, after_second, 7, {}});
  ASSERT_TRUE(archived.ok()) << archived.error();
  ASSERT_TRUE((*writer)->append(sample_entries(size, 1)));
  size = (*writer)->size();
  head = (*writer)->head_hash();
  root = (*writer)->merkle_root();
  writer->reset();
  ASSERT_EQ(archived->size(), 1U);
  EXPECT_EQ(archived->front().first_seq, 0U);
  EXPECT_EQ(archived->front().seal_seq, checkpoint_seqs[1]);
  EXPECT_EQ(archived->front().disposition, RetiredSegment::Disposition::kArchived);
  EXPECT_EQ(archived->front().archived_to, archive);

  // The store: the same log, held from the entry after the seal.
  {
    const auto held = open_log(url_, OpenMode::kReadOnly);
    EXPECT_EQ(held->size(), size);
    EXPECT_EQ(held->head_hash(), head);
    EXPECT_EQ(held->merkle_root(), root);
    EXPECT_EQ(scan_all(*held).front().header.seq, checkpoint_seqs[1] + 1);
    EXPECT_FALSE(held->get(5).ok());
    auto retention = held->retention();
    ASSERT_TRUE(retention.ok()) << retention.error();
    ASSERT_EQ(retention->retired.size(), 1U);
    ASSERT_TRUE(retention->first_held.has_value());
    EXPECT_EQ(retention->first_held->first_seq, checkpoint_seqs[1] + 1);
  }
  // The archive holds entries 0 to the seal, the same chain, and verifies on its own.
  {
    auto copy =
        Log::open(archive, OpenMode::kReadWrite, StoreRole::kVs, segmented_options(Verify::kFull));
    ASSERT_TRUE(copy.ok()) << copy.error();
    EXPECT_EQ((*copy)->size(), checkpoint_seqs[1] + 1);
    EXPECT_EQ((*copy)->head_hash(), archived->front().seal_entry_hash);
  }
  // A read-write open checks the seal the rows held start from, with the VS key, and appends.
  EXPECT_NE(open_error(url_).find("needs the VS public key"), std::string::npos);
  {
    auto log = Log::open(url_, OpenMode::kReadWrite, StoreRole::kVs, segmented_options());
    ASSERT_TRUE(log.ok()) << log.error();
    EXPECT_EQ((*log)->merkle_root(), root);
    ASSERT_TRUE((*log)->append(sample_entries(size, 1)));
  }
  // Rows held cannot go, even for the database's superuser, and a record cannot change or go.
  for (const std::string& sql : {"DELETE FROM log_entry WHERE seq = " + std::to_string(size - 1),
                                 std::string("UPDATE retired_range SET first_seq = 1"),
                                 std::string("DELETE FROM retired_range")}) {
    EXPECT_THROW((void)psql(sql), std::runtime_error) << sql;
  }

  // Pruning the next range leaves the archive as it is; an archive after a prune is refused, as
  // the archive would no longer hold the log from entry 0.
  const std::uint64_t after_third = 1'700'000'000'000 + checkpoint_seqs[2] + 1;
  auto pruned = retire_sealed_segments(url_, RetireOptions{key, std::nullopt, after_third, 8, {}});
  ASSERT_TRUE(pruned.ok()) << pruned.error();
  ASSERT_EQ(pruned->size(), 1U);
  EXPECT_EQ(pruned->front().first_seq, checkpoint_seqs[1] + 1);
  EXPECT_EQ(pruned->front().seal_seq, checkpoint_seqs[2]);
  EXPECT_EQ(pruned->front().disposition, RetiredSegment::Disposition::kPruned);
  EXPECT_EQ(open_log(url_, OpenMode::kReadOnly)->size(), size + 1);
  {
    auto log = Log::open(url_, OpenMode::kReadWrite, StoreRole::kVs, segmented_options());
    ASSERT_TRUE(log.ok()) << log.error();
    EXPECT_EQ((*log)->size(), size + 1);
    const auto checkpoint = checkpoint_entry(test_vs_key(), (*log)->size(), (*log)->merkle_root());
    ASSERT_TRUE((*log)->append(std::vector<PendingEntry>{checkpoint}));
  }
  auto refused = retire_sealed_segments(
      url_, RetireOptions{key, archive, 1'700'000'000'000 + 10 * size, 9, {}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("were pruned"), std::string::npos) << refused.error();

  // Exported, the store is a directory of segments whose seal index records what was retired: it
  // opens as vsd opens a store, with the same size, head and root.
  {
    const auto held = open_log(url_, OpenMode::kReadOnly);
    EXPECT_NE(
        copy_to_sqlite(*held, dir.file("export.db"), {}, key).error().find("give a new directory"),
        std::string::npos);
    EXPECT_NE(copy_to_sqlite(*held, dir.file("export") + "/", {}, std::nullopt)
                  .error()
                  .find("VS public key"),
              std::string::npos);
    auto exported = copy_to_sqlite(*held, dir.file("export") + "/", {}, key);
    ASSERT_TRUE(exported.ok()) << exported.error();
    auto copy = Log::open(dir.file("export"), OpenMode::kReadWrite, StoreRole::kVs,
                          segmented_options(Verify::kFull));
    ASSERT_TRUE(copy.ok()) << copy.error();
    EXPECT_EQ((*copy)->size(), held->size());
    EXPECT_EQ((*copy)->head_hash(), held->head_hash());
    EXPECT_EQ((*copy)->merkle_root(), held->merkle_root());
    auto index = read_seal_index(dir.file("export"));
    ASSERT_TRUE(index.ok()) << index.error();
    EXPECT_EQ(index->size(), 2U);
  }

  // A record removed behind the triggers' back is found at the next open.
  psql(
      "ALTER TABLE retired_range DISABLE TRIGGER USER; DELETE FROM retired_range WHERE "
      "first_seq = 0");
  EXPECT_NE(open_error(url_).find("retired ranges run from entry 0"), std::string::npos);
}

// One database, several logs: each in its own schema (the first of the connection's
// search_path), each with its own writer, never reaching into another's tables.
TEST_F(PostgresStore, EachSchemaHoldsALogOfItsOwn) {
  psql("CREATE SCHEMA node_a; CREATE SCHEMA node_b");
  const std::string a = url_ + "?options=-csearch_path%3Dnode_a";
  const std::string b = url_ + "?options=-csearch_path%3Dnode_b,node_a";
  auto log_a = open_log(a);
  ASSERT_NE(log_a, nullptr);
  ASSERT_TRUE(log_a->append(sample_entries(0, 5)));
  auto log_b = open_log(b);  // node_a's table is on its path, but node_b gets a log of its own
  ASSERT_NE(log_b, nullptr);
  EXPECT_EQ(log_b->size(), 0U);
  ASSERT_TRUE(log_b->append(sample_entries(0, 2)));
  EXPECT_EQ(psql("SELECT count(*) FROM node_a.log_entry"), "5");
  EXPECT_EQ(psql("SELECT count(*) FROM node_b.log_entry"), "2");
}

// A schema misspelt in the URI (or not created yet) leaves the connection no schema at all: the
// open says so, for good, rather than what that makes of the writer lock.
TEST_F(PostgresStore, AMissingSchemaIsNamed) {
  const Error refused = open_failure(url_ + "?options=-csearch_path%3Dnode_typo");
  EXPECT_NE(refused.message.find("no schema on the connection's search_path exists"),
            std::string::npos)
      << refused.message;
  EXPECT_EQ(refused.retry, Retry::kNo);
}

TEST_F(PostgresStore, OneWriterAtATime) {
  auto first = open_log(url_);
  ASSERT_NE(first, nullptr);
  const Error refused = open_failure(url_);
  const std::string& second = refused.message;
  EXPECT_NE(second.find("another writer holds it"), std::string::npos) << second;
  EXPECT_EQ(refused.retry, Retry::kLater);  // it opens once the holder's connection is gone
  EXPECT_NE(second.find("pid "), std::string::npos) << second;
  EXPECT_NE(open_log(url_, OpenMode::kReadOnly), nullptr);  // readers never wait
  first.reset();
  EXPECT_NE(open_log(url_), nullptr);  // the lock went with the connection
}

// Whoever owns the tables can switch the triggers off and edit rows; the next read-write open
// finds the edit, as for a SQLite file (docs/STORE.md §6.1).
TEST_F(PostgresStore, AnEditOrARemovedRowIsFoundAtTheNextOpen) {
  const struct {
    const char* edit;
    const char* error;
  } cases[] = {
      {"UPDATE log_entry SET message = '\\x00' WHERE seq = 5",
       "entry 5: entry_hash does not match its contents"},
      {"DELETE FROM log_entry WHERE seq = 7", "entry 7: missing; the next stored row is entry 8"},
      {"UPDATE log_entry SET direction = 3 - direction WHERE seq = 2",
       "entry 2: entry_hash does not match its contents"},
      {"UPDATE log_entry SET prev_hash = entry_hash WHERE seq = 4",
       "entry 4: prev_hash does not match the entry_hash of entry 3"},
  };
  for (const auto& c : cases) {
    SetUp();  // a database of its own
    fill(12);
    psql(std::string("ALTER TABLE log_entry DISABLE TRIGGER USER; ") + c.edit);
    const std::string error = open_error(url_);
    EXPECT_NE(error.find(c.error), std::string::npos) << c.edit << ": " << error;
  }
}

TEST_F(PostgresStore, ACommitTheServerCouldLoseIsRefused) {
  const std::string error = open_error(url_ + "?options=-csynchronous_commit%3Doff");
  EXPECT_NE(error.find("synchronous_commit is off"), std::string::npos) << error;
}

// A connection refused for another reason than a password (here: a database not made yet) may
// pass by itself; a daemon refused so exits with the code systemd restarts.
TEST_F(PostgresStore, AConnectionRefusedForAnotherReasonThanAPasswordMayPass) {
  const Error refused = open_failure(server_->url("no_such_database"));
  EXPECT_NE(refused.message.find("cannot connect"), std::string::npos) << refused.message;
  EXPECT_EQ(refused.retry, Retry::kLater) << refused.message;
}

TEST_F(PostgresStore, ARefusedPasswordIsForGoodAndNotShown) {
  server_->add_password_role("guarded", "right-password", database_);
  // Waiting does not bring a password: a start that lacks it or has a wrong one stays down.
  for (const std::string password : {"", "wrong-password"}) {
    const Error refused = open_failure(server_->url(database_, "guarded", password));
    EXPECT_EQ(refused.retry, Retry::kNo) << refused.message;
    EXPECT_NE(refused.message.find("cannot connect"), std::string::npos) << refused.message;
    EXPECT_EQ(refused.message.find("wrong-password"), std::string::npos) << refused.message;
  }
  // The refusals were the password's: the right one gets in.
  auto log = Log::open(server_->url(database_, "guarded", "right-password"), OpenMode::kReadWrite,
                       StoreRole::kVs);
  EXPECT_TRUE(log.ok()) << log.error();
  // A refusal after the password was taken is not the password's (libpq says a password was
  // sent either way): a database not made yet may be made.
  const Error later = open_failure(server_->url("no_such_database", "guarded", "right-password"));
  EXPECT_EQ(later.retry, Retry::kLater) << later.message;
  EXPECT_EQ(later.message.find("right-password"), std::string::npos) << later.message;
}

// What tells a refused password from the rest: the last attempt's SQLSTATE in libpq's verbose
// message (libpq tries again without SSL, or at the next host, and keeps every attempt's error).
TEST(PostgresErrors, TheLastAttemptsSqlstateIsRead) {
  const struct {
    std::string_view message;
    std::string_view sqlstate;
  } cases[] = {
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password "
       "authentication failed for user \"vsd\"\nLOCATION:  auth_failed, auth.c:326\n",
       "28P01"},
      {"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28000: no pg_hba.conf "
       "entry for host \"127.0.0.1\", user \"vsd\", database \"gsvs\", SSL encryption\n"
       "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  3D000: database "
       "\"gsvs\" does not exist\n",
       "3D000"},
      {"connection to server at \"db1\" (10.0.0.1), port 5432 failed: FATAL:  57P03: the "
       "database system is starting up\nconnection to server at \"db2\" (10.0.0.2), port 5432 "
       "failed: ВАЖНО:  28P01: пользователь \"vsd\" не прошёл проверку подлинности\n",
       "28P01"},
      {"connection to server at \"::1\", port 5432 failed: Connection refused\n\tIs the server "
       "running on that host and accepting TCP/IP connections?\n",
       ""},
      {"connection to server at \"fe80::1%eth0\", port 5432 failed: fe_sendauth: no password "
       "supplied\n",
       ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(postgres::last_sqlstate(c.message), c.sqlstate) << c.message;
  }
}

TEST_F(PostgresStore, ErrorsNameTheStoreWithoutItsPassword) {
  const Error refused = open_failure("postgresql://vsd:secret@127.0.0.1:1/gsvs");
  EXPECT_EQ(refused.retry, Retry::kLater);  // a server not up yet may be up later
  const std::string& error = refused.message;
  EXPECT_NE(error.find("store postgresql://vsd:***@127.0.0.1:1/gsvs: cannot connect"),
            std::string::npos)
      << error;
  EXPECT_EQ(error.find("secret"), std::string::npos) << error;
  EXPECT_EQ(error.find_first_of("\n\t"), std::string::npos) << "not one line: " << error;

  auto empty = Log::open(url_, OpenMode::kReadOnly);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().find("no gsvs log in schema public"), std::string::npos) << empty.error();

  auto gs = Log::open(url_, OpenMode::kReadWrite, StoreRole::kGs);
  ASSERT_TRUE(gs.ok()) << gs.error();
  gs->reset();
  const std::string role = open_error(url_, StoreRole::kVs);
  EXPECT_NE(role.find("a GS store (gsvs-gs-log), not a VS store"), std::string::npos) << role;

  auto segments = Log::open(url_, SegmentRange{0, 0});
  ASSERT_FALSE(segments.ok());
  EXPECT_NE(segments.error().find("not a directory of segments"), std::string::npos);
}

// docs/STORE.md §11.4: the log, or its first entries, as one SQLite file that reads the same;
// never over an existing file, and never from a source whose hashes do not hold.
TEST_F(PostgresStore, ACopyIsOneSqliteFileThatReadsTheSame) {
  fill(1234);
  TempDir dir;
  auto source = open_log(url_, OpenMode::kReadOnly);
  ASSERT_NE(source, nullptr);
  auto copied = copy_to_sqlite(*source, dir.file("copy.db"), {}, std::nullopt);
  ASSERT_TRUE(copied.ok()) << copied.error();
  EXPECT_EQ(copied->entries, 1234U);
  EXPECT_EQ(copied->merkle_root, source->merkle_root());
  auto copy = open_log(dir.file("copy.db"));  // read-write: every row checked
  ASSERT_NE(copy, nullptr);
  expect_same_entries(scan_all(*copy), scan_all(*source), "the copy");
  copy.reset();

  auto first =
      copy_to_sqlite(*source, dir.file("first.db"), CopyRange{std::nullopt, 100}, std::nullopt);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first->entries, 100U);
  EXPECT_EQ(open_log(dir.file("first.db"), OpenMode::kReadOnly)->size(), 100U);

  const struct {
    const char* name;
    std::string destination;
    std::optional<std::uint64_t> until;
    const char* error;
  } refused[] = {
      {"an existing file", dir.file("copy.db"), std::nullopt, "it exists"},
      {"more than there is", dir.file("more.db"), 5000, "holds 1234 entries, fewer than the 5000"},
      {"a directory", dir.path() + "/", std::nullopt, "give a file name"},
  };
  for (const auto& c : refused) {
    auto result =
        copy_to_sqlite(*source, c.destination, CopyRange{std::nullopt, c.until}, std::nullopt);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_NE(result.error().find(c.error), std::string::npos) << c.name << ": " << result.error();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("more.db")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("more.db.partial")));

  psql(
      "ALTER TABLE log_entry DISABLE TRIGGER USER; "
      "UPDATE log_entry SET message = '\\x00' WHERE seq = 1100");
  auto edited = copy_to_sqlite(*source, dir.file("edited.db"), {}, std::nullopt);
  ASSERT_FALSE(edited.ok());
  EXPECT_NE(edited.error().find("source entry 1100: its stored entry_hash is not the hash"),
            std::string::npos)
      << edited.error();
  EXPECT_FALSE(std::filesystem::exists(dir.file("edited.db")));
}

// docs/OPERATIONS.md, "Running on PostgreSQL": with a synchronous standby, every entry whose
// commit the writer acknowledged is on the standby when the primary is lost in the middle of the
// writer's commits; the promoted standby opens as the log, whole.
TEST(PostgresReplication, EveryAcknowledgedEntrySurvivesTheLossOfThePrimary) {
  PostgresServer primary;
  PostgresServer standby(primary, "standby1");
  primary.require_synchronous_standby("standby1");
  const std::string database = primary.create_database();

  std::mutex mutex;
  std::vector<Entry> acknowledged;  // in commit order
  {
    auto log = open_log(primary.url(database));
    ASSERT_NE(log, nullptr);
    BatchWriter writer(std::move(log), {.max_batch_entries = 32, .max_delay_us = 500});
    // While the standby it names is away, the primary holds the commit, and nothing is
    // acknowledged; once the standby has the WAL, it is.
    primary.set_synchronous_standby_names("FIRST 1 (absent)");
    std::atomic<bool> first_done{false};
    ASSERT_TRUE(writer.submit({sample_entry(0)}, [&first_done](const Status& status) {
      EXPECT_TRUE(status.ok()) << status.error();
      first_done = true;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE(first_done) << "acknowledged with no synchronous standby to hold it";
    primary.require_synchronous_standby("standby1");
    ASSERT_TRUE(writer.flush().ok());
    EXPECT_TRUE(first_done);
    std::atomic<bool> lost{false};
    std::thread crash([&] {
      // Some commits in, the primary goes, with more submitted behind them.
      while (true) {
        {
          const std::lock_guard lock(mutex);
          if (acknowledged.size() >= 300) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      primary.crash();
      lost = true;
    });
    for (std::uint64_t i = 1; i < 5000 && !lost; ++i) {
      auto entries = writer.submit({sample_entry(i)}, [](const Status&) {});
      if (!entries) break;  // the writer stopped at the failed commit
      auto submitted = *entries;
      (void)writer.submit({}, [&mutex, &acknowledged, submitted](const Status& status) {
        if (!status) return;
        const std::lock_guard lock(mutex);
        acknowledged.insert(acknowledged.end(), submitted.begin(), submitted.end());
      });
    }
    crash.join();
    EXPECT_FALSE(writer.flush().ok()) << "the writer went on without its database";
  }
  ASSERT_GE(acknowledged.size(), 300U);

  standby.promote();
  auto promoted = open_log(standby.url(database));  // read-write: every row of the chain checked
  ASSERT_NE(promoted, nullptr);
  EXPECT_GE(promoted->size(), acknowledged.size());
  for (const Entry& entry : acknowledged) {
    auto kept = promoted->get(entry.header.seq);
    ASSERT_TRUE(kept.ok()) << "acknowledged entry " << entry.header.seq
                           << " lost: " << kept.error();
    EXPECT_EQ(kept->entry_hash, entry.entry_hash);
  }
}

}  // namespace
}  // namespace gsvs::storage::testing
