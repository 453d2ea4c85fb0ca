// The files of a segmented store one by one (docs/STORE.md §10), for readers that look at each
// segment on its own: the audit names the file of every finding, checks each seal and link
// itself, and verifies one segment or a range of them from their own meta.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/result.h"

namespace gsvs::storage {

// What a segment's meta says about its place in the log (docs/STORE.md §10.2).
struct SegmentMeta {
  std::uint64_t index = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t created_at_ms = 0;
  // The seal of the segment before it, which its first entry links to.
  struct Seal {
    std::uint64_t seq = 0;
    Hash32 entry_hash;
    std::vector<Hash32> frontier;  // of the tree over the `seq` entries before the seal
    Bytes message;                 // the signed Checkpoint
  };
  std::optional<Seal> seal;  // every segment but segment 0
};

// "segment-00000003.db" for 3; the index a segment file name gives (nullopt for any other name).
std::string segment_file_name(std::uint64_t index);
std::optional<std::uint64_t> segment_index_of(std::string_view file_name);

// The segment files in `dir`, by the index their names give (other files are left out).
Result<std::map<std::uint64_t, std::string>> list_segment_files(const std::string& dir);

// Opens one segment file read-only, checks that it is a segment (schema version 2, a gsvs log)
// and returns its meta. The error names the file and what is wrong.
Result<SegmentMeta> read_segment_file_meta(const std::string& file);

}  // namespace gsvs::storage
