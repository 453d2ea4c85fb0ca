#include "client/events.h"

#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>

#include "protocol/clock.h"
#include "protocol/regular_file.h"

namespace gsvs::client {

namespace {

nlohmann::json fields(const ConnectedEvent& e) {
  return {{"event", "connected"},
          {"session", e.session},
          {"gs", e.gs},
          {"gs_identity", to_hex(e.gs_identity)},
          {"session_key", to_hex(e.session_key)},
          {"sw_hash", to_hex(e.sw_hash)},
          {"ticket_period_ms", e.ticket_period_ms},
          {"ticket_validity_ms", e.ticket_validity_ms}};
}

nlohmann::json fields(const TicketAcceptedEvent& e) {
  nlohmann::json j = {{"event", "ticket_accepted"}, {"seq", e.seq},
                      {"proven", e.proven},         {"wall_clock_ok", e.wall_clock_ok},
                      {"credit", e.credit},         {"deadline_in_ms", e.deadline_in_ms}};
  if (!e.note.empty()) j["note"] = e.note;
  return j;
}

nlohmann::json fields(const InputRejectedEvent& e) {
  return {{"event", "input_rejected"},
          {"client_seq", e.client_seq},
          {"reason", e.reason},
          {"detail", e.detail}};
}

nlohmann::json fields(const DisconnectedEvent& e) {
  nlohmann::json j = {{"event", "disconnected"},
                      {"reason", e.reason},
                      {"exit_code", e.exit_code},
                      {"detail", e.detail}};
  j["ms_since_last_valid_ticket"] =
      e.ms_since_last_valid_ticket ? nlohmann::json(*e.ms_since_last_valid_ticket) : nullptr;
  j["session"] = e.session ? nlohmann::json(*e.session) : nullptr;
  if (e.revocation) {
    j["revocation_reason"] = e.revocation->reason;
    j["revocation_detail"] = e.revocation->detail;
    j["revocation_vs_time_ms"] = e.revocation->vs_time_ms;
    j["revocation_seq"] = e.revocation->revocation_seq;
    j["revocation_evidence"] = e.revocation->evidence;
  }
  return j;
}

}  // namespace

std::string to_json_line(const Event& event, std::uint64_t t_ms) {
  nlohmann::json j = std::visit([](const auto& e) { return fields(e); }, event);
  j["t_ms"] = t_ms;
  // Texts from the network may hold anything; never let one stop the log.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& target) {
  if (target.empty()) return std::unique_ptr<EventLog>(new EventLog(nullptr, false, target));
  if (target == "-")
    return std::unique_ptr<EventLog>(new EventLog(stdout, false, "standard output"));
  std::FILE* file = std::fopen(target.c_str(), "a");
  if (file == nullptr) {
    return Error{"cannot open event log '" + target + "': " + errno_text()};
  }
  return std::unique_ptr<EventLog>(new EventLog(file, true, "'" + target + "'"));
}

EventLog::~EventLog() {
  if (owned_ && file_ != nullptr) std::fclose(file_);
}

Status EventLog::write(const Event& event) {
  if (file_ == nullptr) return Status::success();
  const std::string line = to_json_line(event, unix_time_ms()) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    const std::string why = errno_text();
    std::clearerr(file_);
    return Error{"cannot write the event log (" + target_ + "): " + why};
  }
  return Status::success();
}

}  // namespace gsvs::client
