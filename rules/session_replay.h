// Rebuilding a session's state from the VS's own log (PROTOCOL.md §8.15 "At start"): every entry
// of the session after its JoinAccept, in log order, fed to the session's rules as the VS
// decided it live. vsd runs it at start-up for the sessions a previous run left live, so that a
// resumed session is judged on from what the durable log says, not from memory.
#pragma once

#include <cstdint>
#include <optional>

#include "protocol/bytes.h"
#include "protocol/chains.h"
#include "protocol/messages.h"
#include "rules/session_rules.h"

namespace gsvs::rules {

// One logged entry of the session, as the store gives it back.
struct LoggedEntry {
  protocol::MessageKind kind = protocol::MessageKind::kVsChallenge;
  chains::Direction direction = chains::Direction::kReceived;
  std::uint64_t position = 0;
  std::uint64_t vs_time_ms = 0;
  ByteView bytes;
};

// Borrows `rules`, which must outlive it. Not thread-safe; one session, entries in log order.
class SessionReplay {
 public:
  explicit SessionReplay(SessionRules& rules) : rules_(rules) {}

  // Received session traffic is judged again; its signature is taken as valid, because the VS
  // logs a frame apart from its revocation only once the envelope (signature included) passed
  // (§8.5). Issued receipts and tickets are taken as issued; a GsResume and the ResumeAccept
  // after it resume the session; an issued Revocation ends it. Anything else is left alone.
  void add(const LoggedEntry& entry);

  // The first refusal the log owes and does not hold (a crash between logging a message and
  // revoking for it), with the evidence its revocation must cite.
  [[nodiscard]] const std::optional<Judgement>& owed() const { return owed_; }
  [[nodiscard]] const std::optional<std::vector<std::uint64_t>>& owed_evidence() const {
    return owed_evidence_;
  }

 private:
  SessionRules& rules_;
  std::optional<protocol::GsResume> pending_resume_;  // received, awaiting its ResumeAccept
  std::optional<Judgement> owed_;
  std::optional<std::vector<std::uint64_t>> owed_evidence_;
};

}  // namespace gsvs::rules
