// The seams where a game server could cheat, as hooks with honest defaults. The production gsd
// uses Behaviour as it is and never links anything else; the demonstration program gsd-rogue
// (gsd/rogue/) overrides hooks to show what the VS and the clients catch. Keeping the switches out
// of the production binary means no configuration mistake can turn an honest server rogue.
//
// Every hook is called on the daemon's one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "protocol/messages.h"

namespace gsvs::gsd {

class Behaviour {
 public:
  Behaviour() = default;
  virtual ~Behaviour() = default;
  Behaviour(const Behaviour&) = delete;
  Behaviour& operator=(const Behaviour&) = delete;

  // A session was admitted by the VS.
  virtual void on_joined(protocol::SessionId /*session*/) {}

  // The build hash in the JoinRequest; `own` is the SHA-256 of this executable.
  virtual Hash32 join_sw_hash(const Hash32& own) { return own; }
  // The build hash in each Heartbeat; `joined` is the one sent in the JoinRequest.
  virtual Hash32 heartbeat_sw_hash(const Hash32& joined) { return joined; }
  // gs_time_ms of Heartbeats and TranscriptDigests, from the wall clock in ms.
  virtual std::uint64_t reported_time_ms(std::uint64_t wall_ms) { return wall_ms; }
  // Scales the time a move is credited with (the speed cap).
  virtual double move_credit_factor() { return 1.0; }
  // Scales the displacement the simulation applied, after the cap.
  virtual double applied_move_factor() { return 1.0; }
  // May change the positions a TranscriptDigest reports (not the world itself).
  virtual void adjust_reported(std::vector<protocol::PlayerPosition>& /*players*/) {}
  // True: on a Revocation or a lost VS connection, keep the match and its clients going instead
  // of forwarding the notice and closing them (and do not join again).
  virtual bool suppress_session_end() { return false; }
  // How long to hold each ticket before forwarding it to clients.
  virtual std::chrono::milliseconds ticket_hold(const protocol::JoinAccept& /*accept*/) {
    return std::chrono::milliseconds(0);
  }
  // False: client nonces are never forwarded to the VS (so no ticket carries a proof).
  virtual bool forward_nonces() { return true; }
};

}  // namespace gsvs::gsd
