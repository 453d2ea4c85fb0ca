// co_spawn's completion in tests (net/escape.h): an exception that ends a test's coroutine fails
// the test, where asio::detached would drop it and let the test pass.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "net/escape.h"

namespace gsvs::testing {

inline net::Failure fail_the_test() {
  return [](const std::string& fault) { ADD_FAILURE() << fault; };
}

inline net::EscapeHandler fail_the_test_on_escape() {
  return {"the test's coroutine", fail_the_test()};
}

}  // namespace gsvs::testing
