// Start-up recovery: the numbering taken up where the store left it, and the sessions a previous
// run left live rebuilt from the log and suspended for their GSes to resume (PROTOCOL.md §8.15),
// or revoked.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>

#include "app/log_line.h"
#include "protocol/chains.h"
#include "rules/policy_rules.h"
#include "rules/session_replay.h"
#include "vsd/server_state.h"

namespace gsvs::vsd {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

// Session ids and revocation numbers stay below 2^63: the store keeps session ids in a signed
// 64-bit INTEGER (STORE.md §8), and the VS counts both up from what it finds at start-up.
constexpr std::uint64_t kMaxStoredId = std::uint64_t{1} << 63;

// A session a previous run left live, rebuilt from its entries in the log.
struct Rebuilt {
  SessionId id = 0;
  std::unique_ptr<rules::SessionRules> rules;
  // A refusal (or an accepted GsLeaving) the log holds no revocation for yet.
  std::optional<rules::Judgement> owed;
  std::vector<std::uint64_t> owed_evidence;
};

// A session's rules from the entry that starts it in this log: its JoinAccept, starting from what
// it carried (PROTOCOL.md §8.6), or the SessionAdopted that took it up from another node of the
// fleet with the positions that node left (§8.10).
Result<std::unique_ptr<rules::SessionRules>> rules_at_start(
    const storage::Entry& entry, const ServerState::CarriedBySession& carried) {
  if (entry.header.kind == MessageKind::kSessionAdopted) {
    auto adopted = decode<SessionAdopted>(entry.message);
    if (!adopted) return Error{"does not decode: " + adopted.error()};
    auto rules = rules::SessionRules::adopt(*adopted, entry.header.seq);
    if (!rules) return Error{rules.error()};
    return std::make_unique<rules::SessionRules>(std::move(rules).value());
  }
  auto accept = decode<JoinAccept>(entry.message);
  if (!accept) return Error{"does not decode: " + accept.error()};
  auto rules = std::make_unique<rules::SessionRules>(rules::SessionStart{
      *accept, entry.header.seq, entry.header.vs_time_ms, chains::message_hash(entry.message)});
  if (auto positions = carried.find(entry.header.session_id); positions != carried.end()) {
    rules->carry(positions->second);
  }
  return rules;
}

// Replays every session in `open_sessions` (session -> its JoinAccept's position) through its
// rules, as vsd judged it, in one pass over the log from the oldest of those JoinAccepts: the
// log has no index by session, and one scan per session would make a start with thousands of
// sessions left live read the log thousands of times. Each starts from what it carried
// (PROTOCOL.md §8.6), as it did live. Returned in session order.
Result<std::vector<Rebuilt>> rebuild_all(const storage::Log& log,
                                         const std::map<SessionId, std::uint64_t>& open_sessions,
                                         const ServerState::CarriedBySession& carried) {
  std::vector<Rebuilt> out;
  if (open_sessions.empty()) return out;
  struct Replaying {
    Rebuilt rebuilt;
    std::optional<rules::SessionReplay> replay;
  };
  std::map<SessionId, Replaying> replaying;
  std::uint64_t from_seq = std::numeric_limits<std::uint64_t>::max();
  for (const auto& [session, accept_seq] : open_sessions) {
    replaying[session].rebuilt.id = session;
    from_seq = std::min(from_seq, accept_seq);
  }
  std::optional<Error> bad;
  storage::Filter filter;
  filter.from_seq = from_seq;
  Status scanned = log.scan(filter, [&](const storage::Entry& entry) {
    auto it = replaying.find(entry.header.session_id);
    if (it == replaying.end()) return true;
    Replaying& r = it->second;
    const std::uint64_t accept_seq = open_sessions.at(entry.header.session_id);
    if (entry.header.seq == accept_seq) {
      auto started = rules_at_start(entry, carried);
      if (!started) {
        bad = Error{"session " + std::to_string(entry.header.session_id) + ": " +
                    std::string(kind_name(entry.header.kind)) + " at entry " +
                    std::to_string(accept_seq) + ": " + started.error()};
        return false;
      }
      r.rebuilt.rules = std::move(started).value();
      r.replay.emplace(*r.rebuilt.rules);
      return true;
    }
    if (r.replay) {
      r.replay->add(rules::LoggedEntry{entry.header.kind, entry.header.direction, entry.header.seq,
                                       entry.header.vs_time_ms, entry.message});
    }
    return true;
  });
  if (!scanned) return Error{scanned.error()};
  if (bad) return *bad;
  out.reserve(replaying.size());
  for (auto& [session, r] : replaying) {
    if (!r.rebuilt.rules) {
      return Error{"session " + std::to_string(session) + ": no JoinAccept at entry " +
                   std::to_string(open_sessions.at(session))};
    }
    if (r.replay->owed()) {
      r.rebuilt.owed = r.replay->owed();
      r.rebuilt.owed_evidence = *r.replay->owed_evidence();
    }
    out.push_back(std::move(r.rebuilt));
  }
  return out;
}

// Why a session left live is revoked at the start, and what the revocation cites.
Revocation start_revocation(const Rebuilt& session, bool keeps_none) {
  Revocation revocation;
  revocation.session_id = session.id;
  if (session.owed) {
    const rules::Judgement& owed = *session.owed;
    revocation.reason = static_cast<std::uint16_t>(owed.leaves ? RevocationReason::kGsLeft
                                                               : *rules::reason_for(owed.verdict));
    revocation.detail = truncate_utf8(
        owed.leaves ? std::string("the GS left cleanly; its revocation was not yet logged when the "
                                  "VS stopped")
                    : owed.why + " (found when the log was replayed at start-up)",
        kMaxDetailBytes);
    revocation.evidence = session.owed_evidence;
  } else {
    revocation.reason = static_cast<std::uint16_t>(RevocationReason::kVsShutdown);
    revocation.detail = keeps_none ? "the VS stopped while this session was live; resume_window_ms "
                                     "is 0, so no session is resumed across the restart"
                                   : "the VS stopped while this session was live";
    revocation.evidence = {session.rules->start().accept_position};
  }
  if (revocation.evidence.size() > kMaxEvidence) revocation.evidence.resize(kMaxEvidence);
  return revocation;
}

// What the quarantines of the log rest on (PROTOCOL.md §8.16), one entry each: a Revocation of
// a session of `identity`, a PolicyApplied (its quarantine_ms) or a Pardon of `identity`.
struct QuarantineEvent {
  enum class Kind : std::uint8_t { kRevocation, kPolicy, kPardon };
  Kind kind;
  PublicKey identity;
  SessionId session_id = 0;
  std::uint16_t reason = 0;
  std::uint64_t vs_time_ms = 0;
  std::uint32_t quarantine_ms = 0;
};

// Feeds `ledger` the events in log order: the quarantines in force at the log's end.
void replay_quarantines(const std::map<std::uint64_t, QuarantineEvent>& events,
                        rules::QuarantineLedger& ledger) {
  for (const auto& [position, event] : events) {
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

}  // namespace

Status ServerState::recover() {
  // Sessions live when the VS last stopped are suspended, for their GSes to resume within
  // resume_window_ms (PROTOCOL.md §8.15), or, where one cannot be, revoked now: their liveness
  // cannot be vouched for across the gap, so the VS fails closed instead of forgetting who was
  // late.
  std::map<SessionId, std::uint64_t> open_sessions;  // session -> JoinAccept position
  std::map<SessionId, PublicKey> identity_of;        // every session's GS identity
  // Continuity (§8.6): the sessions that ended within the longest window a VS accepts, whose
  // players' last notarized positions a join may still start from.
  const std::uint64_t now_ms = clock.now_ms();
  const std::uint64_t continuity_since =
      now_ms > rules::kMaxContinuityWindowMs ? now_ms - rules::kMaxContinuityWindowMs : 0;
  std::map<SessionId, EndedSession> ended_recently;
  std::uint64_t max_session = 0;
  std::uint64_t max_revocation = 0;
  std::map<std::uint64_t, QuarantineEvent> quarantine_events;  // by log position
  auto reader = storage::Log::open(config.store, storage::OpenMode::kReadOnly);
  if (!reader) return Error{reader.error()};
  std::optional<Error> out_of_range;
  // Only what this VS issued: a GS can send a frame of any kind, which is logged as received
  // evidence and must never open, close or number a session here.
  // A session starts at its JoinAccept, or at the SessionAdopted that took it up from another
  // node of a fleet (§8.10).
  auto on_accept = [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    if (auto accept = session_start_accept(entry.header.kind, entry.message)) {
      if (accept->session_id == 0 || accept->session_id >= kMaxStoredId) {
        out_of_range = Error{std::string(kind_name(entry.header.kind)) + " at entry " +
                             std::to_string(entry.header.seq) + " has session_id " +
                             std::to_string(accept->session_id) + ", outside 1.." +
                             std::to_string(kMaxStoredId - 1)};
        return false;
      }
      open_sessions[accept->session_id] = entry.header.seq;
      identity_of[accept->session_id] = accept->gs_identity;
      max_session = std::max(max_session, accept->session_id);
    }
    return true;
  };
  auto on_revocation = [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    if (auto revocation = decode<Revocation>(entry.message)) {
      if (revocation->revocation_seq >= kMaxStoredId) {
        out_of_range = Error{"Revocation at entry " + std::to_string(entry.header.seq) +
                             " has revocation_seq " + std::to_string(revocation->revocation_seq) +
                             ", outside 1.." + std::to_string(kMaxStoredId - 1)};
        return false;
      }
      // A plain value and a flag rather than an optional: a Release build of g++ 12 warned that
      // the optional might be read uninitialised (-Wmaybe-uninitialized), a false alarm.
      const auto open = open_sessions.find(revocation->session_id);
      const bool accepted = open != open_sessions.end();
      const std::uint64_t accept_seq = accepted ? open->second : 0;
      if (accepted) open_sessions.erase(open);
      // Quarantine is derived from the log (§8.16): replayed below, in log order.
      if (auto identity = identity_of.find(revocation->session_id); identity != identity_of.end()) {
        if (rules::quarantines(revocation->reason)) {
          quarantine_events.emplace(entry.header.seq,
                                    QuarantineEvent{QuarantineEvent::Kind::kRevocation,
                                                    identity->second, revocation->session_id,
                                                    revocation->reason, revocation->vs_time_ms, 0});
        }
        if (revocation->vs_time_ms >= continuity_since && accepted) {
          ended_recently[revocation->session_id] = EndedSession{accept_seq, entry.header.seq};
        }
      }
      max_revocation = std::max(max_revocation, revocation->revocation_seq);
    }
    return true;
  };
  // Two scans by kind, each served by the store's (kind, seq) index: the start reads the joins
  // and revocations, not the whole log (docs/STORE.md §10.4). A session's Revocation always
  // follows its JoinAccept, so all accepts first, then all revocations, ends in the same state.
  storage::Filter accepts;
  accepts.kind = MessageKind::kJoinAccept;
  Status scanned = (*reader)->scan(accepts, on_accept);
  if (scanned && !out_of_range) {
    storage::Filter adoptions;
    adoptions.kind = MessageKind::kSessionAdopted;
    scanned = (*reader)->scan(adoptions, on_accept);
  }
  if (scanned && !out_of_range) {
    storage::Filter revocations;
    revocations.kind = MessageKind::kRevocation;
    scanned = (*reader)->scan(revocations, on_revocation);
  }
  // Policies are numbered on from the log's last PolicyApplied (§8.17). The VS's own statements
  // (session 0) in one pass: the policies, whose quarantine_ms a quarantine begun under them
  // keeps, and the operator's Pardons (§8.16).
  std::uint64_t max_policy = 0;
  if (scanned && !out_of_range) {
    storage::Filter own_statements;
    own_statements.session_id = 0;
    scanned = (*reader)->scan(own_statements, [&](const storage::Entry& entry) {
      if (entry.header.direction != chains::Direction::kIssued) return true;
      if (entry.header.kind == MessageKind::kPolicyApplied) {
        if (auto applied = decode<PolicyApplied>(entry.message)) {
          max_policy = std::max(max_policy, applied->policy_seq);
          quarantine_events.emplace(
              entry.header.seq,
              QuarantineEvent{
                  QuarantineEvent::Kind::kPolicy, {}, 0, 0, 0, applied->policy.quarantine_ms});
        }
      } else if (entry.header.kind == MessageKind::kPardon) {
        if (auto pardon = decode<Pardon>(entry.message)) {
          quarantine_events.emplace(
              entry.header.seq, QuarantineEvent{QuarantineEvent::Kind::kPardon, pardon->gs_identity,
                                                0, 0, pardon->vs_time_ms, 0});
        }
      }
      return true;
    });
  }
  if (!scanned) return scanned;
  replay_quarantines(quarantine_events, quarantine);
  if (max_policy >= kMaxStoredId) {
    return Error{
        "store " + storage::printable_store(config.store) + ": a PolicyApplied has policy_seq " +
        std::to_string(max_policy) + ", outside 1.." + std::to_string(kMaxStoredId - 1) +
        "; hand this store to an investigator ('audit-cli verify') and start on a new one"};
  }
  next_policy_seq = max_policy + 1;
  if (out_of_range) {
    return Error{"store " + storage::printable_store(config.store) + ": " + out_of_range->message +
                 "; the VS cannot number what comes next. Hand this store to an investigator "
                 "('audit-cli verify') and start on a new one"};
  }
  auto carried = rebuild_continuity(**reader, ended_recently, open_sessions, continuity_since);
  if (!carried) {
    return Error{"store " + storage::printable_store(config.store) +
                 ": the positions of the sessions that ended within " +
                 std::to_string(rules::kMaxContinuityWindowMs) +
                 " ms cannot be read from the log: " + carried.error()};
  }
  next_session_id.store(max_session + 1);
  next_revocation_seq.store(max_revocation + 1);
  auto rebuilt = rebuild_all(**reader, open_sessions, *carried);
  if (!rebuilt) {
    return Error{"store " + storage::printable_store(config.store) +
                 ": a session left live cannot be rebuilt from the log: " + rebuilt.error()};
  }
  std::vector<Rebuilt> left_live = std::move(rebuilt).value();
  const bool keeps_none = config.resume_window_ms == 0;
  // In a fleet, a session kept for a resume claims its identity again; one that another node took
  // up, or whose identity another node claimed, while this one was down is revoked at the start
  // (§8.10), with what happened as its detail.
  std::set<SessionId> claimed;
  std::map<SessionId, std::string> taken_in_fleet;
  if (fleet) {
    auto adopted = fleet->adopted_from_here();
    if (!adopted) return Error{adopted.error()};
    for (const auto& session : left_live) {
      if (session.owed) continue;
      // Named even when nothing is kept: the revocation says where the session went on.
      if (auto by = adopted->find(session.id); by != adopted->end()) {
        taken_in_fleet[session.id] = "node " + by->second + " of its fleet took it up";
        continue;
      }
      if (keeps_none) continue;
      auto claim = fleet->claim(session.rules->accept().gs_identity, session.id);
      if (!claim) return Error{claim.error()};
      if (claim->granted) {
        claimed.insert(session.id);
      } else {
        taken_in_fleet[session.id] =
            "node " + claim->holder + " of its fleet has claimed the GS identity since";
      }
    }
  }
  // The VsStart first, then the revocations of what is not kept, in one submit at the head: the
  // log shows the start before anything this run decides.
  const std::uint64_t start_ms = clock.now_ms();
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t size, const Hash32&) {
    std::vector<storage::PendingEntry> entries;
    VsStart start;
    start.log_size = size;
    start.vs_time_ms = start_ms;
    start.resume_window_ms = config.resume_window_ms;
    entries.push_back(pending(MessageKind::kVsStart, chains::Direction::kIssued, 0, start_ms,
                              sign_and_encode(start)));
    std::lock_guard lock(mutex);
    // The policy in force from here on (§8.17), right after the VsStart.
    const Policy start_policy = policy_of(config);
    entries.push_back(apply_policy_at_head(start_policy, size + 1, start_ms));
    for (auto& session : left_live) {
      const JoinAccept& accept = session.rules->accept();
      known_sessions[session.id] = KnownSession{accept.gs_identity, accept.session_key,
                                                KnownSession::State::kSuspended, accept.sw_hash};
      // A session the start's policy no longer allows is not kept for a resume.
      if (auto bar = rules::session_barred(start_policy, accept.gs_identity, accept.sw_hash);
          bar && !session.owed) {
        // Given back before the Revocation is placed: policy_withdrawn begins no quarantine, so
        // no other node can miss one by taking the identity now.
        if (claimed.contains(session.id)) release_in_fleet(accept.gs_identity);
        entries.push_back(
            withdraw_suspended(session.id, *session.rules,
                               rules::describe_bar(*bar, accept.gs_identity, accept.sw_hash) +
                                   " by policy #" + std::to_string(policy->seq) + " at the start",
                               start_ms, size + entries.size()));
        continue;
      }
      const auto taken = taken_in_fleet.find(session.id);
      if (!keeps_none && !session.owed && taken == taken_in_fleet.end()) {
        session.rules->suspend(start_ms, config.resume_window_ms, size);
        busy_identities[accept.gs_identity] = session.id;
        spdlog::info(
            "session {}: left live by the previous run; rebuilt from the log ({} "
            "receipts, {} tickets, gs_counter {}), resumable for {} ms",
            session.id, session.rules->receipts_issued(), session.rules->tickets_issued(),
            session.rules->last_counter(), config.resume_window_ms);
        suspended[session.id] = std::move(session.rules);
        continue;
      }
      Revocation revocation = start_revocation(session, keeps_none);
      if (taken != taken_in_fleet.end()) {
        revocation.detail = truncate_utf8(
            "the VS stopped while this session was live, and " + taken->second, kMaxDetailBytes);
      }
      revocation.revocation_seq = next_revocation_seq++;
      revocation.vs_time_ms = start_ms;
      // A revocation the log owed (a crash after logging the offending message) quarantines as
      // it would have live.
      revoked_at_head(revocation, accept.gs_identity, size + entries.size());
      remember_positions(*session.rules, start_ms);
      metrics.revocations.inc(static_cast<RevocationReason>(revocation.reason));
      spdlog::warn("session {}: revoked at start-up: {}: {}", session.id,
                   reason_name(static_cast<RevocationReason>(revocation.reason)),
                   app::log_text(revocation.detail));
      entries.push_back(pending(MessageKind::kRevocation, chains::Direction::kIssued, session.id,
                                start_ms, sign_and_encode(revocation)));
    }
    return entries;
  };
  auto placed = writer->submit_at_head(build, [](const Status&) {});
  if (!placed) return Error{placed.error()};
  Status flushed = writer->flush();
  if (!flushed) return flushed;
  // Once the start's revocations are placed: the quarantines they begin are in the fleet's
  // database before the claims of the sessions they end are deleted (§8.16 "In a fleet").
  if (Status settled = settle_fleet_at_start(start_ms); !settled) return settled;
  vs_start_position = placed->front().header.seq;
  vs_start_ms = start_ms;
  if (!suspended.empty()) {
    resume_window_timer.expires_after(std::chrono::milliseconds(config.resume_window_ms));
    resume_window_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->expire_suspended();
    });
  }
  last_checkpoint_size = 0;
  last_checkpoint_ms = clock.now_ms();
  return {};
}

void ServerState::expire_suspended() {
  {
    std::lock_guard lock(mutex);
    if (suspended.empty()) return;
  }
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t size, const Hash32&) {
    std::vector<storage::PendingEntry> entries;
    std::lock_guard lock(mutex);
    const std::uint64_t now = clock.now_ms();
    for (auto it = suspended.begin(); it != suspended.end();) {
      const auto& [session, rules] = *it;
      // A session taken from a lost connection of this run owes heartbeats, not a resume within
      // the window: expire_at_heartbeat_deadline ends it.
      if (!rules->suspended()) {
        ++it;
        continue;
      }
      Revocation revocation;
      revocation.session_id = session;
      revocation.revocation_seq = next_revocation_seq.fetch_add(1);
      revocation.vs_time_ms = now;
      revocation.reason = static_cast<std::uint16_t>(RevocationReason::kVsShutdown);
      revocation.detail =
          "the VS restarted while this session was live, and its GS did not "
          "resume it within resume_window_ms (" +
          std::to_string(config.resume_window_ms) + " ms)";
      revocation.evidence = {rules->start().accept_position, vs_start_position};
      revoked_at_head(revocation, rules->accept().gs_identity, size + entries.size());
      remember_positions(*rules, now);
      metrics.revocations.inc(RevocationReason::kVsShutdown);
      spdlog::warn("session {}: revoked: vs_shutdown: not resumed within {} ms of the start",
                   session, config.resume_window_ms);
      entries.push_back(pending(MessageKind::kRevocation, chains::Direction::kIssued, session, now,
                                sign_and_encode(revocation)));
      it = suspended.erase(it);
    }
    return entries;
  };
  const std::string what = "revoking the sessions not resumed";
  auto placed = writer->submit_at_head(build, stop_if_not_durable(what));
  if (!placed) store_failed(what, placed.error());
}

}  // namespace gsvs::vsd
