#include "audit-cli/scan.h"

#include <string>

namespace gsvs::audit {

Status scan_all(const storage::Log& log, std::uint64_t from_seq,
                const std::function<bool(const storage::Entry&)>& visit,
                const UnreadableRow& unreadable) {
  storage::Filter filter;
  filter.from_seq = from_seq;
  if (unreadable) return log.scan(filter, visit, unreadable);
  // The verify command reports unreadable rows; the other walks read past them.
  return log.scan(filter, visit, [](std::uint64_t, const std::string&) {});
}

}  // namespace gsvs::audit
