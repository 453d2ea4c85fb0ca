// Log lines: one format for every program, and one event per line. The format is
//   2026-12-04T05:01:02.345Z info vsd: MESSAGE
// with the time in UTC (the Z says so). Text that comes from outside the program (a peer's
// strings, an operator's reason, a path) goes through log_text() so that it cannot end the line
// or forge another one.
//
// With log_format = "json" each event is one JSON object on its own line instead, with the same
// content: time, level, program and message, and the fields a reader would otherwise cut out of
// the message (log_event_fields). docs/OPERATIONS.md shows both.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "app/cli_fwd.h"

namespace gsvs::app {

enum class LogFormat { kText, kJson };

// Adds `--log_format text|json` to a daemon's `run`, and so the config key log_format.
void add_log_format_option(CLI::App& run, LogFormat& format);

// Sets the default logger's format (UTC) and level ("trace" ... "error").
void configure_logging(std::string_view program, const std::string& level,
                       LogFormat format = LogFormat::kText);

// One event as a JSON line (without the newline), as log_format = "json" writes it:
//   {"time":"2026-12-04T05:01:02.345Z","level":"warning","program":"vsd",
//    "message":"session 7: revoked: speed: ...","session":7,"reason":"speed","evidence":[3,9]}
// "session" is the number of a message that begins "session N: "; "reason" the snake_case code
// (the protocol's reason codes) of a message whose first ": " after that ends "revoked",
// "rejected" or "rejected by the VS" and is followed by "CODE:"; "evidence" the log positions of
// a message that ends "(evidence at log positions [...])". Outside text comes after those words,
// so it cannot add a field. A field the message does not have is left out.
std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view program, std::string_view message);

// "2026-12-04T05:01:02.345Z": the time `unix_ms` milliseconds after the epoch, in UTC, as the
// text lines' %Y-%m-%dT%H:%M:%S.%eZ write it (the audit writes the log's times the same way).
std::string utc_time_text(std::uint64_t unix_ms);

// `text` for a log line: printable UTF-8 is kept; \n, \r, \t and \\ are written as such, other
// control characters and bytes that are not UTF-8 as \xNN, and C1 controls, line and paragraph
// separators and bidirectional overrides as \u{NNNN}.
std::string log_text(std::string_view text);

}  // namespace gsvs::app
