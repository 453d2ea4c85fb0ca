#include "audit-cli/store_segments.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

#include "audit-cli/common.h"
#include "protocol/messages.h"
#include "storage/segment_files.h"

namespace gsvs::audit {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSealIndexFile = "seal-index.tsv";

Finding segment_finding(std::string file, std::uint64_t seq, std::string_view check,
                        std::string expected, std::string found, std::string detail = {},
                        std::optional<std::uint64_t> line = std::nullopt) {
  Finding f = finding_at(seq, check, std::move(expected), std::move(found), std::move(detail));
  f.file = std::move(file);
  f.line = line;
  return f;
}

// The line an error of storage::read_seal_index names ("...: line 3: ..."), if any.
std::optional<std::uint64_t> line_in(const std::string& error) {
  const std::string marker = ": line ";
  const auto at = error.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const auto begin = at + marker.size();
  const auto end = error.find(':', begin);
  return parse_u64(std::string_view(error).substr(begin, end - begin));
}

// The seal that `file` records in its meta, checked as vsd checks it (storage::check_recorded_seal)
// when the VS key is known; a finding when it fails. Returns the tree over the entries before the
// seal, from the recorded frontier, for the chain to resume from (nullopt: the frontier does not
// fit the seal's position).
std::optional<merkle::Accumulator> recorded_seal_tree(
    const std::string& file, const storage::SegmentMeta& meta,
    const std::optional<crypto::PublicKey>& vs_key, FindingSink& sink) {
  const storage::SegmentMeta::Seal& seal = *meta.seal;
  if (vs_key) {
    auto checked = storage::check_recorded_seal(meta, *vs_key);
    if (checked) return std::move(*checked);
    Finding f = segment_finding(file, seal.seq, check::kSegmentSeal,
                                "a seal recorded in meta as docs/STORE.md §10.4 defines it",
                                checked.error());
    f.kind = kind_code(protocol::MessageKind::kCheckpoint);
    sink.add(std::move(f));
  }
  auto tree = merkle::Accumulator::from_frontier(seal.seq, seal.frontier);
  if (!tree && !vs_key) {
    sink.add(segment_finding(file, seal.seq, check::kSegmentSeal,
                             "meta.seal_frontier of the tree over the entries before the seal",
                             "a frontier of the wrong length",
                             "the meta was edited: the tree cannot resume from it"));
  }
  return tree;
}

// One segment on its own, read-only.
Result<std::unique_ptr<storage::Log>> open_one(const std::string& directory, std::uint64_t index) {
  return storage::Log::open(directory, storage::SegmentRange{index, index});
}

// The first row of segment `file` (at `first_seq`) against the seal its meta records.
void check_link(const std::string& directory, const SegmentSurvey::File& file,
                const storage::SegmentMeta::Seal& seal, FindingSink& sink) {
  auto opened = open_one(directory, file.index);
  if (!opened) return;
  auto first = (*opened)->get(file.first_seq);
  if (!first) return;
  if (auto linked = storage::check_seal_link(first->header, seal); !linked) {
    Finding f = finding_at(first->header, check::kSegmentLink,
                           "prev_hash " + to_hex(seal.entry_hash) + " (the seal of entry " +
                               std::to_string(seal.seq) + ")",
                           linked.error());
    f.file = file.name;
    sink.add(std::move(f));
  }
}

// The seal at the end of segment `before` against what the segment after it recorded, and the
// link of that segment's first row to it, as vsd checks them (storage/segment_files.h).
void check_boundary(const std::string& directory, const SegmentSurvey::File& before,
                    const SegmentSurvey::File& after, const storage::SegmentMeta::Seal& seal,
                    FindingSink& sink) {
  if (auto sealed = open_one(directory, before.index); sealed) {
    const std::uint64_t size = (*sealed)->size();
    auto row = (*sealed)->get(seal.seq);
    const std::optional<storage::Entry> seal_row =
        row ? std::optional<storage::Entry>(std::move(*row)) : std::nullopt;
    if (auto checked =
            storage::check_seal_row(size == 0 ? 0 : size - 1, seal_row, seal, after.name);
        !checked) {
      sink.add(segment_finding(before.name, seal.seq, check::kSegmentSeal,
                               "as its last row, the seal that " + after.name + " records",
                               checked.error()));
    }
  }
  check_link(directory, after, seal, sink);
}

}  // namespace

Result<StoreSelection> select_store(const std::string& path, const std::string& segments) {
  StoreSelection selection;
  selection.path = path;
  std::error_code ec;
  const fs::path as_path(path);
  const std::string name = as_path.filename().string();
  if (auto index = storage::segment_index_of(name); index && fs::is_regular_file(as_path, ec)) {
    if (!segments.empty()) {
      return Error{"--segments picks segments of a store directory, not of the segment file " +
                   path};
    }
    std::string parent = as_path.parent_path().string();
    selection.directory = parent.empty() ? "." : parent;
    selection.range = storage::SegmentRange{*index, *index};
    return selection;
  }
  const bool directory = fs::is_directory(as_path, ec);
  if (directory) selection.directory = path;
  if (segments.empty()) return selection;
  if (!directory) return Error{"--segments: " + path + " is not a store directory"};
  const auto dots = segments.find("..");
  const auto first = parse_u64(std::string_view(segments).substr(0, dots));
  const auto last =
      dots == std::string::npos ? first : parse_u64(std::string_view(segments).substr(dots + 2));
  if (!first || !last || *last < *first) {
    return Error{"--segments '" + segments +
                 "': expected a segment index or a range FIRST..LAST, e.g. 3..5"};
  }
  selection.range = storage::SegmentRange{*first, *last};
  return selection;
}

Result<std::unique_ptr<storage::Log>> open_selection(const StoreSelection& selection,
                                                     std::optional<storage::StoreRole> role) {
  if (!selection.range) return open_store(selection.path, role);
  auto log = storage::Log::open(selection.directory, *selection.range);
  if (!log) return Error{log.error()};
  if (role && (*log)->role() != *role) {
    return Error{"store " + selection.path + ": a " +
                 std::string(storage::store_role_name((*log)->role())) + ", not a " +
                 std::string(storage::store_role_name(*role))};
  }
  return log;
}

std::string SegmentSurvey::file_of(std::uint64_t seq) const {
  const File* holder = nullptr;
  for (const File& file : files) {
    if (file.first_seq <= seq && (holder == nullptr || file.first_seq >= holder->first_seq)) {
      holder = &file;
    }
  }
  if (holder != nullptr) return holder->name;
  for (const RetiredRange& range : retired) {
    if (range.record.first_seq <= seq && seq <= range.record.seal_seq) return range.file;
  }
  return {};
}

Result<SegmentSurvey> survey_segments(const StoreSelection& selection,
                                      const std::optional<crypto::PublicKey>& vs_key,
                                      FindingSink& sink) {
  SegmentSurvey survey;
  const std::string& directory = selection.directory;
  auto listed = storage::list_segment_files(directory);
  if (!listed) return Error{listed.error()};
  std::map<std::uint64_t, std::string> files = std::move(*listed);
  if (selection.range) {
    std::erase_if(files, [&selection](const auto& file) {
      return file.first < selection.range->first || file.first > selection.range->last;
    });
  }

  // The seal index: a whole directory's only (a range is read without it).
  std::vector<storage::RetiredSegment> records;
  if (!selection.range) {
    auto index = storage::read_seal_index(directory);
    if (index) {
      records = std::move(*index);
    } else {
      sink.add(segment_finding(std::string(kSealIndexFile), 0, check::kSealIndex,
                               "a seal index as `vsd store archive|prune` writes it", index.error(),
                               "the index was edited: nothing in it is used",
                               line_in(index.error())));
    }
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    survey.retired.push_back(
        RetiredRange{records[i], storage::segment_file_name(records[i].index), i + 2});
  }

  // Each file's meta, by name.
  std::vector<std::pair<SegmentSurvey::File, storage::SegmentMeta>> read;
  for (const auto& [index, name] : files) {
    auto meta = storage::read_segment_file_meta(directory + "/" + name);
    if (!meta) {
      sink.add(segment_finding(name, 0, check::kSegmentMeta, "a segment of this store",
                               meta.error(), "its rows are not read"));
      continue;
    }
    if (meta->index != index) {
      sink.add(segment_finding(name, meta->first_seq, check::kSegmentMeta,
                               "meta.segment_index " + std::to_string(index) + " as its name says",
                               "meta.segment_index " + std::to_string(meta->index),
                               "segment files renamed or swapped"));
    }
    for (const RetiredRange& range : survey.retired) {
      if (range.record.index != index) continue;
      sink.add(segment_finding(
          std::string(kSealIndexFile), range.record.first_seq, check::kSealIndex,
          name + " absent: the index records it as " +
              std::string(storage::disposition_name(range.record.disposition)),
          name + " still in the directory",
          "an interrupted archive or prune, or an index line added: remove the file once it is "
          "archived, or the line if it was never retired",
          range.index_line));
    }
    read.emplace_back(SegmentSurvey::File{name, index, meta->first_seq}, std::move(*meta));
  }
  for (const auto& [file, meta] : read) survey.files.push_back(file);
  if (read.empty()) return survey;

  // Gaps: every index from the first expected one to the last present one.
  const std::uint64_t expected_first = selection.range ? selection.range->first : records.size();
  std::uint64_t expected = expected_first;
  const std::string* previous = nullptr;
  for (const auto& [file, meta] : read) {
    if (file.index > expected) {
      const std::string missing = storage::segment_file_name(expected);
      sink.add(segment_finding(
          missing, file.first_seq, check::kSegmentMissing,
          missing + " (between " + (previous ? *previous : std::string("the start")) + " and " +
              file.name + ")",
          "no such file" + std::string(selection.range || file.index < records.size()
                                           ? ""
                                           : ", and no seal index record of it"),
          "a segment deleted or moved outside retention: its entries are gone"));
    }
    expected = std::max(expected, file.index + 1);
    previous = &file.name;
  }

  // The seal and link at each boundary between two files present one after the other.
  for (std::size_t i = 0; i + 1 < read.size(); ++i) {
    const auto& [before, before_meta] = read[i];
    const auto& [after, after_meta] = read[i + 1];
    if (!after_meta.seal) {
      sink.add(segment_finding(after.name, after.first_seq, check::kSegmentMeta,
                               "meta recording the seal of " + before.name, "no seal recorded"));
      continue;
    }
    recorded_seal_tree(after.name, after_meta, vs_key, sink);
    if (after.index == before.index + 1) {
      check_boundary(directory, before, after, *after_meta.seal, sink);
    }
  }

  // Where the chain starts: entry 0, or the seal the first file records.
  const auto& [first, first_meta] = read.front();
  if (first_meta.seal) {
    const storage::SegmentMeta::Seal& seal = *first_meta.seal;
    if (auto tree = recorded_seal_tree(first.name, first_meta, vs_key, sink)) {
      survey.start = storage::chain_after_seal(seal, std::move(*tree));
    }
    if (!selection.range && !records.empty()) {
      const RetiredRange& last = survey.retired.back();
      if (last.record.seal_seq != seal.seq || last.record.seal_entry_hash != seal.entry_hash) {
        sink.add(segment_finding(std::string(kSealIndexFile), seal.seq, check::kSealIndex,
                                 "the seal " + first.name + " records: entry " +
                                     std::to_string(seal.seq) + ", entry hash " +
                                     to_hex(seal.entry_hash),
                                 "a record of " + last.file + " ending at entry " +
                                     std::to_string(last.record.seal_seq) + ", entry hash " +
                                     to_hex(last.record.seal_entry_hash),
                                 "the index or the segment was edited", last.index_line));
      }
    }
    check_link(directory, first, seal, sink);
  }
  if (!vs_key && (read.size() > 1 || first_meta.seal)) {
    survey.not_checked.emplace_back(
        "the seals the segments record: without the VS key they are not checked, and the chain "
        "resumes from a recorded frontier taken as it is");
  }
  if (selection.range) {
    if (first_meta.seal) {
      survey.not_checked.push_back("entries before " + std::to_string(first_meta.first_seq) +
                                   " (before " + first.name +
                                   ") are not read: the chain starts from the seal " + first.name +
                                   " records, checked by its VS signature and frontier only");
    }
    survey.not_checked.push_back(
        "segments after " + read.back().first.name +
        " are not read: whether the next one links to its last entry is not checked");
  }
  return survey;
}

SegmentSurvey survey_retention(const storage::Log& log,
                               const std::optional<crypto::PublicKey>& vs_key, FindingSink& sink) {
  SegmentSurvey survey;
  const std::string table = "retired_range";
  auto retention = log.retention();
  if (!retention) {
    sink.add(segment_finding(table, 0, check::kSealIndex,
                             "retired ranges as `vsd store archive|prune` records them, from entry "
                             "0 without a gap",
                             retention.error(), "the table was edited: nothing in it is used"));
    return survey;
  }
  for (const storage::RetiredSegment& record : retention->retired) {
    survey.retired.push_back(RetiredRange{record, table, 0});
  }
  if (!retention->first_held) return survey;
  const storage::SegmentMeta& held = *retention->first_held;
  if (auto tree = recorded_seal_tree(table, held, vs_key, sink)) {
    survey.start = storage::chain_after_seal(*held.seal, std::move(*tree));
  }
  if (!vs_key) {
    survey.not_checked.emplace_back(
        "the seal of the newest retired range: without the VS key it is not checked, and the "
        "chain resumes from its recorded frontier taken as it is");
  }
  return survey;
}

Result<std::optional<storage::SegmentRange>> session_segments(const std::string& directory,
                                                              protocol::SessionId id) {
  auto files = storage::list_segment_files(directory);
  if (!files) return Error{files.error()};
  // Whether segment `index` holds an entry of `kind` in the session (the kind index finds it).
  auto holds = [&](std::uint64_t index, protocol::MessageKind kind) -> Result<bool> {
    auto log = open_one(directory, index);
    if (!log) return Error{log.error()};
    storage::Filter filter;
    filter.kind = kind;
    filter.session_id = id;
    bool found = false;
    Status scanned = (*log)->scan(filter, [&found](const storage::Entry&) {
      found = true;
      return false;
    });
    if (!scanned) return Error{scanned.error()};
    return found;
  };
  std::optional<storage::SegmentRange> range;
  for (const auto& [index, name] : *files) {
    if (!range) {
      auto accepted = holds(index, protocol::MessageKind::kJoinAccept);
      if (!accepted) return Error{accepted.error()};
      if (*accepted) range = storage::SegmentRange{index, files->rbegin()->first};
    }
    if (range) {
      auto revoked = holds(index, protocol::MessageKind::kRevocation);
      if (!revoked) return Error{revoked.error()};
      if (*revoked) {
        range->last = index;
        break;
      }
    }
  }
  return range;
}

}  // namespace gsvs::audit
