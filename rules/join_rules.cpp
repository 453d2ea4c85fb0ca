#include "rules/join_rules.h"

namespace gsvs::rules {

using protocol::JoinRejectReason;

namespace {

constexpr std::array<JoinCheckRule, kJoinCheckCount> kJoinOrder{{
    {JoinCheck::kDecodes, "decodes as a JoinRequest", std::nullopt, JoinRejectReason::kMalformed,
     std::nullopt},
    {JoinCheck::kIdentityAllowed, "gs_identity on allowed_gs", std::nullopt,
     JoinRejectReason::kUnknownIdentity, std::nullopt},
    // Before the identity signature: a replayed request costs the VS a comparison, not a
    // signature check, and the replayer gets no answer and no log entry.
    {JoinCheck::kChallenge, "the challenge this connection was given", std::nullopt,
     JoinRejectReason::kBadChallenge, JoinCheck::kSessionSignature},
    {JoinCheck::kIdentitySignature, "identity signature (0) verifies", std::nullopt,
     JoinRejectReason::kBadIdentitySignature, std::nullopt},
    {JoinCheck::kBuildAllowed, "sw_hash on allowed_builds", JoinRejectReason::kBuildNotAllowed,
     std::nullopt, std::nullopt},
    {JoinCheck::kSessionSignature, "session-key signature (1) verifies",
     JoinRejectReason::kBadSessionSignature, std::nullopt, std::nullopt},
    {JoinCheck::kClockSkew, "gs_time_ms within max_clock_skew_ms", JoinRejectReason::kClockSkew,
     std::nullopt, std::nullopt},
    {JoinCheck::kVsTakesSessions, "the VS takes new sessions", JoinRejectReason::kServerBusy,
     std::nullopt, std::nullopt},
    {JoinCheck::kIdentityFree, "no live session of gs_identity", JoinRejectReason::kIdentityBusy,
     std::nullopt, std::nullopt},
    {JoinCheck::kNotQuarantined, "gs_identity not quarantined", JoinRejectReason::kQuarantined,
     std::nullopt, std::nullopt},
    // Asked of the fleet's database before the answer is placed, and known only to it: an audit
    // of one node's log leaves it unknown (a fleet's claims are not in any log).
    {JoinCheck::kFreeInFleet, "no other node of the fleet holds gs_identity",
     JoinRejectReason::kIdentityBusyInFleet, std::nullopt, std::nullopt},
    // After the claim: a node gives back its claim on an identity only once the quarantine its
    // revocation began is in the fleet's database, so a granted claim finds it (§8.16).
    {JoinCheck::kNotQuarantinedInFleet, "no other node of the fleet quarantined gs_identity",
     JoinRejectReason::kQuarantinedInFleet, std::nullopt, std::nullopt},
}};

// Check numbers in texts count from 1, as in the PROTOCOL.md table.
std::string numbered(const JoinCheckRule& rule) {
  return "check " + std::to_string(static_cast<unsigned>(rule.check) + 1) + " (" +
         std::string(rule.name) + ")";
}

std::string reason_label(std::uint16_t code) {
  const auto name = protocol::reason_name(static_cast<JoinRejectReason>(code));
  return (name.empty() ? std::string("undefined") : std::string(name)) + " (" +
         std::to_string(code) + ")";
}

// What a failure of `rule` says, for the JoinReject's detail or the VS's log line.
std::string failure_detail(const JoinCheckRule& rule, const JoinSubject& subject) {
  const protocol::JoinRequest* r = subject.request;
  switch (rule.check) {
    case JoinCheck::kDecodes:
      return "not a JoinRequest: " + std::string(subject.decode_error);
    case JoinCheck::kIdentityAllowed:
      return "GS identity " + (r ? to_hex(r->gs_identity) : "?") + " is not in allowed_gs";
    case JoinCheck::kIdentitySignature:
      return "the identity signature of " + (r ? to_hex(r->gs_identity) : "?") + " does not verify";
    case JoinCheck::kBuildAllowed:
      return "build " + (r ? to_hex(r->sw_hash) : "?") + " is not in allowed_builds";
    case JoinCheck::kSessionSignature:
      return "session-key signature does not verify";
    case JoinCheck::kChallenge:
      return "challenge is not the one this connection was given (replayed join?)";
    case JoinCheck::kClockSkew:
      return "GS clock differs from the VS clock by " + std::to_string(subject.clock_skew_ms) +
             " ms; at most " + std::to_string(subject.max_clock_skew_ms) + " allowed";
    case JoinCheck::kVsTakesSessions:
      return "the VS is shutting down";
    case JoinCheck::kIdentityFree:
      return "identity " + (r ? to_hex(r->gs_identity) : "?") +
             " already has a live session; it ends by revocation or after heartbeat_timeout_ms "
             "without heartbeats (one held for a resume after a VS restart: after "
             "resume_window_ms)";
    case JoinCheck::kNotQuarantined:
      return subject.quarantine.empty()
                 ? "identity " + (r ? to_hex(r->gs_identity) : "?") + " is quarantined"
                 : subject.quarantine;
    case JoinCheck::kFreeInFleet:
      return "identity " + (r ? to_hex(r->gs_identity) : "?") + " has a live session on node " +
             subject.fleet_holder + " of this VS's fleet; " +
             (subject.fleet_takeover_failed
                  ? "this VS found that node down and could not take the session over (its "
                    "log says why): an operator must act"
                  : "it ends there by revocation, or is taken over by a join once that node "
                    "is down");
    case JoinCheck::kNotQuarantinedInFleet:
      return "identity quarantined by " + (subject.fleet_quarantine.empty()
                                               ? std::string("another node of this VS's fleet")
                                               : subject.fleet_quarantine);
  }
  return {};
}

JoinDecision failed(const JoinCheckRule& rule, const JoinSubject& subject) {
  JoinDecision d;
  d.check = rule.check;
  d.reason = rule.reason;
  d.outcome = rule.reason ? JoinOutcome::kReject : JoinOutcome::kTurnAway;
  d.detail = failure_detail(rule, subject);
  return d;
}

// The check a logged reason names: the one whose reason (or former reason) it is.
const JoinCheckRule* check_named_by(std::uint16_t code) {
  for (const auto& rule : kJoinOrder) {
    const auto named = rule.reason ? rule.reason : rule.former_reason;
    if (named && static_cast<std::uint16_t>(*named) == code) return &rule;
  }
  return nullptr;
}

}  // namespace

std::span<const JoinCheckRule> join_order() { return kJoinOrder; }

const JoinCheckRule& rule_of(JoinCheck check) {
  return kJoinOrder.at(static_cast<std::size_t>(check));
}

std::uint64_t clock_skew_ms(std::uint64_t gs_time_ms, std::uint64_t vs_time_ms) {
  return vs_time_ms > gs_time_ms ? vs_time_ms - gs_time_ms : gs_time_ms - vs_time_ms;
}

bool within_clock_skew(std::uint64_t gs_time_ms, std::uint64_t vs_time_ms,
                       std::uint64_t max_clock_skew_ms) {
  return clock_skew_ms(gs_time_ms, vs_time_ms) <= max_clock_skew_ms;
}

JoinDecision decide_join(const JoinFacts& facts, const JoinSubject& subject) {
  JoinFacts copy = facts;
  return decide_join(
      copy, [](JoinCheck) { return std::nullopt; }, subject);
}

JoinDecision decide_join(JoinFacts& facts, const JoinCheckAsk& ask, const JoinSubject& subject) {
  for (const auto& rule : kJoinOrder) {
    std::optional<bool> passes = facts.passes(rule.check);
    if (!passes) {
      passes = ask(rule.check);
      if (!passes) {
        JoinDecision d;
        d.check = rule.check;
        return d;
      }
      facts.set(rule.check, *passes);
    }
    if (!*passes) return failed(rule, subject);
  }
  JoinDecision d;
  d.outcome = JoinOutcome::kAccept;
  return d;
}

Status check_join_answer(const JoinFacts& known, std::optional<std::uint16_t> reject_reason) {
  if (!reject_reason) {
    for (const auto& rule : kJoinOrder) {
      if (known.passes(rule.check) == false) {
        return Error{"accepted, but " + numbered(rule) + " fails"};
      }
    }
    return Status::success();
  }
  const std::string said = "reason " + reason_label(*reject_reason);
  const JoinCheckRule* named = check_named_by(*reject_reason);
  if (named == nullptr) return Error{said + " is not a defined JoinRejectReason"};
  // The checks made before the named one: those before it in this order, and for a former reason
  // those the earlier vsd made first.
  const JoinCheck last_before = named->formerly_after.value_or(named->check);
  for (const auto& rule : kJoinOrder) {
    if (rule.check == named->check) continue;
    if (rule.check > named->check && rule.check > last_before) break;
    if (known.passes(rule.check) == false) {
      return Error{said + ", but " + numbered(rule) + " fails before it: the VS " +
                   (rule.reason
                        ? "answers " + reason_label(static_cast<std::uint16_t>(*rule.reason))
                        : std::string("turns such a peer away, unlogged and unanswered"))};
    }
  }
  if (known.passes(named->check) == true) {
    return Error{said + ", but " + numbered(*named) + " passes"};
  }
  return Status::success();
}

}  // namespace gsvs::rules
