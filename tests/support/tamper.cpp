#include "tests/support/tamper.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "protocol/messages.h"

namespace gsvs::testing {

namespace {

struct Statement {
  Statement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* stmt = nullptr;
};

void step_done(sqlite3* db, sqlite3_stmt* stmt) {
  if (sqlite3_step(stmt) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
}

}  // namespace

void copy_store(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

namespace {
std::int64_t page_size_of(sqlite3* db) {
  Statement size(db, "PRAGMA page_size");
  return sqlite3_step(size.stmt) == SQLITE_ROW ? sqlite3_column_int64(size.stmt, 0) : 0;
}
}  // namespace

std::vector<LeafPage> leaf_pages(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    throw std::runtime_error("cannot open " + path);
  }
  std::vector<LeafPage> leaves;
  {
    // dbstat's path orders a b-tree's pages in key order; seq is the rowid and runs from 0
    // without gaps, so the cells of the leaves before a leaf count the seqs before its first.
    Statement pages(db,
                    "SELECT pageno, ncell FROM dbstat WHERE name = 'log_entry' AND "
                    "pagetype = 'leaf' ORDER BY path");
    std::uint64_t next = 0;
    while (sqlite3_step(pages.stmt) == SQLITE_ROW) {
      const auto cells = static_cast<std::uint64_t>(sqlite3_column_int64(pages.stmt, 1));
      if (cells == 0) continue;
      leaves.push_back({sqlite3_column_int64(pages.stmt, 0), next, next + cells - 1});
      next += cells;
    }
  }
  sqlite3_close_v2(db);
  return leaves;
}

void damage_page(const std::string& path, std::int64_t pageno) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    throw std::runtime_error("cannot open " + path);
  }
  const std::int64_t page_size = page_size_of(db);
  sqlite3_close_v2(db);
  if (page_size <= 0 || pageno < 1) throw std::runtime_error(path + ": no page to damage");
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp((pageno - 1) * page_size);
  const std::string noise(static_cast<std::size_t>(page_size), '\xFF');
  file.write(noise.data(), static_cast<std::streamsize>(noise.size()));
  if (!file) throw std::runtime_error(path + ": cannot write the damaged page");
}

Tamper::Tamper(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    throw std::runtime_error("cannot open " + path);
  }
  exec(
      "DROP TRIGGER IF EXISTS log_entry_no_update; DROP TRIGGER IF EXISTS log_entry_no_delete; "
      "DROP TRIGGER IF EXISTS log_entry_append_seq; DROP TRIGGER IF EXISTS log_entry_append_link;"
      "DROP TRIGGER IF EXISTS message_kind_no_update;");
}

Tamper::~Tamper() { sqlite3_close(db_); }

void Tamper::exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error(sql + ": " + message);
  }
}

Bytes Tamper::blob(std::uint64_t seq, const std::string& column) {
  Statement s(db_, "SELECT " + column + " FROM log_entry WHERE seq = ?1");
  sqlite3_bind_int64(s.stmt, 1, static_cast<std::int64_t>(seq));
  if (sqlite3_step(s.stmt) != SQLITE_ROW) throw std::runtime_error("no row");
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(s.stmt, 0));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(s.stmt, 0));
  return Bytes(data, data + size);
}

void Tamper::set_blob(std::uint64_t seq, const std::string& column, ByteView value) {
  Statement s(db_, "UPDATE log_entry SET " + column + " = ?1 WHERE seq = ?2");
  sqlite3_bind_blob(s.stmt, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.stmt, 2, static_cast<std::int64_t>(seq));
  step_done(db_, s.stmt);
}

std::int64_t Tamper::integer(std::uint64_t seq, const std::string& column) {
  Statement s(db_, "SELECT " + column + " FROM log_entry WHERE seq = ?1");
  sqlite3_bind_int64(s.stmt, 1, static_cast<std::int64_t>(seq));
  if (sqlite3_step(s.stmt) != SQLITE_ROW) throw std::runtime_error("no row");
  return sqlite3_column_int64(s.stmt, 0);
}

void Tamper::set_integer(std::uint64_t seq, const std::string& column, std::int64_t value) {
  Statement s(db_, "UPDATE log_entry SET " + column + " = ?1 WHERE seq = ?2");
  sqlite3_bind_int64(s.stmt, 1, value);
  sqlite3_bind_int64(s.stmt, 2, static_cast<std::int64_t>(seq));
  step_done(db_, s.stmt);
}

void Tamper::flip_byte(std::uint64_t seq, const std::string& column, std::size_t offset) {
  Bytes value = blob(seq, column);
  value.at(offset) ^= 0x01;
  set_blob(seq, column, value);
}

void Tamper::shift(std::uint64_t from_seq, std::int64_t by) {
  // Through a free range far above the log, so no two rows ever share a seq on the way.
  constexpr std::int64_t kAway = 1'000'000'000;
  const std::string from = std::to_string(from_seq);
  exec("UPDATE log_entry SET seq = seq + " + std::to_string(kAway) + " WHERE seq >= " + from);
  exec("UPDATE log_entry SET seq = seq - " + std::to_string(kAway - by) +
       " WHERE seq >= " + std::to_string(kAway));
}

void Tamper::swap_rows(std::uint64_t a, std::uint64_t b) {
  constexpr std::int64_t kParked = 2'000'000'000;
  exec("UPDATE log_entry SET seq = " + std::to_string(kParked) +
       " WHERE seq = " + std::to_string(a));
  exec("UPDATE log_entry SET seq = " + std::to_string(a) + " WHERE seq = " + std::to_string(b));
  exec("UPDATE log_entry SET seq = " + std::to_string(b) +
       " WHERE seq = " + std::to_string(kParked));
}

void Tamper::resign_checkpoints(std::uint64_t from_seq, const crypto::SecretKey& vs_key) {
  merkle::Accumulator tree;
  const std::uint64_t count = rows();
  for (std::uint64_t seq = 0; seq < count; ++seq) {
    if (seq >= from_seq &&
        integer(seq, "kind") == static_cast<std::int64_t>(protocol::MessageKind::kCheckpoint)) {
      auto checkpoint = protocol::decode<protocol::Checkpoint>(blob(seq, "message"));
      if (!checkpoint) throw std::runtime_error("checkpoint " + std::to_string(seq));
      checkpoint->root = tree.root();  // a Checkpoint at seq covers the seq entries before it
      protocol::sign(*checkpoint, vs_key);
      set_blob(seq, "message", protocol::encode(*checkpoint));
      rechain(seq);
    }
    const Bytes hash = blob(seq, "entry_hash");
    if (hash.size() != 32) throw std::runtime_error("entry_hash " + std::to_string(seq));
    Hash32 leaf;
    std::copy(hash.begin(), hash.end(), leaf.bytes.begin());
    tree.append(leaf);
  }
}

std::uint64_t Tamper::rows() {
  Statement s(db_, "SELECT count(*) FROM log_entry");
  if (sqlite3_step(s.stmt) != SQLITE_ROW) throw std::runtime_error("count");
  return static_cast<std::uint64_t>(sqlite3_column_int64(s.stmt, 0));
}

void Tamper::rechain(std::uint64_t from_seq) {
  Hash32 prev;  // entry_hash of the row before (zeros for the first)
  {
    Statement s(db_, "SELECT entry_hash FROM log_entry WHERE seq < ?1 ORDER BY seq DESC LIMIT 1");
    sqlite3_bind_int64(s.stmt, 1, static_cast<std::int64_t>(from_seq));
    if (sqlite3_step(s.stmt) == SQLITE_ROW && sqlite3_column_bytes(s.stmt, 0) == 32) {
      const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(s.stmt, 0));
      std::copy(data, data + 32, prev.bytes.begin());
    }
  }
  exec("BEGIN");
  {
    Statement select(db_,
                     "SELECT seq, kind, direction, session_id, vs_time_ms, message FROM log_entry "
                     "WHERE seq >= ?1 ORDER BY seq");
    Statement update(db_, "UPDATE log_entry SET prev_hash = ?1, entry_hash = ?2 WHERE seq = ?3");
    sqlite3_bind_int64(select.stmt, 1, static_cast<std::int64_t>(from_seq));
    while (sqlite3_step(select.stmt) == SQLITE_ROW) {
      chains::LogEntryHeader h;
      h.seq = static_cast<std::uint64_t>(sqlite3_column_int64(select.stmt, 0));
      h.kind = static_cast<protocol::MessageKind>(sqlite3_column_int64(select.stmt, 1));
      h.direction = static_cast<chains::Direction>(sqlite3_column_int64(select.stmt, 2));
      h.session_id = static_cast<std::uint64_t>(sqlite3_column_int64(select.stmt, 3));
      h.vs_time_ms = static_cast<std::uint64_t>(sqlite3_column_int64(select.stmt, 4));
      h.prev_entry_hash = prev;
      const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(select.stmt, 5));
      const Bytes message(data, data + sqlite3_column_bytes(select.stmt, 5));
      const Hash32 hash = chains::log_entry_hash(h, message);
      sqlite3_reset(update.stmt);
      sqlite3_bind_blob(update.stmt, 1, prev.bytes.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_blob(update.stmt, 2, hash.bytes.data(), 32, SQLITE_TRANSIENT);
      sqlite3_bind_int64(update.stmt, 3, static_cast<std::int64_t>(h.seq));
      step_done(db_, update.stmt);
      prev = hash;
    }
  }
  exec("COMMIT");
}

}  // namespace gsvs::testing
