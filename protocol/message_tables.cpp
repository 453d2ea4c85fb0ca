// What each message kind, signer, route and reason code is called, and who signs what
// (message_kinds.h): the tables beside the tags, apart from the encoding in messages.cpp.
#include "protocol/messages.h"

namespace gsvs::protocol {

std::string_view kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::kVsChallenge:
      return "VsChallenge";
    case MessageKind::kJoinRequest:
      return "JoinRequest";
    case MessageKind::kJoinAccept:
      return "JoinAccept";
    case MessageKind::kJoinReject:
      return "JoinReject";
    case MessageKind::kHeartbeat:
      return "Heartbeat";
    case MessageKind::kTranscriptDigest:
      return "TranscriptDigest";
    case MessageKind::kNonceBatch:
      return "NonceBatch";
    case MessageKind::kProtectedReceipt:
      return "ProtectedReceipt";
    case MessageKind::kPlayTicket:
      return "PlayTicket";
    case MessageKind::kCheckpoint:
      return "Checkpoint";
    case MessageKind::kRevocation:
      return "Revocation";
    case MessageKind::kClientHello:
      return "ClientHello";
    case MessageKind::kServerHello:
      return "ServerHello";
    case MessageKind::kTicketForward:
      return "TicketForward";
    case MessageKind::kClientNonce:
      return "ClientNonce";
    case MessageKind::kClientInput:
      return "ClientInput";
    case MessageKind::kInputReject:
      return "InputReject";
    case MessageKind::kClientChallenge:
      return "ClientChallenge";
    case MessageKind::kGsLeaving:
      return "GsLeaving";
    case MessageKind::kGsResume:
      return "GsResume";
    case MessageKind::kResumeAccept:
      return "ResumeAccept";
    case MessageKind::kVsStart:
      return "VsStart";
    case MessageKind::kPolicyApplied:
      return "PolicyApplied";
    case MessageKind::kPardon:
      return "Pardon";
    case MessageKind::kSessionAdopted:
      return "SessionAdopted";
    case MessageKind::kStateCarried:
      return "StateCarried";
  }
  return "unknown";
}

SigningKey signing_key(Signer signer, std::size_t index) {
  switch (signer) {
    case Signer::kVs:
      return SigningKey::kVs;
    case Signer::kGsIdentityAndSession:
      return index == 0 ? SigningKey::kGsIdentity : SigningKey::kGsSession;
    case Signer::kGsSession:
      return SigningKey::kGsSession;
    case Signer::kClient:
      return SigningKey::kClient;
    case Signer::kNone:
      break;
  }
  throw std::logic_error("signing_key: a kind signed by no one has no signature " +
                         std::to_string(index));
}

std::string_view describe(Signer signer) {
  switch (signer) {
    case Signer::kNone:
      return "none";
    case Signer::kVs:
      return "VS";
    case Signer::kGsIdentityAndSession:
      return "GS identity key, GS session key";
    case Signer::kGsSession:
      return "GS session key";
    case Signer::kClient:
      return "client key";
  }
  return "unknown";
}

std::string_view describe(Route route) {
  switch (route) {
    case Route::kVsToGs:
      return "VS \u2192 GS";
    case Route::kGsToVs:
      return "GS \u2192 VS";
    case Route::kGsToClient:
      return "GS \u2192 client";
    case Route::kClientToGs:
      return "client \u2192 GS";
    case Route::kVsLog:
      return "VS log";
  }
  return "unknown";
}

bool vs_signed(MessageKind kind) {
  const KindRole* role = kind_role(kind);
  return role && role->signer == Signer::kVs;
}

bool gs_session_traffic(MessageKind kind) {
  const KindRole* role = kind_role(kind);
  return role && role->signer == Signer::kGsSession && role->route == Route::kGsToVs &&
         kind != MessageKind::kGsResume;
}

std::span<const std::string_view> signature_tags(MessageKind kind) {
  std::span<const std::string_view> tags;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((std::variant_alternative_t<I, AnyMessage>::kKind == kind
          ? (tags = std::variant_alternative_t<I, AnyMessage>::kSignatureTags, true)
          : false) ||
     ...);
  }
  (std::make_index_sequence<std::variant_size_v<AnyMessage>>{});
  return tags;
}

std::string_view reason_name(JoinRejectReason reason) {
  switch (reason) {
    case JoinRejectReason::kMalformed:
      return "malformed";
    case JoinRejectReason::kUnknownIdentity:
      return "unknown_identity";
    case JoinRejectReason::kBuildNotAllowed:
      return "build_not_allowed";
    case JoinRejectReason::kBadIdentitySignature:
      return "bad_identity_signature";
    case JoinRejectReason::kBadSessionSignature:
      return "bad_session_signature";
    case JoinRejectReason::kBadChallenge:
      return "bad_challenge";
    case JoinRejectReason::kIdentityBusy:
      return "identity_busy";
    case JoinRejectReason::kClockSkew:
      return "clock_skew";
    case JoinRejectReason::kServerBusy:
      return "server_busy";
    case JoinRejectReason::kUnknownSession:
      return "unknown_session";
    case JoinRejectReason::kSessionEnded:
      return "session_ended";
    case JoinRejectReason::kResumeMismatch:
      return "resume_mismatch";
    case JoinRejectReason::kResumeWindowPassed:
      return "resume_window_passed";
    case JoinRejectReason::kQuarantined:
      return "quarantined";
    case JoinRejectReason::kIdentityBusyInFleet:
      return "identity_busy_in_fleet";
    case JoinRejectReason::kQuarantinedInFleet:
      return "quarantined_in_fleet";
  }
  return "unknown";
}

std::string_view reason_name(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kBadSignature:
      return "bad_signature";
    case RevocationReason::kCounterRegression:
      return "counter_regression";
    case RevocationReason::kSwHashChanged:
      return "sw_hash_changed";
    case RevocationReason::kMissedHeartbeats:
      return "missed_heartbeats";
    case RevocationReason::kSpeedViolation:
      return "speed_violation";
    case RevocationReason::kReceiptTipMismatch:
      return "receipt_tip_mismatch";
    case RevocationReason::kOperator:
      return "operator";
    case RevocationReason::kMalformedMessage:
      return "malformed_message";
    case RevocationReason::kSessionMismatch:
      return "session_mismatch";
    case RevocationReason::kVsShutdown:
      return "vs_shutdown";
    case RevocationReason::kTooManyPlayers:
      return "too_many_players";
    case RevocationReason::kGsLeft:
      return "gs_left";
    case RevocationReason::kPolicyWithdrawn:
      return "policy_withdrawn";
    case RevocationReason::kDigestsStopped:
      return "digests_stopped";
    case RevocationReason::kOperatorQuarantine:
      return "operator_quarantine";
    case RevocationReason::kDigestsLate:
      return "digests_late";
  }
  return "unknown";
}

std::string_view reason_name(InputRejectReason reason) {
  switch (reason) {
    case InputRejectReason::kMalformed:
      return "malformed";
    case InputRejectReason::kBadSignature:
      return "bad_signature";
    case InputRejectReason::kWrongSession:
      return "wrong_session";
    case InputRejectReason::kUnknownTicket:
      return "unknown_ticket";
    case InputRejectReason::kStaleTicket:
      return "stale_ticket";
    case InputRejectReason::kReplayedSequence:
      return "replayed_sequence";
    case InputRejectReason::kWrongKey:
      return "wrong_key";
    case InputRejectReason::kNoTicket:
      return "no_ticket";
  }
  return "unknown";
}

}  // namespace gsvs::protocol
