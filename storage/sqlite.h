// A thin RAII layer over the SQLite C API for the storage module. Private to storage/: public
// headers never include this file, so <sqlite3.h> stays out of every other module.
//
// Threading: a Db and its statements are used from one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace gsvs::storage::sqlite {

// What `rc` (a result of a call on `db`, which may be null) means: SQLite's message, the name and
// number of the code (extended: SQLITE_IOERR_FSYNC is 1034) and, where the file system failed,
// the system's reason, which tells a full disk from a failing one.
std::string describe(sqlite3* db, int rc);

// Owns one connection; closes it on destruction. Statements must be destroyed first.
class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // `filename` may be a "file:" URI when `flags` holds SQLITE_OPEN_URI.
  static Result<Db> open(const std::string& filename, int flags);

  // Runs one or more statements that return no rows the caller needs.
  Status exec(const std::string& sql);
  // The last error of this connection, as "message (code)".
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] sqlite3* get() const { return db_; }
  [[nodiscard]] bool in_transaction() const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// One prepared statement. step() reports a row, the end, or an error; columns are read by index.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  static Result<Stmt> prepare(Db& db, std::string_view sql);

  // Parameter indexes are 1-based, as in SQLite. Blobs and text are copied (SQLITE_TRANSIENT)
  // unless bind_blob_static is used, whose bytes must outlive the next step().
  Status bind_int64(int index, std::int64_t value);
  Status bind_blob(int index, ByteView value);
  Status bind_blob_static(int index, ByteView value);
  Status bind_text(int index, std::string_view value);

  enum class Step { kRow, kDone };
  Result<Step> step();
  // Makes the statement runnable again and clears its bindings.
  void reset();

  [[nodiscard]] int column_type(int index) const;  // SQLITE_INTEGER, SQLITE_BLOB, ...
  [[nodiscard]] std::int64_t column_int64(int index) const;
  // Valid until the next step(), reset() or destruction.
  [[nodiscard]] ByteView column_blob(int index) const;
  [[nodiscard]] std::string column_text(int index) const;

 private:
  Stmt(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  [[nodiscard]] std::string error_text() const;
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE on begin(); rolls back on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin();
  Status commit();

 private:
  Db& db_;
  bool active_ = false;
};

// Percent-encodes a path for use in a "file:" URI (RFC 3986 unreserved characters and '/' kept).
std::string file_uri(std::string_view path, std::string_view query);

}  // namespace gsvs::storage::sqlite
