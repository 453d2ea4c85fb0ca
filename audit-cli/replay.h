// One session replayed from the log, for `timeline`, `explain` and reports: SessionModel run
// over the session's entries (read through the session-id index), with every signature checked
// here: each received message with its verdict, each digest with the movement steps
// rules::MovementChecker computes under the JoinAccept's limits, and the revocation with the
// assessment of its evidence.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "audit-cli/findings.h"
#include "audit-cli/session_index.h"
#include "audit-cli/session_model.h"
#include "protocol/crypto.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::audit {

struct ReplayedDigest {
  std::uint64_t seq = 0;
  std::uint64_t vs_time_ms = 0;
  std::uint64_t gs_time_ms = 0;
  std::uint64_t gs_counter = 0;
  Verdict verdict = Verdict::kAccepted;
  std::vector<protocol::PlayerPosition> players;
  // One step per player, in the order of `players`; empty when the digest was refused (it never
  // reached the physics audit) or arrived after the revocation (verdict kAfterRevocation).
  std::vector<rules::MovementStep> steps;
  // Its signature under the session key: the VS no longer judges a digest after the revocation,
  // so this is what tells the GS's own digests there from bytes anyone could have written.
  SigState signature = SigState::kUnchecked;
};

struct SessionReplay {
  SessionFacts facts;
  std::vector<ReceivedRecord> received;  // every received entry after the join, with its verdict
  std::vector<ReplayedDigest> digests;   // in log order
  // What its players started from (PROTOCOL.md §8.6): the identity's earlier sessions replayed
  // through the rules' ledger (session_continuity.h); empty without continuity.
  std::vector<rules::NotarizedPosition> carried;
  std::optional<RevocationAssessment> assessment;  // when the session was revoked
  // The session's revocation signature under the VS key (kUnchecked without a key).
  SigState revocation_signature = SigState::kUnchecked;
  SigState accept_signature = SigState::kUnchecked;
  // The VS signatures of the VsStarts the replay takes (their rules versions and resume windows):
  // kInvalid when any fails, which is then not taken.
  SigState starts_signature = SigState::kUnchecked;
  // What the model found wrong inside this session (`verify` checks the whole store).
  std::vector<Finding> problems;
  std::uint64_t problem_count = 0;

  [[nodiscard]] const ReceivedRecord* received_at(std::uint64_t seq) const;
};

// Replays `facts.session_id`. `vs_key` checks VS signatures when given.
Result<SessionReplay> replay_session(const storage::Log& log, const SessionFacts& facts,
                                     const std::optional<crypto::PublicKey>& vs_key);

}  // namespace gsvs::audit
