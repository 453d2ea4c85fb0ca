// The SQLite wrapper's errors: SQLite's message, the name and number of its extended code, and,
// where the file system failed, the system's own reason, which tells a full disk from a failing
// one or a missing directory.
#include "storage/sqlite.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/process.h"

namespace gsvs::testing {
namespace {

TEST(Sqlite, AnOpenThatFailsInTheFileSystemSaysWhy) {
  TempDir dir;
  auto db = storage::sqlite::Db::open(dir.file("missing-directory/store.db"),
                                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().find("unable to open database file"), std::string::npos) << db.error();
  EXPECT_NE(db.error().find("code 14"), std::string::npos) << db.error();
  EXPECT_NE(db.error().find("No such file or directory"), std::string::npos) << db.error();
}

TEST(Sqlite, AStatementThatFailsNamesItsExtendedCode) {
  TempDir dir;
  auto db =
      storage::sqlite::Db::open(dir.file("store.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok()) << db.error();
  ASSERT_TRUE(db->exec("CREATE TABLE t (k INTEGER PRIMARY KEY)").ok());
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)").ok());
  const Status again = db->exec("INSERT INTO t VALUES (1)");
  ASSERT_FALSE(again.ok());
  // SQLITE_CONSTRAINT_PRIMARYKEY: the extended code, not the primary 19.
  EXPECT_NE(again.error().find("UNIQUE constraint failed: t.k"), std::string::npos)
      << again.error();
  EXPECT_NE(again.error().find("code 1555"), std::string::npos) << again.error();
}

}  // namespace
}  // namespace gsvs::testing
