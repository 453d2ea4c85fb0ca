// audit-cli verify: is this store intact, and if not, exactly what is broken and where.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/log_line.h"
#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/findings.h"
#include "audit-cli/gs_store_verifier.h"
#include "audit-cli/message_json.h"
#include "audit-cli/store_segments.h"
#include "audit-cli/verifier.h"
#include "protocol/keyfile.h"

namespace gsvs::audit {

namespace {

struct VerifyCommand {
  std::string store;
  std::string vs_pubkey;
  std::string checkpoint;
  bool json = false;
  std::size_t max_findings = 50;
  unsigned threads = 0;
  bool no_progress = false;
  bool no_key_search = false;
  std::string role;      // "", "vs" or "gs": the rules to check the store by (default: its meta)
  std::string segments;  // of a segmented store: "3..5" or "3"; empty: every segment
};

// The files read and the ranges retired by policy (not findings).
nlohmann::json segments_json(const SegmentSurvey& survey) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : survey.files) {
    files.push_back({{"file", file.name}, {"index", file.index}, {"first_seq", file.first_seq}});
  }
  nlohmann::json retired = nlohmann::json::array();
  for (const auto& range : survey.retired) {
    const auto& r = range.record;
    retired.push_back({{"file", range.file},
                       {"first_seq", r.first_seq},
                       {"seal_seq", r.seal_seq},
                       {"seal_entry_hash", to_hex(r.seal_entry_hash)},
                       {"disposition", storage::disposition_name(r.disposition)},
                       {"at_ms", r.at_ms},
                       {"archived_to", r.archived_to},
                       {"index_line", range.index_line}});
  }
  return {{"files", files}, {"retired", retired}, {"not_checked", survey.not_checked}};
}

void print_segments(const SegmentSurvey& survey) {
  // A PostgreSQL store has no files, only its retired ranges.
  if (!survey.files.empty()) {
    std::cout << "  segments      " << survey.files.size() << " file"
              << (survey.files.size() == 1 ? "" : "s") << " (" << survey.files.front().name;
    if (survey.files.size() > 1) std::cout << " to " << survey.files.back().name;
    std::cout << ")\n";
  }
  for (const auto& range : survey.retired) {
    const auto& r = range.record;
    const bool left_out = r.disposition == storage::RetiredSegment::Disposition::kLeftOut;
    std::cout << "  "
              << (left_out ? std::string("left out of this copy: entries ")
                           : std::string(storage::disposition_name(r.disposition)) +
                                 " by policy entries ")
              << group_digits(r.first_seq) << ".." << group_digits(r.seal_seq) << " (" << range.file
              << (range.index_line == 0
                      ? std::string()
                      : ", seal-index.tsv line " + std::to_string(range.index_line))
              << ") at " << format_utc(r.at_ms) << ", seal entry " << r.seal_seq << " "
              << short_hex(r.seal_entry_hash) << "..."
              << (r.archived_to.empty() ? std::string() : ", archived to " + r.archived_to) << "\n";
  }
  for (const auto& note : survey.not_checked) std::cout << "  not checked   " << note << "\n";
}

// A one-line progress bar on stderr, redrawn at most ten times a second.
class ProgressBar {
 public:
  void update(std::uint64_t done, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && done < total) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double fraction =
        total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, ' ');
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    std::fprintf(stderr, "\rverifying [%s] %3d%%  %s / %s entries  %s entries/s   ", bar.c_str(),
                 static_cast<int>(fraction * 100), group_digits(done).c_str(),
                 group_digits(total).c_str(),
                 group_digits(static_cast<std::uint64_t>(rate)).c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  ~ProgressBar() {
    if (drawn_) std::fprintf(stderr, "\r%80s\r", "");
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

nlohmann::json result_json(const VerifyResult& r, storage::StoreRole role,
                           const FindingSink& sink) {
  const auto& s = r.stats;
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : sink.kept()) findings.push_back(to_json(f));
  nlohmann::json out = {
      {"store", r.store},
      {"role", role == storage::StoreRole::kGs ? "gs" : "vs"},
      {"intact", sink.failures() == 0},
      {"failures", sink.failures()},
      {"warnings", sink.warnings()},
      {"first_seq", s.first_seq},
      {"entries", s.entries},
      {"earlier_session_entries", s.earlier_session_entries},
      {"head_hash", to_hex(s.head_hash)},
      {"merkle_root", to_hex(s.merkle_root)},
      {"vs_public_key", r.vs_key ? nlohmann::json{{"key", to_hex(r.vs_key->key)},
                                                  {"origin", r.vs_key->origin},
                                                  {"pinned", !r.vs_key_discovered}}
                                 : nlohmann::json(nullptr)},
      {"checked",
       {{"signatures", s.signatures_checked},
        {"signatures_unchecked", s.signatures_unchecked},
        {"checkpoints", s.checkpoints},
        {"sessions", s.sessions},
        {"live_sessions", s.live_sessions},
        {"rejected_joins", s.rejected_joins},
        {"heartbeats", s.heartbeats},
        {"digests", s.digests},
        {"receipts", s.receipts},
        {"tickets", s.tickets},
        {"revocations", s.revocations}}},
      {"threads", s.threads},
      {"seconds", s.seconds},
      {"notes", r.warnings},
      {"findings", findings},
      {"findings_omitted", sink.omitted()},
      {"findings_by_check", sink.by_check()},
  };
  if (r.segments) out["segments"] = segments_json(*r.segments);
  if (r.external_checkpoint) {
    const auto& cp = r.external_checkpoint->message;
    out["external_checkpoint"] = {
        {"origin", r.external_checkpoint->origin},
        {"log_size", cp.log_size},
        {"root", to_hex(cp.root)},
        {"vs_time_ms", cp.vs_time_ms},
        {"matches", r.external_checkpoint_matched && s.entries >= cp.log_size}};
  }
  return out;
}

void print_text(const VerifyResult& r, storage::StoreRole role, const FindingSink& sink) {
  const auto& s = r.stats;
  std::cout << "store " << r.store << " (" << storage::store_role_name(role) << ")\n";
  std::cout << "  entries       " << group_digits(s.entries) << " (head " << short_hex(s.head_hash)
            << "..., Merkle root " << short_hex(s.merkle_root) << "...)";
  if (s.first_seq > 0) std::cout << " from entry " << group_digits(s.first_seq);
  std::cout << "\n";
  if (r.segments) print_segments(*r.segments);
  if (s.earlier_session_entries > 0) {
    std::cout << "  earlier       " << group_digits(s.earlier_session_entries)
              << " entries of sessions accepted before the first entry read (their session "
                 "checks need the JoinAccept)\n";
  }
  std::cout << "  VS key        "
            << (r.vs_key ? to_hex(r.vs_key->key) + " (" + app::log_text(r.vs_key->origin) +
                               (r.vs_key_discovered ? ", NOT PINNED" : "") + ")"
                         : std::string("none: VS signatures not checked"))
            << "\n";
  std::cout << "  signatures    " << group_digits(s.signatures_checked) << " checked on "
            << s.threads << " thread" << (s.threads == 1 ? "" : "s");
  if (s.signatures_unchecked) std::cout << ", " << group_digits(s.signatures_unchecked) << " not";
  std::cout << "\n";
  std::cout << "  checkpoints   " << group_digits(s.checkpoints) << "\n";
  std::cout << "  sessions      " << group_digits(s.sessions) << " (" << s.live_sessions
            << " not revoked by the end of the log), " << group_digits(s.rejected_joins)
            << " rejected joins\n";
  std::cout << "  traffic       " << group_digits(s.heartbeats) << " heartbeats, "
            << group_digits(s.digests) << " digests, " << group_digits(s.receipts) << " receipts, "
            << group_digits(s.tickets) << " tickets, " << group_digits(s.revocations)
            << " revocations\n";
  if (r.external_checkpoint) {
    const auto& cp = r.external_checkpoint->message;
    const bool ok = r.external_checkpoint_matched && s.entries >= cp.log_size;
    std::cout << "  checkpoint    " << app::log_text(r.external_checkpoint->origin) << ": log_size "
              << group_digits(cp.log_size) << ", root " << short_hex(cp.root) << "... "
              << (ok ? "matches the store" : "DOES NOT match the store") << "\n";
  }
  const double rate = s.seconds > 0 ? static_cast<double>(s.entries) / s.seconds : 0;
  std::cout << "  time          " << fixed(s.seconds, 2) << " s ("
            << group_digits(static_cast<std::uint64_t>(rate)) << " entries/s)\n";
  for (const auto& w : r.warnings) std::cout << "\nWARNING: " << app::log_text(w) << "\n";
  std::cout << "\n";
  if (sink.failures() == 0) {
    std::cout << "INTACT: every check passed";
  } else {
    std::cout << "FAILED: " << group_digits(sink.failures()) << " problem"
              << (sink.failures() == 1 ? "" : "s");
  }
  if (sink.warnings()) {
    std::cout << " (" << group_digits(sink.warnings()) << " warning"
              << (sink.warnings() == 1 ? "" : "s") << ")";
  }
  std::cout << "\n";
  for (const auto& f : sink.kept()) std::cout << "  " << to_text(f) << "\n";
  if (sink.omitted() > 0) {
    std::cout << "  ... and " << group_digits(sink.omitted())
              << " more not listed. All problems and warnings by check:";
    for (const auto& [name, count] : sink.by_check())
      std::cout << " " << name << " " << count << ";";
    std::cout << "\n  Use --max-findings 0 to list every one.\n";
  }
}

// The rules the store is checked by: --role when given, else what its meta.format says. A store
// gsd made before GS stores had a format of their own says "gsvs-vs-log"; it starts with the
// JoinRequest the GS sent, which a VS log never holds as issued: say so.
Result<storage::StoreRole> store_role(const VerifyCommand& cmd, const storage::Log& log,
                                      std::vector<std::string>& notes) {
  const storage::StoreRole stored = log.role();
  if (cmd.role == "gs") return storage::StoreRole::kGs;
  if (cmd.role == "vs") {
    if (stored == storage::StoreRole::kGs) {
      return Error{"store " + storage::printable_store(cmd.store) +
                   ": --role vs, but meta.format says '" +
                   std::string(storage::store_format(stored)) + "' (a GS store)"};
    }
    return storage::StoreRole::kVs;
  }
  if (stored == storage::StoreRole::kVs) {
    auto first = log.get(0);
    if (first && first->header.kind == protocol::MessageKind::kJoinRequest &&
        first->header.direction == chains::Direction::kIssued) {
      notes.emplace_back(
          "entry 0 is a JoinRequest the store's owner sent: this looks like a GS store made "
          "before GS stores said 'gsvs-gs-log' (docs/STORE.md §2.2); verify it with --role gs");
    }
  }
  return stored;
}

void print_result(const VerifyCommand& cmd, const VerifyResult& result, storage::StoreRole role,
                  const FindingSink& sink) {
  if (cmd.json) {
    std::cout << json_text(result_json(result, role, sink)) << "\n";
  } else {
    print_text(result, role, sink);
  }
}

int run_verify_gs(const VerifyCommand& cmd, const storage::Log& log) {
  if (cmd.vs_pubkey.empty()) {
    throw CommandError(storage::printable_store(cmd.store) +
                       " is a GS store: give --vs-pubkey, the key of the VS it joined (everything "
                       "it received is checked under it)");
  }
  if (!cmd.checkpoint.empty()) {
    throw CommandError(
        "--checkpoint describes a VS log; a GS store's own checkpoints are compared with the VS "
        "log by `audit-cli reconcile`");
  }
  // A GS of a fleet trusts the fleet's key set: its session may be handed over between nodes.
  auto keys = keyfile::public_keys_from_hex_or_file(cmd.vs_pubkey);
  if (!keys) throw CommandError("--vs-pubkey: " + keys.error());
  const KeySource shown{keys->front(), keys->size() == 1
                                           ? std::string("--vs-pubkey")
                                           : "--vs-pubkey, the first of a key set of " +
                                                 std::to_string(keys->size())};
  FindingSink sink(cmd.max_findings);
  print_result(cmd, usable(verify_gs_store(cmd.store, log, *keys, shown, sink)),
               storage::StoreRole::kGs, sink);
  return sink.failures() == 0 ? kExitOk : kExitFailed;
}

int run_verify(const VerifyCommand& cmd) {
  std::vector<std::string> notes;
  {
    const auto log =
        usable(open_selection(usable(select_store(cmd.store, cmd.segments)), std::nullopt));
    if (usable(store_role(cmd, *log, notes)) == storage::StoreRole::kGs) {
      return run_verify_gs(cmd, *log);
    }
  }
  VerifyOptions options;
  options.segments = cmd.segments;
  options.threads = cmd.threads;
  options.discover_vs_key = !cmd.no_key_search;
  if (!cmd.vs_pubkey.empty())
    options.vs_key = usable(load_public_key(cmd.vs_pubkey, "--vs-pubkey"));
  if (!cmd.checkpoint.empty()) options.checkpoint = usable(load_checkpoint(cmd.checkpoint));
  std::optional<ProgressBar> bar;
  if (!cmd.no_progress && ::isatty(STDERR_FILENO)) {
    bar.emplace();
    options.progress = [&bar](std::uint64_t done, std::uint64_t total) {
      bar->update(done, total);
    };
  }
  FindingSink sink(cmd.max_findings);
  auto result = verify_store(cmd.store, options, sink);
  bar.reset();
  VerifyResult verified = usable(std::move(result));
  verified.warnings.insert(verified.warnings.end(), notes.begin(), notes.end());
  print_result(cmd, verified, storage::StoreRole::kVs, sink);
  return sink.failures() == 0 ? kExitOk : kExitFailed;
}

}  // namespace

void setup_verify(CLI::App& app, int& exit_code) {
  auto [sub, cmd] = add_command(
      app, exit_code, "verify",
      "Check that a store is intact: every entry hash and link, every signature, every session's "
      "counters, tickets, receipts and revocations, every checkpoint",
      run_verify);
  sub->description(
      "Reads the whole store once, in constant memory, and reports every problem it finds with "
      "the entry position, what was expected and what was found; it never stops at the first.\n"
      "Checks: seq contiguous from 0; entry_hash recomputed from the stored columns; prev_hash "
      "links; kind, direction and kind_name columns; every signature (VS-issued kinds under the "
      "VS key, session traffic under the session key its JoinAccept binds, both JoinRequest "
      "signatures); every JoinRequest answered by a JoinAccept or JoinReject carrying its hash; "
      "per session: gs_counter strictly increasing across Heartbeat/TranscriptDigest/NonceBatch, "
      "sw_hash pinned, receipt tips, the physics rule recomputed under the JoinAccept's limits, "
      "receipts (index, digest_hash, digest_log_seq, receipt_tip chain), tickets (ticket_seq, "
      "hash chain anchored at the JoinAccept, validity window, client_binding), and the "
      "revocation's reason and evidence positions; every Checkpoint's log_size, Merkle root and "
      "signature.\n"
      "Messages the VS received and refused are in the log on purpose: they are problems only "
      "when the VS did not react as the protocol requires (a Revocation citing them, a "
      "JoinReject carrying the request's hash).\n"
      "A cut tail is only visible against a checkpoint held outside the store: pass one with "
      "--checkpoint.\n"
      "A segmented store (a directory): each segment's meta, every seal (VS signature, frontier "
      "against the signed root, byte for byte the sealed segment's last row) and every link; "
      "segments that `vsd store archive|prune` retired and seal-index.tsv records are listed as "
      "retired by policy, and the rest verifies from the seal the first present segment records; "
      "a missing segment, a swapped one and an edited index are findings. Every finding names "
      "its file.\n"
      "A GS store (meta.format gsvs-gs-log) is checked by what a GS records: the chain and "
      "columns, the JoinRequest's signatures, its session traffic under the session key and "
      "gs_counter, and every VS message under the VS key with the checks gsd made on it (the "
      "JoinAccept answers the JoinRequest, ticket chain, receipts and their tip chain, "
      "checkpoint order, revocations); it needs --vs-pubkey. A GS of a fleet gives the fleet's "
      "key set, as gsd's vs_public_key does (keys separated by commas, or a file of one a line): "
      "a session handed over between nodes is checked key by key as gsd checked it.");
  sub->add_option("STORE", cmd->store,
                  "The store (a copy of the VS's vs.db or of its directory of segments, one "
                  "segment file, a GS's store, or a postgresql:// database); opened read-only")
      ->required();
  sub->add_option("--segments", cmd->segments,
                  "Of a segmented store (a directory), only these segments: an index or a range "
                  "FIRST..LAST, e.g. 3..5. They are verified from the seal the first one records; "
                  "what they cannot show alone is listed as not checked. STORE may also be one "
                  "segment file");
  sub->add_option("--role", cmd->role,
                  "Check the store as a VS store (vs) or a GS store (gs). Default: what its "
                  "meta.format says. A GS store made before GS stores had their own format says "
                  "gsvs-vs-log: check it with --role gs")
      ->check(CLI::IsMember({"vs", "gs"}));
  sub->add_option("--vs-pubkey", cmd->vs_pubkey,
                  "The VS public key, as 64 hex characters or a public key file (HEX|FILE). "
                  "Without it, *.pub files beside the store are tried and the one that verifies "
                  "the first VS-signed entry is used, with a warning: pin the key you were given");
  sub->add_option("--checkpoint", cmd->checkpoint,
                  "A Checkpoint held outside the store (from a GS or a report): its message in "
                  "hex, its raw bytes, or JSON with \"message_hex\" (or log_size, root, "
                  "vs_time_ms, signature; or a dispute report, whose last checkpoint is used). The "
                  "store must be at least that long and its root at "
                  "that size must match: this is what catches a cut tail");
  sub->add_flag("--json", cmd->json, "Print one JSON object on stdout (nothing else goes there)");
  sub->add_option("--max-findings", cmd->max_findings,
                  "How many problems to list (the rest are counted by check); 0 lists all")
      ->capture_default_str();
  sub->add_option("--threads", cmd->threads,
                  "Signature-checking threads, at most 1024; 0 uses every core")
      ->check(CLI::Range(0U, 1024U))
      ->capture_default_str();
  sub->add_flag("--no-progress", cmd->no_progress,
                "No progress bar (it is drawn on stderr only when stderr is a terminal)");
  sub->add_flag("--no-key-search", cmd->no_key_search,
                "Do not look for the VS key beside the store when --vs-pubkey is not given");
  set_help_footer(
      *sub, "",
      {{kExitOk, "intact"},
       {kExitFailed, "a problem was found (or VS signatures could not be checked)"},
       {kExitUsage, "usage error or the store cannot be read"}},
      {"audit-cli verify vs.db --vs-pubkey vs.key.pub",
       "audit-cli verify /srv/gsvs/vs/ --vs-pubkey vs.key.pub --segments 3..5",
       "audit-cli verify vs.db --vs-pubkey 3b6a27bc... --checkpoint gs-checkpoint.hex --json",
       "audit-cli verify gs.db --vs-pubkey vs.key.pub"});
}

}  // namespace gsvs::audit
