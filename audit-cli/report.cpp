// audit-cli report: a dispute report for one session (report_format.h, docs/AUDIT.md §4).
#include <fstream>
#include <iostream>
#include <memory>

#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/report_builder.h"
#include "audit-cli/report_format.h"
#include "audit-cli/store_segments.h"

namespace gsvs::audit {

namespace {

struct ReportOptions {
  std::string store;
  std::uint64_t session = 0;
  std::string output;
  std::string vs_pubkey;
  bool all_entries = false;
  bool json = false;
};

// A store directory: only the segments the session touches (docs/AUDIT.md §3.5). Otherwise the
// whole store.
Result<std::unique_ptr<storage::Log>> open_session_segments(const std::string& store,
                                                            protocol::SessionId session) {
  StoreSelection selection = usable(select_store(store, ""));
  if (!selection.segmented()) return open_store(store);
  auto range = session_segments(selection.directory, session);
  if (!range) return Error{range.error()};
  if (!*range) return open_store(store);  // the builder says the session is not there
  selection.range = *range;
  return open_selection(selection, storage::StoreRole::kVs);
}

int run_report(const ReportOptions& o) {
  std::optional<crypto::PublicKey> key;
  if (!o.vs_pubkey.empty()) key = usable(load_public_key(o.vs_pubkey, "--vs-pubkey")).key;
  report::BuildOptions options;
  options.session_id = o.session;
  options.vs_key = key;
  options.all_entries = o.all_entries;
  const auto log = usable(open_session_segments(o.store, o.session));
  const report::Built built = usable(report::build(*log, options), o.store + ": ");
  report::Analysis analysis = report::analyze(built.evidence, key);
  analysis.notes.insert(analysis.notes.begin(), built.notes.begin(), built.notes.end());
  const std::string bytes = report::serialize(analysis.document);
  const bool to_stdout = o.output == "-";
  if (to_stdout) {
    std::cout << bytes << std::flush;
  } else {
    std::ofstream file(o.output, std::ios::binary | std::ios::trunc);
    file << bytes;
    file.close();
    if (!file) throw CommandError("cannot write " + o.output);
  }
  const auto status =
      analysis.problems.empty() ? report::CheckStatus::kOk : report::CheckStatus::kFailed;
  auto summary = report::summary(status, analysis.problems, &analysis);
  summary["output"] = o.output;
  std::ostream& out = to_stdout ? std::cerr : std::cout;
  if (o.json) {
    out << report::serialize(summary);
  } else {
    out << (to_stdout ? std::string() : "wrote " + o.output + "\n")
        << report::summary_text(summary);
  }
  return status == report::CheckStatus::kOk ? kExitOk : kExitFailed;
}

}  // namespace

void setup_report(CLI::App& app, int& exit_code) {
  auto [cmd, o] = add_command(
      app, exit_code, "report",
      "Write a dispute report for one session: a JSON file that anyone holding only the VS public "
      "key can re-check offline with `verify-report`, without the store.",
      run_report);
  cmd->add_option("STORE", o->store,
                  "VS store (SQLite file, a directory of segments: only those the session "
                  "touches are read, or a postgresql:// database), opened read-only")
      ->required();
  cmd->add_option("--session", o->session, "session id (see `audit-cli sessions`)")->required();
  cmd->add_option("-o,--output", o->output, "report file to write ('-' for standard output)")
      ->required();
  cmd->add_option("--vs-pubkey", o->vs_pubkey,
                  "VS public key, HEX|FILE: named in the report, and every VS signature is "
                  "checked against it before writing (recommended)");
  cmd->add_flag("--all-entries", o->all_entries,
                "include every entry of the session, not only the evidence the verdict rests on");
  cmd->add_flag("--json", o->json, "print the summary as JSON instead of text");
  set_help_footer(
      *cmd,
      "The report holds, as exact bytes with their stored header fields: the JoinRequest and the\n"
      "VS-signed JoinAccept (which bind the session key and the movement limits), the Revocation\n"
      "and every entry it cites, and what its verdict needs to be recomputed (for a speed\n"
      "violation every digest and receipt of the session up to it). Each entry comes with a "
      "Merkle\n"
      "inclusion proof against the first VS-signed checkpoint covering it, and the checkpoints\n"
      "with consistency proofs between them. Entries after the last checkpoint are marked\n"
      "uncovered: only the hash chain vouches for them.\n"
      "The report is checked with the same code as verify-report before the command returns.",
      {{kExitOk, "written and every check passed"},
       {kExitFailed, "written, but a check failed (listed) or the evidence refutes the verdict"},
       {kExitUsage, "usage or I/O error, no such session"}},
      {"audit-cli report vs.db --session 7 --vs-pubkey vs.key.pub -o session7.json",
       "audit-cli verify-report session7.json --vs-pubkey vs.key.pub"});
}

}  // namespace gsvs::audit
