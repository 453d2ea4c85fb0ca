// A node of a fleet (docs/STORE.md §11.6): its claims on GS identities and its session ids, in
// the database the fleet shares.
#include <spdlog/spdlog.h>

#include "vsd/server_state.h"

namespace gsvs::vsd {

namespace asio = net::asio;

namespace {
// Session ids reserved at a time: one round trip to the database per this many joins.
constexpr protocol::SessionId kSessionIdBlock = 1024;
}  // namespace

Status ServerState::join_fleet() {
  if (config.fleet.empty()) return Status::success();
  auto joined = storage::Fleet::join(config.store, config.fleet, key.public_key());
  if (!joined) return Error{joined.error()};
  fleet = std::move(joined).value();
  spdlog::info("node {} of fleet {}: a GS identity has one live session across the fleet's nodes",
               fleet->node(), config.fleet);
  return Status::success();
}

asio::awaitable<Result<storage::Fleet::Claim>> ServerState::claim_in_fleet(
    const protocol::PublicKey& identity) {
  // In an optional: what co_spawn hands back must be default-constructible.
  auto claimed = co_await asio::co_spawn(
      fleet_thread,
      [this, identity]() -> asio::awaitable<std::optional<Result<storage::Fleet::Claim>>> {
        co_return fleet->claim(identity, storage::Fleet::TakeOver::kFromDeadNodes);
      },
      asio::use_awaitable);
  co_return std::move(*claimed);
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
