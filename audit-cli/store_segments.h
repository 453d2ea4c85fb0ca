// What the audit reads of a segmented store besides its rows (docs/STORE.md §10, AUDIT.md
// "Segmented stores"): which files a command was asked to read (the directory, one segment file,
// or a range), the seal index, each segment's meta, the seal between two segments and the link
// after it. Problems go to a FindingSink naming the file (and the index line); segments retired by
// `vsd store archive|prune` and recorded in the index are reported as retired by policy, not as
// findings; and the verifier learns where the chain and the Merkle tree resume.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit-cli/findings.h"
#include "protocol/crypto.h"
#include "protocol/merkle.h"
#include "protocol/messages.h"
#include "protocol/result.h"
#include "storage/log.h"
#include "storage/segment_files.h"

namespace gsvs::audit {

// The store a command reads: a single file, a whole segmented store, or some of its segments.
struct StoreSelection {
  std::string path;       // as given on the command line
  std::string directory;  // segmented: the store directory; empty for a single file
  std::optional<storage::SegmentRange> range;  // nullopt: every segment there
  [[nodiscard]] bool segmented() const { return !directory.empty(); }
};

// `path` is a store file, a store directory, or a segment file (`DIR/segment-00000003.db`: that
// segment alone); `segments` ("3..5", "3", or empty) picks a range of a directory's segments.
// The error names the option and what is wrong.
Result<StoreSelection> select_store(const std::string& path, const std::string& segments);
// Opens the selection read-only (audit-cli's open_store for a selection).
Result<std::unique_ptr<storage::Log>> open_selection(const StoreSelection& selection,
                                                     std::optional<storage::StoreRole> role);

// A sealed segment the seal index records as archived or pruned: not in the log read here, by
// policy.
struct RetiredRange {
  storage::RetiredSegment record;
  std::string file;
  std::uint64_t index_line = 0;  // its line in seal-index.tsv
};

// Where the verifier starts: entry 0, or after a recorded seal (its tree from the seal's frontier).
using storage::ChainStart;

struct SegmentSurvey {
  struct File {
    std::string name;
    std::uint64_t index = 0;
    std::uint64_t first_seq = 0;  // from its meta
  };
  std::vector<File> files;            // read, in index order
  std::vector<RetiredRange> retired;  // from the seal index
  ChainStart start;
  // What reading only some segments leaves unchecked, one sentence each.
  std::vector<std::string> not_checked;
  // The file that holds `seq` (by the files' first_seq), for findings.
  [[nodiscard]] std::string file_of(std::uint64_t seq) const;
};

// Reads the seal index (whole directory only) and the selected segments' meta, checks each seal
// (when `vs_key` is known) and each link as vsd does (storage/segment_files.h), and the index
// against the segments, and reports every problem to `sink`. Fails only when the directory
// cannot be listed.
Result<SegmentSurvey> survey_segments(const StoreSelection& selection,
                                      const std::optional<crypto::PublicKey>& vs_key,
                                      FindingSink& sink);

// The retention of a PostgreSQL store (docs/STORE.md §11.5): its retired ranges, reported as
// retired by policy, and the seal of the newest, checked as a segment's recorded seal (when
// `vs_key` is known), from which the chain and the tree resume. A retired_range table that does
// not read as contiguous ranges from entry 0 is a finding. Empty for a log held from entry 0.
SegmentSurvey survey_retention(const storage::Log& log,
                               const std::optional<crypto::PublicKey>& vs_key, FindingSink& sink);

// The segments of the store directory that session `id` touches: from the one holding its
// JoinAccept to the one holding its Revocation (the last one present when it has none), found
// through each file's kind index, without reading their rows. nullopt: no JoinAccept of it here.
Result<std::optional<storage::SegmentRange>> session_segments(const std::string& directory,
                                                              protocol::SessionId id);

}  // namespace gsvs::audit
