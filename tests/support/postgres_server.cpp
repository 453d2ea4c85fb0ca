#include "tests/support/postgres_server.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace gsvs::testing {

namespace {

namespace fs = std::filesystem;

// The newest server under /usr/lib/postgresql/<version>/bin (Debian's layout).
std::string server_bin_dir() {
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& version : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = version.path().filename().string();
    if (!fs::exists(version.path() / "bin" / "initdb") || name.empty() ||
        name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    if (const int number = std::stoi(name); number > best_version) {
      best_version = number;
      best = (version.path() / "bin").string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "no PostgreSQL server in /usr/lib/postgresql/*/bin (scripts/install-deps.sh installs "
        "the Debian package postgresql)");
  }
  return best;
}

// Who the server runs as: the postgres user when running as root.
std::string server_user() {
  if (::geteuid() != 0) return {};
  if (::getpwnam("postgres") == nullptr) {
    throw std::runtime_error(
        "running as root, and there is no postgres user to run the server as (the Debian "
        "package postgresql creates it)");
  }
  return "postgres";
}

}  // namespace

PostgresServer::PostgresServer()
    : bin_(server_bin_dir()), user_(server_user()), port_(free_port()) {
  run({bin_ + "/initdb", "-D", make_data_dir(), "-U", "postgres", "--auth=trust", "-E", "UTF8",
       "--no-sync"},
      "initdb");
  start();
}

PostgresServer::PostgresServer(const PostgresServer& primary, const std::string& name)
    : bin_(primary.bin_), user_(primary.user_), port_(free_port()) {
  const std::string data = make_data_dir();
  run({bin_ + "/pg_basebackup", "-h", "127.0.0.1", "-p", std::to_string(primary.port_), "-U",
       "postgres", "-D", data, "-R", "-X", "stream", "--no-sync"},
      "pg_basebackup");
  // -R wrote standby.signal and a primary_conninfo; this one names the standby, which
  // synchronous_standby_names refers to. The later line of the file wins.
  std::string conf = read_text(data + "/postgresql.auto.conf");
  conf += "primary_conninfo = 'host=127.0.0.1 port=" + std::to_string(primary.port_) +
          " user=postgres application_name=" + name + "'\n";
  write_text(data + "/postgresql.auto.conf", conf);
  start();
}

PostgresServer::~PostgresServer() {
  if (!running_) return;
  try {
    run({bin_ + "/pg_ctl", "-D", dir_.file("data"), "-m", "fast", "-w", "stop"}, "pg_ctl stop");
  } catch (const std::runtime_error&) {
    // Nothing to do about a server that will not stop; its directory goes anyway.
  }
}

std::string PostgresServer::make_data_dir() const {
  std::string data = dir_.file("data");
  fs::create_directory(data);
  if (!user_.empty()) {
    // The server's user must reach its directory through the test's.
    fs::permissions(dir_.path(),
                    fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    const passwd* account = ::getpwnam(user_.c_str());
    if (account == nullptr || ::chown(data.c_str(), account->pw_uid, account->pw_gid) != 0) {
      throw std::runtime_error("cannot hand " + data + " to the " + user_ + " user");
    }
  }
  fs::permissions(data, fs::perms::owner_all);
  return data;
}

void PostgresServer::run(std::vector<std::string> argv, const std::string& what) const {
  if (!user_.empty()) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", user_, "--"});
  ChildProcess child(argv, dir_.file("command.out"));
  const int code = child.wait(std::chrono::seconds(60));
  if (code != 0) {
    throw std::runtime_error(what + " failed (exit " + std::to_string(code) +
                             "): " + child.output());
  }
}

void PostgresServer::start() {
  run({bin_ + "/pg_ctl", "-D", dir_.file("data"), "-l", dir_.file("data/server.log"), "-w", "-t",
       "60", "-o",
       // fsync off: a test's server is killed as a process, never as a machine, so what it wrote
       // survives in the page cache, and its commits and checkpoints do not wait for a disk that
       // CI's builds beside the tests keep busy.
       "-c listen_addresses=127.0.0.1 -c fsync=off -p " + std::to_string(port_) + " -k " +
           dir_.file("data"),
       "start"},
      "pg_ctl start");
  running_ = true;
}

std::string PostgresServer::url(const std::string& database, const std::string& user,
                                const std::string& password) const {
  const std::string secret = password.empty() ? "" : ":" + password;
  return "postgresql://" + user + secret + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::psql(const std::string& database, const std::string& sql) const {
  ChildProcess child({"/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                      url(database), "-c", sql},
                     dir_.file("psql.out"));
  const int code = child.wait(std::chrono::seconds(60));
  std::string output = child.output();
  if (code != 0) {
    throw std::runtime_error("psql failed (exit " + std::to_string(code) + "): " + output);
  }
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

std::string PostgresServer::create_database() {
  std::string name = "test_" + std::to_string(++databases_);
  (void)psql("postgres", "CREATE DATABASE " + name);
  return name;
}

void PostgresServer::add_password_role(const std::string& user, const std::string& password,
                                       const std::string& database) {
  (void)psql("postgres", "DO $$ BEGIN CREATE ROLE " + user +
                             " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
  // Stored as SCRAM whatever the server's default, to match the pg_hba.conf line below.
  (void)psql("postgres", "SET password_encryption = 'scram-sha-256'; ALTER ROLE " + user +
                             " PASSWORD '" + password + "'");
  (void)psql("postgres", "ALTER DATABASE " + database + " OWNER TO " + user);
  // pg_hba.conf's first matching line decides: this one goes before initdb's trust lines.
  const std::string hba = dir_.file("data/pg_hba.conf");
  const std::string line = "host all " + user + " 127.0.0.1/32 scram-sha-256\n";
  const std::string rules = read_text(hba);
  if (!rules.starts_with(line)) write_text(hba, line + rules);
  (void)psql("postgres", "SELECT pg_reload_conf()");
  // The reload is asynchronous: wait until the server asks the role for its password (psql -w
  // never prompts, so it fails then).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    ChildProcess probe(
        {"/usr/bin/psql", "-X", "-w", "-q", "-d", url(database, user), "-c", "SELECT 1"},
        dir_.file("psql.out"));
    if (probe.wait(std::chrono::seconds(60)) != 0) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the server still lets " + user + " in without a password");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void PostgresServer::set_synchronous_standby_names(const std::string& names) {
  // ALTER SYSTEM runs outside a transaction, so in a psql call of its own.
  (void)psql("postgres", "ALTER SYSTEM SET synchronous_standby_names = '" + names + "'");
  (void)psql("postgres", "SELECT pg_reload_conf()");
}

void PostgresServer::require_synchronous_standby(const std::string& name) {
  set_synchronous_standby_names("FIRST 1 (" + name + ")");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (psql("postgres", "SELECT sync_state FROM pg_stat_replication WHERE application_name = '" +
                              name + "'") != "sync") {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the standby " + name + " did not become synchronous");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void PostgresServer::crash() {
  run({bin_ + "/pg_ctl", "-D", dir_.file("data"), "-m", "immediate", "-w", "stop"},
      "pg_ctl stop -m immediate");
  running_ = false;
}

void PostgresServer::promote() {
  run({bin_ + "/pg_ctl", "-D", dir_.file("data"), "-w", "-t", "60", "promote"}, "pg_ctl promote");
}

}  // namespace gsvs::testing
