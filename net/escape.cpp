#include "net/escape.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace gsvs::net {

EscapeHandler::EscapeHandler(std::string what, Failure fail)
    : what_(std::move(what)), fail_(std::move(fail)) {}

void EscapeHandler::operator()(const std::exception_ptr& escaped) const {
  if (!escaped) return;
  std::string fault =
      "internal error: " + what_ + " ended by an exception: " + describe_exception(escaped);
  spdlog::critical(
      "{}; stopping (a fault in this program, not in what it was sent: please "
      "report it with this log)",
      fault);
  if (fail_) fail_(fault);
}

std::string describe_exception(const std::exception_ptr& escaped) {
  try {
    std::rethrow_exception(escaped);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace gsvs::net
