#include "rules/gs_checks.h"

#include <algorithm>

#include "protocol/chains.h"

namespace gsvs::rules {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

// At most this many digests wait for their receipts; the VS receipts each one in order, so more
// means the VS stopped answering, and the oldest are forgotten.
constexpr std::size_t kMaxUnreceipted = 4096;

template <class M>
Result<M> decoded(ByteView bytes) {
  auto m = decode<M>(bytes);
  if (!m) return Error{std::string(kind_name(M::kKind)) + " does not decode: " + m.error()};
  return m;
}

template <class M>
Status signed_by(const M& m, const crypto::PublicKey& key, std::string_view whose) {
  if (verify(m, key)) return Status::success();
  return Error{std::string(kind_name(M::kKind)) + " signature does not verify under " +
               std::string(whose) + " " + short_hex(key)};
}

template <class M>
Result<M> decode_signed(ByteView bytes, const crypto::PublicKey& vs_key) {
  auto m = decoded<M>(bytes);
  if (!m) return m;
  if (auto ok = signed_by(*m, vs_key, "the VS key"); !ok) return Error{ok.error()};
  return m;
}

}  // namespace

Result<JoinAccept> check_join_accept(ByteView bytes, const crypto::PublicKey& vs_key,
                                     const JoinRequest& request, ByteView request_bytes) {
  auto accept = decode_signed<JoinAccept>(bytes, vs_key);
  if (!accept) return accept;
  const JoinAccept& a = *accept;
  if (a.gs_identity != request.gs_identity) return Error{"JoinAccept names another GS identity"};
  if (a.session_key != request.session_key) return Error{"JoinAccept names another session key"};
  if (a.sw_hash != request.sw_hash) return Error{"JoinAccept pins another sw_hash"};
  if (a.join_request_hash != chains::message_hash(request_bytes)) {
    return Error{"JoinAccept answers another JoinRequest (join_request_hash differs)"};
  }
  if (a.session_id == 0) return Error{"JoinAccept has session_id 0"};
  if (a.heartbeat_interval_ms == 0 || a.ticket_period_ms == 0 || a.max_speed_mm_s == 0) {
    return Error{"JoinAccept announces a zero heartbeat interval, ticket period or speed limit"};
  }
  return accept;
}

Result<JoinReject> check_join_reject(ByteView bytes, const crypto::PublicKey& vs_key) {
  return decode_signed<JoinReject>(bytes, vs_key);
}

GsSessionChecks::GsSessionChecks(std::vector<crypto::PublicKey> vs_keys,
                                 const crypto::PublicKey& accepted_by, const JoinAccept& accept,
                                 ByteView join_accept_bytes)
    : vs_keys_(std::move(vs_keys)),
      vs_key_(accepted_by),
      session_id_(accept.session_id),
      last_ticket_hash_(chains::message_hash(join_accept_bytes)) {}

GsSessionChecks::GsSessionChecks(const crypto::PublicKey& vs_key, const JoinAccept& accept,
                                 ByteView join_accept_bytes)
    : GsSessionChecks(std::vector<crypto::PublicKey>{vs_key}, vs_key, accept, join_accept_bytes) {}

const crypto::PublicKey& GsSessionChecks::receipt_signer(std::uint64_t index) const {
  for (const EarlierNode& node : earlier_) {
    if (index <= node.last_receipt) return node.key;
  }
  return vs_key_;
}

const crypto::PublicKey& GsSessionChecks::ticket_signer(std::uint64_t seq) const {
  for (const EarlierNode& node : earlier_) {
    if (seq <= node.last_ticket) return node.key;
  }
  return vs_key_;
}

Result<PlayTicket> GsSessionChecks::on_ticket(ByteView bytes) {
  auto ticket = decoded<PlayTicket>(bytes);
  if (!ticket) return ticket;
  if (auto ok = signed_by(*ticket, ticket_signer(ticket->ticket_seq),
                          "the key of the VS node that issued it");
      !ok) {
    return Error{ok.error()};
  }
  if (ticket->session_id != session_id_) {
    return Error{"PlayTicket for session " + std::to_string(ticket->session_id)};
  }
  if (ticket->ticket_seq != last_ticket_seq_ + 1) {
    return Error{"PlayTicket " + std::to_string(ticket->ticket_seq) + " follows ticket " +
                 std::to_string(last_ticket_seq_)};
  }
  if (ticket->prev_ticket_hash != last_ticket_hash_) {
    return Error{"PlayTicket " + std::to_string(ticket->ticket_seq) +
                 " does not chain: prev_ticket_hash " + short_hex(ticket->prev_ticket_hash) +
                 ", expected " + short_hex(last_ticket_hash_)};
  }
  last_ticket_seq_ = ticket->ticket_seq;
  last_ticket_hash_ = chains::message_hash(bytes);
  return ticket;
}

void GsSessionChecks::digest_sent(std::uint64_t gs_counter, const Hash32& digest_hash) {
  unreceipted_[gs_counter] = digest_hash;
  while (unreceipted_.size() > kMaxUnreceipted) unreceipted_.erase(unreceipted_.begin());
}

Result<ProtectedReceipt> GsSessionChecks::on_receipt(ByteView bytes) {
  auto receipt = decoded<ProtectedReceipt>(bytes);
  if (!receipt) return receipt;
  if (auto ok = signed_by(*receipt, receipt_signer(receipt->receipt_index),
                          "the key of the VS node that issued it");
      !ok) {
    return Error{ok.error()};
  }
  const ProtectedReceipt& r = *receipt;
  if (r.session_id != session_id_) {
    return Error{"ProtectedReceipt for session " + std::to_string(r.session_id)};
  }
  auto sent = unreceipted_.find(r.gs_counter);
  if (sent == unreceipted_.end()) {
    return Error{"ProtectedReceipt names gs_counter " + std::to_string(r.gs_counter) +
                 ", which is no digest awaiting a receipt"};
  }
  if (sent->second != r.digest_hash) {
    return Error{"ProtectedReceipt for gs_counter " + std::to_string(r.gs_counter) +
                 " has digest_hash " + short_hex(r.digest_hash) + ", the digest sent was " +
                 short_hex(sent->second)};
  }
  if (r.receipt_index != receipt_count_ + 1) {
    return Error{"ProtectedReceipt index " + std::to_string(r.receipt_index) + " follows receipt " +
                 std::to_string(receipt_count_)};
  }
  const Hash32 tip =
      chains::next_receipt_tip(session_id_, r.receipt_index, receipt_tip_, r.digest_hash);
  if (tip != r.receipt_tip) {
    return Error{"ProtectedReceipt " + std::to_string(r.receipt_index) + " carries receipt_tip " +
                 short_hex(r.receipt_tip) + ", the chain gives " + short_hex(tip)};
  }
  receipt_count_ = r.receipt_index;
  receipt_tip_ = tip;
  unreceipted_.erase(unreceipted_.begin(), std::next(sent));
  return receipt;
}

Result<Checkpoint> GsSessionChecks::on_checkpoint(ByteView bytes) {
  auto checkpoint = decode_signed<Checkpoint>(bytes, vs_key_);
  if (!checkpoint) return checkpoint;
  if (checkpoint->log_size < checkpoint_size_) {
    return Error{"Checkpoint log_size " + std::to_string(checkpoint->log_size) +
                 " is below the previous checkpoint's " + std::to_string(checkpoint_size_)};
  }
  checkpoint_size_ = checkpoint->log_size;
  return checkpoint;
}

Result<Revocation> GsSessionChecks::on_revocation(ByteView bytes) {
  auto revocation = decode_signed<Revocation>(bytes, vs_key_);
  if (!revocation) return revocation;
  if (revocation->session_id != session_id_) {
    return Error{"Revocation for session " + std::to_string(revocation->session_id)};
  }
  return revocation;
}

GsResume GsSessionChecks::resume_state(std::uint64_t gs_counter) const {
  GsResume resume;
  resume.session_id = session_id_;
  resume.gs_counter = gs_counter;
  resume.receipt_count = receipt_count_;
  resume.receipt_tip = receipt_tip_;
  resume.ticket_seq = last_ticket_seq_;
  resume.ticket_hash = last_ticket_seq_ == 0 ? Hash32{} : last_ticket_hash_;
  return resume;
}

Result<ResumeAccept> GsSessionChecks::on_resume_accept(ByteView bytes, const GsResume& sent,
                                                       ByteView sent_bytes) {
  auto accept = decoded<ResumeAccept>(bytes);
  if (!accept) return accept;
  // Any node of the set may take the session up (a fleet's adoption); the node in charge first,
  // as it nearly always is.
  const crypto::PublicKey* signer = nullptr;
  if (verify(*accept, vs_key_)) {
    signer = &vs_key_;
  } else {
    const auto found =
        std::find_if(vs_keys_.begin(), vs_keys_.end(),
                     [&](const crypto::PublicKey& key) { return verify(*accept, key); });
    if (found == vs_keys_.end()) {
      return Error{"ResumeAccept signature does not verify under any key of the VS key set"};
    }
    signer = &*found;
  }
  if (accept->session_id != session_id_) {
    return Error{"ResumeAccept for session " + std::to_string(accept->session_id)};
  }
  if (accept->resume_hash != chains::message_hash(sent_bytes)) {
    return Error{"ResumeAccept answers another GsResume"};
  }
  if (accept->gs_counter != sent.gs_counter) {
    return Error{"ResumeAccept gs_counter " + std::to_string(accept->gs_counter) + ", sent " +
                 std::to_string(sent.gs_counter)};
  }
  if (accept->receipt_count < sent.receipt_count ||
      (accept->receipt_count == sent.receipt_count && accept->receipt_tip != sent.receipt_tip)) {
    return Error{"ResumeAccept receipt state (" + std::to_string(accept->receipt_count) +
                 " receipts) is not the one this GS holds (" + std::to_string(sent.receipt_count) +
                 ")"};
  }
  // The VS may hold tickets this GS never got (lost in the cut, within the lag); it sends them
  // again next, and on_ticket() holds each to the chain from the ticket this GS holds.
  if (accept->ticket_seq < sent.ticket_seq ||
      (accept->ticket_seq == sent.ticket_seq && accept->ticket_hash != sent.ticket_hash)) {
    return Error{"ResumeAccept names ticket " + std::to_string(accept->ticket_seq) +
                 ", this GS holds ticket " + std::to_string(sent.ticket_seq)};
  }
  if (*signer != vs_key_) {
    // A handover: what the ResumeAccept states is the previous node's issue, which the new node
    // sends again in that node's bytes; the new node signs only what comes after it. Nodes
    // whose issue this GS already holds in full are no longer needed.
    std::erase_if(earlier_, [&](const EarlierNode& node) {
      return node.last_receipt <= receipt_count_ && node.last_ticket <= last_ticket_seq_;
    });
    earlier_.push_back(EarlierNode{vs_key_, accept->receipt_count, accept->ticket_seq});
    vs_key_ = *signer;
    checkpoint_size_ = 0;  // the new node's log, with a size of its own
  }
  return accept;
}

}  // namespace gsvs::rules
