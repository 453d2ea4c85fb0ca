// The checks of a store's hash chain, row by row, that `audit-cli verify` makes of a VS store and
// of a GS store alike (docs/STORE.md §3): seq contiguous, every entry_hash recomputed from the
// stored columns (a row hashed at another position is named as renumbered), every prev_hash link,
// and the kind and kind_name columns; and SQLite's own check of the files, which the hashes cannot
// see. Every problem becomes a Finding; the walk never stops at one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit-cli/findings.h"
#include "protocol/bytes.h"
#include "protocol/messages.h"
#include "storage/log.h"

namespace gsvs::audit {

class ChainCheck {
 public:
  // The rows read begin at `next_seq`: entry 0, or the entry after a seal (docs/STORE.md §10),
  // whose prev_hash must then be `link`.
  explicit ChainCheck(std::uint64_t next_seq = 0, const Hash32& link = Hash32{});

  struct Row {
    Hash32 recomputed;  // the entry hash of the stored columns
    std::uint64_t position =
        0;  // where the row was hashed: its seq, or its seq before a renumbering
  };
  // Checks a readable row against the one before it; problems are appended to `findings`.
  Row read(const storage::Entry& entry, std::vector<Finding>& findings);
  // A row at `seq` that cannot be read, for `reason`: its neighbours' links cannot be checked.
  void unreadable(std::uint64_t seq, const std::string& reason, std::vector<Finding>& findings);
  // The rows from `first` to `last` (nullopt: to the file's end, which the damage hides) on
  // damaged pages of the file, for `reason`: one finding for them all (a damaged interior page
  // hides thousands).
  void damaged(std::uint64_t first, std::optional<std::uint64_t> last, const std::string& reason,
               std::vector<Finding>& findings);

 private:
  // The seq gap before `seq`, if the rows skip from next_seq_ to it.
  void gap_before(std::uint64_t seq, std::vector<Finding>& findings) const;

  std::uint64_t next_seq_;
  std::optional<Hash32> prev_stored_;  // stored entry_hash of the row before, if it was readable
};

// The kind_name column against the name of the row's kind (a kind this build knows, or none).
std::optional<Finding> check_kind_name(const storage::Entry& entry);
// The kind column against the kind of `message`, the row's message decoded.
std::optional<Finding> check_message_kind(const storage::Entry& entry,
                                          const protocol::AnyMessage& message);

// The storage engine's own check of the files `log` read (storage::Log::check_files): each
// problem, or the check that could not run, is a store.file finding at position `at`.
void check_store_files(const storage::Log& log, std::uint64_t at, FindingSink& sink);

}  // namespace gsvs::audit
