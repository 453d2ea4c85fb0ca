// The /metrics endpoint of vsd and gsd: Boost.Beast's HTTP/1.1 parser and serializer on one
// event loop. GET /metrics answers 200 with the registry rendered in the Prometheus text format
// (version 0.0.4); any other path answers 404, any other method 405, a request that is not HTTP
// or too large 400. Bounded by HttpLimits: connections at once (one beyond them is closed at
// accept), the time for each request to arrive and each response to leave, and the request's
// size (a header, no body).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/asio.h"
#include "net/escape.h"
#include "protocol/result.h"

namespace gsvs::metrics {

class Registry;

struct HttpLimits {
  std::size_t max_connections = 8;  // Prometheus servers in a pair, and an operator's curl
  std::chrono::milliseconds timeout{10000};
  std::size_t max_request_bytes = 8192;
};

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Where metrics_listen says to serve: "" is off; otherwise HOST:PORT with an IP address and a
// port from 1 to 65535. The error says what is wrong with `text` (the caller names the key).
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
Result<std::optional<ListenAddress>> parse_listen_address(const std::string& text);

class HttpServer {
 public:
  // `registry` is shared with the connections being served, which may outlive this object by
  // the time their event loop takes to end them.
  HttpServer(net::asio::io_context& io, std::shared_ptr<const Registry> registry,
             HttpLimits limits = {});
  ~HttpServer();  // closes the port
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the port (the error names `shown_as` and what the system refused) and serves on the
  // io_context's thread. `on_fault` stops the daemon where an exception ends the listener or a
  // connection (net/escape.h).
  Status start(const ListenAddress& address, const std::string& shown_as, net::Failure on_fault);
  // Stops accepting; connections being served end at their next request or timeout.
  void close();
  [[nodiscard]] std::uint16_t port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The daemons' metrics_listen key: null when it is empty, else an HttpServer serving `registry`
// there (`on_fault` as for HttpServer::start). The error names the key and what is wrong (not
// HOST:PORT, the port in use).
Result<std::unique_ptr<HttpServer>> serve_metrics_listen(net::asio::io_context& io,
                                                         std::shared_ptr<const Registry> registry,
                                                         const std::string& metrics_listen,
                                                         net::Failure on_fault);

}  // namespace gsvs::metrics
