// What vsd counts for its /metrics endpoint (docs/OPERATIONS.md §2, "Metrics"). The counters
// are bumped where the events happen (a join decided, a frame read, a ticket or revocation
// logged): one relaxed atomic add, from any session loop. What vsd already knows (live sessions,
// the store's size, the writer's queue) is read only when scraped.
#pragma once

#include <cstdint>
#include <memory>

#include "metrics/http_server.h"
#include "metrics/registry.h"
#include "protocol/messages.h"
#include "protocol/result.h"
#include "storage/log.h"

namespace gsvs::vsd {

struct ServerState;

struct VsdMetrics {
  VsdMetrics();

  // First: every reference below points into it.
  std::shared_ptr<metrics::Registry> registry;
  metrics::Counter& joins_accepted;
  metrics::Counter& resumes_accepted;
  metrics::Counter& sessions_adopted;  // from a dead node of the fleet (SessionAdopted logged)
  // JoinRejects logged, to a JoinRequest or a GsResume.
  metrics::CounterPerCode<protocol::JoinRejectReason> joins_rejected;
  metrics::CounterPerCode<protocol::RevocationReason> revocations;
  // Frames of a joined GS, by kind.
  metrics::CounterPerCode<protocol::MessageKind> messages_received;
  metrics::Counter& tickets_issued;
  // Receipts under each signature a session loop made (PROTOCOL.md §5.11.1; 1: signed alone).
  metrics::Histogram& receipt_batch_receipts;
  metrics::Histogram& commit_seconds;
  metrics::Histogram& commit_entries;
  // Checkpoints of the WAL that ran inside a commit (and held its batch's replies), and the WAL's
  // pages after the last commit (docs/STORE.md §7.1).
  metrics::Histogram& wal_checkpoint_in_commit_seconds;
  metrics::Gauge& wal_pages;
  metrics::Gauge& last_checkpoint_seconds;   // Unix time, from the checkpoint's vs_time_ms
  metrics::Gauge& last_checkpoint_log_size;  // entries up to and including it
  metrics::Gauge& last_carry_seconds;        // Unix time, from the StateCarried's vs_time_ms
  metrics::Gauge& quarantines_carried;       // quarantines the last StateCarried restated

  // From the store's writer thread (storage::BatchWriter::Options::on_commit).
  void commit(const storage::CommitStats& stats);
  void checkpoint_written(std::uint64_t log_size, std::uint64_t vs_time_ms);
  void carry_written(std::uint64_t vs_time_ms, std::size_t quarantines);

  // Serves GET /metrics on config.metrics_listen, if set (made by serve_metrics()).
  std::unique_ptr<metrics::HttpServer> http;
};

// Adds the figures read at scrape time and serves them on the config's metrics_listen; nothing
// when it is empty. The error names the key: the address is taken or cannot be bound.
Status serve_metrics(const std::shared_ptr<ServerState>& state);

}  // namespace gsvs::vsd
