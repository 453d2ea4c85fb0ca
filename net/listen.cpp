#include "net/listen.h"

#include <algorithm>

namespace gsvs::net {

Status bind_and_listen(tcp::acceptor& acceptor, const std::string& host, std::uint16_t port,
                       const std::string& shown_as) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Error{"listen address '" + host + "' is not an IP address"};
  tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + shown_as + ": " + ec.message()};
  return {};
}

std::string budget_source(const asio::ip::address& peer) {
  if (peer.is_v4()) return peer.to_v4().to_string();
  const asio::ip::address_v6 v6 = peer.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  asio::ip::address_v6::bytes_type prefix = v6.to_bytes();
  std::fill(prefix.begin() + 8, prefix.end(), static_cast<unsigned char>(0));
  return asio::ip::address_v6(prefix).to_string() + "/64";
}

std::string budget_source(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  return ec ? std::string() : budget_source(peer.address());
}

}  // namespace gsvs::net
