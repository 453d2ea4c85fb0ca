#include "metrics/http_server.h"

// clang-format off
#include "net/asio.h"  // first: Boost.Asio's coroutine support, before Beast pulls Asio in
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <spdlog/spdlog.h>

#include "metrics/registry.h"
#include "net/framed_connection.h"
#include "net/listen.h"

namespace gsvs::metrics {

namespace asio = net::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::tcp;

Result<std::optional<ListenAddress>> parse_listen_address(const std::string& text) {
  if (text.empty()) return std::optional<ListenAddress>();
  auto parsed = net::parse_host_port(text);
  if (!parsed) return Error{parsed.error()};
  boost::system::error_code ec;
  asio::ip::make_address(parsed->first, ec);
  if (ec) return Error{"'" + text + "': '" + parsed->first + "' is not an IP address"};
  return std::optional<ListenAddress>(ListenAddress{parsed->first, parsed->second});
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, std::shared_ptr<const Registry> r, HttpLimits l)
      : acceptor(io), registry(std::move(r)), limits(l) {}

  tcp::acceptor acceptor;
  std::shared_ptr<const Registry> registry;
  const HttpLimits limits;
  std::size_t connections = 0;  // being served; the io_context's one thread only
  net::Failure on_fault;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(tcp::socket socket);
  [[nodiscard]] http::response<http::string_body> respond(
      const http::request<http::empty_body>& request) const;
};

namespace {

http::response<http::string_body> plain(http::status status, unsigned version, std::string body) {
  http::response<http::string_body> response{status, version};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace

http::response<http::string_body> HttpServer::Impl::respond(
    const http::request<http::empty_body>& request) const {
  const beast::string_view target = request.target();
  const beast::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") {
    return plain(http::status::not_found, request.version(), "not found: only /metrics is here\n");
  }
  if (request.method() != http::verb::get) {
    auto response =
        plain(http::status::method_not_allowed, request.version(), "method not allowed: use GET\n");
    response.set(http::field::allow, "GET");
    return response;
  }
  http::response<http::string_body> response{http::status::ok, request.version()};
  response.set(http::field::content_type,
               beast::string_view(kContentType.data(), kContentType.size()));
  response.body() = registry->render();
  response.prepare_payload();
  return response;
}

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  auto self = shared_from_this();
  while (acceptor.is_open()) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or memory: a scrape fails, the daemon goes on; wait a moment rather
      // than spin on the same error.
      spdlog::warn("metrics: cannot accept a connection: {}", ec.message());
      asio::steady_timer pause(acceptor.get_executor());
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // A scraper beyond the cap is closed at once: the socket goes out of scope.
    if (connections >= limits.max_connections) continue;
    ++connections;
    asio::co_spawn(
        acceptor.get_executor(),
        [self, s = std::move(socket)]() mutable { return self->serve(std::move(s)); },
        net::EscapeHandler("a metrics request", on_fault));
  }
}

asio::awaitable<void> HttpServer::Impl::serve(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream stream(std::move(socket));
  // The buffer's own limit bounds what a request may make this connection hold.
  beast::flat_buffer buffer(limits.max_request_bytes);
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_request_bytes));
    boost::system::error_code ec;
    stream.expires_after(limits.timeout);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      break;
    }
    std::optional<http::response<http::string_body>> response;
    if (ec) {
      // Not HTTP, a header over the limit or a body: said once, then the connection closes.
      response = plain(http::status::bad_request, 11, "bad request: " + ec.message() + "\n");
      response->keep_alive(false);
    } else {
      response = respond(parser.get());
      response->keep_alive(parser.get().keep_alive());
    }
    stream.expires_after(limits.timeout);
    co_await http::async_write(stream, *response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !response->keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  --connections;
}

HttpServer::HttpServer(asio::io_context& io, std::shared_ptr<const Registry> registry,
                       HttpLimits limits)
    : impl_(std::make_shared<Impl>(io, std::move(registry), limits)) {}

HttpServer::~HttpServer() { close(); }

Status HttpServer::start(const ListenAddress& address, const std::string& shown_as,
                         net::Failure on_fault) {
  Status listening = net::bind_and_listen(impl_->acceptor, address.host, address.port, shown_as);
  if (!listening) return listening;
  impl_->on_fault = std::move(on_fault);
  asio::co_spawn(
      impl_->acceptor.get_executor(), [impl = impl_] { return impl->accept_loop(); },
      net::EscapeHandler("the metrics listener", impl_->on_fault));
  spdlog::info("metrics: serving GET /metrics on {}:{}", address.host, port());
  return {};
}

void HttpServer::close() {
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

Result<std::unique_ptr<HttpServer>> serve_metrics_listen(asio::io_context& io,
                                                         std::shared_ptr<const Registry> registry,
                                                         const std::string& metrics_listen,
                                                         net::Failure on_fault) {
  const std::string key = "config key 'metrics_listen': ";
  auto address = parse_listen_address(metrics_listen);
  if (!address) return Error{key + address.error()};
  if (!*address) return std::unique_ptr<HttpServer>();
  auto server = std::make_unique<HttpServer>(io, std::move(registry));
  Status started = server->start(**address, metrics_listen, std::move(on_fault));
  if (!started) return Error{key + started.error()};
  return server;
}

std::uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace gsvs::metrics
