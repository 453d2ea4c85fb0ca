// Private to storage/: the state behind a Log, shared by log.cpp and batch_writer.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/merkle.h"
#include "storage/log.h"
#include "storage/sqlite.h"
#include "storage/store_lock.h"

namespace gsvs::storage {

// The in-memory head (size, head_hash, accumulator) is what the next append builds on. Log::append
// moves it forward only after a commit; a BatchWriter moves it at submit time, ahead of its
// commits, and stops for good after a failed one.
struct Log::Impl {
  std::string path;
  OpenMode mode = OpenMode::kReadOnly;
  StoreRole role = StoreRole::kVs;  // from meta.format (the role created with, for a new store)
  StoreLock writer_lock;     // read-write only; declared first, so released after the db closes
  sqlite::Db db;             // declared before the statements, so destroyed after them
  sqlite::Stmt insert_stmt;  // read-write only

  std::uint64_t size = 0;  // read-write only; read-only Logs ask the store each time
  Hash32 head;
  merkle::Accumulator accumulator;

  // "store <path>" and "store <path>: entry <seq>", the prefixes of every error.
  [[nodiscard]] std::string label() const;
  [[nodiscard]] std::string label(std::uint64_t seq) const;

  // Checks the pending entries and computes their seqs and hashes from the current head, without
  // changing anything.
  [[nodiscard]] Result<std::vector<Entry>> prepare(std::span<const PendingEntry> pending) const;
  // Moves the in-memory head past entries that prepare() returned.
  void advance(std::span<const Entry> entries);
  // Inserts the groups of entries in one transaction, durable when it returns; all or nothing.
  // Touches only the database, never the in-memory head.
  Status write(std::span<const std::span<const Entry>> groups);
};

}  // namespace gsvs::storage
