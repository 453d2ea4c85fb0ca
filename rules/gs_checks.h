// The GS's checks on everything the VS sends (docs/PROTOCOL.md §8.8), and the session state they
// keep: the ticket chain, the receipt count and tip, the latest checkpoint. Pure logic; every
// check returns a Result whose error says what is wrong, and changes nothing when it fails.
#pragma once

#include <cstdint>
#include <map>
#include <string>

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
  auto name = protocol::reason_name(static_cast<Reason>(code));
  return name.empty() ? "unknown reason " + std::to_string(code) : std::string(name);
}

class GsSessionChecks {
 public:
  // `join_accept_bytes` anchors the ticket chain.
  GsSessionChecks(const crypto::PublicKey& vs_key, const protocol::JoinAccept& accept,
                  ByteView join_accept_bytes);

  // Signature, session, ticket_seq = previous + 1, prev_ticket_hash = hash of the previous ticket
  // (of the JoinAccept for ticket 1). Advances the chain on success.
  Result<protocol::PlayTicket> on_ticket(ByteView bytes);

  // Remembers a digest this GS sent, so that its receipt can be matched.
  void digest_sent(std::uint64_t gs_counter, const Hash32& digest_hash);
  // Signature, session, a digest this GS sent with that hash, receipt_index = previous + 1,
  // receipt_tip = the tip this GS computes. Advances the count and tip on success.
  Result<protocol::ProtectedReceipt> on_receipt(ByteView bytes);
  // Signature, log_size not below the previous checkpoint's.
  Result<protocol::Checkpoint> on_checkpoint(ByteView bytes);
  // Signature and session.
  Result<protocol::Revocation> on_revocation(ByteView bytes);

  // The key of the VS node that accepted the session, which signs all it sends.
  [[nodiscard]] const crypto::PublicKey& vs_key() const { return vs_key_; }
  [[nodiscard]] std::uint64_t receipt_count() const { return receipt_count_; }
  [[nodiscard]] const Hash32& receipt_tip() const { return receipt_tip_; }
  [[nodiscard]] std::uint64_t last_ticket_seq() const { return last_ticket_seq_; }

  // Resumption (PROTOCOL.md §8.15): this GS's state as a GsResume states it (every field but the
  // challenge and the signature), and the check of the VS's answer: signature, session, the
  // hash of the GsResume sent, and the VS's gs_counter, receipt state and last ticket being
  // those the GsResume stated (the VS may hold receipts and tickets the GS never got, within the
  // lag: it sends them again after the ResumeAccept, and they must chain on as any would).
  [[nodiscard]] protocol::GsResume resume_state(std::uint64_t gs_counter) const;
  Result<protocol::ResumeAccept> on_resume_accept(ByteView bytes, const protocol::GsResume& sent,
                                                  ByteView sent_bytes) const;

 private:
  crypto::PublicKey vs_key_;
  protocol::SessionId session_id_;
  std::uint64_t last_ticket_seq_ = 0;
  Hash32 last_ticket_hash_;
  std::uint64_t receipt_count_ = 0;
  Hash32 receipt_tip_;
  std::map<std::uint64_t, Hash32> unreceipted_;  // gs_counter -> digest hash
  std::uint64_t checkpoint_size_ = 0;
};

}  // namespace gsvs::rules
