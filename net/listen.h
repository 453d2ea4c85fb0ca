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

// The source a connection from `peer` counts against in a per-source budget (PendingBudget):
// an IPv4 address (an IPv4-mapped IPv6 address counts as the IPv4 address it maps), or an IPv6
// address's /64 prefix, written "2001:db8:1:2::/64". A /64 is the smallest prefix routed to one
// subscriber (RFC 6177, RFC 7421): one host can draw on every address in it, so counting them
// one by one would give it 2^64 shares.
std::string budget_source(const asio::ip::address& peer);
// The budget source of a connected socket's peer; empty where the peer is gone already.
std::string budget_source(const tcp::socket& socket);

}  // namespace gsvs::net
