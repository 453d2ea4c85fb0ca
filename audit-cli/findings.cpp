#include "audit-cli/findings.h"

#include <algorithm>

namespace gsvs::audit {

std::string_view severity_name(Severity severity) {
  return severity == Severity::kFailure ? "failure" : "warning";
}

namespace {

// A run is the same problem on consecutive entries: every later checkpoint over an edited
// entry, or every row after an insertion or deletion that shifted the numbering.
bool merges_into(const Finding& last, const Finding& next) {
  const bool mergeable = next.check == check::kRenumbered || next.check == check::kCheckpointRoot;
  return mergeable && last.check == next.check && last.severity == next.severity &&
         last.expected == next.expected && next.seq > last.last_seq;
}

}  // namespace

void FindingSink::add(Finding finding) {
  if (finding.last_seq < finding.seq) finding.last_seq = finding.seq;
  (finding.severity == Severity::kFailure ? failures_ : warnings_) += finding.count;
  by_check_[finding.check] += finding.count;
  if (!kept_.empty() && merges_into(kept_.back(), finding)) {
    kept_.back().last_seq = finding.last_seq;
    kept_.back().count += finding.count;
    return;
  }
  if (keep_ != 0 && kept_.size() >= keep_) {
    omitted_ += finding.count;
    return;
  }
  kept_.push_back(std::move(finding));
}

std::vector<Finding> FindingSink::kept() const {
  std::vector<Finding> out = kept_;
  std::stable_sort(out.begin(), out.end(),
                   [](const Finding& a, const Finding& b) { return a.seq < b.seq; });
  return out;
}

}  // namespace gsvs::audit
