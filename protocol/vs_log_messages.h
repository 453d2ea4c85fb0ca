// The messages the VS writes into its own log and sends to nobody (Route::kVsLog,
// docs/PROTOCOL.md §5.25 to §5.29): a run's start, the policy in force, the operator's pardon, a
// fleet's adoption and the state a start reads, carried forward. Coded and signed as every message
// (messages.h, which includes this header).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/message_basics.h"
#include "protocol/message_kinds.h"

namespace gsvs::protocol {

// Logged by the VS as its first entry of a run, never sent: from here sessions an earlier run
// left live are suspended until vs_time_ms + resume_window_ms, and heartbeats could not arrive
// between the earlier run's last entry and this one. log_size is this entry's own seq.
struct VsStart {
  static constexpr MessageKind kKind = MessageKind::kVsStart;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/vs_start"};
  std::uint64_t log_size = 0;
  std::uint64_t vs_time_ms = 0;
  std::uint32_t resume_window_ms = 0;  // 0: no session is resumable (all were revoked)
  // The rules this run judges by (rules/version.h). 1 is coded as version 1, without the field,
  // as every VS before the field wrote it; above 1, as version 2 with the field after the others
  // (kVsStartRulesVersion). A version-2 VsStart naming 0 or 1 is non-canonical.
  std::uint32_t rules_version = 1;
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

// ---- What a start reads, carried forward (PROTOCOL.md §5.29, §8.16) ----------------------------

// One quarantine in force, as the Revocation that began it set it (rules::Quarantine).
struct CarriedQuarantine {
  PublicKey gs_identity;
  SessionId session_id = 0;               // the revoked session
  std::uint16_t reason = 0;               // its RevocationReason
  std::uint64_t since_vs_ms = 0;          // the Revocation's vs_time_ms
  std::uint32_t quarantine_ms = 0;        // its term; 0: until pardoned
  std::uint64_t revocation_position = 0;  // the Revocation's seq in the log

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.gs_identity, "gs_identity");
    v.field(m.session_id, "session_id");
    v.field(m.reason, "reason");
    v.field(m.since_vs_ms, "since_vs_ms");
    v.field(m.quarantine_ms, "quarantine_ms");
    v.field(m.revocation_position, "revocation_position");
  }
  friend bool operator==(const CarriedQuarantine&, const CarriedQuarantine&) = default;
};

// Logged by the VS every carry_interval_ms, never sent: what a start of the VS reads of the log
// before this entry, restated, so that retention may retire the entries it restates. A carry is
// `parts` consecutive entries (part 0 .. parts - 1), with the same fields but for log_size, part
// and quarantines; together they list every quarantine in force at vs_time_ms, by identity in
// ascending order. The numbers are the highest the VS had issued when it built the carry, and
// the policy is the one in force there. log_size is this entry's own seq.
struct StateCarried {
  static constexpr MessageKind kKind = MessageKind::kStateCarried;
  static constexpr std::array<std::string_view, 1> kSignatureTags{"gsvs/v1/state_carried"};
  std::uint64_t log_size = 0;
  std::uint64_t vs_time_ms = 0;
  std::uint16_t part = 0;
  std::uint16_t parts = 1;
  SessionId session_id_high = 0;
  std::uint64_t revocation_seq_high = 0;
  std::uint64_t policy_seq = 0;       // 0: no policy logged yet
  std::uint64_t policy_position = 0;  // the seq of its PolicyApplied
  Hash32 policy_hash;
  std::uint32_t policy_quarantine_ms = 0;  // the term a quarantine begun now would have
  std::vector<CarriedQuarantine> quarantines;
  Signatures<1> signatures{};

  template <class Self, class V>
  static void visit(Self& m, V& v) {
    v.field(m.log_size, "log_size");
    v.field(m.vs_time_ms, "vs_time_ms");
    v.field(m.part, "part");
    v.field(m.parts, "parts");
    v.field(m.session_id_high, "session_id_high");
    v.field(m.revocation_seq_high, "revocation_seq_high");
    v.field(m.policy_seq, "policy_seq");
    v.field(m.policy_position, "policy_position");
    v.field(m.policy_hash, "policy_hash");
    v.field(m.policy_quarantine_ms, "policy_quarantine_ms");
    v.list(m.quarantines, kMaxCarriedQuarantines, "quarantines");
  }
};

// Whether `a` and `b` can be parts of one carry: the same fields but for log_size, part and
// quarantines.
[[nodiscard]] inline bool same_carry(const StateCarried& a, const StateCarried& b) {
  return a.vs_time_ms == b.vs_time_ms && a.parts == b.parts &&
         a.session_id_high == b.session_id_high && a.revocation_seq_high == b.revocation_seq_high &&
         a.policy_seq == b.policy_seq && a.policy_position == b.policy_position &&
         a.policy_hash == b.policy_hash && a.policy_quarantine_ms == b.policy_quarantine_ms;
}

}  // namespace gsvs::protocol
