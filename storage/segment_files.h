// The files of a segmented store one by one (docs/STORE.md §10), for readers that look at each
// segment on its own: the audit names the file of every finding, checks each seal and link with
// the checks a read-write open makes (below), and verifies one segment or a range of them from
// their own meta.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/chains.h"
#include "protocol/crypto.h"
#include "protocol/merkle.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::storage {

// "segment-00000003.db" for 3; the index a segment file name gives (nullopt for any other name).
std::string segment_file_name(std::uint64_t index);
std::optional<std::uint64_t> segment_index_of(std::string_view file_name);

// The segment files in `dir`, by the index their names give (other files are left out).
Result<std::map<std::uint64_t, std::string>> list_segment_files(const std::string& dir);

// Opens one segment file read-only, checks that it is a segment (schema version 2, a gsvs log)
// and returns its meta. The error names the file and what is wrong.
Result<SegmentMeta> read_segment_file_meta(const std::string& file);

// Where a chain of rows starts: entry 0 (the default), or the entry after a seal, whose prev_hash
// must be the seal's entry hash, with the tree over the entries before it.
struct ChainStart {
  std::uint64_t next_seq = 0;
  Hash32 previous;
  merkle::Accumulator accumulator;
};
// The chain start after `seal`, from `before`, the tree over the entries before the seal.
inline ChainStart chain_after_seal(const SegmentMeta::Seal& seal, merkle::Accumulator before) {
  before.append(seal.entry_hash);
  return ChainStart{seal.seq + 1, seal.entry_hash, std::move(before)};
}

// The checks of a segment's seals and links (docs/STORE.md §10.4), made by a read-write open and
// by the audit alike. Their errors name the entry and what is wrong, not the store or the file.
//
// The seal a segment records in `meta`, from the meta alone: there is one, first_seq follows it,
// and it is a Checkpoint over exactly the entries before it, signed with `vs_key`, whose recorded
// frontier gives the signed root. Returns the tree over the entries before the seal.
Result<merkle::Accumulator> check_recorded_seal(const SegmentMeta& meta,
                                                const crypto::PublicKey& vs_key);
// The end of the sealed segment before the one whose meta records `seal` (`recorded_by`, for the
// error): its last row, `last_seq`, is the seal's entry, and `row`, its row at the seal's seq
// (nullopt: none), is that Checkpoint byte for byte, issued, with the recorded entry hash.
Status check_seal_row(std::uint64_t last_seq, const std::optional<Entry>& row,
                      const SegmentMeta::Seal& seal, const std::string& recorded_by);
// The first entry of a segment, `first`, links to the seal its meta records.
Status check_seal_link(const chains::LogEntryHeader& first, const SegmentMeta::Seal& seal);

}  // namespace gsvs::storage
