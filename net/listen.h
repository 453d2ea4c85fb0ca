// Opening the listening socket of a daemon, the same way for every daemon.
#pragma once

#include <cstdint>
#include <string>

#include "net/asio.h"
#include "protocol/result.h"

namespace gsvs::net {

// Opens `acceptor` on `host` (an IP address) and `port`, with SO_REUSEADDR so that a restarted
// daemon binds at once, and listens. The error names the host that is not an IP address, or
// `shown_as` (the address as configured) and what the system refused.
Status bind_and_listen(tcp::acceptor& acceptor, const std::string& host, std::uint16_t port,
                       const std::string& shown_as);

}  // namespace gsvs::net
