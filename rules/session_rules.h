// The VS's rules for one joined session, written once: vsd applies them to each message as it
// arrives, and audit-cli replays a session's log entries through the same code. This header is
// the normative reference for docs/PROTOCOL.md §8.5 to §8.7 (session traffic, receipts, tickets,
// liveness); the movement rule itself is rules/movement.h (§8.6).
//
// Pure and deterministic: a session's state, one message and the VS clock reading at which it
// arrived give a verdict and the next state. No I/O, no clock, no threads. Every time is a
// `vs_time_ms` as the VS logs it (PROTOCOL.md §8.12: the VS clock never goes back while a VS
// runs), so what vsd decided live and what an auditor recomputes from the log are the same.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/messages.h"
#include "rules/movement.h"

namespace gsvs::rules {

// What the VS concludes about one received message: accept it, or revoke the session for the
// named fault. kAfterRevocation: it arrived once the session was over and is not acted on.
enum class Verdict : std::uint8_t {
  kAccepted,
  kMalformed,           // does not decode, or is not session traffic  -> malformed_message
  kSessionMismatch,     // names another session                        -> session_mismatch
  kBadSignature,        // does not verify under the session key         -> bad_signature
  kCounterRegression,   // gs_counter not above the last accepted        -> counter_regression
  kMissedHeartbeats,    // arrived after the liveness deadline           -> missed_heartbeats
  kSwHashChanged,       // Heartbeat with another build hash             -> sw_hash_changed
  kReceiptTipMismatch,  // receipt_count/receipt_tip wrong or too far behind -> receipt_tip_mismatch
  kTooManyPlayers,      // digest over max_players_per_session           -> too_many_players
  kSpeedViolation,      // digest whose step crosses the excess limit    -> speed_violation
  kDigestsLate,         // the same, within the limit on the paced clock -> digests_late
  kDigestsStopped,      // arrived after the digest deadline (players)   -> digests_stopped
  kAfterRevocation,
};
std::string_view verdict_name(Verdict verdict);
// The revocation reason a refusal calls for (nullopt for kAccepted and kAfterRevocation).
std::optional<protocol::RevocationReason> reason_for(Verdict verdict);
// The verdict on a step that crossed the excess limit: the paced clock names it (PROTOCOL.md §8.6
// "Late digests").
Verdict verdict_on_violation(const MovementStep& violation);

// The verdict on one message, with what a revocation for it must cite.
struct Judgement {
  Verdict verdict = Verdict::kAccepted;
  std::string why;  // for a refusal: the rule and the numbers
  // The evidence of a refusal, in the order the Revocation lists it: `prior_evidence` (entries
  // logged before the message: the JoinAccept, an earlier digest, the last valid Heartbeat),
  // then the message's own position when `cites_message`.
  std::vector<std::uint64_t> prior_evidence;
  bool cites_message = false;
  std::vector<MovementStep> steps;        // a TranscriptDigest's steps, when the movement rule ran
  std::optional<MovementStep> violation;  // the step that crossed the excess limit (or was late)
  // An accepted GsLeaving: the session ends, not by a fault, with a gs_left revocation citing it.
  bool leaves = false;

  [[nodiscard]] bool accepted() const { return verdict == Verdict::kAccepted; }
  [[nodiscard]] bool refused() const { return reason_for(verdict).has_value(); }
  [[nodiscard]] std::vector<std::uint64_t> evidence(std::uint64_t message_position) const;
};

// The fields every kind of session traffic carries (§8.4), or nullopt for a message that is not
// session traffic (or nullptr: a frame that does not decode).
struct Envelope {
  protocol::SessionId session_id = 0;
  std::uint64_t gs_counter = 0;
};
std::optional<Envelope> envelope_of(const protocol::AnyMessage* message);

// One message the GS sent on the session's connection, as the VS received it.
struct Received {
  const protocol::AnyMessage* message = nullptr;  // nullptr: the frame does not decode
  std::string_view decode_error;                  // why, when message is nullptr
  std::string_view kind_name;                     // the kind byte it carries, named, for texts
  bool signature_valid = false;  // its signature under the session key (session traffic only)
  std::uint64_t position = 0;    // where the VS logged it
  std::uint64_t vs_time_ms = 0;  // the VS clock when it arrived
};

// Where a session began: its JoinAccept and where the log holds it.
struct SessionStart {
  protocol::JoinAccept accept;
  std::uint64_t accept_position = 0;
  std::uint64_t accept_vs_ms = 0;
  Hash32 accept_hash;  // SHA-256 of the JoinAccept bytes: ticket 1 chains from it
};

// A receipt's place in the session's receipt chain (§6.3).
struct ReceiptTerms {
  std::uint64_t index = 0;
  Hash32 tip;
};

// The answer to a GsResume (PROTOCOL.md §8.15 checks 6 to 9): no refusal means resume.
struct ResumeDecision {
  std::optional<protocol::JoinRejectReason> refusal;
  std::string why;  // for a refusal: the rule and the numbers

  [[nodiscard]] bool accepted() const { return !refusal.has_value(); }
};

// Liveness (§8.5): a session silent since `since_ms` (its last valid Heartbeat, or its
// JoinAccept) is over at `now_ms` once heartbeat_timeout_ms have passed, the deadline included.
[[nodiscard]] constexpr bool liveness_lapsed(std::uint64_t since_ms,
                                             std::uint32_t heartbeat_timeout_ms,
                                             std::uint64_t now_ms) {
  return now_ms >= since_ms + heartbeat_timeout_ms;
}

// §8.5 check 6, in its order, on a claimed receipt state (a Heartbeat's or a GsLeaving's
// receipt_count and receipt_tip): the one statement of the rule, which SessionRules applies live
// and in replay and a report's verifier applies to the receipts the report carries.
enum class ReceiptClaimFault : std::uint8_t {
  kNone,
  kMoreThanIssued,  // claims more receipts than the VS had issued
  kLagTooLarge,     // more than max_receipt_lag behind the receipts issued
  kCountWentBack,   // below the receipt_count of the last accepted claim
  kTipUnknown,      // the tip the VS issued with that receipt is not at hand to compare
  kTipMismatch,     // not the tip the VS issued with receipt receipt_count
};
struct ReceiptClaim {
  std::uint64_t receipt_count = 0;
  Hash32 receipt_tip;
};
// `issued`: receipts the VS had issued when the claim arrived. `last_seen_count`: the count of the
// last accepted claim, nullopt where it is not known (a report carries only the cited message).
// `issued_tip`: the tip the VS issued with receipt claim.receipt_count (zeros for 0), nullopt where
// it is not at hand; read only once the count is within [issued - max_receipt_lag, issued].
[[nodiscard]] ReceiptClaimFault judge_receipt_claim(const ReceiptClaim& claim, std::uint64_t issued,
                                                    std::uint32_t max_receipt_lag,
                                                    std::optional<std::uint64_t> last_seen_count,
                                                    const std::optional<Hash32>& issued_tip);

class SessionRules {
 public:
  explicit SessionRules(const SessionStart& start);

  // PROTOCOL.md §8.5 checks 1 to 4 and the liveness deadline, which need no log position: the
  // frame decodes as session traffic, names this session, verifies under the session key, its
  // gs_counter rises, and it arrived before the session's heartbeat deadline. Changes nothing.
  [[nodiscard]] Judgement check_envelope(const Received& received) const;
  // The whole judgement of one message, in the order of §8.5: the envelope, then the rules of
  // its kind. An accepted message moves the state on. A refusal changes nothing but the last
  // accepted gs_counter (once the envelope passed); the session ends when the revocation is
  // issued (end()), and every message after that is kAfterRevocation.
  Judgement judge(const Received& received);

  // Liveness (§8.5): the VS clock reading at which the session has been silent for
  // heartbeat_timeout_ms since its last valid Heartbeat (or its JoinAccept).
  [[nodiscard]] std::uint64_t heartbeat_deadline_ms() const;
  // The missed_heartbeats revocation due at `now_ms`, or kAccepted while the session is alive.
  [[nodiscard]] Judgement check_liveness(std::uint64_t now_ms) const;

  // Digests required (§8.5): while the last accepted TranscriptDigest named at least one player,
  // the next is due within digest_timeout_ms of it (or of a ResumeAccept after it). nullopt while
  // the session has no players (none named yet, or the last digest named none), is suspended,
  // or is over.
  [[nodiscard]] std::optional<std::uint64_t> digest_deadline_ms() const;
  // The digests_stopped revocation due at `now_ms`, or kAccepted.
  [[nodiscard]] Judgement check_digests(std::uint64_t now_ms) const;
  // Both deadlines at `now_ms`: the revocation of whichever passed first; at the same instant
  // missed_heartbeats, since a GS silent in every respect has gone, not hidden its players.
  [[nodiscard]] Judgement check_deadlines(std::uint64_t now_ms) const;
  // The earlier of the two deadlines: when the VS's watchdog must look again.
  [[nodiscard]] std::uint64_t next_deadline_ms() const;
  // The players the last accepted digest named (0 before the first), where it is logged, and
  // when the digest deadline runs from.
  [[nodiscard]] std::size_t players_in_play() const { return players_in_play_; }
  [[nodiscard]] std::optional<std::uint64_t> last_digest_position() const {
    return last_digest_position_;
  }
  [[nodiscard]] std::uint64_t digests_since_ms() const { return digests_since_ms_; }

  // Receipts (§6.3): the receipt after `previous` for an accepted digest whose bytes hash to
  // `digest_hash`; by default after the last one issued. vsd chains a digest's receipt after one
  // still being signed (PROTOCOL.md §8.7: it is issued once placed in the log).
  [[nodiscard]] ReceiptTerms next_receipt(const Hash32& digest_hash) const {
    return next_receipt(digest_hash, last_receipt());
  }
  [[nodiscard]] ReceiptTerms next_receipt(const Hash32& digest_hash,
                                          const ReceiptTerms& previous) const;
  [[nodiscard]] ReceiptTerms last_receipt() const { return {receipts_, recent_tips_.back()}; }
  // Records a receipt as issued, that is placed in the log: from here on a claim of it is not
  // more than issued (check 6). vsd: what next_receipt gave; an auditor: what the VS logged, so
  // that one broken receipt is one finding rather than one per later heartbeat.
  void receipt_issued(const ReceiptTerms& receipt);

  // Tickets (§6.4, §6.7): the next ticket's place in the chain and the nonces it may bind.
  // `next_ticket` fills every field but the signature, binding every nonce waiting.
  [[nodiscard]] protocol::PlayTicket next_ticket(std::uint64_t issued_ms) const;
  [[nodiscard]] std::uint64_t next_ticket_seq() const { return tickets_ + 1; }
  [[nodiscard]] const Hash32& prev_ticket_hash() const { return last_ticket_hash_; }
  [[nodiscard]] std::span<const Nonce32> pending_nonces() const { return pending_nonces_; }
  // A ticket was issued binding the first `nonce_count` waiting nonces; its bytes hash to
  // `ticket_hash`.
  void ticket_issued(std::uint32_t nonce_count, const Hash32& ticket_hash);

  // The session is over (its Revocation is issued): nothing more is acted on, and its
  // per-player and per-nonce state is released.
  void end();

  // Resumption (PROTOCOL.md §8.15). A VS start (its VsStart logged at `start_position`, at
  // `start_ms`) found the session live: it is suspended until start_ms + window_ms. No heartbeat
  // is owed meanwhile; heartbeat_deadline_ms() is the end of the window.
  void suspend(std::uint64_t start_ms, std::uint32_t window_ms, std::uint64_t start_position);
  [[nodiscard]] bool suspended() const { return suspended_until_ms_.has_value(); }
  [[nodiscard]] std::optional<std::uint64_t> suspension_position() const {
    return suspended() ? std::optional<std::uint64_t>(suspension_position_) : std::nullopt;
  }
  // Checks 6 to 9 on a GsResume of this session that arrived at `vs_time_ms` (its signature
  // under the session key already verified): a suspended session until its window ends, a live
  // one (its connection lost) until its heartbeat deadline. The GS may be behind the VS by up
  // to max_receipt_lag receipts and as many tickets, lost in the cut: the VS sends them again
  // after its ResumeAccept. Changes nothing.
  [[nodiscard]] ResumeDecision decide_resume(const protocol::GsResume& resume,
                                             std::uint64_t vs_time_ms) const;
  // The resume was accepted: the VS's ResumeAccept is logged at `accept_position`, at
  // `accept_vs_ms`. Its gs_counter becomes the last accepted, and liveness runs from the
  // ResumeAccept (a later missed_heartbeats revocation cites it until a Heartbeat passes).
  void resumed(const protocol::GsResume& resume, std::uint64_t accept_vs_ms,
               std::uint64_t accept_position);
  // The tip after the receipts issued (§6.3).
  [[nodiscard]] const Hash32& receipt_tip() const { return recent_tips_.back(); }
  // The hash a GsResume names for the last ticket: 32 zero bytes before the first ticket.
  [[nodiscard]] Hash32 last_ticket_hash_named() const {
    return tickets_ == 0 ? Hash32{} : last_ticket_hash_;
  }

  [[nodiscard]] const SessionStart& start() const { return start_; }
  [[nodiscard]] const protocol::JoinAccept& accept() const { return start_.accept; }
  [[nodiscard]] const MovementLimits& limits() const { return movement_.limits(); }
  [[nodiscard]] bool ended() const { return ended_; }
  [[nodiscard]] std::uint64_t last_counter() const { return last_counter_; }
  [[nodiscard]] std::uint64_t receipts_issued() const { return receipts_; }
  [[nodiscard]] std::uint64_t tickets_issued() const { return tickets_; }
  // The last valid Heartbeat, or the ResumeAccept of a resume after it (nullopt: none yet;
  // liveness then runs from the JoinAccept).
  [[nodiscard]] std::optional<std::uint64_t> last_heartbeat_position() const {
    return last_heartbeat_position_;
  }
  [[nodiscard]] std::uint64_t liveness_since_ms() const { return liveness_since_ms_; }
  [[nodiscard]] std::size_t players_tracked() const { return movement_.players_tracked(); }
  // Continuity across sessions (§8.6): the positions an earlier session of the identity left,
  // which its players' first positions here are checked from (ContinuityLedger::carried_into
  // under this JoinAccept's terms); and every player's last notarized position in this session,
  // for the ledger (empty once the session has ended: take it before end()).
  void carry(const std::vector<NotarizedPosition>& positions) { movement_.carry(positions); }
  [[nodiscard]] std::vector<NotarizedPosition> notarized() const {
    return movement_.notarized(start_.accept.session_id);
  }

  // Adoption in a fleet (PROTOCOL.md §8.10): a node takes up a session that a dead node held, from
  // the state these rules hold after the session's last entry in that node's log.
  // `adoption_state` fills a SessionAdopted's state fields (gs_counter to positions); an error
  // when the session tracks more players than one can carry.
  [[nodiscard]] Status adoption_state(protocol::SessionAdopted& adopted) const;
  // The session as a SessionAdopted logged at `position` takes it up: its JoinAccept (the
  // embedded one), then the state the SessionAdopted names, waiting for a resume as after a
  // network cut (its deadlines run on; a refusal cites `position` for what came before). The
  // players' positions carry over as into an identity's next session (§8.6): each player's next
  // step is checked from its last notarized position. An error names a state that is not one
  // these rules could have held.
  static Result<SessionRules> adopt(const protocol::SessionAdopted& adopted,
                                    std::uint64_t position);

 private:
  Judgement judge_heartbeat(const protocol::Heartbeat& hb, const Received& received);
  Judgement judge_leaving(const protocol::GsLeaving& leaving);
  Judgement judge_digest(const protocol::TranscriptDigest& digest, const Received& received);
  void take_nonces(const protocol::NonceBatch& batch);
  // §8.5 check 6 on a claimed receipt state (a Heartbeat's or a GsLeaving's); empty when it
  // holds. `sender` names the message in the text.
  [[nodiscard]] std::string receipt_state_problem(std::string_view sender,
                                                  std::uint64_t receipt_count,
                                                  const Hash32& receipt_tip) const;

  SessionStart start_;
  MovementChecker movement_;
  bool ended_ = false;
  std::uint64_t last_counter_ = 0;
  std::optional<std::uint64_t> last_heartbeat_position_;
  std::uint64_t liveness_since_ms_ = 0;
  // Digests required: the last accepted digest, the players it named, and the VS time the
  // digest deadline runs from (that digest's, or a later ResumeAccept's).
  std::optional<std::uint64_t> last_digest_position_;
  std::size_t players_in_play_ = 0;
  std::uint64_t digests_since_ms_ = 0;
  std::uint64_t last_receipt_count_seen_ = 0;
  std::uint64_t receipts_ = 0;
  // Tips after receipts receipts_ - (size - 1) .. receipts_, newest last: max_receipt_lag + 1
  // of them, all that check 6 may need.
  std::deque<Hash32> recent_tips_;
  std::uint64_t tickets_ = 0;
  Hash32 last_ticket_hash_;
  // The hashes a GsResume names for tickets tickets_ - (size - 1) .. tickets_, newest last (32
  // zero bytes for "no ticket yet"): max_receipt_lag + 1 of them, all that check 9 may need.
  std::deque<Hash32> recent_ticket_hashes_;
  std::vector<Nonce32> pending_nonces_;  // received since the last ticket, in order, capped
  std::optional<std::uint64_t> suspended_until_ms_;  // set while a VS start has suspended it
  std::uint64_t suspension_position_ = 0;            // the VsStart that did
};

}  // namespace gsvs::rules
