// The inside of analyze() (report_format.h): one Analyzer walks the evidence once. Its work is
// spread by responsibility over report_analyzer.cpp (decoding, anchors, keys), report_checks.cpp
// (the checks of the evidence), report_verdicts.cpp (the verdict per revocation reason) and
// report_document.cpp (the report document). Only those files include this header.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "audit-cli/message_json.h"
#include "audit-cli/report_format.h"
#include "rules/movement.h"

namespace gsvs::audit::report::detail {

using protocol::AnyMessage;
using protocol::PublicKey;
using protocol::SessionId;

using protocol::kind_of;
using protocol::verify_signature;

struct EntryState {
  std::optional<AnyMessage> message;
  std::string decode_error;
  Hash32 recomputed_hash;
  Hash32 message_hash;
  std::string where;
  bool signatures_ok = true;  // every signature verified (VS ones only when a key was given)
  bool session_ok = true;     // header and message name the report's session
};

struct CheckpointState {
  std::optional<protocol::Checkpoint> checkpoint;
  std::string where;
  bool used = false;
};

struct Verdict {
  Outcome outcome = Outcome::kRefuted;  // until the evidence bears the verdict out
  std::string explanation;
  nlohmann::json facts = nlohmann::json::object();
};

class Analyzer {
 public:
  // Both must outlive the Analyzer.
  Analyzer(const Evidence& evidence, const std::optional<PublicKey>& vs_key)
      : ev_(evidence), vs_key_(vs_key) {}

  Analysis run();

 private:
  void problem(std::string where, std::string what) {
    out_.problems.push_back(Problem{std::move(where), std::move(what)});
  }

  const Entry& entry(std::size_t i) const { return ev_.entries[i]; }
  std::optional<std::size_t> index_of(std::uint64_t seq) const {
    auto it = by_seq_.find(seq);
    if (it == by_seq_.end()) return std::nullopt;
    return it->second;
  }
  // The message of type M at i, whichever session's entry it is; nullptr when it is none or does
  // not decode.
  template <class M>
  const M* any_as(std::size_t i) const {
    return state_[i].message ? std::get_if<M>(&*state_[i].message) : nullptr;
  }
  // The session's own message of type M at i; nullptr for context entries (context()).
  template <class M>
  const M* as(std::size_t i) const {
    return context(i) ? nullptr : any_as<M>(i);
  }
  // What the movement rules read of the TranscriptDigest at i: its GS time, and when and where
  // the VS logged it.
  rules::DigestSample digest_sample(std::size_t i, const protocol::TranscriptDigest& digest) const {
    return {digest.gs_time_ms, entry(i).header.vs_time_ms, entry(i).header.seq};
  }
  // An entry logged under another session (or none, as checkpoints are): in a report whose session
  // has no Revocation, the stretch of the log that shows none (check_end_state()); in a speed
  // verdict's report, an earlier session of the identity (check_earlier_sessions()); anywhere
  // else a problem. as<M>() never returns one, so the session's own checks do not read it.
  bool context(std::size_t i) const { return entry(i).header.session_id != ev_.session_id; }
  // An earlier session of the identity in the report: its JoinAccept's message, when the entry
  // is one of that session's; nullptr otherwise.
  const protocol::JoinAccept* earlier_accept_of(std::size_t i) const;

  // report_analyzer.cpp
  void decode_all();
  void find_session_anchors();
  void decode_checkpoints();
  std::optional<PublicKey> key_for(Signer signer, std::size_t i) const;

  // report_checks.cpp
  void check_entry(std::size_t i);
  void check_inclusion(std::size_t i);
  void check_join();
  void check_receipts_and_tickets();
  void check_checkpoints();

  // report_continuity.cpp: the identity's earlier sessions a speed verdict's replay starts from
  // (PROTOCOL.md §8.6 "Continuity across sessions"): each one's JoinAccept, Revocation, receipts
  // 1..R and the digests they notarize, checked (VS signatures, the session key's, the receipt
  // chain) and replayed through rules::ContinuityReplay into carried_.
  void check_earlier_sessions();
  nlohmann::json earlier_sessions_json() const;

  // report_verdicts.cpp
  bool accepted_gs_message(std::size_t i) const;
  std::optional<std::size_t> cited(std::size_t position) const;
  // The one entry a verdict about a single message rests on; nullopt, with `needs` as the
  // explanation, when the revocation cites none, several, or one the report lacks, or when the
  // verdict also rests on the JoinAccept (`on_accept`) and the report has none.
  std::optional<std::size_t> sole_cited(Verdict& v, std::string needs,
                                        bool on_accept = false) const;
  // The same for a verdict about a message that failed: it must cite that message.
  std::optional<std::size_t> sole_cited(Verdict& v) const;
  std::vector<std::size_t> receipts_before(std::uint64_t before_seq);
  Verdict compute_verdict();
  Verdict decision_verdict(protocol::RevocationReason reason);
  // Feeds the session's TranscriptDigests the VS accepted up to entry `through`, in log order, to
  // `replay(i, digest)` until it returns true (a verdict found); returns the entries fed.
  template <class Replay>
  std::vector<std::size_t> replay_digests(std::uint64_t through, Replay replay);
  std::vector<std::size_t> check_replay_complete(const std::vector<std::size_t>& replayed,
                                                 std::uint64_t cited);
  Verdict speed_verdict();
  Verdict player_cap_verdict();
  Verdict bad_signature_verdict();
  Verdict malformed_verdict();
  Verdict session_mismatch_verdict();
  Verdict counter_verdict();
  Verdict sw_hash_verdict();
  Verdict receipt_tip_verdict();
  Verdict missed_heartbeats_verdict();
  Verdict digests_stopped_verdict();

  // report_document.cpp
  nlohmann::json session_json() const;
  nlohmann::json entry_json(std::size_t i) const;
  nlohmann::json checkpoint_json(std::size_t i) const;
  void build_document(const std::optional<Verdict>& verdict);
  // A report without a Revocation must hold every entry from the session's last VS-issued entry
  // before its latest checkpoint to the end of that checkpoint, none of them a Revocation of the
  // session: that is what shows the session was not revoked through the checkpoint. Sets
  // not_revoked_through_.
  void check_end_state();
  std::optional<std::uint64_t> not_revoked_through_;

  const Evidence& ev_;
  const std::optional<PublicKey>& vs_key_;
  Analysis out_;
  std::vector<EntryState> state_;
  std::map<std::uint64_t, std::size_t> by_seq_;
  std::vector<CheckpointState> cp_state_;
  std::map<std::uint64_t, std::size_t> cp_by_size_;
  std::optional<std::size_t> accept_index_;
  std::optional<std::size_t> request_index_;
  std::optional<std::size_t> revocation_index_;
  std::optional<protocol::JoinAccept> accept_;
  std::optional<protocol::Revocation> revocation_;
  std::set<std::uint64_t> exempt_;
  struct EarlierSession {
    std::size_t accept_index = 0;
    protocol::JoinAccept accept;
    std::optional<std::size_t> revocation_index;
    std::map<std::uint64_t, std::size_t> receipts;  // receipt_index -> entry
    std::size_t digests = 0;                        // notarized digests replayed
  };
  std::map<SessionId, EarlierSession> earlier_;
  // What the session's players started from, as the earlier sessions in the report leave the
  // rules' ledger at its JoinAccept.
  std::vector<rules::NotarizedPosition> carried_;
  std::map<std::uint64_t, std::size_t> receipts_;
};

}  // namespace gsvs::audit::report::detail
