// The verifier behind `audit-cli verify` for a GS store (meta.format "gsvs-gs-log", or an older
// GS store read with --role gs; docs/STORE.md §2.2). A GS keeps its own record of its VS link:
// what it sent (JoinRequest, Heartbeat, TranscriptDigest, NonceBatch, GsLeaving; direction 2)
// and what it received from the VS after checking it (JoinAccept, JoinReject, PlayTicket,
// ProtectedReceipt, Checkpoint, Revocation; direction 1). One pass, in seq order, checking:
//   - the chain and the kind_name column, as for a VS store (chain_check.h); the kind and
//     direction columns as a GS writes them;
//   - what the GS sent: the JoinRequest's two signatures, session traffic under the session key
//     the JoinAccept binds, gs_counter strictly increasing per session;
//   - what it received: the VS signature, and the checks gsd made before recording it
//     (rules/gs_checks.h, PROTOCOL.md §8.8: the JoinAccept answers the JoinRequest before it, the
//     ticket chain, receipts naming digests the GS sent and their tip chain, checkpoints not
//     shrinking within a session, a revocation naming its session).
// A GS store's Checkpoints describe the VS log, not this file: only their signature and order
// are checked here (`audit-cli reconcile` compares them with the VS log).
#pragma once

#include <string>
#include <vector>

#include "audit-cli/findings.h"
#include "audit-cli/verifier.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::audit {

// Verifies `log`, a GS store read from `path`, with the VS key or a fleet's key set (required;
// `shown` is how the result names it). Fills the result's stats; every problem goes to `sink`. An
// error only when the store cannot be read.
Result<VerifyResult> verify_gs_store(const std::string& path, const storage::Log& log,
                                     const std::vector<crypto::PublicKey>& vs_keys,
                                     const KeySource& shown, FindingSink& sink);

}  // namespace gsvs::audit
