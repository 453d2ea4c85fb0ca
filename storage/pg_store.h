// Private to storage/: a Log kept in PostgreSQL (docs/STORE.md §11) instead of SQLite files. The
// chain, its checks and the group commit are the same code as for SQLite (log.cpp, log_open.cpp,
// batch_writer.cpp); this is where the rows are written and read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/postgres.h"

namespace gsvs::storage {

struct PgStore {
  postgres::Conn conn;

  // Inserts the groups of entries in one transaction, durable when it returns (the server's
  // synchronous_commit, which the open checks is not off); all or nothing.
  Status write(const std::string& label, std::span<const std::span<const Entry>> groups);
  // As Log::scan; reads in pages of rows, so in constant memory.
  Status scan(const Log::Impl& impl, const Filter& filter,
              const std::function<bool(const Entry&)>& visit,
              const Log::BadRowReporter& report_bad_row);
  Result<std::optional<Entry>> read_entry(std::uint64_t seq);
  // Read-only Logs: one past the highest seq, and the last entry_hash (zeros when empty).
  Result<std::uint64_t> size();
  Result<Hash32> head_hash();
};

// Opens the store at `url` (postgresql://...), in the database's current schema: a read-write
// open takes the store's writer lock (an advisory lock held by its connection), creates the
// schema if absent, and verifies the whole chain, as for a single SQLite file.
Result<std::unique_ptr<Log::Impl>> open_postgres(const std::string& url, OpenMode mode,
                                                 std::optional<StoreRole> role);

}  // namespace gsvs::storage
