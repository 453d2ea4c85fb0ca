// What the audit reports: one Finding per problem, with the log position it is at, what was
// expected and what was found. "Corruption is data": checks report every problem to a sink and
// read on; the sink keeps the first N for printing and counts all of them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/chains.h"
#include "protocol/messages.h"

namespace gsvs::audit {

enum class Severity {
  kFailure,  // the store or the VS broke a rule: `verify` fails (exit 1)
  kWarning,  // worth an investigator's attention, but not a broken rule (e.g. a VS race)
};
std::string_view severity_name(Severity severity);

// Stable names of the checks, used as Finding::check and in JSON. Grouped by what they cover.
namespace check {
inline constexpr std::string_view kRowUnreadable = "row.unreadable";
// A warning: what verify no longer checks past rows that cannot be read (the replay, a session).
inline constexpr std::string_view kNotFollowed = "row.unreadable.not_followed";
// The storage engine's own check of a file (SQLite's integrity check): pages and indexes.
inline constexpr std::string_view kStoreFile = "store.file";
inline constexpr std::string_view kSeqGap = "chain.seq_gap";
inline constexpr std::string_view kEntryHash = "chain.entry_hash";
inline constexpr std::string_view kRenumbered = "chain.renumbered";
inline constexpr std::string_view kPrevHash = "chain.prev_hash";
inline constexpr std::string_view kKind = "entry.kind";
inline constexpr std::string_view kKindName = "entry.kind_name";
inline constexpr std::string_view kDirection = "entry.direction";
inline constexpr std::string_view kSession = "entry.session";
inline constexpr std::string_view kDecode = "entry.decode";
inline constexpr std::string_view kSignature = "signature";
inline constexpr std::string_view kVsKey = "signature.vs_key";
inline constexpr std::string_view kCheckpointSize = "checkpoint.log_size";
inline constexpr std::string_view kCheckpointRoot = "checkpoint.root";
inline constexpr std::string_view kExternalCheckpoint = "checkpoint.external";
inline constexpr std::string_view kTruncated = "checkpoint.truncated";
inline constexpr std::string_view kJoin = "join";
inline constexpr std::string_view kCounter = "session.gs_counter";
inline constexpr std::string_view kReaction = "session.reaction";
inline constexpr std::string_view kTicket = "ticket";
inline constexpr std::string_view kReceipt = "receipt";
inline constexpr std::string_view kRevocation = "revocation";
inline constexpr std::string_view kEvidence = "revocation.evidence";
inline constexpr std::string_view kAfterRevocation = "session.after_revocation";
inline constexpr std::string_view kPardon = "pardon";  // lifts the quarantine in force (§8.16)
// A StateCarried restates the quarantines, numbers and policy before it (§5.29, §8.16).
inline constexpr std::string_view kStateCarried = "state_carried";
// A VsStart's rules version (PROTOCOL.md §8.18) that this build's rules are not.
inline constexpr std::string_view kRulesVersion = "rules.version";
// Segmented stores (docs/STORE.md §10): the files, their seals and links, the seal index.
inline constexpr std::string_view kSegmentMeta = "segment.meta";
inline constexpr std::string_view kSegmentMissing = "segment.missing";
inline constexpr std::string_view kSegmentSeal = "segment.seal";
inline constexpr std::string_view kSegmentLink = "segment.link";
inline constexpr std::string_view kSealIndex = "segment.seal_index";
}  // namespace check

struct Finding {
  std::uint64_t seq = 0;             // the log position the problem is at
  std::uint64_t last_seq = 0;        // == seq, or the last position of a run of the same problem
  std::uint64_t count = 1;           // entries in the run
  std::optional<std::uint8_t> kind;  // the entry's kind column, when there is an entry
  protocol::SessionId session_id = 0;
  Severity severity = Severity::kFailure;
  std::string check;  // one of check::k*
  std::string expected;
  std::string found;
  std::string detail;  // context: why it matters, what else it implies (may be empty)
  // The file the problem is in: a segmented store's segment (or its seal index), the store's
  // file otherwise. Empty: the sink fills it in from the position, when it was told the files.
  std::string file;
  std::optional<std::uint64_t> line;  // a line of that file (the seal index), when it has lines
};

// A finding at log position `seq` (no entry: a gap, an unreadable row, a segment file), with the
// check and what was expected and found there.
Finding finding_at(std::uint64_t seq, std::string_view check, std::string expected,
                   std::string found, std::string detail = {});
// A finding at a stored entry: its position, kind and session column as well.
Finding finding_at(const chains::LogEntryHeader& header, std::string_view check,
                   std::string expected, std::string found, std::string detail = {});

// Receives findings in (roughly) log order. Keeps at most `keep` (0: all) in memory, merges
// runs of the same renumbering or checkpoint-root problem into one finding, and counts
// everything by check and severity.
class FindingSink {
 public:
  explicit FindingSink(std::size_t keep = 1000) : keep_(keep) {}

  void add(Finding finding);
  // Names the file of each finding added without one: the file that holds its position.
  void set_file_locator(std::function<std::string(std::uint64_t seq)> locate) {
    locate_file_ = std::move(locate);
  }

  [[nodiscard]] std::uint64_t failures() const { return failures_; }
  [[nodiscard]] std::uint64_t warnings() const { return warnings_; }
  // Kept findings, sorted by position (the first `keep` reported).
  [[nodiscard]] std::vector<Finding> kept() const;
  // Findings reported but not kept (beyond `keep`), by check.
  [[nodiscard]] std::uint64_t omitted() const { return omitted_; }
  [[nodiscard]] const std::map<std::string, std::uint64_t>& by_check() const { return by_check_; }

 private:
  std::size_t keep_;
  std::vector<Finding> kept_;
  std::uint64_t failures_ = 0;
  std::uint64_t warnings_ = 0;
  std::uint64_t omitted_ = 0;
  std::map<std::string, std::uint64_t> by_check_;
  std::map<std::string, std::size_t> runs_;  // check -> index in kept_ of its open run
  std::function<std::string(std::uint64_t)> locate_file_;
};

// One finding as JSON: seq, last_seq and count (runs), kind and kind_code, session_id,
// severity, check, expected, found, detail, file and line.
nlohmann::json to_json(const Finding& finding);
// "segment-00000002.db: entry 1234 (Heartbeat, session 7) [signature]" and three indented lines:
// expected, found, and why (when there is a detail).
std::string to_text(const Finding& finding);

}  // namespace gsvs::audit
