#include "tests/support/forged_session.h"

#include "protocol/chains.h"
#include "protocol/merkle.h"

namespace gsvs::testing {

using namespace protocol;  // NOLINT(google-build-using-namespace)

ForgedSession::ForgedSession(SessionId session_id, std::uint32_t ticket_period_ms,
                             std::uint32_t ticket_validity_ms)
    : vs_key_(crypto::SecretKey::generate()), session_key_(crypto::SecretKey::generate()) {
  join_accept_.session_id = session_id;
  join_accept_.gs_identity = crypto::SecretKey::generate().public_key();
  join_accept_.session_key = session_key_.public_key();
  join_accept_.sw_hash = crypto::sha256(as_bytes("forged build"));
  join_accept_.join_request_hash = crypto::sha256(as_bytes("forged join request"));
  join_accept_.vs_time_ms = 1'700'000'000'000;
  join_accept_.heartbeat_interval_ms = 100;
  join_accept_.heartbeat_timeout_ms = 800;
  join_accept_.ticket_period_ms = ticket_period_ms;
  join_accept_.ticket_validity_ms = ticket_validity_ms;
  sign(join_accept_, vs_key_);
  join_accept_bytes_ = encode(join_accept_);
  last_hash_ = chains::message_hash(join_accept_bytes_);
}

Bytes ForgedSession::server_hello(const crypto::PublicKey& client_key, const Nonce32& client_nonce,
                                  const crypto::SecretKey* signer, const Bytes* join_accept) const {
  ServerHello hello;
  hello.session_id = session_id();
  hello.client_key = client_key;
  hello.client_nonce = client_nonce;
  hello.gs_time_ms = 1'700'000'000'000;
  hello.join_accept = join_accept != nullptr ? *join_accept : join_accept_bytes_;
  sign(hello, signer != nullptr ? *signer : session_key_);
  return encode(hello);
}

PlayTicket ForgedSession::draft_ticket(const std::vector<Nonce32>& nonces,
                                       std::uint64_t issued_ms) const {
  PlayTicket t;
  t.session_id = session_id();
  t.ticket_seq = last_seq_ + 1;
  t.prev_ticket_hash = last_hash_;
  t.issued_ms = issued_ms;
  t.not_after_ms = issued_ms + join_accept_.ticket_validity_ms;
  t.client_binding = client_binding::root(nonces);
  t.nonce_count = static_cast<std::uint32_t>(nonces.size());
  return t;
}

Bytes ForgedSession::next_ticket(const std::vector<Nonce32>& nonces, std::uint64_t issued_ms) {
  Bytes bytes = custom_ticket(draft_ticket(nonces, issued_ms));
  ++last_seq_;
  last_hash_ = chains::message_hash(bytes);
  return bytes;
}

Bytes ForgedSession::custom_ticket(PlayTicket ticket, const crypto::SecretKey* signer) const {
  sign(ticket, signer != nullptr ? *signer : vs_key_);
  return encode(ticket);
}

Bytes ForgedSession::forward(const Bytes& ticket, const std::vector<Nonce32>& batch,
                             std::optional<std::uint32_t> index) {
  TicketForward f;
  f.ticket = ticket;
  if (index) {
    f.has_proof = 1;
    f.nonce = batch.at(*index);
    f.leaf_index = *index;
    f.proof = client_binding::proof(batch, *index);
  }
  return encode(f);
}

Bytes ForgedSession::revocation(RevocationReason reason, const std::string& detail,
                                std::uint64_t vs_time_ms, const crypto::SecretKey* signer,
                                std::optional<SessionId> session) const {
  Revocation r;
  r.session_id = session.value_or(session_id());
  r.revocation_seq = 1;
  r.vs_time_ms = vs_time_ms;
  r.reason = static_cast<std::uint16_t>(reason);
  r.detail = detail;
  r.evidence = {3, 4};
  sign(r, signer != nullptr ? *signer : vs_key_);
  return encode(r);
}

}  // namespace gsvs::testing
