#include "app/log_line.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

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

// The number at the start of `text`, with `text` moved past it; nullopt without digits.
std::optional<std::uint64_t> take_number(std::string_view& text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{}) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

constexpr std::string_view kSessionPrefix = "session ";

// "session N: ..." -> N, with `message` moved past "session N: ".
std::optional<std::uint64_t> take_session(std::string_view& message) {
  if (!message.starts_with(kSessionPrefix)) return std::nullopt;
  std::string_view rest = message.substr(kSessionPrefix.size());
  auto session = take_number(rest);
  if (!session || !rest.starts_with(": ")) return std::nullopt;
  message = rest.substr(2);
  return session;
}

// The reason code of "[session N: ]... revoked: CODE: ...", "... rejected: CODE: ..." and
// "... rejected by the VS: CODE: ...". The marker must end at the first ": " after the session:
// the program writes it before any outside text, which may hold the same words.
std::optional<std::string_view> reason_of(std::string_view message) {
  take_session(message);
  const std::size_t first_separator = message.find(": ");
  if (first_separator == std::string_view::npos) return std::nullopt;
  const std::string_view head = message.substr(0, first_separator);
  if (!head.ends_with(" revoked") && head != "revoked" && !head.ends_with(" rejected") &&
      !head.ends_with(" rejected by the VS")) {
    return std::nullopt;
  }
  const std::string_view rest = message.substr(first_separator + 2);
  const std::size_t length = rest.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_");
  if (length == 0 || length == std::string_view::npos || rest[length] != ':') return std::nullopt;
  return rest.substr(0, length);
}

// "... (evidence at log positions [3,9])" at the end of the message -> {3, 9}. Outside text comes
// before it, so only the last occurrence, closing the message, counts.
std::optional<std::vector<std::uint64_t>> evidence_of(std::string_view message) {
  constexpr std::string_view kOpen = "(evidence at log positions [";
  constexpr std::string_view kClose = "])";
  const std::size_t at = message.rfind(kOpen);
  if (at == std::string_view::npos || !message.ends_with(kClose)) return std::nullopt;
  std::string_view list =
      message.substr(at + kOpen.size(), message.size() - kClose.size() - at - kOpen.size());
  std::vector<std::uint64_t> positions;
  while (!list.empty()) {
    auto position = take_number(list);
    if (!position) return std::nullopt;
    positions.push_back(*position);
    if (list.empty()) break;
    if (!list.starts_with(',') || list.size() == 1) return std::nullopt;
    list.remove_prefix(1);
  }
  return positions;
}

// spdlog's formatter for log_format = "json": one json_log_line per event.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  explicit JsonLineFormatter(std::string program) : program_(std::move(program)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line =
        json_log_line(msg.time, std::string_view(level.data(), level.size()), program_,
                      std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLineFormatter>(program_);
  }

 private:
  std::string program_;
};

}  // namespace

std::string utc_time_text(std::uint64_t unix_ms) {
  const auto seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];  // room for any int the compiler assumes a field may hold
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<unsigned>(unix_ms % 1000));
  return text;
}

void add_log_format_option(CLI::App& run, LogFormat& format) {
  const std::map<std::string, LogFormat> kFormats{{"text", LogFormat::kText},
                                                  {"json", LogFormat::kJson}};
  run.add_option("--log_format", format,
                 "text (one line per event) or json (one JSON object per line)")
      ->transform(CLI::CheckedTransformer(kFormats))
      ->default_str("text");
}

void configure_logging(std::string_view program, const std::string& level, LogFormat format) {
  if (format == LogFormat::kJson) {
    spdlog::set_formatter(std::make_unique<JsonLineFormatter>(std::string(program)));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ " + std::string(program) + ": %v",
                        spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view program, std::string_view message) {
  const auto unix_ms =
      std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
  nlohmann::ordered_json event{{"time", utc_time_text(static_cast<std::uint64_t>(unix_ms))},
                               {"level", level},
                               {"program", program},
                               {"message", message}};
  std::string_view after_session = message;
  if (auto session = take_session(after_session)) event["session"] = *session;
  if (auto reason = reason_of(message)) event["reason"] = *reason;
  if (auto evidence = evidence_of(message)) event["evidence"] = *evidence;
  // Bytes that are not UTF-8 (a message not passed through log_text) become U+FFFD rather than
  // an exception in the logger.
  return event.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
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
