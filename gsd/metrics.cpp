#include "gsd/metrics.h"

#include <cmath>

#include "gsd/shared_state.h"

namespace gsvs::gsd {

namespace {

// A ticket leaves the VS every ticket period and should reach the players within milliseconds;
// an age near ticket_validity_ms starves them.
const std::vector<double> kTicketAgeBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,   0.25,   0.5,   1,    2.5,   5};

}  // namespace

GsdMetrics::GsdMetrics()
    : registry(std::make_shared<metrics::Registry>()),
      inputs_accepted(
          registry->counter("gsd_inputs_accepted_total", "Client inputs accepted and applied.")),
      inputs_rejected(*registry, "gsd_inputs_rejected_total",
                      "Client inputs rejected (InputReject sent), by reason.", "reason",
                      protocol::kLastInputRejectReason, &protocol::reason_name),
      ticket_age_seconds(registry->histogram(
          "gsd_ticket_age_seconds",
          "Age of each PlayTicket when gsd forwards it to its players (its issued_ms to now).",
          kTicketAgeBounds)),
      vs_connected(registry->gauge("gsd_vs_connected",
                                   "1 while a session is carried on a VS connection, else 0.")),
      vs_reconnects(registry->counter(
          "gsd_vs_reconnects_total",
          "Attempts to join or resume the VS after the first, each after a backoff wait.")) {
  for (std::size_t why = 0; why < kClientRefusals; ++why) {
    clients_refused.at(why) = &registry->counter(
        "gsd_clients_refused_total", "Client connections closed before their player joined.",
        {{"reason", std::string(client_refusal_name(static_cast<ClientRefusal>(why)))}});
  }
}

void GsdMetrics::ticket_forwarded(std::uint64_t issued_ms, std::uint64_t now_ms) {
  const std::uint64_t age_ms = now_ms > issued_ms ? now_ms - issued_ms : 0;
  ticket_age_seconds.observe(static_cast<double>(age_ms) / 1000.0);
}

Status serve_metrics(const std::shared_ptr<SharedState>& shared) {
  if (shared->config.metrics_listen.empty()) return {};
  GsdMetrics& m = shared->metrics;
  // Read on the daemon's one thread, which also serves the scrape; a state gone reads as NaN.
  const std::weak_ptr<SharedState> weak = shared;
  m.registry->gauge_function(
      "gsd_clients_connected", "Players connected (handshake completed).", [weak]() -> double {
        const auto s = weak.lock();
        return s ? static_cast<double>(s->clients.size() - s->pending.size()) : std::nan("");
      });
  auto served = metrics::serve_metrics_listen(shared->io, m.registry, shared->config.metrics_listen,
                                              shared->stop_on_fault());
  if (!served) return Error{served.error()};
  m.http = std::move(served).value();
  return {};
}

}  // namespace gsvs::gsd
