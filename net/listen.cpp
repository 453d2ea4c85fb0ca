#include "net/listen.h"

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

}  // namespace gsvs::net
