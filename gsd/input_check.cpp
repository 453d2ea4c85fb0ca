#include "gsd/input_check.h"

namespace gsvs::gsd {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

InputRejected reject(std::uint64_t client_seq, InputRejectReason reason, std::string detail) {
  InputRejected r;
  r.reject.client_seq = client_seq;
  r.reject.reason = static_cast<std::uint16_t>(reason);
  detail = truncate_utf8(detail, kMaxDetailBytes);
  r.reject.detail = std::move(detail);
  return r;
}

}  // namespace

ClientFrameVerdict check_client_frame(ByteView frame, const InputContext& context) {
  auto kind = peek_kind(frame);
  if (kind && *kind == MessageKind::kClientNonce) {
    auto nonce = decode<ClientNonce>(frame);
    if (!nonce) return reject(0, InputRejectReason::kMalformed, "ClientNonce: " + nonce.error());
    return NonceReceived{nonce->nonce};
  }
  if (!kind || *kind != MessageKind::kClientInput) {
    const std::string what = kind ? std::string(kind_name(*kind)) : kind.error();
    return reject(0, InputRejectReason::kMalformed,
                  "expected a ClientInput or a ClientNonce, got " + what);
  }
  auto decoded = decode<ClientInput>(frame);
  if (!decoded) return reject(0, InputRejectReason::kMalformed, "ClientInput: " + decoded.error());
  const ClientInput& in = *decoded;
  const std::uint64_t seq = in.client_seq;
  if (in.client_key != context.hello_key) {
    return reject(seq, InputRejectReason::kWrongKey,
                  "client_key " + short_hex(in.client_key) + " is not this connection's key " +
                      short_hex(context.hello_key));
  }
  if (!verify(in, in.client_key)) {
    return reject(seq, InputRejectReason::kBadSignature,
                  "signature does not verify under the client key");
  }
  if (in.session_id != context.session_id) {
    return reject(seq, InputRejectReason::kWrongSession,
                  "session " + std::to_string(in.session_id) + " is not this GS's session " +
                      std::to_string(context.session_id));
  }
  if (context.tickets == nullptr || !context.tickets->current) {
    return reject(seq, InputRejectReason::kNoTicket, "the GS holds no ticket yet");
  }
  const TicketWindow& tickets = *context.tickets;
  const TicketRef bound{in.ticket_seq, in.ticket_hash};
  if (bound != *tickets.current) {
    if (tickets.previous && bound == *tickets.previous) {
      const std::uint64_t since = context.now_ms > tickets.current_arrived_ms
                                      ? context.now_ms - tickets.current_arrived_ms
                                      : 0;
      if (since >= context.input_grace_ms) {
        return reject(seq, InputRejectReason::kStaleTicket,
                      "ticket " + std::to_string(in.ticket_seq) + " was replaced by ticket " +
                          std::to_string(tickets.current->seq) + " " + std::to_string(since) +
                          " ms ago; the grace is " + std::to_string(context.input_grace_ms) +
                          " ms");
      }
    } else {
      return reject(seq, InputRejectReason::kUnknownTicket,
                    "ticket " + std::to_string(in.ticket_seq) + " (" + short_hex(in.ticket_hash) +
                        ") is neither the current ticket " + std::to_string(tickets.current->seq) +
                        " nor the previous one");
    }
  }
  if (context.last_client_seq && seq <= *context.last_client_seq) {
    return reject(seq, InputRejectReason::kReplayedSequence,
                  "client_seq " + std::to_string(seq) + " is not above the last accepted " +
                      std::to_string(*context.last_client_seq));
  }
  return InputAccepted{in};
}

}  // namespace gsvs::gsd
