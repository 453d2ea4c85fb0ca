// Retention of a PostgreSQL store (docs/STORE.md §11.5): the entries up to a checkpoint (the seal)
// retired as one range, recorded in retired_range and deleted in one transaction; archived first,
// when asked, by appending them to a segmented SQLite store that holds the log from entry 0.
#include <filesystem>
#include <utility>

#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/pg_store.h"

namespace gsvs::storage {

namespace {

namespace fs = std::filesystem;

// The rows of the store, as retention's helpers read them.
RowScan rows_of(Log::Impl& impl) {
  return [&impl](const Filter& filter, const std::function<bool(const Entry&)>& visit) {
    return impl.pg->scan(impl, filter, visit, {});
  };
}

// Appends the entries up to `seal` that `archive_dir` lacks to the segmented store there (created
// when absent), which must hold this log from entry 0: every range retired before went there.
Status archive_entries(Log::Impl& impl, const Log::Retention& retention,
                       const std::string& archive_dir, const Entry& seal,
                       const crypto::PublicKey& key) {
  for (const RetiredSegment& range : retention.retired) {
    if (range.disposition != RetiredSegment::Disposition::kArchived ||
        range.archived_to != archive_dir) {
      return Error{"entries " + std::to_string(range.first_seq) + ".." +
                   std::to_string(range.seal_seq) + " were " +
                   (range.disposition == RetiredSegment::Disposition::kArchived
                        ? "archived to " + range.archived_to
                        : std::string("pruned")) +
                   ": an archive holds the log from entry 0, so every range goes to the same "
                   "directory (or is pruned)"};
    }
  }
  auto archive = Log::open(archive_dir + "/", OpenMode::kReadWrite, StoreRole::kVs,
                           OpenOptions{key, Verify::kFast});
  if (!archive) return Error{"the archive: " + archive.error()};
  const std::uint64_t held = impl.active_first_seq;
  const std::uint64_t has = (*archive)->size();
  const std::string archive_label = "the archive " + archive_dir;
  if (has < held) {
    return Error{archive_label + " holds entries up to " + std::to_string(has) +
                 ", but the store retired those up to " + std::to_string(held) +
                 " before: not this store's archive"};
  }
  // The archive ends where the store's rows say it must: at the seal of the last range retired,
  // or within the rows held (a retirement cut short after its archive was written).
  Hash32 expected_head = impl.active_link;
  if (has > held) {
    auto row = impl.pg->read_entry(has - 1);
    if (!row) return Error{impl.label(has - 1) + ": " + row.error()};
    expected_head = *row ? (*row)->entry_hash : Hash32{};
  }
  if (has > 0 && (*archive)->head_hash() != expected_head) {
    return Error{archive_label + ": its entry " + std::to_string(has - 1) +
                 " is not this store's (another VS's archive, or another store's?)"};
  }
  CheckedCopier copier(**archive);
  Status failed = Status::success();
  Filter rows;
  rows.from_seq = has;
  rows.to_seq = seal.header.seq + 1;
  Status scanned = impl.pg->scan(impl, rows,
                                 [&](const Entry& entry) {
                                   failed = copier.add(entry);
                                   return failed.ok();
                                 },
                                 {});
  if (!scanned) return scanned;
  if (failed) failed = copier.finish();
  if (!failed) return Error{archive_label + ": " + failed.error()};
  auto archived_seal = (*archive)->get(seal.header.seq);
  if (!archived_seal || archived_seal->entry_hash != seal.entry_hash) {
    return Error{archive_label + ": its entry " + std::to_string(seal.header.seq) +
                 " is not the seal of the range retired"};
  }
  return Status::success();
}

}  // namespace

Result<std::vector<RetiredSegment>> retire_postgres_entries(const std::string& url,
                                                            const RetireOptions& options) {
  // Every check of a start: retention runs only on a store that verifies. Not the writer's lock:
  // the rows it deletes are ones a running vsd never reads again (it reads the log at its start
  // only) and never writes, so a vsd goes on appending meanwhile. Its own lock keeps two
  // retentions of one log apart.
  auto opened = open_postgres(url, OpenMode::kReadWrite, StoreRole::kVs, options.vs_public_key,
                              PgOpenFor::kRetention);
  if (!opened) return opened.failure();
  Log::Impl& impl = **opened;
  auto retention = impl.pg->retention(impl);
  if (!retention) return retention.failure();
  auto keep_from = kept_from(options);
  if (!keep_from) return keep_from.failure();
  // The seal: the newest Checkpoint held that was issued before the time asked.
  Filter held;
  held.from_seq = impl.active_first_seq;
  auto seal = newest_seal(
      rows_of(impl), held,
      [&options, keep_from = *keep_from](const Entry& entry) {
        return entry.header.vs_time_ms < options.sealed_before_ms && entry.header.seq < keep_from;
      },
      options.vs_public_key);
  if (!seal) return Error{impl.label() + ": " + seal.error()};
  if (!*seal) return std::vector<RetiredSegment>{};
  const Entry& seal_entry = **seal;
  auto tree = impl.pg->tree_before_first(impl);
  if (!tree) return tree.failure();
  auto frontier = frontier_before(rows_of(impl), std::move(*tree), impl.active_first_seq,
                                  seal_entry, options.vs_public_key);
  if (!frontier) return Error{impl.label() + ": " + frontier.error()};

  RetiredSegment record;
  record.index = retention->retired.size();
  record.first_seq = impl.active_first_seq;
  record.seal_seq = seal_entry.header.seq;
  record.seal_entry_hash = seal_entry.entry_hash;
  record.at_ms = options.now_ms;
  if (options.archive_dir) {
    std::error_code ec;
    const std::string dir =
        strip_trailing_slashes(fs::absolute(*options.archive_dir, ec).lexically_normal().string());
    if (ec) return Error{*options.archive_dir + ": " + ec.message()};
    if (auto status = archive_entries(impl, *retention, dir, seal_entry, options.vs_public_key);
        !status) {
      return Error{impl.label() + ": " + status.error()};
    }
    record.disposition = RetiredSegment::Disposition::kArchived;
    record.archived_to = dir;
  }

  // Recorded and deleted in one transaction: the rows go only with the record that says so, which
  // the delete trigger requires.
  postgres::Conn& conn = impl.pg->conn;
  const std::string where = impl.label() + ": cannot retire entries " +
                            std::to_string(record.first_seq) + ".." +
                            std::to_string(record.seal_seq) + ": ";
  postgres::Transaction tx(conn);
  if (auto status = tx.begin(); !status) return Error{where + status.error()};
  if (auto inserted = conn.query(
          "INSERT INTO retired_range (seal_seq, first_seq, seal_entry_hash, seal_message, "
          "seal_frontier, disposition, at_ms, archived_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {postgres::Param::of(static_cast<std::int64_t>(record.seal_seq)),
           postgres::Param::of(static_cast<std::int64_t>(record.first_seq)),
           postgres::Param::of_bytes(record.seal_entry_hash.view()),
           postgres::Param::of_bytes(seal_entry.message),
           postgres::Param::of_bytes(frontier_bytes(*frontier)),
           postgres::Param::of(disposition_name(record.disposition)),
           postgres::Param::of(static_cast<std::int64_t>(record.at_ms)),
           postgres::Param::of(record.archived_to)});
      !inserted) {
    return Error{where + inserted.error()};
  }
  if (auto deleted = conn.query("DELETE FROM log_entry WHERE seq <= $1",
                                {postgres::Param::of(static_cast<std::int64_t>(record.seal_seq))});
      !deleted) {
    return Error{where + deleted.error()};
  }
  if (auto status = tx.commit(); !status) return Error{where + status.error()};
  return std::vector<RetiredSegment>{std::move(record)};
}

}  // namespace gsvs::storage
