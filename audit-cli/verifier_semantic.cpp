// The verifier's semantic stage, once a batch's signatures are in: joins and their answers in
// the order of rules/join_rules.h, session ids and live identities, each session through
// SessionModel, revocations, and liveness at every Checkpoint.
#include <algorithm>
#include <string>
#include <utility>

#include "audit-cli/verifier_pipeline.h"
#include "rules/policy_rules.h"
#include "rules/version.h"

namespace gsvs::audit::detail {

namespace {

// The entry as its session's model sees it.
ModelInput input_of(const Item& item) {
  return {.entry = &item.entry,
          .message = item.message ? &*item.message : nullptr,
          .decode_error = item.decode_error,
          .signatures = std::span<const SigState>(item.sigs.data(), item.sig_count),
          .position = item.position};
}

}  // namespace

void Verifier::check_vs_signature(const Item& item) {
  if (!protocol::vs_signed(item.entry.header.kind) || !item.message) return;
  if (item.sigs[0] == SigState::kValid) {
    ++vs_signatures_valid_;
  } else if (item.sigs[0] == SigState::kInvalid) {
    ++vs_signatures_invalid_;
    sink_.add(finding(item, check::kSignature,
                      "a valid VS signature (key " + short_hex(result_.vs_key->key) + "...)",
                      "a signature that does not verify",
                      "the entry is not what the VS signed: forged or edited"));
  }
}

void Verifier::stop_replay(const Item& item) {
  replay_stopped_ = true;
  unanswered_join_.reset();  // its answer may be among the rows that cannot be read
  Finding f =
      finding_at(item.entry.header.seq, check::kNotFollowed,
                 "every session followed to the end of the log", "the protocol replay stops here",
                 "a session cannot be followed past entries that cannot be read: what it "
                 "would owe or lack there is unknown. Entry hashes, links and VS signatures "
                 "after them are still checked; verify a copy or an archive that holds the "
                 "entries for the rest");
  f.severity = Severity::kWarning;
  sink_.add(std::move(f));
}

void Verifier::judge(Item& item) {
  for (auto& f : item.early) sink_.add(std::move(f));
  item.early.clear();
  if (item.damaged && !replay_stopped_) stop_replay(item);
  const auto& h = item.entry.header;
  // A JoinRequest and its answer are logged in one submit, so in consecutive entries (§8.3).
  std::optional<PendingJoin> join = std::exchange(unanswered_join_, std::nullopt);
  const bool an_answer = item.readable && h.direction == chains::Direction::kIssued &&
                         (h.kind == MessageKind::kJoinAccept || h.kind == MessageKind::kJoinReject);
  if (join && !an_answer) {
    unanswered(*join, &item);
    join.reset();
  }
  if (carry_ && !(item.readable && h.kind == MessageKind::kStateCarried)) {
    carry_cut(h, "entry " + std::to_string(item.position) + " in its place");
  }
  if (!item.readable) return;
  if (replay_stopped_) {
    if (h.direction == chains::Direction::kIssued) check_vs_signature(item);
    return;
  }
  if (h.direction == chains::Direction::kReceived &&
      vs_logged(h.kind) != chains::Direction::kReceived) {
    // A frame of a kind the GS may not send, sent in its session: not a VS statement; the
    // session owes a malformed_message revocation for it.
    to_session(item);
    return;
  }

  check_vs_signature(item);
  // Entries that belong to no session.
  const auto expect_session_zero = [&](std::string_view what) {
    if (h.session_id != 0) {
      sink_.add(finding(item, check::kSession, "session_id 0 for " + std::string(what),
                        "session_id " + std::to_string(h.session_id)));
    }
  };
  switch (h.kind) {
    case MessageKind::kJoinRequest:
      on_join_request(item);
      return;
    case MessageKind::kGsResume:
      // Accepted, it is logged in its session; refused, under session 0 with its JoinReject
      // next, like a rejected join (PROTOCOL.md §8.15).
      if (h.session_id != 0) break;
      if (item.message) {
        PendingJoin refused;
        refused.seq = h.seq;
        refused.hash = chains::message_hash(item.entry.message);
        refused.resume = std::get<protocol::GsResume>(*item.message);
        unanswered_join_ = std::move(refused);
      }
      return;
    case MessageKind::kVsStart:
      expect_session_zero("a VsStart");
      // A new run's clock starts at the newest entry's time, which may be a received message's,
      // stamped before the carry: its Checkpoints are not held to the carry's time.
      carry_time_to_pass_.reset();
      // Every session live here is suspended for the start's resume window.
      if (item.message) {
        const auto& start = std::get<protocol::VsStart>(*item.message);
        on_rules_version(item, start.rules_version);
        for (auto& [id, model] : sessions_) model->on_vs_start(start, item.position, sink_);
      }
      return;
    case MessageKind::kPolicyApplied:
      expect_session_zero("a PolicyApplied");
      if (item.message) on_policy_applied(item, std::get<protocol::PolicyApplied>(*item.message));
      return;
    case MessageKind::kStateCarried:
      expect_session_zero("a StateCarried");
      if (item.message) on_state_carried(item, std::get<protocol::StateCarried>(*item.message));
      return;
    case MessageKind::kPardon:
      expect_session_zero("a Pardon");
      if (item.message) on_pardon(item, std::get<protocol::Pardon>(*item.message));
      return;
    case MessageKind::kJoinAccept:
      if (item.message) on_join_accept(item, std::get<protocol::JoinAccept>(*item.message), join);
      return;
    case MessageKind::kSessionAdopted:
      if (item.message) on_session_adopted(item, std::get<protocol::SessionAdopted>(*item.message));
      return;
    case MessageKind::kJoinReject:
      ++result_.stats.rejected_joins;
      expect_session_zero("a rejected join");
      if (item.message) on_join_reject(item, std::get<protocol::JoinReject>(*item.message), join);
      return;
    case MessageKind::kCheckpoint:
      expect_session_zero("a Checkpoint");
      if (carry_time_to_pass_) {
        // Both are signed at the log head, by one clock that never goes back (§8.13).
        if (h.vs_time_ms < *carry_time_to_pass_) {
          sink_.add(finding(item, check::kStateCarried,
                            "a Checkpoint at or after the StateCarried before it, at " +
                                std::to_string(*carry_time_to_pass_) + " ms",
                            "vs_time_ms " + std::to_string(h.vs_time_ms),
                            "a carry dated ahead of its place could leave out quarantines that "
                            "still hold"));
        }
        carry_time_to_pass_.reset();
      }
      check_silent_sessions(item);
      return;
    case MessageKind::kVsChallenge:
      sink_.add(finding(item, check::kJoin, "no VsChallenge: the VS does not log it",
                        "a VsChallenge", "PROTOCOL.md §8.3"));
      return;
    case MessageKind::kRevocation:
      ++result_.stats.revocations;
      if (item.message) on_revocation(item, std::get<protocol::Revocation>(*item.message));
      return;
    case MessageKind::kProtectedReceipt:
      ++result_.stats.receipts;
      break;
    case MessageKind::kPlayTicket:
      ++result_.stats.tickets;
      break;
    case MessageKind::kHeartbeat:
      ++result_.stats.heartbeats;
      break;
    case MessageKind::kTranscriptDigest:
      ++result_.stats.digests;
      break;
    default:
      break;
  }
  to_session(item);
}

void Verifier::check_silent_sessions(const Item& checkpoint) {
  const std::uint64_t now = checkpoint.entry.header.vs_time_ms;
  while (!deadlines_.empty()) {
    const auto [pushed, id] = deadlines_.top();
    auto it = sessions_.find(id);
    const SessionModel* model = it == sessions_.end() ? nullptr : it->second.get();
    // The VS's watchdog may be late: it is allowed the longer of its two timeouts more.
    const std::uint64_t grace =
        model ? std::max(model->accept().heartbeat_timeout_ms, model->accept().digest_timeout_ms)
              : 0;
    if (pushed + grace >= now) return;
    deadlines_.pop();
    if (model == nullptr || model->revoked()) continue;
    // The digest deadline of a session with players may come first (§8.5 "Digests required").
    const auto digests_due = model->digest_deadline_ms();
    const bool digests_first = digests_due && *digests_due < model->heartbeat_deadline_ms();
    const std::uint64_t deadline = digests_first ? *digests_due : model->heartbeat_deadline_ms();
    if (deadline + grace >= now) {
      deadlines_.emplace(deadline, id);  // a heartbeat or a digest moved it on since
      continue;
    }
    Finding f = finding(
        checkpoint, check::kReaction,
        std::string(digests_first ? "a digests_stopped" : "a missed_heartbeats") +
            " revocation of session " + std::to_string(id) + " by " +
            std::to_string(deadline + grace) + " (its " + (digests_first ? "digest" : "heartbeat") +
            " deadline " + std::to_string(deadline) + " plus " + std::to_string(grace) + " ms)",
        "the session still live at this Checkpoint (vs_time_ms " + std::to_string(now) + ")",
        digests_first ? "the VS left blessed a session whose digests stopped while it had players"
                      : "the VS left a silent session blessed");
    f.session_id = id;
    sink_.add(std::move(f));
  }
}

void Verifier::to_session(const Item& item) {
  const auto& h = item.entry.header;
  if (!protocol::is_known(h.kind)) return;  // reported with the columns
  auto it = h.session_id == 0 ? sessions_.end() : sessions_.find(h.session_id);
  if (it == sessions_.end()) {
    if (began_before_start(h.session_id)) return;
    sink_.add(finding(item, check::kSession, "the id of a session accepted earlier in the log",
                      h.session_id == 0 ? "session_id 0"
                                        : "session_id " + std::to_string(h.session_id) +
                                              ", which no earlier JoinAccept created"));
    return;
  }
  it->second->add(input_of(item), sink_, lookup_);
}

bool Verifier::began_before_start(protocol::SessionId id) {
  // Session ids increase in log order: one below the first accepted here was accepted earlier.
  if (start_seq_ == 0 || id == 0 || (first_accepted_ && id >= *first_accepted_)) return false;
  ++result_.stats.earlier_session_entries;
  return true;
}

void Verifier::on_join_request(Item& item) {
  const auto& h = item.entry.header;
  if (auto it = sessions_.find(h.session_id); it != sessions_.end() && !it->second->revoked()) {
    // A JoinRequest on a live session's connection is a frame the VS had to refuse. Nothing of
    // a session follows its revocation (§8.5), so a JoinRequest under a revoked session's id is
    // a join like any other and must be answered: a replayed copy of the request that opened it
    // is not excused.
    to_session(item);
    return;
  }
  PendingJoin join;
  join.seq = h.seq;
  join.hash = chains::message_hash(item.entry.message);
  join.session_column = h.session_id;
  if (item.message) {
    join.request = std::get<protocol::JoinRequest>(*item.message);
    join.sigs = item.sigs;
  } else {
    join.decode_error = item.decode_error;
  }
  unanswered_join_ = std::move(join);
}

bool Verifier::answers(const Item& item, const Hash32& join_request_hash,
                       const std::optional<PendingJoin>& join) {
  if (!join) {
    const std::uint64_t seq = item.entry.header.seq;
    sink_.add(finding(
        item, check::kJoin, "the JoinRequest it answers in the entry just before it",
        seq == 0 ? std::string("the first entry of the log")
                 : "entry " + std::to_string(seq - 1) + ", which is no unanswered JoinRequest",
        "the VS logs a JoinRequest and its answer in one submit (PROTOCOL.md §8.3)"));
    return false;
  }
  if (join->hash != join_request_hash) {
    // One of the two was edited (their signatures tell which); they stay a pair, so that the
    // request is still checked as the one this answer admitted or refused.
    sink_.add(finding(item, check::kJoin,
                      "join_request_hash " + to_hex(join->hash) + " (of the JoinRequest at entry " +
                          std::to_string(join->seq) + ")",
                      "join_request_hash " + to_hex(join_request_hash)));
  }
  return true;
}

void Verifier::unanswered(const PendingJoin& join, const Item* next) {
  Finding f = finding_at(
      join.seq, check::kReaction,
      "a JoinAccept or JoinReject carrying this request's hash in the next entry",
      next == nullptr ? std::string("the end of the log")
                      : "entry " + std::to_string(next->entry.header.seq) + ": " +
                            (next->readable ? kind_label(next->entry.header.kind)
                                            : std::string("an unreadable row")),
      "the VS answers every JoinRequest it logs, in the same submit (PROTOCOL.md §8.3); a "
      "replayed copy is answered too");
  f.kind = kind_code(MessageKind::kJoinRequest);
  f.session_id = join.session_column;
  sink_.add(std::move(f));
}

rules::JoinFacts Verifier::known_facts(const PendingJoin& join, std::uint64_t answer_vs_ms) const {
  using rules::JoinCheck;
  rules::JoinFacts facts;
  facts.set(JoinCheck::kDecodes, join.request.has_value());
  if (!join.request) return facts;
  auto signature = [&](JoinCheck check, SigState state) {
    if (state != SigState::kUnchecked) facts.set(check, state == SigState::kValid);
  };
  signature(JoinCheck::kIdentitySignature, join.sigs[0]);
  signature(JoinCheck::kSessionSignature, join.sigs[1]);
  // The VS decides busy-ness in log order, where it places the answer (§8.10). A verification
  // that starts after the log's first entry (one segment, a range, a pruned directory) knows an
  // identity is free only once it has seen that identity accepted: a session accepted before the
  // start may still be live, so until then the fact is unknown.
  const auto& identity = join.request->gs_identity;
  if (live_identities_.contains(identity)) {
    facts.set(JoinCheck::kIdentityFree, false);
  } else if (start_seq_ == 0 || identities_accepted_.contains(identity)) {
    facts.set(JoinCheck::kIdentityFree, true);
  }
  // Quarantine (§8.16) follows the log too; from a later start only a quarantine seen is known.
  if (quarantine_.quarantine_of(identity, answer_vs_ms)) {
    facts.set(JoinCheck::kNotQuarantined, false);
  } else if (quarantines_known_at(answer_vs_ms)) {
    facts.set(JoinCheck::kNotQuarantined, true);
  }
  return facts;
}

void Verifier::on_join_accept(Item& item, const protocol::JoinAccept& accept,
                              const std::optional<PendingJoin>& join) {
  const auto& h = item.entry.header;
  const auto id = accept.session_id;
  if (id != h.session_id) {
    sink_.add(finding(item, check::kSession, "session_id column " + std::to_string(id),
                      "session_id column " + std::to_string(h.session_id)));
  }
  if (sessions_.contains(id)) {
    sink_.add(finding(item, check::kJoin, "a new session id",
                      "session " + std::to_string(id) + ", accepted before"));
    return;
  }
  if (id == 0 || id <= max_session_id_) {
    sink_.add(finding(
        item, check::kJoin,
        "a session id above " + std::to_string(max_session_id_) + " (ids increase, never reused)",
        "session " + std::to_string(id)));
  }
  max_session_id_ = std::max(max_session_id_, id);
  if (!first_accepted_) first_accepted_ = id;
  if (answers(item, accept.join_request_hash, join)) check_accepted_request(item, accept, *join);
  check_accept_against_policy(item, accept);
  SessionModel& model =
      start_session(item, check::kJoin, id,
                    std::make_unique<SessionModel>(item.position, h.vs_time_ms, accept,
                                                   chains::message_hash(item.entry.message)));
  // At the JoinAccept's VS time, the join's: a quarantine that lapsed by then holds no more.
  if (auto quarantine = quarantine_.quarantine_of(accept.gs_identity, h.vs_time_ms)) {
    sink_.add(finding(item, check::kJoin,
                      "no JoinAccept for a quarantined identity (PROTOCOL.md §8.16)",
                      rules::quarantine_detail(accept.gs_identity, *quarantine)));
  }
  model.carry(continuity_.carried_into(accept.gs_identity, h.vs_time_ms,
                                       accept.continuity_window_ms,
                                       accept.max_players_per_session));
}

void Verifier::on_session_adopted(const Item& item, const protocol::SessionAdopted& adopted) {
  const auto& h = item.entry.header;
  const auto id = adopted.session_id;
  if (id != h.session_id) {
    sink_.add(finding(item, check::kSession, "session_id column " + std::to_string(id),
                      "session_id column " + std::to_string(h.session_id)));
  }
  if (sessions_.contains(id)) {
    sink_.add(finding(item, check::kSession, "a session not known to this log",
                      "session " + std::to_string(id) + ", known here before"));
    return;
  }
  auto rules = rules::SessionRules::adopt(adopted, item.position);
  if (!rules) {
    sink_.add(finding(item, check::kSession, "a SessionAdopted whose state fits its JoinAccept",
                      rules.error(), "PROTOCOL.md §5.28"));
    return;
  }
  // What this log can check of the earlier node: that the JoinAccept carried is signed by the key
  // named as that node's. The state it names is that node's log's to show (a fleet audit).
  auto carried = protocol::decode<protocol::JoinAccept>(adopted.join_accept);
  if (carried && !protocol::verify(*carried, adopted.from_vs_key)) {
    sink_.add(finding(item, check::kSession,
                      "a JoinAccept signed by from_vs_key " + short_hex(adopted.from_vs_key),
                      "one that does not verify under it", "PROTOCOL.md §8.10"));
  }
  start_session(item, check::kSession, id, std::make_unique<SessionModel>(std::move(*rules)));
}

SessionModel& Verifier::start_session(const Item& item, std::string_view check,
                                      protocol::SessionId id, std::unique_ptr<SessionModel> model) {
  const protocol::PublicKey& identity = model->accept().gs_identity;
  if (auto live = live_identities_.find(identity); live != live_identities_.end()) {
    sink_.add(finding(item, check,
                      "no live session for identity " + short_hex(identity) +
                          "... (one session per identity, PROTOCOL.md §8.10)",
                      "session " + std::to_string(live->second) + " still live"));
  }
  live_identities_[identity] = id;
  identities_accepted_.insert(identity);
  ++result_.stats.sessions;
  SessionModel& added = *sessions_.emplace(id, std::move(model)).first->second;
  added.judged_under(rules_version_);
  deadlines_.emplace(added.heartbeat_deadline_ms(), id);
  return added;
}

void Verifier::check_accepted_request(const Item& item, const protocol::JoinAccept& accept,
                                      const PendingJoin& join) {
  // Problems of the request itself are reported where it is logged.
  auto at_request = [&](std::string_view check, std::string expected, std::string found) {
    Finding f =
        finding(item, check, std::move(expected), std::move(found),
                "the VS accepted it: JoinAccept at entry " + std::to_string(item.entry.header.seq));
    f.seq = join.seq;
    f.kind = kind_code(MessageKind::kJoinRequest);
    f.session_id = join.session_column;
    sink_.add(std::move(f));
  };
  if (join.session_column != accept.session_id) {
    at_request(check::kSession, "session_id " + std::to_string(accept.session_id) + " (accepted)",
               "session_id " + std::to_string(join.session_column));
  }
  if (!join.request) {
    at_request(check::kJoin, "a JoinRequest that decodes",
               "one that does not: " + join.decode_error);
    return;
  }
  const auto& r = *join.request;
  if (join.sigs[0] != SigState::kValid) {
    at_request(check::kSignature,
               "identity signature valid under " + short_hex(r.gs_identity) + "...",
               "a signature that does not verify");
  }
  if (join.sigs[1] != SigState::kValid) {
    at_request(check::kSignature,
               "session-key signature valid under " + short_hex(r.session_key) + "...",
               "a signature that does not verify");
  }
  if (r.gs_identity != accept.gs_identity || r.session_key != accept.session_key ||
      r.sw_hash != accept.sw_hash) {
    sink_.add(finding(item, check::kJoin,
                      "gs_identity, session_key and sw_hash copied from the JoinRequest at entry " +
                          std::to_string(join.seq),
                      "different values"));
  }
}

void Verifier::on_join_reject(const Item& item, const protocol::JoinReject& reject,
                              const std::optional<PendingJoin>& join) {
  if (!answers(item, reject.join_request_hash, join)) return;
  if (join->resume) {
    // A refused resume: the reason must be the one the session's rules give (PROTOCOL.md
    // §8.15), and the GsResume must have proven the session key.
    auto it = sessions_.find(join->resume->session_id);
    if (it == sessions_.end()) {
      sink_.add(finding(item, check::kJoin,
                        "a refused GsResume naming a session accepted earlier in the log",
                        "session " + std::to_string(join->resume->session_id),
                        "the VS turns away a resume of a session it does not know, unanswered"));
      return;
    }
    // A quarantined identity's resume is refused before checks 6 to 9 (§8.16).
    if (reject.reason == static_cast<std::uint16_t>(protocol::JoinRejectReason::kQuarantined)) {
      if (!quarantine_.quarantine_of(join->resume->gs_identity, item.entry.header.vs_time_ms) &&
          quarantines_known_at(item.entry.header.vs_time_ms)) {
        sink_.add(finding(item, check::kJoin, "a quarantined identity (PROTOCOL.md §8.16)",
                          "identity " + short_hex(join->resume->gs_identity) +
                              "..., which no quarantining Revocation before it names"));
      }
      return;
    }
    if (auto problem = it->second->resume_refusal_problem(*join->resume, reject.reason,
                                                          item.entry.header.vs_time_ms)) {
      sink_.add(finding(item, check::kJoin, "a reason that follows the checks of PROTOCOL.md §8.15",
                        *problem + " (GsResume at entry " + std::to_string(join->seq) + ")"));
    }
    return;
  }
  const std::string at = " (JoinRequest at entry " + std::to_string(join->seq) + ")";
  if (join->session_column != 0) {
    sink_.add(finding(item, check::kSession, "the rejected JoinRequest logged under session 0",
                      "session_id " + std::to_string(join->session_column) + at));
  }
  // The reason must follow the order of §8.3 as far as the log decides it; bad_challenge,
  // build_not_allowed, clock_skew and server_busy are the VS's word where no earlier check fails.
  if (const Status agrees =
          rules::check_join_answer(known_facts(*join, item.entry.header.vs_time_ms), reject.reason);
      !agrees) {
    sink_.add(finding(item, check::kJoin, "a reason that follows the checks of PROTOCOL.md §8.3",
                      agrees.error() + at, join->decode_error));
  }
}

void Verifier::on_revocation(Item& item, const protocol::Revocation& revocation) {
  const auto& h = item.entry.header;
  if (revocation.session_id != h.session_id) {
    sink_.add(finding(
        item, check::kSession,
        "session_id column " + std::to_string(revocation.session_id) + " (the session revoked)",
        "session_id column " + std::to_string(h.session_id)));
  }
  if (revocation.revocation_seq <= last_revocation_seq_) {
    sink_.add(finding(item, check::kRevocation,
                      "revocation_seq above " + std::to_string(last_revocation_seq_) +
                          " (strictly increasing across the log)",
                      "revocation_seq " + std::to_string(revocation.revocation_seq)));
  }
  last_revocation_seq_ = std::max(last_revocation_seq_, revocation.revocation_seq);
  if (!known_revocation_reason(revocation.reason)) {
    sink_.add(finding(item, check::kRevocation,
                      "a defined RevocationReason (1.." +
                          std::to_string(static_cast<unsigned>(protocol::kLastRevocationReason)) +
                          ")",
                      "reason " + std::to_string(revocation.reason)));
  }
  auto it = sessions_.find(revocation.session_id);
  if (it == sessions_.end()) {
    if (began_before_start(revocation.session_id)) return;
    sink_.add(finding(item, check::kSession, "the id of a session accepted earlier in the log",
                      "session " + std::to_string(revocation.session_id) +
                          ", which no earlier JoinAccept created"));
    return;
  }
  if (revocation.reason ==
      static_cast<std::uint16_t>(protocol::RevocationReason::kPolicyWithdrawn)) {
    check_policy_withdrawal(item, revocation, it->second->accept());
  }
  // The session's last notarized positions, before the revocation ends its rules (§8.6).
  continuity_.record(it->second->accept().gs_identity, it->second->notarized());
  it->second->add(input_of(item), sink_, lookup_);
  const auto& identity = it->second->accept().gs_identity;
  if (auto live = live_identities_.find(identity);
      live != live_identities_.end() && live->second == revocation.session_id) {
    live_identities_.erase(live);
  }
  // From a later start, before a PolicyApplied or StateCarried is read, a quarantine's term is
  // unknown.
  if (quarantines_known_ || policy_in_force_ != nullptr) {
    quarantine_.revoked(identity, revocation.session_id, revocation.reason, h.vs_time_ms, h.seq);
  }
}

void Verifier::on_pardon(const Item& item, const protocol::Pardon& pardon) {
  const auto lifted = quarantine_.pardoned(pardon.gs_identity, pardon.vs_time_ms);
  if (!lifted) {
    // From a later start, a quarantine begun before it is unknown here until a carry restates it.
    if (!quarantines_known_at(pardon.vs_time_ms)) return;
    sink_.add(finding(item, check::kPardon,
                      "a Pardon of a GS identity quarantined at its vs_time_ms (PROTOCOL.md §8.16)",
                      "identity " + short_hex(pardon.gs_identity) +
                          "..., which no quarantine held at " + std::to_string(pardon.vs_time_ms) +
                          " ms: a Pardon of nothing",
                      "the VS logs a Pardon only for a quarantine in force"));
    return;
  }
  if (lifted->position != pardon.revocation_position) {
    sink_.add(finding(item, check::kPardon,
                      "revocation_position " + std::to_string(lifted->position) +
                          " (the Revocation that began the quarantine in force)",
                      "revocation_position " + std::to_string(pardon.revocation_position)));
  }
}

void Verifier::on_rules_version(const Item& item, std::uint32_t rules_version) {
  rules_version_ = rules_version;
  std::optional<Finding> f;
  if (rules_version > rules::kRulesVersion) {
    f = finding(
        item, check::kRulesVersion,
        "rules version " + std::to_string(rules::kRulesVersion) + " or earlier (this audit-cli's)",
        "rules version " + std::to_string(rules_version),
        "a newer vsd ran from here: its verdicts are judged by this build's rules all the "
        "same; verify with an audit-cli as new as that vsd");
  } else if (highest_rules_version_ && rules_version < highest_rules_version_->first) {
    f = finding(item, check::kRulesVersion,
                "rules version " + std::to_string(highest_rules_version_->first) +
                    " or later, as the VsStart at entry " +
                    std::to_string(highest_rules_version_->second) + " named",
                "rules version " + std::to_string(rules_version),
                "an older vsd ran again from here (a rollback, or a VS claiming to be older): its "
                "verdicts are held to that version's rules (PROTOCOL.md §8.18)");
  }
  if (!highest_rules_version_ || rules_version > highest_rules_version_->first) {
    highest_rules_version_ = {rules_version, item.position};
  }
  if (!f) return;
  f->severity = Severity::kWarning;
  sink_.add(std::move(*f));
}

void Verifier::on_policy_applied(const Item& item, const protocol::PolicyApplied& applied) {
  // Policies are numbered 1, 2, ... in log order; a verification that starts after the log's
  // first entry takes up the numbering where it finds it.
  if (policy_in_force_ != nullptr || start_seq_ == 0) {
    const std::uint64_t expected = policy_in_force_ ? policy_in_force_->policy_seq + 1 : 1;
    if (applied.policy_seq != expected) {
      sink_.add(finding(item, check::kSession,
                        "policy_seq " + std::to_string(expected) + " (one more than the last)",
                        "policy_seq " + std::to_string(applied.policy_seq)));
    }
  }
  policy_in_force_ = &policies_.insert_or_assign(item.position, applied).first->second;
  policy_in_force_position_ = item.position;
  // Quarantines that begin from here on last this policy's quarantine_ms (§8.16).
  quarantine_.policy_applied(applied.policy.quarantine_ms);
}

void Verifier::check_accept_against_policy(const Item& item, const protocol::JoinAccept& accept) {
  // A log written before policies were logged, or a range that starts after the last one, has
  // no policy in force to hold the JoinAccept to.
  if (policy_in_force_ == nullptr) return;
  const protocol::Policy& policy = policy_in_force_->policy;
  const std::string in_force = "policy #" + std::to_string(policy_in_force_->policy_seq) +
                               " (PolicyApplied at entry " +
                               std::to_string(policy_in_force_position_) + ")";
  if (auto bar = rules::session_barred(policy, accept.gs_identity, accept.sw_hash)) {
    sink_.add(finding(item, check::kJoin, "a session " + in_force + " allows",
                      rules::describe_bar(*bar, accept.gs_identity, accept.sw_hash),
                      "the VS admits only what the policy in force allows (PROTOCOL.md §8.17)"));
  }
  if (auto differing = rules::term_differing(policy, accept)) {
    sink_.add(finding(item, check::kJoin, "the terms of " + in_force, *differing));
  }
}

void Verifier::check_policy_withdrawal(const Item& item, const protocol::Revocation& revocation,
                                       const protocol::JoinAccept& accept) {
  for (const auto position : revocation.evidence) {
    auto cited = policies_.find(position);
    if (cited == policies_.end()) continue;
    if (rules::session_barred(cited->second.policy, accept.gs_identity, accept.sw_hash)) return;
    sink_.add(finding(item, check::kRevocation,
                      "a PolicyApplied that bars the session's identity or build",
                      "policy #" + std::to_string(cited->second.policy_seq) + " at entry " +
                          std::to_string(position) + ", which allows both"));
    return;
  }
  // A range that starts after the policy cited cannot hold the revocation to it.
  if (start_seq_ != 0) return;
  sink_.add(finding(item, check::kRevocation,
                    "a PolicyApplied earlier in the log among the evidence of policy_withdrawn",
                    "evidence " + positions_text(revocation.evidence)));
}

}  // namespace gsvs::audit::detail
