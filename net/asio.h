// The one place that includes Boost.Asio's coroutine support. Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility>, which g++ 12 no longer pulls in transitively.
// asio::detached is left out on purpose: a coroutine ends in net::EscapeHandler (net/escape.h).
#pragma once

// clang-format off
#include <utility>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
// clang-format on

namespace gsvs::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
}  // namespace gsvs::net
