// The VS's admission of a GS (docs/PROTOCOL.md §8.3), written once: the checks on a JoinRequest,
// their order, and what the first failure calls for (the peer turned away, or a JoinReject with
// its reason). vsd decides each join with decide_join; audit-cli holds every logged answer to the
// same order with check_join_answer, knowing only what the log shows.
//
// Pure and deterministic: no I/O, no clock, no keys. Whoever judges supplies the facts (whether
// each check passes); a fact the judge cannot know is left unknown (nullopt).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::rules {

// The checks, in the order the VS makes them. The first that fails decides. Checks 1 to 4 decide
// whether the peer is anybody: until all four pass (an allowed identity signed this connection's
// challenge), a failure is turned away, unlogged and unanswered, so that nobody without an
// allowed identity's key can grow the log or obtain a VS signature. Only a fresh signature of an
// allowed identity is evidence worth a log entry and a signed answer.
enum class JoinCheck : std::uint8_t {
  kDecodes,                // the frame decodes as a JoinRequest (§2.6)   -> turned away
  kIdentityAllowed,        // gs_identity is on allowed_gs                -> turned away
  kChallenge,              // the challenge this connection got, unused   -> turned away
  kIdentitySignature,      // signature 0 verifies under gs_identity      -> turned away
  kBuildAllowed,           // sw_hash is on allowed_builds                -> build_not_allowed
  kSessionSignature,       // signature 1 verifies under session_key      -> bad_session_signature
  kClockSkew,              // |gs_time_ms - VS clock| <= max_clock_skew_ms -> clock_skew
  kVsTakesSessions,        // the VS is not stopping                      -> server_busy
  kIdentityFree,           // no live session holds gs_identity (§8.10)   -> identity_busy
  kNotQuarantined,         // gs_identity is not quarantined (§8.16)      -> quarantined
  kFreeInFleet,            // no other node of the fleet holds it (§8.10) -> identity_busy_in_fleet
  kNotQuarantinedInFleet,  // no other node quarantined it (§8.16)     -> quarantined_in_fleet
};
inline constexpr std::size_t kJoinCheckCount = 12;

struct JoinCheckRule {
  JoinCheck check;
  std::string_view name;  // for texts
  // The JoinReject a failure calls for; nullopt: the peer is turned away, nothing logged and
  // nothing answered. Whether a failure is logged is decided here and nowhere else.
  std::optional<protocol::JoinRejectReason> reason;
  // For a turned-away check: the reason an earlier vsd logged and answered with instead. Its
  // stores stay honest: an audit accepts that reason where this check fails.
  std::optional<protocol::JoinRejectReason> former_reason;
  // Where that earlier vsd made this check later than this one does: the last check it made
  // before it. An audit holds a former reason to the checks the earlier vsd made first
  // (bad_challenge came after both signatures, so it never answered a bad one).
  std::optional<JoinCheck> formerly_after;
};
// One row per check, in order (the table of PROTOCOL.md §8.3).
std::span<const JoinCheckRule> join_order();
const JoinCheckRule& rule_of(JoinCheck check);

// Whether each check passes for one join, as far as the judge knows: nullopt where it cannot
// (an auditor knows neither the allowlists, nor the challenge, nor max_clock_skew_ms, nor whether
// the VS was stopping).
class JoinFacts {
 public:
  JoinFacts& set(JoinCheck check, bool passes) {
    passes_.at(static_cast<std::size_t>(check)) = passes;
    return *this;
  }
  [[nodiscard]] std::optional<bool> passes(JoinCheck check) const {
    return passes_.at(static_cast<std::size_t>(check));
  }

 private:
  std::array<std::optional<bool>, kJoinCheckCount> passes_{};
};

// |gs_time_ms - vs_time_ms|, and check kClockSkew on it.
std::uint64_t clock_skew_ms(std::uint64_t gs_time_ms, std::uint64_t vs_time_ms);
bool within_clock_skew(std::uint64_t gs_time_ms, std::uint64_t vs_time_ms,
                       std::uint64_t max_clock_skew_ms);

// What the decision's text names: the request (nullptr: it did not decode, and why), the clock
// numbers of check kClockSkew and the quarantine of check kNotQuarantined.
struct JoinSubject {
  const protocol::JoinRequest* request = nullptr;
  std::string_view decode_error;
  std::uint64_t clock_skew_ms = 0;
  std::uint64_t max_clock_skew_ms = 0;
  std::string quarantine;    // rules::quarantine_detail of the quarantine in force
  std::string fleet_holder;  // the fleet node that holds the identity (check kFreeInFleet)
  // The quarantine another node of the fleet began (check kNotQuarantinedInFleet): "node N of
  // this VS's fleet (...)", what it is and where its log holds it.
  std::string fleet_quarantine;
  // The VS found the node of check kFreeInFleet down and could not take its claim over (its log
  // says why): the identity waits for an operator, not for that node to go down.
  bool fleet_takeover_failed = false;
};

enum class JoinOutcome : std::uint8_t {
  kAccept,     // every check passed
  kReject,     // a logged check failed: log the request and a JoinReject with `reason`
  kTurnAway,   // a turned-away check failed: log nothing, answer nothing, close
  kUndecided,  // every check before `check` passed and `check` is unknown
};

struct JoinDecision {
  JoinOutcome outcome = JoinOutcome::kUndecided;
  std::optional<JoinCheck> check;  // the check that failed, or the first unknown one
  std::optional<protocol::JoinRejectReason> reason;  // kReject only
  std::string detail;  // kReject: the JoinReject's detail; kTurnAway: the VS's log line

  [[nodiscard]] bool accepted() const { return outcome == JoinOutcome::kAccept; }
  [[nodiscard]] bool decided() const { return outcome != JoinOutcome::kUndecided; }
};

// The decision the known facts give: the first check that fails, once every check before it is
// known to pass; kUndecided at the first unknown check before any failure.
JoinDecision decide_join(const JoinFacts& facts, const JoinSubject& subject);

// The same, asking `ask` for each fact still unknown, in order, and only until one fails or
// `ask` answers nullopt (the decision is then kUndecided at that check). So vsd verifies no
// signature for an identity that is not on its allowlist. The answers are kept in `facts`, so a
// later call can go on from the check where this one stopped.
using JoinCheckAsk = std::function<std::optional<bool>(JoinCheck)>;
JoinDecision decide_join(JoinFacts& facts, const JoinCheckAsk& ask, const JoinSubject& subject);

// Whether a logged answer agrees with the order, given what the log shows. A JoinReject
// (`reject_reason`, the code as logged) agrees when its reason is a defined one, every check
// before the one it names is not known to fail, and that check is not known to pass. A JoinAccept
// (nullopt) agrees when no check is known to fail. The error says which check disagrees.
Status check_join_answer(const JoinFacts& known, std::optional<std::uint16_t> reject_reason);

}  // namespace gsvs::rules
