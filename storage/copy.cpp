// A log, or a range of it, copied into a new SQLite store: how a log kept in PostgreSQL or in
// segments reaches an investigator as one file, or, when the copy starts after entry 0 (its first
// entries retired, or left out), as a directory of segments that records them (docs/STORE.md
// §11.4).
#include <filesystem>
#include <utility>
#include <vector>

#include "protocol/clock.h"
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
  if (!scanned) return scanned.failure();
  if (failed) failed = copier.finish();
  if (!failed) return failed.failure();
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
  if (!copy) return copy.failure();
  return copy_rows(source, **copy, 0, until);
}

// The copy of a log from a seal: a segmented store in `dir` whose seal index records `before`,
// the entries before it, and whose first segment starts after their seal, as `first` says,
// checked with `vs_key` as any segmented store's start is. Closed when it returns.
Result<CopyResult> write_segmented_copy(const Log& source,
                                        const std::vector<RetiredSegment>& before,
                                        const SegmentMeta& first, const std::string& dir,
                                        std::optional<std::uint64_t> until,
                                        const crypto::PublicKey& vs_key) {
  if (auto status = start_segmented_after(dir, source.role(), before, first); !status) {
    return status.failure();
  }
  auto copy =
      Log::open(dir + "/", OpenMode::kReadWrite, source.role(), OpenOptions{vs_key, Verify::kFast});
  if (!copy) return copy.failure();
  return copy_rows(source, **copy, first.first_seq, until);
}

// Where a copy from `from` starts when it leaves out entries the log holds: after the newest seal
// among the entries from `held_from` to `from` (nullopt: there is none). The record of the entries
// left out, the `index`-th of the copy's seal index, and the meta of the segment after them.
Result<std::optional<std::pair<RetiredSegment, SegmentMeta>>> seal_before(
    const Log& source, std::uint64_t held_from, std::uint64_t from, std::uint64_t index,
    const crypto::PublicKey& key) {
  const RowScan scan = [&source](const Filter& filter,
                                 const std::function<bool(const Entry&)>& visit) {
    return source.scan(filter, visit);
  };
  Filter before;
  before.from_seq = held_from;
  before.to_seq = from;
  auto seal = newest_seal(
      scan, before, [](const Entry&) { return true; }, key);
  if (!seal) return seal.failure();
  if (!*seal) return std::optional<std::pair<RetiredSegment, SegmentMeta>>{};
  const Entry& entry = **seal;
  auto tree = source.tree_before_first();
  if (!tree) return tree.failure();
  auto frontier = frontier_before(scan, std::move(*tree), held_from, entry, key);
  if (!frontier) return frontier.failure();
  const std::uint64_t now = unix_time_ms();
  RetiredSegment left_out;
  left_out.index = index;
  left_out.first_seq = held_from;
  left_out.seal_seq = entry.header.seq;
  left_out.seal_entry_hash = entry.entry_hash;
  left_out.disposition = RetiredSegment::Disposition::kLeftOut;
  left_out.at_ms = now;
  SegmentMeta first;
  first.index = index + 1;
  first.first_seq = entry.header.seq + 1;
  first.created_at_ms = now;
  first.seal =
      SegmentMeta::Seal{entry.header.seq, entry.entry_hash, std::move(*frontier), entry.message};
  return std::optional{std::pair{std::move(left_out), std::move(first)}};
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
  if (!appended) return appended.failure();
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
                                  const CopyRange& range,
                                  const std::optional<crypto::PublicKey>& vs_key) {
  const std::string where = "copy to " + destination + ": ";
  std::error_code ec;
  auto retention = source.retention();
  if (!retention) return Error{where + retention.error()};
  // What comes before the copy: the ranges the source retired, and with `from`, the entries it
  // holds up to the seal the copy starts after.
  std::vector<RetiredSegment> before = retention->retired;
  std::optional<SegmentMeta> first = retention->first_held;
  const std::uint64_t held_from = first ? first->first_seq : 0;
  if (range.from && range.until && *range.from >= *range.until) {
    return Error{where + "--from " + std::to_string(*range.from) + " is not before --until " +
                 std::to_string(*range.until)};
  }
  if (range.from && *range.from > held_from) {
    if (!vs_key) {
      return Error{where +
                   "a copy from a later entry starts after a checkpoint that seals the entries "
                   "before it, which the VS public key checks: give it"};
    }
    auto sealed = seal_before(source, held_from, *range.from, before.size(), *vs_key);
    if (!sealed) return Error{where + sealed.error()};
    if (*sealed) {
      before.push_back(std::move((*sealed)->first));
      first = std::move((*sealed)->second);
    }
  }
  const bool segmented = first.has_value();
  if (destination.empty() || is_postgres_store(destination) ||
      is_segmented_path(destination) != segmented) {
    if (!segmented) return Error{where + "the copy is a new single SQLite file; give a file name"};
    return Error{where + "the copy starts at entry " + std::to_string(first->first_seq) +
                 ", after a seal, so it is a directory of segments that records the entries "
                 "before it: give a new directory, ending in '/'"};
  }
  if (segmented && !vs_key) {
    return Error{where +
                 "the copy of a log whose first entries were retired starts from their "
                 "seal, which the VS public key checks: give it"};
  }
  if (segmented && range.until && *range.until <= first->first_seq) {
    return Error{where + "the copy starts at entry " + std::to_string(first->first_seq) +
                 ", after the entries before " + std::to_string(*range.until)};
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
  auto copied = segmented
                    ? write_segmented_copy(source, before, *first, partial, range.until, *vs_key)
                    : write_file_copy(source, partial, range.until);
  if (!copied) {
    remove_partial();
    return Error{where + copied.error()};
  }
  // Closed: SQLite has folded its WAL into the file. Durable under its name before it is used.
  if (!segmented) {
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
