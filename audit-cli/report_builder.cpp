#include "audit-cli/report_builder.h"

#include <algorithm>
#include <map>
#include <set>

#include "audit-cli/session_continuity.h"
#include "audit-cli/session_index.h"
#include "protocol/merkle_plan.h"
#include "rules/session_rules.h"

namespace gsvs::audit::report {

namespace {

using protocol::MessageKind;
using protocol::RevocationReason;

struct Light {
  std::uint64_t seq = 0;
  MessageKind kind = MessageKind::kVsChallenge;
  chains::Direction direction = chains::Direction::kReceived;
};

// The session's GS message that the VS accepted last before `before`: the latest one that
// decodes, names the session and verifies under the session key.
Result<std::optional<std::uint64_t>> last_accepted_before(const storage::Log& log,
                                                          const std::vector<Light>& session,
                                                          std::uint64_t before,
                                                          const protocol::JoinAccept& accept) {
  // Newest first; an iterator loop, as clang 14 cannot compile a reverse_view over libstdc++ 12.
  // NOLINTNEXTLINE(modernize-loop-convert)
  for (auto it = session.rbegin(); it != session.rend(); ++it) {
    const Light& light = *it;
    if (light.seq >= before || !protocol::gs_session_traffic(light.kind) ||
        light.direction != chains::Direction::kReceived) {
      continue;
    }
    auto e = log.get(light.seq);
    if (!e) return Error{e.error()};
    auto message = protocol::decode_any(e->message);
    if (!message) continue;
    const auto envelope = rules::envelope_of(&*message);
    if (envelope && envelope->session_id == accept.session_id &&
        protocol::verify_signature(*message, accept.session_key)) {
      return std::optional<std::uint64_t>(light.seq);
    }
  }
  return std::optional<std::uint64_t>();
}

// A Checkpoint entry the report may lead proofs to; nullopt with the reason when it may not.
std::optional<protocol::Checkpoint> usable_checkpoint(const storage::Entry& e,
                                                      const BuildOptions& options,
                                                      std::uint64_t log_size, std::string& why) {
  auto cp = protocol::decode<protocol::Checkpoint>(e.message);
  const std::string at = "checkpoint at entry " + std::to_string(e.header.seq);
  if (!cp) {
    why = at + " does not decode; not used";
    return std::nullopt;
  }
  if (options.vs_key && !protocol::verify(*cp, *options.vs_key)) {
    why = at + " does not verify under the VS key; not used";
    return std::nullopt;
  }
  if (cp->log_size > log_size) {
    why = at + " covers " + std::to_string(cp->log_size) + " entries, more than the store holds";
    return std::nullopt;
  }
  return *cp;
}

// The log_size of the store's latest usable checkpoint (0 when there is none).
Result<std::uint64_t> latest_checkpoint(const storage::Log& log, const BuildOptions& options) {
  std::uint64_t latest = 0;
  storage::Filter filter;
  filter.kind = MessageKind::kCheckpoint;
  std::string why;
  Status scanned = log.scan(filter, [&](const storage::Entry& e) {
    if (auto cp = usable_checkpoint(e, options, log.size(), why)) {
      latest = std::max(latest, cp->log_size);
    }
    return true;
  });
  if (!scanned) return Error{scanned.error()};
  return latest;
}

}  // namespace

Result<Built> build(const storage::Log& log, const BuildOptions& options) {
  Built out;
  Evidence& ev = out.evidence;
  ev.vs_public_key = options.vs_key;
  ev.session_id = options.session_id;

  // 1. The session's entries, light, and its anchors.
  std::vector<Light> session;
  std::optional<protocol::JoinAccept> accept;
  std::uint64_t accept_seq = 0;
  std::uint64_t accept_vs_ms = 0;
  std::optional<protocol::Revocation> revocation;
  std::uint64_t revocation_seq = 0;
  std::vector<std::pair<std::uint64_t, Hash32>> join_requests;
  std::optional<std::uint64_t> adopted_at;
  storage::Filter of_session;
  of_session.session_id = options.session_id;
  Status scanned = log.scan(of_session, [&](const storage::Entry& e) {
    session.push_back(Light{e.header.seq, e.header.kind, e.header.direction});
    if (e.header.kind == MessageKind::kSessionAdopted && !accept) adopted_at = e.header.seq;
    if (e.header.direction != chains::Direction::kIssued) {
      if (e.header.kind == MessageKind::kJoinRequest) {
        join_requests.emplace_back(e.header.seq, chains::message_hash(e.message));
      }
      return true;
    }
    if (e.header.kind == MessageKind::kJoinAccept && !accept) {
      if (auto a = protocol::decode<protocol::JoinAccept>(e.message);
          a && a->session_id == options.session_id) {
        accept = *a;
        accept_seq = e.header.seq;
        accept_vs_ms = e.header.vs_time_ms;
      }
    } else if (e.header.kind == MessageKind::kRevocation && !revocation) {
      if (auto r = protocol::decode<protocol::Revocation>(e.message);
          r && r->session_id == options.session_id) {
        revocation = *r;
        revocation_seq = e.header.seq;
      }
    }
    return true;
  });
  if (!scanned) return Error{scanned.error()};
  if (!accept && adopted_at) {
    // Its JoinAccept and everything before the adoption are in the log of the node that held it.
    return Error{"session " + std::to_string(options.session_id) +
                 " was taken up from another node of a fleet (SessionAdopted at entry " +
                 std::to_string(*adopted_at) +
                 "); a report rests on the JoinAccept, which is in that node's log: build the "
                 "report from that log (docs/AUDIT.md)"};
  }
  if (!accept) {
    return Error{"session " + std::to_string(options.session_id) +
                 ": no JoinAccept in the store (see `audit-cli sessions` for the sessions it "
                 "holds)"};
  }

  // 2. Which entries are evidence.
  std::set<std::uint64_t> wanted{accept_seq};
  for (const auto& [seq, hash] : join_requests) {
    if (hash == accept->join_request_hash) wanted.insert(seq);
  }
  if (options.all_entries) {
    for (const auto& l : session) wanted.insert(l.seq);
  }
  if (revocation) {
    wanted.insert(revocation_seq);
    for (auto seq : revocation->evidence) wanted.insert(seq);
    const auto reason = static_cast<RevocationReason>(revocation->reason);
    const std::uint64_t last_cited =
        revocation->evidence.empty()
            ? 0
            : *std::max_element(revocation->evidence.begin(), revocation->evidence.end());
    if (reason == RevocationReason::kSpeedViolation || reason == RevocationReason::kDigestsLate ||
        reason == RevocationReason::kTooManyPlayers) {
      // Every digest up to the violation and every receipt: the replay needs the whole history
      // (the positions, or the players named so far) and the receipts show that none is left out.
      for (const auto& l : session) {
        if (l.kind == MessageKind::kTranscriptDigest && l.seq <= last_cited &&
            l.direction == chains::Direction::kReceived) {
          wanted.insert(l.seq);
        }
        if (l.kind == MessageKind::kProtectedReceipt && l.seq < revocation_seq)
          wanted.insert(l.seq);
      }
      // What the players started from (PROTOCOL.md §8.6): the identity's sessions that ended
      // within the window before the join, each with its JoinAccept, Revocation, receipts and
      // the digests they notarize, so that the report replays the rules' ledger as `verify`:
      // a carried player is a step's start, and counts against the player cap.
      SessionFacts joined;
      joined.session_id = options.session_id;
      joined.join_accept_seq = accept_seq;
      joined.start_vs_ms = accept_vs_ms;
      joined.accept = *accept;
      auto carried = carried_at_join(log, joined);
      if (!carried) return Error{carried.error()};
      for (const auto& earlier : carried->sessions) {
        wanted.insert(earlier.accept_seq);
        wanted.insert(earlier.revocation_seq);
        wanted.insert(earlier.receipt_seqs.begin(), earlier.receipt_seqs.end());
        wanted.insert(earlier.digest_seqs.begin(), earlier.digest_seqs.end());
      }
    } else if (reason == RevocationReason::kReceiptTipMismatch && !revocation->evidence.empty()) {
      for (const auto& l : session) {
        if (l.kind == MessageKind::kProtectedReceipt && l.seq < revocation->evidence.front()) {
          wanted.insert(l.seq);
        }
      }
    } else if (reason == RevocationReason::kCounterRegression && !revocation->evidence.empty()) {
      auto previous = last_accepted_before(log, session, revocation->evidence.front(), *accept);
      if (!previous) return Error{previous.error()};
      if (*previous) wanted.insert(**previous);
    }
  } else if (!session.empty()) {
    wanted.insert(session.back().seq);
    out.notes.push_back("session " + std::to_string(options.session_id) +
                        " has no Revocation in the store: the report ends at its last entry, " +
                        std::to_string(session.back().seq));
    // What shows there is none (AUDIT.md §4.2): every entry from the session's last VS-signed
    // entry before the latest checkpoint to the end of that checkpoint.
    auto through = latest_checkpoint(log, options);
    if (!through) return Error{through.error()};
    std::optional<std::uint64_t> anchor;
    for (const auto& l : session) {
      if (l.seq < *through && l.direction == chains::Direction::kIssued &&
          protocol::vs_signed(l.kind)) {
        anchor = l.seq;
      }
    }
    if (anchor) {
      for (std::uint64_t seq = *anchor; seq < *through; ++seq) wanted.insert(seq);
    }
  }

  // 3. The entries themselves.
  for (auto it = wanted.begin(); it != wanted.end();) {
    auto e = log.get(*it);
    if (!e) {
      // A revocation citing an entry the store lacks: the report says so (analyze() flags the
      // citation) rather than refusing to be written.
      out.notes.push_back("entry " + std::to_string(*it) +
                          " cannot be read from the store: " + e.error());
      it = wanted.erase(it);
      continue;
    }
    ++it;
    ev.entries.push_back(Entry{e->header, e->entry_hash, std::move(e->message), std::nullopt});
  }

  // 4. The checkpoints, in log order (so by log_size), up to the first that covers everything.
  if (wanted.empty()) return Error{"no entry of the session can be read from the store"};
  const std::uint64_t last_wanted = *wanted.rbegin();
  std::map<std::uint64_t, Bytes> checkpoints;  // log_size -> bytes
  storage::Filter checkpoint_filter;
  checkpoint_filter.kind = MessageKind::kCheckpoint;
  scanned = log.scan(checkpoint_filter, [&](const storage::Entry& e) {
    std::string why;
    auto cp = usable_checkpoint(e, options, log.size(), why);
    if (!cp) {
      out.notes.push_back(why);
      return true;
    }
    checkpoints.try_emplace(cp->log_size, e.message);
    return cp->log_size <= last_wanted;
  });
  if (!scanned) return Error{scanned.error()};

  // 5. Plan the proofs, then stream the log once.
  merkle::ProofPlan plan;
  std::vector<std::uint64_t> used;  // checkpoint log sizes, increasing
  std::vector<merkle::ProofPlan::Ticket> inclusion(ev.entries.size());
  for (std::size_t i = 0; i < ev.entries.size(); ++i) {
    const auto seq = ev.entries[i].header.seq;
    auto it = checkpoints.upper_bound(seq);
    if (it == checkpoints.end()) continue;
    ev.entries[i].inclusion = InclusionProof{it->first, {}};
    inclusion[i] = plan.want_inclusion(seq, it->first);
    if (used.empty() || used.back() != it->first) used.push_back(it->first);
  }
  std::vector<merkle::ProofPlan::Ticket> roots;
  std::vector<merkle::ProofPlan::Ticket> consistency;
  for (std::size_t k = 0; k < used.size(); ++k) {
    roots.push_back(plan.want_root(used[k]));
    if (k + 1 < used.size()) consistency.push_back(plan.want_consistency(used[k], used[k + 1]));
  }
  std::optional<std::uint64_t> gap;
  auto start = log.tree_before_first();
  if (!start) return Error{start.error()};
  plan.resume(start->size(), start->frontier());  // a tree's frontier fits it; no leaf fed yet
  if (plan.leaves_needed() > plan.leaves_fed()) {
    storage::Filter leaves;
    leaves.from_seq = plan.leaves_fed();
    leaves.to_seq = plan.leaves_needed();
    scanned = log.scan(leaves, [&](const storage::Entry& e) {
      if (e.header.seq != plan.leaves_fed()) {
        gap = plan.leaves_fed();
        return false;
      }
      plan.add_leaf(e.entry_hash);
      return true;
    });
    if (!scanned) return Error{scanned.error()};
  }
  if (gap || plan.leaves_fed() < plan.leaves_needed()) {
    return Error{"entry " + std::to_string(gap.value_or(plan.leaves_fed())) +
                 " is missing from the store: no Merkle proof can be built (run audit-cli "
                 "verify)"};
  }
  const std::string before_start = " needs entries before the first one read (" +
                                   std::to_string(start->size()) + "): report over more segments";
  for (std::size_t i = 0; i < ev.entries.size(); ++i) {
    if (!ev.entries[i].inclusion) continue;
    auto path = plan.proof(inclusion[i]);
    if (!path) return Error{"the proof of entry " + std::to_string(i) + before_start};
    ev.entries[i].inclusion->path = std::move(*path);
  }
  for (std::size_t k = 0; k < used.size(); ++k) {
    Checkpoint c;
    c.message = checkpoints[used[k]];
    if (k + 1 < used.size()) {
      auto proof = plan.proof(consistency[k]);
      if (!proof)
        return Error{"the consistency proof to checkpoint " + std::to_string(used[k + 1]) +
                     before_start};
      c.consistency_with_next = std::move(*proof);
    }
    auto cp = protocol::decode<protocol::Checkpoint>(c.message);
    const auto root = plan.root(roots[k]);
    if (!root) return Error{"the root of checkpoint " + std::to_string(used[k]) + before_start};
    if (cp && *root != cp->root) {
      out.notes.push_back("the store's Merkle root over its first " + std::to_string(used[k]) +
                          " entries differs from the checkpoint's: the store was altered after "
                          "the VS signed it");
    }
    ev.checkpoints.push_back(std::move(c));
  }
  return out;
}

}  // namespace gsvs::audit::report
