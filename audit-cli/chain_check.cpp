#include "audit-cli/chain_check.h"

#include <utility>

#include "audit-cli/common.h"
#include "protocol/chains.h"

namespace gsvs::audit {

ChainCheck::ChainCheck(std::uint64_t next_seq, const Hash32& link) : next_seq_(next_seq) {
  if (next_seq > 0) prev_stored_ = link;
}

void ChainCheck::gap_before(std::uint64_t seq, std::vector<Finding>& findings) const {
  if (seq <= next_seq_) return;
  const std::uint64_t missing = seq - next_seq_;
  Finding gap = finding_at(next_seq_, check::kSeqGap, "entry " + std::to_string(next_seq_),
                           "the next row is entry " + std::to_string(seq),
                           std::to_string(missing) + (missing == 1 ? " entry" : " entries") +
                               " missing: rows deleted here, or a row's seq edited");
  gap.last_seq = seq - 1;
  gap.count = missing;
  findings.push_back(std::move(gap));
}

void ChainCheck::unreadable(std::uint64_t seq, const std::string& reason,
                            std::vector<Finding>& findings) {
  gap_before(seq, findings);
  findings.push_back(finding_at(seq, check::kRowUnreadable,
                                "a row with integer, blob and 32-byte hash columns as "
                                "docs/STORE.md §2 defines",
                                reason,
                                "the row cannot be checked; its neighbours' links are not either"));
  next_seq_ = seq + 1;
  prev_stored_.reset();
}

void ChainCheck::damaged(std::uint64_t first, std::optional<std::uint64_t> last,
                         const std::string& reason, std::vector<Finding>& findings) {
  gap_before(first, findings);
  std::string rows = "entries from " + std::to_string(first) + " to the end of the file";
  if (last) {
    rows = first == *last ? "entry " + std::to_string(first)
                          : "entries " + std::to_string(first) + " to " + std::to_string(*last);
  }
  Finding& f = findings.emplace_back(finding_at(
      first, check::kRowUnreadable, "rows the storage engine can read",
      rows + " on damaged pages of the file: " + reason,
      std::string(last ? "these entries cannot be checked, nor the links to them; the entries "
                         "after them were read, and their hashes, links and signatures checked"
                       : "nothing after them can be read, nor where the file ends") +
          ". The store.file findings say what SQLite finds damaged: keep the file as it is, and "
          "look for the entries in a copy or an archive of the store"));
  // A run of entries, as merged findings are (`last_seq`, `count` in JSON), where its end is known.
  if (last) {
    f.last_seq = *last;
    f.count = *last - first + 1;
  }
  next_seq_ = last.value_or(first) + 1;
  prev_stored_.reset();
}

ChainCheck::Row ChainCheck::read(const storage::Entry& entry, std::vector<Finding>& findings) {
  const auto& h = entry.header;
  const bool after_gap = h.seq > next_seq_;
  gap_before(h.seq, findings);
  next_seq_ = h.seq + 1;

  Row row{chains::log_entry_hash(h, entry.message), h.seq};
  if (row.recomputed != entry.entry_hash) {
    // A row renumbered by an insertion or deletion before it still hashes as its old position.
    std::optional<std::int64_t> shift;
    for (const std::int64_t delta : {-1, 1, -2, 2, -3, 3}) {
      const auto old_seq = static_cast<std::int64_t>(h.seq) + delta;
      if (old_seq < 0) continue;
      chains::LogEntryHeader moved = h;
      moved.seq = static_cast<std::uint64_t>(old_seq);
      if (chains::log_entry_hash(moved, entry.message) == entry.entry_hash) {
        shift = -delta;
        break;
      }
    }
    if (shift) {
      row.position = static_cast<std::uint64_t>(static_cast<std::int64_t>(h.seq) - *shift);
      findings.push_back(finding_at(
          h, check::kRenumbered, "rows at the positions they were hashed at",
          "a row hashed at position " + std::to_string(row.position) + " (renumbered by " +
              (*shift > 0 ? "+" : "") + std::to_string(*shift) + ")",
          *shift > 0 ? "an entry was inserted before these rows"
                     : "an entry was deleted before these rows"));
    } else {
      findings.push_back(finding_at(h, check::kEntryHash, "entry_hash " + to_hex(row.recomputed),
                                    "entry_hash " + to_hex(entry.entry_hash),
                                    "the row's columns (seq, kind, direction, session_id, "
                                    "vs_time_ms, prev_hash, message) were edited"));
    }
  }
  if (h.seq == 0) {
    if (!h.prev_entry_hash.is_zero()) {
      findings.push_back(finding_at(h, check::kPrevHash, "prev_hash of 32 zero bytes",
                                    "prev_hash " + to_hex(h.prev_entry_hash)));
    }
  } else if (prev_stored_ && !after_gap && h.prev_entry_hash != *prev_stored_) {
    findings.push_back(finding_at(h, check::kPrevHash,
                                  "prev_hash " + to_hex(*prev_stored_) + " (entry_hash of entry " +
                                      std::to_string(h.seq - 1) + ")",
                                  "prev_hash " + to_hex(h.prev_entry_hash),
                                  "a row edited, removed, inserted or reordered here"));
  }
  prev_stored_ = entry.entry_hash;
  return row;
}

std::optional<Finding> check_kind_name(const storage::Entry& entry) {
  const protocol::MessageKind kind = entry.header.kind;
  const std::string expected = protocol::is_known(kind) ? kind_label(kind) : std::string();
  const auto& name = entry.kind_name;
  if (name && (!protocol::is_known(kind) || *name == expected)) return std::nullopt;
  return finding_at(
      entry.header, check::kKindName, "kind_name '" + expected + "'",
      name ? "kind_name '" + *name + "'" : "no text kind_name",
      "kind_name is not covered by the entry hash, but it is what a reader of the store sees");
}

std::optional<Finding> check_message_kind(const storage::Entry& entry,
                                          const protocol::AnyMessage& message) {
  const protocol::MessageKind actual = protocol::kind_of(message);
  if (actual == entry.header.kind) return std::nullopt;
  return finding_at(entry.header, check::kKind, "kind " + kind_label(entry.header.kind),
                    "a message of kind " + kind_label(actual));
}

void check_store_files(const storage::Log& log, std::uint64_t at, FindingSink& sink) {
  constexpr std::size_t kMaxFileProblems = 20;  // the first few say what is damaged
  auto problems = log.check_files(kMaxFileProblems);
  if (!problems) {
    sink.add(finding_at(at, check::kStoreFile, "a file SQLite can check", problems.error()));
    return;
  }
  for (auto& [file, problem] : *problems) {
    Finding f = finding_at(at, check::kStoreFile, "a whole file (SQLite's integrity check)",
                           std::move(problem),
                           "SQLite's own structures are damaged, which the entry hashes do not "
                           "cover: an index that disagrees with its table makes lookups miss or "
                           "misplace rows. The entries were verified from the table rows; keep "
                           "the file as it is and repair a copy (REINDEX rebuilds an index)");
    f.file = std::move(file);
    sink.add(std::move(f));
  }
}

}  // namespace gsvs::audit
