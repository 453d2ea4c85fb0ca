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
#include <vector>

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
  // Read-only Logs: one past the highest seq, and the last entry_hash; when no row is held, where
  // the rows would start and the seal they would link to (entry 0 and zeros when none was retired).
  Result<std::uint64_t> size(const Log::Impl& impl);
  Result<Hash32> head_hash(const Log::Impl& impl);
  // Each row's entry_hash from `from_seq` on, in seq order (nullopt for one that is not 32 bytes):
  // what a read-only Merkle root needs, without the messages.
  Status scan_hashes(const Log::Impl& impl, std::uint64_t from_seq,
                     const std::function<void(std::optional<Hash32>)>& visit);
  // The retired_range table (docs/STORE.md §11.5), checked to run from entry 0 without a gap.
  Result<Log::Retention> retention(const Log::Impl& impl);
  // As Log::tree_before_first: the tree over the retired entries, from the newest range's seal.
  Result<merkle::Accumulator> tree_before_first(const Log::Impl& impl);
};

// What a read-write open of a PostgreSQL store is for.
enum class PgOpenFor : std::uint8_t {
  kWriting,    // the writer's: its lock, the schema created if absent
  kRetention,  // retention's, beside a running writer: its own lock, an existing schema
};
// Opens the store at `url` (postgresql://...), in the database's current schema (read-only: in
// `schema` where one is named): a read-write
// open takes the store's writer lock (an advisory lock held by its connection), creates the
// schema if absent, and verifies the whole chain held, as for a single SQLite file; where entries
// were retired, from the seal of the newest range, which `vs_key` checks (required then).
Result<std::unique_ptr<Log::Impl>> open_postgres(const std::string& url, OpenMode mode,
                                                 std::optional<StoreRole> role,
                                                 const std::optional<crypto::PublicKey>& vs_key,
                                                 PgOpenFor purpose = PgOpenFor::kWriting,
                                                 const std::string& schema = {});

// retire_sealed_segments for a PostgreSQL store (docs/STORE.md §11.5; pg_retention.cpp).
Result<std::vector<RetiredSegment>> retire_postgres_entries(const std::string& url,
                                                            const RetireOptions& options);

}  // namespace gsvs::storage
