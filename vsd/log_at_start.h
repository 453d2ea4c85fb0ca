// What a start of the VS reads of its log (recovery.cpp), read in one place: the numbering to take
// up, the sessions a previous run left live, those that ended within the continuity window, and
// what the quarantines rest on. Retention keeps every entry from the oldest one a start reads
// (oldest_read_at_start), so that archiving or pruning never changes what a start rebuilds: no
// quarantine lifted, no session id given twice, no live session cut from its JoinAccept
// (PROTOCOL.md §8.16, docs/STORE.md §10.6 and §11.5). What the latest StateCarried restates is
// read from it, not from the entries it restates.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "protocol/messages.h"
#include "protocol/result.h"
#include "rules/quarantine.h"
#include "storage/log.h"

namespace gsvs::vsd {

// Where a session that ended lies in the log: its JoinAccept and its Revocation.
struct EndedSession {
  std::uint64_t accept_seq = 0;
  std::uint64_t revocation_seq = 0;
};

// One entry the quarantines rest on (PROTOCOL.md §8.16): a Revocation of a session of
// `identity`, a PolicyApplied (its quarantine_ms) or a Pardon of `identity`.
struct QuarantineEvent {
  enum class Kind : std::uint8_t { kRevocation, kPolicy, kPardon };
  Kind kind;
  protocol::PublicKey identity;
  protocol::SessionId session_id = 0;
  std::uint16_t reason = 0;
  std::uint64_t vs_time_ms = 0;
  std::uint32_t quarantine_ms = 0;
};

struct LogAtStart {
  // Sessions with no Revocation: session -> the position of its JoinAccept or SessionAdopted.
  std::map<protocol::SessionId, std::uint64_t> open_sessions;
  // Every session's start position and GS identity.
  std::map<protocol::SessionId, std::uint64_t> start_of;
  std::map<protocol::SessionId, protocol::PublicKey> identity_of;
  // Sessions whose Revocation is at or after VS time continuity_since_ms.
  std::map<protocol::SessionId, EndedSession> ended_recently;
  std::uint64_t continuity_since_ms = 0;
  // The highest numbers the log holds, and where the entry holding each is.
  struct Highest {
    std::uint64_t value = 0;
    std::uint64_t position = 0;
  };
  Highest session;     // session_id of a JoinAccept or SessionAdopted
  Highest revocation;  // revocation_seq
  Highest policy;      // policy_seq of a PolicyApplied
  // The latest whole StateCarried (PROTOCOL.md §8.16 "Carried forward"): where its first part
  // is, and what its parts restate, their quarantines together. It stands for every entry before
  // it: quarantine_events holds only those after it, and the numbers above count its own.
  struct Carry {
    std::uint64_t position = 0;
    protocol::StateCarried state;
  };
  std::optional<Carry> carry;
  std::map<std::uint64_t, QuarantineEvent> quarantine_events;  // by log position
};

// Reads it with the scans a start makes (by kind and of session 0, served by the store's
// indexes) of `log`, the store at `path`; `now_ms` places the continuity window. Only what this
// VS issued counts: a GS can send a frame of any kind. The error is the store's, or names an
// entry whose number the VS could not take up (a session id, revocation_seq or policy_seq of
// 2^63 or more).
Result<LogAtStart> read_log_at_start(const storage::Log& log, const std::string& path,
                                     std::uint64_t now_ms);

// Feeds `ledger` the carry, then the quarantine events in log order: the quarantines in force at
// the log's end.
void replay_quarantines(const LogAtStart& log, rules::QuarantineLedger& ledger);

// The oldest entry a start at VS time `now_ms` reads, and what it is read for; nullopt when a
// start reads nothing (an empty log).
struct OldestRead {
  std::uint64_t seq = 0;
  std::string why;
};
std::optional<OldestRead> oldest_read_at_start(const LogAtStart& log, std::uint64_t now_ms);

}  // namespace gsvs::vsd
