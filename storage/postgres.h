// A thin RAII layer over libpq for the storage module's PostgreSQL backend. Private to storage/:
// public headers never include this file, so <libpq-fe.h> stays out of every other module.
//
// Threading: a Conn and its results are used from one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace gsvs::storage::postgres {

// The application_name of a fleet node's fleet connection (storage/pg_fleet.cpp): a log's start
// that finds its writer lock held by one waits for it (docs/STORE.md §11.6).
inline constexpr std::string_view kFleetApplication = "gsvs fleet";

// Whether `path` is a PostgreSQL connection URI ("postgresql://..." or "postgres://...").
[[nodiscard]] bool is_url(std::string_view path);
// The URI with any password replaced by "***", for messages and logs.
[[nodiscard]] std::string redacted(std::string_view url);
// The last SQLSTATE in an error message libpq built at PQERRORS_VERBOSE ("SEVERITY:  SQLSTATE:
// text" for each attempt: a retry without SSL, or at the next host, adds its own), or "" where it
// has none (libpq's own failures: a refused TCP connection, no password to give). The severity
// is in the server's language; the code is not.
[[nodiscard]] std::string last_sqlstate(std::string_view verbose);

// One query's result; cleared on destruction. Values are read by row and column; binary results
// (every query here asks for them) carry integers in network byte order.
class Res {
 public:
  Res() = default;
  explicit Res(PGresult* res) : res_(res) {}
  ~Res();
  Res(Res&& other) noexcept;
  Res& operator=(Res&& other) noexcept;
  Res(const Res&) = delete;
  Res& operator=(const Res&) = delete;

  [[nodiscard]] int rows() const;
  [[nodiscard]] bool is_null(int row, int column) const;
  // Valid while this Res lives.
  [[nodiscard]] ByteView bytes(int row, int column) const;
  [[nodiscard]] std::string text(int row, int column) const;
  // A binary int2, int4 or int8 column as a signed 64-bit value; nullopt for another width.
  [[nodiscard]] std::optional<std::int64_t> integer(int row, int column) const;

 private:
  PGresult* res_ = nullptr;
};

// A query parameter: text (integers are sent as decimal text) or bytes (bytea, sent binary).
struct Param {
  std::string text;
  ByteView bytes;
  bool binary = false;
  static Param of(std::int64_t value) { return Param{std::to_string(value), {}, false}; }
  static Param of(std::string_view value) { return Param{std::string(value), {}, false}; }
  // The bytes must outlive the query.
  static Param of_bytes(ByteView value) { return Param{{}, value, true}; }
};

// Owns one connection; finishes it on destruction.
class Conn {
 public:
  Conn() = default;
  ~Conn();
  Conn(Conn&& other) noexcept;
  Conn& operator=(Conn&& other) noexcept;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Connects with a URI or a keyword/value string; the error is libpq's, one line.
  static Result<Conn> connect(const std::string& conninfo);

  // Runs statements that return no rows the caller needs (no parameters; may hold several).
  Status exec(const std::string& sql);
  // Runs one statement with parameters ($1, $2, ...); results in binary.
  Result<Res> query(const std::string& sql, const std::vector<Param>& params = {});
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] int backend_pid() const;
  // True when the connection to the server is gone (a server restart, an idle timeout, a
  // terminated backend): every statement on it fails until reset().
  [[nodiscard]] bool lost() const;
  // Connects again with the parameters it was made with; what a session set (SET) is gone. The
  // error is libpq's.
  Status reset();

 private:
  explicit Conn(PGconn* conn) : conn_(conn) {}
  PGconn* conn_ = nullptr;
};

// BEGIN on begin(); rolls back on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Conn& conn) : conn_(conn) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin();
  Status commit();

 private:
  Conn& conn_;
  bool active_ = false;
};

// The integer a query answers in its one row and column (a binary int2, int4 or int8).
Result<std::int64_t> single_integer(Conn& conn, const std::string& sql,
                                    const std::vector<Param>& params = {});

// The key of a log's writer lock, an advisory lock (docs/STORE.md §11.2), for the schema that the
// SQL expression `schema` names: the writer takes it, and a fleet tells by it whether a node is
// alive (§11.6).
[[nodiscard]] std::string writer_lock_key(std::string_view schema);

}  // namespace gsvs::storage::postgres
