// audit-cli explain: why a session ended, in plain words, with the rule, the recomputed numbers
// (compared with what the VS wrote in its Revocation), and the evidence entries with their
// signatures checked.
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/log_line.h"
#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/message_json.h"
#include "audit-cli/quarantine_history.h"
#include "audit-cli/replay.h"
#include "audit-cli/session_continuity.h"
#include "audit-cli/session_index.h"
#include "rules/policy_rules.h"
#include "rules/quarantine.h"

namespace gsvs::audit {

namespace {

using protocol::MessageKind;
using protocol::RevocationReason;

struct ExplainCommand {
  std::string store;
  std::uint64_t session = 0;
  std::string vs_pubkey;
  bool json = false;
};

std::string_view sig_name(SigState state) {
  switch (state) {
    case SigState::kValid:
      return "valid";
    case SigState::kInvalid:
      return "invalid";
    case SigState::kUnchecked:
      return "unchecked";
  }
  return "unchecked";
}

std::string seconds(std::uint64_t ms) { return fixed(static_cast<double>(ms) / 1000.0, 3) + " s"; }

std::string rule_text(std::uint16_t reason, const SessionFacts& f) {
  const auto& a = f.accept;
  const auto& l = f.limits;
  switch (static_cast<RevocationReason>(reason)) {
    case RevocationReason::kBadSignature:
      return "every Heartbeat, TranscriptDigest, NonceBatch and GsLeaving must verify under the "
             "session key the JoinAccept bound to the session (" +
             to_hex(a.session_key) + ")";
    case RevocationReason::kCounterRegression:
      return "gs_counter must be strictly greater than that of the last accepted session message "
             "(one counter across Heartbeat, TranscriptDigest, NonceBatch and GsLeaving)";
    case RevocationReason::kSwHashChanged:
      return "every Heartbeat must report the build hash pinned at join (" + to_hex(a.sw_hash) +
             ")";
    case RevocationReason::kMissedHeartbeats:
      return "a valid Heartbeat is due every " + std::to_string(a.heartbeat_interval_ms) +
             " ms; the VS revokes after " + std::to_string(a.heartbeat_timeout_ms) +
             " ms without one (heartbeat_timeout_ms of the JoinAccept)";
    case RevocationReason::kSpeedViolation:
      return "between two consecutive notarized positions a player may cover at most " +
             fixed(l.max_speed_mm_s / 1000.0, 2) + " m/s x " + fixed(1.0 + l.tolerance, 2) +
             " tolerance = " + fixed(l.max_speed_mm_s * (1 + l.tolerance) / 1000.0, 2) +
             " m/s times the time used, where time used = min(GS-reported elapsed, VS-credited "
             "elapsed: the GS's clock as the VS credits it, never ahead of the VS's own clock nor "
             "more than " +
             std::to_string(l.jitter_allowance_ms) +
             " ms jitter allowance behind it); the excess accumulates, keeping x" +
             fixed(l.decay, 3) +
             " of itself per 0.5 s of time used, and the session is revoked "
             "once it passes " +
             fixed(l.max_excess_mm / 1000.0, 3) +
             " m. A first appearance and a respawn (at most one per " +
             fixed(static_cast<double>(l.spawn_min_interval_ms) / 1000.0, 1) +
             " s) are not checked. These limits are the ones the VS signed in the JoinAccept";
    case RevocationReason::kDigestsLate:
      return "the movement rule found a step over its limit on the VS-credited clock, which "
             "forfeits whatever time a digest arrives more than " +
             std::to_string(l.jitter_allowance_ms) +
             " ms (the jitter allowance) behind the GS's clock, but within it on the paced clock, "
             "which is the GS's own clock never ahead of the VS's and forfeits only what is more "
             "than heartbeat_timeout_ms + the allowance late: the excess comes from digests that "
             "arrived late (a stalled network, a paused VS, or digests held back), not from the "
             "movement. The digest is refused as for speed_violation; "
             "the GS identity is not quarantined (PROTOCOL.md §8.6 \"Late digests\")";
    case RevocationReason::kReceiptTipMismatch:
      return "a Heartbeat's (or GsLeaving's) receipt_count must not exceed the receipts the VS "
             "issued, nor go back, nor lag more than the VS's max_receipt_lag behind; its "
             "receipt_tip must be the tip after that many receipts (PROTOCOL.md §6.3)";
    case RevocationReason::kOperator:
      return "an operator of the VS may revoke any session; the reason given is theirs";
    case RevocationReason::kOperatorQuarantine:
      return "an operator of the VS may revoke any session and quarantine its GS identity "
             "(PROTOCOL.md §8.16): its joins are refused until a Pardon; the reason given is "
             "theirs";
    case RevocationReason::kMalformedMessage:
      return "only well-formed Heartbeat, TranscriptDigest, NonceBatch and GsLeaving messages "
             "may follow the join";
    case RevocationReason::kSessionMismatch:
      return "every message on a session's connection must name that session";
    case RevocationReason::kVsShutdown:
      return "the VS revokes every live session when it stops or restarts (it fails closed "
             "rather than vouch for a session it stopped watching)";
    case RevocationReason::kTooManyPlayers:
      return "a session may name at most " + std::to_string(l.max_players) +
             " distinct players in its TranscriptDigests over its life "
             "(max_players_per_session of the JoinAccept); the digest that names one more is "
             "refused before the VS tracks anyone new, and the session is revoked";
    case RevocationReason::kGsLeft:
      return "a GS that stops cleanly ends its session with a signed GsLeaving, its last "
             "message; the VS checks it as session traffic and ends the session with gs_left, "
             "which is not a fault";
    case RevocationReason::kPolicyWithdrawn:
      return "a live session whose GS identity or build a reloaded policy no longer allows is "
             "revoked right after the PolicyApplied that removed it (PROTOCOL.md §8.17); it is "
             "no fault of the GS";
    case RevocationReason::kDigestsStopped:
      return "while the last accepted TranscriptDigest names at least one player, the next is "
             "due within " +
             std::to_string(a.digest_timeout_ms) +
             " ms (digest_timeout_ms of the JoinAccept); a GS that ends its match sends a digest "
             "naming no player. The VS revokes at the deadline, and the GS identity is "
             "quarantined (PROTOCOL.md §8.5, §8.16)";
  }
  return "the reason code is not defined by the protocol";
}

// The numbers of a speed violation, or of a late step (digests_late), as
// rules::describe_violation writes them.
struct SpeedNumbers {
  std::string player;
  double distance_m = 0, used_s = 0, gs_s = 0, credited_s = 0, vs_s = 0, jitter_s = 0, speed = 0,
         limit = 0, tolerance = 0, accumulated_m = 0, max_m = 0;
  bool late = false;
  double paced_s = 0, paced_accumulated_m = 0;  // a late step's
};

std::optional<SpeedNumbers> parse_speed(const std::string& text) {
  SpeedNumbers n;
  char player[65] = {};
  // The text is vsd's own describe_violation line and every field must be read; a number out of
  // range would only misstate a figure of the explanation.
  // NOLINTNEXTLINE(cert-err34-c)
  int read = std::sscanf(
      text.c_str(),
      "player %64[0-9a-f] moved %lf m in %lf s (GS-reported %lf s, VS-credited %lf s, "
      "VS-observed %lf s + %lf s jitter allowance): %lf m/s against a limit of %lf m/s x %lf "
      "tolerance; accumulated excess %lf m > %lf m",
      player, &n.distance_m, &n.used_s, &n.gs_s, &n.credited_s, &n.vs_s, &n.jitter_s, &n.speed,
      &n.limit, &n.tolerance, &n.accumulated_m, &n.max_m);
  if (read != 12) {
    double within_m = 0;  // max_excess once more
    // NOLINTNEXTLINE(cert-err34-c)
    read = std::sscanf(
        text.c_str(),
        "player %64[0-9a-f] moved %lf m in %lf s by the GS's clock (paced %lf s): accumulated "
        "excess %lf m on that clock, within %lf m at %lf m/s x %lf tolerance; but its digests "
        "arrived later than the %lf s jitter allowance covers: VS-credited %lf s (VS-observed "
        "%lf s), accumulated excess %lf m > %lf m",
        player, &n.distance_m, &n.gs_s, &n.paced_s, &n.paced_accumulated_m, &within_m, &n.limit,
        &n.tolerance, &n.jitter_s, &n.credited_s, &n.vs_s, &n.accumulated_m, &n.max_m);
    if (read != 13) return std::nullopt;
    n.late = true;
  }
  n.player = player;
  return n;
}

struct Comparison {
  std::string name;
  std::string stated;
  std::string recomputed;
  [[nodiscard]] bool same() const { return stated == recomputed; }
};

std::vector<Comparison> compare_speed(const SpeedNumbers& s, const SpeedNumbers& r) {
  auto m = [](double v) { return fixed(v, 3) + " m"; };
  auto sec = [](double v) { return fixed(v, 3) + " s"; };
  auto ms = [](double v) { return fixed(v, 2) + " m/s"; };
  std::vector<Comparison> out{{"player", s.player, r.player},
                              {"distance", m(s.distance_m), m(r.distance_m)}};
  if (s.late || r.late) {
    out.push_back({"GS-reported elapsed", sec(s.gs_s), sec(r.gs_s)});
    out.push_back({"paced elapsed", sec(s.paced_s), sec(r.paced_s)});
    out.push_back({"paced excess", m(s.paced_accumulated_m), m(r.paced_accumulated_m)});
  } else {
    out.push_back({"time used", sec(s.used_s), sec(r.used_s)});
    out.push_back({"GS-reported elapsed", sec(s.gs_s), sec(r.gs_s)});
  }
  out.push_back({"VS-credited elapsed", sec(s.credited_s), sec(r.credited_s)});
  out.push_back({"VS-observed elapsed", sec(s.vs_s), sec(r.vs_s)});
  out.push_back({"jitter allowance", sec(s.jitter_s), sec(r.jitter_s)});
  if (!s.late && !r.late) out.push_back({"speed", ms(s.speed), ms(r.speed)});
  out.push_back({"limit", ms(s.limit) + " x " + fixed(s.tolerance, 2),
                 ms(r.limit) + " x " + fixed(r.tolerance, 2)});
  out.push_back({"accumulated excess", m(s.accumulated_m), m(r.accumulated_m)});
  out.push_back({"revocation threshold", m(s.max_m), m(r.max_m)});
  return out;
}

struct EvidenceItem {
  std::uint64_t seq = 0;
  std::optional<storage::Entry> entry;
  SigState signature = SigState::kUnchecked;
  std::string signer;
  bool fault = false;       // the message the recomputation finds at fault
  bool as_expected = true;  // its signature state is what the verdict needs
  std::string note;
};

struct Explanation {
  const SessionFacts* facts = nullptr;
  SessionReplay replay;
  std::optional<KeySource> vs_key;
  std::vector<EvidenceItem> evidence;
  std::vector<Comparison> numbers;
  std::optional<bool> detail_matches;
  std::string recomputed_detail;
  // policy_withdrawn: "identity X removed by policy #N at ..." from the PolicyApplied it cites
  // (PROTOCOL.md §8.17); empty when the cited policy does not bar the session.
  std::string withdrawal;
  // The quarantine the revocation began, and what became of it (PROTOCOL.md §8.16); the
  // Pardon's VS signature when one lifted it.
  std::optional<QuarantineFate> quarantine;
  SigState pardon_signature = SigState::kUnchecked;
  // The identity's earlier quarantine that a Pardon or a lapse lifted before this session joined.
  std::optional<QuarantineFate> lifted_before_join;
  bool ok = true;  // nothing contradicts the revocation
};

// Whether `x`'s session was revoked for `reason`.
bool revoked_for(const Explanation& x, RevocationReason reason) {
  return x.facts->revocation &&
         x.facts->revocation->message.reason == static_cast<std::uint16_t>(reason);
}

// The quarantine facts of `x`'s session from the log's history (PROTOCOL.md §8.16).
void add_quarantine_facts(Explanation& x, const QuarantineHistory& history) {
  const SessionFacts& f = *x.facts;
  if (f.revocation) {
    if (const QuarantineFate* fate = history.of_revocation(f.revocation->seq)) {
      x.quarantine = *fate;
      if (fate->pardon && x.vs_key) {
        x.pardon_signature = protocol::verify(fate->pardon->message, x.vs_key->key)
                                 ? SigState::kValid
                                 : SigState::kInvalid;
        if (x.pardon_signature == SigState::kInvalid) x.ok = false;
      }
    }
  }
  for (const auto& [seq, fate] : history.by_revocation) {
    if (seq >= f.join_accept_seq) break;
    if (fate.identity != f.accept.gs_identity) continue;
    const bool pardoned = fate.pardon && fate.pardon->seq < f.join_accept_seq;
    const auto lapses = fate.quarantine.lapses_at_ms();
    const bool lapsed = !fate.pardon && lapses && *lapses <= f.start_vs_ms;
    x.lifted_before_join = pardoned || lapsed ? std::optional(fate) : std::nullopt;
  }
}

std::string lifted_text(const QuarantineFate& fate) {
  return "its identity's quarantine (Revocation at entry " +
         std::to_string(fate.quarantine.position) + ", session " +
         std::to_string(fate.quarantine.session_id) + ") was " +
         (fate.pardon ? "pardoned at " + format_utc(fate.pardon->message.vs_time_ms) +
                            " (Pardon at entry " + std::to_string(fate.pardon->seq) + ": \"" +
                            fate.pardon->message.reason + "\")"
                      : "lapsed at " + format_utc(*fate.quarantine.lapses_at_ms())) +
         " before it joined";
}

// What the PolicyApplied among a policy_withdrawn revocation's evidence removed, by the rule vsd
// applied (rules::session_barred).
std::string withdrawal_text(const Explanation& x) {
  for (const auto& e : x.evidence) {
    if (!e.entry || e.entry->header.kind != MessageKind::kPolicyApplied) continue;
    auto applied = protocol::decode<protocol::PolicyApplied>(e.entry->message);
    if (!applied) continue;
    const auto& accept = x.facts->accept;
    auto bar = rules::session_barred(applied->policy, accept.gs_identity, accept.sw_hash);
    if (!bar) return {};
    return rules::describe_bar(*bar, accept.gs_identity, accept.sw_hash) + " by policy #" +
           std::to_string(applied->policy_seq) + " at " + format_utc(applied->vs_time_ms);
  }
  return {};
}

// The carried position a step across sessions starts from (PROTOCOL.md §8.6), as the rules'
// ledger holds it; nullopt for a step within the session.
std::optional<rules::NotarizedPosition> step_carried(const Explanation& x) {
  const auto& a = x.replay.assessment;
  if (!a || !a->step || !a->step->from_session) return std::nullopt;
  return carried_of(x.replay.carried, a->step->player);
}

SigState check(MessageKind kind, const Bytes& bytes, std::size_t index,
               const std::optional<crypto::PublicKey>& key) {
  if (!key || !protocol::decode_any(bytes)) return SigState::kUnchecked;
  return verify_stored_signature(kind, bytes, index, *key) ? SigState::kValid : SigState::kInvalid;
}

EvidenceItem examine(const storage::Log& log, const StoreIndex& index, std::uint64_t seq,
                     const Explanation& x) {
  EvidenceItem item;
  item.seq = seq;
  auto entry = log.get(seq);
  if (!entry) {
    item.note = "no such entry in the log";
    item.as_expected = false;
    return item;
  }
  item.entry = *entry;
  const auto& h = entry->header;
  const auto* owner = index.find(h.session_id);
  if (protocol::gs_session_traffic(h.kind)) {
    item.signer = owner ? "session key " + short_hex(owner->accept.session_key) + "..." : "?";
    item.signature = check(h.kind, entry->message, 0,
                           owner ? std::optional(owner->accept.session_key) : std::nullopt);
  } else if (protocol::vs_signed(h.kind)) {
    item.signer = x.vs_key ? "VS key" : "VS key (not given: pass --vs-pubkey)";
    item.signature =
        check(h.kind, entry->message, 0, x.vs_key ? std::optional(x.vs_key->key) : std::nullopt);
  } else {
    item.signer = "none (not signed, or does not decode)";
  }
  const auto* record = x.replay.received_at(seq);
  const auto& a = x.replay.assessment;
  item.fault = a && a->cited && a->cited->seq == seq;
  if (record && record->verdict != Verdict::kAccepted) {
    item.note = std::string(verdict_name(record->verdict)) + ": " + record->why;
  } else if (record) {
    item.note = "accepted by the recomputation";
  }
  // A policy_withdrawn revocation cites the PolicyApplied, logged under session 0 (§8.17).
  const bool cited_policy =
      h.kind == MessageKind::kPolicyApplied && revoked_for(x, RevocationReason::kPolicyWithdrawn);
  // A step across sessions cites the earlier session's digest its player was carried from.
  const auto carried = step_carried(x);
  const bool cited_carried = carried && carried->log_seq == seq &&
                             carried->session_id == h.session_id && a->step->from_log_seq == seq;
  if (cited_carried) {
    item.note += (item.note.empty() ? "" : "; ") +
                 std::string("the player's last notarized position, carried from session ") +
                 std::to_string(h.session_id);
  } else if (h.session_id != x.facts->session_id && !cited_policy) {
    item.note += (item.note.empty() ? "" : "; ") + std::string("belongs to session ") +
                 std::to_string(h.session_id);
    item.as_expected = false;
  }
  // A bad_signature verdict rests on a signature that fails; anything else on ones that hold.
  const bool must_fail = item.fault && a->cited->verdict == Verdict::kBadSignature;
  if (item.signature == SigState::kInvalid && !must_fail) item.as_expected = false;
  if (item.signature == SigState::kValid && must_fail) item.as_expected = false;
  return item;
}

Explanation explain(const storage::Log& log, const StoreIndex& index, const SessionFacts& facts,
                    SessionReplay replay, std::optional<KeySource> vs_key) {
  Explanation x;
  x.facts = &facts;
  x.replay = std::move(replay);
  x.vs_key = std::move(vs_key);
  if (!facts.revocation) return x;
  const auto& rv = facts.revocation->message;
  for (const auto e : rv.evidence) x.evidence.push_back(examine(log, index, e, x));
  const auto& a = x.replay.assessment;
  if (a && a->step &&
      (revoked_for(x, RevocationReason::kSpeedViolation) ||
       revoked_for(x, RevocationReason::kDigestsLate))) {
    x.recomputed_detail = rules::describe_violation(*a->step, facts.limits);
    x.detail_matches = x.recomputed_detail == rv.detail;
    auto stated = parse_speed(rv.detail);
    auto recomputed = parse_speed(x.recomputed_detail);
    if (stated && recomputed) x.numbers = compare_speed(*stated, *recomputed);
  } else if (a && a->cited) {
    x.recomputed_detail = a->cited->why;
  }
  if (revoked_for(x, RevocationReason::kPolicyWithdrawn)) {
    x.withdrawal = withdrawal_text(x);
    if (x.withdrawal.empty()) x.ok = false;
  }
  if (a && a->support == Support::kUnsupported) x.ok = false;
  if (x.replay.revocation_signature == SigState::kInvalid) x.ok = false;
  if (x.replay.accept_signature == SigState::kInvalid) x.ok = false;
  if (x.replay.starts_signature == SigState::kInvalid) x.ok = false;
  for (const auto& e : x.evidence) {
    if (!e.as_expected) x.ok = false;
  }
  return x;
}

std::string verdict_text(const Explanation& x) {
  const auto& a = x.replay.assessment;
  if (!a) return "the log holds no assessment";
  switch (a->support) {
    case Support::kSupported:
      if (revoked_for(x, RevocationReason::kSpeedViolation) && a->step && a->step->late) {
        return "SUPPORTED AS AN OLDER VS'S REASON: recomputed from the log alone, the step the VS "
               "cites is late, digests_late since rules version 2 (PROTOCOL.md §8.6 \"Late "
               "digests\"); a VS of rules version 1 revoked such a step as speed_violation (and "
               "quarantined), and the log names no later version for this run (§8.18)";
      }
      if (revoked_for(x, RevocationReason::kDigestsLate)) {
        return "SUPPORTED: recomputed from the log alone, the step the VS cites outran the time "
               "it could credit to late digests, and the GS's own clock explains it: no fault "
               "of the GS's movement is claimed";
      }
      return "SUPPORTED: recomputed from the log alone, the fault the VS names is there, in the "
             "evidence it cites";
    case Support::kUnsupported:
      return "NOT SUPPORTED: the recomputation does not find the fault the VS names in its "
             "evidence";
    case Support::kUnconfirmable:
      return "CANNOT BE CONFIRMED from the log: the rule depends on VS configuration the log "
             "does not hold";
    case Support::kNotAGsFault:
      return revoked_for(x, RevocationReason::kGsLeft) ? "NO FAULT of the GS: the GS left cleanly"
                                                       : "NO FAULT of the GS is claimed";
  }
  return "unknown";
}

void print_text(const Explanation& x, std::ostream& out) {
  const auto& f = *x.facts;
  out << "Session " << f.session_id << "\n";
  out << "  GS identity   " << to_hex(f.accept.gs_identity) << "\n";
  out << "  build         " << to_hex(f.accept.sw_hash) << "\n";
  out << "  joined        " << format_utc(f.start_vs_ms) << " (JoinAccept at entry "
      << f.join_accept_seq << ", VS signature " << sig_name(x.replay.accept_signature) << ")\n";
  if (x.lifted_before_join) {
    out << "  admitted      " << app::log_text(lifted_text(*x.lifted_before_join)) << "\n";
  }
  if (!f.revocation) {
    out << "\nThe session has not ended in this log: no Revocation names it. Its last entry is "
        << f.last_seq << " at " << format_utc(f.last_vs_ms)
        << ". Either the VS was still running when this copy was taken, or the log's tail is "
           "missing (check with `audit-cli verify --checkpoint`).\n";
    return;
  }
  const auto& r = *f.revocation;
  const auto& rv = r.message;
  const std::uint64_t lasted = r.vs_time_ms - std::min(r.vs_time_ms, f.start_vs_ms);
  out << "  ended         " << format_utc(r.vs_time_ms) << ", after " << seconds(lasted) << "\n\n";
  out << (f.outcome() == Outcome::kEnded ? "ENDED" : "REVOKED") << ": "
      << revocation_reason_label(rv.reason) << "\n";
  out << "  Revocation at entry " << r.seq << " (revocation_seq " << rv.revocation_seq
      << "), VS signature " << sig_name(x.replay.revocation_signature)
      << (x.vs_key ? "" : " (pass --vs-pubkey to check it)") << "\n";
  out << "  The VS wrote: \"" << app::log_text(rv.detail) << "\"\n";
  if (!x.withdrawal.empty()) out << "  revoked: policy withdrawn (" << x.withdrawal << ")\n";
  if (rules::quarantines(rv.reason)) {
    out << "  QUARANTINED: this revocation quarantines GS identity "
        << short_hex(f.accept.gs_identity)
        << "...; its later joins are refused (PROTOCOL.md §8.16)\n";
    if (x.quarantine) {
      out << "  The quarantine: " << app::log_text(describe_fate(*x.quarantine));
      if (x.quarantine->pardon) out << "; Pardon VS signature " << sig_name(x.pardon_signature);
      out << "\n";
    }
  }
  out << "\nThe rule\n  " << rule_text(rv.reason, f) << ".\n\n";
  const auto& a = x.replay.assessment;
  out << "Recomputed from the log\n  " << (a ? app::log_text(a->explanation) : std::string("-"))
      << "\n";
  if (a && a->step) {
    const auto& s = *a->step;
    out << "  The step: entry " << s.from_log_seq << " (" << fixed(s.from_x_mm / 1000.0, 3) << ", "
        << fixed(s.from_y_mm / 1000.0, 3) << ") -> entry " << s.to_log_seq << " ("
        << fixed(s.to_x_mm / 1000.0, 3) << ", " << fixed(s.to_y_mm / 1000.0, 3) << ") m; allowed "
        << fixed(s.allowed_mm / 1000.0, 3) << " m, excess " << fixed(s.excess_mm / 1000.0, 3)
        << " m.\n";
    if (const auto carried = step_carried(x)) {
      out << "  The player's first appearance here is held to its carried position, "
          << carried_text(*carried) << ".\n";
    }
  }
  if (!x.numbers.empty()) {
    out << "\n  " << std::left << std::setw(22) << "" << std::setw(20) << "the VS wrote"
        << "recomputed\n";
    for (const auto& c : x.numbers) {
      out << "  " << std::setw(22) << c.name << std::setw(20) << c.stated << c.recomputed
          << (c.same() ? "" : "   <- differs") << "\n";
    }
    out << std::right;
  }
  if (x.detail_matches) {
    out << "  "
        << (*x.detail_matches ? "The VS's detail matches the recomputation exactly."
                              : "The VS's detail DIFFERS from the recomputation.")
        << "\n";
  }
  out << "\nEvidence (" << rv.evidence.size() << " entr" << (rv.evidence.size() == 1 ? "y" : "ies")
      << ")\n";
  if (rv.evidence.empty()) out << "  none cited\n";
  for (const auto& e : x.evidence) {
    out << "  entry " << e.seq;
    if (e.entry) {
      const auto& h = e.entry->header;
      out << "  " << kind_label(h.kind) << ", "
          << (h.direction == chains::Direction::kReceived ? "received" : "issued") << " "
          << format_utc(h.vs_time_ms) << ", signature " << sig_name(e.signature) << " (" << e.signer
          << ")";
    }
    if (e.fault) out << "  <- the message at fault";
    out << "\n";
    if (!e.note.empty()) out << "      " << e.note << "\n";
    if (!e.as_expected) out << "      ! this evidence does not hold up\n";
  }
  out << "\nVerdict\n  " << verdict_text(x) << ".\n";
  if (x.replay.revocation_signature == SigState::kInvalid) {
    out << "  ! The Revocation's VS signature does not verify: it is not what the VS signed.\n";
  }
  if (x.replay.starts_signature == SigState::kInvalid) {
    out << "  ! A VsStart of the log does not verify under the VS key (below): the rules version "
           "it states was not taken.\n";
  }
  if (x.replay.problem_count > 0) {
    out << "\n"
        << x.replay.problem_count
        << " problem(s) in this session's log (run `audit-cli verify` for the whole store):\n";
    for (const auto& p : x.replay.problems) out << "  " << to_text(p) << "\n";
  }
}

nlohmann::json to_json(const Explanation& x) {
  const auto& f = *x.facts;
  nlohmann::json out = {{"session_id", f.session_id},
                        {"gs_identity", to_hex(f.accept.gs_identity)},
                        {"sw_hash", to_hex(f.accept.sw_hash)},
                        {"join_accept_seq", f.join_accept_seq},
                        {"start_vs_ms", f.start_vs_ms},
                        {"accept_signature", sig_name(x.replay.accept_signature)},
                        {"vs_starts_signature", sig_name(x.replay.starts_signature)},
                        {"outcome", outcome_name(f.outcome())},
                        {"consistent", x.ok}};
  if (x.lifted_before_join) out["admitted_after"] = lifted_text(*x.lifted_before_join);
  if (!f.revocation) {
    out["revocation"] = nullptr;
    out["last_seq"] = f.last_seq;
    return out;
  }
  const auto& r = *f.revocation;
  const auto& rv = r.message;
  const auto& a = x.replay.assessment;
  out["revocation"] = {{"seq", r.seq},
                       {"revocation_seq", rv.revocation_seq},
                       {"vs_time_ms", r.vs_time_ms},
                       {"reason", revocation_reason_name(rv.reason)},
                       {"reason_code", rv.reason},
                       {"detail", rv.detail},
                       {"signature", sig_name(x.replay.revocation_signature)}};
  if (!x.withdrawal.empty()) out["withdrawal"] = x.withdrawal;
  out["rule"] = rule_text(rv.reason, f);
  out["quarantines_identity"] = rules::quarantines(rv.reason);
  if (x.quarantine) {
    const auto& q = *x.quarantine;
    const auto lapses = q.quarantine.lapses_at_ms();
    out["quarantine"] = {{"end", quarantine_end_name(q.end)},
                         {"quarantine_ms", q.quarantine.quarantine_ms},
                         {"lapses_vs_ms", lapses ? nlohmann::json(*lapses) : nlohmann::json()},
                         {"text", describe_fate(q)}};
    if (q.pardon) {
      out["quarantine"]["pardon"] = {{"seq", q.pardon->seq},
                                     {"vs_time_ms", q.pardon->message.vs_time_ms},
                                     {"reason", q.pardon->message.reason},
                                     {"signature", sig_name(x.pardon_signature)}};
    }
  }
  out["support"] = a ? support_name(a->support) : "unknown";
  out["explanation"] = a ? a->explanation : "";
  if (x.detail_matches) out["detail_matches"] = *x.detail_matches;
  if (!x.recomputed_detail.empty()) out["recomputed_detail"] = x.recomputed_detail;
  if (a && a->step) {
    const auto& s = *a->step;
    out["step"] = {{"player", to_hex(s.player)},
                   {"from_seq", s.from_log_seq},
                   {"to_seq", s.to_log_seq},
                   {"from", {s.from_x_mm, s.from_y_mm}},
                   {"to", {s.to_x_mm, s.to_y_mm}},
                   {"distance_mm", s.distance_mm},
                   {"elapsed_gs_ms", s.elapsed_gs_ms},
                   {"elapsed_vs_ms", s.elapsed_vs_ms},
                   {"elapsed_credited_ms", s.elapsed_credited_ms},
                   {"elapsed_used_ms", s.elapsed_used_ms},
                   {"elapsed_paced_ms", s.elapsed_paced_ms},
                   {"speed_mm_s", s.speed_mm_s},
                   {"allowed_mm", s.allowed_mm},
                   {"excess_mm", s.excess_mm},
                   {"accumulated_excess_mm", s.accumulated_excess_mm},
                   {"accumulated_paced_excess_mm", s.accumulated_paced_excess_mm},
                   {"late", s.late},
                   {"limit_mm_s", f.limits.max_speed_mm_s * (1 + f.limits.tolerance)},
                   {"tolerance", f.limits.tolerance},
                   {"jitter_allowance_ms", f.limits.jitter_allowance_ms},
                   {"max_excess_mm", f.limits.max_excess_mm}};
    const auto carried = step_carried(x);
    out["step"]["carried"] = carried ? carried_json(*carried) : nullptr;
  }
  if (a && a->last_valid_heartbeat_seq) {
    out["last_valid_heartbeat"] = {
        {"seq", *a->last_valid_heartbeat_seq},
        {"vs_time_ms", a->last_valid_heartbeat_vs_ms},
        {"silence_ms", r.vs_time_ms - std::min(r.vs_time_ms, a->last_valid_heartbeat_vs_ms)},
        {"heartbeat_timeout_ms", f.accept.heartbeat_timeout_ms}};
  }
  nlohmann::json numbers = nlohmann::json::array();
  for (const auto& c : x.numbers) {
    numbers.push_back({{"name", c.name}, {"stated", c.stated}, {"recomputed", c.recomputed}});
  }
  out["numbers"] = numbers;
  nlohmann::json evidence = nlohmann::json::array();
  for (const auto& e : x.evidence) {
    nlohmann::json item = {
        {"seq", e.seq},        {"signature", sig_name(e.signature)}, {"signer", e.signer},
        {"at_fault", e.fault}, {"holds_up", e.as_expected},          {"note", e.note}};
    if (e.entry) {
      item["kind"] = kind_label(e.entry->header.kind);
      item["session_id"] = e.entry->header.session_id;
      item["vs_time_ms"] = e.entry->header.vs_time_ms;
      item["direction"] =
          e.entry->header.direction == chains::Direction::kReceived ? "received" : "issued";
    }
    evidence.push_back(item);
  }
  out["evidence"] = evidence;
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : x.replay.problems) problems.push_back(audit::to_json(p));
  out["problems"] = problems;
  return out;
}

int run_explain(const ExplainCommand& cmd) {
  std::optional<KeySource> key;
  if (!cmd.vs_pubkey.empty()) key = usable(load_public_key(cmd.vs_pubkey, "--vs-pubkey"));
  const auto log = usable(open_store(cmd.store));
  const StoreIndex index = usable(build_index(*log));
  const SessionFacts* facts = usable(index.session(cmd.session, cmd.store));
  Explanation x = explain(
      *log, index, *facts,
      usable(replay_session(*log, *facts, key ? std::optional(key->key) : std::nullopt)), key);
  add_quarantine_facts(x, usable(build_quarantine_history(*log, index)));
  if (cmd.json) {
    std::cout << json_text(to_json(x)) << "\n";
  } else {
    print_text(x, std::cout);
  }
  return x.ok ? kExitOk : kExitFailed;
}

}  // namespace

void setup_explain(CLI::App& app, int& exit_code) {
  auto [sub, cmd] = add_command(app, exit_code, "explain",
                                "Explain, with the numbers, why a session ended", run_explain);
  sub->description(
      "Tells in plain words why the session ended or was revoked: the rule (with the limits the "
      "session's JoinAccept signed), what the log shows when recomputed (for a speed violation: "
      "distance, GS and VS elapsed times, the time used, speed, limit and tolerance, excess and "
      "accumulated excess, recomputed with the VS's own physics code and compared number by "
      "number with the detail the VS wrote), and every evidence entry the Revocation cites, "
      "with its signature checked (session traffic under the session key, VS statements under "
      "--vs-pubkey).\n"
      "It ends with a verdict: supported, not supported, not confirmable from the log (a rule "
      "that depends on VS configuration), or no fault of the GS claimed (operator, shutdown, the "
      "GS left cleanly).");
  sub->add_option("STORE", cmd->store, "The store (opened read-only)")->required();
  sub->add_option("--session", cmd->session, "Session id (see `audit-cli sessions`)")->required();
  sub->add_option("--vs-pubkey", cmd->vs_pubkey,
                  "The VS public key (HEX|FILE), to check the VS's signatures on the JoinAccept, "
                  "the Revocation and VS-issued evidence");
  sub->add_flag("--json", cmd->json, "Print one JSON object on stdout");
  set_help_footer(*sub, "",
                  {{kExitOk, "explained and consistent"},
                   {kExitFailed,
                    "the log contradicts the revocation (its evidence does not show the fault, "
                    "or a signature fails)"},
                   {kExitUsage, "usage error, unknown session, or the store cannot be read"}},
                  {"audit-cli explain vs.db --session 7 --vs-pubkey vs.key.pub"});
}

}  // namespace gsvs::audit
