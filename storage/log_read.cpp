// The read side of a Log: one row as stored, checked only for what an Entry can represent, and
// scan, get, and what a read-only Log reads from the store at each call (size, head, root).
#include <utility>

#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/pg_store.h"
#include "storage/segment_files.h"
#include "storage/sqlite.h"

namespace gsvs::storage {

namespace {

std::string type_name(int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "an integer";
    case SQLITE_FLOAT:
      return "a real";
    case SQLITE_TEXT:
      return "text";
    case SQLITE_BLOB:
      return "a blob";
    case SQLITE_NULL:
      return "NULL";
    default:
      return "of unknown type";
  }
}

Result<std::uint64_t> read_unsigned(const sqlite::Stmt& stmt, int column, std::string_view name,
                                    std::uint64_t max) {
  const int type = stmt.column_type(column);
  if (type != SQLITE_INTEGER) {
    return Error{std::string(name) + " is " + type_name(type) + ", not an integer"};
  }
  const std::int64_t value = stmt.column_int64(column);
  if (value < 0 || static_cast<std::uint64_t>(value) > max) {
    return Error{std::string(name) + " " + std::to_string(value) + " is out of range"};
  }
  return static_cast<std::uint64_t>(value);
}

// One file of the store, for reading: a sealed segment, or the single file / active segment.
struct FileView {
  sqlite::Db* db;
  std::uint64_t first_seq;
};

std::vector<FileView> files_of(Log::Impl& impl) {
  std::vector<FileView> files;
  files.reserve(impl.sealed.size() + 1);
  for (SealedSegment& segment : impl.sealed) files.push_back({&segment.db, segment.first_seq});
  files.push_back({&impl.db, impl.active_first_seq});
  return files;
}

// The file that holds `seq` (the last whose first entry is at or before it).
sqlite::Db& file_for(Log::Impl& impl, std::uint64_t seq) {
  if (seq >= impl.active_first_seq) return impl.db;
  sqlite::Db* found = &impl.db;
  for (SealedSegment& segment : impl.sealed) {
    if (segment.first_seq <= seq) found = &segment.db;
  }
  return *found;
}

}  // namespace

Result<Hash32> read_hash(const sqlite::Stmt& stmt, int column, std::string_view name) {
  const int type = stmt.column_type(column);
  if (type != SQLITE_BLOB) {
    return Error{std::string(name) + " is " + type_name(type) + ", not a blob"};
  }
  const ByteView bytes = stmt.column_blob(column);
  if (bytes.size() != Hash32::size) {
    return Error{std::string(name) + " is " + std::to_string(bytes.size()) + " bytes, not 32"};
  }
  Hash32 out;
  for (std::size_t i = 0; i < Hash32::size; ++i) out.bytes[i] = bytes[i];
  return out;
}

Result<RowView> read_row(const sqlite::Stmt& stmt) {
  RowView row;
  auto seq = read_unsigned(stmt, kColSeq, "seq", kMaxStoredInteger);
  if (!seq) return seq.failure();
  auto kind = read_unsigned(stmt, kColKind, "kind", 255);
  if (!kind) return kind.failure();
  auto direction = read_unsigned(stmt, kColDirection, "direction", 255);
  if (!direction) return direction.failure();
  auto session = read_unsigned(stmt, kColSession, "session_id", kMaxStoredInteger);
  if (!session) return session.failure();
  auto time = read_unsigned(stmt, kColTime, "vs_time_ms", kMaxStoredInteger);
  if (!time) return time.failure();
  auto prev = read_hash(stmt, kColPrev, "prev_hash");
  if (!prev) return prev.failure();
  auto entry_hash = read_hash(stmt, kColEntryHash, "entry_hash");
  if (!entry_hash) return entry_hash.failure();
  if (const int type = stmt.column_type(kColMessage); type != SQLITE_BLOB) {
    return Error{"message is " + type_name(type) + ", not a blob"};
  }
  row.header.seq = *seq;
  row.header.kind = static_cast<protocol::MessageKind>(*kind);
  row.header.direction = static_cast<chains::Direction>(*direction);
  row.header.session_id = *session;
  row.header.vs_time_ms = *time;
  row.header.prev_entry_hash = *prev;
  row.entry_hash = *entry_hash;
  row.message = stmt.column_blob(kColMessage);
  if (stmt.column_type(kColKindName) == SQLITE_TEXT) row.kind_name = stmt.column_text(kColKindName);
  return row;
}

Entry to_entry(RowView&& row) {
  return Entry{row.header, row.entry_hash, Bytes(row.message.begin(), row.message.end()),
               std::move(row.kind_name)};
}

bool known_kind(protocol::MessageKind kind) {
  const auto value = static_cast<std::uint8_t>(kind);
  return value >= 1 && value <= protocol::kMaxMessageKind;
}

bool known_direction(chains::Direction direction) {
  return direction == chains::Direction::kReceived || direction == chains::Direction::kIssued;
}

std::uint64_t Log::size() const {
  if (impl_->mode == OpenMode::kReadWrite) return impl_->size;
  if (impl_->pg) {
    auto size = impl_->pg->size(*impl_);
    return size ? *size : impl_->active_first_seq;
  }
  // The last file holds the head; an empty last segment starts where its seal left off.
  auto stmt = sqlite::Stmt::prepare(impl_->db, "SELECT MAX(seq) FROM log_entry");
  if (!stmt) return impl_->active_first_seq;
  auto step = stmt->step();
  if (!step || *step != sqlite::Stmt::Step::kRow || stmt->column_type(0) != SQLITE_INTEGER) {
    return impl_->active_first_seq;
  }
  const std::int64_t last = stmt->column_int64(0);
  return last < 0 ? impl_->active_first_seq : static_cast<std::uint64_t>(last) + 1;
}

Hash32 Log::head_hash() const {
  if (impl_->mode == OpenMode::kReadWrite) return impl_->head;
  if (impl_->pg) {
    auto head = impl_->pg->head_hash(*impl_);
    return head ? *head : Hash32{};
  }
  auto stmt = sqlite::Stmt::prepare(impl_->db,
                                    "SELECT entry_hash FROM log_entry ORDER BY seq DESC LIMIT 1");
  if (!stmt) return {};
  auto step = stmt->step();
  if (!step) return {};
  if (*step != sqlite::Stmt::Step::kRow) return impl_->active_link;
  auto hash = read_hash(*stmt, 0, "entry_hash");
  return hash ? *hash : Hash32{};
}

Result<merkle::Accumulator> Log::tree_before_first() const {
  if (impl_->pg) return impl_->pg->tree_before_first(*impl_);
  const std::vector<FileView> files = files_of(*impl_);
  const std::uint64_t first_seq = files.front().first_seq;
  if (first_seq == 0) return merkle::Accumulator{};
  const std::string label =
      impl_->file_label(impl_->sealed.empty() ? impl_->active_file : impl_->sealed.front().file);
  auto meta = read_segment_meta(*files.front().db);
  if (!meta) return Error{label + ": " + meta.error()};
  if (!meta->seal) return Error{label + ": meta records no seal of the segment before it"};
  auto tree = merkle::Accumulator::from_frontier(meta->seal->seq, meta->seal->frontier);
  if (!tree || meta->seal->seq + 1 != first_seq) {
    return Error{label + ": meta.seal_frontier does not fit its seal, entry " +
                 std::to_string(meta->seal->seq) + " before entry " + std::to_string(first_seq) +
                 " (edited?)"};
  }
  return chain_after_seal(*meta->seal, std::move(*tree)).accumulator;
}

Result<Log::Retention> Log::retention() const {
  if (impl_->pg) return impl_->pg->retention(*impl_);
  return Retention{};
}

Hash32 Log::merkle_root() const {
  if (impl_->mode == OpenMode::kReadWrite) return impl_->accumulator.root();
  // Without a tree before the first file that fits, the root is of no tree of this log: zeros,
  // like a malformed hash.
  auto start = tree_before_first();
  if (!start) return Hash32{};
  merkle::Accumulator accumulator = std::move(*start);
  if (impl_->pg) {
    const Status read = impl_->pg->scan_hashes(*impl_, impl_->active_first_seq,
                                               [&accumulator](std::optional<Hash32> hash) {
                                                 accumulator.append(hash.value_or(Hash32{}));
                                               });
    return read ? accumulator.root() : Hash32{};
  }
  const std::vector<FileView> files = files_of(*impl_);
  for (const FileView& file : files) {
    auto stmt = sqlite::Stmt::prepare(*file.db, "SELECT entry_hash FROM log_entry ORDER BY seq");
    if (!stmt) return accumulator.root();
    for (;;) {
      auto step = stmt->step();
      if (!step || *step != sqlite::Stmt::Step::kRow) break;
      auto hash = read_hash(*stmt, 0, "entry_hash");
      accumulator.append(hash ? *hash : Hash32{});
    }
  }
  return accumulator.root();
}

namespace {

// Whether the last failure on `db` was a damaged file (a page, or the header), not an I/O error.
bool damaged(const sqlite::Db& db) {
  const int code = sqlite3_errcode(db.get()) & 0xff;
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

// A lookup of the first row at or after a seq, through the table's b-tree from its root: it reads
// whenever its path meets no damaged page. `damaged`: it met one; else `seq` is the row found,
// nullopt when there is none.
struct Lookup {
  bool damaged = false;
  std::optional<std::uint64_t> seq;
};

Result<Lookup> look_up_from(sqlite::Db& db, std::uint64_t from) {
  auto stmt =
      sqlite::Stmt::prepare(db, "SELECT seq FROM log_entry WHERE seq >= ?1 ORDER BY seq LIMIT 1");
  if (!stmt) return stmt.failure();
  if (auto bound = stmt->bind_int64(1, static_cast<std::int64_t>(from)); !bound) {
    return bound.failure();
  }
  auto step = stmt->step();
  if (!step) {
    if (damaged(db)) return Lookup{true, std::nullopt};
    return step.failure();
  }
  if (*step == sqlite::Stmt::Step::kDone) return Lookup{};
  return Lookup{false, static_cast<std::uint64_t>(stmt->column_int64(0))};
}

// Where a scan that met damaged pages at `failed` reads again: the first row after it, below
// `end`, that a lookup from the root reaches; nullopt when none does. A lookup from a seq reads
// exactly when the leaf that holds it (and, past that leaf's last row, the next leaf) is whole, so
// looking each seq up in turn finds the first readable row after damage of any shape, even a whole
// leaf between two damaged ones. Doubling steps first find a lookup that reads at all, which
// bounds that walk; none does past a damaged root or head leaf. The row at `failed` counts as
// damaged (the scan could not step onto it), so the scan always moves on.
Result<std::optional<std::uint64_t>> first_readable_after(sqlite::Db& db, std::uint64_t failed,
                                                          std::uint64_t end) {
  std::optional<std::uint64_t> reads_from;
  for (std::uint64_t step = 1; failed + step < end; step *= 2) {
    auto found = look_up_from(db, failed + step);
    if (!found) return found.failure();
    if (!found->damaged) {
      reads_from = failed + step;
      break;
    }
  }
  if (!reads_from) return std::optional<std::uint64_t>{};
  for (std::uint64_t at = failed + 1; at <= *reads_from; ++at) {
    auto found = look_up_from(db, at);
    if (!found) return found.failure();
    if (found->damaged) continue;
    if (found->seq && *found->seq < end) return found->seq;
    break;  // no row after the damage, below `end`
  }
  return std::optional<std::uint64_t>{};
}

}  // namespace

Status Log::scan(const Filter& filter, const std::function<bool(const Entry&)>& visit,
                 const BadRowReporter& report_bad_row,
                 const DamagedRowsReporter& report_damaged_rows) const {
  if (impl_->pg) return impl_->pg->scan(*impl_, filter, visit, report_bad_row);
  if (filter.from_seq > kMaxStoredInteger) return Status::success();
  if (filter.session_id && *filter.session_id > kMaxStoredInteger) return Status::success();
  std::string where_clause = " WHERE seq >= ?1";
  const bool bounded = filter.to_seq && *filter.to_seq <= kMaxStoredInteger;
  if (bounded) where_clause += " AND seq < ?2";
  if (filter.session_id) where_clause += " AND session_id = ?3";
  // The kind as a literal: a version-3 store indexes only some kinds (a partial index), which
  // SQLite uses only when the query names the kind itself, not a parameter.
  if (filter.kind) {
    where_clause += " AND kind = " + std::to_string(static_cast<unsigned>(*filter.kind));
  }
  where_clause += " ORDER BY seq";

  const std::vector<FileView> files = files_of(*impl_);
  for (std::size_t i = 0; i < files.size(); ++i) {
    // Files that end before from_seq or start at or after to_seq hold nothing selected.
    if (i + 1 < files.size() && files[i + 1].first_seq <= filter.from_seq) continue;
    if (bounded && files[i].first_seq >= *filter.to_seq) break;
    const std::string where = impl_->segmented ? impl_->label(files[i].first_seq) : impl_->label();
    auto layout = layout_of(*files[i].db);
    if (!layout) return Error{where + ": cannot scan: " + layout.error()};
    auto stmt = sqlite::Stmt::prepare(*files[i].db, select_columns(*layout) + where_clause);
    if (!stmt) return Error{where + ": cannot scan: " + stmt.error()};
    // The next seq this file's rows are read from: the filter's start, then past each row read.
    std::uint64_t next = std::max(filter.from_seq, files[i].first_seq);
    const auto read_from = [&](std::uint64_t from) {
      stmt->reset();
      Status bound = stmt->bind_int64(1, static_cast<std::int64_t>(from));
      if (bound && bounded) bound = stmt->bind_int64(2, static_cast<std::int64_t>(*filter.to_seq));
      if (bound && filter.session_id) {
        bound = stmt->bind_int64(3, static_cast<std::int64_t>(*filter.session_id));
      }
      return bound;
    };
    if (Status bound = read_from(filter.from_seq); !bound) {
      return Error{where + ": cannot scan: " + bound.error()};
    }

    for (;;) {
      auto step = stmt->step();
      if (!step) {
        // Only a scan of every row reads on: with a session or kind filter the damaged page may
        // be an index's, which the table's lookups do not see.
        if (!report_damaged_rows || filter.session_id || filter.kind || !damaged(*files[i].db)) {
          return Error{where + ": scan failed: " + step.error()};
        }
        // This file's rows end where the next file's begin; the last file's, at the log's head,
        // which the damage may hide (its MAX(seq) lookup meeting it): looked for past any seq.
        const bool last_file = i + 1 == files.size();
        std::uint64_t end = last_file ? kMaxStoredInteger + 1 : files[i + 1].first_seq;
        if (bounded) end = std::min(end, *filter.to_seq);
        if (next >= end) break;  // nothing left that the scan selects
        auto resume = first_readable_after(*files[i].db, next, end);
        if (!resume) return Error{where + ": scan failed: " + resume.error()};
        // Nothing reads again: the range runs to the file's last row, where that can be read.
        std::optional<std::uint64_t> last;
        if (*resume) {
          last = **resume - 1;
        } else if (!last_file || bounded) {
          last = end - 1;
        } else if (auto rows = seq_range(*files[i].db); rows && *rows) {
          last = std::max(next, (*rows)->second);
        }
        report_damaged_rows(next, last, where + ": " + step.error());
        if (!*resume) break;
        next = **resume;
        if (Status bound = read_from(next); !bound) {
          return Error{where + ": cannot scan: " + bound.error()};
        }
        continue;
      }
      if (*step == sqlite::Stmt::Step::kDone) break;
      auto row = read_row(*stmt);
      // seq is the rowid, so always an integer, and at least filter.from_seq, so not negative.
      next = static_cast<std::uint64_t>(stmt->column_int64(kColSeq)) + 1;
      if (!row) {
        const std::uint64_t seq = next - 1;
        if (!report_bad_row) return Error{impl_->label(seq) + ": " + row.error()};
        report_bad_row(seq, row.error());
        continue;
      }
      if (!visit(to_entry(std::move(*row)))) return Status::success();
    }
  }
  return Status::success();
}

Result<std::optional<Entry>> read_entry(sqlite::Db& db, std::uint64_t seq) {
  auto layout = layout_of(db);
  if (!layout) return Error{"cannot read: " + layout.error()};
  auto stmt = sqlite::Stmt::prepare(db, select_columns(*layout) + " WHERE seq = ?1");
  if (!stmt) return Error{"cannot read: " + stmt.error()};
  if (auto status = stmt->bind_int64(1, static_cast<std::int64_t>(seq)); !status) {
    return Error{"cannot read: " + status.error()};
  }
  auto step = stmt->step();
  if (!step) return Error{"cannot read: " + step.error()};
  if (*step == sqlite::Stmt::Step::kDone) return std::optional<Entry>{};
  auto row = read_row(*stmt);
  if (!row) return row.failure();
  return std::optional<Entry>{to_entry(std::move(*row))};
}

Result<std::optional<std::pair<std::uint64_t, std::uint64_t>>> seq_range(sqlite::Db& db) {
  // Each of MIN and MAX of the rowid alone is one look down the table's b-tree; both in one
  // SELECT would scan the whole table (SQLite's min/max shortcut takes a single aggregate).
  auto stmt = sqlite::Stmt::prepare(
      db, "SELECT (SELECT MIN(seq) FROM log_entry), (SELECT MAX(seq) FROM log_entry)");
  if (!stmt) return stmt.failure();
  auto step = stmt->step();
  if (!step) return step.failure();
  using Range = std::optional<std::pair<std::uint64_t, std::uint64_t>>;
  if (*step != sqlite::Stmt::Step::kRow || stmt->column_type(0) != SQLITE_INTEGER) return Range{};
  const std::int64_t low = stmt->column_int64(0);
  const std::int64_t high = stmt->column_int64(1);
  if (low < 0 || high < low) return Error{"a row has the negative seq " + std::to_string(low)};
  return Range{std::pair{static_cast<std::uint64_t>(low), static_cast<std::uint64_t>(high)}};
}

Result<Entry> Log::get(std::uint64_t seq) const {
  if (seq > kMaxStoredInteger) return Error{impl_->label(seq) + ": no such entry"};
  auto entry = impl_->pg ? impl_->pg->read_entry(seq) : read_entry(file_for(*impl_, seq), seq);
  if (!entry) return Error{impl_->label(seq) + ": " + entry.error()};
  if (!*entry) {
    return Error{impl_->label(seq) + ": no such entry (the log holds " + std::to_string(size()) +
                 ")"};
  }
  return std::move(**entry);
}

Result<std::vector<Log::FileProblem>> Log::check_files(std::size_t max_problems) const {
  std::vector<FileProblem> problems;
  if (impl_->pg || max_problems == 0) return problems;
  const std::vector<FileView> files = files_of(*impl_);
  for (std::size_t i = 0; i < files.size() && problems.size() < max_problems; ++i) {
    std::string file;
    if (impl_->segmented)
      file = i < impl_->sealed.size() ? impl_->sealed[i].file : impl_->active_file;
    const std::string where = file.empty() ? impl_->label() : impl_->file_label(file);
    auto stmt = sqlite::Stmt::prepare(
        *files[i].db,
        "PRAGMA integrity_check(" + std::to_string(max_problems - problems.size()) + ")");
    if (!stmt) return Error{where + ": cannot check the file: " + stmt.error()};
    for (;;) {
      auto step = stmt->step();
      if (!step) return Error{where + ": cannot check the file: " + step.error()};
      if (*step == sqlite::Stmt::Step::kDone) break;
      std::string said = stmt->column_text(0);
      if (said != "ok") problems.push_back({file, std::move(said)});
    }
  }
  return problems;
}

}  // namespace gsvs::storage
