// Every message of the protocol: those exchanged here, those the VS writes into its own log in
// vs_log_messages.h, and the coding of all of them. docs/PROTOCOL.md is the byte-level spec;
// these headers are its executable form.
//
// Envelope: version u8 (kProtocolVersion; 2 for the two forms of message_basics.h) || kind u8 ||
// fields in declaration order || (version 2: the fields it adds) ||
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
#include "protocol/message_basics.h"
#include "protocol/message_kinds.h"
#include "protocol/result.h"
#include "protocol/vs_log_messages.h"

namespace gsvs::protocol {

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

// Where a receipt signed in a batch sits (PROTOCOL.md §5.11.1): its leaf among the batch's
// `leaf_count` receipts, and the RFC 9162 inclusion proof from that leaf to the root that the
// batch's one signature signs.
struct ReceiptBatch {
  std::uint32_t leaf_index = 0;
  std::uint32_t leaf_count = 0;  // 2 ..= kMaxReceiptBatch
  std::vector<Hash32> proof;     // bottom-up; exactly as long as the path of leaf_index
  friend bool operator==(const ReceiptBatch&, const ReceiptBatch&) = default;
};

struct ProtectedReceipt {
  static constexpr MessageKind kKind = MessageKind::kProtectedReceipt;
  // Version 1: the receipt's own signature. Version 2 (with `batch`): the signature of the batch
  // statement, kBatchStatementTag || 0x00 || root || leaf_count, whose root is the Merkle root
  // over the leaves kBatchLeafTag || 0x00 || the receipt's version-2 encoding without its proof
  // and signature.
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/protected_receipt"};
  static constexpr std::string_view kBatchLeafTag = "gsvs/v2/protected_receipt";
  static constexpr std::string_view kBatchStatementTag = "gsvs/v2/receipt_batch";
  static constexpr std::size_t kFieldBytes = 106;  // version, kind and the fields below
  SessionId session_id = 0;
  std::uint64_t gs_counter = 0;      // of the digest
  Hash32 digest_hash;                // SHA-256 of the digest's bytes
  std::uint64_t digest_log_seq = 0;  // where the VS logged the digest
  std::uint64_t vs_time_ms = 0;
  std::uint64_t receipt_index = 0;    // 1 for the session's first receipt
  Hash32 receipt_tip;                 // tip after this receipt (chains.h)
  std::optional<ReceiptBatch> batch;  // set: protocol version 2, signed in a batch
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

// The JoinAccept of the entry that starts a session in a VS log: a JoinAccept, or the one a
// SessionAdopted carries (signed by the node that accepted the join). An error for any other
// kind, or bytes that do not decode.
Result<JoinAccept> session_start_accept(MessageKind kind, ByteView bytes);

using AnyMessage =
    std::variant<VsChallenge, JoinRequest, JoinAccept, JoinReject, Heartbeat, TranscriptDigest,
                 NonceBatch, ProtectedReceipt, PlayTicket, Checkpoint, Revocation, ClientHello,
                 ServerHello, TicketForward, ClientNonce, ClientInput, InputReject, ClientChallenge,
                 GsLeaving, GsResume, ResumeAccept, VsStart, PolicyApplied, Pardon, SessionAdopted,
                 StateCarried>;

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

// A receipt's leaf in a batch's tree (PROTOCOL.md §5.11.1), and for a batched receipt the root
// its proof leads to (nullopt without a batch, or for a proof that is no path).
Hash32 receipt_leaf_hash(const ProtectedReceipt& receipt);
std::optional<Hash32> receipt_batch_root(const ProtectedReceipt& receipt);

// Signs `receipts` with one signature (PROTOCOL.md §5.11.1): each becomes a version-2 receipt
// carrying its place in the batch and that signature. One receipt alone is signed as version 1,
// so a batch of one costs nothing more. At most kMaxReceiptBatch receipts.
void sign_receipt_batch(std::span<ProtectedReceipt> receipts, const crypto::SecretKey& key);

}  // namespace gsvs::protocol
