// Segmented stores (docs/STORE.md §10): one log in a directory of SQLite files. Each segment but
// the last ends with a seal, a VS-signed Checkpoint; the next segment's first entry links to the
// seal's entry hash, and its meta records the seal and the Merkle frontier at it, so the chain and
// the tree go on across files. A read-write open checks one signature per segment and re-hashes
// the active segment from its newest checkpoint only.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <map>
#include <utility>

#include "protocol/regular_file.h"
#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/segment_files.h"

namespace gsvs::storage {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSegmentPrefix = "segment-";
constexpr std::string_view kSegmentSuffix = ".db";
constexpr std::size_t kIndexDigits = 8;

Result<std::string> meta_value(sqlite::Db& db, std::string_view key) {
  auto value = query_text(db, "SELECT value FROM meta WHERE key = ?1", key);
  if (!value) return Error{"cannot read meta: " + value.error()};
  if (!*value) return Error{"meta has no " + std::string(key)};
  return std::move(**value);
}

Result<std::uint64_t> meta_number(sqlite::Db& db, std::string_view key) {
  auto text = meta_value(db, key);
  if (!text) return text.failure();
  auto number = parse_number(*text);
  if (!number) return Error{"meta." + std::string(key) + ": " + number.error()};
  return *number;
}

// The segment files of `dir` by index. Read-write opens also remove what a rotation interrupted
// by a crash left (`remove_unfinished`).
Result<std::map<std::uint64_t, std::string>> list_segments(const std::string& dir,
                                                           const std::string& label,
                                                           bool remove_unfinished) {
  std::map<std::uint64_t, std::string> found;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Error{label + ": cannot list the directory: " + ec.message()};
  // Stepped with an error code: a range-for's step throws where reading the directory fails
  // (EIO, a stale NFS handle).
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (remove_unfinished && name.find(std::string(kSegmentSuffix) +
                                       std::string(kCreatingSuffix)) != std::string::npos) {
      std::error_code removed;
      fs::remove(it->path(), removed);
      continue;
    }
    if (auto index = segment_index_of(name)) found.emplace(*index, name);
  }
  if (ec) return Error{label + ": cannot list the directory: " + ec.message()};
  return found;
}

// Indexes first_index, first_index + 1, ... without a gap: a missing segment is named with its
// neighbours.
Status check_contiguous(const std::map<std::uint64_t, std::string>& files, const std::string& label,
                        std::uint64_t first_index) {
  std::uint64_t expected = first_index;
  std::string previous;
  for (const auto& [index, name] : files) {
    if (index != expected) {
      std::string after;
      if (!previous.empty()) after.append(" after ").append(previous);
      return Error{label + ": " + segment_file_name(expected) + " is missing: the next segment" +
                   after + " is " + name + " (a segment deleted or moved?)"};
    }
    previous = name;
    ++expected;
  }
  return Status::success();
}

std::uint64_t file_bytes(const std::string& file) {
  std::error_code ec;
  std::uint64_t total = 0;
  for (const std::string& name : {file, file + "-wal"}) {
    const auto size = fs::file_size(name, ec);
    if (!ec) total += size;
  }
  return total;
}

// check_recorded_seal for the segment `after_file` of this store, the error naming the file.
Result<merkle::Accumulator> check_recorded_seal_of(const Log::Impl& impl,
                                                   const std::string& after_file,
                                                   const SegmentMeta& after_meta) {
  auto tree = check_recorded_seal(after_meta, *impl.vs_public_key);
  if (!tree) return Error{impl.file_label(after_file) + ": " + tree.error()};
  return tree;
}

// Checks the seal between segment `before` and the segment whose meta is `after`, and returns the
// chain at the start of `after`: one signature, the frontier against the signed root, the seal row
// against what `after` recorded, and the link of `after`'s first row (docs/STORE.md §10.4).
Result<ChainState> check_seal(const Log::Impl& impl, SealedSegment& before,
                              const SegmentMeta& before_meta, const std::string& after_file,
                              const SegmentMeta& after_meta, sqlite::Db& after_db) {
  const std::string before_label = impl.file_label(before.file);
  const std::string after_label = impl.file_label(after_file);
  auto accumulator = check_recorded_seal_of(impl, after_file, after_meta);
  if (!accumulator) return accumulator.failure();
  const SegmentMeta::Seal& seal = *after_meta.seal;
  // The sealed segment holds exactly first_seq .. seal.seq, and its last row is that seal.
  auto range = seq_range(before.db);
  if (!range) return Error{before_label + ": cannot read: " + range.error()};
  if (!*range) {
    return Error{before_label + ": holds no entries, but " + after_file +
                 " records its seal, entry " + std::to_string(seal.seq) +
                 " (emptied or replaced?)"};
  }
  if ((*range)->first != before_meta.first_seq) {
    return Error{before_label + ": entry " + std::to_string(before_meta.first_seq) +
                 ": missing; the segment's first row is entry " + std::to_string((*range)->first) +
                 " (deleted?)"};
  }
  auto row = read_entry(before.db, seal.seq);
  if (!row) {
    return Error{before_label + ": entry " + std::to_string(seal.seq) +
                 ": the seal cannot be read: " + row.error()};
  }
  if (auto sealed = check_seal_row((*range)->second, *row, seal, after_file); !sealed) {
    return Error{before_label + ": " + sealed.error()};
  }
  // The first row of the next segment links to the seal.
  auto first = read_entry(after_db, after_meta.first_seq);
  if (!first) {
    return Error{after_label + ": entry " + std::to_string(after_meta.first_seq) + ": " +
                 first.error()};
  }
  if (*first) {
    if (auto linked = check_seal_link((*first)->header, seal); !linked) {
      return Error{after_label + ": " + linked.error()};
    }
  }
  return chain_after_seal(seal, std::move(*accumulator));
}

// Opens and checks one segment file's schema and meta, which must name it `index`.
Result<SegmentMeta> check_segment_file(const Log::Impl& impl, sqlite::Db& db,
                                       const std::string& file, std::uint64_t index,
                                       std::optional<StoreRole> role, StoreRole* found_role) {
  const std::string label = impl.file_label(file);
  auto checked = check_store_schema(db, label, StoreFile::kSegment, role);
  if (!checked) return checked.failure();
  if (found_role) *found_role = checked->role;
  auto meta = read_segment_meta(db);
  if (!meta) return Error{label + ": " + meta.error()};
  if (meta->index != index) {
    return Error{label + ": meta.segment_index is " + std::to_string(meta->index) + ", not the " +
                 std::to_string(index) + " its name says (segment files renamed or swapped?)"};
  }
  return meta;
}

// The chain at the active segment's newest checkpoint, if it has one the open may start from.
Result<std::optional<ChainState>> resume_point(Log::Impl& impl) {
  auto stmt = sqlite::Stmt::prepare(
      impl.db, "SELECT seq, frontier FROM checkpoint_frontier ORDER BY seq DESC LIMIT 1");
  if (!stmt) return Error{impl.file_label(impl.active_file) + ": cannot read: " + stmt.error()};
  auto step = stmt->step();
  if (!step) return Error{impl.file_label(impl.active_file) + ": cannot read: " + step.error()};
  if (*step != sqlite::Stmt::Step::kRow) return std::optional<ChainState>{};
  if (stmt->column_type(0) != SQLITE_INTEGER || stmt->column_type(1) != SQLITE_BLOB ||
      stmt->column_int64(0) < 0) {
    return Error{impl.file_label(impl.active_file) +
                 ": checkpoint_frontier holds a row of the wrong type (edited?)"};
  }
  const auto seq = static_cast<std::uint64_t>(stmt->column_int64(0));
  auto frontier = frontier_from_bytes(stmt->column_blob(1));
  if (seq < impl.active_first_seq || !frontier) {
    return Error{impl.label(seq) + ": its checkpoint_frontier row is malformed (edited?)"};
  }
  auto row = read_entry(impl.db, seq);
  if (!row) return Error{impl.label(seq) + ": " + row.error()};
  if (!*row) {
    return Error{impl.label(seq) +
                 ": named by checkpoint_frontier, but not in the segment (entries cut?)"};
  }
  auto accumulator = check_checkpoint_frontier(**row, std::move(*frontier), *impl.vs_public_key);
  if (!accumulator) return Error{impl.label(seq) + ": " + accumulator.error()};
  return std::optional<ChainState>{
      ChainState{seq, (*row)->header.prev_entry_hash, std::move(*accumulator)}};
}

Status create_segment_file(const Log::Impl& impl, const std::string& file,
                           const SegmentCreate& create) {
  const std::string final_path = impl.path + "/" + file;
  const std::string temporary = final_path + std::string(kCreatingSuffix);
  std::error_code ec;
  fs::remove(temporary, ec);
  fs::remove(temporary + "-journal", ec);
  {
    // Rollback-journal mode while it is built: one complete file, then renamed into place.
    auto db = sqlite::Db::open(sqlite::file_uri(temporary, ""),
                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI);
    if (!db) return Error{impl.file_label(file) + ": cannot create: " + db.error()};
    if (auto status = db->exec("PRAGMA synchronous = FULL"); !status) {
      return Error{impl.file_label(file) + ": cannot create: " + status.error()};
    }
    if (auto status = create_schema(*db, impl.role, &create); !status) {
      return Error{impl.file_label(file) + ": cannot create the schema: " + status.error()};
    }
  }
  fs::rename(temporary, final_path, ec);
  if (ec) return Error{impl.file_label(file) + ": cannot rename into place: " + ec.message()};
  if (auto status = sync_directory(impl.path); !status) {
    return Error{impl.label() + ": " + status.error()};
  }
  return Status::success();
}

std::vector<std::pair<std::string, std::string>> segment_meta_rows(std::uint64_t index,
                                                                   std::uint64_t first_seq) {
  return {{"segment_index", std::to_string(index)}, {"first_seq", std::to_string(first_seq)}};
}

// Full verification (Verify::kFull): every row of every sealed segment, chained across the seals.
Status verify_sealed_rows(Log::Impl& impl, ChainState& state) {
  for (SealedSegment& segment : impl.sealed) {
    if (auto status = verify_rows(
            segment.db, impl.file_label(segment.file),
            [&impl](std::uint64_t seq) { return impl.label(seq); }, state, segment.first_seq);
        !status) {
      return status;
    }
  }
  return Status::success();
}

}  // namespace

Result<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    std::string message = "'";
    message.append(text).append("' is not a decimal number");
    return Error{message};
  }
  return value;
}

Result<SegmentMeta> read_segment_meta(sqlite::Db& db) {
  SegmentMeta meta;
  auto index = meta_number(db, "segment_index");
  if (!index) return index.failure();
  meta.index = *index;
  auto first = meta_number(db, "first_seq");
  if (!first) return first.failure();
  meta.first_seq = *first;
  auto created = meta_number(db, "created_at_ms");
  if (!created) return created.failure();
  meta.created_at_ms = *created;
  if (meta.index == 0) return meta;

  SegmentMeta::Seal seal;
  auto seq = meta_number(db, "seal_seq");
  if (!seq) return seq.failure();
  seal.seq = *seq;
  auto hash_hex = meta_value(db, "seal_entry_hash");
  if (!hash_hex) return hash_hex.failure();
  auto hash = fixed_from_hex<Hash32::size>(*hash_hex);
  if (!hash) return Error{"meta.seal_entry_hash is not 32 bytes of hex"};
  seal.entry_hash = *hash;
  auto frontier_hex = meta_value(db, "seal_frontier");
  if (!frontier_hex) return frontier_hex.failure();
  auto frontier_raw = from_hex(*frontier_hex);
  auto frontier = frontier_raw ? frontier_from_bytes(*frontier_raw) : std::nullopt;
  if (!frontier) return Error{"meta.seal_frontier is not a sequence of 32-byte hashes in hex"};
  seal.frontier = std::move(*frontier);
  auto message_hex = meta_value(db, "seal_message");
  if (!message_hex) return message_hex.failure();
  auto message = from_hex(*message_hex);
  if (!message) return Error{"meta.seal_message is not hex"};
  seal.message = std::move(*message);
  meta.seal = std::move(seal);
  return meta;
}

Status sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open the directory to sync it: " + errno_text()};
  const int synced = ::fsync(fd);
  const std::string why = synced != 0 ? errno_text() : "";
  ::close(fd);
  if (synced != 0) return Error{"cannot sync the directory: " + why};
  return Status::success();
}

Status sync_file(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{file + ": cannot open to sync it: " + errno_text()};
  const int synced = ::fsync(fd);
  const std::string why = synced != 0 ? errno_text() : "";
  ::close(fd);
  if (synced != 0) return Error{file + ": cannot sync: " + why};
  return Status::success();
}

std::string strip_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string segment_file_name(std::uint64_t index) {
  std::string digits = std::to_string(index);
  if (digits.size() < kIndexDigits) digits.insert(0, kIndexDigits - digits.size(), '0');
  return std::string(kSegmentPrefix) + digits + std::string(kSegmentSuffix);
}

std::optional<std::uint64_t> segment_index_of(std::string_view file_name) {
  if (!file_name.starts_with(kSegmentPrefix) || !file_name.ends_with(kSegmentSuffix)) {
    return std::nullopt;
  }
  const std::string_view digits = file_name.substr(
      kSegmentPrefix.size(), file_name.size() - kSegmentPrefix.size() - kSegmentSuffix.size());
  if (digits.size() != kIndexDigits) return std::nullopt;
  std::uint64_t index = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

Result<std::map<std::uint64_t, std::string>> list_segment_files(const std::string& dir) {
  return list_segments(dir, "store " + strip_trailing_slashes(dir), /*remove_unfinished=*/false);
}

Result<SegmentMeta> read_segment_file_meta(const std::string& file) {
  const std::string label = "segment " + file;
  auto db = open_file_read_only(file, label);
  if (!db) return db.failure();
  auto checked = check_store_schema(*db, label, StoreFile::kSegment, std::nullopt);
  if (!checked) return checked.failure();
  auto meta = read_segment_meta(*db);
  if (!meta) return Error{label + ": " + meta.error()};
  return meta;
}

Result<merkle::Accumulator> check_recorded_seal(const SegmentMeta& meta,
                                                const crypto::PublicKey& vs_key) {
  if (!meta.seal) return Error{"meta records no seal of the previous segment"};
  const SegmentMeta::Seal& seal = *meta.seal;
  if (meta.first_seq != seal.seq + 1) {
    return Error{"meta.first_seq " + std::to_string(meta.first_seq) +
                 " does not follow its seal, entry " + std::to_string(seal.seq) + " (edited?)"};
  }
  Entry recorded;
  recorded.header.seq = seal.seq;
  recorded.header.kind = protocol::MessageKind::kCheckpoint;
  recorded.message = seal.message;
  auto tree = check_checkpoint_frontier(recorded, seal.frontier, vs_key);
  if (!tree) {
    return Error{"the seal it records, entry " + std::to_string(seal.seq) + ": " + tree.error()};
  }
  return tree;
}

Status check_seal_row(std::uint64_t last_seq, const std::optional<Entry>& row,
                      const SegmentMeta::Seal& seal, const std::string& recorded_by) {
  if (last_seq != seal.seq) {
    return Error{"entry " + std::to_string(last_seq) + ": the segment's last row, but " +
                 recorded_by + " records its seal as entry " + std::to_string(seal.seq) +
                 " (rows added after the seal or cut from it?)"};
  }
  if (!row || row->header.kind != protocol::MessageKind::kCheckpoint ||
      row->header.direction != chains::Direction::kIssued || row->message != seal.message ||
      row->entry_hash != seal.entry_hash ||
      chains::log_entry_hash(row->header, row->message) != seal.entry_hash) {
    return Error{"entry " + std::to_string(seal.seq) + ": the seal does not match the one " +
                 recorded_by + " records (edited, or segments swapped?)"};
  }
  return Status::success();
}

Status check_seal_link(const chains::LogEntryHeader& first, const SegmentMeta::Seal& seal) {
  if (first.prev_entry_hash == seal.entry_hash) return Status::success();
  return Error{"entry " + std::to_string(first.seq) +
               ": prev_hash of the segment's first entry is not the entry_hash of the seal it "
               "records, entry " +
               std::to_string(seal.seq) + " (a segment replaced, swapped or edited?)"};
}

bool is_segmented_path(const std::string& path) {
  std::error_code ec;
  return (!path.empty() && path.back() == '/') || fs::is_directory(path, ec);
}

Result<std::unique_ptr<Log::Impl>> open_segmented_read_write(const std::string& path,
                                                             StoreRole role,
                                                             const OpenOptions& options) {
  auto impl = std::make_unique<Log::Impl>();
  impl->path = strip_trailing_slashes(path);
  impl->mode = OpenMode::kReadWrite;
  impl->role = role;
  impl->segmented = true;
  impl->vs_public_key = options.vs_public_key;
  if (role != StoreRole::kVs) {
    return Error{impl->label() +
                 ": a directory of segments holds a VS log; a GS keeps its record "
                 "in a single file (give gsd a file path)"};
  }
  if (!impl->vs_public_key) {
    return Error{impl->label() +
                 ": a segmented store needs the VS public key to check its seals and checkpoints"};
  }
  std::error_code ec;
  fs::create_directories(impl->path, ec);
  if (ec || !fs::is_directory(impl->path, ec)) {
    return Error{impl->label() + ": cannot create the store directory" +
                 (ec ? ": " + ec.message() : std::string())};
  }
  // Before SQLite touches any segment: a second writer must not even verify.
  auto lock = StoreLock::acquire(impl->path + "/store", impl->label());
  if (!lock) return lock.failure();
  impl->writer_lock = std::move(*lock);

  auto files = list_segments(impl->path, impl->label(), /*remove_unfinished=*/true);
  if (!files) return files.failure();
  // Segments that retention archived or pruned are absent by policy; any other is missing.
  auto retired = read_seal_index(impl->path);
  if (!retired) return retired.failure();
  for (const RetiredSegment& record : *retired) {
    if (files->contains(record.index)) {
      return Error{impl->file_label(segment_file_name(record.index)) +
                   ": the seal index records it as " +
                   std::string(disposition_name(record.disposition)) +
                   ", yet it is still here (an interrupted archive or prune? remove the file once "
                   "it is safely archived, or the index line if it was never retired)"};
    }
  }
  if (auto status = check_contiguous(*files, impl->label(), retired->size()); !status) {
    return status.failure();
  }
  if (files->empty() && !retired->empty()) {
    return Error{impl->label() + ": the seal index records segments up to " +
                 segment_file_name(retired->back().index) +
                 " as retired, but no later segment is here (segments deleted?)"};
  }
  if (files->empty()) {
    SegmentCreate first{0, Hash32{}, segment_meta_rows(0, 0)};
    const std::string name = segment_file_name(0);
    if (auto status = create_segment_file(*impl, name, first); !status) return status.failure();
    files->emplace(0, name);
  }

  // The sealed segments, read-only, each with its meta.
  std::vector<SegmentMeta> metas;
  const std::uint64_t active_index = files->rbegin()->first;
  for (const auto& [index, name] : *files) {
    if (index == active_index) break;
    // A crash right after a rotation can leave a sealed segment's last transactions in its WAL:
    // fold them back (a read-write open and close), so the file alone is the segment.
    if (fs::exists(impl->path + "/" + name + "-wal", ec)) {
      auto fold = open_file_read_write(impl->path + "/" + name, impl->file_label(name));
      if (!fold) return fold.failure();
    }
    auto db = open_file_read_only(impl->path + "/" + name, impl->file_label(name));
    if (!db) return db.failure();
    auto meta = check_segment_file(*impl, *db, name, index, role, nullptr);
    if (!meta) return meta.failure();
    impl->sealed.push_back(SealedSegment{name, meta->first_seq, std::move(*db)});
    metas.push_back(std::move(*meta));
  }
  // The active segment, read-write.
  impl->active_file = files->rbegin()->second;
  impl->active_index = active_index;
  const std::string active_path = impl->path + "/" + impl->active_file;
  auto db = open_file_read_write(active_path, impl->file_label(impl->active_file));
  if (!db) return db.failure();
  impl->db = std::move(*db);
  auto active_meta =
      check_segment_file(*impl, impl->db, impl->active_file, active_index, role, &impl->role);
  if (!active_meta) return active_meta.failure();
  metas.push_back(*active_meta);
  impl->active_first_seq = active_meta->first_seq;
  impl->active_created_ms = active_meta->created_at_ms;
  impl->active_bytes_at_open = file_bytes(active_path);

  // The seal chain: one signature per segment. The state at the active segment's start.
  ChainState state;
  const std::string& first_file =
      impl->sealed.empty() ? impl->active_file : impl->sealed.front().file;
  if (retired->empty() && metas.front().first_seq != 0) {
    return Error{impl->file_label(first_file) + ": meta.first_seq of segment 0 is " +
                 std::to_string(metas.front().first_seq) + ", not 0 (edited?)"};
  }
  if (!retired->empty()) {
    // The first segment here records the seal of the last retired one (§10.2): checked against
    // the VS key and against the index, it is where the chain and the tree resume.
    auto tree = check_recorded_seal_of(*impl, first_file, metas.front());
    if (!tree) return tree.failure();
    const SegmentMeta::Seal& seal = *metas.front().seal;
    const RetiredSegment& last = retired->back();
    if (seal.seq != last.seal_seq || seal.entry_hash != last.seal_entry_hash) {
      return Error{impl->file_label(first_file) + ": the seal it records, entry " +
                   std::to_string(seal.seq) + ", is not the seal of " +
                   segment_file_name(last.index) + ", entry " + std::to_string(last.seal_seq) +
                   ", that the seal index records (index or segments edited?)"};
    }
    // Its first row links to that seal (later segments' links are checked with their seals).
    sqlite::Db& first_db = impl->sealed.empty() ? impl->db : impl->sealed.front().db;
    auto first_row = read_entry(first_db, metas.front().first_seq);
    if (!first_row) return Error{impl->label(metas.front().first_seq) + ": " + first_row.error()};
    if (*first_row) {
      if (auto linked = check_seal_link((*first_row)->header, seal); !linked) {
        return Error{impl->file_label(first_file) + ": " + linked.error()};
      }
    }
    state = chain_after_seal(seal, std::move(*tree));
  }
  const ChainState first_present = state;
  for (std::size_t i = 0; i < impl->sealed.size(); ++i) {
    const bool next_is_active = i + 1 == impl->sealed.size();
    sqlite::Db& next_db = next_is_active ? impl->db : impl->sealed[i + 1].db;
    const std::string& next_file = next_is_active ? impl->active_file : impl->sealed[i + 1].file;
    auto linked = check_seal(*impl, impl->sealed[i], metas[i], next_file, metas[i + 1], next_db);
    if (!linked) return linked.failure();
    state = std::move(*linked);
  }
  impl->active_link = state.previous;
  if (auto range = seq_range(impl->db); !range) {
    return Error{impl->file_label(impl->active_file) + ": cannot read: " + range.error()};
  } else if (*range && (*range)->first != impl->active_first_seq) {
    return Error{impl->label(impl->active_first_seq) +
                 ": missing; the segment's first row is entry " + std::to_string((*range)->first) +
                 " (deleted?)"};
  }

  if (options.verify == Verify::kFull) {
    ChainState full = first_present;
    if (auto status = verify_sealed_rows(*impl, full); !status) return status.failure();
    if (full.next_seq != state.next_seq || full.previous != state.previous ||
        full.accumulator.root() != state.accumulator.root()) {
      return Error{impl->label(state.next_seq) +
                   ": the sealed segments' rows do not lead to the seal the segment records"};
    }
  } else {
    // Only the active segment's rows after its newest checkpoint (verified against its
    // signature) are hashed again; the audit reads everything.
    auto resume = resume_point(*impl);
    if (!resume) return resume.failure();
    if (*resume) state = std::move(**resume);
  }
  if (auto status = verify_rows(
          impl->db, impl->file_label(impl->active_file),
          [&impl](std::uint64_t seq) { return impl->label(seq); }, state, impl->active_first_seq);
      !status) {
    return status.failure();
  }
  impl->size = state.next_seq;
  impl->head = state.previous;
  impl->accumulator = std::move(state.accumulator);
  if (auto status = prepare_inserts(*impl); !status) return status.failure();
  return impl;
}

Result<std::unique_ptr<Log::Impl>> open_segmented_read_only(
    const std::string& path, std::optional<StoreRole> role,
    const std::optional<SegmentRange>& range) {
  auto impl = std::make_unique<Log::Impl>();
  impl->path = strip_trailing_slashes(path);
  impl->mode = OpenMode::kReadOnly;
  impl->segmented = true;
  std::error_code ec;
  if (!fs::is_directory(impl->path, ec)) {
    return Error{impl->label() + ": no such directory (a read-only open never creates one)"};
  }
  auto files = list_segments(impl->path, impl->label(), /*remove_unfinished=*/false);
  if (!files) return files.failure();
  if (range) {
    // One segment or a range of them: nothing else in the directory is opened.
    if (range->first > range->last) {
      return Error{impl->label() + ": the segment range " + std::to_string(range->first) + ".." +
                   std::to_string(range->last) + " is empty (first after last)"};
    }
    std::erase_if(*files, [&range](const auto& file) {
      return file.first < range->first || file.first > range->last;
    });
    if (files->empty()) {
      return Error{impl->label() + ": holds none of the segments " +
                   segment_file_name(range->first) + " to " + segment_file_name(range->last)};
    }
  }
  if (files->empty()) return Error{impl->label() + ": the directory holds no segment files"};
  // Read-only opens are for audits: they present what is there, gaps and all, for the audit to
  // report; only a file that is not a segment of this kind of store is refused.
  const std::uint64_t last = files->rbegin()->first;
  for (const auto& [index, name] : *files) {
    auto db = open_file_read_only(impl->path + "/" + name, impl->file_label(name));
    if (!db) return db.failure();
    const std::string label = impl->file_label(name);
    auto checked = check_store_schema(*db, label, StoreFile::kSegment, role);
    if (!checked) return checked.failure();
    impl->role = checked->role;
    auto first = meta_number(*db, "first_seq");
    if (!first) return Error{label + ": " + first.error()};
    if (index == last) {
      impl->active_file = name;
      impl->active_index = index;
      impl->active_first_seq = *first;
      if (auto meta = read_segment_meta(*db); meta && meta->seal) {
        impl->active_link = meta->seal->entry_hash;
      }
      impl->db = std::move(*db);
    } else {
      impl->sealed.push_back(SealedSegment{name, *first, std::move(*db)});
    }
  }
  return impl;
}

SegmentCreate segment_after_seal(std::uint64_t index, const SegmentMeta::Seal& seal) {
  SegmentCreate create{seal.seq + 1, seal.entry_hash, segment_meta_rows(index, seal.seq + 1)};
  create.meta.emplace_back("seal_seq", std::to_string(seal.seq));
  create.meta.emplace_back("seal_entry_hash", to_hex(seal.entry_hash));
  create.meta.emplace_back("seal_frontier", to_hex(frontier_bytes(seal.frontier)));
  create.meta.emplace_back("seal_message", to_hex(seal.message));
  return create;
}

Status Log::Impl::rotate(const Entry& seal, const FrontierRow& seal_frontier) {
  const std::uint64_t index = active_index + 1;
  const std::string file = segment_file_name(index);
  const SegmentCreate create = segment_after_seal(
      index,
      SegmentMeta::Seal{seal.header.seq, seal.entry_hash, seal_frontier.frontier, seal.message});
  if (auto status = create_segment_file(*this, file, create); !status) return status;
  auto next = open_file_read_write(path + "/" + file, file_label(file));
  if (!next) return next.failure();

  // The old segment is closed, which folds its WAL back into it: from now on the file alone is
  // the segment, to copy or archive as it is. It is reopened read-only for reading.
  insert_stmt = sqlite::Stmt{};
  insert_frontier_stmt = sqlite::Stmt{};
  db = std::move(*next);
  auto reopened = open_file_read_only(path + "/" + active_file, file_label(active_file));
  if (!reopened) return reopened.failure();
  sealed.push_back(SealedSegment{active_file, active_first_seq, std::move(*reopened)});
  active_file = file;
  active_index = index;
  active_first_seq = create.first_seq;
  active_link = seal.entry_hash;
  return prepare_inserts(*this);
}

}  // namespace gsvs::storage
