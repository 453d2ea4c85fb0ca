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
#include "rules/version.h"
#include "vsd/log_at_start.h"
#include "vsd/server_state.h"

namespace gsvs::vsd {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

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

}  // namespace

Status ServerState::recover() {
  // Sessions live when the VS last stopped are suspended, for their GSes to resume within
  // resume_window_ms (PROTOCOL.md §8.15), or, where one cannot be, revoked now: their liveness
  // cannot be vouched for across the gap, so the VS fails closed instead of forgetting who was
  // late.
  const std::uint64_t now_ms = clock.now_ms();
  auto reader = storage::Log::open(config.store, storage::OpenMode::kReadOnly);
  if (!reader) return Error{reader.error()};
  auto read = read_log_at_start(**reader, config.store, now_ms);
  if (!read) return read.failure();
  LogAtStart& log = *read;
  replay_quarantines(log, quarantine);
  next_policy_seq = log.policy.value + 1;
  auto carried =
      rebuild_continuity(**reader, log.ended_recently, log.open_sessions, log.continuity_since_ms);
  if (!carried) {
    return Error{"store " + storage::printable_store(config.store) +
                 ": the positions of the sessions that ended within " +
                 std::to_string(rules::kMaxContinuityWindowMs) +
                 " ms cannot be read from the log: " + carried.error()};
  }
  next_session_id.store(log.session.value + 1);
  highest_session_logged = log.session.value;
  next_revocation_seq.store(log.revocation.value + 1);
  auto rebuilt = rebuild_all(**reader, log.open_sessions, *carried);
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
    start.rules_version = rules::kRulesVersion;
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
  last_carry_size = 0;
  last_carry_ms = last_checkpoint_ms;
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
