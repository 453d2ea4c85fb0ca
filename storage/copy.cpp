// A log, or its first entries, copied into a new single-file SQLite store: how a log kept in
// PostgreSQL or in segments reaches an investigator as one file (docs/STORE.md §11.4).
#include <filesystem>
#include <utility>
#include <vector>

#include "storage/log.h"
#include "storage/log_impl.h"

namespace gsvs::storage {

namespace {

namespace fs = std::filesystem;

// The copy itself, into `file`, closed when it returns.
Result<CopyResult> write_copy(const Log& source, const std::string& file,
                              std::optional<std::uint64_t> until) {
  auto copy = Log::open(file, OpenMode::kReadWrite, source.role());
  if (!copy) return Error{copy.error()};
  CheckedCopier copier(**copy);
  Status failed = Status::success();
  std::uint64_t expected = 0;
  Filter filter;
  filter.to_seq = until;
  const Status scanned = source.scan(filter, [&](const Entry& entry) {
    if (entry.header.seq != expected) {
      failed =
          Error{expected == 0 ? "the source starts at entry " + std::to_string(entry.header.seq) +
                                    ", not 0 (its first entries retired?); a copy starts at 0"
                              : "source entry " + std::to_string(expected) + " is missing"};
      return false;
    }
    ++expected;
    failed = copier.add(entry);
    return failed.ok();
  });
  if (!scanned) return Error{scanned.error()};
  if (failed) failed = copier.finish();
  if (!failed) return Error{failed.error()};
  if (until && expected < *until) {
    return Error{"the source holds " + std::to_string(expected) + " entries, fewer than the " +
                 std::to_string(*until) + " asked for"};
  }
  return CopyResult{(*copy)->size(), (*copy)->head_hash(), (*copy)->merkle_root()};
}

}  // namespace

Status CheckedCopier::add(const Entry& entry) {
  batch_.push_back(PendingEntry{entry.header.kind, entry.header.direction, entry.header.session_id,
                                entry.header.vs_time_ms, entry.message});
  stored_.push_back(entry.entry_hash);
  return batch_.size() >= kBatch ? finish() : Status::success();
}

Status CheckedCopier::finish() {
  if (batch_.empty()) return Status::success();
  auto appended = copy_.append(batch_);
  if (!appended) return Error{appended.error()};
  for (std::size_t i = 0; i < appended->size(); ++i) {
    if ((*appended)[i].entry_hash != stored_[i]) {
      return Error{"source entry " + std::to_string((*appended)[i].header.seq) +
                   ": its stored entry_hash is not the hash of its contents after the entries "
                   "before it (an edited or broken log: audit the source itself)"};
    }
  }
  batch_.clear();
  stored_.clear();
  return Status::success();
}

Result<CopyResult> copy_to_sqlite(const Log& source, const std::string& destination,
                                  std::optional<std::uint64_t> until) {
  const std::string where = "copy to " + destination + ": ";
  std::error_code ec;
  if (destination.empty() || is_postgres_store(destination) || is_segmented_path(destination)) {
    return Error{where + "the copy is a new single SQLite file; give a file name"};
  }
  if (fs::exists(destination, ec)) return Error{where + "it exists; a copy never overwrites"};
  // Written under another name and renamed once whole, so that a file of that name is always a
  // complete copy; a copy that fails leaves nothing, and one cut short by a crash only the
  // .partial file, which the next run replaces.
  const std::string partial = destination + ".partial";
  const auto remove_partial = [&partial] {
    std::error_code ignored;
    for (const std::string& file :
         {partial, partial + "-wal", partial + "-shm", partial + ".lock"}) {
      fs::remove(file, ignored);
    }
  };
  remove_partial();
  auto copied = write_copy(source, partial, until);
  if (!copied) {
    remove_partial();
    return Error{where + copied.error()};
  }
  // Closed: SQLite has folded its WAL into the file. Durable under its name before it is used.
  if (auto status = sync_file(partial); !status) return Error{where + status.error()};
  fs::rename(partial, destination, ec);
  if (ec) return Error{where + "cannot rename " + partial + ": " + ec.message()};
  const fs::path parent = fs::absolute(destination, ec).parent_path();
  if (auto status = sync_directory(parent.string()); !status) {
    return Error{where + status.error()};
  }
  return copied;
}

}  // namespace gsvs::storage
