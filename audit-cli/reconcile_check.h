// Reconciliation of a VS store with a GS store (same schema; in the GS store direction 1 means
// received from the VS, 2 sent by the GS, and vs_time_ms is the GS's clock). Messages are matched
// by their exact bytes (message hash); what one side holds and the other lacks, or holds with
// other bytes at the same position, becomes a finding. Checkpoints the GS holds are checked
// against the Merkle root of the VS log at their size, and against each other with consistency
// proofs, which is what shows a cut or rewritten VS log (docs/PROTOCOL.md §6.6).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::audit::reconcile {

enum class Severity { kInfo, kWarning, kError };
std::string_view severity_name(Severity severity);

struct Finding {
  Severity severity = Severity::kInfo;
  std::string code;  // vs_missing_received, gs_missing_issued, vs_missing_sent, ... (AUDIT.md)
  std::optional<protocol::SessionId> session_id;
  std::string kind;  // kind name, empty when not about one message
  std::optional<std::uint64_t> vs_seq;
  std::optional<std::uint64_t> gs_seq;
  std::string detail;
};

struct CheckpointCheck {
  std::uint64_t log_size = 0;
  Hash32 root;
  std::uint64_t gs_seq = 0;
  std::optional<bool> vs_signed;  // nullopt: no VS key given
  std::string status;             // matches, beyond_log, root_mismatch, not_signed
};

struct Options {
  std::optional<crypto::PublicKey> vs_key;
};

struct Reconciliation {
  std::uint64_t vs_entries = 0;
  std::uint64_t gs_entries = 0;
  std::vector<protocol::SessionId> sessions;
  std::uint64_t matched = 0;  // GS entries found byte for byte in the VS log
  std::vector<CheckpointCheck> checkpoints;
  std::vector<Finding> findings;
  [[nodiscard]] std::size_t count(Severity severity) const;
};

// Errors only for unreadable stores; everything found in them is a finding.
Result<Reconciliation> reconcile(const storage::Log& vs, const storage::Log& gs,
                                 const Options& options);

nlohmann::json to_json(const Reconciliation& result);
std::string to_text(const Reconciliation& result);

}  // namespace gsvs::audit::reconcile
