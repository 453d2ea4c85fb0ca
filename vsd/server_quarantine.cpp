// The quarantines in force (PROTOCOL.md §8.16), as `vsd status` lists them, and the operator's
// pardon (`vsd pardon`). The ledger itself is rules::QuarantineLedger; it is fed where
// Revocations, PolicyApplieds and Pardons are placed at the log head (session.cpp, reload.cpp,
// here) and rebuilt from the log at start (recovery.cpp).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "app/log_line.h"
#include "vsd/server_state.h"

namespace gsvs::vsd {

nlohmann::json ServerState::quarantine_json() {
  nlohmann::json out = nlohmann::json::array();
  const std::uint64_t now = clock.now_ms();
  std::lock_guard lock(mutex);
  // Lapsed quarantines are no longer in force, and are not listed.
  for (const auto& [identity, q] : quarantine.holding_at(now)) {
    const auto reason = static_cast<protocol::RevocationReason>(q.reason);
    nlohmann::json entry{
        {"gs_identity", to_hex(identity)},   {"since_vs_ms", q.since_ms},
        {"session_id", q.session_id},        {"reason", protocol::reason_name(reason)},
        {"revocation_position", q.position}, {"quarantine_ms", q.quarantine_ms}};
    // Both null: until pardoned.
    const auto lapses = q.lapses_at_ms();
    entry["lapses_vs_ms"] = lapses ? nlohmann::json(*lapses) : nlohmann::json(nullptr);
    entry["lapses_in_ms"] = lapses ? nlohmann::json(*lapses - now) : nlohmann::json(nullptr);
    out.push_back(std::move(entry));
  }
  return out;
}

Result<nlohmann::json> ServerState::pardon_by_operator(const protocol::PublicKey& identity,
                                                       const std::string& reason) {
  using protocol::MessageKind;
  if (stopping) return Error{"vsd is stopping; pardon the identity after its restart"};
  std::optional<rules::Quarantine> lifted;
  protocol::Pardon pardon;
  // Decided and logged at the log head, under the lock that places Revocations and answers to
  // joins: a join placed after the Pardon finds the quarantine lifted, and a Revocation placed
  // before it is the one it lifts (or, if it began a new quarantine, the one it names).
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t, const Hash32&) {
    std::vector<storage::PendingEntry> entries;
    const std::uint64_t now = clock.now_ms();
    std::lock_guard lock(mutex);
    lifted = quarantine.pardoned(identity, now);
    if (!lifted) return entries;  // nothing to lift: nothing is logged
    // Before the Pardon is committed, as a quarantine is written before its Revocation: a crash
    // between the two leaves the fleet stricter than the log, and the restart publishes the log's.
    if (fleet) fleet->pardoned(identity);
    pardon.gs_identity = identity;
    pardon.vs_time_ms = now;
    pardon.revocation_position = lifted->position;
    pardon.reason = reason;
    entries.push_back(
        pending(MessageKind::kPardon, chains::Direction::kIssued, 0, now, sign_and_encode(pardon)));
    return entries;
  };
  auto placed = writer->submit_at_head(build, stop_if_not_durable("logging a pardon"));
  if (!placed) {
    store_failed("logging a pardon", placed.error());
    return Error{"the store refused the Pardon: " + placed.error()};
  }
  if (!lifted) {
    if (fleet) {
      // Another node's quarantine is that node's to lift: its log holds the Revocation.
      auto elsewhere = fleet->quarantine_elsewhere(identity, clock.now_ms());
      if (!elsewhere) {
        return Error{"GS identity " + to_hex(identity) +
                     " is not quarantined by this node, and the fleet's quarantines cannot be "
                     "read (" +
                     elsewhere.error() + "); nothing was logged"};
      }
      if (*elsewhere) {
        return Error{"GS identity " + to_hex(identity) +
                     " is not quarantined by this node but by " +
                     fleet_quarantine_detail(**elsewhere) + "; nothing was logged here"};
      }
    }
    return Error{"GS identity " + to_hex(identity) +
                 " is not quarantined (never, already pardoned, or lapsed); nothing was logged"};
  }
  // The operator is told it is done once it is: the Pardon is durable.
  if (Status flushed = writer->flush(); !flushed) {
    return Error{"the store failed while committing the Pardon: " + flushed.error()};
  }
  const std::uint64_t position = placed->front().header.seq;
  spdlog::warn(
      "identity {}: pardoned by the operator at log position {}: the quarantine begun by the "
      "revocation of session {} ({}) at log position {} is lifted: {}",
      to_hex(identity), position, lifted->session_id,
      protocol::reason_name(static_cast<protocol::RevocationReason>(lifted->reason)),
      lifted->position, app::log_text(reason));
  return nlohmann::json{{"gs_identity", to_hex(identity)},
                        {"pardon_position", position},
                        {"vs_time_ms", pardon.vs_time_ms},
                        {"session_id", lifted->session_id},
                        {"revocation_position", lifted->position}};
}

}  // namespace gsvs::vsd
