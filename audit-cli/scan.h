// Reading every row of a store, past rows that cannot be represented (a column of the wrong
// type, a hash that is not 32 bytes): what the audit's walks over a whole store share.
#pragma once

#include <cstdint>
#include <functional>

#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::audit {

// Called with the position and the reason of each row that cannot be read.
using UnreadableRow = storage::Log::BadRowReporter;

// Visits every readable row from `from_seq` on, in seq order; `visit` returns false to stop.
// Each unreadable row goes to `unreadable`, or is skipped without one. Fails only when the
// store itself cannot be read (storage::Log::scan's contract).
Status scan_all(const storage::Log& log, std::uint64_t from_seq,
                const std::function<bool(const storage::Entry&)>& visit,
                const UnreadableRow& unreadable = {});

}  // namespace gsvs::audit
