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
  Outcome outcome = Outcome::kNotRecomputable;
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
  // The session's own message of type M at i; nullptr for context entries (context()).
  template <class M>
  const M* as(std::size_t i) const {
    if (context(i)) return nullptr;
    return state_[i].message ? std::get_if<M>(&*state_[i].message) : nullptr;
  }
  // An entry logged under another session (or none, as checkpoints are): in a report whose session
  // has no Revocation, the stretch of the log that shows none (check_end_state()); anywhere
  // else a problem. Only its hash, link and inclusion are checked; no verdict reads it.
  bool context(std::size_t i) const { return entry(i).header.session_id != ev_.session_id; }

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

  // report_verdicts.cpp
  bool accepted_gs_message(std::size_t i) const;
  std::optional<std::size_t> cited(std::size_t position) const;
  // The one entry a verdict about a single message rests on; nullopt, with the explanation set,
  // when the revocation cites none, several, or one the report lacks.
  std::optional<std::size_t> sole_cited(Verdict& v) const;
  std::vector<std::size_t> receipts_before(std::uint64_t before_seq, const std::string& where);
  Verdict compute_verdict();
  Verdict decision_verdict(protocol::RevocationReason reason);
  std::vector<std::size_t> check_replay_complete(const std::vector<std::size_t>& replayed,
                                                 std::uint64_t cited, const std::string& where);
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
  std::map<std::uint64_t, std::size_t> receipts_;
};

}  // namespace gsvs::audit::report::detail
