// Shared by the storage tests: a scratch directory, sample entries and raw SQL through the
// SQLite C API (what an insider with the file and the stock shell can do).
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>  // mkdtemp

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/sqlite.h"

namespace gsvs::storage::testing {

// A fresh directory under the system temp dir, removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gsvs-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Creates an empty store of `layout` at `path`, as the build of that schema version made it:
// kKindNameColumn gives schema version 1 (a single file) or 2 (with `segment`), the stores made
// before version 3, which must keep opening, verifying and taking appends.
inline Status create_store(const std::string& path, SchemaLayout layout,
                           StoreRole role = StoreRole::kVs,
                           const SegmentCreate* segment = nullptr) {
  auto db = sqlite::Db::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!db) return Error{db.error()};
  return create_schema(*db, role, segment, layout);
}

// Names the schema versions of test parameters: "v1" (and v2 segments) or "v3".
inline std::string layout_test_name(const ::testing::TestParamInfo<SchemaLayout>& info) {
  return info.param == SchemaLayout::kKindNameColumn ? "v1" : "v3";
}

// A deterministic entry whose fields all depend on i, so a swapped or edited row shows.
inline PendingEntry sample_entry(std::uint64_t i) {
  PendingEntry p;
  p.kind = static_cast<protocol::MessageKind>(1 + i % protocol::kMaxMessageKind);
  p.direction = i % 3 == 0 ? chains::Direction::kIssued : chains::Direction::kReceived;
  p.session_id = i % 5;
  p.vs_time_ms = 1'700'000'000'000 + i * 7;
  p.message.resize(16 + i % 50);
  for (std::size_t k = 0; k < p.message.size(); ++k) {
    p.message[k] = static_cast<std::uint8_t>((i * 31 + k) & 0xFF);
  }
  return p;
}

inline std::vector<PendingEntry> sample_entries(std::uint64_t first, std::uint64_t count) {
  std::vector<PendingEntry> out;
  for (std::uint64_t i = first; i < first + count; ++i) out.push_back(sample_entry(i));
  return out;
}

// Opens the log at `path`, failing the test (and returning null) when it does not open.
inline std::unique_ptr<Log> open_log(const std::string& path,
                                     OpenMode mode = OpenMode::kReadWrite) {
  auto log = Log::open(path, mode);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error());
  return log.ok() ? std::move(*log) : nullptr;
}

// Every entry that `filter` selects, failing the test when the scan stops on an error.
inline std::vector<Entry> scan_all(const Log& log, const Filter& filter = {}) {
  std::vector<Entry> out;
  const Status status = log.scan(filter, [&](const Entry& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error());
  return out;
}

inline Filter make_filter(std::uint64_t from_seq = 0, std::optional<std::uint64_t> to_seq = {},
                          std::optional<protocol::SessionId> session_id = {},
                          std::optional<protocol::MessageKind> kind = {}) {
  Filter filter;
  filter.from_seq = from_seq;
  filter.to_seq = to_seq;
  filter.session_id = session_id;
  filter.kind = kind;
  return filter;
}

// The VS key of segmented-store tests: fixed, so failures reproduce.
inline const crypto::SecretKey& test_vs_key() {
  static const crypto::SecretKey key = [] {
    crypto::Seed seed;
    for (std::size_t i = 0; i < seed.bytes.size(); ++i)
      seed.bytes[i] = static_cast<std::uint8_t>(i);
    return crypto::SecretKey::from_seed(seed);
  }();
  return key;
}

// A VS-signed Checkpoint over `size` entries with root `root`, as the entry that records it.
inline PendingEntry checkpoint_entry(const crypto::SecretKey& key, std::uint64_t size,
                                     const Hash32& root) {
  protocol::Checkpoint checkpoint;
  checkpoint.log_size = size;
  checkpoint.root = root;
  checkpoint.vs_time_ms = 1'700'000'000'000 + size;
  protocol::sign(checkpoint, key);
  return PendingEntry{protocol::MessageKind::kCheckpoint, chains::Direction::kIssued, 0,
                      checkpoint.vs_time_ms, protocol::encode(checkpoint)};
}

// The options of a read-write open of a segmented store signed by test_vs_key().
inline OpenOptions segmented_options(Verify verify = Verify::kFast) {
  return OpenOptions{test_vs_key().public_key(), verify};
}

// Writer options that seal with test_vs_key() once a segment holds about `max_bytes`.
inline BatchWriter::Options rotating_options(std::uint64_t max_bytes) {
  BatchWriter::Options options;
  options.max_batch_entries = 64;
  options.max_delay_us = 200;
  options.segment_max_bytes = max_bytes;
  options.seal = [](std::uint64_t size, const Hash32& root) {
    return checkpoint_entry(test_vs_key(), size, root);
  };
  return options;
}

// A plain connection, as the sqlite3 shell would open it.
class RawDb {
 public:
  explicit RawDb(const std::string& path, int flags = SQLITE_OPEN_READWRITE) {
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
    }
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  [[nodiscard]] bool ok() const { return db_ != nullptr; }
  [[nodiscard]] sqlite3* get() const { return db_; }

  // Returns the SQLite result code; error() holds the message of the last failure.
  int exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    error_ = message != nullptr ? message : "";
    sqlite3_free(message);
    return rc;
  }
  [[nodiscard]] const std::string& error() const { return error_; }

  // First column of the first row as an integer (-1 when there is no row).
  std::int64_t query_int(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::int64_t out = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

}  // namespace gsvs::storage::testing
