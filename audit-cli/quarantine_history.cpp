#include "audit-cli/quarantine_history.h"

#include <algorithm>
#include <string>

#include "audit-cli/common.h"

namespace gsvs::audit {

namespace {

// One entry the quarantines rest on, in log order.
struct QuarantineStep {
  enum class Kind : std::uint8_t { kRevocation, kPolicy, kPardon, kCarried };
  Kind kind;
  const SessionFacts* session = nullptr;          // kRevocation
  std::uint32_t quarantine_ms = 0;                // kPolicy, kCarried
  std::optional<protocol::Pardon> pardon;         // kPardon
  std::optional<protocol::StateCarried> carried;  // kCarried: one part
};

}  // namespace

std::string_view quarantine_end_name(QuarantineEnd end) {
  switch (end) {
    case QuarantineEnd::kInForce:
      return "in_force";
    case QuarantineEnd::kPardoned:
      return "pardoned";
    case QuarantineEnd::kLapsed:
      return "lapsed";
    case QuarantineEnd::kRenewed:
      return "renewed";
  }
  return "unknown";
}

const QuarantineFate* QuarantineHistory::of_revocation(std::uint64_t revocation_seq) const {
  auto it = by_revocation.find(revocation_seq);
  return it == by_revocation.end() ? nullptr : &it->second;
}

Result<QuarantineHistory> build_quarantine_history(const storage::Log& log,
                                                   const StoreIndex& index) {
  std::map<std::uint64_t, QuarantineStep> steps;
  for (const auto& [id, session] : index.sessions) {
    if (session.revocation && rules::quarantines(session.revocation->message.reason)) {
      steps.emplace(session.revocation->seq,
                    QuarantineStep{QuarantineStep::Kind::kRevocation, &session, 0, std::nullopt,
                                   std::nullopt});
    }
  }
  QuarantineHistory history;
  storage::Filter own_statements;
  own_statements.session_id = 0;
  Status scanned = log.scan(own_statements, [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    if (entry.header.kind == protocol::MessageKind::kPolicyApplied) {
      if (auto applied = protocol::decode<protocol::PolicyApplied>(entry.message)) {
        steps.emplace(entry.header.seq,
                      QuarantineStep{QuarantineStep::Kind::kPolicy, nullptr,
                                     applied->policy.quarantine_ms, std::nullopt, std::nullopt});
      }
    } else if (entry.header.kind == protocol::MessageKind::kPardon) {
      if (auto pardon = protocol::decode<protocol::Pardon>(entry.message)) {
        steps.emplace(entry.header.seq,
                      QuarantineStep{QuarantineStep::Kind::kPardon, nullptr, 0, *pardon, {}});
      }
    } else if (entry.header.kind == protocol::MessageKind::kStateCarried) {
      if (auto carried = protocol::decode<protocol::StateCarried>(entry.message)) {
        steps.emplace(entry.header.seq,
                      QuarantineStep{QuarantineStep::Kind::kCarried, nullptr,
                                     carried->policy_quarantine_ms, std::nullopt, *carried});
      }
    }
    return true;
  });
  if (!scanned) return Error{scanned.error()};

  rules::QuarantineLedger ledger;
  for (const auto& [seq, step] : steps) {
    switch (step.kind) {
      case QuarantineStep::Kind::kPolicy:
        ledger.policy_applied(step.quarantine_ms);
        break;
      case QuarantineStep::Kind::kRevocation: {
        const SessionFacts& s = *step.session;
        const auto& identity = s.accept.gs_identity;
        const auto& rv = *s.revocation;
        // A quarantine of the identity that still holds is replaced: it ends renewed.
        if (auto running = ledger.quarantine_of(identity, rv.vs_time_ms)) {
          if (auto it = history.by_revocation.find(running->position);
              it != history.by_revocation.end()) {
            it->second.end = QuarantineEnd::kRenewed;
            it->second.renewed_by = seq;
          }
        }
        ledger.revoked(identity, s.session_id, rv.message.reason, rv.vs_time_ms, seq);
        if (auto begun = ledger.quarantine_of(identity, rv.vs_time_ms)) {
          QuarantineFate fate;
          fate.identity = identity;
          fate.quarantine = *begun;
          history.by_revocation.emplace(seq, std::move(fate));
        }
        break;
      }
      case QuarantineStep::Kind::kCarried: {
        // A quarantine a carry restates that the rows read do not show began before them (retired
        // segments, or a later start): known from here on the VS's word (PROTOCOL.md §8.16).
        const protocol::StateCarried& carried = *step.carried;
        auto in_force = ledger.carried_at(carried.vs_time_ms);
        const std::uint64_t reach = rules::carry_reach_ms(carried.vs_time_ms);
        for (const auto& q : carried.quarantines) {
          if (ledger.quarantine_of(q.gs_identity, reach)) continue;
          in_force.push_back(q);
          QuarantineFate fate;
          fate.identity = q.gs_identity;
          fate.quarantine = rules::as_quarantine(q);
          history.by_revocation.emplace(q.revocation_position, std::move(fate));
        }
        std::sort(in_force.begin(), in_force.end(),
                  [](const auto& a, const auto& b) { return a.gs_identity < b.gs_identity; });
        ledger.restate(in_force, step.quarantine_ms);
        break;
      }
      case QuarantineStep::Kind::kPardon: {
        PardonFacts facts{seq, *step.pardon, std::nullopt};
        facts.lifted = ledger.pardoned(step.pardon->gs_identity, step.pardon->vs_time_ms);
        if (facts.lifted) {
          auto it = history.by_revocation.find(facts.lifted->position);
          if (it != history.by_revocation.end()) {
            it->second.end = QuarantineEnd::kPardoned;
            it->second.pardon = facts;
          }
        }
        history.pardons.push_back(std::move(facts));
        break;
      }
    }
  }
  // A lapse is no entry: a quarantine whose term ran out before the log's last entry lapsed.
  if (index.entries > 0) {
    if (auto last = log.get(index.entries - 1)) history.log_end_vs_ms = last->header.vs_time_ms;
  }
  for (auto& [seq, fate] : history.by_revocation) {
    if (fate.end == QuarantineEnd::kInForce && !fate.quarantine.holds_at(history.log_end_vs_ms)) {
      fate.end = QuarantineEnd::kLapsed;
    }
  }
  return history;
}

std::string describe_fate(const QuarantineFate& fate) {
  const auto lapses = fate.quarantine.lapses_at_ms();
  switch (fate.end) {
    case QuarantineEnd::kPardoned:
      return "pardoned at " + format_utc(fate.pardon->message.vs_time_ms) + " (Pardon at entry " +
             std::to_string(fate.pardon->seq) + "): \"" + fate.pardon->message.reason + "\"";
    case QuarantineEnd::kLapsed:
      return "lapsed at " + format_utc(*lapses) + " (quarantine_ms " +
             std::to_string(fate.quarantine.quarantine_ms) + " after it began)";
    case QuarantineEnd::kRenewed:
      return "renewed by the quarantining Revocation at entry " + std::to_string(*fate.renewed_by);
    case QuarantineEnd::kInForce:
      return lapses ? "in force where the log ends; lapses at " + format_utc(*lapses)
                    : std::string("in force where the log ends, until pardoned");
  }
  return "unknown";
}

}  // namespace gsvs::audit
