// gsd-rogue's cheats: a Behaviour that misbehaves in the ways the protocol is built to catch.
// For demonstrations and tests only; the production gsd never links this.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "gsd/behaviour.h"

namespace gsvs::gsd::rogue {

struct RogueOptions {
  bool speed = false;          // moves players faster than the limit, and reports 50 m jumps
  double speed_factor = 10.0;  // applied displacement multiplier
  double jump_m = 50.0;        // every other digest reports each player this far along x
  bool inflate_time = false;   // reports gs_time_ms running time_factor times too fast, and
  double time_factor = 10.0;   // credits moves by that inflated clock
  bool swap_build = false;     // heartbeats report another sw_hash than the one joined with
  bool suppress = false;       // on revocation: keeps serving the clients, tells them nothing
  bool hoard = false;          // holds each ticket for validity + hoard_extra_ms
  std::uint32_t hoard_extra_ms = 1000;
  bool withhold_nonces = false;           // never forwards client nonces (no proofs)
  std::optional<Hash32> claimed_build;    // reported instead of its own sw_hash
  std::uint32_t turn_rogue_after_ms = 0;  // honest until this long after the first join

  [[nodiscard]] std::string modes() const;
};

class RogueBehaviour : public Behaviour {
 public:
  explicit RogueBehaviour(const RogueOptions& options) : options_(options) {}

  void on_joined(protocol::SessionId session) override;
  Hash32 join_sw_hash(const Hash32& own) override;
  Hash32 heartbeat_sw_hash(const Hash32& joined) override;
  std::uint64_t reported_time_ms(std::uint64_t wall_ms) override;
  double move_credit_factor() override;
  double applied_move_factor() override;
  void adjust_reported(std::vector<protocol::PlayerPosition>& players) override;
  bool suppress_session_end() override;
  std::chrono::milliseconds ticket_hold(const protocol::JoinAccept& accept) override;
  bool forward_nonces() override;

 private:
  bool active();

  RogueOptions options_;
  std::optional<std::chrono::steady_clock::time_point> first_join_;
  bool announced_ = false;
  std::optional<std::uint64_t> inflate_from_wall_ms_;
  std::uint64_t digests_ = 0;
};

}  // namespace gsvs::gsd::rogue
