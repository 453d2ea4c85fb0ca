#include "tests/vectors/join_order_samples.h"

#include <stdexcept>
#include <string>

#include "rules/join_rules.h"

namespace gsvs::test_samples {

namespace {

using rules::JoinCheck;

std::string check_id(JoinCheck check) { return std::to_string(static_cast<unsigned>(check) + 1); }

std::string reason_text(std::optional<protocol::JoinRejectReason> reason) {
  return reason ? std::string(protocol::reason_name(*reason)) : "turned_away";
}

// The facts as the file writes them: check number -> passes, only for the checks known.
Json facts_json(const rules::JoinFacts& facts) {
  Json out = Json::object();
  for (const auto& rule : rules::join_order()) {
    if (auto passes = facts.passes(rule.check)) out[check_id(rule.check)] = *passes;
  }
  return out;
}

rules::JoinFacts facts_from(const Json& json) {
  rules::JoinFacts facts;
  for (const auto& rule : rules::join_order()) {
    const std::string id = check_id(rule.check);
    if (json.contains(id)) facts.set(rule.check, json.at(id).get<bool>());
  }
  return facts;
}

std::string outcome_text(rules::JoinOutcome outcome) {
  switch (outcome) {
    case rules::JoinOutcome::kAccept:
      return "accept";
    case rules::JoinOutcome::kReject:
      return "reject";
    case rules::JoinOutcome::kTurnAway:
      return "turn_away";
    case rules::JoinOutcome::kUndecided:
      return "undecided";
  }
  throw std::logic_error("unknown outcome");
}

Json decision_case(const std::string& name, const rules::JoinFacts& facts) {
  return replay_join_decision(Json{{"name", name}, {"facts", facts_json(facts)}});
}

Json answer_case(const std::string& name, const rules::JoinFacts& facts,
                 std::optional<std::uint16_t> reason) {
  return replay_join_answer(Json{{"name", name},
                                 {"known_facts", facts_json(facts)},
                                 {"logged", reason ? Json(*reason) : Json("JoinAccept")}});
}

}  // namespace

Json replay_join_decision(const Json& decision) {
  const rules::JoinFacts facts = facts_from(decision.at("facts"));
  const rules::JoinDecision d = rules::decide_join(facts, rules::JoinSubject{});
  Json out = {{"name", decision.at("name")}, {"facts", decision.at("facts")}};
  out["outcome"] = outcome_text(d.outcome);
  out["check"] = d.check ? Json(check_id(*d.check)) : Json(nullptr);
  out["reason"] = d.reason ? Json(static_cast<std::uint16_t>(*d.reason)) : Json(nullptr);
  return out;
}

Json replay_join_answer(const Json& answer) {
  const rules::JoinFacts known = facts_from(answer.at("known_facts"));
  const Json& logged = answer.at("logged");
  const auto reason =
      logged.is_number() ? std::optional<std::uint16_t>(logged.get<std::uint16_t>()) : std::nullopt;
  Json out = {
      {"name", answer.at("name")}, {"known_facts", answer.at("known_facts")}, {"logged", logged}};
  out["agrees"] = rules::check_join_answer(known, reason).ok();
  return out;
}

Json join_order_document() {
  Json order = Json::array();
  for (const auto& rule : rules::join_order()) {
    order.push_back(
        {{"check", check_id(rule.check)},
         {"name", rule.name},
         {"on_failure", reason_text(rule.reason)},
         {"reason", rule.reason ? Json(static_cast<std::uint16_t>(*rule.reason)) : Json(nullptr)},
         {"former_reason", rule.former_reason
                               ? Json(static_cast<std::uint16_t>(*rule.former_reason))
                               : Json(nullptr)},
         {"formerly_after",
          rule.formerly_after ? Json(check_id(*rule.formerly_after)) : Json(nullptr)}});
  }
  // The VS: every check known, each in turn the first to fail; then all passing.
  Json decisions = Json::array();
  for (const auto& failing : rules::join_order()) {
    rules::JoinFacts facts;
    for (const auto& rule : rules::join_order()) {
      if (rule.check == failing.check) break;
      facts.set(rule.check, true);
    }
    facts.set(failing.check, false);
    decisions.push_back(decision_case("check " + check_id(failing.check) + " fails", facts));
  }
  rules::JoinFacts all;
  for (const auto& rule : rules::join_order()) all.set(rule.check, true);
  decisions.push_back(decision_case("every check passes", all));
  // An unknown fact stops the decision there, even if a later one is known to fail.
  rules::JoinFacts gap;
  gap.set(JoinCheck::kDecodes, true).set(JoinCheck::kIdentityFree, false);
  decisions.push_back(decision_case("an unknown check before a failing one", gap));

  // The auditor: for each logged reason, facts that agree and facts that do not.
  Json answers = Json::array();
  for (const auto& rule : rules::join_order()) {
    if (!rule.reason) continue;
    const auto code = static_cast<std::uint16_t>(*rule.reason);
    const std::string what = reason_text(rule.reason);
    answers.push_back(answer_case(what + " with nothing known", rules::JoinFacts{}, code));
    rules::JoinFacts own_fails;
    own_fails.set(rule.check, false);
    answers.push_back(answer_case(what + " with its check known to fail", own_fails, code));
    rules::JoinFacts own_passes;
    own_passes.set(rule.check, true);
    answers.push_back(answer_case(what + " with its check known to pass", own_passes, code));
    if (rule.check != JoinCheck::kDecodes) {
      rules::JoinFacts earlier_fails;
      earlier_fails.set(JoinCheck::kSessionSignature, false);
      if (rule.check != JoinCheck::kSessionSignature) {
        answers.push_back(
            answer_case(what + " after a failing session-key signature", earlier_fails, code));
      }
    }
  }
  // Reasons an earlier vsd logged for checks this one turns away: its stores stay honest.
  for (const auto& rule : rules::join_order()) {
    if (!rule.former_reason) continue;
    const auto code = static_cast<std::uint16_t>(*rule.former_reason);
    const std::string what = "former " + reason_text(rule.former_reason);
    answers.push_back(answer_case(what + " with nothing known", rules::JoinFacts{}, code));
    rules::JoinFacts own_passes;
    own_passes.set(rule.check, true);
    answers.push_back(answer_case(what + " with its check known to pass", own_passes, code));
    rules::JoinFacts session_fails;
    session_fails.set(JoinCheck::kSessionSignature, false);
    answers.push_back(
        answer_case(what + " after a failing session-key signature", session_fails, code));
  }
  rules::JoinFacts fails;
  fails.set(JoinCheck::kSessionSignature, false);
  answers.push_back(
      answer_case("a JoinAccept with nothing known", rules::JoinFacts{}, std::nullopt));
  answers.push_back(
      answer_case("a JoinAccept for a failing session-key signature", fails, std::nullopt));
  answers.push_back(answer_case("an undefined reason", rules::JoinFacts{}, 999));

  return {
      {"description",
       "The VS's admission order (docs/PROTOCOL.md §8.3, rules/join_rules.h). `order` lists "
       "the checks, numbered from 1, with what a failure calls for (turned_away: nothing logged, "
       "nothing answered; former_reason: the code an earlier vsd logged instead, which an "
       "audit still accepts; formerly_after: the last check that vsd made before it, where it "
       "made it later). `decisions`: the VS's "
       "decision for the facts it knows (check number -> passes). `answers`: whether a "
       "logged answer (a JoinReject reason code, or JoinAccept) agrees with the facts an "
       "auditor can know from the log."},
      {"order", order},
      {"decisions", decisions},
      {"answers", answers}};
}

}  // namespace gsvs::test_samples
