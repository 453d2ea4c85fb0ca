// audit-cli sessions: one row per session, from the session index.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/log_line.h"
#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/message_json.h"
#include "audit-cli/quarantine_history.h"
#include "audit-cli/session_index.h"
#include "rules/quarantine.h"

namespace gsvs::audit {

namespace {

struct SessionsCommand {
  std::string store;
  bool json = false;
};

std::string outcome_text(const SessionFacts& s) {
  switch (s.outcome()) {
    case Outcome::kActive:
      return "active";
    case Outcome::kEnded:
      return "ended (" + revocation_reason_name(s.revocation->message.reason) + ")";
    case Outcome::kRevoked:
      // A revocation for a fault of the GS also quarantines its identity (PROTOCOL.md §8.16).
      return "revoked: " + revocation_reason_name(s.revocation->message.reason) +
             (rules::quarantines(s.revocation->message.reason) ? ", quarantined" : "");
  }
  return "unknown";
}

nlohmann::json revocation_json(const RevocationFacts& revocation) {
  const auto& r = revocation.message;
  return {{"seq", revocation.seq},
          {"revocation_seq", r.revocation_seq},
          {"reason", revocation_reason_name(r.reason)},
          {"reason_code", r.reason},
          {"detail", r.detail},
          {"evidence", r.evidence}};
}

nlohmann::json session_json(const SessionFacts& s) {
  return {
      {"session_id", s.session_id},
      {"gs_identity", to_hex(s.accept.gs_identity)},
      {"session_key", to_hex(s.accept.session_key)},
      {"sw_hash", to_hex(s.accept.sw_hash)},
      {"join_accept_seq", s.join_accept_seq},
      {"start_vs_ms", s.start_vs_ms},
      {"start_utc", format_utc(s.start_vs_ms)},
      {"end_vs_ms", s.end_vs_ms()},
      {"end_utc", format_utc(s.end_vs_ms())},
      {"duration_ms", s.end_vs_ms() - std::min(s.end_vs_ms(), s.start_vs_ms)},
      {"last_seq", s.last_seq},
      {"outcome", outcome_name(s.outcome())},
      {"heartbeats", s.heartbeats},
      {"digests", s.digests},
      {"nonce_batches", s.nonce_batches},
      {"receipts", s.receipts},
      {"tickets", s.tickets},
      {"players", s.players},
      {"other_received", s.received_other},
      {"entries", s.entries},
      {"join_request_seq", s.join_request_seq ? nlohmann::json(*s.join_request_seq) : nullptr},
      {"quarantined_identity", s.revocation && rules::quarantines(s.revocation->message.reason)},
      {"revocation", s.revocation ? revocation_json(*s.revocation) : nullptr},
  };
}

// What became of a quarantine (PROTOCOL.md §8.16), as JSON: the same facts as the text.
nlohmann::json fate_json(const QuarantineFate& fate) {
  const auto lapses = fate.quarantine.lapses_at_ms();
  nlohmann::json out = {{"gs_identity", to_hex(fate.identity)},
                        {"revocation_seq", fate.quarantine.position},
                        {"since_vs_ms", fate.quarantine.since_ms},
                        {"quarantine_ms", fate.quarantine.quarantine_ms},
                        {"lapses_vs_ms", lapses ? nlohmann::json(*lapses) : nlohmann::json()},
                        {"end", quarantine_end_name(fate.end)}};
  if (fate.pardon) {
    out["pardon"] = {{"seq", fate.pardon->seq},
                     {"vs_time_ms", fate.pardon->message.vs_time_ms},
                     {"utc", format_utc(fate.pardon->message.vs_time_ms)},
                     {"reason", fate.pardon->message.reason}};
  }
  if (fate.renewed_by) out["renewed_by_seq"] = *fate.renewed_by;
  return out;
}

nlohmann::json pardon_json(const PardonFacts& p) {
  return {{"seq", p.seq},
          {"gs_identity", to_hex(p.message.gs_identity)},
          {"vs_time_ms", p.message.vs_time_ms},
          {"utc", format_utc(p.message.vs_time_ms)},
          {"revocation_position", p.message.revocation_position},
          {"reason", p.message.reason},
          {"lifted", p.lifted.has_value()}};
}

// After the table: each quarantine with what became of it, and every Pardon, who, when and why.
void print_quarantines(const QuarantineHistory& history) {
  if (history.by_revocation.empty() && history.pardons.empty()) return;
  std::cout << "\nQuarantined GS identities (PROTOCOL.md §8.16):\n";
  for (const auto& [seq, fate] : history.by_revocation) {
    std::cout << "  " << short_hex(fate.identity) << "  session " << fate.quarantine.session_id
              << " revoked for " << revocation_reason_name(fate.quarantine.reason) << " at "
              << format_utc(fate.quarantine.since_ms) << " (entry " << seq
              << "): " << app::log_text(describe_fate(fate)) << "\n";
  }
  for (const auto& p : history.pardons) {
    if (p.lifted) continue;
    std::cout << "  " << short_hex(p.message.gs_identity) << "  Pardon at entry " << p.seq
              << " lifts nothing: no quarantine of the identity held at "
              << format_utc(p.message.vs_time_ms) << " (run `audit-cli verify`)\n";
  }
}

std::string duration_text(std::uint64_t ms) {
  if (ms < 60'000) return fixed(static_cast<double>(ms) / 1000.0, 1) + " s";
  if (ms < 3'600'000) return fixed(static_cast<double>(ms) / 60'000.0, 1) + " min";
  return fixed(static_cast<double>(ms) / 3'600'000.0, 1) + " h";
}

void print_table(const StoreIndex& index) {
  std::cout << index.sessions.size() << " session" << (index.sessions.size() == 1 ? "" : "s")
            << " in " << group_digits(index.entries) << " entries; " << index.rejected_joins
            << " rejected join" << (index.rejected_joins == 1 ? "" : "s") << ".\n";
  if (index.sessions.empty()) return;
  std::cout << std::left << std::setw(8) << "session" << std::setw(18) << "gs identity"
            << std::setw(18) << "sw_hash" << std::setw(26) << "start (UTC)" << std::setw(10)
            << "duration" << std::setw(32) << "outcome" << std::right << std::setw(8) << "hbeats"
            << std::setw(8) << "digests" << std::setw(8) << "tickets" << std::setw(8) << "players"
            << "\n";
  for (const auto& [id, s] : index.sessions) {
    std::cout << std::left << std::setw(8) << id << std::setw(18) << short_hex(s.accept.gs_identity)
              << std::setw(18) << short_hex(s.accept.sw_hash) << std::setw(26)
              << format_utc(s.start_vs_ms) << std::setw(10)
              << duration_text(s.end_vs_ms() - std::min(s.end_vs_ms(), s.start_vs_ms))
              << std::setw(32) << outcome_text(s) << std::right << std::setw(8) << s.heartbeats
              << std::setw(8) << s.digests << std::setw(8) << s.tickets << std::setw(8) << s.players
              << "\n";
  }
  if (index.unindexed > 0) {
    std::cout << "\n"
              << index.unindexed
              << " entries could not be attributed to a session (run `audit-cli verify`).\n";
  }
}

int run_sessions(const SessionsCommand& cmd) {
  const auto log = usable(open_store(cmd.store));
  const StoreIndex index = usable(build_index(*log));
  const QuarantineHistory quarantines = usable(build_quarantine_history(*log, index));
  if (cmd.json) {
    nlohmann::json sessions = nlohmann::json::array();
    for (const auto& [id, s] : index.sessions) {
      nlohmann::json row = session_json(s);
      const QuarantineFate* fate =
          s.revocation ? quarantines.of_revocation(s.revocation->seq) : nullptr;
      row["quarantine"] = fate ? fate_json(*fate) : nlohmann::json();
      sessions.push_back(std::move(row));
    }
    nlohmann::json pardons = nlohmann::json::array();
    for (const auto& p : quarantines.pardons) pardons.push_back(pardon_json(p));
    nlohmann::json out = {{"store", storage::printable_store(cmd.store)},
                          {"entries", index.entries},
                          {"rejected_joins", index.rejected_joins},
                          {"checkpoints", index.checkpoints},
                          {"unindexed", index.unindexed},
                          {"sessions", sessions},
                          {"pardons", pardons}};
    std::cout << json_text(out) << "\n";
  } else {
    print_table(index);
    print_quarantines(quarantines);
  }
  return kExitOk;
}

}  // namespace

void setup_sessions(CLI::App& app, int& exit_code) {
  auto [sub, cmd] =
      add_command(app, exit_code, "sessions",
                  "List every session: who, which build, when, how it ended", run_sessions);
  sub->description(
      "One row per session the VS accepted: its GS identity and build hash (sw_hash), when it "
      "started and ended (VS clock, UTC), its outcome and how much it sent.\n"
      "Outcome: 'active' (no revocation in the log: the VS was running when the copy was taken, "
      "or the tail is missing), 'ended (vs_shutdown)' (the VS stopped; nothing held against the "
      "GS), or 'revoked: REASON', with ', quarantined' where the revocation quarantined the GS "
      "identity (PROTOCOL.md §8.16: its later joins are refused). Below the table, each "
      "quarantine and what became of it: pardoned (who, when, the operator's reason), lapsed "
      "(quarantine_ms after it began), renewed, or in force where the log ends.\n"
      "Counts are entries in the log: heartbeats, digests (TranscriptDigests) and nonce batches "
      "received, tickets issued, and distinct players seen in the digests. Nothing is verified "
      "here: run `audit-cli verify` for that.");
  sub->add_option("STORE", cmd->store, "The store (opened read-only)")->required();
  sub->add_flag("--json", cmd->json,
                "Print one JSON object on stdout, with every field (keys, revocation detail and "
                "evidence positions)");
  set_help_footer(
      *sub, "", {{kExitOk, "done"}, {kExitUsage, "usage error or the store cannot be read"}},
      {"audit-cli sessions vs.db --json | jq '.sessions[] | select(.outcome==\"revoked\")'"});
}

}  // namespace gsvs::audit
