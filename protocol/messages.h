// Every message of protocol version 1, in one place. docs/PROTOCOL.md is the byte-level spec;
// this header is its executable form.
//
// Envelope: version u8 (= kProtocolVersion) || kind u8 || fields in declaration order ||
// signatures (64 bytes each). Integers are little-endian; texts and blobs are u16 length ||
// bytes; lists are u16 count || items. Each variable field has a cap and a decoder rejects more.
//
// Signing input of signature i: tag_i (ASCII) || 0x00 || the encoding without the signatures.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/crypto.h"
#include "protocol/message_kinds.h"
#include "protocol/result.h"

namespace gsvs::protocol {

inline constexpr std::uint8_t kProtocolVersion = 1;

using SessionId = std::uint64_t;
using crypto::PublicKey;
using crypto::Signature;

// Player flags in a TranscriptDigest.
inline constexpr std::uint8_t kPlayerSpawn = 0x01;  // (re)appears here: no speed check this step
inline constexpr std::uint8_t kPlayerFlagsMask = kPlayerSpawn;

template <std::size_t N>
using Signatures = std::array<Signature, N>;

// ---- VS -> GS: join --------------------------------------------------------------------------

struct VsChallenge {
  static constexpr MessageKind kKind = MessageKind::kVsChallenge;
  static constexpr std::array<std::string_view, 0> kSignatureTags{};
  Nonce32 challenge;
  std::uint64_t vs_time_ms = 0;
  Signatures<0> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.challenge, "challenge");
    v.field(m.vs_time_ms, "vs_time_ms");
  }
};

struct JoinRequest {
  static constexpr MessageKind kKind = MessageKind::kJoinRequest;
  // [0] by the long-term identity key, [1] by the fresh session key (proof of possession).
  static constexpr std::array<std::string_view, 2> kSignatureTags{"gsvs/v1/join_request/identity",
                                                                  "gsvs/v1/join_request/session"};
  PublicKey gs_identity;
  PublicKey session_key;
  Hash32 sw_hash;
  std::uint64_t gs_time_ms = 0;
  Nonce32 challenge;
  Signatures<2> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.gs_identity, "gs_identity");
    v.field(m.session_key, "session_key");
    v.field(m.sw_hash, "sw_hash");
    v.field(m.gs_time_ms, "gs_time_ms");
    v.field(m.challenge, "challenge");
  }
};

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

struct JoinAccept {
  static constexpr MessageKind kKind = MessageKind::kJoinAccept;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/join_accept"};
  SessionId session_id = 0;
  PublicKey gs_identity;
  PublicKey session_key;
  Hash32 sw_hash;
  Hash32 join_request_hash;
  std::uint64_t vs_time_ms = 0;
  std::uint32_t heartbeat_interval_ms = 0;
  std::uint32_t heartbeat_timeout_ms = 0;
  std::uint32_t ticket_period_ms = 0;
  std::uint32_t ticket_validity_ms = 0;
  // The movement rule the session is judged under, so that anyone can recompute a verdict.
  std::uint32_t max_speed_mm_s = 0;
  std::uint32_t speed_tolerance_ppm = 0;  // allowed = max_speed * (1 + ppm / 1e6)
  std::uint32_t jitter_allowance_ms = 0;
  std::uint32_t excess_decay_ppm = 0;  // accumulated excess *= ppm / 1e6 at every digest
  std::uint32_t max_excess_mm = 0;
  std::uint32_t spawn_min_interval_ms = 0;
  // The most distinct players the session may name in its digests; one more is revoked
  // (too_many_players), so the VS's per-session movement state stays bounded.
  std::uint32_t max_players_per_session = 0;
  // How many receipts a Heartbeat or GsLeaving may trail behind those issued (§8.5 check 6),
  // signed so that an auditor judges a lagging receipt_count as the VS did.
  std::uint32_t max_receipt_lag = 0;
  // The longest the VS waits for the next TranscriptDigest while the last accepted one named
  // players (§8.5 "Digests required"); then it revokes with digests_stopped.
  std::uint32_t digest_timeout_ms = 0;
  // Continuity across sessions (§8.6): a player's first position in a new session of the identity
  // is a step from its last position notarized under the identity this long before the
  // JoinAccept (0: every first position is free).
  std::uint32_t continuity_window_ms = 0;
  // Where a spawn is free (§8.6); empty: anywhere, as before zones existed.
  std::vector<SpawnZone> spawn_zones;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.gs_identity, "gs_identity");
    v.field(m.session_key, "session_key");
    v.field(m.sw_hash, "sw_hash");
    v.field(m.join_request_hash, "join_request_hash");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.heartbeat_interval_ms, "heartbeat_interval_ms");
    v.field(m.heartbeat_timeout_ms, "heartbeat_timeout_ms");
    v.field(m.ticket_period_ms, "ticket_period_ms");
    v.field(m.ticket_validity_ms, "ticket_validity_ms");
    v.field(m.max_speed_mm_s, "max_speed_mm_s");
    v.field(m.speed_tolerance_ppm, "speed_tolerance_ppm");
    v.field(m.jitter_allowance_ms, "jitter_allowance_ms");
    v.field(m.excess_decay_ppm, "excess_decay_ppm");
    v.field(m.max_excess_mm, "max_excess_mm");
    v.field(m.spawn_min_interval_ms, "spawn_min_interval_ms");
    v.field(m.max_players_per_session, "max_players_per_session");
    v.field(m.max_receipt_lag, "max_receipt_lag");
    v.field(m.digest_timeout_ms, "digest_timeout_ms");
    v.field(m.continuity_window_ms, "continuity_window_ms");
    v.list(m.spawn_zones, kMaxSpawnZones, "spawn_zones");
  }
};

struct JoinReject {
  static constexpr MessageKind kKind = MessageKind::kJoinReject;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/join_reject"};
  Hash32 join_request_hash;  // SHA-256 of the bytes received, even when they did not decode
  std::uint64_t vs_time_ms = 0;
  std::uint16_t reason = 0;  // JoinRejectReason
  std::string detail;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.join_request_hash, "join_request_hash");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.reason, "reason");
    v.text(m.detail, kMaxDetailBytes, "detail");
  }
};

// ---- GS -> VS: session traffic (one strictly increasing gs_counter across all four) ----------

struct Heartbeat {
  static constexpr MessageKind kKind = MessageKind::kHeartbeat;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/heartbeat"};
  SessionId session_id = 0;
  std::uint64_t gs_counter = 0;
  std::uint64_t gs_time_ms = 0;
  Hash32 sw_hash;
  std::uint64_t receipt_count = 0;  // receipts the GS holds; receipt_tip is the tip after them
  Hash32 receipt_tip;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.gs_counter, "gs_counter");
    v.field(m.gs_time_ms, "gs_time_ms");
    v.field(m.sw_hash, "sw_hash");
    v.field(m.receipt_count, "receipt_count");
    v.field(m.receipt_tip, "receipt_tip");
  }
};

// The GS's last session message on a clean stop: the session ends with Revocation(gs_left). It
// carries the receipt state like a Heartbeat so the VS checks the last state the GS claims.
struct GsLeaving {
  static constexpr MessageKind kKind = MessageKind::kGsLeaving;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/gs_leaving"};
  SessionId session_id = 0;
  std::uint64_t gs_counter = 0;
  std::uint64_t gs_time_ms = 0;
  std::uint64_t receipt_count = 0;
  Hash32 receipt_tip;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.gs_counter, "gs_counter");
    v.field(m.gs_time_ms, "gs_time_ms");
    v.field(m.receipt_count, "receipt_count");
    v.field(m.receipt_tip, "receipt_tip");
  }
};

struct PlayerPosition {
  PublicKey player;  // the client's key: the identity that signs that player's inputs
  std::int32_t x_mm = 0;
  std::int32_t y_mm = 0;
  std::uint8_t flags = 0;  // kPlayerSpawn

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.player, "player");
    v.field(m.x_mm, "x_mm");
    v.field(m.y_mm, "y_mm");
    v.field(m.flags, "flags");
  }
  friend bool operator==(const PlayerPosition&, const PlayerPosition&) = default;
};

struct TranscriptDigest {
  static constexpr MessageKind kKind = MessageKind::kTranscriptDigest;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/transcript_digest"};
  SessionId session_id = 0;
  std::uint64_t gs_counter = 0;
  std::uint64_t gs_time_ms = 0;
  std::uint64_t tick = 0;
  Hash32 inputs_hash;  // chain over the ClientInputs accepted since the previous digest
  std::vector<PlayerPosition> players;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.gs_counter, "gs_counter");
    v.field(m.gs_time_ms, "gs_time_ms");
    v.field(m.tick, "tick");
    v.field(m.inputs_hash, "inputs_hash");
    v.list(m.players, kMaxPlayers, "players");
  }
};

struct NonceBatch {
  static constexpr MessageKind kKind = MessageKind::kNonceBatch;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/nonce_batch"};
  SessionId session_id = 0;
  std::uint64_t gs_counter = 0;
  std::uint64_t gs_time_ms = 0;
  std::vector<Nonce32> nonces;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.gs_counter, "gs_counter");
    v.field(m.gs_time_ms, "gs_time_ms");
    v.list(m.nonces, kMaxNoncesPerBatch, "nonces");
  }
};

// ---- VS -> GS: what the VS issues ------------------------------------------------------------

struct ProtectedReceipt {
  static constexpr MessageKind kKind = MessageKind::kProtectedReceipt;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/protected_receipt"};
  SessionId session_id = 0;
  std::uint64_t gs_counter = 0;      // of the digest
  Hash32 digest_hash;                // SHA-256 of the digest's bytes
  std::uint64_t digest_log_seq = 0;  // where the VS logged the digest
  std::uint64_t vs_time_ms = 0;
  std::uint64_t receipt_index = 0;  // 1 for the session's first receipt
  Hash32 receipt_tip;               // tip after this receipt (chains.h)
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.gs_counter, "gs_counter");
    v.field(m.digest_hash, "digest_hash");
    v.field(m.digest_log_seq, "digest_log_seq");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.receipt_index, "receipt_index");
    v.field(m.receipt_tip, "receipt_tip");
  }
};

struct PlayTicket {
  static constexpr MessageKind kKind = MessageKind::kPlayTicket;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/play_ticket"};
  SessionId session_id = 0;
  std::uint64_t ticket_seq = 0;  // 1 for the session's first ticket
  Hash32 prev_ticket_hash;       // ticket 1: SHA-256 of the JoinAccept bytes
  std::uint64_t issued_ms = 0;   // VS time
  std::uint64_t not_after_ms = 0;
  Hash32 client_binding;  // Merkle root of the client nonces forwarded since the last ticket
  std::uint32_t nonce_count = 0;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.ticket_seq, "ticket_seq");
    v.field(m.prev_ticket_hash, "prev_ticket_hash");
    v.field(m.issued_ms, "issued_ms");
    v.field(m.not_after_ms, "not_after_ms");
    v.field(m.client_binding, "client_binding");
    v.field(m.nonce_count, "nonce_count");
  }
};

struct Checkpoint {
  static constexpr MessageKind kKind = MessageKind::kCheckpoint;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/checkpoint"};
  std::uint64_t log_size = 0;  // entries 0 .. log_size-1 are covered
  Hash32 root;                 // RFC 9162 Merkle root over their entry hashes
  std::uint64_t vs_time_ms = 0;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.log_size, "log_size");
    v.field(m.root, "root");
    v.field(m.vs_time_ms, "vs_time_ms");
  }
};

struct Revocation {
  static constexpr MessageKind kKind = MessageKind::kRevocation;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/revocation"};
  SessionId session_id = 0;
  std::uint64_t revocation_seq = 0;  // VS-wide, strictly increasing: notices cannot be replayed
  std::uint64_t vs_time_ms = 0;
  std::uint16_t reason = 0;  // RevocationReason
  std::string detail;
  std::vector<std::uint64_t> evidence;  // log positions
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.revocation_seq, "revocation_seq");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.reason, "reason");
    v.text(m.detail, kMaxDetailBytes, "detail");
    v.list(m.evidence, kMaxEvidence, "evidence");
  }
};

// ---- Client <-> GS ---------------------------------------------------------------------------

struct ClientHello {
  static constexpr MessageKind kKind = MessageKind::kClientHello;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/client_hello"};
  PublicKey client_key;
  Nonce32 client_nonce;
  Nonce32 gs_challenge;  // the ClientChallenge of this connection: a replayed hello proves nothing
  std::uint64_t client_time_ms = 0;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.client_key, "client_key");
    v.field(m.client_nonce, "client_nonce");
    v.field(m.gs_challenge, "gs_challenge");
    v.field(m.client_time_ms, "client_time_ms");
  }
};

// Signed with the session key that join_accept binds to session_id: the GS proves it holds that
// key now, for this client's fresh nonce.
struct ServerHello {
  static constexpr MessageKind kKind = MessageKind::kServerHello;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/server_hello"};
  SessionId session_id = 0;
  PublicKey client_key;
  Nonce32 client_nonce;
  std::uint64_t gs_time_ms = 0;
  Bytes join_accept;  // the VS-signed JoinAccept, byte for byte
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.client_key, "client_key");
    v.field(m.client_nonce, "client_nonce");
    v.field(m.gs_time_ms, "gs_time_ms");
    v.blob(m.join_accept, kMaxEmbeddedMessage, "join_accept");
  }
};

// A VS-signed ticket as the GS hands it on, with the proof that one of this client's nonces is
// in the ticket's client_binding (has_proof = 0: none of its nonces was in this batch).
struct TicketForward {
  static constexpr MessageKind kKind = MessageKind::kTicketForward;
  static constexpr std::array<std::string_view, 0> kSignatureTags{};
  Bytes ticket;  // the PlayTicket, byte for byte
  std::uint8_t has_proof = 0;
  Nonce32 nonce;
  std::uint32_t leaf_index = 0;
  std::vector<Hash32> proof;
  Signatures<0> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.blob(m.ticket, kMaxEmbeddedMessage, "ticket");
    v.field(m.has_proof, "has_proof");
    v.field(m.nonce, "nonce");
    v.field(m.leaf_index, "leaf_index");
    v.list(m.proof, kMaxProofHashes, "proof");
  }
};

struct ClientNonce {
  static constexpr MessageKind kKind = MessageKind::kClientNonce;
  static constexpr std::array<std::string_view, 0> kSignatureTags{};
  Nonce32 nonce;
  Signatures<0> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.nonce, "nonce");
  }
};

struct ClientInput {
  static constexpr MessageKind kKind = MessageKind::kClientInput;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/client_input"};
  PublicKey client_key;
  SessionId session_id = 0;
  std::uint64_t ticket_seq = 0;
  Hash32 ticket_hash;            // SHA-256 of the PlayTicket bytes the input is bound to
  std::uint64_t client_seq = 0;  // strictly increasing per client key and session
  std::uint64_t client_time_ms = 0;
  std::int32_t move_x_mm = 0;  // requested displacement since the previous input
  std::int32_t move_y_mm = 0;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.client_key, "client_key");
    v.field(m.session_id, "session_id");
    v.field(m.ticket_seq, "ticket_seq");
    v.field(m.ticket_hash, "ticket_hash");
    v.field(m.client_seq, "client_seq");
    v.field(m.client_time_ms, "client_time_ms");
    v.field(m.move_x_mm, "move_x_mm");
    v.field(m.move_y_mm, "move_y_mm");
  }
};

struct InputReject {
  static constexpr MessageKind kKind = MessageKind::kInputReject;
  static constexpr std::array<std::string_view, 0> kSignatureTags{};
  std::uint64_t client_seq = 0;
  std::uint16_t reason = 0;  // InputRejectReason
  std::string detail;
  Signatures<0> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.client_seq, "client_seq");
    v.field(m.reason, "reason");
    v.text(m.detail, kMaxDetailBytes, "detail");
  }
};

// The GS's first frame on a client connection: a fresh value the ClientHello must sign, so that
// the hello proves the player holds its key now.
struct ClientChallenge {
  static constexpr MessageKind kKind = MessageKind::kClientChallenge;
  static constexpr std::array<std::string_view, 0> kSignatureTags{};
  Nonce32 challenge;
  Signatures<0> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.challenge, "challenge");
  }
};

// ---- Resuming a session across a VS restart (PROTOCOL.md §8.15) ------------------------------

// GS -> VS, the first frame on a new connection instead of a JoinRequest: the GS takes up the
// session the JoinAccept bound to session_key, proving that key over this connection's
// challenge, and states where it stands. gs_counter is the next value of the session counter.
struct GsResume {
  static constexpr MessageKind kKind = MessageKind::kGsResume;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/gs_resume"};
  SessionId session_id = 0;
  PublicKey gs_identity;
  PublicKey session_key;
  std::uint64_t gs_counter = 0;
  std::uint64_t gs_time_ms = 0;
  std::uint64_t receipt_count = 0;  // receipts the GS holds; receipt_tip is the tip after them
  Hash32 receipt_tip;
  std::uint64_t ticket_seq = 0;  // the last ticket the GS holds (0: none)
  Hash32 ticket_hash;            // SHA-256 of its bytes (32 zero bytes when ticket_seq = 0)
  Nonce32 challenge;             // the VsChallenge of this connection
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.gs_identity, "gs_identity");
    v.field(m.session_key, "session_key");
    v.field(m.gs_counter, "gs_counter");
    v.field(m.gs_time_ms, "gs_time_ms");
    v.field(m.receipt_count, "receipt_count");
    v.field(m.receipt_tip, "receipt_tip");
    v.field(m.ticket_seq, "ticket_seq");
    v.field(m.ticket_hash, "ticket_hash");
    v.field(m.challenge, "challenge");
  }
};

// VS -> GS: the session goes on. The VS's own view, rebuilt from its log: the last accepted
// gs_counter (the resume's), the receipts and the last ticket it issued, and the new liveness
// deadline. Tickets go on from ticket_seq + 1, chained to ticket_hash.
struct ResumeAccept {
  static constexpr MessageKind kKind = MessageKind::kResumeAccept;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/resume_accept"};
  SessionId session_id = 0;
  Hash32 resume_hash;  // SHA-256 of the GsResume bytes as received
  std::uint64_t gs_counter = 0;
  std::uint64_t receipt_count = 0;
  Hash32 receipt_tip;
  std::uint64_t ticket_seq = 0;
  Hash32 ticket_hash;
  std::uint64_t vs_time_ms = 0;
  std::uint64_t heartbeat_deadline_ms = 0;  // vs_time_ms + heartbeat_timeout_ms
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.resume_hash, "resume_hash");
    v.field(m.gs_counter, "gs_counter");
    v.field(m.receipt_count, "receipt_count");
    v.field(m.receipt_tip, "receipt_tip");
    v.field(m.ticket_seq, "ticket_seq");
    v.field(m.ticket_hash, "ticket_hash");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.heartbeat_deadline_ms, "heartbeat_deadline_ms");
  }
};

// Logged by the VS as its first entry of a run, never sent: from here sessions an earlier run
// left live are suspended until vs_time_ms + resume_window_ms, and heartbeats could not arrive
// between the earlier run's last entry and this one. log_size is this entry's own seq.
struct VsStart {
  static constexpr MessageKind kKind = MessageKind::kVsStart;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/vs_start"};
  std::uint64_t log_size = 0;
  std::uint64_t vs_time_ms = 0;
  std::uint32_t resume_window_ms = 0;  // 0: no session is resumable (all were revoked)
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.log_size, "log_size");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.resume_window_ms, "resume_window_ms");
  }
};

// ---- The VS's policy (PROTOCOL.md §5.26, §8.17) -------------------------------------------------

// Caps of a policy's allowlists: room for the GS identities of a large region (each GS has its
// own), and for far more builds than are ever in the field at once.
inline constexpr std::size_t kMaxPolicyIdentities = 60000;
inline constexpr std::size_t kMaxPolicyBuilds = 1024;

// What the VS admits and the terms it gives new sessions: the allowlists, each sorted ascending
// without duplicates (so one policy has one encoding), the timings and the movement limits a
// JoinAccept announces, and the clock skew a join may show. Its canonical encoding is the
// fields in order, coded as message fields (encode_policy); policy_hash is its SHA-256.
struct Policy {
  std::vector<PublicKey> allowed_gs;
  std::vector<Hash32> allowed_builds;
  std::uint32_t heartbeat_interval_ms = 0;
  std::uint32_t heartbeat_timeout_ms = 0;
  std::uint32_t ticket_period_ms = 0;
  std::uint32_t ticket_validity_ms = 0;
  std::uint32_t max_receipt_lag = 0;
  std::uint32_t max_clock_skew_ms = 0;
  std::uint32_t max_speed_mm_s = 0;
  std::uint32_t speed_tolerance_ppm = 0;
  std::uint32_t jitter_allowance_ms = 0;
  std::uint32_t excess_decay_ppm = 0;
  std::uint32_t max_excess_mm = 0;
  std::uint32_t spawn_min_interval_ms = 0;
  std::uint32_t max_players_per_session = 0;
  // How long a quarantine that begins under this policy lasts (PROTOCOL.md §8.16); 0: until the
  // operator's Pardon. Not in a JoinAccept: it concerns the identity, not the session.
  std::uint32_t quarantine_ms = 0;
  std::uint32_t digest_timeout_ms = 0;
  std::uint32_t continuity_window_ms = 0;
  std::vector<SpawnZone> spawn_zones;

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.list(m.allowed_gs, kMaxPolicyIdentities, "allowed_gs");
    v.list(m.allowed_builds, kMaxPolicyBuilds, "allowed_builds");
    v.field(m.heartbeat_interval_ms, "heartbeat_interval_ms");
    v.field(m.heartbeat_timeout_ms, "heartbeat_timeout_ms");
    v.field(m.ticket_period_ms, "ticket_period_ms");
    v.field(m.ticket_validity_ms, "ticket_validity_ms");
    v.field(m.max_receipt_lag, "max_receipt_lag");
    v.field(m.max_clock_skew_ms, "max_clock_skew_ms");
    v.field(m.max_speed_mm_s, "max_speed_mm_s");
    v.field(m.speed_tolerance_ppm, "speed_tolerance_ppm");
    v.field(m.jitter_allowance_ms, "jitter_allowance_ms");
    v.field(m.excess_decay_ppm, "excess_decay_ppm");
    v.field(m.max_excess_mm, "max_excess_mm");
    v.field(m.spawn_min_interval_ms, "spawn_min_interval_ms");
    v.field(m.max_players_per_session, "max_players_per_session");
    v.field(m.quarantine_ms, "quarantine_ms");
    v.field(m.digest_timeout_ms, "digest_timeout_ms");
    v.field(m.continuity_window_ms, "continuity_window_ms");
    v.list(m.spawn_zones, kMaxSpawnZones, "spawn_zones");
  }
  friend bool operator==(const Policy&, const Policy&) = default;
};

// The canonical encoding of a policy, and its SHA-256 (PolicyApplied's policy_hash).
Bytes encode_policy(const Policy& policy);
Hash32 policy_hash(const Policy& policy);

// Logged by the VS, never sent: from this entry on, `policy` is the one the VS judges joins and
// resumes by (at its start, and at each reload that changed it). policy_seq counts the policies
// of the log from 1; policy_hash is SHA-256 of the policy's encoding, checked by the decoder.
struct PolicyApplied {
  static constexpr MessageKind kKind = MessageKind::kPolicyApplied;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/policy_applied"};
  std::uint64_t policy_seq = 0;
  std::uint64_t vs_time_ms = 0;
  Hash32 policy_hash;
  Policy policy;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.policy_seq, "policy_seq");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.policy_hash, "policy_hash");
    Policy::visit(m.policy, v);
  }
};

// ---- The operator's pardon (PROTOCOL.md §5.27, §8.16) -------------------------------------------

// Logged by the VS at the operator's word (`vsd pardon`), never sent: the quarantine of
// gs_identity that the Revocation at log position revocation_position began is lifted from this
// entry on, for the reason given. The VS logs one only for a quarantine in force at vs_time_ms.
struct Pardon {
  static constexpr MessageKind kKind = MessageKind::kPardon;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/pardon"};
  PublicKey gs_identity;
  std::uint64_t vs_time_ms = 0;
  std::uint64_t revocation_position = 0;  // the quarantining Revocation's seq in the log
  std::string reason;                     // the operator's, at most kMaxPardonReasonBytes
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.gs_identity, "gs_identity");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.revocation_position, "revocation_position");
    v.text(m.reason, kMaxPardonReasonBytes, "reason");
  }
};

// ---- A fleet's adoption (PROTOCOL.md §5.28, §8.10) --------------------------------------------

// A player's last notarized position in an adopted session, as the node that held it left it.
struct AdoptedPosition {
  PublicKey player;
  std::int32_t x_mm = 0;
  std::int32_t y_mm = 0;
  std::uint64_t vs_time_ms = 0;        // the digest that notarized it, on the earlier node's clock
  std::uint64_t last_spawn_vs_ms = 0;  // the player's last free spawn; 0: none

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.player, "player");
    v.field(m.x_mm, "x_mm");
    v.field(m.y_mm, "y_mm");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.last_spawn_vs_ms, "last_spawn_vs_ms");
  }
  friend bool operator==(const AdoptedPosition&, const AdoptedPosition&) = default;
};

// Logged by a node of a fleet, never sent: it takes up session_id, which the node with VS key
// from_vs_key held until it died. The session's state is as the first from_log_size entries of
// that node's log leave it (the entry from_log_size - 1 hashes to from_log_head): its
// JoinAccept, byte for byte as that node signed it, and what the session's rules hold after its
// last entry there. From this entry the session is this node's, waiting for its GS to resume it
// as after a network cut: until its heartbeat deadline, liveness_since_ms + heartbeat_timeout_ms.
struct SessionAdopted {
  static constexpr MessageKind kKind = MessageKind::kSessionAdopted;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/session_adopted"};
  SessionId session_id = 0;
  std::uint64_t vs_time_ms = 0;
  PublicKey from_vs_key;
  std::uint64_t from_log_size = 0;
  Hash32 from_log_head;
  Bytes join_accept;
  std::uint64_t gs_counter = 0;          // the last accepted
  std::uint64_t receipt_count_seen = 0;  // the last accepted Heartbeat's receipt_count
  std::uint64_t receipt_count = 0;       // receipts issued
  std::vector<Hash32> receipt_tips;      // after receipts receipt_count - (n - 1) .. receipt_count
  std::uint64_t ticket_seq = 0;          // tickets issued
  // The hashes a GsResume names for tickets ticket_seq - (n - 1) .. ticket_seq (zeros: none yet).
  std::vector<Hash32> ticket_hashes;
  std::vector<Nonce32> pending_nonces;  // received since the last ticket, to be bound by the next
  std::uint32_t players_in_play = 0;    // players the last accepted digest named
  // When liveness and the digest deadline run from (§8.5), on the earlier node's clock.
  std::uint64_t liveness_since_ms = 0;
  std::uint64_t digests_since_ms = 0;
  std::vector<AdoptedPosition> positions;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.session_id, "session_id");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.from_vs_key, "from_vs_key");
    v.field(m.from_log_size, "from_log_size");
    v.field(m.from_log_head, "from_log_head");
    v.blob(m.join_accept, kMaxEmbeddedMessage, "join_accept");
    v.field(m.gs_counter, "gs_counter");
    v.field(m.receipt_count_seen, "receipt_count_seen");
    v.field(m.receipt_count, "receipt_count");
    v.list(m.receipt_tips, kMaxAdoptedChainHashes, "receipt_tips");
    v.field(m.ticket_seq, "ticket_seq");
    v.list(m.ticket_hashes, kMaxAdoptedChainHashes, "ticket_hashes");
    v.list(m.pending_nonces, kMaxNoncesPerTicket, "pending_nonces");
    v.field(m.players_in_play, "players_in_play");
    v.field(m.liveness_since_ms, "liveness_since_ms");
    v.field(m.digests_since_ms, "digests_since_ms");
    v.list(m.positions, kMaxAdoptedPositions, "positions");
  }
};

// The JoinAccept of the entry that starts a session in a VS log: a JoinAccept, or the one a
// SessionAdopted carries (signed by the node that accepted the join). An error for any other
// kind, or bytes that do not decode.
Result<JoinAccept> session_start_accept(MessageKind kind, ByteView bytes);

using AnyMessage =
    std::variant<VsChallenge, JoinRequest, JoinAccept, JoinReject, Heartbeat, TranscriptDigest,
                 NonceBatch, ProtectedReceipt, PlayTicket, Checkpoint, Revocation, ClientHello,
                 ServerHello, TicketForward, ClientNonce, ClientInput, InputReject, ClientChallenge,
                 GsLeaving, GsResume, ResumeAccept, VsStart, PolicyApplied, Pardon, SessionAdopted>;

// ---- Coding and signatures (defined for every type in AnyMessage) ------------------------------

template <class M>
Bytes encode(const M& message);

// Strict: wrong version or kind, truncation, trailing bytes, a count or length over its cap, or
// a non-canonical field all fail with a reason. Never throws, never reads out of bounds.
template <class M>
Result<M> decode(ByteView bytes);

// The signature tags of a kind, in signature order (§3.3): empty for unsigned kinds and for
// values that are no kind.
std::span<const std::string_view> signature_tags(MessageKind kind);

Result<MessageKind> peek_kind(ByteView bytes);
Result<AnyMessage> decode_any(ByteView bytes);
Bytes encode_any(const AnyMessage& message);

// The kind of the message `message` holds.
MessageKind kind_of(const AnyMessage& message);
// The session a message names, for the kinds that carry a session_id; nullopt for the others.
std::optional<SessionId> named_session(const AnyMessage& message);
// verify() of signature `signature_index` of the message `message` holds; false for an index the
// kind does not have.
bool verify_signature(const AnyMessage& message, const PublicKey& key,
                      std::size_t signature_index = 0);

// tag || 0x00 || encoding without signatures.
template <class M>
Bytes signing_input(const M& message, std::size_t signature_index = 0);

template <class M>
void sign(M& message, const crypto::SecretKey& key, std::size_t signature_index = 0);

template <class M>
bool verify(const M& message, const PublicKey& key, std::size_t signature_index = 0);

}  // namespace gsvs::protocol
