// audit-cli verify on a GS store (docs/STORE.md §2.2, AUDIT.md §3.1): a real gsd's store is
// intact under the GS rules, and what an insider could do to a copy still shows: an edited
// entry, a broken chain, a VS-signed or GS-signed message whose signature fails after the chain
// was recomputed. A GS store made before "gsvs-gs-log" reads with --role gs.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "protocol/keyfile.h"
#include "tests/audit/report_fixture.h"
#include "tests/support/gsd_fixture.h"
#include "tests/support/tamper.h"

namespace gsvs::testing {
namespace {

using nlohmann::json;
using protocol::MessageKind;

struct GsRun {
  std::unique_ptr<TempDir> dir;
  std::string vs_store;
  std::string gs_store;
  std::string vs_key;                   // hex
  std::vector<storage::Entry> entries;  // the GS store's
};

// One real vsd and gsd: a client plays a while, then the gsd stops cleanly (GsLeaving, gs_left).
const GsRun& gs_run() {
  static const GsRun run = [] {
    GsRun out;
    out.dir = std::make_unique<TempDir>();
    const TempDir& dir = *out.dir;
    const auto identity = crypto::SecretKey::generate();
    if (!keyfile::write_key_pair(dir.file("gs.key"), identity).ok()) {
      throw std::runtime_error("cannot write gs.key");
    }
    VsOptions vs_options;
    vs_options.checkpoint_interval_ms = 150;
    VsProcess vs(dir, {identity.public_key()}, {sha256_of_file(program("gsd"))}, vs_options);
    {
      GsdProcess gsd(dir, vs, dir.file("gs.key"));
      out.gs_store = gsd.store_path();
      ScriptedClient client(gsd.port(), vs.public_key());
      client.handshake();
      for (int i = 0; i < 6; ++i) {
        client.send_nonce();
        client.send_input(client.make_input(100, 0));
        client.pump_for(std::chrono::milliseconds(200));
      }
      if (gsd.stop() != 0) throw std::runtime_error("gsd did not stop cleanly");
    }
    if (vs.stop() != 0) throw std::runtime_error("vsd did not stop cleanly");
    out.vs_store = vs.store_path();
    out.vs_key = to_hex(vs.public_key());
    out.entries = read_store(out.gs_store);
    return out;
  }();
  return run;
}

std::optional<std::uint64_t> first_of(const std::vector<storage::Entry>& entries,
                                      MessageKind kind) {
  for (const auto& e : entries) {
    if (e.header.kind == kind) return e.header.seq;
  }
  return std::nullopt;
}

json verify_json(const std::string& store, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"verify",         store, "--vs-pubkey", gs_run().vs_key, "--json",
                                "--max-findings", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string output;
  audit_cli_status(args, &output);
  const auto begin = output.find('{');
  if (begin == std::string::npos) return json::object();
  return json::parse(output.substr(begin), nullptr, false);
}

std::set<std::string> checks_of(const json& result) {
  std::set<std::string> out;
  if (!result.contains("findings")) return out;
  for (const auto& f : result["findings"]) out.insert(f["check"].get<std::string>());
  return out;
}

// verify --json on a copy, in `dir`, of the run's GS store whose first entry of `kind` `change`
// altered: the copy's path and what verify said.
struct ChangedCopy {
  std::string path;
  json result;
};
ChangedCopy verify_changed_copy(const TempDir& dir, MessageKind kind,
                                const std::function<void(Tamper&, std::uint64_t seq)>& change) {
  const auto seq = first_of(gs_run().entries, kind);
  if (!seq) throw std::runtime_error("the run's GS store has no " + std::string(kind_name(kind)));
  ChangedCopy out{copy_store(gs_run().gs_store, dir, "gs-copy.db"), {}};
  {
    Tamper t(out.path);
    change(t, *seq);
  }
  out.result = verify_json(out.path);
  return out;
}

TEST(GsStoreVerify, ARealGsdStoreIsAGsStoreAndIntact) {
  const GsRun& run = gs_run();
  auto log = storage::Log::open(run.gs_store, storage::OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_EQ((*log)->role(), storage::StoreRole::kGs);

  std::string output;
  EXPECT_EQ(audit_cli_status({"verify", run.gs_store, "--vs-pubkey", run.vs_key}, &output), 0)
      << output;
  EXPECT_NE(output.find("(GS store)"), std::string::npos) << output;
  const json result = verify_json(run.gs_store);
  ASSERT_TRUE(result.is_object()) << result.dump();
  EXPECT_EQ(result["role"], "gs");
  EXPECT_EQ(result["failures"], 0) << result.dump(2);
  EXPECT_EQ(result["warnings"], 0) << result.dump(2);
  const json& checked = result["checked"];
  EXPECT_EQ(checked["sessions"], 1) << result.dump(2);
  EXPECT_EQ(checked["revocations"], 1) << result.dump(2);  // gs_left
  EXPECT_GT(checked["tickets"].get<int>(), 0);
  EXPECT_GT(checked["receipts"].get<int>(), 0);
  EXPECT_GT(checked["checkpoints"].get<int>(), 0);
  EXPECT_GT(checked["heartbeats"].get<int>(), 0);
  EXPECT_GT(checked["signatures"].get<int>(), 10);
  // The VS store is still a VS store, and intact.
  EXPECT_EQ(audit_cli_status({"verify", run.vs_store, "--vs-pubkey", run.vs_key}, &output), 0)
      << output;
}

struct GsTamperCase {
  std::string name;
  MessageKind kind;  // the first entry of this kind is changed
  std::function<void(Tamper&, std::uint64_t seq)> change;
  std::string check;  // the finding it must raise
  bool chain_intact;  // the insider recomputed the chain: no chain finding may appear
};

TEST(GsStoreVerify, WhatAnInsiderChangesInACopyShows) {
  const GsRun& run = gs_run();
  const auto last_byte = [](Tamper& t, std::uint64_t seq) {
    const std::size_t size = t.blob(seq, "message").size();
    t.flip_byte(seq, "message", size - 1);
  };
  const std::vector<GsTamperCase> cases = {
      {"edited ticket", MessageKind::kPlayTicket,
       [](Tamper& t, std::uint64_t seq) { t.flip_byte(seq, "message", 20); }, "chain.entry_hash",
       false},
      // The chain is checked as in a VS store: rows after a deletion are seen as renumbered.
      {"deleted ticket, the rows after it renumbered", MessageKind::kPlayTicket,
       [](Tamper& t, std::uint64_t seq) {
         t.exec("DELETE FROM log_entry WHERE seq = " + std::to_string(seq));
         t.shift(seq + 1, -1);
       },
       "chain.renumbered", false},
      {"broken link", MessageKind::kProtectedReceipt,
       [](Tamper& t, std::uint64_t seq) { t.flip_byte(seq, "prev_hash", 0); }, "chain.prev_hash",
       false},
      {"forged receipt signature", MessageKind::kProtectedReceipt,
       [&](Tamper& t, std::uint64_t seq) {
         last_byte(t, seq);
         t.rechain(seq);
       },
       "signature", true},
      {"forged JoinAccept signature", MessageKind::kJoinAccept,
       [&](Tamper& t, std::uint64_t seq) {
         last_byte(t, seq);
         t.rechain(seq);
       },
       "signature", true},
      {"forged heartbeat signature", MessageKind::kHeartbeat,
       [&](Tamper& t, std::uint64_t seq) {
         last_byte(t, seq);
         t.rechain(seq);
       },
       "signature", true},
      {"ticket's kind column made a receipt's", MessageKind::kPlayTicket,
       [](Tamper& t, std::uint64_t seq) {
         t.set_integer(seq, "kind", static_cast<std::int64_t>(MessageKind::kProtectedReceipt));
         t.rechain(seq);
       },
       "entry.kind", true},
      {"ticket turned into a sent message", MessageKind::kPlayTicket,
       [](Tamper& t, std::uint64_t seq) {
         t.set_integer(seq, "direction", 2);
         t.rechain(seq);
       },
       "entry.direction", true},
  };
  TempDir dir;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto [copy, result] = verify_changed_copy(dir, c.kind, c.change);
    ASSERT_TRUE(result.is_object()) << result.dump();
    EXPECT_GT(result["failures"].get<int>(), 0) << result.dump(2);
    const auto checks = checks_of(result);
    EXPECT_TRUE(checks.contains(c.check)) << result.dump(2);
    if (c.chain_intact) {
      for (const auto& check : checks) EXPECT_NE(check.rfind("chain.", 0), 0u) << check;
    }
    std::string output;
    EXPECT_EQ(audit_cli_status({"verify", copy, "--vs-pubkey", run.vs_key}, &output), 1) << output;
  }
}

// What verify said of rows that cannot be read: its row.unreadable failures, and the `found` of
// its row.unreadable.not_followed warnings. Any other failure must be of a check starting with one
// of `also_allowed`.
struct UnreadableFindings {
  std::vector<json> failures;
  std::vector<std::string> warnings;
};
UnreadableFindings unreadable_findings(const json& result,
                                       const std::vector<std::string>& also_allowed) {
  UnreadableFindings out;
  for (const auto& f : result["findings"]) {
    const std::string check = f["check"];
    if (f["severity"] == "warning") {
      if (check == "row.unreadable.not_followed") out.warnings.push_back(f["found"]);
      continue;
    }
    if (check == "row.unreadable") {
      out.failures.push_back(f);
      continue;
    }
    EXPECT_TRUE(std::any_of(also_allowed.begin(), also_allowed.end(),
                            [&](const std::string& prefix) { return check.starts_with(prefix); }))
        << f.dump(2);
  }
  return out;
}

// A page a failing disk overwrote (AUDIT.md §3.1): one finding for the rows on it, SQLite's word
// on the file, and nothing that follows from rows missing. Rows: which leaf page is damaged, and
// the warning that says what is not checked past it. In the middle of the session, the checks
// that rest on what the page held (its digests for the receipts, its tickets for the chain of
// tickets) are not made past it; on the first page, with the JoinAccept, the session's entries
// are checked for the VS signature only.
TEST(GsStoreVerify, RowsOnADamagedPageAreOneFindingAndTheSessionIsNotFollowedPastThem) {
  const GsRun& run = gs_run();
  struct DamagedLeaf {
    std::string name;
    std::function<std::size_t(std::size_t leaves)> which;
    std::function<std::string(const LeafPage&)> warning;  // the finding's `found`
  };
  const std::vector<DamagedLeaf> cases = {
      {"in the middle of the session", [](std::size_t leaves) { return leaves / 2; },
       [](const LeafPage& page) {
         return "session(s) 1 not followed past entry " + std::to_string(page.last_seq);
       }},
      {"the first, with the JoinAccept", [](std::size_t) { return std::size_t{0}; },
       [](const LeafPage&) {
         return std::string(
             "session 1, whose JoinAccept may be among the rows that cannot be read");
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const std::string copy = copy_store(run.gs_store, dir, "gs-damaged.db");
    const auto leaves = leaf_pages(copy);
    ASSERT_GE(leaves.size(), 4U) << "the run's store is too small to damage a page in its middle";
    const LeafPage& page = leaves[c.which(leaves.size())];
    const std::uint64_t accept = first_of(run.entries, MessageKind::kJoinAccept).value_or(0);
    ASSERT_EQ(accept >= page.first_seq && accept <= page.last_seq, c.which(leaves.size()) == 0);
    damage_page(copy, page.pageno);
    const json result = verify_json(copy);
    ASSERT_TRUE(result.is_object()) << result.dump();
    const auto found = unreadable_findings(result, {"store.file"});
    ASSERT_EQ(found.failures.size(), 1U) << result.dump(2);
    EXPECT_EQ(found.failures[0]["seq"], page.first_seq);
    EXPECT_EQ(found.failures[0]["last_seq"], page.last_seq);
    EXPECT_TRUE(std::find(found.warnings.begin(), found.warnings.end(), c.warning(page)) !=
                found.warnings.end())
        << c.warning(page) << "\n"
        << result.dump(2);
    EXPECT_EQ(result["entries"], run.entries.size()) << result.dump(2);
    std::string output;
    EXPECT_EQ(audit_cli_status({"verify", copy, "--vs-pubkey", run.vs_key}, &output), 1) << output;
  }
}

// One row that cannot be read (its entry_hash no longer 32 bytes, as a damaged or edited file
// could leave it): the same rules as for a damaged page, row by row. Rows: the row made
// unreadable (the first of its kind), and the warning expected, if any.
TEST(GsStoreVerify, AnUnreadableRowLeavesTheRestOfTheStoreChecked) {
  struct UnreadableRow {
    std::string name;
    MessageKind kind;
    std::string warning;  // a not_followed warning's `found`, starting so; empty: none
  };
  const std::vector<UnreadableRow> cases = {
      // The JoinAccept right after it may answer it: followed in full, nothing else to say.
      {"the JoinRequest", MessageKind::kJoinRequest, ""},
      // Its receipt then names a digest never seen: the session is not followed past it.
      {"a digest", MessageKind::kTranscriptDigest, "session(s) 1 not followed past entry "},
      {"the JoinAccept", MessageKind::kJoinAccept,
       "session 1, whose JoinAccept may be among the rows that cannot be read"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const json result =
        verify_changed_copy(dir, c.kind, [](Tamper& t, std::uint64_t seq) {
          t.exec(
              "PRAGMA ignore_check_constraints = ON; UPDATE log_entry SET entry_hash = x'00' "
              "WHERE seq = " +
              std::to_string(seq));
        }).result;
    ASSERT_TRUE(result.is_object()) << result.dump();
    // The row, and the links to it from the row after it.
    const auto found = unreadable_findings(result, {"chain."});
    EXPECT_EQ(found.failures.size(), 1U) << result.dump(2);
    const bool warned = std::any_of(
        found.warnings.begin(), found.warnings.end(),
        [&](const std::string& w) { return !c.warning.empty() && w.starts_with(c.warning); });
    EXPECT_EQ(warned, !c.warning.empty()) << result.dump(2);
    if (c.warning.empty()) {
      EXPECT_TRUE(found.warnings.empty()) << result.dump(2);
    }
  }
}

// A GS store from before "gsvs-gs-log": the same rows, meta.format "gsvs-vs-log".
TEST(GsStoreVerify, AnOlderGsStoreIsToldApartAndReadWithRoleGs) {
  const GsRun& run = gs_run();
  TempDir dir;
  const std::string legacy = copy_store(run.gs_store, dir, "legacy-gs.db");
  {
    Tamper t(legacy);
    t.exec(
        "DROP TRIGGER meta_no_update; UPDATE meta SET value = 'gsvs-vs-log' WHERE key = "
        "'format'");
  }
  std::string output;
  EXPECT_EQ(audit_cli_status({"verify", legacy, "--vs-pubkey", run.vs_key}, &output), 1);
  EXPECT_NE(output.find("looks like a GS store made before GS stores said 'gsvs-gs-log'"),
            std::string::npos)
      << output;
  EXPECT_EQ(
      audit_cli_status({"verify", legacy, "--role", "gs", "--vs-pubkey", run.vs_key}, &output), 0)
      << output;
  // gsd refuses to append to it: a VS store is not a GS store.
  auto writer = storage::Log::open(legacy, storage::OpenMode::kReadWrite, storage::StoreRole::kGs);
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.error().find("--role gs"), std::string::npos) << writer.error();
  // --role vs cannot make a GS store a VS store.
  EXPECT_EQ(audit_cli_status({"verify", run.gs_store, "--role", "vs", "--vs-pubkey", run.vs_key},
                             &output),
            2);
  EXPECT_NE(output.find("--role vs, but meta.format says 'gsvs-gs-log'"), std::string::npos)
      << output;
}

TEST(GsStoreVerify, CommandsForTheVsLogRefuseAGsStore) {
  const GsRun& run = gs_run();
  std::string output;
  EXPECT_EQ(audit_cli_status({"verify", run.gs_store}, &output), 2);
  EXPECT_NE(output.find("is a GS store: give --vs-pubkey"), std::string::npos) << output;
  const std::vector<std::vector<std::string>> commands = {
      {"sessions", run.gs_store},
      {"explain", run.gs_store, "--session", "1"},
      {"timeline", run.gs_store, "--session", "1"},
      {"report", run.gs_store, "--session", "1", "-o", "-"},
      {"reconcile", run.gs_store, run.gs_store},
  };
  for (const auto& args : commands) {
    SCOPED_TRACE(args.front());
    EXPECT_EQ(audit_cli_status(args, &output), 2) << output;
    EXPECT_NE(output.find("a GS store (meta.format 'gsvs-gs-log'), not the VS store "
                          "('gsvs-vs-log') expected here"),
              std::string::npos)
        << output;
  }
  // reconcile takes it as the GS store.
  EXPECT_EQ(audit_cli_status({"reconcile", run.vs_store, run.gs_store, "--vs-pubkey", run.vs_key},
                             &output),
            0)
      << output;
}

}  // namespace
}  // namespace gsvs::testing
