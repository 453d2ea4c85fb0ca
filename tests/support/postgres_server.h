// A real PostgreSQL server for tests of the PostgreSQL store: the Debian server's initdb in a
// temporary directory, started with pg_ctl on a free port of 127.0.0.1 with trust
// authentication, stopped and removed when the object goes. PostgreSQL refuses to run as root, so
// as root the server runs as the `postgres` user (the Debian package's), else as the caller.
#pragma once

#include <cstdint>
#include <string>

#include "tests/support/process.h"

namespace gsvs::testing {

class PostgresServer {
 public:
  // Throws std::runtime_error naming the step that failed, with its output.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // postgresql://USER@127.0.0.1:PORT/DATABASE; the superuser is "postgres".
  [[nodiscard]] std::string url(const std::string& database,
                                const std::string& user = "postgres") const;
  // Runs `sql` with psql as the superuser in `database`; its output (unaligned, tuples only).
  // Throws with psql's output when a statement fails.
  std::string psql(const std::string& database, const std::string& sql) const;
  // A new, empty database, for one test.
  std::string create_database();
  // The server's own log (startup, errors), for a failure message.
  [[nodiscard]] std::string log() const;

 private:
  TempDir dir_;
  std::string bin_;   // the server's bin directory, e.g. /usr/lib/postgresql/15/bin
  std::string user_;  // who the server runs as ("" for the caller)
  std::uint16_t port_ = 0;
  bool started_ = false;
  int databases_ = 0;
};

}  // namespace gsvs::testing
