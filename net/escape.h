// The end of a coroutine that nothing awaits. co_spawn with asio::detached drops the exception
// that ends such a coroutine without a word under Boost 1.74 (its handler ignores the
// exception_ptr): the loop it ran is gone, and the program runs on without it and says nothing
// (an accept loop that no longer accepts, a session that no longer reads). Every coroutine a
// program spawns ends in an EscapeHandler instead, which says what ended and why and stops the
// program: an exception that escapes a coroutine is a fault in the program, and a program that
// fails closed does not run on in a state nobody reasoned about.
#pragma once

#include <exception>
#include <functional>
#include <string>

namespace gsvs::net {

// Stops the program after a fault; called with the text the EscapeHandler logged. Runs on the
// thread of the coroutine that ended.
using Failure = std::function<void(const std::string& fault)>;

// co_spawn's completion token: `co_spawn(executor, coroutine, EscapeHandler("what", fail))`.
class EscapeHandler {
 public:
  // `what` names the coroutine in the log, e.g. "the GS listener" or "session 7's ticket loop".
  EscapeHandler(std::string what, Failure fail);

  // Nothing where the coroutine returned; otherwise logs "internal error: WHAT ended by an
  // exception: WHY" as critical and calls the Failure with that text.
  void operator()(const std::exception_ptr& escaped) const;

 private:
  std::string what_;
  Failure fail_;
};

// What an exception_ptr holds, as text: what() of a std::exception, or a note that it is not one.
std::string describe_exception(const std::exception_ptr& escaped);

}  // namespace gsvs::net
