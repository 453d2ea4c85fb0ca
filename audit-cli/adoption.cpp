// audit-cli verify-adoption: a fleet audit across two logs (PROTOCOL.md §8.10 "When a node
// dies"). One log's audit takes a SessionAdopted's state as the earlier node's word; this checks
// it against that node's log: the size and head hash it names, the JoinAccept it carries, and the
// state, recomputed by the same reading the adopting node made (fleet/adoption.h).
#include "fleet/adoption.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/message_json.h"

namespace gsvs::audit {

namespace {

struct AdoptionOptions {
  std::string adopting;  // the log that holds the SessionAdopted entries
  std::string from;      // the log of the node they name
  std::string adopting_pubkey;
  std::string from_pubkey;
  bool json = false;
};

// What is wrong with `adopted` against `from`, the log of the node it names; empty when it is the
// state that log leaves.
std::vector<std::string> problems_of(const protocol::SessionAdopted& adopted,
                                     const storage::Log& from) {
  if (adopted.from_log_size == 0 || adopted.from_log_size > from.size()) {
    return {"it read " + std::to_string(adopted.from_log_size) + " entries of a log that holds " +
            std::to_string(from.size())};
  }
  auto head = from.get(adopted.from_log_size - 1);
  if (!head) {
    return {"entry " + std::to_string(adopted.from_log_size - 1) +
            " of the earlier log cannot be read: " + head.error()};
  }
  std::vector<std::string> problems;
  if (head->entry_hash != adopted.from_log_head) {
    problems.push_back("from_log_head is not the entry hash of entry " +
                       std::to_string(adopted.from_log_size - 1) + " of the earlier log");
  }
  auto in =
      fleet::read_session(from, adopted.session_id, adopted.from_log_size, adopted.from_vs_key);
  if (!in) {
    problems.push_back(in.error());
    return problems;
  }
  if (in->rules.ended()) problems.emplace_back("the earlier log revoked the session before");
  if (in->owed) problems.push_back("the earlier log owed it a revocation: " + in->owed->why);
  auto expected =
      fleet::adoption_of(*in, adopted.from_vs_key, adopted.from_log_size, adopted.from_log_head);
  if (!expected) {
    problems.push_back(expected.error());
    return problems;
  }
  expected->vs_time_ms = adopted.vs_time_ms;
  expected->signatures = adopted.signatures;
  if (protocol::encode(*expected) != protocol::encode(adopted)) {
    std::string differ;
    auto field = [&](bool same, std::string_view name) {
      if (!same) differ += (differ.empty() ? "" : ", ") + std::string(name);
    };
    field(expected->join_accept == adopted.join_accept, "join_accept");
    field(expected->gs_counter == adopted.gs_counter, "gs_counter");
    field(expected->receipt_count_seen == adopted.receipt_count_seen, "receipt_count_seen");
    field(expected->receipt_count == adopted.receipt_count &&
              expected->receipt_tips == adopted.receipt_tips,
          "receipts");
    field(expected->ticket_seq == adopted.ticket_seq &&
              expected->ticket_hashes == adopted.ticket_hashes,
          "tickets");
    field(expected->pending_nonces == adopted.pending_nonces, "pending_nonces");
    field(expected->players_in_play == adopted.players_in_play &&
              expected->liveness_since_ms == adopted.liveness_since_ms &&
              expected->digests_since_ms == adopted.digests_since_ms,
          "deadlines");
    field(expected->positions == adopted.positions, "positions");
    problems.push_back("its state is not the one the earlier log leaves (" + differ + ")");
  }
  return problems;
}

int run_verify_adoption(const AdoptionOptions& o) {
  const KeySource adopting_key = usable(load_public_key(o.adopting_pubkey, "--vs-pubkey"));
  const KeySource from_key = usable(load_public_key(o.from_pubkey, "--from-pubkey"));
  const auto adopting = usable(open_store(o.adopting));
  const auto from = usable(open_store(o.from));
  nlohmann::json sessions = nlohmann::json::array();
  std::size_t failed = 0;
  storage::Filter adoptions;
  adoptions.kind = protocol::MessageKind::kSessionAdopted;
  Status scanned = adopting->scan(adoptions, [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    std::vector<std::string> problems;
    auto adopted = protocol::decode<protocol::SessionAdopted>(entry.message);
    if (!adopted) {
      problems.push_back("does not decode: " + adopted.error());
    } else if (!protocol::verify(*adopted, adopting_key.key)) {
      problems.emplace_back("its signature does not verify under the adopting node's key");
    } else if (adopted->from_vs_key != from_key.key) {
      return true;  // taken from another node: another log's to check
    } else {
      problems = problems_of(*adopted, *from);
    }
    if (!problems.empty()) ++failed;
    sessions.push_back({{"seq", entry.header.seq},
                        {"session_id", entry.header.session_id},
                        {"from_log_size", adopted ? adopted->from_log_size : 0},
                        {"problems", problems}});
    return true;
  });
  if (!scanned) throw CommandError(o.adopting + ": " + scanned.error());
  if (o.json) {
    std::cout << json_text({{"adoptions", sessions}, {"failed", failed}}) << "\n";
  } else {
    for (const auto& s : sessions) {
      std::cout << "session " << s["session_id"].get<std::uint64_t>()
                << " (SessionAdopted at entry " << s["seq"].get<std::uint64_t>() << "): ";
      if (s["problems"].empty()) {
        std::cout << "the state the earlier log leaves after "
                  << group_digits(s["from_log_size"].get<std::uint64_t>()) << " entries\n";
      } else {
        std::cout << "FAILED\n";
        for (const auto& p : s["problems"]) std::cout << "  " << p.get<std::string>() << "\n";
      }
    }
    std::cout << (failed == 0 ? "INTACT" : "FAILED") << ": " << sessions.size()
              << " adoption(s) from the log given, " << failed << " failed\n";
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace

void setup_verify_adoption(CLI::App& app, int& exit_code) {
  auto [sub, o] = add_command(
      app, exit_code, "verify-adoption",
      "Check a fleet node's adoptions against the log of the node it took the sessions from",
      run_verify_adoption);
  sub->add_option("STORE", o->adopting, "The adopting node's log (a copy, or postgresql://)")
      ->required();
  sub->add_option("--from", o->from, "The log of the node the sessions were taken from")
      ->required();
  sub->add_option("--vs-pubkey", o->adopting_pubkey, "The adopting node's public key (HEX|FILE)")
      ->required();
  sub->add_option("--from-pubkey", o->from_pubkey,
                  "The public key of the node the sessions were taken from (HEX|FILE)")
      ->required();
  sub->add_flag("--json", o->json, "Print one JSON object on stdout");
  set_help_footer(
      *sub,
      "For each SessionAdopted of STORE that names --from-pubkey (PROTOCOL.md §8.10): its "
      "signature under --vs-pubkey; that --from holds at least from_log_size entries and that "
      "entry from_log_size - 1 hashes to from_log_head; the session's JoinAccept there, signed "
      "by --from-pubkey; and the state, recomputed from the session's entries below "
      "from_log_size as the adopting node reads them, field by field. Verify each log on its own "
      "first (`verify`): this checks only what lies between them.",
      {{kExitOk, "every adoption from that node is the state its log leaves"},
       {kExitFailed, "an adoption that is not"},
       {kExitUsage, "usage error, or a store or key cannot be read"}},
      {"audit-cli verify-adoption node_b.db --vs-pubkey node_b.pub --from node_a.db "
       "--from-pubkey node_a.pub"});
}

}  // namespace gsvs::audit
