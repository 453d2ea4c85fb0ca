#include "gsd/listener.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "gsd/client_session.h"
#include "gsd/shared_state.h"
#include "net/accept_backoff.h"
#include "net/listen.h"

namespace gsvs::gsd {

namespace asio = net::asio;

namespace {

// The client connections refused before their player joined are logged one line per period at
// most (the first of each period has a line of its own).
constexpr std::chrono::seconds kSummaryPeriod{1};

}  // namespace

Listener::Listener(std::shared_ptr<SharedState> shared)
    : shared_(std::move(shared)), acceptor_(shared_->io), summary_timer_(shared_->io) {}

Status Listener::open() {
  const Config& config = shared_->config;
  Status listening =
      net::bind_and_listen(acceptor_, config.listen_host, config.listen_port, config.listen);
  if (!listening) return listening;
  shared_->client_port = port();
  return {};
}

void Listener::run() {
  asio::co_spawn(
      shared_->io, [self = shared_from_this()] { return self->accept_loop(); },
      shared_->on_escape("the client listener"));
}

void Listener::close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  summary_timer_.cancel();
  shared_->client_port = 0;
}

std::uint16_t Listener::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void Listener::summarise_refusals() {
  if (auto line = shared_->client_refusals.take_summary("their player joined",
                                                        std::chrono::steady_clock::now())) {
    spdlog::info("client port: {}", *line);
  }
}

asio::awaitable<void> Listener::summary_loop() {
  auto self = shared_from_this();
  while (!shared_->stopping) {
    summary_timer_.expires_after(kSummaryPeriod);
    boost::system::error_code ec;
    co_await summary_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;  // closed: the stop logs the last
    summarise_refusals();
  }
}

asio::awaitable<void> Listener::accept_loop() {
  auto self = shared_from_this();
  asio::co_spawn(shared_->io, summary_loop(), shared_->on_escape("the client refusal summary"));
  net::AcceptBackoff backoff(shared_->io.get_executor(), "client listener");
  while (!shared_->stopping) {
    net::tcp::socket socket(shared_->io);
    boost::system::error_code ec;
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (shared_->stopping || ec == asio::error::operation_aborted) co_return;
      if (co_await backoff.after_failure(ec)) continue;
      spdlog::warn("accepting a client failed: {}", ec.message());
      continue;
    }
    backoff.after_success();
    admit(std::move(socket));
  }
}

void Listener::admit(net::tcp::socket socket) {
  auto session = std::make_shared<ClientSession>(shared_, next_client_id_++, std::move(socket));
  shared_->clients.emplace(session->id(), session);
  // Not a player yet: the connection counts against the pre-handshake budget only, and takes
  // the place of the oldest unfinished handshake when that budget is spent.
  if (auto displaced = shared_->pending.admit(session->id(), session->source())) {
    if (auto it = shared_->clients.find(*displaced); it != shared_->clients.end()) {
      if (auto oldest = it->second.lock()) {
        spdlog::debug("client {}: handshake unfinished, making room for a newer connection",
                      oldest->peer());
        oldest->close_displaced();
      }
    }
  }
  session->run();
}

}  // namespace gsvs::gsd
