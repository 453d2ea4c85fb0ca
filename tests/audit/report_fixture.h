// Stores written by a real vsd for the report and reconcile tests, a GS store derived from a VS
// store (the gsd's own store has the same schema), and what an insider can do to a copy of the
// file with the SQLite C API: drop the triggers, cut the tail, rewrite an entry and re-chain.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "audit-cli/report_format.h"
#include "protocol/chains.h"
#include "protocol/clock.h"
#include "storage/log.h"
#include "tests/audit/audit_fixture.h"
#include "tests/support/process.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {

struct RecordedSession {
  std::shared_ptr<TempDir> dir;  // vs.db, vs.key, vs.key.pub
  std::string store;
  crypto::PublicKey vs_key;
  std::string vs_key_file;
  protocol::SessionId session = 0;
};

enum class Scenario { kSpeedViolation, kOperatorRevocation };

// Runs vsd, plays one GS session to its revocation, stops vsd (which writes a final checkpoint
// over everything) and returns the store.
inline RecordedSession record(Scenario scenario) {
  RecordedSession out;
  out.dir = std::make_shared<TempDir>();
  const auto identity = crypto::SecretKey::generate();
  const Hash32 build = crypto::sha256(as_bytes("honest build 1.0"));
  VsOptions options;
  options.checkpoint_interval_ms = 150;  // several checkpoints over the session
  // The operator's revocation comes from a second process, `vsd revoke`, whose start under the
  // sanitizers on a loaded machine can outlast the fixture's 800 ms: the session must still be
  // live when it arrives (the scenario is about the operator, not liveness).
  if (scenario == Scenario::kOperatorRevocation) {
    options.heartbeat_timeout_ms = 30000;
    options.digest_timeout_ms = 60000;
  }
  VsProcess vs(*out.dir, {identity.public_key()}, {build}, options);
  {
    ScriptedGs gs(vs.port(), identity, build);
    gs.join();
    out.session = gs.session_id();
    const auto player = crypto::SecretKey::generate().public_key();
    const auto bystander = crypto::SecretKey::generate().public_key();
    if (scenario == Scenario::kSpeedViolation) {
      const auto t0 = unix_time_ms();
      // Honest walking first (6 m/s), so the replay has a history to go through.
      for (int step = 0; step < 2; ++step) {
        gs.send_signed(gs.make_heartbeat());
        gs.send_signed(gs.make_digest({player_at(player, step * 1500, 0)},
                                      t0 + static_cast<std::uint64_t>(step) * 250));
        if (!gs.expect<protocol::ProtectedReceipt>()) throw std::runtime_error("no receipt");
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
      // Then 50 m in about 0.25 s, with a newcomer listed first (a first appearance is free).
      gs.send_signed(
          gs.make_digest({player_at(bystander, 0, 300), player_at(player, 51500, 0)}, t0 + 500));
    } else {
      gs.send_signed(gs.make_heartbeat());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      TempDir out_dir;
      ChildProcess revoke(
          {program("vsd"), "revoke", "--admin-socket", vs.admin_socket(), "--session",
           std::to_string(gs.session_id()), "--reason", "reported by players for wall hacks"},
          out_dir.file("revoke.out"));
      if (revoke.wait(std::chrono::seconds(10)) != 0) throw std::runtime_error(revoke.output());
    }
    if (!gs.expect<protocol::Revocation>(std::chrono::seconds(5))) {
      throw std::runtime_error("not revoked:\n" + vs.process().output());
    }
    // Let a checkpoint or two pass after the revocation.
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  if (vs.stop() != 0) throw std::runtime_error("vsd did not stop cleanly");
  out.store = vs.store_path();
  out.vs_key = vs.public_key();
  out.vs_key_file = out.dir->file("vs.key.pub");
  return out;
}

inline std::string copy_store(const std::string& from, const TempDir& dir,
                              const std::string& name) {
  std::string to = dir.file(name);
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  return to;
}

// A connection as the sqlite3 shell would open it, for an insider's edits.
class Insider {
 public:
  explicit Insider(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path);
    }
    exec("DROP TRIGGER IF EXISTS log_entry_no_update; DROP TRIGGER IF EXISTS log_entry_no_delete;");
  }
  ~Insider() { sqlite3_close_v2(db_); }
  Insider(const Insider&) = delete;
  Insider& operator=(const Insider&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    std::string error = message != nullptr ? message : "";
    sqlite3_free(message);
    if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + error);
  }

  // Removes every entry from `seq` on.
  void cut_from(std::uint64_t seq) {
    exec("DELETE FROM log_entry WHERE seq >= " + std::to_string(seq));
  }

  // Replaces entry `seq`'s message and recomputes the hash chain from there to the end, as a
  // careful insider would: the chain verifies again; only checkpoints held elsewhere show it.
  void rewrite(std::vector<storage::Entry> entries, std::uint64_t seq, const Bytes& message) {
    entries.at(seq).message = message;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "UPDATE log_entry SET message = ?1, prev_hash = ?2, entry_hash = ?3 "
                           "WHERE seq = ?4",
                           -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error("prepare");
    }
    for (std::size_t i = seq; i < entries.size(); ++i) {
      auto& e = entries[i];
      if (i > 0) e.header.prev_entry_hash = entries[i - 1].entry_hash;
      e.entry_hash = chains::log_entry_hash(e.header, e.message);
      sqlite3_reset(stmt);
      sqlite3_bind_blob(stmt, 1, e.message.data(), static_cast<int>(e.message.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_blob(stmt, 2, e.header.prev_entry_hash.bytes.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_blob(stmt, 3, e.entry_hash.bytes.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 4, static_cast<sqlite3_int64>(e.header.seq));
      if (sqlite3_step(stmt) != SQLITE_DONE) throw std::runtime_error("update");
    }
    sqlite3_finalize(stmt);
  }

 private:
  sqlite3* db_ = nullptr;
};

// What a gsd would hold for `session`: everything the VS issued to it (direction 1 there),
// everything it sent (direction 2), and the checkpoints broadcast while it was live. Entries
// for which `keep` says false are left out (a GS that lost or hid them).
template <class Keep>
void write_gs_store(const std::vector<storage::Entry>& vs_entries, protocol::SessionId session,
                    const std::string& path, Keep keep) {
  std::uint64_t first = UINT64_MAX;
  std::uint64_t last = 0;
  for (const auto& e : vs_entries) {
    if (e.header.session_id != session) continue;
    first = std::min(first, e.header.seq);
    last = std::max(last, e.header.seq);
  }
  std::vector<storage::PendingEntry> pending;
  for (const auto& e : vs_entries) {
    const bool ours = e.header.session_id == session;
    const bool broadcast = e.header.kind == protocol::MessageKind::kCheckpoint &&
                           e.header.seq > first && e.header.seq < last;
    if ((!ours && !broadcast) || !keep(e)) continue;
    storage::PendingEntry p;
    p.kind = e.header.kind;
    p.direction = e.header.direction == chains::Direction::kIssued ? chains::Direction::kReceived
                                                                   : chains::Direction::kIssued;
    p.session_id = e.header.session_id;
    p.vs_time_ms = e.header.vs_time_ms + 3;  // the GS's clock
    p.message = e.message;
    pending.push_back(std::move(p));
  }
  auto log = storage::Log::open(path, storage::OpenMode::kReadWrite, storage::StoreRole::kGs);
  if (!log) throw std::runtime_error(log.error());
  auto appended = (*log)->append(pending);
  if (!appended) throw std::runtime_error(appended.error());
}

inline void write_gs_store(const std::vector<storage::Entry>& vs_entries,
                           protocol::SessionId session, const std::string& path) {
  write_gs_store(vs_entries, session, path, [](const storage::Entry&) { return true; });
}

// Runs audit-cli with `args`; returns the exit code and fills `output` with its stdout, then its
// stderr.
inline int audit_cli_status(const std::vector<std::string>& args, std::string* output = nullptr) {
  const CliResult result = run_audit_cli(args);
  if (output) *output = result.out + result.err;
  return result.exit_code;
}

// Each problem a report verification found, a line each, for test failure messages.
inline std::string problems_of(const audit::report::Verification& v) {
  std::string out;
  for (const auto& p : v.problems) out += audit::report::format_problem(p) + "\n";
  return out;
}

}  // namespace gsvs::testing
