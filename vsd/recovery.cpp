// Start-up recovery: the numbering taken up where the store left it, and the sessions a previous
// run left live revoked.
#include <spdlog/spdlog.h>

#include <map>

#include "vsd/server_state.h"

namespace gsvs::vsd {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

// Session ids and revocation numbers stay below 2^63: the store keeps session ids in a signed
// 64-bit INTEGER (STORE.md §8), and the VS counts both up from what it finds at start-up.
constexpr std::uint64_t kMaxStoredId = std::uint64_t{1} << 63;

}  // namespace

Status ServerState::recover() {
  // Sessions live when the VS last stopped are revoked now: their liveness cannot be vouched
  // for across the gap, so the VS fails closed instead of forgetting who was late.
  std::map<SessionId, std::uint64_t> open_sessions;  // session -> JoinAccept position
  std::uint64_t max_session = 0;
  std::uint64_t max_revocation = 0;
  auto reader = storage::Log::open(config.store, storage::OpenMode::kReadOnly);
  if (!reader) return Error{reader.error()};
  std::optional<Error> out_of_range;
  // Only what this VS issued: a GS can send a frame of any kind, which is logged as received
  // evidence and must never open, close or number a session here.
  auto on_accept = [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    if (auto accept = decode<JoinAccept>(entry.message)) {
      if (accept->session_id == 0 || accept->session_id >= kMaxStoredId) {
        out_of_range = Error{"JoinAccept at entry " + std::to_string(entry.header.seq) +
                             " has session_id " + std::to_string(accept->session_id) +
                             ", outside 1.." + std::to_string(kMaxStoredId - 1)};
        return false;
      }
      open_sessions[accept->session_id] = entry.header.seq;
      max_session = std::max(max_session, accept->session_id);
    }
    return true;
  };
  auto on_revocation = [&](const storage::Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    if (auto revocation = decode<Revocation>(entry.message)) {
      if (revocation->revocation_seq >= kMaxStoredId) {
        out_of_range = Error{"Revocation at entry " + std::to_string(entry.header.seq) +
                             " has revocation_seq " + std::to_string(revocation->revocation_seq) +
                             ", outside 1.." + std::to_string(kMaxStoredId - 1)};
        return false;
      }
      open_sessions.erase(revocation->session_id);
      max_revocation = std::max(max_revocation, revocation->revocation_seq);
    }
    return true;
  };
  // Two scans by kind, each served by the store's (kind, seq) index: the start reads the joins
  // and revocations, not the whole log (docs/STORE.md §10.4). A session's Revocation always
  // follows its JoinAccept, so all accepts first, then all revocations, ends in the same state.
  storage::Filter accepts;
  accepts.kind = MessageKind::kJoinAccept;
  Status scanned = (*reader)->scan(accepts, on_accept);
  if (scanned && !out_of_range) {
    storage::Filter revocations;
    revocations.kind = MessageKind::kRevocation;
    scanned = (*reader)->scan(revocations, on_revocation);
  }
  if (!scanned) return scanned;
  if (out_of_range) {
    return Error{"store " + config.store + ": " + out_of_range->message +
                 "; the VS cannot number what comes next. Hand this store to an investigator "
                 "('audit-cli verify') and start on a new one"};
  }
  next_session_id.store(max_session + 1);
  next_revocation_seq.store(max_revocation + 1);
  std::vector<storage::PendingEntry> entries;
  for (const auto& [session, accept_seq] : open_sessions) {
    Revocation revocation;
    revocation.session_id = session;
    revocation.revocation_seq = next_revocation_seq++;
    revocation.vs_time_ms = clock.now_ms();
    revocation.reason = static_cast<std::uint16_t>(RevocationReason::kVsShutdown);
    revocation.detail =
        "the VS stopped while this session was live; its liveness cannot be vouched for across "
        "the restart";
    revocation.evidence = {accept_seq};
    entries.push_back(pending(MessageKind::kRevocation, chains::Direction::kIssued, session,
                              revocation.vs_time_ms, sign_and_encode(revocation)));
    spdlog::warn("session {}: revoked at start-up: left live by the previous run", session);
  }
  if (!entries.empty()) {
    auto submitted = writer->submit(std::move(entries), [](const Status&) {});
    if (!submitted) return Error{submitted.error()};
    Status flushed = writer->flush();
    if (!flushed) return flushed;
  }
  last_checkpoint_size = 0;
  last_checkpoint_ms = clock.now_ms();
  return {};
}

}  // namespace gsvs::vsd
