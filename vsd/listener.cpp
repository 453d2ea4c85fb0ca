// The GS port: accepts connections, waits out descriptor shortages (net/accept_backoff.h), refuses
// those over max_connections, and starts a Session for each on the next session loop in turn.
#include <spdlog/spdlog.h>

#include "net/accept_backoff.h"
#include "net/listen.h"
#include "vsd/server_state.h"
#include "vsd/session.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using net::tcp;

Status ServerState::listen() {
  return net::bind_and_listen(acceptor, config.listen_host, config.listen_port, config.listen);
}

asio::awaitable<void> ServerState::accept_loop() {
  auto self = shared_from_this();
  net::AcceptBackoff backoff(io.get_executor(), "GS listener");
  while (!stopping) {
    boost::system::error_code ec;
    SessionLoop& loop = *session_loops[next_loop++ % session_loops.size()];
    tcp::socket socket(loop.executor());
    co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      const bool waited = co_await backoff.after_failure(ec);
      if (waited) continue;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    backoff.after_success();
    if (connections.load() >= config.max_connections) {
      spdlog::warn("connection from {} refused: max_connections ({}) reached",
                   socket.remote_endpoint(ec).address().to_string(), config.max_connections);
      socket.close(ec);
      continue;
    }
    connections.fetch_add(1);
    auto executor = socket.get_executor();
    auto session = std::make_shared<Session>(shared_from_this(), std::move(socket), loop);
    asio::co_spawn(
        executor, [session] { return session->run(); }, asio::detached);
  }
}

}  // namespace gsvs::vsd
