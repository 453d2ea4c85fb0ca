// Result<T>: a value or a reason. Decoders and verifiers return these for bad input from the
// network or from disk; exceptions are kept for start-up and command-line errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace gsvs {

// Whether the same request may succeed later with nothing changed by hand: a database server not
// up yet, a lock its last holder has yet to let go of. Read where a caller decides to try again
// (a daemon's exit code, docs/OPERATIONS.md); every other reason is for good, the default.
enum class Retry : std::uint8_t { kNo, kLater };

struct Error {
  std::string message;
  Retry retry = Retry::kNo;

  // The same reason, with `context` before its message: Error{"x"}.within("store S: ") reads
  // "store S: x", and may still be retried if the reason may.
  [[nodiscard]] Error within(std::string_view context) const {
    return Error{std::string(context) + message, retry};
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  // Implicit on purpose, so that a function returning a Result can `return value;` or
  // `return Error{...};`.
  // cppcheck-suppress noExplicitConstructor
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  // cppcheck-suppress noExplicitConstructor
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const std::string& error() const { return std::get<Error>(state_).message; }
  [[nodiscard]] const Error& failure() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

// For operations that yield nothing but may fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  // Implicit for `return Error{...};`; by value because the message is moved out of it, which
  // cppcheck does not follow.
  // cppcheck-suppress[noExplicitConstructor,passedByValue]
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status success() { return {}; }

  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const std::string& error() const { return error_->message; }
  [[nodiscard]] const Error& failure() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace gsvs
