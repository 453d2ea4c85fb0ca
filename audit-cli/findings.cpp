#include "audit-cli/findings.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "app/log_line.h"
#include "audit-cli/common.h"

namespace gsvs::audit {

std::string_view severity_name(Severity severity) {
  return severity == Severity::kFailure ? "failure" : "warning";
}

Finding finding_at(std::uint64_t seq, std::string_view check, std::string expected,
                   std::string found, std::string detail) {
  Finding f;
  f.seq = seq;
  f.check = std::string(check);
  f.expected = std::move(expected);
  f.found = std::move(found);
  f.detail = std::move(detail);
  return f;
}

Finding finding_at(const chains::LogEntryHeader& header, std::string_view check,
                   std::string expected, std::string found, std::string detail) {
  Finding f =
      finding_at(header.seq, check, std::move(expected), std::move(found), std::move(detail));
  f.kind = static_cast<std::uint8_t>(header.kind);
  f.session_id = header.session_id;
  return f;
}

namespace {

// A run is the same problem repeated down the log: every row after an insertion or deletion
// that shifted the numbering, every later checkpoint over an edited entry. It is kept as one
// finding (first and last position, count), even when other findings fall in between.
bool mergeable(const Finding& f) {
  return f.check == check::kRenumbered || f.check == check::kCheckpointRoot ||
         f.check == check::kCheckpointSize;
}

bool same_run(const Finding& run, const Finding& next) {
  return run.check == next.check && run.severity == next.severity &&
         run.expected == next.expected && run.file == next.file && next.seq > run.last_seq;
}

}  // namespace

void FindingSink::add(Finding finding) {
  if (finding.last_seq < finding.seq) finding.last_seq = finding.seq;
  if (finding.file.empty() && locate_file_) finding.file = locate_file_(finding.seq);
  (finding.severity == Severity::kFailure ? failures_ : warnings_) += finding.count;
  by_check_[finding.check] += finding.count;
  if (mergeable(finding)) {
    auto run = runs_.find(finding.check);
    if (run != runs_.end() && same_run(kept_[run->second], finding)) {
      kept_[run->second].last_seq = finding.last_seq;
      kept_[run->second].count += finding.count;
      return;
    }
    if (keep_ == 0 || kept_.size() < keep_) runs_[finding.check] = kept_.size();
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

nlohmann::json to_json(const Finding& finding) {
  nlohmann::json out = {{"seq", finding.seq},
                        {"severity", severity_name(finding.severity)},
                        {"check", finding.check},
                        {"expected", finding.expected},
                        {"found", finding.found}};
  if (finding.count > 1 || finding.last_seq != finding.seq) {
    out["last_seq"] = finding.last_seq;
    out["count"] = finding.count;
  }
  if (finding.kind) {
    out["kind"] = kind_label(*finding.kind);
    out["kind_code"] = *finding.kind;
  }
  if (finding.session_id != 0) out["session_id"] = finding.session_id;
  if (!finding.detail.empty()) out["detail"] = finding.detail;
  if (!finding.file.empty()) out["file"] = finding.file;
  if (finding.line) out["line"] = *finding.line;
  return out;
}

std::string to_text(const Finding& finding) {
  std::string where = "entry " + std::to_string(finding.seq);
  if (finding.last_seq != finding.seq) {
    where = std::to_string(finding.count) + " entries from " + std::to_string(finding.seq) +
            " to " + std::to_string(finding.last_seq);
  }
  std::string about;
  if (finding.kind) about = kind_label(*finding.kind);
  if (finding.session_id != 0) {
    about +=
        (about.empty() ? "" : ", ") + std::string("session ") + std::to_string(finding.session_id);
  }
  if (finding.line) where = "line " + std::to_string(*finding.line) + ", " + where;
  if (!finding.file.empty()) where = finding.file + ": " + where;
  std::string out = where + (about.empty() ? "" : " (" + about + ")") + " [" + finding.check + "]";
  if (finding.severity == Severity::kWarning) out += " warning";
  out += "\n      expected: " + app::log_text(finding.expected) +
         "\n      found:    " + app::log_text(finding.found);
  if (!finding.detail.empty()) out += "\n      why:      " + app::log_text(finding.detail);
  return out;
}

}  // namespace gsvs::audit
