// A real PostgreSQL server for tests of the PostgreSQL store: the Debian server's initdb in a
// temporary directory (or pg_basebackup of another, for a streaming standby), started with pg_ctl
// on a free port of 127.0.0.1 with trust authentication, stopped and removed when the object
// goes. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (the
// Debian package's), else as the caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace gsvs::testing {

class PostgresServer {
 public:
  // A new primary. Throws std::runtime_error naming the step that failed, with its output.
  PostgresServer();
  // A streaming standby of `primary` (pg_basebackup), connected as `name`, started.
  PostgresServer(const PostgresServer& primary, const std::string& name);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // postgresql://USER[:PASSWORD]@127.0.0.1:PORT/DATABASE; the superuser is "postgres".
  [[nodiscard]] std::string url(const std::string& database, const std::string& user = "postgres",
                                const std::string& password = "") const;
  // Runs `sql` with psql as the superuser in `database`; its output (unaligned, tuples only).
  // Throws with psql's output when a statement fails.
  std::string psql(const std::string& database, const std::string& sql) const;
  // A new, empty database, for one test.
  std::string create_database();
  // A login role that connects over TCP only with `password` (scram-sha-256; every other role
  // stays trusted), owning `database`. Again for the same role: its password changes. The names
  // and the password go into SQL and the URL as they are: plain identifiers, no quotes.
  void add_password_role(const std::string& user, const std::string& password,
                         const std::string& database);

  // Primary: ALTER SYSTEM SET synchronous_standby_names, and a reload.
  void set_synchronous_standby_names(const std::string& names);
  // Primary: makes the standby `name` synchronous (a COMMIT waits until it has flushed the WAL)
  // and returns once it streams as such.
  void require_synchronous_standby(const std::string& name);
  // Loses the server as a crash would: stopped at once, with no shutdown checkpoint.
  void crash();
  // Starts it again after crash(): it recovers from its WAL as after a real crash.
  void start();
  // Standby: promotes it to a primary and returns once it takes writes.
  void promote();

 private:
  // Runs argv as the server's user to the end; throws naming `what` on failure.
  void run(std::vector<std::string> argv, const std::string& what) const;
  // The server's data directory, made and handed to the server's user.
  [[nodiscard]] std::string make_data_dir() const;

  TempDir dir_;
  std::string bin_;   // the server's bin directory, e.g. /usr/lib/postgresql/15/bin
  std::string user_;  // who the server runs as ("" for the caller)
  std::uint16_t port_ = 0;
  bool running_ = false;
  int databases_ = 0;
};

}  // namespace gsvs::testing
