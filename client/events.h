// The client's machine-readable event log: one JSON object per line, each with `event` and
// `t_ms` (wall clock, ms since the Unix epoch). Events and their fields:
//   connected        session, gs (HOST:PORT), gs_identity, session_key, sw_hash (hex),
//                    ticket_period_ms, ticket_validity_ms
//   ticket_accepted  seq, proven (bool), wall_clock_ok (bool), credit ("none", "bootstrap",
//                    "nonce"), deadline_in_ms (may be negative), note (only when not empty)
//   input_rejected   client_seq, reason (name, e.g. "stale_ticket"), detail
//   disconnected     reason, exit_code, detail, ms_since_last_valid_ticket (null before any
//                    ticket), session (null before the ServerHello); for a revocation also
//                    revocation_reason, revocation_detail, revocation_vs_time_ms,
//                    revocation_seq, revocation_evidence
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::client {

struct ConnectedEvent {
  protocol::SessionId session = 0;
  std::string gs;
  crypto::PublicKey gs_identity;
  crypto::PublicKey session_key;
  Hash32 sw_hash;
  std::uint32_t ticket_period_ms = 0;
  std::uint32_t ticket_validity_ms = 0;
};

struct TicketAcceptedEvent {
  std::uint64_t seq = 0;
  bool proven = false;
  bool wall_clock_ok = false;
  std::string credit;
  std::int64_t deadline_in_ms = 0;
  std::string note;
};

struct InputRejectedEvent {
  std::uint64_t client_seq = 0;
  std::string reason;
  std::string detail;
};

struct RevocationFacts {
  std::string reason;
  std::string detail;
  std::uint64_t vs_time_ms = 0;
  std::uint64_t revocation_seq = 0;
  std::vector<std::uint64_t> evidence;
};

struct DisconnectedEvent {
  std::string reason;
  int exit_code = 0;
  std::string detail;
  std::optional<std::int64_t> ms_since_last_valid_ticket;
  std::optional<protocol::SessionId> session;
  std::optional<RevocationFacts> revocation;
};

using Event =
    std::variant<ConnectedEvent, TicketAcceptedEvent, InputRejectedEvent, DisconnectedEvent>;

// The one printer: the JSON line (without the newline) for an event at wall time t_ms.
std::string to_json_line(const Event& event, std::uint64_t t_ms);

// Where events go: nowhere, stdout ("-") or a file (appended). Each line is flushed at once, so
// a reader sees it while the client runs. Not thread-safe; one owner.
class EventLog {
 public:
  // "" : discard; "-" : stdout; else a file path, created if absent and appended to.
  static Result<std::unique_ptr<EventLog>> open(const std::string& target);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends the event as one JSON line and flushes it. The error names the target and why (a
  // full disk, a pipe whose reader left); the caller stops, since a client whose events are lost
  // plays on unobserved.
  Status write(const Event& event);

 private:
  EventLog(std::FILE* file, bool owned, std::string target)
      : file_(file), owned_(owned), target_(std::move(target)) {}
  std::FILE* file_;
  bool owned_;
  std::string target_;
};

}  // namespace gsvs::client
