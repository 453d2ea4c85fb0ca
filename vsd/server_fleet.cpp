// A node of a fleet (docs/STORE.md §11.6): its claims on GS identities and its session ids, in
// the database the fleet shares.
#include <spdlog/spdlog.h>

#include "app/log_line.h"
#include "fleet/adoption.h"
#include "vsd/server_state.h"

namespace gsvs::vsd {

namespace asio = net::asio;

namespace {
// Session ids reserved at a time: one round trip to the database per this many joins.
constexpr protocol::SessionId kSessionIdBlock = 1024;
}  // namespace

Status ServerState::join_fleet() {
  if (!storage::is_postgres_store(config.store)) return Status::success();
  // A node keeps to the fleet it joined (storage::Fleet::fleets_of): fail closed on a
  // configuration that lost or changed its `fleet`.
  auto fleets = storage::Fleet::fleets_of(config.store);
  if (!fleets) return fleets.failure();
  for (const std::string& registered : *fleets) {
    if (registered == config.fleet) continue;
    return Error{"store " + storage::printable_store(config.store) +
                 ": its schema is a node of fleet " + registered + " (listed in " + registered +
                 ".node), but " +
                 (config.fleet.empty() ? std::string("'fleet' is not set")
                                       : "'fleet' = '" + config.fleet + "'") +
                 ": set fleet = \"" + registered +
                 "\". Run outside its fleet, a GS identity could hold a session on this node and "
                 "on another at once, and session ids would repeat the fleet's. A node that "
                 "leaves its fleet for good needs a new schema (docs/OPERATIONS.md \"Running a "
                 "fleet\")"};
  }
  if (config.fleet.empty()) return Status::success();
  auto joined = storage::Fleet::join(config.store, config.fleet, key.public_key(),
                                     [](const std::string& notice) { spdlog::warn("{}", notice); });
  if (!joined) return joined.failure();
  fleet = std::move(joined).value();
  spdlog::info("node {} of fleet {}: a GS identity has one live session across the fleet's nodes",
               fleet->node(), config.fleet);
  return Status::success();
}

storage::Fleet::Quarantine fleet_quarantine(const protocol::PublicKey& identity,
                                            const rules::Quarantine& quarantine) {
  return storage::Fleet::Quarantine{identity,
                                    quarantine.session_id,
                                    quarantine.reason,
                                    quarantine.since_ms,
                                    quarantine.position,
                                    quarantine.quarantine_ms,
                                    {}};
}

std::string fleet_quarantine_detail(const storage::Fleet::Quarantine& quarantine) {
  // Short, and without the identity the request names: a JoinReject's detail is cut to the
  // request's size (§8.3). What an investigator needs is where to look: the node and position.
  const rules::Quarantine as_logged{quarantine.session_id, quarantine.reason, quarantine.since_ms,
                                    quarantine.position, quarantine.quarantine_ms};
  const auto lapses = as_logged.lapses_at_ms();
  return "node " + quarantine.node + " of this VS's fleet (session " +
         std::to_string(quarantine.session_id) + " revoked there for " +
         std::string(
             protocol::reason_name(static_cast<protocol::RevocationReason>(quarantine.reason))) +
         " at its log position " + std::to_string(quarantine.position) + ", since " +
         std::to_string(quarantine.since_ms) + " ms, " +
         (lapses ? "until " + std::to_string(*lapses) + " ms" : std::string("until pardoned")) +
         ")";
}

asio::awaitable<Result<ServerState::FleetJoin>> ServerState::ask_fleet_for_join(
    const protocol::PublicKey& identity, std::uint64_t vs_time_ms) {
  // In an optional: what co_spawn hands back must be default-constructible.
  auto answered = co_await asio::co_spawn(
      fleet_thread,
      [this, identity, vs_time_ms]() -> asio::awaitable<std::optional<Result<FleetJoin>>> {
        auto claim = fleet->claim(identity);
        if (!claim) co_return Result<FleetJoin>(Error{claim.error()});
        // A claim that names no session is not taken over: its node may be joining it now, or
        // died before it could say which session holds it (§8.10 "A fleet").
        bool takeover_failed = false;
        if (!claim->granted && claim->holder_session) {
          auto taken = take_claim_of_dead_node(identity);
          if (!taken) {
            // Refused as busy: the claim stays that node's until it starts again.
            spdlog::warn("identity {}: the claim of node {} is not taken over: {}",
                         short_hex(identity), claim->holder, app::log_text(taken.error()));
            takeover_failed = true;
          } else if (*taken) {
            claim->granted = true;
          }
        }
        FleetJoin answer{*claim, std::nullopt, takeover_failed};
        // Asked after the claim is granted: the node that quarantined the identity wrote its
        // quarantine before it gave its claim back (§8.16 "In a fleet").
        if (claim->granted) {
          auto elsewhere = fleet->quarantine_elsewhere(identity, vs_time_ms);
          if (!elsewhere) {
            fleet->release(identity);
            co_return Result<FleetJoin>(Error{elsewhere.error()});
          }
          answer.quarantine = std::move(elsewhere).value();
        }
        co_return Result<FleetJoin>(std::move(answer));
      },
      asio::use_awaitable);
  co_return std::move(*answered);
}

Result<storage::Log*> ServerState::dead_node_log(const std::string& node) {
  auto& log = dead_node_logs[node];
  if (!log) {
    storage::OpenOptions options;
    options.pg_schema = node;
    auto opened = storage::Log::open(config.store, storage::OpenMode::kReadOnly,
                                     storage::StoreRole::kVs, options);
    if (!opened) {
      dead_node_logs.erase(node);
      return Error{opened.error()};
    }
    log = std::move(opened).value();
  }
  return log.get();
}

Result<bool> ServerState::take_claim_of_dead_node(const protocol::PublicKey& identity) {
  auto dead = fleet->lock_dead_holder(identity);
  if (!dead) return Error{dead.error()};
  if (!*dead) return false;  // alive, or the claim is gone: claimed again next time
  const storage::Fleet::Node& from = **dead;
  // The dead node's writer lock is held from here until the claim has moved: it cannot start
  // again meanwhile and claim the identity for a session it keeps.
  const auto judged = [&]() -> Result<bool> {
    // Read without the lock: the claim was looked up before the lock was taken.
    if (!from.session_id) return Error{"its claim names no session of its log"};
    auto log = dead_node_log(from.name);
    if (!log) return Error{log.error()};
    auto left =
        fleet::quarantine_left(**log, *from.session_id, (*log)->size(), from.vs_key, identity);
    if (!left) {
      // Opened afresh next time: the failure may be the connection's.
      dead_node_logs.erase(from.name);
      return Error{"node " + from.name + ": " + left.error()};
    }
    if (*left) {
      // The dead node may have died before it told the fleet: its log's word is written for it,
      // and the join that takes the claim finds it (check 12).
      const storage::Fleet::Quarantine begun{identity,          *from.session_id,  (*left)->reason,
                                             (*left)->since_ms, (*left)->position, 0,
                                             from.name};
      if (Status written = fleet->quarantined_by_dead_node(begun); !written) {
        return Error{written.error()};
      }
    }
    return fleet->take_claim_from(identity, from.name);
  };
  auto taken = judged();
  fleet->unlock_node(from.name);
  if (taken && *taken) {
    spdlog::info("identity {}: claim taken over from node {}, which is not alive (its session {})",
                 short_hex(identity), from.name, *from.session_id);
  }
  return taken;
}

void ServerState::claimed_for_in_fleet(const protocol::PublicKey& identity,
                                       protocol::SessionId session) {
  if (!fleet) return;
  asio::post(fleet_thread, [this, identity, session] {
    if (Status named = fleet->claimed_for(identity, session); !named) {
      spdlog::warn(
          "session {}: {}; should this node die before it starts again, no other node "
          "takes identity {} over",
          session, app::log_text(named.error()), short_hex(identity));
    }
  });
}

Status ServerState::settle_fleet_at_start(std::uint64_t vs_time_ms) {
  if (!fleet) return Status::success();
  std::vector<storage::Fleet::Quarantine> in_force;
  {
    std::lock_guard lock(mutex);
    for (const auto& [identity, q] : quarantine.holding_at(vs_time_ms)) {
      in_force.push_back(fleet_quarantine(identity, q));
    }
  }
  if (Status published = fleet->publish_quarantines(in_force); !published) return published;
  return fleet->drop_unheld_claims();
}

void ServerState::release_in_fleet(const protocol::PublicKey& identity) {
  if (!fleet) return;
  asio::post(fleet_thread, [this, identity] { fleet->release(identity); });
}

Result<protocol::SessionId> ServerState::take_session_id() {
  if (fleet && next_session_id.load() >= session_id_block_end) {
    auto first = fleet->reserve_session_ids(next_session_id.load(), kSessionIdBlock);
    if (!first) return Error{first.error()};
    next_session_id.store(*first);
    session_id_block_end = *first + kSessionIdBlock;
  }
  return next_session_id.fetch_add(1);
}

}  // namespace gsvs::vsd
