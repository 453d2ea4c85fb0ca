// The one printer of a check's result, for `report` and `verify-report`.
#include <sstream>

#include "app/log_line.h"
#include "audit-cli/common.h"
#include "audit-cli/report_format.h"

namespace gsvs::audit::report {

using nlohmann::json;

std::string format_problem(const Problem& problem) {
  return app::log_text(problem.where + ": " + problem.what);
}

nlohmann::json summary(CheckStatus status, const std::vector<Problem>& problems,
                       const Analysis* analysis) {
  json out;
  out["status"] = status == CheckStatus::kOk       ? "ok"
                  : status == CheckStatus::kFailed ? "failed"
                                                   : "malformed";
  json list = json::array();
  for (const auto& p : problems) list.push_back({{"where", p.where}, {"what", p.what}});
  out["problems"] = std::move(list);
  if (!analysis) return out;
  const json& doc = analysis->document;
  const json& session = doc["session"];
  for (const char* key :
       {"session_id", "gs_identity", "sw_hash", "outcome", "revocation", "not_revoked_through"}) {
    out[key] = session[key];
  }
  out["verdict"] = doc["verdict"].is_null() ? json(nullptr)
                                            : json{{"outcome", doc["verdict"]["outcome"]},
                                                   {"explanation", doc["verdict"]["explanation"]}};
  out["entries"] = analysis->entries;
  out["covered_by_checkpoints"] = analysis->covered;
  out["uncovered_seqs"] = doc["uncovered_seqs"];
  json sizes = json::array();
  for (const auto& c : doc["checkpoints"]) sizes.push_back(c["log_size"]);
  out["checkpoint_log_sizes"] = std::move(sizes);
  out["vs_signatures_checked"] = analysis->vs_signatures_checked;
  out["notes"] = analysis->notes;
  return out;
}

std::string summary_text(const nlohmann::json& s) {
  std::ostringstream out;
  // A report is anyone's file: its strings are escaped (app::log_text) so that none can move the
  // cursor, overwrite a line or forge one on the reader's terminal.
  auto text = [](const json& v) {
    return app::log_text(v.is_string() ? v.get<std::string>()
                                       : v.dump(-1, ' ', false, json::error_handler_t::replace));
  };
  if (s.contains("session_id")) {
    out << "session " << text(s["session_id"]) << ": GS identity " << text(s["gs_identity"])
        << ", build " << text(s["sw_hash"]) << "\n";
    if (s["revocation"].is_object()) {
      const json& r = s["revocation"];
      const std::string when = r["vs_time_ms"].is_number_unsigned()
                                   ? format_utc(r["vs_time_ms"].get<std::uint64_t>())
                                   : "?";
      out << "revoked at entry " << text(r["seq"]) << " (" << when << "): " << text(r["reason"])
          << ": " << text(r["detail"]) << "\n";
    } else if (s["not_revoked_through"].is_number_unsigned()) {
      out << "not revoked in the log's first " << text(s["not_revoked_through"])
          << " entries (the latest checkpoint of the report)\n";
    } else {
      out << "not revoked in the report; no checkpoint proves that the log holds no "
             "Revocation\n";
    }
    out << "evidence: " << text(s["entries"]) << " entries, " << text(s["covered_by_checkpoints"])
        << " proven under ";
    const json& sizes = s["checkpoint_log_sizes"];
    if (sizes.size() > 6) {
      out << sizes.size() << " VS-signed checkpoints (log sizes " << text(sizes.front()) << " to "
          << text(sizes.back()) << ")";
    } else {
      out << "VS-signed checkpoints (log sizes ";
      for (std::size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << text(sizes[i]);
      out << ")";
    }
    if (!s["uncovered_seqs"].empty()) {
      out << "; not yet covered by any checkpoint (only the hash chain vouches for them): entries";
      for (const auto& seq : s["uncovered_seqs"]) out << " " << text(seq);
    }
    out << "\n";
    if (s["verdict"].is_object()) {
      out << "verdict: " << text(s["verdict"]["outcome"]) << ": "
          << text(s["verdict"]["explanation"]) << "\n";
    }
    for (const auto& note : s["notes"]) out << "note: " << text(note) << "\n";
  }
  const json& problems = s["problems"];
  if (s["status"] == "ok") {
    out << "OK: every claim in the report checks out\n";
  } else {
    out << (s["status"] == "malformed" ? "MALFORMED: " : "FAILED: ") << problems.size()
        << (problems.size() == 1 ? " problem" : " problems") << "\n";
    for (const auto& p : problems)
      out << "  " << text(p["where"]) << ": " << text(p["what"]) << "\n";
  }
  return out.str();
}

}  // namespace gsvs::audit::report
