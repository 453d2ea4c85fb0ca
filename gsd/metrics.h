// What gsd counts for its /metrics endpoint (docs/OPERATIONS.md §3, "Metrics"): bumped where the
// events happen, on the daemon's one thread; the players connected are read when scraped.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "gsd/admission.h"
#include "metrics/http_server.h"
#include "metrics/registry.h"
#include "protocol/messages.h"
#include "protocol/result.h"

namespace gsvs::gsd {

struct SharedState;

struct GsdMetrics {
  GsdMetrics();

  // First: every reference below points into it.
  std::shared_ptr<metrics::Registry> registry;
  metrics::Counter& inputs_accepted;
  metrics::CounterPerCode<protocol::InputRejectReason> inputs_rejected;
  metrics::Histogram& ticket_age_seconds;
  metrics::Gauge& vs_connected;  // 1 while a session is carried on a VS connection
  metrics::Counter& vs_reconnects;
  // Client connections closed before their player joined, by ClientRefusal.
  std::array<metrics::Counter*, kClientRefusals> clients_refused{};

  // A ticket the VS issued at `issued_ms` goes to the players at `now_ms` (both Unix ms; a VS
  // clock ahead of this one counts as age 0).
  void ticket_forwarded(std::uint64_t issued_ms, std::uint64_t now_ms);

  std::unique_ptr<metrics::HttpServer> http;  // on metrics_listen (serve_metrics())
};

// Adds the figures read at scrape time and serves them on the config's metrics_listen; nothing
// when it is empty. The error names the key.
Status serve_metrics(const std::shared_ptr<SharedState>& shared);

}  // namespace gsvs::gsd
