// Retention of a segmented store (docs/STORE.md §10.6): sealed segments moved to an archive or
// deleted, oldest first, each recorded in the seal index before it goes, so that the rest of the
// log still verifies and a retired range reads as retired by policy, never as missing.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "protocol/bytes.h"
#include "storage/log.h"
#include "storage/log_impl.h"
#include "storage/pg_store.h"
#include "storage/segment_files.h"

namespace gsvs::storage {

namespace {

namespace fs = std::filesystem;

// The seal index (docs/STORE.md §10.6): one line per retired segment, tab-separated.
constexpr std::string_view kSealIndexFile = "seal-index.tsv";
constexpr std::string_view kSealIndexHeader =
    "# gsvs seal index 1\tsegment\tfirst_seq\tseal_seq\tseal_entry_hash\tdisposition\tat_ms\t"
    "archived_to";

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const std::size_t tab = line.find('\t');
    fields.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) return fields;
    line.remove_prefix(tab + 1);
  }
}

Result<RetiredSegment> parse_index_line(std::string_view line) {
  const std::vector<std::string_view> fields = split_tabs(line);
  if (fields.size() != 7) return Error{"has " + std::to_string(fields.size()) + " fields, not 7"};
  RetiredSegment record;
  auto index = segment_index_of(fields[0]);
  if (!index) return Error{"'" + std::string(fields[0]) + "' is not a segment file name"};
  record.index = *index;
  auto first = parse_number(fields[1]);
  auto seal = parse_number(fields[2]);
  auto at = parse_number(fields[5]);
  if (!first || !seal || !at) return Error{"first_seq, seal_seq and at_ms must be numbers"};
  if (*seal < *first) return Error{"seal_seq is before first_seq"};
  record.first_seq = *first;
  record.seal_seq = *seal;
  record.at_ms = *at;
  auto hash = fixed_from_hex<Hash32::size>(fields[3]);
  if (!hash) return Error{"seal_entry_hash is not 32 bytes of hex"};
  record.seal_entry_hash = *hash;
  if (fields[4] == "archived") {
    record.disposition = RetiredSegment::Disposition::kArchived;
    if (fields[6].empty()) return Error{"an archived segment names no archive directory"};
    record.archived_to = std::string(fields[6]);
  } else if (fields[4] == "pruned") {
    record.disposition = RetiredSegment::Disposition::kPruned;
  } else if (fields[4] == "left_out") {
    record.disposition = RetiredSegment::Disposition::kLeftOut;
  } else {
    return Error{"disposition '" + std::string(fields[4]) +
                 "' is not archived, pruned or left_out"};
  }
  return record;
}

std::string index_line(const RetiredSegment& record) {
  std::string line = segment_file_name(record.index);
  for (const std::string& field :
       {std::to_string(record.first_seq), std::to_string(record.seal_seq),
        to_hex(record.seal_entry_hash), std::string(disposition_name(record.disposition)),
        std::to_string(record.at_ms), record.archived_to}) {
    line.append("\t").append(field);
  }
  return line;
}

// Writes the whole index beside the segments atomically: a temporary file, synced, renamed over
// the old one, then the directory synced.
Status write_seal_index(const std::string& dir, const std::vector<RetiredSegment>& records) {
  const std::string path = dir + "/" + std::string(kSealIndexFile);
  const std::string temporary = path + std::string(kCreatingSuffix);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << kSealIndexHeader << '\n';
    for (const RetiredSegment& record : records) out << index_line(record) << '\n';
    out.flush();
    if (!out) return Error{temporary + ": cannot write"};
  }
  if (auto status = sync_file(temporary); !status) return status;
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) return Error{path + ": cannot rename into place: " + ec.message()};
  return sync_directory(dir);
}

// Copies a sealed segment into the archive directory: to a temporary name, synced, compared byte
// for byte with the original, then renamed into place. An existing archived file is never
// overwritten.
Status archive_copy(const std::string& from, const std::string& archive_dir,
                    const std::string& file) {
  const std::string to = archive_dir + "/" + file;
  const std::string temporary = to + std::string(kCreatingSuffix);
  std::error_code ec;
  if (fs::exists(to, ec)) return Error{to + ": already exists; an archive is never overwritten"};
  fs::copy_file(from, temporary, fs::copy_options::overwrite_existing, ec);
  if (ec) return Error{to + ": cannot copy: " + ec.message()};
  if (auto status = sync_file(temporary); !status) return status;
  std::ifstream original(from, std::ios::binary);
  std::ifstream copy(temporary, std::ios::binary);
  const bool same =
      original && copy &&
      std::equal(std::istreambuf_iterator<char>(original), std::istreambuf_iterator<char>(),
                 std::istreambuf_iterator<char>(copy), std::istreambuf_iterator<char>());
  if (!same) return Error{temporary + ": the copy differs from " + from + " (disk error?)"};
  fs::rename(temporary, to, ec);
  if (ec) return Error{to + ": cannot rename into place: " + ec.message()};
  return sync_directory(archive_dir);
}

}  // namespace

Status start_segmented_after(const std::string& dir, StoreRole role,
                             const std::vector<RetiredSegment>& retired,
                             const SegmentMeta& first_held) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{dir + ": cannot create: " + ec.message()};
  if (auto status = write_seal_index(dir, retired); !status) return status;
  const std::string file = dir + "/" + segment_file_name(first_held.index);
  {
    auto db = sqlite::Db::open(sqlite::file_uri(file, ""),
                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI);
    if (!db) return Error{file + ": cannot create: " + db.error()};
    if (auto status = db->exec("PRAGMA synchronous = FULL"); !status) {
      return Error{file + ": cannot create: " + status.error()};
    }
    const SegmentCreate create = segment_after_seal(first_held.index, *first_held.seal);
    if (auto status = create_schema(*db, role, &create); !status) {
      return Error{file + ": cannot create the schema: " + status.error()};
    }
  }
  if (auto status = sync_file(file); !status) return status;
  return sync_directory(dir);
}

std::string_view disposition_name(RetiredSegment::Disposition disposition) {
  switch (disposition) {
    case RetiredSegment::Disposition::kArchived:
      return "archived";
    case RetiredSegment::Disposition::kPruned:
      return "pruned";
    case RetiredSegment::Disposition::kLeftOut:
      return "left_out";
  }
  return "pruned";
}

Result<std::optional<Entry>> newest_seal(const RowScan& scan, Filter range,
                                         const std::function<bool(const Entry&)>& eligible,
                                         const crypto::PublicKey& key) {
  std::optional<Entry> seal;
  range.kind = protocol::MessageKind::kCheckpoint;
  const Status scanned = scan(range, [&](const Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued || !eligible(entry)) return true;
    auto checkpoint = protocol::decode<protocol::Checkpoint>(entry.message);
    if (checkpoint && checkpoint->log_size == entry.header.seq && verify(*checkpoint, key)) {
      seal = entry;
    }
    return true;
  });
  if (!scanned) return scanned.failure();
  return seal;
}

Result<std::vector<Hash32>> frontier_before(const RowScan& scan, merkle::Accumulator tree,
                                            std::uint64_t from_seq, const Entry& seal,
                                            const crypto::PublicKey& key) {
  Filter before_seal;
  before_seal.from_seq = from_seq;
  before_seal.to_seq = seal.header.seq;
  const Status scanned = scan(before_seal, [&tree](const Entry& entry) {
    tree.append(entry.entry_hash);
    return true;
  });
  if (!scanned) return scanned.failure();
  std::vector<Hash32> frontier = tree.frontier();
  if (auto checked = check_checkpoint_frontier(seal, frontier, key); !checked) {
    return Error{"entry " + std::to_string(seal.header.seq) + ": " + checked.error()};
  }
  return frontier;
}

Result<std::vector<RetiredSegment>> read_seal_index(const std::string& dir) {
  const std::string path = strip_trailing_slashes(dir) + "/" + std::string(kSealIndexFile);
  const std::string label =
      "store " + strip_trailing_slashes(dir) + ": " + std::string(kSealIndexFile);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::vector<RetiredSegment>{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{label + ": cannot read"};
  std::vector<RetiredSegment> records;
  std::string line;
  std::uint64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::string where = label + ": line " + std::to_string(line_number) + ": ";
    if (line_number == 1) {
      if (line != kSealIndexHeader) return Error{where + "not the header of a seal index"};
      continue;
    }
    auto record = parse_index_line(line);
    if (!record) return Error{where + record.error() + " (edited?)"};
    // Retention removes segments oldest first: the records are segments 0, 1, ... and their
    // seqs follow each other.
    const std::uint64_t expected_first = records.empty() ? 0 : records.back().seal_seq + 1;
    if (record->index != records.size() || record->first_seq != expected_first) {
      return Error{where + segment_file_name(record->index) + " from entry " +
                   std::to_string(record->first_seq) + " does not follow the record before it, " +
                   "which ends at " +
                   (records.empty() ? std::string("nothing")
                                    : segment_file_name(records.size() - 1) + " entry " +
                                          std::to_string(records.back().seal_seq)) +
                   " (edited?)"};
    }
    records.push_back(std::move(*record));
  }
  if (in.bad()) return Error{label + ": cannot read"};
  return records;
}

Result<std::vector<RetiredSegment>> retire_sealed_segments(const std::string& dir,
                                                           const RetireOptions& options) {
  if (is_postgres_store(dir)) return retire_postgres_entries(dir, options);
  const std::string path = strip_trailing_slashes(dir);
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return Error{"store " + path +
                 ": not a directory of segments (retention applies to "
                 "segmented stores only)"};
  }
  // The writer's lock and every check of a start: retention runs only on a store that verifies,
  // and never beside a running vsd.
  auto log = Log::open(path, OpenMode::kReadWrite, StoreRole::kVs,
                       OpenOptions{options.vs_public_key, Verify::kFast});
  if (!log) return log.failure();
  auto records = read_seal_index(path);
  if (!records) return records.failure();
  auto keep_from = kept_from(options);
  if (!keep_from) return keep_from.failure();
  if (options.archive_dir) {
    fs::create_directories(*options.archive_dir, ec);
    if (ec) return Error{*options.archive_dir + ": cannot create: " + ec.message()};
  }
  const std::vector<Log::SegmentInfo> present = (*log)->segments();
  std::vector<RetiredSegment> retired_now;
  // Oldest first, never the active (last) segment: the index stays a prefix of the log.
  for (std::size_t i = 0; i + 1 < present.size(); ++i) {
    const std::string& file = present[i].file;
    const std::string& next_file = present[i + 1].file;
    const std::string next_label = "store " + path + ": " + next_file;
    auto next_db = open_file_read_only(path + "/" + next_file, next_label);
    if (!next_db) return next_db.failure();
    auto next_meta = read_segment_meta(*next_db);
    if (!next_meta || !next_meta->seal) {
      return Error{next_label + ": " + (next_meta ? "records no seal" : next_meta.error())};
    }
    // A segment was sealed when the next one was created.
    if (next_meta->created_at_ms >= options.sealed_before_ms) break;
    if (next_meta->seal->seq >= *keep_from) break;
    RetiredSegment record;
    record.index = next_meta->index - 1;
    record.first_seq = present[i].first_seq;
    record.seal_seq = next_meta->seal->seq;
    record.seal_entry_hash = next_meta->seal->entry_hash;
    record.at_ms = options.now_ms;
    if (options.archive_dir) {
      if (auto status = archive_copy(path + "/" + file, *options.archive_dir, file); !status) {
        return Error{"store " + path + ": " + file + ": " + status.error()};
      }
      record.disposition = RetiredSegment::Disposition::kArchived;
      record.archived_to = *options.archive_dir;
    }
    // Recorded before removed: a crash in between leaves a file the open names, never a gap
    // without a record.
    records->push_back(record);
    if (auto status = write_seal_index(path, *records); !status) {
      return Error{"store " + path + ": " + status.error()};
    }
    fs::remove(path + "/" + file, ec);
    if (ec) return Error{"store " + path + ": " + file + ": cannot remove: " + ec.message()};
    if (auto status = sync_directory(path); !status) {
      return Error{"store " + path + ": " + status.error()};
    }
    retired_now.push_back(std::move(record));
  }
  return retired_now;
}

}  // namespace gsvs::storage
