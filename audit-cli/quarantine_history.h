// What became of each quarantine of a GS identity the log holds (PROTOCOL.md §8.16): lifted by
// the operator's Pardon, lapsed after the quarantine_ms of the policy in force when it began,
// renewed by a later quarantining Revocation, or still in force where the log ends. Recomputed
// from the log alone with the one ledger vsd keeps (rules::QuarantineLedger), for `sessions` and
// `explain`; `verify` holds every Pardon and join to the same ledger as it reads. A quarantine
// begun before the rows read (retired segments) is known from the first StateCarried that
// restates it, keyed by its Revocation's position all the same.
//
// Memory: O(quarantining revocations + pardons + policies), never O(entries).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "audit-cli/session_index.h"
#include "protocol/messages.h"
#include "protocol/result.h"
#include "rules/quarantine.h"
#include "storage/log.h"

namespace gsvs::audit {

struct PardonFacts {
  std::uint64_t seq = 0;  // log position of the Pardon entry
  protocol::Pardon message;
  // The quarantine it lifted; nullopt: none held at its vs_time_ms (a Pardon of nothing).
  std::optional<rules::Quarantine> lifted;
};

enum class QuarantineEnd : std::uint8_t {
  kInForce,   // holds where the log ends
  kPardoned,  // a Pardon lifted it
  kLapsed,    // its quarantine_ms ran out before the log ends (no entry records a lapse)
  kRenewed,   // a later quarantining Revocation of the identity replaced it while it held
};
std::string_view quarantine_end_name(QuarantineEnd end);

struct QuarantineFate {
  protocol::PublicKey identity;
  rules::Quarantine quarantine;  // position: the Revocation that began it
  QuarantineEnd end = QuarantineEnd::kInForce;
  std::optional<PardonFacts> pardon;        // kPardoned
  std::optional<std::uint64_t> renewed_by;  // kRenewed: the later Revocation's position
};

struct QuarantineHistory {
  std::map<std::uint64_t, QuarantineFate> by_revocation;  // by the Revocation's log position
  std::vector<PardonFacts> pardons;                       // every Pardon, in log order
  std::uint64_t log_end_vs_ms = 0;                        // vs_time_ms of the log's last entry read

  [[nodiscard]] const QuarantineFate* of_revocation(std::uint64_t revocation_seq) const;
};

// Reads the VS's own statements (session 0: PolicyApplied, Pardon) and replays them with the
// index's quarantining Revocations, in log order.
Result<QuarantineHistory> build_quarantine_history(const storage::Log& log,
                                                   const StoreIndex& index);

// One line for people: "pardoned at <UTC> (entry N): <reason>", "lapsed at <UTC>", "in force
// until pardoned", ...
std::string describe_fate(const QuarantineFate& fate);

}  // namespace gsvs::audit
