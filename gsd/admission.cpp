#include "gsd/admission.h"

#include <algorithm>
#include <array>

namespace gsvs::gsd {

std::string_view client_refusal_name(ClientRefusal why) {
  static constexpr std::array<std::string_view, kClientRefusals> kNames{"displaced", "no_hello",
                                                                        "full", "no_vs_session"};
  return kNames.at(static_cast<std::size_t>(why));
}

Roster::Roster(std::size_t capacity, std::uint64_t respawn_after_ms)
    : capacity_(capacity), respawn_after_ms_(respawn_after_ms) {}

Roster::Admission Roster::join(const crypto::PublicKey& key, std::uint64_t now_ms) {
  Admission admission;
  if (auto it = players_.find(key); it != players_.end()) {
    it->second.online = true;
    admission.admitted = true;
    return admission;
  }
  if (players_.size() >= capacity_) {
    // The player that left longest ago, among those the VS would let respawn: a player never
    // reported has no position at the VS, one reported long enough ago may spawn again.
    auto forgettable = [&](const Player& p) {
      return !p.online && (!p.spawned_ms || now_ms >= *p.spawned_ms + respawn_after_ms_);
    };
    auto victim = players_.end();
    for (auto it = players_.begin(); it != players_.end(); ++it) {
      if (!forgettable(it->second)) continue;
      if (victim == players_.end() || it->second.left_ms < victim->second.left_ms) victim = it;
    }
    if (victim == players_.end()) return admission;
    admission.forget.push_back(victim->first);
    players_.erase(victim);
  }
  players_[key].online = true;
  admission.admitted = true;
  return admission;
}

void Roster::played(const crypto::PublicKey& key) {
  if (auto it = players_.find(key); it != players_.end()) it->second.played = true;
}

void Roster::spawned(const crypto::PublicKey& key, std::uint64_t now_ms) {
  if (auto it = players_.find(key); it != players_.end()) it->second.spawned_ms = now_ms;
}

bool Roster::left(const crypto::PublicKey& key, std::uint64_t now_ms) {
  auto it = players_.find(key);
  if (it == players_.end()) return false;
  if (!it->second.played) {
    players_.erase(it);
    return true;
  }
  it->second.online = false;
  it->second.left_ms = now_ms;
  return false;
}

}  // namespace gsvs::gsd
