// Gathers a session's evidence from a store for a dispute report (report_format.h), with Merkle
// inclusion proofs computed in one streaming pass over the log (protocol/merkle_plan.h): memory
// grows with the evidence, not with the log.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit-cli/report_format.h"
#include "storage/log.h"

namespace gsvs::audit::report {

struct BuildOptions {
  protocol::SessionId session_id = 0;
  std::optional<crypto::PublicKey> vs_key;  // checkpoints that do not verify under it are skipped
  bool all_entries = false;                 // every entry of the session, not only the evidence
};

struct Built {
  Evidence evidence;
  std::vector<std::string> notes;  // what the builder noticed in the store on the way
};

// A log that starts after a seal (only the segments the session touches, docs/STORE.md §10) is
// read from there: the Merkle proofs resume from Log::tree_before_first.
// Errors (no such session, unreadable store) are for exit code 2; evidence that does not check
// out is still gathered, for analyze() to report.
Result<Built> build(const storage::Log& log, const BuildOptions& options);

}  // namespace gsvs::audit::report
