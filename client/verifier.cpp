#include "client/verifier.h"

#include <algorithm>
#include <limits>

#include "protocol/chains.h"
#include "protocol/merkle.h"

namespace gsvs::client {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// a - b as a signed number, saturated: wire times are u64 and may be anything a signer chose.
std::int64_t signed_diff(std::uint64_t a, std::uint64_t b) {
  if (a >= b) {
    const std::uint64_t d = a - b;
    return d > static_cast<std::uint64_t>(kInt64Max) ? kInt64Max : static_cast<std::int64_t>(d);
  }
  const std::uint64_t d = b - a;
  return d > static_cast<std::uint64_t>(kInt64Max) ? -kInt64Max : -static_cast<std::int64_t>(d);
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > kInt64Max - b) return kInt64Max;
  if (b < 0 && a < -kInt64Max - b) return -kInt64Max;
  return a + b;
}

std::int64_t ms_between(SteadyTime from, SteadyTime to) {
  return std::chrono::duration_cast<milliseconds>(to - from).count();
}

}  // namespace

std::string_view credit_name(Credit credit) {
  switch (credit) {
    case Credit::kNone:
      return "none";
    case Credit::kBootstrap:
      return "bootstrap";
    case Credit::kNonce:
      return "nonce";
  }
  return "unknown";
}

TicketVerifier::TicketVerifier(std::vector<crypto::PublicKey> vs_keys, milliseconds skew,
                               SteadyTime handshake_deadline)
    : vs_keys_(std::move(vs_keys)), skew_(skew), deadline_(handshake_deadline) {}

void TicketVerifier::record_nonce(const Nonce32& nonce, SteadyTime sent_at) {
  forget_old_nonces(sent_at);
  if (nonces_.size() >= kMaxRememberedNonces) nonces_.pop_front();
  nonces_.push_back(SentNonce{nonce, sent_at});
}

void TicketVerifier::forget_old_nonces(SteadyTime now) {
  // A nonce older than the validity earns nothing; it is kept one validity longer only so the
  // log can say "stale nonce" rather than "foreign nonce" for a hoarded ticket.
  if (!session_) return;
  const auto keep = 2 * session_->ticket_validity;
  while (!nonces_.empty() && now - nonces_.front().sent_at > keep) nonces_.pop_front();
}

const TicketVerifier::SentNonce* TicketVerifier::find_nonce(const Nonce32& nonce) const {
  // Newest first: the GS proves a client's latest nonce in the batch. (std::find_if over reverse
  // iterators: clang 14 cannot compile a reverse_view over libstdc++ 12's ranges.)
  const auto found = std::find_if(nonces_.rbegin(), nonces_.rend(),
                                  [&](const SentNonce& sent) { return sent.nonce == nonce; });
  return found == nonces_.rend() ? nullptr : &*found;
}

bool TicketVerifier::expired(SteadyTime now) {
  if (now >= deadline_) starved_ = true;
  return starved_;
}

Result<SessionInfo> TicketVerifier::accept_server_hello(ByteView frame,
                                                        const crypto::PublicKey& client_key,
                                                        const Nonce32& client_nonce) {
  if (session_) return Error{"a second ServerHello"};
  auto hello = decode<ServerHello>(frame);
  if (!hello) {
    auto kind = peek_kind(frame);
    if (kind && *kind != MessageKind::kServerHello) {
      return Error{"expected a ServerHello, got " + std::string(kind_name(*kind))};
    }
    return Error{"ServerHello does not decode: " + hello.error()};
  }
  auto accept = decode<JoinAccept>(hello->join_accept);
  if (!accept) return Error{"the embedded JoinAccept does not decode: " + accept.error()};
  // Any key of a fleet's set may have signed it; that node's key is the session's from here on.
  const auto signer =
      std::find_if(vs_keys_.begin(), vs_keys_.end(),
                   [&](const crypto::PublicKey& key) { return verify(*accept, key); });
  if (signer == vs_keys_.end()) {
    return Error{"the JoinAccept is not signed by the pinned VS key" +
                 std::string(vs_keys_.size() > 1 ? " set" : "") + " (session " +
                 std::to_string(accept->session_id) + ")"};
  }
  if (!verify(*hello, accept->session_key)) {
    return Error{"the ServerHello is not signed by the session key " +
                 to_hex(accept->session_key).substr(0, 16) + " that the VS bound to session " +
                 std::to_string(accept->session_id) +
                 ": the GS does not hold that session's key (impostor)"};
  }
  if (hello->session_id != accept->session_id) {
    return Error{"ServerHello names session " + std::to_string(hello->session_id) +
                 " but its JoinAccept is for session " + std::to_string(accept->session_id)};
  }
  if (hello->client_key != client_key) {
    return Error{"ServerHello echoes client key " + to_hex(hello->client_key).substr(0, 16) +
                 ", not this client's (a relayed handshake)"};
  }
  if (hello->client_nonce != client_nonce) {
    return Error{"ServerHello echoes nonce " + short_hex(hello->client_nonce) +
                 ", not the one this client sent (a replayed or relayed handshake)"};
  }
  if (accept->ticket_period_ms == 0 || accept->ticket_validity_ms == 0) {
    return Error{"the JoinAccept announces a ticket period or validity of 0 ms"};
  }
  SessionInfo info;
  info.session_id = accept->session_id;
  info.gs_identity = accept->gs_identity;
  info.session_key = accept->session_key;
  info.sw_hash = accept->sw_hash;
  info.join_accept_hash = chains::message_hash(hello->join_accept);
  info.join_vs_time_ms = accept->vs_time_ms;
  info.ticket_period = milliseconds(accept->ticket_period_ms);
  info.ticket_validity = milliseconds(accept->ticket_validity_ms);
  session_ = info;
  vs_key_ = *signer;
  return info;
}

Result<TicketOutcome> TicketVerifier::accept_ticket(ByteView frame, SteadyTime now,
                                                    std::uint64_t wall_now_ms) {
  if (!session_) return Error{"a TicketForward before the ServerHello"};
  auto forward = decode<TicketForward>(frame);
  if (!forward) return Error{"TicketForward does not decode: " + forward.error()};
  auto ticket = decode<PlayTicket>(forward->ticket);
  if (!ticket) return Error{"the forwarded ticket does not decode: " + ticket.error()};
  const std::string name = "ticket " + std::to_string(ticket->ticket_seq);
  // The key in use, or another of the set: a fleet node that took the session up (a handover).
  // Either way the ticket must chain on (below), which is what binds it to this session's
  // history: a node of the set that does not hold the session has no ticket to chain to.
  const crypto::PublicKey* signer = &vs_key_;
  if (!verify(*ticket, vs_key_)) {
    const auto other =
        std::find_if(vs_keys_.begin(), vs_keys_.end(),
                     [&](const crypto::PublicKey& key) { return verify(*ticket, key); });
    if (other == vs_keys_.end()) {
      return Error{name + " is not signed by the VS key" +
                   std::string(vs_keys_.size() > 1 ? " in use nor by another key of the set" : "")};
    }
    signer = &*other;
  }
  if (ticket->session_id != session_->session_id) {
    return Error{name + " is for session " + std::to_string(ticket->session_id) +
                 ", not this session " + std::to_string(session_->session_id)};
  }
  const bool anchor = last_ticket_seq_ == 0;
  if (anchor) {
    if (ticket->ticket_seq == 0) return Error{"ticket_seq 0 does not exist"};
    if (ticket->ticket_seq == 1 && ticket->prev_ticket_hash != session_->join_accept_hash) {
      return Error{"ticket 1 does not chain to the session's JoinAccept"};
    }
  } else {
    if (ticket->ticket_seq != last_ticket_seq_ + 1) {
      return Error{"chain broken: " + name + " follows ticket " + std::to_string(last_ticket_seq_) +
                   " (expected " + std::to_string(last_ticket_seq_ + 1) + ")"};
    }
    if (ticket->prev_ticket_hash != last_ticket_hash_) {
      return Error{"chain broken: " + name + " does not name ticket " +
                   std::to_string(last_ticket_seq_) + " as its predecessor"};
    }
  }

  // Accepted: from here on the ticket is the latest, whatever credit it earns.
  forget_old_nonces(now);
  TicketOutcome out;
  out.ticket_seq = ticket->ticket_seq;
  out.anchor = anchor;
  const std::int64_t skew = skew_.count();
  const std::int64_t window_left =
      saturating_add(signed_diff(ticket->not_after_ms, wall_now_ms), skew);  // ms, may be < 0
  out.wall_clock_ok = window_left >= 0;
  auto note = [&out](const std::string& text) {
    out.note += (out.note.empty() ? "" : "; ") + text;
  };
  if (!out.wall_clock_ok) {
    note("stale by the wall clock: not_after_ms + skew passed " + std::to_string(-window_left) +
         " ms ago");
  }

  const SentNonce* proven_nonce = nullptr;
  if (forward->has_proof == 1) {
    const bool fits =
        client_binding::verify(forward->nonce, forward->leaf_index, ticket->nonce_count,
                               forward->proof, ticket->client_binding);
    const SentNonce* own = find_nonce(forward->nonce);
    if (!fits) {
      note("nonce proof does not verify against the ticket's client_binding");
    } else if (own == nullptr) {
      note("proof for nonce " + short_hex(forward->nonce) + ", which this client did not send");
    } else if (now - own->sent_at > session_->ticket_validity) {
      note("proof for a nonce sent " + std::to_string(ms_between(own->sent_at, now)) +
           " ms ago, more than the validity of " +
           std::to_string(session_->ticket_validity.count()) + " ms: a hoarded or delayed ticket");
    } else {
      proven_nonce = own;
      out.proven = true;
    }
  }

  if (expired(now)) {
    note("the trust deadline had already passed");
  } else {
    if (anchor) {
      const std::int64_t credit =
          std::min<std::int64_t>(session_->ticket_validity.count(), window_left);
      deadline_ = now + milliseconds(credit);
      out.credit = Credit::kBootstrap;
    }
    if (proven_nonce != nullptr) {
      if (!out.wall_clock_ok) {
        note("nonce proof ignored: the ticket is outside its wall-clock window");
      } else if (proven_nonce->sent_at + session_->ticket_validity > deadline_) {
        deadline_ = proven_nonce->sent_at + session_->ticket_validity;
        out.credit = Credit::kNonce;
      }
    }
  }
  out.deadline = deadline_;
  if (*signer != vs_key_) {
    out.handed_over_to = *signer;
    vs_key_ = *signer;
  }
  last_ticket_seq_ = ticket->ticket_seq;
  last_ticket_hash_ = chains::message_hash(forward->ticket);
  last_ticket_at_ = now;
  return out;
}

Result<Revocation> TicketVerifier::check_revocation(ByteView frame) const {
  auto revocation = decode<Revocation>(frame);
  if (!revocation) return Error{"Revocation does not decode: " + revocation.error()};
  if (!session_) return Error{"a Revocation before the ServerHello"};
  // Any node of the set: a Revocation is a final word on the session, and the node that holds it
  // may have changed since the last ticket (it revokes before it issues one).
  if (std::none_of(vs_keys_.begin(), vs_keys_.end(),
                   [&](const crypto::PublicKey& key) { return verify(*revocation, key); })) {
    return Error{"a Revocation not signed by the VS key" +
                 std::string(vs_keys_.size() > 1 ? " set" : "") + " (forged notice)"};
  }
  if (revocation->session_id != session_->session_id) {
    return Error{"a Revocation for session " + std::to_string(revocation->session_id) +
                 ", not this session " + std::to_string(session_->session_id)};
  }
  return std::move(revocation).value();
}

}  // namespace gsvs::client
