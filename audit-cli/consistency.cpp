// audit-cli consistency and verify-consistency: an RFC 9162 §2.1.4 consistency proof between two
// tree sizes of a VS log, and its check by whoever holds an older signed Checkpoint (a GS, an
// auditor) against a newer one, with the VS public key only (docs/AUDIT.md §3.8).
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/message_json.h"
#include "audit-cli/store_segments.h"
#include "audit-cli/verifier.h"
#include "protocol/merkle.h"
#include "protocol/merkle_plan.h"
#include "protocol/regular_file.h"
#include "storage/segment_files.h"

namespace gsvs::audit {

namespace {

constexpr std::size_t kMaxProofFileBytes = std::size_t{1} << 20;

struct ConsistencyOptions {
  std::string store;
  std::uint64_t from = 0;
  std::uint64_t to = 0;
};

struct VerifyConsistencyOptions {
  std::string old_checkpoint;
  std::string new_checkpoint;
  std::string proof;
  std::string vs_pubkey;
  bool json = false;
};

// The store's own signed Checkpoint over exactly `size` entries (the entry at position `size`),
// as hex; null when that entry is not one.
nlohmann::json checkpoint_at(const storage::Log& log, std::uint64_t size) {
  auto entry = log.get(size);
  if (!entry || entry->header.kind != protocol::MessageKind::kCheckpoint) return nullptr;
  auto checkpoint = protocol::decode<protocol::Checkpoint>(entry->message);
  if (!checkpoint || checkpoint->log_size != size) return nullptr;
  return nlohmann::json{{"message_hex", to_hex(entry->message)}, {"seq", size}};
}

// The tree over the retired entries before the first segment present (Log::tree_before_first).
// Its frontier must give the root of the seal recorded with it: otherwise the proof would rest on
// hashes nothing signed. (The seal's signature is checked by `verify`, and each end of the proof
// by `verify-consistency`.)
Result<merkle::Accumulator> tree_before_retired(const std::string& store, const storage::Log& log) {
  auto tree = log.tree_before_first();
  if (!tree) return tree;
  // The seal: the first segment's meta records it; a PostgreSQL store, its newest retired range.
  std::string where;
  std::optional<storage::SegmentMeta::Seal> recorded;
  if (storage::is_postgres_store(store)) {
    where = storage::printable_store(store) + ": retired_range";
    auto retention = log.retention();
    if (!retention) return Error{retention.error()};
    if (retention->first_held) recorded = retention->first_held->seal;
  } else {
    where = store + "/" + log.segments().front().file;
    auto meta = storage::read_segment_file_meta(where);
    if (!meta) return Error{meta.error()};
    recorded = meta->seal;
  }
  if (!recorded) return Error{where + ": records no seal of the entries retired before it"};
  auto seal = protocol::decode<protocol::Checkpoint>(recorded->message);
  auto at_seal = merkle::Accumulator::from_frontier(recorded->seq, recorded->frontier);
  if (!seal || !at_seal || seal->log_size != recorded->seq || seal->root != at_seal->root()) {
    return Error{where +
                 ": the seal's recorded frontier does not give the root of the seal "
                 "(run `audit-cli verify`)"};
  }
  return tree;
}

int run_consistency(const ConsistencyOptions& o) {
  if (o.from == 0 || o.from > o.to) {
    throw CommandError("--from " + std::to_string(o.from) + " --to " + std::to_string(o.to) +
                       ": a proof needs 0 < FROM <= TO");
  }
  const auto log = usable(open_store(o.store));
  if (o.to > log->size()) {
    throw CommandError("--to " + std::to_string(o.to) + ": the store holds " +
                       std::to_string(log->size()) + " entries");
  }
  merkle::ProofPlan plan;
  const auto proof_ticket = plan.want_consistency(o.from, o.to);
  const auto old_root = plan.want_root(o.from);
  const auto new_root = plan.want_root(o.to);
  // Segments retired by policy: the tree resumes at the first segment present, from the frontier
  // its seal records. Every node of a proof from a size at or past that point is a fold of that
  // frontier's subtrees and of later leaves (RFC 9162 §2.1.4 splits at powers of two, and the
  // frontier's subtrees are the aligned ones before the point), so the proof is the one the whole
  // log gives. A size before it needs hashes inside those subtrees, which nothing kept.
  const auto files = log->segments();
  std::uint64_t expected = 0;  // the seq of the next leaf to feed
  if (!files.empty() && files.front().first_seq > 0) {
    const std::uint64_t first = files.front().first_seq;
    if (o.from < first) {
      throw CommandError(
          "--from " + std::to_string(o.from) + ": entries 0.." + std::to_string(first - 1) +
          " were retired (vsd store archive|prune) and a proof from a size below " +
          std::to_string(first) +
          " needs their hashes: make it from the archive, or from a size of at least " +
          std::to_string(first));
    }
    const merkle::Accumulator tree = usable(tree_before_retired(o.store, *log));
    plan.resume(tree.size(), tree.frontier());  // a tree's frontier fits it; no leaf fed yet
    expected = tree.size();
  }
  bool gap = false;
  const auto feed = [&](const storage::Entry& entry) {
    if (entry.header.seq != expected++) gap = true;
    plan.add_leaf(entry.entry_hash);
    return !gap && plan.leaves_fed() < plan.leaves_needed();
  };
  // An unreadable row is read past: the gap it leaves is the error.
  Status scanned = log->scan({.from_seq = expected, .to_seq = {}, .session_id = {}, .kind = {}},
                             feed, storage::Log::read_past_bad_rows);
  if (!scanned) throw CommandError(scanned.error());
  const auto proof = plan.proof(proof_ticket);
  const auto old_hash = plan.root(old_root);
  const auto new_hash = plan.root(new_root);
  if (gap || !proof || !old_hash || !new_hash) {
    throw CommandError("entries " + std::to_string(files.empty() ? 0 : files.front().first_seq) +
                       ".." + std::to_string(o.to - 1) +
                       " are not all readable in order (run `audit-cli verify`)");
  }
  nlohmann::json out = {{"store", storage::printable_store(o.store)},
                        {"old_size", o.from},
                        {"new_size", o.to},
                        {"old_root", to_hex(*old_hash)},
                        {"new_root", to_hex(*new_hash)},
                        {"proof", hex_list(*proof)},
                        {"old_checkpoint", checkpoint_at(*log, o.from)},
                        {"new_checkpoint", checkpoint_at(*log, o.to)}};
  std::cout << json_text(out) << "\n";
  return kExitOk;
}

Result<std::vector<Hash32>> load_proof(const std::string& path) {
  auto file = read_regular_file(path, kMaxProofFileBytes);
  if (!file) return Error{"--proof: " + file.error()};
  const auto doc = nlohmann::json::parse(file->contents, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("proof") ||
      !doc["proof"].is_array()) {
    return Error{"--proof " + path + ": not a JSON object with a \"proof\" array of hex hashes"};
  }
  if (doc["proof"].size() > merkle::kMaxConsistencyProofHashes) {
    return Error{"--proof " + path + ": more than " +
                 std::to_string(merkle::kMaxConsistencyProofHashes) + " hashes"};
  }
  std::vector<Hash32> proof;
  for (const auto& item : doc["proof"]) {
    auto hash =
        item.is_string() ? fixed_from_hex<Hash32::size>(item.get<std::string>()) : std::nullopt;
    if (!hash) {
      return Error{"--proof " + path + ": proof[" + std::to_string(proof.size()) +
                   "] is not 32 bytes of hex"};
    }
    proof.push_back(*hash);
  }
  return proof;
}

int run_verify_consistency(const VerifyConsistencyOptions& o) {
  const KeySource key = usable(load_public_key(o.vs_pubkey, "--vs-pubkey"));
  const ExternalCheckpoint older = usable(load_checkpoint(o.old_checkpoint));
  const ExternalCheckpoint newer = usable(load_checkpoint(o.new_checkpoint));
  const std::vector<Hash32> proof = usable(load_proof(o.proof));

  // Signatures first: a proof between checkpoints the VS did not sign proves nothing.
  std::vector<std::string> problems;
  if (!protocol::verify(older.message, key.key)) {
    problems.emplace_back("the old checkpoint's signature does not verify with the VS key");
  }
  if (!protocol::verify(newer.message, key.key)) {
    problems.emplace_back("the new checkpoint's signature does not verify with the VS key");
  }
  const auto& a = older.message;
  const auto& b = newer.message;
  if (problems.empty() &&
      !merkle::verify_consistency(a.log_size, b.log_size, a.root, b.root, proof)) {
    problems.push_back("the proof does not show that the tree of " + std::to_string(b.log_size) +
                       " entries extends the tree of " + std::to_string(a.log_size) +
                       ": the VS signed two histories that disagree, or the proof is not theirs");
  }
  const bool ok = problems.empty();
  if (o.json) {
    nlohmann::json out = {{"consistent", ok},           {"old_size", a.log_size},
                          {"new_size", b.log_size},     {"old_root", to_hex(a.root)},
                          {"new_root", to_hex(b.root)}, {"vs_public_key", to_hex(key.key)},
                          {"problems", problems}};
    std::cout << json_text(out) << "\n";
  } else if (ok) {
    std::cout << "CONSISTENT: the checkpoint of " << group_digits(b.log_size)
              << " entries extends the one of " << group_digits(a.log_size)
              << " entries (both signed by " << to_hex(key.key) << ")\n";
  } else {
    std::cout << "FAILED:\n";
    for (const auto& problem : problems) std::cout << "  " << problem << "\n";
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace

void setup_consistency(CLI::App& app, int& exit_code) {
  auto [sub, o] = add_command(
      app, exit_code, "consistency",
      "Print an RFC 9162 consistency proof between two tree sizes of the log", run_consistency);
  sub->add_option("STORE", o->store,
                  "The VS store (a file, a directory of segments, or a postgresql:// database)")
      ->required();
  sub->add_option("--from", o->from, "The older tree size (an older checkpoint's log_size)")
      ->required();
  sub->add_option("--to", o->to, "The newer tree size (a newer checkpoint's log_size)")->required();
  set_help_footer(*sub,
                  "Prints one JSON object: old_size, new_size, old_root, new_root, proof (hex "
                  "hashes, RFC 9162 §2.1.4 order) and the store's own signed Checkpoints at those "
                  "sizes when it holds them (old_checkpoint, new_checkpoint: message_hex).",
                  {{kExitOk, "the proof was printed"},
                   {kExitUsage,
                    "usage error, sizes out of range (or before the first entry a store with "
                    "retired segments holds), or the store cannot be read"}},
                  {"audit-cli consistency vs.db --from 1000 --to 5000 > proof.json"});
}

void setup_verify_consistency(CLI::App& app, int& exit_code) {
  auto [sub, o] =
      add_command(app, exit_code, "verify-consistency",
                  "Check with the VS key that a newer signed checkpoint extends an older one",
                  run_verify_consistency);
  sub->add_option("--old", o->old_checkpoint,
                  "The older Checkpoint (hex, raw bytes, or JSON with message_hex)")
      ->required();
  sub->add_option("--new", o->new_checkpoint, "The newer Checkpoint, in the same forms")
      ->required();
  sub->add_option("--proof", o->proof, "The proof: JSON with a \"proof\" array of hex hashes")
      ->required();
  sub->add_option("--vs-pubkey", o->vs_pubkey, "The VS public key (HEX|FILE)")->required();
  sub->add_flag("--json", o->json, "Print one JSON object on stdout");
  set_help_footer(*sub,
                  "Checks both checkpoints' VS signatures, then the proof (RFC 9162 §2.1.4.2) "
                  "between their sizes and roots. Needs nothing of the store.",
                  {{kExitOk, "consistent"},
                   {kExitFailed, "a signature or the proof does not verify"},
                   {kExitUsage, "usage error or an unreadable input"}},
                  {"audit-cli verify-consistency --old cp-1000.hex --new cp-5000.hex --proof "
                   "proof.json --vs-pubkey vs.key.pub"});
}

}  // namespace gsvs::audit
