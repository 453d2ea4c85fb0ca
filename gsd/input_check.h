// The GS's checks on a client's frame after the handshake (docs/PROTOCOL.md §8.9): a ClientNonce,
// or a ClientInput checked for shape, key, signature, session, ticket and replay, in that order.
// Pure logic: the daemon supplies the state and applies the verdict.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "protocol/messages.h"

namespace gsvs::gsd {

struct TicketRef {
  std::uint64_t seq = 0;
  Hash32 hash;  // SHA-256 of the PlayTicket bytes
  friend bool operator==(const TicketRef&, const TicketRef&) = default;
};

// The tickets inputs may be bound to: the current one, and the previous one until
// input_grace_ms after the current one arrived.
struct TicketWindow {
  std::optional<TicketRef> current;
  std::optional<TicketRef> previous;
  std::uint64_t current_arrived_ms = 0;  // the GS's monotonic clock

  void advance(const TicketRef& next, std::uint64_t arrived_ms) {
    previous = current;
    current = next;
    current_arrived_ms = arrived_ms;
  }
};

struct InputContext {
  crypto::PublicKey hello_key;  // the key of this connection's ClientHello
  protocol::SessionId session_id = 0;
  const TicketWindow* tickets = nullptr;
  std::uint64_t now_ms = 0;  // same clock as TicketWindow::current_arrived_ms
  std::uint32_t input_grace_ms = 500;
  std::optional<std::uint64_t> last_client_seq;  // of this key in this session
};

struct NonceReceived {
  Nonce32 nonce;
};
struct InputAccepted {
  protocol::ClientInput input;
};
struct InputRejected {
  protocol::InputReject reject;  // client_seq, reason, detail: ready to send
};
using ClientFrameVerdict = std::variant<NonceReceived, InputAccepted, InputRejected>;

// Classifies one frame from a client that completed its handshake. Changes nothing.
ClientFrameVerdict check_client_frame(ByteView frame, const InputContext& context);

}  // namespace gsvs::gsd
