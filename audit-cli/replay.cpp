#include "audit-cli/replay.h"

#include <array>
#include <limits>
#include <utility>
#include <vector>

#include "audit-cli/chain_check.h"
#include "audit-cli/common.h"
#include "audit-cli/session_continuity.h"
#include "protocol/chains.h"

namespace gsvs::audit {

using protocol::MessageKind;

namespace {

class Collector : public SessionModel::Observer {
 public:
  explicit Collector(SessionReplay& replay) : replay_(replay) {}
  void on_received(const ReceivedRecord& record) override { replay_.received.push_back(record); }
  void on_digest(const DigestRecord& record) override {
    // Named: four of the fields are times and counters of one type.
    replay_.digests.push_back(ReplayedDigest{.seq = record.seq,
                                             .vs_time_ms = record.vs_time_ms,
                                             .gs_time_ms = record.digest->gs_time_ms,
                                             .gs_counter = record.digest->gs_counter,
                                             .verdict = record.verdict,
                                             .players = record.digest->players,
                                             .steps = record.steps,
                                             .signature = SigState::kUnchecked});
  }
  void on_revocation(const protocol::Revocation& /*revocation*/,
                     const RevocationAssessment& assessment) override {
    replay_.assessment = assessment;
  }

 private:
  SessionReplay& replay_;
};

}  // namespace

const ReceivedRecord* SessionReplay::received_at(std::uint64_t seq) const {
  for (const auto& r : received) {
    if (r.seq == seq) return &r;
  }
  return nullptr;
}

Result<SessionReplay> replay_session(const storage::Log& log, const SessionFacts& facts,
                                     const std::optional<crypto::PublicKey>& vs_key) {
  SessionReplay replay;
  replay.facts = facts;
  std::optional<SessionModel> model;
  if (facts.adopted) {
    // Taken up from another node of a fleet: its state is the SessionAdopted's (§8.10), and its
    // signature the one this log's VS key answers for.
    auto rules = rules::SessionRules::adopt(*facts.adopted, facts.join_accept_seq);
    if (!rules) return Error{rules.error()};
    model.emplace(std::move(rules).value());
    if (vs_key) {
      replay.accept_signature = sig_state(protocol::verify(*facts.adopted, *vs_key));
    }
  } else {
    model.emplace(facts.join_accept_seq, facts.start_vs_ms, facts.accept,
                  chains::message_hash(facts.accept_bytes));
    // What the session's players started from, replayed as `verify` and vsd hold it (§8.6).
    auto carried = carried_at_join(log, facts);
    if (!carried) return Error{carried.error()};
    model->carry(carried->carried);
    replay.carried = std::move(carried->carried);
    if (vs_key) {
      replay.accept_signature = sig_state(
          verify_stored_signature(MessageKind::kJoinAccept, facts.accept_bytes, 0, *vs_key));
    }
  }
  Collector collector(replay);
  model->set_observer(&collector);
  FindingSink sink(200);
  const EntryLookup lookup = entry_lookup(log);
  // The VS starts after the join: each suspends the session if it is live there (PROTOCOL.md
  // §8.15), as `verify` applies them in log order. The last one before it names the rules version
  // the session was first judged by. Read through the (kind, seq) index.
  std::vector<std::pair<std::uint64_t, protocol::VsStart>> starts;
  std::optional<std::uint32_t> rules_at_join;
  storage::Filter start_filter;
  start_filter.kind = MessageKind::kVsStart;
  Status starts_read = log.scan(start_filter, [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    // A VsStart's word (its rules version above all) counts only when the VS signed it.
    if (vs_key) {
      const bool signed_by_vs =
          verify_stored_signature(MessageKind::kVsStart, entry.message, 0, *vs_key);
      if (!signed_by_vs) {
        replay.starts_signature = SigState::kInvalid;
        sink.add(finding_at(entry.header, check::kSignature,
                            "a valid VS signature (key " + short_hex(*vs_key) + "...)",
                            "a VsStart whose signature does not verify",
                            "not what the VS signed (forged or edited): the run's rules version "
                            "and resume window it states are not taken"));
        return true;
      }
      if (replay.starts_signature == SigState::kUnchecked) {
        replay.starts_signature = SigState::kValid;
      }
    }
    if (auto start = protocol::decode<protocol::VsStart>(entry.message)) {
      if (entry.header.seq < facts.join_accept_seq) {
        rules_at_join = start->rules_version;
      } else {
        starts.emplace_back(entry.header.seq, *start);
      }
    }
    return true;
  });
  if (!starts_read) return Error{starts_read.error()};
  model->judged_under(rules_at_join);
  std::size_t next_start = 0;
  auto starts_before = [&](std::uint64_t seq) {
    for (; next_start < starts.size() && starts[next_start].first < seq; ++next_start) {
      const auto& [position, start] = starts[next_start];
      model->on_vs_start(start, position, sink);
    }
  };
  storage::Filter session_filter;
  session_filter.session_id = facts.session_id;
  Status scanned = log.scan(session_filter, [&](const storage::Entry& entry) {
    const auto& h = entry.header;
    if (h.seq <= facts.join_accept_seq) return true;  // the join itself
    starts_before(h.seq);
    if (h.kind == MessageKind::kJoinAccept) return true;  // a reused id: `verify` reports it
    auto decoded = protocol::decode_any(entry.message);
    std::optional<protocol::AnyMessage> message;
    std::string error;
    if (!decoded) {
      error = decoded.error();
    } else if (check_message_kind(entry, *decoded)) {
      // The row's kind says one thing and its bytes another (`verify` reports it): nothing in the
      // row is taken for either.
      error = "the message is a " + kind_label(protocol::kind_of(*decoded));
    } else {
      message = std::move(decoded).value();
    }
    std::array<SigState, 2> sigs{SigState::kUnchecked, SigState::kUnchecked};
    std::size_t count = 0;
    if (message) {
      count = signature_tags(h.kind).size();
      if (protocol::gs_session_traffic(h.kind)) {
        sigs[0] =
            sig_state(verify_stored_signature(h.kind, entry.message, 0, facts.accept.session_key));
      } else if (protocol::vs_signed(h.kind) && vs_key) {
        sigs[0] = sig_state(verify_stored_signature(h.kind, entry.message, 0, *vs_key));
      }
    }
    if (h.kind == MessageKind::kRevocation && facts.revocation && facts.revocation->seq == h.seq) {
      replay.revocation_signature = sigs[0];
    }
    ModelInput input;
    input.entry = &entry;
    input.message = message ? &*message : nullptr;
    input.decode_error = error;
    input.signatures = std::span<const SigState>(sigs.data(), std::min<std::size_t>(count, 2));
    input.position = h.seq;
    const std::size_t digests_before = replay.digests.size();
    model->add(input, sink, lookup);
    if (replay.digests.size() > digests_before) {
      replay.digests.back().signature = sigs[0];
    } else if (const auto* digest =
                   message ? std::get_if<protocol::TranscriptDigest>(&*message) : nullptr;
               digest != nullptr && !replay.received.empty() &&
               replay.received.back().seq == h.seq &&
               replay.received.back().verdict == Verdict::kAfterRevocation) {
      // The model no longer judges the session; the digest is kept so that its positions can
      // still be shown and recomputed (`timeline`).
      replay.digests.push_back(ReplayedDigest{h.seq,
                                              h.vs_time_ms,
                                              digest->gs_time_ms,
                                              digest->gs_counter,
                                              Verdict::kAfterRevocation,
                                              digest->players,
                                              {},
                                              sigs[0]});
    }
    return true;
  });
  if (!scanned) return Error{scanned.error()};
  starts_before(std::numeric_limits<std::uint64_t>::max());
  model->finish(sink);
  replay.problems = sink.kept();
  replay.problem_count = sink.failures() + sink.warnings();
  return replay;
}

}  // namespace gsvs::audit
