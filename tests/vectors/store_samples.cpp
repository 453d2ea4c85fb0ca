#include "tests/vectors/store_samples.h"

#include <sqlite3.h>
#include <stdlib.h>  // mkdtemp

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/chains.h"
#include "protocol/messages.h"
#include "storage/log.h"

namespace gsvs::test_samples {
namespace {

// A scratch directory, removed with its contents.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gsvs-store-vectors-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temp dir");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The sample log: one entry of each shape a VS writes (received and issued, with and without a
// session), with labelled() messages of different lengths.
std::vector<storage::PendingEntry> sample_log() {
  using protocol::MessageKind;
  struct Row {
    MessageKind kind;
    chains::Direction direction;
    std::uint64_t session_id;
  };
  const Row rows[] = {
      {MessageKind::kJoinRequest, chains::Direction::kReceived, 0},
      {MessageKind::kJoinAccept, chains::Direction::kIssued, 1},
      {MessageKind::kHeartbeat, chains::Direction::kReceived, 1},
      {MessageKind::kProtectedReceipt, chains::Direction::kIssued, 1},
      {MessageKind::kCheckpoint, chains::Direction::kIssued, 0},
  };
  std::vector<storage::PendingEntry> out;
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    storage::PendingEntry entry;
    entry.kind = rows[i].kind;
    entry.direction = rows[i].direction;
    entry.session_id = rows[i].session_id;
    entry.vs_time_ms = 1'700'000'000'000 + 250 * i;
    const Hash32 label = labelled("store vector message " + std::to_string(i));
    entry.message.assign(label.bytes.begin(), label.bytes.begin() + 8 + 4 * i);
    out.push_back(std::move(entry));
  }
  return out;
}

// A column as JSON: integers as numbers, text as strings, blobs as lower-case hex.
Json column_json(sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
      return sqlite3_column_int64(stmt, column);
    case SQLITE_TEXT:
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, column)));
    case SQLITE_BLOB: {
      const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, column));
      return to_hex(ByteView(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column))));
    }
    case SQLITE_NULL:
      return nullptr;
    default:
      throw std::runtime_error("a column of unexpected type");
  }
}

// Every row of a query, each an object of its columns by name.
Json query_rows(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  Json rows = Json::array();
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    Json row = Json::object();
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      row[sqlite3_column_name(stmt, c)] = column_json(stmt, c);
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db));
  return rows;
}

}  // namespace

Json store_document() {
  const ScratchDir dir;
  const std::string path = dir.path() + "/vs.db";
  {
    auto log = storage::Log::open(path, storage::OpenMode::kReadWrite);
    if (!log) throw std::runtime_error(log.error());
    auto appended = (*log)->append(sample_log());
    if (!appended) throw std::runtime_error(appended.error());
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    throw std::runtime_error("cannot open the sample store");
  }
  Json doc;
  doc["description"] =
      "A new VS store (docs/STORE.md §2, §3.3): its schema as sqlite_master lists it, its "
      "message_kind and meta rows (created_at_ms left out: it is the time of creation), and a "
      "log of five entries as stored. Each entry_hash is SHA-256(\"gsvs/v1/log_entry\" || 0x00 "
      "|| seq u64le || kind u8 || direction u8 || session_id u64le || vs_time_ms u64le || "
      "prev_hash || u32le length of message || message); prev_hash of entry 0 is 32 zero bytes.";
  try {
    doc["sqlite_master"] =
        query_rows(db, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name");
    doc["message_kind"] = query_rows(db, "SELECT kind, name FROM message_kind ORDER BY kind");
    doc["meta"] =
        query_rows(db, "SELECT key, value FROM meta WHERE key != 'created_at_ms' ORDER BY key");
    doc["log_entry"] = query_rows(db, "SELECT * FROM log_entry ORDER BY seq");
    doc["log_entry_readable"] =
        query_rows(db, "SELECT seq, kind_name, direction FROM log_entry_readable ORDER BY seq");
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  sqlite3_close_v2(db);
  return doc;
}

}  // namespace gsvs::test_samples
