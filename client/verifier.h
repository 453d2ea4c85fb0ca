// The client's judgement of its GS, with no I/O and no clock of its own: the ServerHello checks,
// the ticket chain, the nonce proofs and the trust deadline of docs/PROTOCOL.md §8.12 and §9.
// Every call is handed the current time (monotonic, and wall clock where the rule needs it), so
// tests can replay any timeline.
//
// Rules as implemented (they follow the spec, with the v1 amendment that the wall-clock check on
// a ticket is only `client_now <= not_after_ms + skew`):
// - Before the first ticket, the deadline is the end of the handshake timeout.
// - The first ticket after the handshake is the chain anchor. It sets the deadline to
//   now + min(validity, not_after_ms + skew - client_now), which is in the past for a ticket that
//   is already stale: such a GS is dropped at once.
// - A later ticket that passes the wall-clock check and proves one of the client's own nonces
//   sent within the last `validity` moves the deadline to max(deadline, send_time + validity).
// - Any other ticket keeps the chain going but gives no credit.
// - Once the deadline has passed it never moves again: a starved client stays starved.
//
// Threading: none; one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::client {

using SteadyTime = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

// What the client learns from a valid ServerHello and keeps for the session.
struct SessionInfo {
  protocol::SessionId session_id = 0;
  crypto::PublicKey gs_identity;
  crypto::PublicKey session_key;
  Hash32 sw_hash;
  Hash32 join_accept_hash;  // anchors ticket 1
  std::uint64_t join_vs_time_ms = 0;
  milliseconds ticket_period{0};
  milliseconds ticket_validity{0};
};

// How a ticket moved the trust deadline.
enum class Credit {
  kNone,       // chain holds, deadline unchanged
  kBootstrap,  // first ticket after the handshake: wall-clock window
  kNonce,      // proof for one of the client's own recent nonces
};
std::string_view credit_name(Credit credit);

struct TicketOutcome {
  std::uint64_t ticket_seq = 0;
  bool anchor = false;         // the first ticket after the handshake
  bool wall_clock_ok = false;  // client_now <= not_after_ms + skew
  bool proven = false;         // the proof verifies for an own nonce sent within validity
  Credit credit = Credit::kNone;
  SteadyTime deadline;  // after this ticket
  std::string note;     // why the ticket earned no (or less) credit; empty when all is well
  // Set when this ticket is signed by another key of the set than the one in use: the session
  // was handed over to that VS node (PROTOCOL.md §8.12), whose key is in use from here on.
  std::optional<crypto::PublicKey> handed_over_to;
};

class TicketVerifier {
 public:
  // `vs_keys` are the VS public keys to trust: one, or a fleet's key set, of which the key that
  // signed the ServerHello's JoinAccept is in use for the session until a ticket under another
  // key of the set hands it over (a fleet node took the session up); `skew` the allowed
  // wall-clock skew on tickets; `handshake_deadline` the trust deadline until the first ticket
  // arrives.
  TicketVerifier(std::vector<crypto::PublicKey> vs_keys, milliseconds skew,
                 SteadyTime handshake_deadline);

  // Records a nonce the client is about to send (the hello nonce too). Call it before the nonce
  // leaves, so the recorded time is never later than the real one: credit is counted from it.
  void record_nonce(const Nonce32& nonce, SteadyTime sent_at);

  // §8.12 checks 1-5 on the first frame from the GS. `client_key` and `client_nonce` are those
  // of the ClientHello this client sent. Any error means impostor or no valid join (exit 5).
  Result<SessionInfo> accept_server_hello(ByteView frame, const crypto::PublicKey& client_key,
                                          const Nonce32& client_nonce);

  // §8.12 checks 1-6 on a TicketForward. An error is a protocol violation (exit 7) and leaves
  // the state unchanged. On success the ticket is the latest accepted one.
  Result<TicketOutcome> accept_ticket(ByteView frame, SteadyTime now, std::uint64_t wall_now_ms);

  // A Revocation that decodes, verifies under any key of the VS key set and names this session;
  // an error is a protocol violation (exit 7).
  [[nodiscard]] Result<protocol::Revocation> check_revocation(ByteView frame) const;

  [[nodiscard]] SteadyTime deadline() const { return deadline_; }
  // True once `now` has reached the deadline; from then on no ticket extends it.
  bool expired(SteadyTime now);

  [[nodiscard]] const std::optional<SessionInfo>& session() const { return session_; }
  [[nodiscard]] bool has_ticket() const { return last_ticket_seq_ != 0; }
  [[nodiscard]] std::uint64_t last_ticket_seq() const { return last_ticket_seq_; }
  [[nodiscard]] const Hash32& last_ticket_hash() const { return last_ticket_hash_; }
  [[nodiscard]] std::optional<SteadyTime> last_ticket_at() const { return last_ticket_at_; }
  [[nodiscard]] std::size_t remembered_nonces() const { return nonces_.size(); }

  // Nonces kept at most, whatever their age (bounds memory against a runaway caller).
  static constexpr std::size_t kMaxRememberedNonces = 1024;

 private:
  struct SentNonce {
    Nonce32 nonce;
    SteadyTime sent_at;
  };
  void forget_old_nonces(SteadyTime now);
  [[nodiscard]] const SentNonce* find_nonce(const Nonce32& nonce) const;

  std::vector<crypto::PublicKey> vs_keys_;
  // In use: the signer of the ServerHello's JoinAccept, then of the latest handover ticket.
  crypto::PublicKey vs_key_;
  milliseconds skew_;
  SteadyTime deadline_;
  bool starved_ = false;
  std::optional<SessionInfo> session_;
  std::uint64_t last_ticket_seq_ = 0;  // 0: no ticket yet
  Hash32 last_ticket_hash_;
  std::optional<SteadyTime> last_ticket_at_;
  std::deque<SentNonce> nonces_;  // oldest first
};

}  // namespace gsvs::client
