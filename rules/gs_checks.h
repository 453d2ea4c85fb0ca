// The GS's checks on everything the VS sends (docs/PROTOCOL.md §8.8), and the session state they
// keep: the ticket chain, the receipt count and tip, the latest checkpoint. Pure logic; every
// check returns a Result whose error says what is wrong, and changes nothing when it fails.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace gsvs::rules {

// Checks a JoinAccept against the JoinRequest this GS sent: VS signature, the identity,
// session key and sw_hash echoed, join_request_hash = SHA-256 of the request bytes, and usable
// timings (a zero interval would make a busy loop).
Result<protocol::JoinAccept> check_join_accept(ByteView bytes, const crypto::PublicKey& vs_key,
                                               const protocol::JoinRequest& request,
                                               ByteView request_bytes);
Result<protocol::JoinReject> check_join_reject(ByteView bytes, const crypto::PublicKey& vs_key);

// A reason code the VS sent (a JoinRejectReason or RevocationReason), for the log: its name, or
// "unknown reason N".
template <class Reason>
std::string reason_text(std::uint16_t code) {
  const auto reason = static_cast<Reason>(code);
  return protocol::is_known(reason) ? std::string(protocol::reason_name(reason))
                                    : "unknown reason " + std::to_string(code);
}

// The session's checks across a fleet (PROTOCOL.md §8.8 "Handover"): the GS trusts a key set, one
// node at a time is in charge of the session, and a ResumeAccept signed by another key of the set
// hands the session over to that node. What the previous node issued up to the handover point
// (the ResumeAccept's receipt_count and ticket_seq; the new node sends those again, the previous
// node's bytes) must verify under the previous node's key, everything after it under the new
// node's. The chains (ticket seq and prev hash, receipt index and tip) run on unchanged across a
// handover: they bind the session's history whichever node signed each link.
class GsSessionChecks {
 public:
  // `vs_keys` is the set the GS trusts and `accepted_by` the key of it that signed the JoinAccept
  // (the node in charge); `join_accept_bytes` anchors the ticket chain.
  GsSessionChecks(std::vector<crypto::PublicKey> vs_keys, const crypto::PublicKey& accepted_by,
                  const protocol::JoinAccept& accept, ByteView join_accept_bytes);
  // A single VS key: a set of one, which never hands over.
  GsSessionChecks(const crypto::PublicKey& vs_key, const protocol::JoinAccept& accept,
                  ByteView join_accept_bytes);

  // Signature (of the node that issued that ticket_seq), session, ticket_seq = previous + 1,
  // prev_ticket_hash = hash of the previous ticket (of the JoinAccept for ticket 1). Advances the
  // chain on success.
  Result<protocol::PlayTicket> on_ticket(ByteView bytes);

  // Remembers a digest this GS sent, so that its receipt can be matched.
  void digest_sent(std::uint64_t gs_counter, const Hash32& digest_hash);
  // Signature (of the node that issued that receipt_index), session, a digest this GS sent with
  // that hash, receipt_index = previous + 1, receipt_tip = the tip this GS computes. Advances the
  // count and tip on success.
  Result<protocol::ProtectedReceipt> on_receipt(ByteView bytes);
  // Signature of the node in charge, log_size not below the previous checkpoint's of that node's
  // log (a handover starts afresh: another node's log has a size of its own).
  Result<protocol::Checkpoint> on_checkpoint(ByteView bytes);
  // Signature of the node in charge, and session.
  Result<protocol::Revocation> on_revocation(ByteView bytes);

  // The key of the VS node in charge of the session: the one that accepted it, or the one that
  // signed the last ResumeAccept.
  [[nodiscard]] const crypto::PublicKey& vs_key() const { return vs_key_; }
  [[nodiscard]] std::uint64_t receipt_count() const { return receipt_count_; }
  [[nodiscard]] const Hash32& receipt_tip() const { return receipt_tip_; }
  [[nodiscard]] std::uint64_t last_ticket_seq() const { return last_ticket_seq_; }

  // Resumption (PROTOCOL.md §8.15): this GS's state as a GsResume states it (every field but the
  // challenge and the signature), and the check of the VS's answer: signature under any key of
  // the set, session, the hash of the GsResume sent, and the VS's gs_counter, receipt state and
  // last ticket being those the GsResume stated (the VS may hold receipts and tickets the GS
  // never got, within the lag: it sends them again after the ResumeAccept, and they must chain
  // on as any would). On success, a ResumeAccept under another key than the node in charge's
  // hands the session over to its signer.
  [[nodiscard]] protocol::GsResume resume_state(std::uint64_t gs_counter) const;
  Result<protocol::ResumeAccept> on_resume_accept(ByteView bytes, const protocol::GsResume& sent,
                                                  ByteView sent_bytes);

 private:
  // A node that was in charge before a handover, and the last receipt and ticket it issued.
  struct EarlierNode {
    crypto::PublicKey key;
    std::uint64_t last_receipt = 0;
    std::uint64_t last_ticket = 0;
  };
  // The key that must have signed receipt `index` or ticket `seq`: the earliest node whose issue
  // reaches it, else the node in charge.
  [[nodiscard]] const crypto::PublicKey& receipt_signer(std::uint64_t index) const;
  [[nodiscard]] const crypto::PublicKey& ticket_signer(std::uint64_t seq) const;

  std::vector<crypto::PublicKey> vs_keys_;
  crypto::PublicKey vs_key_;  // the node in charge
  // Oldest first; a node is forgotten once this GS holds everything it issued.
  std::vector<EarlierNode> earlier_;
  protocol::SessionId session_id_;
  std::uint64_t last_ticket_seq_ = 0;
  Hash32 last_ticket_hash_;
  std::uint64_t receipt_count_ = 0;
  Hash32 receipt_tip_;
  std::map<std::uint64_t, Hash32> unreceipted_;  // gs_counter -> digest hash
  std::uint64_t checkpoint_size_ = 0;            // of the log of the node in charge
};

}  // namespace gsvs::rules
