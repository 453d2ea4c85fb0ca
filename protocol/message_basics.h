// What every message of protocol version 1 is made of (messages.h): the version, the session id,
// keys and signatures, the player flags, and the spawn zone that JoinAccepts and policies carry.
#pragma once

#include <array>
#include <cstdint>

#include "protocol/crypto.h"

namespace gsvs::protocol {

inline constexpr std::uint8_t kProtocolVersion = 1;
// Version 2 carries more than version 1, in two kinds only: a ProtectedReceipt signed in a batch
// (PROTOCOL.md §5.11.1) and a VsStart that names the rules version of its run (§5.25).
inline constexpr std::uint8_t kBatchedReceiptVersion = 2;
inline constexpr std::uint8_t kVsStartRulesVersion = 2;

using SessionId = std::uint64_t;
using crypto::PublicKey;
using crypto::Signature;

// Player flags in a TranscriptDigest.
inline constexpr std::uint8_t kPlayerSpawn = 0x01;  // (re)appears here: no speed check this step
inline constexpr std::uint8_t kPlayerFlagsMask = kPlayerSpawn;

template <std::size_t N>
using Signatures = std::array<Signature, N>;

// A spawn zone (PROTOCOL.md §8.6 "Spawn zones"): an area, in the movement rule's millimetres,
// where a player may appear by a spawn without a checked move. 17 bytes on the wire; a shape
// byte outside SpawnZoneShape, a rectangle whose upper corner lies below its lower one, or a
// circle with a negative radius or a non-zero y2_mm is non-canonical (§2.6).
enum class SpawnZoneShape : std::uint8_t { kRectangle = 1, kCircle = 2 };
struct SpawnZone {
  std::uint8_t shape = 0;  // SpawnZoneShape
  std::int32_t x_mm = 0;   // rectangle: lower corner (smallest x and y), inclusive; circle: centre
  std::int32_t y_mm = 0;
  std::int32_t x2_mm = 0;  // rectangle: upper corner, inclusive; circle: the radius
  std::int32_t y2_mm = 0;  // circle: 0

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.shape, "shape");
    v.field(m.x_mm, "x_mm");
    v.field(m.y_mm, "y_mm");
    v.field(m.x2_mm, "x2_mm");
    v.field(m.y2_mm, "y2_mm");
  }
  friend bool operator==(const SpawnZone&, const SpawnZone&) = default;
};

}  // namespace gsvs::protocol
