#include "app/log_line.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "protocol/utf8.h"

namespace gsvs::app {

namespace {

// Characters that are valid UTF-8 yet move or split what a reader sees of a line.
bool disguises_the_line(std::uint32_t code_point) {
  return (code_point >= 0x80 && code_point <= 0x9F) ||      // C1 controls (NEL ends a line)
         code_point == 0x2028 || code_point == 0x2029 ||    // line and paragraph separators
         (code_point >= 0x202A && code_point <= 0x202E) ||  // bidirectional embeddings/overrides
         (code_point >= 0x2066 && code_point <= 0x2069);    // bidirectional isolates
}

}  // namespace

void configure_logging(std::string_view program, const std::string& level) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ " + std::string(program) + ": %v",
                      spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
}

std::string log_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char escaped[16];
  for (std::size_t at = 0; at < text.size();) {
    const utf8::Character c = utf8::decode(text, at);
    if (c.length == 0 || c.code_point < 0x20 || c.code_point == 0x7F || c.code_point == '\\') {
      const auto byte = static_cast<unsigned char>(text[at]);
      switch (byte) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\\':
          out += "\\\\";
          break;
        default:
          std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
          out += escaped;
      }
      ++at;  // a byte that is not UTF-8 is escaped alone; decoding resumes at the next
      continue;
    }
    if (disguises_the_line(c.code_point)) {
      std::snprintf(escaped, sizeof escaped, "\\u{%04X}", static_cast<unsigned>(c.code_point));
      out += escaped;
    } else {
      out.append(text.substr(at, c.length));
    }
    at += c.length;
  }
  return out;
}

}  // namespace gsvs::app
