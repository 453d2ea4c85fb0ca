// Reading every row of a store, including past rows that cannot be represented (a column of the
// wrong type, a hash that is not 32 bytes): storage::Log::scan stops at such a row and says
// where to resume; these helpers resume there and report the row instead.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::audit {

// Called with the position and the reason of a row that cannot be read.
using UnreadableRow = std::function<void(std::uint64_t seq, const std::string& reason)>;

// Visits every readable row from `from_seq` on, in seq order; `visit` returns false to stop.
// Fails only when the store itself cannot be read (I/O error, or an error that names no row).
Status scan_all(const storage::Log& log, std::uint64_t from_seq,
                const std::function<bool(const storage::Entry&)>& visit,
                const UnreadableRow& unreadable = {});

}  // namespace gsvs::audit
