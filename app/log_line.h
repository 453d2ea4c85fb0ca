// Log lines: one format for every program, and one event per line. The format is
//   2026-12-04T05:01:02.345Z info vsd: MESSAGE
// with the time in UTC (the Z says so). Text that comes from outside the program (a peer's
// strings, an operator's reason, a path) goes through log_text() so that it cannot end the line
// or forge another one.
#pragma once

#include <string>
#include <string_view>

namespace gsvs::app {

// Sets the default logger's pattern (UTC) and level ("trace" ... "error").
void configure_logging(std::string_view program, const std::string& level);

// `text` for a log line: printable UTF-8 is kept; \n, \r, \t and \\ are written as such, other
// control characters and bytes that are not UTF-8 as \xNN, and C1 controls, line and paragraph
// separators and bidirectional overrides as \u{NNNN}.
std::string log_text(std::string_view text);

}  // namespace gsvs::app
