// The GS port: accepts connections, waits out descriptor shortages (net/accept_backoff.h), counts
// each against the budget of connections before authentication (vsd/connection_budget.h), and
// starts a Session for each on the next session loop in turn. What the budget turns away, and the
// joins closed while they waited their turn, are summarised in one log line a second at most.
#include <spdlog/spdlog.h>

#include <chrono>

#include "net/accept_backoff.h"
#include "net/listen.h"
#include "vsd/connection_budget.h"
#include "vsd/server_state.h"
#include "vsd/session.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using net::tcp;

namespace {

constexpr std::chrono::seconds kSummaryPeriod{1};

// Runs the session, then gives its place in the budget back.
asio::awaitable<void> run_counted(std::shared_ptr<ServerState> server,
                                  std::shared_ptr<Session> session, net::ConnectionId id) {
  co_await session->run();
  server->connection_budget->release(id);
}

// At most one line per kSummaryPeriod for the connections turned away before authenticating.
asio::awaitable<void> refusal_summary_loop(std::shared_ptr<ServerState> server) {
  asio::steady_timer timer(server->io);
  for (;;) {
    timer.expires_after(kSummaryPeriod);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (server->stopping) co_return;  // begin_stop() reports the last window
    server->summarise_refusals();
  }
}

}  // namespace

void ServerState::summarise_refusals() {
  if (!connection_budget) return;  // stopped before it listened
  if (auto line = connection_budget->take_summary()) spdlog::warn("GS port: {}", *line);
  // Authenticated joins closed unanswered, the first of each window logged in full where it
  // happened (session_join.cpp): a storm of returning GSes must not write a line each either.
  if (const auto paced = joins_closed_paced.exchange(0); paced >= 2) {
    spdlog::warn(
        "GS port: {} joins closed unanswered in the last second: more were waiting than "
        "max_joins_per_second ({}) decides in half of handshake_timeout_ms; their GSes retry",
        paced, config.max_joins_per_second);
  }
  if (const auto late = joins_closed_by_lag.exchange(0); late >= 2) {
    spdlog::warn(
        "GS port: {} joins closed unanswered in the last second: the session loops stayed "
        "over admission_max_lag_ms ({}) for half of handshake_timeout_ms; their GSes retry",
        late, config.admission_max_lag_ms);
  }
}

Status ServerState::listen() {
  connection_budget = std::make_unique<ConnectionBudget>(ConnectionBudget::Limits{
      config.max_connections, config.max_unauthenticated, config.max_unauthenticated_per_source});
  join_pacer = std::make_unique<JoinPacer>(
      config.max_joins_per_second, std::chrono::milliseconds(config.handshake_timeout_ms / 2));
  return net::bind_and_listen(acceptor, config.listen_host, config.listen_port, config.listen);
}

asio::awaitable<void> ServerState::accept_loop() {
  auto self = shared_from_this();
  asio::co_spawn(io, refusal_summary_loop(self), on_escape("the refusal summary"));
  net::AcceptBackoff backoff(io.get_executor(), "GS listener");
  net::ConnectionId next_id = 1;
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
    const std::string source = net::budget_source(socket);
    const net::ConnectionId id = next_id++;
    auto session = std::make_shared<Session>(self, std::move(socket), loop);
    session->set_connection_id(id);
    const std::weak_ptr<Session> weak = session;
    auto admission = connection_budget->admit(id, source, [weak] {
      if (auto displaced = weak.lock()) displaced->displace();
    });
    if (admission.close_displaced) admission.close_displaced();
    if (!admission.admitted) continue;  // the session closes its socket as it goes
    connections.fetch_add(1);
    asio::co_spawn(loop.executor(), run_counted(self, std::move(session), id),
                   on_escape("GS connection " + std::to_string(id)));
  }
}

}  // namespace gsvs::vsd
