#include "gsd/match.h"

#include <chrono>

namespace gsvs::gsd {

namespace {

// A remembered player is forgotten only this long after the VS's spawn interval has passed since
// its last reported spawn, so that the VS accepts its respawn whatever the latency (§8.6).
constexpr std::uint64_t kRespawnMarginMs = 1000;

}  // namespace

std::uint64_t mono_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

Match::Match(const net::asio::any_io_executor& executor, const protocol::JoinAccept& join_accept,
             Bytes join_accept_bytes, crypto::SecretKey key, WorldLimits limits,
             std::size_t remembered_players)
    : session_id(join_accept.session_id),
      accept(join_accept),
      accept_bytes(std::move(join_accept_bytes)),
      session_key(std::move(key)),
      world(limits),
      roster(remembered_players, accept.spawn_min_interval_ms + kRespawnMarginMs),
      started_ms(mono_ms()),
      nonce_timer(executor) {
  world.begin_window(started_ms);
}

void Match::note_nonce(ClientId client, const Nonce32& nonce) {
  nonces.add(client, nonce);
  if (nonce_loop_idle) nonce_timer.cancel();
}

void Match::forget(const crypto::PublicKey& player) {
  world.remove_player(player);
  reported.erase(player);
  last_client_seq.erase(player);
}

}  // namespace gsvs::gsd
