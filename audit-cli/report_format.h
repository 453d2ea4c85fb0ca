// The dispute report: a JSON document that lets someone holding only the VS public key re-check
// a session's evidence without the store (docs/AUDIT.md §4 describes it field by field,
// docs/report.schema.json is its schema).
//
// A report holds two kinds of fields:
// - evidence, taken from the store: each log entry's header fields, stored entry hash and exact
//   message bytes, Merkle inclusion proofs, and the exact bytes of the VS-signed checkpoints they
//   lead to (with consistency proofs between them);
// - derived fields, computed from the evidence alone: decoded messages, signature roles, session
//   facts and the recomputed verdict.
// analyze() checks all the evidence and computes the derived fields; the builder and the
// verifier run the same function, so verify() simply rebuilds the whole document from the
// evidence in the file and requires the file to be exactly that document, byte for byte.
//
// The report file is untrusted input: parse() and verify() never throw and never crash on it.
//
// One file per job: analyze() in report_analyzer.cpp with report_checks.cpp, report_verdicts.cpp
// and report_document.cpp; parse() in report_parse.cpp; serialize() and verify() in
// report_verify.cpp; summary() and its text in report_summary.cpp.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/chains.h"
#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::audit::report {

inline constexpr std::string_view kFormatName = "gsvs-dispute-report";
// Version 2 added the paced clock's numbers to each movement step (PROTOCOL.md §8.6 "Late
// digests"); verify() still checks a version-1 report, as the evidence gives it without them.
inline constexpr std::uint64_t kFormatVersion = 2;
inline constexpr std::uint64_t kOldestFormatVersion = 1;
// Bounds on untrusted input, besides protocol::kMaxProofHashes for an inclusion proof's path (a
// path longer than a 64-level tree cannot be valid) and merkle::kMaxConsistencyProofHashes.
inline constexpr std::size_t kMaxNesting = 16;

// ---- Evidence ---------------------------------------------------------------------------------

struct InclusionProof {
  std::uint64_t checkpoint_log_size = 0;  // the checkpoint (by its log_size) the proof leads to
  std::vector<Hash32> path;               // RFC 9162 PATH(seq, D[log_size]), bottom-up
};

struct Entry {
  chains::LogEntryHeader header;  // as stored: seq, kind, direction, session_id, vs_time_ms, prev
  Hash32 entry_hash;              // as stored
  Bytes message;                  // exact bytes, signatures included
  std::optional<InclusionProof> inclusion;  // nullopt: no checkpoint in the log covers it yet
};

struct Checkpoint {
  Bytes message;  // the VS-signed Checkpoint, exact bytes
  // PROOF(this log_size, D[next log_size]) to the next checkpoint of the report; nullopt for
  // the last one.
  std::optional<std::vector<Hash32>> consistency_with_next;
};

struct Evidence {
  std::optional<crypto::PublicKey> vs_public_key;  // the key the report was made against
  protocol::SessionId session_id = 0;
  std::vector<Entry> entries;           // increasing seq
  std::vector<Checkpoint> checkpoints;  // increasing log_size
};

// ---- Checking ---------------------------------------------------------------------------------

struct Problem {
  std::string where;  // e.g. "entries[3] (seq 17, TranscriptDigest)"
  std::string what;
};

enum class Outcome {
  kConfirmed,        // recomputed from the evidence: the rule was broken as the VS says
  kConsistent,       // the numbers agree; the rest (an absence) is the VS's word
  kNotRecomputable,  // an operator decision or a shutdown: nothing to recompute
  kRefuted,          // the evidence does not support the verdict
};
std::string_view outcome_name(Outcome outcome);

struct Analysis {
  nlohmann::json document;         // the whole report, as it must read
  std::vector<Problem> problems;   // every failed check; any problem fails verification
  std::vector<std::string> notes;  // what a reader should know but is not a failure
  std::size_t entries = 0;
  std::size_t covered = 0;  // entries with an inclusion proof
  bool vs_signatures_checked = false;
};

// Checks every piece of evidence (VS signatures against vs_key when given) and computes the
// derived fields. Never throws on bad evidence: problems are data.
Analysis analyze(const Evidence& evidence, const std::optional<crypto::PublicKey>& vs_key);

// The exact bytes of a report file: two-space indentation, keys sorted, one final newline.
std::string serialize(const nlohmann::json& document);

struct Parsed {
  Evidence evidence;
  nlohmann::json document;
};
// Reads the evidence fields of a report. The error names the field ("entries[3].message_hex:
// missing").
Result<Parsed> parse(std::string_view text);
// How a field of the report is named in errors, so that a missing field reads the same whether
// parse() or verify() finds it: "entries[3]" + "seq" -> "entries[3].seq"; "" + "format" ->
// "format".
std::string field_path(const std::string& path, std::string_view key);

enum class CheckStatus { kOk, kFailed, kMalformed };
struct Verification {
  CheckStatus status = CheckStatus::kMalformed;
  std::vector<Problem> problems;  // kFailed: every check that failed; kMalformed: the reason
  Analysis analysis;              // valid unless kMalformed
};
// Re-checks a report file's text offline, with no store, against the given VS key.
Verification verify(std::string_view text, const crypto::PublicKey& vs_key);

// One line per problem, "where: what".
std::string format_problem(const Problem& problem);

// The one printer of a check's result, for `report` and `verify-report`: JSON first, and the
// text rendered from that JSON. `analysis` may be null (a malformed report).
nlohmann::json summary(CheckStatus status, const std::vector<Problem>& problems,
                       const Analysis* analysis);
std::string summary_text(const nlohmann::json& summary);

}  // namespace gsvs::audit::report
