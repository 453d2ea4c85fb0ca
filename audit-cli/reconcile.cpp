// audit-cli reconcile: cross-checks a VS store with a GS store by exact bytes and checkpoints.
#include <iostream>

#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/message_json.h"
#include "audit-cli/reconcile_check.h"

namespace gsvs::audit {

namespace {

struct ReconcileOptions {
  std::string vs_store;
  std::string gs_store;
  std::string vs_pubkey;
  bool json = false;
};

int run_reconcile(const ReconcileOptions& o) {
  reconcile::Options options;
  if (!o.vs_pubkey.empty())
    options.vs_key = usable(load_public_key(o.vs_pubkey, "--vs-pubkey")).key;
  const auto vs = usable(open_store(o.vs_store), "VS store: ");
  // Either format: a GS store made before "gsvs-gs-log" says "gsvs-vs-log" (docs/STORE.md §2.2).
  const auto gs = usable(open_store(o.gs_store, std::nullopt), "GS store: ");
  const auto result = usable(reconcile::reconcile(*vs, *gs, options));
  if (o.json) {
    auto j = reconcile::to_json(result);
    j["vs_store"] = o.vs_store;
    j["gs_store"] = o.gs_store;
    j["vs_signatures_checked"] = options.vs_key.has_value();
    std::cout << json_text(j) << "\n";
  } else {
    if (!options.vs_key) {
      std::cout << "note: no --vs-pubkey: VS signatures on what the GS holds are not checked, so "
                   "a finding may rest on a forged GS store\n";
    }
    std::cout << reconcile::to_text(result);
  }
  return result.count(reconcile::Severity::kError) == 0 ? kExitOk : kExitFailed;
}

}  // namespace

void setup_reconcile(CLI::App& app, int& exit_code) {
  auto [cmd, o] = add_command(
      app, exit_code, "reconcile",
      "Cross-check a VS store with a GS's own store: what the GS says it received from the VS "
      "and sent to it, against the VS log, byte for byte; and the checkpoints the GS holds "
      "against the VS log's Merkle roots (a cut or rewritten VS log shows here).",
      run_reconcile);
  cmd->add_option("VS_STORE", o->vs_store, "VS store, opened read-only")->required();
  cmd->add_option("GS_STORE", o->gs_store,
                  "GS store (same schema: direction 1 = received from the VS, 2 = sent by the GS; "
                  "vs_time_ms is the GS clock), opened read-only")
      ->required();
  cmd->add_option("--vs-pubkey", o->vs_pubkey,
                  "VS public key, HEX|FILE: VS-signed messages the GS holds are checked, so only "
                  "genuine ones count as proof (recommended)");
  cmd->add_flag("--json", o->json, "print the result as JSON (only JSON on standard output)");
  set_help_footer(
      *cmd,
      "Findings (ERROR fails the command):\n"
      "  vs_log_cut              a GS checkpoint covers more entries than the VS log has\n"
      "  vs_log_rewritten        the VS log's Merkle root at a GS checkpoint's size differs\n"
      "  vs_log_changed_range    where the first change lies, between two GS checkpoints\n"
      "  vs_checkpoints_inconsistent / vs_equivocation  the VS signed two histories\n"
      "  differing_bytes         one position (session, kind, counter/seq), two byte strings\n"
      "  vs_missing_received     the GS received a message from the VS that the VS log lacks\n"
      "  vs_missing_sent         the GS sent a message the VS never logged, though it logged "
      "later\n"
      "                          ones (INFO vs_missing_sent_tail at the tail,\n"
      "                          vs_missing_sent_before_resume where the next was the GS's\n"
      "                          GsResume, within a heartbeat timeout)\n"
      "  gs_missing_issued       the VS issued a message the GS lacks, though the GS holds later\n"
      "                          ones (INFO gs_missing_issued_tail at the tail / after "
      "disconnect,\n"
      "                          gs_missing_issued_before_resume: a receipt or ticket lost in a\n"
      "                          VS restart that the GS's GsResume says it did not hold)\n"
      "  gs_missing_sent         the VS logged as received from the GS what the GS store lacks\n"
      "  vs_chain_broken         the VS log's own hash chain is broken (run `verify`)",
      {{kExitOk, "the stores agree (differences only where a connection or the VS went down)"},
       {kExitFailed, "an ERROR finding"},
       {kExitUsage, "usage or I/O error"}},
      {"audit-cli reconcile vs.db gs.db --vs-pubkey vs.key.pub"});
}

}  // namespace gsvs::audit
