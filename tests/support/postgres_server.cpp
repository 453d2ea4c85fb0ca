#include "tests/support/postgres_server.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <vector>

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

// Runs argv to the end (at most a minute) with its output in `log`; throws on failure.
void run(const std::vector<std::string>& argv, const std::string& log, const std::string& what) {
  ChildProcess child(argv, log);
  const int code = child.wait(std::chrono::seconds(60));
  if (code != 0) {
    throw std::runtime_error(what + " failed (exit " + std::to_string(code) +
                             "): " + child.output());
  }
}

}  // namespace

PostgresServer::PostgresServer() : bin_(server_bin_dir()), port_(free_port()) {
  std::vector<std::string> as_user;
  if (::geteuid() == 0) {
    const passwd* account = ::getpwnam("postgres");
    if (account == nullptr) {
      throw std::runtime_error(
          "running as root, and there is no postgres user to run the "
          "server as (the Debian package postgresql creates it)");
    }
    user_ = "postgres";
    as_user = {"/usr/sbin/runuser", "-u", user_, "--"};
    fs::permissions(dir_.path(),
                    fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    fs::create_directory(dir_.file("data"));
    if (::chown(dir_.file("data").c_str(), account->pw_uid, account->pw_gid) != 0) {
      throw std::runtime_error("cannot hand " + dir_.file("data") + " to the postgres user");
    }
  }
  auto command = [&as_user](std::vector<std::string> argv) {
    argv.insert(argv.begin(), as_user.begin(), as_user.end());
    return argv;
  };
  run(command({bin_ + "/initdb", "-D", dir_.file("data"), "-U", "postgres", "--auth=trust", "-E",
               "UTF8", "--no-sync"}),
      dir_.file("initdb.out"), "initdb");
  run(command(
          {bin_ + "/pg_ctl", "-D", dir_.file("data"), "-l", dir_.file("data/server.log"), "-w",
           "-t", "60", "-o",
           "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " + dir_.file("data"),
           "start"}),
      dir_.file("pg_ctl-start.out"), "pg_ctl start");
  started_ = true;
}

PostgresServer::~PostgresServer() {
  if (!started_) return;
  std::vector<std::string> argv{
      bin_ + "/pg_ctl", "-D", dir_.file("data"), "-m", "fast", "-w", "stop"};
  if (!user_.empty()) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", user_, "--"});
  ChildProcess stop(argv, dir_.file("pg_ctl-stop.out"));
  (void)stop.wait(std::chrono::seconds(60));
}

std::string PostgresServer::url(const std::string& database, const std::string& user) const {
  return "postgresql://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::psql(const std::string& database, const std::string& sql) const {
  ChildProcess child({"/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                      url(database), "-c", sql},
                     dir_.file("psql.out"));
  const int code = child.wait(std::chrono::seconds(60));
  std::string output = child.output();
  if (code != 0)
    throw std::runtime_error("psql failed (exit " + std::to_string(code) + "): " + output);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

std::string PostgresServer::create_database() {
  std::string name = "test_" + std::to_string(++databases_);
  (void)psql("postgres", "CREATE DATABASE " + name);
  return name;
}

std::string PostgresServer::log() const { return read_text(dir_.file("data/server.log")); }

}  // namespace gsvs::testing
