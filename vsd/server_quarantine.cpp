// The quarantines in force (PROTOCOL.md §8.16), as `vsd status` lists them. The ledger itself is
// rules::QuarantineLedger; it is fed where Revocations are placed at the log head (session.cpp,
// recovery.cpp) and rebuilt from the log at start (recovery.cpp).
#include <nlohmann/json.hpp>

#include "vsd/server_state.h"

namespace gsvs::vsd {

nlohmann::json ServerState::quarantine_json() {
  nlohmann::json out = nlohmann::json::array();
  std::lock_guard lock(mutex);
  for (const auto& [identity, q] : quarantine.all()) {
    const auto reason = static_cast<protocol::RevocationReason>(q.reason);
    nlohmann::json entry{{"gs_identity", to_hex(identity)},
                         {"since_vs_ms", q.since_ms},
                         {"session_id", q.session_id},
                         {"reason", protocol::reason_name(reason)},
                         {"revocation_position", q.position}};
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace gsvs::vsd
