// The write side of a Log: checking pending entries, computing their seqs and hashes, moving the
// in-memory head, and inserting them in one transaction (docs/STORE.md §7).
#include "storage/log.h"

#include <limits>
#include <utility>

#include "storage/log_impl.h"
#include "storage/pg_store.h"
#include "storage/sqlite.h"

namespace gsvs::storage {

// ---- Log::Impl ----

// Here, where PgStore is complete.
Log::Impl::Impl() = default;
Log::Impl::~Impl() = default;

std::string Log::Impl::label() const { return "store " + path; }

std::string Log::Impl::file_label(const std::string& file) const { return label() + ": " + file; }

std::string Log::Impl::label(std::uint64_t seq) const {
  if (!segmented) return label() + ": entry " + std::to_string(seq);
  const std::string* file = &active_file;
  if (seq < active_first_seq) {
    for (const SealedSegment& segment : sealed) {
      if (segment.first_seq <= seq) file = &segment.file;
    }
  }
  return file_label(*file) + ": entry " + std::to_string(seq);
}

Result<std::vector<Entry>> Log::Impl::prepare(std::span<const PendingEntry> pending) const {
  if (mode != OpenMode::kReadWrite) return Error{label() + ": opened read-only"};
  std::vector<Entry> out;
  out.reserve(pending.size());
  std::uint64_t seq = size;
  Hash32 previous = head;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const PendingEntry& p = pending[i];
    // Built only for an error: this runs for every entry, under the writer's lock.
    const auto where = [&] {
      return label() + ": cannot append entry " + std::to_string(i) + " of the batch (" +
             std::string(protocol::kind_name(p.kind)) + "): ";
    };
    if (!known_kind(p.kind)) {
      return Error{where() + "unknown message kind " +
                   std::to_string(static_cast<unsigned>(p.kind))};
    }
    if (!known_direction(p.direction)) {
      return Error{where() + "direction " + std::to_string(static_cast<unsigned>(p.direction)) +
                   " is neither received nor issued"};
    }
    if (p.session_id > kMaxStoredInteger) {
      return Error{where() + "session_id " + std::to_string(p.session_id) +
                   " does not fit SQLite's INTEGER (must be below 2^63)"};
    }
    if (p.vs_time_ms > kMaxStoredInteger) {
      return Error{where() + "vs_time_ms " + std::to_string(p.vs_time_ms) +
                   " does not fit SQLite's INTEGER (must be below 2^63)"};
    }
    if (p.message.size() > std::numeric_limits<std::uint32_t>::max()) {
      return Error{where() + "message of " + std::to_string(p.message.size()) +
                   " bytes is longer than the u32 length of the entry hash"};
    }
    if (seq > kMaxStoredInteger) return Error{where() + "the log is full (seq would exceed 2^63)"};
    Entry entry;
    entry.header.seq = seq;
    entry.header.kind = p.kind;
    entry.header.direction = p.direction;
    entry.header.session_id = p.session_id;
    entry.header.vs_time_ms = p.vs_time_ms;
    entry.header.prev_entry_hash = previous;
    entry.entry_hash = chains::log_entry_hash(entry.header, p.message);
    entry.message = p.message;
    entry.kind_name = std::string(protocol::kind_name(p.kind));
    previous = entry.entry_hash;
    ++seq;
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<FrontierRow> Log::Impl::advance(std::span<const Entry> entries) {
  std::vector<FrontierRow> frontiers;
  for (const Entry& entry : entries) {
    // A segmented store keeps the frontier before each checkpoint of this log (one that signs
    // exactly the entries before it), so an open can resume from there (docs/STORE.md §10.3).
    if (segmented && entry.header.kind == protocol::MessageKind::kCheckpoint &&
        entry.header.direction == chains::Direction::kIssued) {
      auto checkpoint = protocol::decode<protocol::Checkpoint>(entry.message);
      if (checkpoint && checkpoint->log_size == entry.header.seq &&
          checkpoint->root == accumulator.root()) {
        frontiers.push_back(FrontierRow{entry.header.seq, accumulator.frontier()});
      }
    }
    accumulator.append(entry.entry_hash);
  }
  if (!entries.empty()) {
    size = entries.back().header.seq + 1;
    head = entries.back().entry_hash;
  }
  return frontiers;
}

Status Log::Impl::write(std::span<const std::span<const Entry>> groups,
                        std::span<const FrontierRow> frontiers) {
  if (pg) return pg->write(label(), groups);
  std::size_t count = 0;
  for (const auto& group : groups) count += group.size();
  if (count == 0) return Status::success();
  std::uint64_t first = 0;
  for (const auto& group : groups) {
    if (!group.empty()) {
      first = group.front().header.seq;
      break;
    }
  }
  const std::string where = label() + ": cannot append entries " + std::to_string(first) + ".." +
                            std::to_string(first + count - 1) + ": ";

  sqlite::Transaction tx(db);
  if (auto status = tx.begin(); !status) return Error{where + status.error()};
  for (const auto& group : groups) {
    for (const Entry& e : group) {
      auto& s = insert_stmt;
      s.reset();
      Status bound = s.bind_int64(1, static_cast<std::int64_t>(e.header.seq));
      if (bound) bound = s.bind_int64(2, static_cast<std::int64_t>(e.header.kind));
      if (bound && layout == SchemaLayout::kKindNameColumn) {
        bound = s.bind_text(3, protocol::kind_name(e.header.kind));
      }
      if (bound) bound = s.bind_int64(4, static_cast<std::int64_t>(e.header.direction));
      if (bound) bound = s.bind_int64(5, static_cast<std::int64_t>(e.header.session_id));
      if (bound) bound = s.bind_int64(6, static_cast<std::int64_t>(e.header.vs_time_ms));
      if (bound) bound = s.bind_blob_static(7, e.header.prev_entry_hash.view());
      if (bound) bound = s.bind_blob_static(8, e.entry_hash.view());
      if (bound) bound = s.bind_blob_static(9, e.message);
      if (!bound) {
        s.reset();
        return Error{where + "entry " + std::to_string(e.header.seq) + ": " + bound.error()};
      }
      auto step = s.step();
      s.reset();  // release the borrowed bytes and the statement before any rollback
      if (!step) {
        return Error{where + "entry " + std::to_string(e.header.seq) + ": " + step.error()};
      }
    }
  }
  for (const FrontierRow& row : frontiers) {
    auto& s = insert_frontier_stmt;
    s.reset();
    const Bytes bytes = frontier_bytes(row.frontier);
    Status bound = s.bind_int64(1, static_cast<std::int64_t>(row.seq));
    if (bound) bound = s.bind_blob(2, bytes);
    if (bound) {
      if (auto step = s.step(); !step) bound = step.failure();
    }
    s.reset();
    if (!bound) {
      return Error{where + "the frontier of entry " + std::to_string(row.seq) + ": " +
                   bound.error()};
    }
  }
  if (auto status = tx.commit(); !status) return Error{where + status.error()};
  return Status::success();
}

// ---- Log ----

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;

StoreRole Log::role() const { return impl_->role; }

std::vector<Log::SegmentInfo> Log::segments() const {
  std::vector<SegmentInfo> out;
  if (!impl_->segmented) {
    out.push_back({impl_->path, impl_->active_first_seq});  // PostgreSQL: after what was retired
    return out;
  }
  for (const SealedSegment& segment : impl_->sealed)
    out.push_back({segment.file, segment.first_seq});
  out.push_back({impl_->active_file, impl_->active_first_seq});
  return out;
}

Result<std::vector<Entry>> Log::append(std::span<const PendingEntry> entries) {
  auto prepared = impl_->prepare(entries);
  if (!prepared) return prepared;
  // The frontier rows come from moving the head; on a failed write it moves back.
  const std::uint64_t size = impl_->size;
  const Hash32 head = impl_->head;
  const merkle::Accumulator accumulator = impl_->accumulator;
  const std::vector<FrontierRow> frontiers = impl_->advance(*prepared);
  const std::span<const Entry> group(*prepared);
  if (auto status = impl_->write(std::span<const std::span<const Entry>>(&group, 1), frontiers);
      !status) {
    impl_->size = size;
    impl_->head = head;
    impl_->accumulator = accumulator;
    return status.failure();
  }
  return prepared;
}

}  // namespace gsvs::storage
