#include "audit-cli/scan.h"

#include "audit-cli/common.h"

namespace gsvs::audit {

namespace {

// storage::Log::scan ends at an unreadable row with "...: entry N: <reason> (scan again from
// entry M to read on)". Returns N, M and the reason, or nothing for any other error.
struct Unreadable {
  std::uint64_t seq = 0;
  std::uint64_t resume = 0;
  std::string reason;
};

std::optional<Unreadable> parse_unreadable(const std::string& error) {
  static constexpr std::string_view kResume = " (scan again from entry ";
  const auto resume_at = error.rfind(kResume);
  if (resume_at == std::string::npos) return std::nullopt;
  const auto number_at = resume_at + kResume.size();
  const auto number_end = error.find(' ', number_at);
  if (number_end == std::string::npos) return std::nullopt;
  auto resume = parse_u64(std::string_view(error).substr(number_at, number_end - number_at));
  static constexpr std::string_view kEntry = ": entry ";
  const auto entry_at = error.rfind(kEntry, resume_at);
  if (!resume || entry_at == std::string::npos) return std::nullopt;
  const auto seq_at = entry_at + kEntry.size();
  const auto seq_end = error.find(':', seq_at);
  if (seq_end == std::string::npos || seq_end > resume_at) return std::nullopt;
  auto seq = parse_u64(std::string_view(error).substr(seq_at, seq_end - seq_at));
  if (!seq) return std::nullopt;
  std::string reason = error.substr(seq_end + 2, resume_at - seq_end - 2);
  return Unreadable{*seq, *resume, std::move(reason)};
}

}  // namespace

Status scan_all(const storage::Log& log, std::uint64_t from_seq,
                const std::function<bool(const storage::Entry&)>& visit,
                const UnreadableRow& unreadable) {
  std::uint64_t from = from_seq;
  for (;;) {
    bool stopped = false;
    storage::Filter filter;
    filter.from_seq = from;
    Status status = log.scan(filter, [&](const storage::Entry& entry) {
      if (!visit(entry)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (status || stopped) return status;
    auto bad = parse_unreadable(status.error());
    if (!bad || bad->resume <= from) return status;
    if (unreadable) unreadable(bad->seq, bad->reason);
    from = bad->resume;
  }
}

}  // namespace gsvs::audit
