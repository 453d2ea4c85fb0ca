// A session's notarized TranscriptDigests, read from the log the one way (PROTOCOL.md §5.11):
// each receipt the VS issued names its digest's log position, and that entry holds the positions
// and the VS receive time. vsd rebuilds its continuity ledger from them at start, and audit-cli
// reads them for one session's carried positions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "protocol/messages.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::storage {

struct NotarizedDigest {
  const Entry* receipt = nullptr;  // the ProtectedReceipt's entry
  const Entry* digest = nullptr;   // the TranscriptDigest's entry it names
  const protocol::TranscriptDigest* message = nullptr;
};

// Visits, in log order, every receipt the VS issued for `session` before `before_seq` (all
// without it) whose digest entry decodes as a TranscriptDigest of the session; `visit` returns
// false to stop. A receipt or digest that does not decode is skipped (`audit-cli verify` names
// it); a digest entry that cannot be read is an error naming both positions.
Status scan_notarized_digests(const Log& log, protocol::SessionId session,
                              std::optional<std::uint64_t> before_seq,
                              const std::function<bool(const NotarizedDigest&)>& visit);

}  // namespace gsvs::storage
