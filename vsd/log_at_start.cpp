#include "vsd/log_at_start.h"

#include <algorithm>
#include <vector>

#include "protocol/chains.h"
#include "rules/continuity.h"

namespace gsvs::vsd {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

// Session ids, revocation and policy numbers stay below 2^63: the store keeps session ids in a
// signed 64-bit INTEGER (STORE.md §8), and the VS counts each up from what it finds at start-up.
constexpr std::uint64_t kMaxStoredId = std::uint64_t{1} << 63;

Error out_of_range(std::string_view kind, std::uint64_t seq, std::string_view field,
                   std::uint64_t value) {
  return Error{std::string(kind) + " at entry " + std::to_string(seq) + " has " +
               std::string(field) + " " + std::to_string(value) + ", outside 1.." +
               std::to_string(kMaxStoredId - 1)};
}

// The highest value, and of the entries holding it the latest (the least a start must keep).
void raise(LogAtStart::Highest& highest, std::uint64_t value, std::uint64_t position) {
  if (value > highest.value || (value == highest.value && position > highest.position)) {
    highest = {value, position};
  }
}

// Gathers a carry's parts as the scan of session 0 meets them, in log order: part 0 begins one,
// each next part must be the next entry with the same fields (same_carry), and the last
// completes it. A carry with a part missing, out of place or not the VS's is no carry.
class CarryReader {
 public:
  void add(std::uint64_t seq, StateCarried part) {
    const std::uint16_t number = part.part;
    if (number == 0) {
      building_ = LogAtStart::Carry{seq, std::move(part)};
    } else if (building_ && number == parts_read_ && seq == building_->position + number &&
               same_carry(part, building_->state)) {
      auto& quarantines = building_->state.quarantines;
      quarantines.insert(quarantines.end(), part.quarantines.begin(), part.quarantines.end());
    } else {
      building_.reset();
      return;
    }
    parts_read_ = number + 1;
    if (parts_read_ == building_->state.parts) {
      latest_ = std::move(building_);
      building_.reset();
    }
  }
  std::optional<LogAtStart::Carry>& latest() { return latest_; }

 private:
  std::optional<LogAtStart::Carry> building_;
  unsigned parts_read_ = 0;
  std::optional<LogAtStart::Carry> latest_;
};

}  // namespace

Result<LogAtStart> read_log_at_start(const storage::Log& log, const std::string& path,
                                     std::uint64_t now_ms) {
  LogAtStart out;
  out.continuity_since_ms =
      now_ms > rules::kMaxContinuityWindowMs ? now_ms - rules::kMaxContinuityWindowMs : 0;
  std::optional<Error> bad_number;
  // A session starts at its JoinAccept, or at the SessionAdopted that took it up from another
  // node of a fleet (§8.10).
  auto on_start = [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    if (auto accept = session_start_accept(entry.header.kind, entry.message)) {
      if (accept->session_id == 0 || accept->session_id >= kMaxStoredId) {
        bad_number = out_of_range(kind_name(entry.header.kind), entry.header.seq, "session_id",
                                  accept->session_id);
        return false;
      }
      out.open_sessions[accept->session_id] = entry.header.seq;
      out.start_of[accept->session_id] = entry.header.seq;
      out.identity_of[accept->session_id] = accept->gs_identity;
      raise(out.session, accept->session_id, entry.header.seq);
    }
    return true;
  };
  auto on_revocation = [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    if (auto revocation = decode<Revocation>(entry.message)) {
      if (revocation->revocation_seq >= kMaxStoredId) {
        bad_number = out_of_range("Revocation", entry.header.seq, "revocation_seq",
                                  revocation->revocation_seq);
        return false;
      }
      const auto open = out.open_sessions.find(revocation->session_id);
      const bool accepted = open != out.open_sessions.end();
      const std::uint64_t accept_seq = accepted ? open->second : 0;
      if (accepted) out.open_sessions.erase(open);
      if (auto identity = out.identity_of.find(revocation->session_id);
          identity != out.identity_of.end()) {
        if (rules::quarantines(revocation->reason)) {
          out.quarantine_events.emplace(
              entry.header.seq, QuarantineEvent{QuarantineEvent::Kind::kRevocation,
                                                identity->second, revocation->session_id,
                                                revocation->reason, revocation->vs_time_ms, 0});
        }
        if (revocation->vs_time_ms >= out.continuity_since_ms && accepted) {
          out.ended_recently[revocation->session_id] = EndedSession{accept_seq, entry.header.seq};
        }
      }
      raise(out.revocation, revocation->revocation_seq, entry.header.seq);
    }
    return true;
  };
  // Scans by kind, each served by the store's (kind, seq) index: a start reads the joins and
  // revocations, not the whole log (docs/STORE.md §10.4). A session's Revocation always follows
  // its start, so all starts first, then all revocations, ends in the same state.
  Status scanned = Status::success();
  for (const MessageKind kind : {MessageKind::kJoinAccept, MessageKind::kSessionAdopted}) {
    if (!scanned || bad_number) break;
    storage::Filter starts;
    starts.kind = kind;
    scanned = log.scan(starts, on_start);
  }
  if (scanned && !bad_number) {
    storage::Filter revocations;
    revocations.kind = MessageKind::kRevocation;
    scanned = log.scan(revocations, on_revocation);
  }
  // The VS's own statements (session 0) in one pass: the policies, numbered on from the last
  // (§8.17), whose quarantine_ms a quarantine begun under them keeps, the operator's Pardons
  // (§8.16) and the carries that restate them.
  CarryReader carries;
  if (scanned && !bad_number) {
    storage::Filter own_statements;
    own_statements.session_id = 0;
    scanned = log.scan(own_statements, [&](const storage::Entry& entry) {
      if (entry.header.direction != chains::Direction::kIssued) return true;
      if (entry.header.kind == MessageKind::kPolicyApplied) {
        if (auto applied = decode<PolicyApplied>(entry.message)) {
          if (applied->policy_seq >= kMaxStoredId) {
            bad_number =
                out_of_range("PolicyApplied", entry.header.seq, "policy_seq", applied->policy_seq);
            return false;
          }
          raise(out.policy, applied->policy_seq, entry.header.seq);
          out.quarantine_events.emplace(
              entry.header.seq,
              QuarantineEvent{
                  QuarantineEvent::Kind::kPolicy, {}, 0, 0, 0, applied->policy.quarantine_ms});
        }
      } else if (entry.header.kind == MessageKind::kStateCarried) {
        if (auto carried = decode<StateCarried>(entry.message)) {
          carries.add(entry.header.seq, std::move(*carried));
        }
      } else if (entry.header.kind == MessageKind::kPardon) {
        if (auto pardon = decode<Pardon>(entry.message)) {
          out.quarantine_events.emplace(
              entry.header.seq, QuarantineEvent{QuarantineEvent::Kind::kPardon, pardon->gs_identity,
                                                0, 0, pardon->vs_time_ms, 0});
        }
      }
      return true;
    });
  }
  if (!scanned) return scanned.failure();
  if (auto& carry = carries.latest(); carry && !bad_number) {
    const StateCarried& state = carry->state;
    const std::pair<std::string_view, std::uint64_t> numbers[] = {
        {"session_id_high", state.session_id_high},
        {"revocation_seq_high", state.revocation_seq_high},
        {"policy_seq", state.policy_seq}};
    for (const auto& [field, value] : numbers) {
      if (value >= kMaxStoredId)
        bad_number = out_of_range("StateCarried", carry->position, field, value);
    }
    raise(out.session, state.session_id_high, carry->position);
    raise(out.revocation, state.revocation_seq_high, carry->position);
    raise(out.policy, state.policy_seq, carry->position);
    // What the carry restates, it stands for: the quarantine events before it go.
    out.quarantine_events.erase(out.quarantine_events.begin(),
                                out.quarantine_events.lower_bound(carry->position));
    out.carry = std::move(carry);
  }
  if (bad_number) {
    return Error{"store " + storage::printable_store(path) + ": " + bad_number->message +
                 "; the VS cannot number what comes next. Hand this store to an investigator "
                 "('audit-cli verify') and start on a new one"};
  }
  return out;
}

void replay_quarantines(const LogAtStart& log, rules::QuarantineLedger& ledger) {
  if (log.carry) {
    ledger.restate(log.carry->state.quarantines, log.carry->state.policy_quarantine_ms);
  }
  for (const auto& [position, event] : log.quarantine_events) {
    switch (event.kind) {
      case QuarantineEvent::Kind::kRevocation:
        ledger.revoked(event.identity, event.session_id, event.reason, event.vs_time_ms, position);
        break;
      case QuarantineEvent::Kind::kPolicy:
        ledger.policy_applied(event.quarantine_ms);
        break;
      case QuarantineEvent::Kind::kPardon:
        ledger.pardoned(event.identity, event.vs_time_ms);
        break;
    }
  }
}

std::optional<OldestRead> oldest_read_at_start(const LogAtStart& log, std::uint64_t now_ms) {
  std::optional<OldestRead> oldest;
  auto read_for = [&](std::uint64_t seq, const std::string& why) {
    if (!oldest || seq < oldest->seq) oldest = OldestRead{seq, why};
  };
  // The latest carry, which stands for what it restates (named first: the numbers often share
  // its position).
  if (log.carry) {
    read_for(log.carry->position, "the state carried forward (StateCarried at entry " +
                                      std::to_string(log.carry->position) + ")");
  }
  // The numbering a start takes up.
  if (log.session.value != 0) {
    read_for(log.session.position,
             "the highest session id (" + std::to_string(log.session.value) + ")");
  }
  if (log.revocation.value != 0) {
    read_for(log.revocation.position,
             "the highest revocation_seq (" + std::to_string(log.revocation.value) + ")");
  }
  if (log.policy.value != 0) {
    read_for(log.policy.position,
             "the policy in force (policy_seq " + std::to_string(log.policy.value) + ")");
  }
  // The sessions a start rebuilds, from their start on.
  for (const auto& [session, start] : log.open_sessions) {
    read_for(start, "the start of session " + std::to_string(session) + ", still live");
  }
  for (const auto& [session, ended] : log.ended_recently) {
    read_for(ended.accept_seq, "the start of session " + std::to_string(session) +
                                   ", ended within the continuity window");
  }
  // Each quarantine in force that began after it: its Revocation, the start of the session it
  // ended (the identity) and the PolicyApplied in force there (its term).
  rules::QuarantineLedger ledger;
  replay_quarantines(log, ledger);
  for (const auto& [identity, quarantine] : ledger.holding_at(now_ms)) {
    if (log.carry && quarantine.position < log.carry->position) continue;
    const std::string what = "the quarantine of session " + std::to_string(quarantine.session_id) +
                             " (" + short_hex(identity) + "), in force";
    read_for(quarantine.position, what);
    if (auto start = log.start_of.find(quarantine.session_id); start != log.start_of.end()) {
      read_for(start->second, what);
    }
    for (auto it = log.quarantine_events.lower_bound(quarantine.position);
         it != log.quarantine_events.begin();) {
      --it;
      if (it->second.kind == QuarantineEvent::Kind::kPolicy) {
        read_for(it->first, what);
        break;
      }
    }
  }
  return oldest;
}

}  // namespace gsvs::vsd
