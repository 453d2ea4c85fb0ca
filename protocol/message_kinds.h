// The vocabulary of the protocol: the message kinds, who signs and who sends each, the reason
// codes of refusals and revocations, and the caps on variable fields (docs/PROTOCOL.md §5.1,
// §5.2). messages.h, the messages' layouts, includes it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gsvs::protocol {

enum class MessageKind : std::uint8_t {
  kVsChallenge = 1,
  kJoinRequest = 2,
  kJoinAccept = 3,
  kJoinReject = 4,
  kHeartbeat = 5,
  kTranscriptDigest = 6,
  kNonceBatch = 7,
  kProtectedReceipt = 8,
  kPlayTicket = 9,
  kCheckpoint = 10,
  kRevocation = 11,
  kClientHello = 12,
  kServerHello = 13,
  kTicketForward = 14,
  kClientNonce = 15,
  kClientInput = 16,
  kInputReject = 17,
  kClientChallenge = 18,
  kGsLeaving = 19,
  kGsResume = 20,
  kResumeAccept = 21,
  kVsStart = 22,
  kPolicyApplied = 23,
  kPardon = 24,
  kSessionAdopted = 25,
  kStateCarried = 26,
};
inline constexpr std::uint8_t kMaxMessageKind = 26;

[[nodiscard]] constexpr bool is_known(MessageKind kind) {
  return static_cast<std::uint8_t>(kind) >= 1 && static_cast<std::uint8_t>(kind) <= kMaxMessageKind;
}
std::string_view kind_name(MessageKind kind);

// ---- Who signs what, and who sends it -----------------------------------------------------------
// One row per kind: docs/PROTOCOL.md §3.3 (signatures) and §5.1 (direction) in code. Everything
// that picks a key or a direction for a kind asks this table.

// Whose signatures a kind carries.
enum class Signer : std::uint8_t {
  kNone,                  // unsigned (§3.3 says why each is safe so)
  kVs,                    // the VS key
  kGsIdentityAndSession,  // JoinRequest: signature 0 by the GS identity key, 1 by the session key
  kGsSession,             // the GS session key the JoinAccept binds
  kClient,                // the client's (player's) key
};
// The key behind one signature.
enum class SigningKey : std::uint8_t { kVs, kGsIdentity, kGsSession, kClient };
// Who sends a kind in the first place. JoinAccept and PlayTicket travel on embedded, and a
// Revocation forwarded as-is, from the GS to its clients; that does not make the GS their sender.
// A VsStart, a PolicyApplied, a Pardon, a SessionAdopted and a StateCarried go to nobody: the VS
// writes them into its own log (kVsLog).
enum class Route : std::uint8_t { kVsToGs, kGsToVs, kGsToClient, kClientToGs, kVsLog };

struct KindRole {
  MessageKind kind;
  Signer signer;
  Route route;
};

inline constexpr std::array<KindRole, kMaxMessageKind> kKindRoles{{
    {MessageKind::kVsChallenge, Signer::kNone, Route::kVsToGs},
    {MessageKind::kJoinRequest, Signer::kGsIdentityAndSession, Route::kGsToVs},
    {MessageKind::kJoinAccept, Signer::kVs, Route::kVsToGs},
    {MessageKind::kJoinReject, Signer::kVs, Route::kVsToGs},
    {MessageKind::kHeartbeat, Signer::kGsSession, Route::kGsToVs},
    {MessageKind::kTranscriptDigest, Signer::kGsSession, Route::kGsToVs},
    {MessageKind::kNonceBatch, Signer::kGsSession, Route::kGsToVs},
    {MessageKind::kProtectedReceipt, Signer::kVs, Route::kVsToGs},
    {MessageKind::kPlayTicket, Signer::kVs, Route::kVsToGs},
    {MessageKind::kCheckpoint, Signer::kVs, Route::kVsToGs},
    {MessageKind::kRevocation, Signer::kVs, Route::kVsToGs},
    {MessageKind::kClientHello, Signer::kClient, Route::kClientToGs},
    {MessageKind::kServerHello, Signer::kGsSession, Route::kGsToClient},
    {MessageKind::kTicketForward, Signer::kNone, Route::kGsToClient},
    {MessageKind::kClientNonce, Signer::kNone, Route::kClientToGs},
    {MessageKind::kClientInput, Signer::kClient, Route::kClientToGs},
    {MessageKind::kInputReject, Signer::kNone, Route::kGsToClient},
    {MessageKind::kClientChallenge, Signer::kNone, Route::kGsToClient},
    {MessageKind::kGsLeaving, Signer::kGsSession, Route::kGsToVs},
    {MessageKind::kGsResume, Signer::kGsSession, Route::kGsToVs},
    {MessageKind::kResumeAccept, Signer::kVs, Route::kVsToGs},
    {MessageKind::kVsStart, Signer::kVs, Route::kVsLog},
    {MessageKind::kPolicyApplied, Signer::kVs, Route::kVsLog},
    {MessageKind::kPardon, Signer::kVs, Route::kVsLog},
    {MessageKind::kSessionAdopted, Signer::kVs, Route::kVsLog},
    {MessageKind::kStateCarried, Signer::kVs, Route::kVsLog},
}};

// Row k-1 is kind k, so a lookup is an index.
constexpr bool kind_roles_are_indexed_by_kind() {
  for (std::size_t i = 0; i < kKindRoles.size(); ++i) {
    if (static_cast<std::size_t>(kKindRoles[i].kind) != i + 1) return false;
  }
  return true;
}
static_assert(kind_roles_are_indexed_by_kind());

// The row of `kind`; nullptr for a value that is no kind.
[[nodiscard]] constexpr const KindRole* kind_role(MessageKind kind) {
  return is_known(kind) ? &kKindRoles[static_cast<std::size_t>(kind) - 1] : nullptr;
}
// How many signatures a message of this signer carries, and the key behind signature `index`
// (index < signature_count(signer)).
[[nodiscard]] constexpr std::size_t signature_count(Signer signer) {
  return signer == Signer::kNone ? 0 : signer == Signer::kGsIdentityAndSession ? 2 : 1;
}
SigningKey signing_key(Signer signer, std::size_t index);
// As docs/PROTOCOL.md §5.1 writes them: "GS session key", "VS → GS".
std::string_view describe(Signer signer);
std::string_view describe(Route route);

// Signed by the VS key (false for unknown values).
bool vs_signed(MessageKind kind);
// The session traffic the VS checks under the session key: what the GS sends the VS signed by the
// session key alone (Heartbeat, TranscriptDigest, NonceBatch, GsLeaving). ServerHello is signed by
// the session key too, but goes to clients; GsResume too, but it opens a connection, as a
// JoinRequest does, and is judged as a resume (PROTOCOL.md §8.15), not as session traffic.
bool gs_session_traffic(MessageKind kind);

// Caps on variable-length fields: a decoder refuses a count or length above them.
inline constexpr std::size_t kMaxPlayers = 256;
inline constexpr std::size_t kMaxNoncesPerBatch = 256;    // fits a 16 KiB frame
inline constexpr std::size_t kMaxNoncesPerTicket = 1024;  // the most one ticket binds
inline constexpr std::size_t kMaxDetailBytes = 1024;
inline constexpr std::size_t kMaxEvidence = 64;
inline constexpr std::size_t kMaxProofHashes = 64;
// Receipts under one batch signature (PROTOCOL.md §5.11.1); a proof of 10 hashes at most.
inline constexpr std::size_t kMaxReceiptBatch = 1024;
inline constexpr std::size_t kMaxEmbeddedMessage = 2048;
// The operator's reason for a Pardon (PROTOCOL.md §5.27): a sentence or two for the record, not
// a document; the admin socket refuses a longer one rather than cut it.
inline constexpr std::size_t kMaxPardonReasonBytes = 512;
// Spawn zones of a JoinAccept or policy: 17 bytes each, so a JoinAccept with all of them still
// fits a ServerHello's kMaxEmbeddedMessage.
inline constexpr std::size_t kMaxSpawnZones = 64;
// A SessionAdopted's state (PROTOCOL.md §5.28): the receipt tips and ticket hashes a resume may
// name (max_receipt_lag + 1, and vsd caps max_receipt_lag at 1000), and every player's last
// position, as many as a policy has identities (a session tracking more is not adopted).
inline constexpr std::size_t kMaxAdoptedChainHashes = 1001;
inline constexpr std::size_t kMaxAdoptedPositions = 60000;
// The quarantines one StateCarried restates (PROTOCOL.md §5.29): 62 bytes each, so that a part
// stays small (16,028 bytes at most); more quarantines take more parts.
inline constexpr std::size_t kMaxCarriedQuarantines = 256;

enum class JoinRejectReason : std::uint16_t {
  kMalformed = 1,
  kUnknownIdentity = 2,
  kBuildNotAllowed = 3,
  kBadIdentitySignature = 4,
  kBadSessionSignature = 5,
  kBadChallenge = 6,  // not the challenge this connection was given, or already used
  kIdentityBusy = 7,  // another live session holds this identity
  kClockSkew = 8,
  kServerBusy = 9,
  // Refusals of a GsResume (PROTOCOL.md §8.15), answered only to a GS that signed this
  // connection's challenge with the session's key.
  kUnknownSession = 10,      // no session of that id to resume. Not sent: turned away unanswered
  kSessionEnded = 11,        // the session's Revocation is in the log
  kResumeMismatch = 12,      // counter, receipt state or ticket disagree with the VS's log
  kResumeWindowPassed = 13,  // resume_window_ms after the VS start has passed
  // The GS identity is quarantined (PROTOCOL.md §8.16): a join or resume of it is refused until
  // the operator's Pardon (kind 24), or until quarantine_ms after the revocation that quarantined
  // it when the policy in force there set one.
  kQuarantined = 14,
  // Another node of the VS's fleet holds the identity's live session (PROTOCOL.md §8.10).
  kIdentityBusyInFleet = 15,
  // Another node of the VS's fleet quarantined the identity (PROTOCOL.md §8.16, "In a fleet").
  kQuarantinedInFleet = 16,
};

enum class RevocationReason : std::uint16_t {
  kBadSignature = 1,
  kCounterRegression = 2,
  kSwHashChanged = 3,
  kMissedHeartbeats = 4,
  kSpeedViolation = 5,
  kReceiptTipMismatch = 6,
  kOperator = 7,
  kMalformedMessage = 8,
  kSessionMismatch = 9,
  kVsShutdown = 10,
  kTooManyPlayers = 11,
  kGsLeft = 12,  // the GS said it is leaving (GsLeaving): a clean end, not a fault
  // A reload's policy (PolicyApplied) no longer allows the session's identity or build.
  kPolicyWithdrawn = 13,
  // The GS's TranscriptDigests stopped for digest_timeout_ms while its last accepted digest
  // named players (PROTOCOL.md §8.5 "Digests required"): its moves went unjudged.
  kDigestsStopped = 14,
  // 15 is unassigned: a digest naming one player twice does not decode (kMalformedMessage).
  // The operator revoked and asked for the identity's quarantine (`vsd revoke --quarantine`):
  // kOperator, plus the quarantine, which the log must show for an audit to recompute it.
  kOperatorQuarantine = 16,
  // A step over the excess limit on the credited clock but within it on the paced one (PROTOCOL.md
  // §8.6 "Late digests"): the GS's digests came later than jitter_allowance_ms covers. The digest
  // is refused as for speed_violation; the reason accuses the link, not the GS's physics.
  kDigestsLate = 17,
};

enum class InputRejectReason : std::uint16_t {
  kMalformed = 1,
  kBadSignature = 2,
  kWrongSession = 3,
  kUnknownTicket = 4,
  kStaleTicket = 5,
  kReplayedSequence = 6,
  kWrongKey = 7,
  kNoTicket = 8,
};

// The last code of each reason enum: a new code goes after it and becomes the new last one.
inline constexpr JoinRejectReason kLastJoinRejectReason = JoinRejectReason::kQuarantinedInFleet;
inline constexpr RevocationReason kLastRevocationReason = RevocationReason::kDigestsLate;
// Codes below the last one that this version does not define yet.
inline constexpr std::array<std::uint16_t, 1> kUnassignedRevocationReasons{15};
inline constexpr InputRejectReason kLastInputRejectReason = InputRejectReason::kNoTicket;

// Whether a code (as read off the wire) is one this version defines: 1 up to the last code, less
// the unassigned ones.
[[nodiscard]] constexpr bool is_known(JoinRejectReason reason) {
  return static_cast<std::uint16_t>(reason) >= 1 && reason <= kLastJoinRejectReason;
}
[[nodiscard]] constexpr bool is_known(RevocationReason reason) {
  for (std::uint16_t unassigned : kUnassignedRevocationReasons) {
    if (static_cast<std::uint16_t>(reason) == unassigned) return false;
  }
  return static_cast<std::uint16_t>(reason) >= 1 && reason <= kLastRevocationReason;
}
[[nodiscard]] constexpr bool is_known(InputRejectReason reason) {
  return static_cast<std::uint16_t>(reason) >= 1 && reason <= kLastInputRejectReason;
}

std::string_view reason_name(JoinRejectReason reason);
std::string_view reason_name(RevocationReason reason);
std::string_view reason_name(InputRejectReason reason);

}  // namespace gsvs::protocol
