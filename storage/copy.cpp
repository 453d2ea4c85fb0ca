// A log, or its first entries, copied into a new SQLite store: how a log kept in PostgreSQL or in
// segments reaches an investigator as one file, or, when its first entries were retired, as a
// directory of segments that records them (docs/STORE.md §11.4).
#include <filesystem>
#include <utility>
#include <vector>

#include "storage/log.h"
#include "storage/log_impl.h"

namespace gsvs::storage {

namespace {

namespace fs = std::filesystem;

// The rows of `source` from `first` (where the copy starts) up to `until`, appended to `copy`.
Result<CopyResult> copy_rows(const Log& source, Log& copy, std::uint64_t first,
                             std::optional<std::uint64_t> until) {
  CheckedCopier copier(copy);
  Status failed = Status::success();
  std::uint64_t expected = first;
  Filter filter;
  filter.from_seq = first;
  filter.to_seq = until;
  const Status scanned = source.scan(filter, [&](const Entry& entry) {
    if (entry.header.seq != expected) {
      failed = Error{expected == first
                         ? "the source starts at entry " + std::to_string(entry.header.seq) +
                               ", not " + std::to_string(first) + " (its first entries retired?)"
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
  return CopyResult{first, copy.size(), copy.head_hash(), copy.merkle_root()};
}

// The copy of a log held from entry 0: one SQLite file, closed when it returns.
Result<CopyResult> write_file_copy(const Log& source, const std::string& file,
                                   std::optional<std::uint64_t> until) {
  auto copy = Log::open(file, OpenMode::kReadWrite, source.role());
  if (!copy) return Error{copy.error()};
  return copy_rows(source, **copy, 0, until);
}

// The copy of a log whose first entries were retired: a segmented store in `dir` whose seal index
// records the ranges retired and whose first segment starts after their seal, checked with
// `vs_key` as any segmented store's start is. Closed when it returns.
Result<CopyResult> write_segmented_copy(const Log& source, const Log::Retention& retention,
                                        const std::string& dir, std::optional<std::uint64_t> until,
                                        const crypto::PublicKey& vs_key) {
  if (auto status =
          start_segmented_after(dir, source.role(), retention.retired, *retention.first_held);
      !status) {
    return Error{status.error()};
  }
  auto copy =
      Log::open(dir + "/", OpenMode::kReadWrite, source.role(), OpenOptions{vs_key, Verify::kFast});
  if (!copy) return Error{copy.error()};
  return copy_rows(source, **copy, retention.first_held->first_seq, until);
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
                                  std::optional<std::uint64_t> until,
                                  const std::optional<crypto::PublicKey>& vs_key) {
  const std::string where = "copy to " + destination + ": ";
  std::error_code ec;
  auto retention = source.retention();
  if (!retention) return Error{where + retention.error()};
  const bool retired = retention->first_held.has_value();
  if (destination.empty() || is_postgres_store(destination) ||
      is_segmented_path(destination) != retired) {
    if (!retired) return Error{where + "the copy is a new single SQLite file; give a file name"};
    return Error{where + "entries 0.." + std::to_string(retention->first_held->first_seq - 1) +
                 " of the source were retired, so the copy is a directory of segments that "
                 "records them: give a new directory, ending in '/'"};
  }
  if (retired && !vs_key) {
    return Error{where +
                 "the copy of a log whose first entries were retired starts from their "
                 "seal, which the VS public key checks: give it"};
  }
  if (retired && until && *until < retention->first_held->first_seq) {
    return Error{where + "entries before " + std::to_string(*until) + " were retired"};
  }
  const std::string target = strip_trailing_slashes(destination);
  if (fs::exists(target, ec)) return Error{where + "it exists; a copy never overwrites"};
  // Written under another name and renamed once whole, so that a store of that name is always a
  // complete copy; a copy that fails leaves nothing, and one cut short by a crash only the
  // .partial file or directory, which the next run replaces.
  const std::string partial = target + ".partial";
  const auto remove_partial = [&partial] {
    std::error_code ignored;
    for (const std::string& file :
         {partial, partial + "-wal", partial + "-shm", partial + ".lock"}) {
      fs::remove_all(file, ignored);
    }
  };
  remove_partial();
  auto copied = retired ? write_segmented_copy(source, *retention, partial, until, *vs_key)
                        : write_file_copy(source, partial, until);
  if (!copied) {
    remove_partial();
    return Error{where + copied.error()};
  }
  // Closed: SQLite has folded its WAL into the file. Durable under its name before it is used.
  if (!retired) {
    if (auto status = sync_file(partial); !status) return Error{where + status.error()};
  }
  fs::rename(partial, target, ec);
  if (ec) return Error{where + "cannot rename " + partial + ": " + ec.message()};
  const fs::path parent = fs::absolute(target, ec).parent_path();
  if (auto status = sync_directory(parent.string()); !status) {
    return Error{where + status.error()};
  }
  return copied;
}

}  // namespace gsvs::storage
