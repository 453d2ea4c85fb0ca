// Who a GS lets in, so that nobody without a player's key can lock players out
// (docs/PROTOCOL.md §8.9, Admission). Pure bookkeeping: the daemon closes what these classes name.
//
// - PendingBudget (net/pending_budget.h): connections that have not completed the client
//   handshake. They never count against max_players; they share a bounded budget of their own,
//   and a newcomer takes the place of the oldest, so silent sockets cannot keep real players out.
// - Roster: the player keys a session remembers (their positions survive a reconnect). A key is
//   remembered once its holder completed a handshake; a key that never had an input accepted is
//   forgotten when it leaves; when the roster is full, the player that left longest ago is
//   forgotten, once a respawn of it is something the VS accepts (§8.6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gsd/nonce_book.h"
#include "net/pending_budget.h"
#include "protocol/crypto.h"

namespace gsvs::gsd {

// The pre-handshake budget is the one the VS keeps too (net/pending_budget.h).
using net::PendingBudget;

// Why a client connection closed before its player joined, in the order the listener's summary
// lists them.
enum class ClientRefusal : std::uint8_t {
  kDisplaced,    // a newer connection took its place among those before their ClientHello
  kNoHello,      // silence, junk, a replayed or badly signed ClientHello
  kFull,         // max_players, or the roster of recent players, is full
  kNoVsSession,  // gsd was (re)joining the VS
};
constexpr std::size_t kClientRefusals = 4;
// The metric's label: displaced, no_hello, full, no_vs_session.
std::string_view client_refusal_name(ClientRefusal why);

class Roster {
 public:
  // At most `capacity` keys; a remembered player may be forgotten once `respawn_after_ms` have
  // passed since it was last reported as spawning.
  Roster(std::size_t capacity, std::uint64_t respawn_after_ms);

  struct Admission {
    bool admitted = false;
    std::vector<crypto::PublicKey> forget;  // to drop from the world and the session's tables
  };
  // The key's holder completed a handshake at `now_ms`.
  Admission join(const crypto::PublicKey& key, std::uint64_t now_ms);
  // An input of this player was accepted: it is worth remembering after it leaves.
  void played(const crypto::PublicKey& key);
  // A digest reported this player with the spawn flag at `now_ms`.
  void spawned(const crypto::PublicKey& key, std::uint64_t now_ms);
  // The player's connection left at `now_ms`. True when the key is forgotten now (it never
  // played, so the spawn point is all there is to remember).
  bool left(const crypto::PublicKey& key, std::uint64_t now_ms);
  [[nodiscard]] std::size_t size() const { return players_.size(); }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

 private:
  struct Player {
    bool online = false;
    bool played = false;
    std::optional<std::uint64_t> spawned_ms;
    std::uint64_t left_ms = 0;
  };
  std::size_t capacity_;
  std::uint64_t respawn_after_ms_;
  std::map<crypto::PublicKey, Player> players_;
};

}  // namespace gsvs::gsd
