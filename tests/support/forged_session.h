// A session built by hand in the test process: a VS key, a GS session key, a signed JoinAccept
// and a ticket chain on top of it, so client-side tests can hand a client any ServerHello,
// ticket, proof or revocation, honest or not, without running vsd or gsd.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"

namespace gsvs::testing {

class ForgedSession {
 public:
  explicit ForgedSession(protocol::SessionId session_id = 7, std::uint32_t ticket_period_ms = 200,
                         std::uint32_t ticket_validity_ms = 400);

  [[nodiscard]] const crypto::SecretKey& vs_key() const { return vs_key_; }
  [[nodiscard]] const crypto::SecretKey& session_key() const { return session_key_; }
  [[nodiscard]] const protocol::JoinAccept& join_accept() const { return join_accept_; }
  [[nodiscard]] const Bytes& join_accept_bytes() const { return join_accept_bytes_; }
  [[nodiscard]] protocol::SessionId session_id() const { return join_accept_.session_id; }
  [[nodiscard]] std::uint32_t validity_ms() const { return join_accept_.ticket_validity_ms; }

  // A ServerHello for the client's hello. `signer` defaults to the session key; `join_accept`
  // to this session's (pass other bytes to forge one).
  Bytes server_hello(const crypto::PublicKey& client_key, const Nonce32& client_nonce,
                     const crypto::SecretKey* signer = nullptr,
                     const Bytes* join_accept = nullptr) const;

  // The next ticket of the chain, binding `nonces`, issued at `issued_ms` (VS wall clock), signed
  // by the VS key. It becomes the chain's head.
  Bytes next_ticket(const std::vector<Nonce32>& nonces, std::uint64_t issued_ms);
  // A ticket with every field chosen by the caller, signed by `signer` (the VS key by default);
  // the chain is left alone.
  Bytes custom_ticket(protocol::PlayTicket ticket, const crypto::SecretKey* signer = nullptr) const;
  // The PlayTicket the chain would issue next (for tests that then spoil a field).
  [[nodiscard]] protocol::PlayTicket draft_ticket(const std::vector<Nonce32>& nonces,
                                                  std::uint64_t issued_ms) const;
  [[nodiscard]] std::uint64_t last_ticket_seq() const { return last_seq_; }

  // A TicketForward for `ticket`: with the proof for nonces[index] of the batch the ticket
  // binds, or without a proof.
  static Bytes forward(const Bytes& ticket, const std::vector<Nonce32>& batch,
                       std::optional<std::uint32_t> index);
  static Bytes forward(const Bytes& ticket) { return forward(ticket, {}, std::nullopt); }

  Bytes revocation(protocol::RevocationReason reason, const std::string& detail,
                   std::uint64_t vs_time_ms, const crypto::SecretKey* signer = nullptr,
                   std::optional<protocol::SessionId> session = std::nullopt) const;

 private:
  crypto::SecretKey vs_key_;
  crypto::SecretKey session_key_;
  protocol::JoinAccept join_accept_;
  Bytes join_accept_bytes_;
  std::uint64_t last_seq_ = 0;
  Hash32 last_hash_;
};

}  // namespace gsvs::testing
