// A model of what the VS must do in one session (docs/PROTOCOL.md §8.5 to §8.7), fed the
// session's log entries in order after its JoinAccept. Every received message goes through the
// VS's own rules (rules/session_rules.h) under the JoinAccept's terms, and what the VS issued is
// checked against them: receipts (index, digest, tip), tickets (chain, window, client_binding,
// liveness) and the revocation (reason and evidence). Problems go to a FindingSink; an Observer
// sees every verdict.
//
// A received message the VS had to refuse is not itself a problem: the VS logs what it refuses.
// It is one when the VS did not react as the protocol requires: no revocation of the session
// that cites it (the VS "accepted" it).
//
// Used by `verify` (one model per live session, fed by the streaming verifier with signatures
// checked in parallel) and by `timeline`/`explain` (one session, see replay.h).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit-cli/findings.h"
#include "protocol/bytes.h"
#include "protocol/messages.h"
#include "rules/session_rules.h"
#include "storage/log.h"

namespace gsvs::audit {

enum class SigState : std::uint8_t {
  kValid,
  kInvalid,
  kUnchecked,  // no key to check it with (VS key unknown), or the bytes do not decode
};
// What a signature check found: kValid or kInvalid.
constexpr SigState sig_state(bool valid) { return valid ? SigState::kValid : SigState::kInvalid; }

// "3, 5, 8": log positions as findings list them.
std::string positions_text(const std::vector<std::uint64_t>& positions);

// What the VS had to conclude about a received message: the rules' own verdict.
using rules::reason_for;
using rules::Verdict;
using rules::verdict_name;

// One entry as the model sees it.
struct ModelInput {
  const storage::Entry* entry = nullptr;
  const protocol::AnyMessage* message = nullptr;  // nullptr when the bytes do not decode
  std::string_view decode_error;                  // why, when message is nullptr
  std::span<const SigState> signatures;           // one per signature of the kind
  // The position the VS gave the entry: its seq, unless the rows were renumbered after an
  // insertion or deletion (the verifier tells from the entry hash). Positions inside signed
  // messages (digest_log_seq, evidence, from/to of a step) are matched against this.
  std::uint64_t position = 0;
};

// Where an entry is and what it is, for evidence that the model did not see itself.
struct EntryBrief {
  std::uint64_t seq = 0;
  std::uint8_t kind = 0;
  chains::Direction direction = chains::Direction::kReceived;
  protocol::SessionId session_id = 0;
  std::uint64_t vs_time_ms = 0;
};
using EntryLookup = std::function<std::optional<EntryBrief>(std::uint64_t seq)>;
// Looks entries up in `log`, which must outlive the lookup.
EntryLookup entry_lookup(const storage::Log& log);

struct ReceivedRecord {
  std::uint64_t seq = 0;
  std::uint64_t position = 0;  // as the VS numbered it (== seq unless rows were renumbered)
  std::uint8_t kind = 0;
  std::uint64_t vs_time_ms = 0;
  Verdict verdict = Verdict::kAccepted;
  std::optional<std::uint64_t> gs_counter;
  SigState signature = SigState::kUnchecked;
  std::string why;  // for a bad verdict, the rule and the numbers
};

struct DigestRecord {
  std::uint64_t seq = 0;
  std::uint64_t vs_time_ms = 0;
  Verdict verdict = Verdict::kAccepted;
  const protocol::TranscriptDigest* digest = nullptr;  // valid during the callback
  std::vector<rules::MovementStep> steps;              // empty unless the digest was accepted
};

// How far the log supports a revocation's verdict.
enum class Support {
  kSupported,      // the recomputation finds the fault the revocation names, at its evidence
  kUnsupported,    // it does not: the VS revoked without the cause it states
  kUnconfirmable,  // the rule depends on VS configuration the log does not hold
  kNotAGsFault,    // operator or vs_shutdown: no fault of the GS is claimed
};
std::string_view support_name(Support support);

struct RevocationAssessment {
  std::uint64_t seq = 0;
  Support support = Support::kUnsupported;
  std::string explanation;                  // plain words, with the recomputed numbers
  std::optional<rules::MovementStep> step;  // speed_violation: the recomputed step
  std::optional<ReceivedRecord> cited;      // the message at fault, when there is one
  std::optional<std::uint64_t> last_valid_heartbeat_seq;  // missed_heartbeats
  std::uint64_t last_valid_heartbeat_vs_ms = 0;
};

class SessionModel {
 public:
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void on_received(const ReceivedRecord& /*record*/) {}
    virtual void on_digest(const DigestRecord& /*record*/) {}
    virtual void on_revocation(const protocol::Revocation& /*revocation*/,
                               const RevocationAssessment& /*assessment*/) {}
  };

  // `accept_hash`: SHA-256 of the stored JoinAccept bytes (ticket 1 anchors there).
  SessionModel(std::uint64_t accept_seq, std::uint64_t accept_vs_ms,
               const protocol::JoinAccept& accept, const Hash32& accept_hash);

  // A session taken up from another node of a fleet (PROTOCOL.md §8.10): `rules` from its
  // SessionAdopted (rules::SessionRules::adopt), which stands for all that node logged of it.
  explicit SessionModel(rules::SessionRules adopted) : rules_(std::move(adopted)), adopted_(true) {}

  void set_observer(Observer* observer) { observer_ = observer; }

  // One entry with this session's id, after the JoinAccept, in log order. The caller has
  // already checked the entry's own chain, kind, direction and (for VS-issued kinds) signature.
  // `lookup` resolves evidence positions the model has not seen (other sessions, the past).
  void add(const ModelInput& input, FindingSink& sink, const EntryLookup& lookup);
  // The log ended: every refusal the VS still owed becomes a finding.
  void finish(FindingSink& sink);
  // Continuity across sessions (PROTOCOL.md §8.6): the positions the identity's earlier sessions
  // left, which this session's first positions are checked from; and this session's last
  // notarized positions, for the next session (before its revocation is added).
  void carry(const std::vector<rules::NotarizedPosition>& positions) { rules_.carry(positions); }
  [[nodiscard]] std::vector<rules::NotarizedPosition> notarized() const {
    return rules_.notarized();
  }
  // The rules version of the run the session's first entry lies in: that of the last VsStart
  // before it; nullopt where the log read holds none before it (retired, or a part of a log).
  void judged_under(std::optional<std::uint32_t> rules_version) { rules_version_ = rules_version; }
  // A VsStart at `position` found the session live: it is suspended (PROTOCOL.md §8.15), and
  // judged from here by the rules version the start names. The digests still awaiting a receipt
  // never get one (the stop ended the turn that would have signed them): each is a warning, as at
  // the log's end, not a receipt skipped.
  void on_vs_start(const protocol::VsStart& start, std::uint64_t position, FindingSink& sink);
  // What is wrong with the VS refusing `resume` with `reason` at `vs_time_ms`, if anything: the
  // GsResume must verify under the session key, and the reason must be the rules' (clock_skew,
  // the VS's word, only where the rules would resume).
  [[nodiscard]] std::optional<std::string> resume_refusal_problem(const protocol::GsResume& resume,
                                                                  std::uint16_t reason,
                                                                  std::uint64_t vs_time_ms) const;

  [[nodiscard]] const protocol::JoinAccept& accept() const { return rules_.accept(); }
  [[nodiscard]] bool revoked() const { return revoked_at_.has_value(); }
  // When the session's silence calls for a missed_heartbeats revocation (the VS clock).
  [[nodiscard]] std::uint64_t heartbeat_deadline_ms() const {
    return rules_.heartbeat_deadline_ms();
  }
  // While the last accepted digest named players: when the next digest was due (§8.5).
  [[nodiscard]] std::optional<std::uint64_t> digest_deadline_ms() const {
    return rules_.digest_deadline_ms();
  }

 private:
  struct Owed {  // a refusal the VS owes: a revocation citing `cited_position`
    ReceivedRecord record;
    std::optional<rules::MovementStep> step;  // for a speed violation
    // The entry the revocation must cite: the message itself, or for a message that came after
    // the heartbeat deadline, the last valid Heartbeat (or the JoinAccept).
    std::uint64_t cited_position = 0;
  };
  struct AwaitingReceipt {
    std::uint64_t seq = 0;
    std::uint64_t position = 0;
    std::uint64_t gs_counter = 0;
    Hash32 digest_hash;
  };

  // Each digest still awaiting a receipt as a warning: none will come, for `why`.
  void unreceipted(const std::string& why, FindingSink& sink);
  void on_received(const ModelInput& input, FindingSink& sink);
  void await_receipt(const ModelInput& input, const protocol::TranscriptDigest& digest,
                     FindingSink& sink);
  void on_receipt(const ModelInput& input, const protocol::ProtectedReceipt& receipt,
                  FindingSink& sink);
  void on_ticket(const ModelInput& input, const protocol::PlayTicket& ticket, FindingSink& sink);
  void on_revocation(const ModelInput& input, const protocol::Revocation& revocation,
                     FindingSink& sink, const EntryLookup& lookup);
  // A digests_stopped revocation held to the gap it claims; fills `a`.
  void assess_digests_stopped(const storage::Entry& entry, const protocol::Revocation& revocation,
                              FindingSink& sink, RevocationAssessment& a) const;
  void on_resume(const ModelInput& input, const protocol::GsResume& resume, FindingSink& sink);
  // Whether `resume` proves the session key: the session's identity and key, signed with it.
  [[nodiscard]] bool proves_session_key(const protocol::GsResume& resume) const;
  // What the rules decide of `resume` at `vs_time_ms`; a session the log shows revoked is ended,
  // whatever the rules' copy was told.
  [[nodiscard]] rules::ResumeDecision resume_decision(const protocol::GsResume& resume,
                                                      std::uint64_t vs_time_ms) const;
  void on_resume_accept(const ModelInput& input, const protocol::ResumeAccept& answer,
                        FindingSink& sink);
  std::optional<EntryBrief> brief(std::uint64_t seq, const EntryLookup& lookup) const;
  Finding finding(const storage::Entry& entry, std::string_view check, std::string expected,
                  std::string found, std::string detail = {}) const;

  Observer* observer_ = nullptr;

  // What the VS knows about the session, as the log rebuilds it.
  rules::SessionRules rules_;
  bool adopted_ = false;  // started at a SessionAdopted, not a JoinAccept
  // The rules version of the run judging the session (judged_under, on_vs_start).
  std::optional<std::uint32_t> rules_version_;
  std::optional<std::uint64_t> last_received_position_;     // of the session's last received entry
  std::optional<std::uint64_t> accepted_leaving_position_;  // of a GsLeaving that passed
  std::deque<AwaitingReceipt> awaiting_receipt_;
  std::uint64_t last_ticket_seq_ = 0;  // log position of the last ticket
  std::vector<Owed> owed_;
  std::optional<std::uint64_t> revoked_at_;
  // An accepted GsResume of the session, and its bytes' hash, until its ResumeAccept.
  std::optional<protocol::GsResume> resume_;
  Hash32 resume_hash_;
};

}  // namespace gsvs::audit
