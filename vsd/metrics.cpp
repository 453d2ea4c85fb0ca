#include "vsd/metrics.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "storage/segment_files.h"
#include "vsd/server_state.h"

namespace gsvs::vsd {

namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace): labels are protocol names

// A commit is an fsync or two: from a fraction of a millisecond on an SSD to seconds on a disk
// that is failing.
const std::vector<double> kCommitSecondsBounds{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                               0.1,    0.2,   0.5,   1,     2,    5};
// Entries a commit carries: 1 when idle, up to the writer's 512 under load (one larger submit
// goes alone).
const std::vector<double> kCommitEntriesBounds{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

// The store's files and their bytes on disk, WAL included: one file, or the segments of a
// directory (the archived and pruned ones are gone from it).
struct Footprint {
  std::uint64_t bytes = 0;
  std::uint64_t files = 0;
};

std::uint64_t bytes_with_wal(const std::filesystem::path& file) {
  std::uint64_t total = 0;
  for (const auto& path : {file, std::filesystem::path(file.string() + "-wal")}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec) total += size;
  }
  return total;
}

// Nothing for a PostgreSQL store: its files are the server's, which PostgreSQL's own monitoring
// reports (docs/OPERATIONS.md §8).
Footprint footprint(const std::string& store) {
  Footprint out;
  if (storage::is_postgres_store(store)) return out;
  std::error_code ec;
  if (!std::filesystem::is_directory(store, ec)) {
    out.bytes = bytes_with_wal(store);
    out.files = 1;
    return out;
  }
  auto segments = storage::list_segment_files(store);
  if (!segments) return out;
  for (const auto& [index, name] : *segments) {
    out.bytes += bytes_with_wal(std::filesystem::path(store) / name);
    ++out.files;
  }
  return out;
}

}  // namespace

VsdMetrics::VsdMetrics()
    : registry(std::make_shared<metrics::Registry>()),
      joins_accepted(
          registry->counter("vsd_joins_accepted_total", "GS joins accepted (JoinAccept logged).")),
      resumes_accepted(registry->counter("vsd_resumes_accepted_total",
                                         "Sessions resumed after a VS restart (ResumeAccept "
                                         "logged).")),
      sessions_adopted(registry->counter("vsd_sessions_adopted_total",
                                         "Sessions of a dead node of the fleet taken up here "
                                         "(SessionAdopted logged).")),
      joins_rejected(*registry, "vsd_joins_rejected_total",
                     "JoinRejects logged, to a JoinRequest or a GsResume, by reason.", "reason",
                     kLastJoinRejectReason, &reason_name),
      revocations(*registry, "vsd_revocations_total", "Sessions revoked, by reason.", "reason",
                  kLastRevocationReason, &reason_name),
      messages_received(*registry, "vsd_messages_received_total",
                        "Frames received from joined GSes, by message kind.", "kind",
                        static_cast<MessageKind>(kMaxMessageKind), &kind_name),
      tickets_issued(registry->counter("vsd_tickets_issued_total", "PlayTickets issued.")),
      receipt_batch_receipts(registry->histogram(
          "vsd_receipt_batch_receipts",
          "ProtectedReceipts signed with one signature (a batch; 1: signed alone).",
          kCommitEntriesBounds)),
      commit_seconds(registry->histogram(
          "vsd_store_commit_seconds", "Time of one store commit: writing the batch and its fsync.",
          kCommitSecondsBounds)),
      commit_entries(registry->histogram("vsd_store_commit_entries",
                                         "Entries one store commit made durable.",
                                         kCommitEntriesBounds)),
      wal_checkpoint_in_commit_seconds(registry->histogram(
          "vsd_store_wal_checkpoint_in_commit_seconds",
          "Checkpoints of the WAL run inside a store commit, which waited for them.",
          kCommitSecondsBounds)),
      wal_pages(registry->gauge("vsd_store_wal_pages",
                                "Pages in the store's WAL after the last commit.")),
      last_checkpoint_seconds(registry->gauge("vsd_last_checkpoint_timestamp_seconds",
                                              "Unix time of the last checkpoint written (0: none "
                                              "yet in this run).")),
      last_checkpoint_log_size(registry->gauge(
          "vsd_last_checkpoint_log_size",
          "Log entries up to and including the last checkpoint written (0: none yet in this "
          "run).")),
      last_carry_seconds(registry->gauge(
          "vsd_last_carry_timestamp_seconds",
          "Unix time of the last StateCarried written, from which retention may retire what came "
          "before (0: none yet in this run).")),
      quarantines_carried(registry->gauge("vsd_quarantines_carried",
                                          "Quarantines the last StateCarried restated (in force, "
                                          "or lapsed within the ten minutes before it).")) {}

void VsdMetrics::commit(const storage::CommitStats& stats) {
  commit_seconds.observe(std::chrono::duration<double>(stats.duration).count());
  commit_entries.observe(static_cast<double>(stats.entries));
  wal_pages.set(static_cast<double>(stats.wal_pages));
  if (stats.wal_checkpoint != storage::WalCheckpointInCommit::kNone) {
    wal_checkpoint_in_commit_seconds.observe(
        std::chrono::duration<double>(stats.wal_checkpoint_duration).count());
  }
}

void VsdMetrics::checkpoint_written(std::uint64_t log_size, std::uint64_t vs_time_ms) {
  last_checkpoint_seconds.set(static_cast<double>(vs_time_ms) / 1000.0);
  last_checkpoint_log_size.set(static_cast<double>(log_size));
}

void VsdMetrics::carry_written(std::uint64_t vs_time_ms, std::size_t quarantines) {
  last_carry_seconds.set(static_cast<double>(vs_time_ms) / 1000.0);
  quarantines_carried.set(static_cast<double>(quarantines));
}

Status serve_metrics(const std::shared_ptr<ServerState>& state) {
  const Config& config = state->config;
  if (config.metrics_listen.empty()) return {};
  VsdMetrics& m = state->metrics;
  // Read on the scraping thread (the main loop); a state already gone reads as NaN.
  const std::weak_ptr<ServerState> weak = state;
  const auto read = [weak](auto figure) {
    return [weak, figure]() -> double {
      const auto s = weak.lock();
      return s ? static_cast<double>(figure(*s)) : std::nan("");
    };
  };
  m.registry->gauge_function("vsd_sessions_live", "Sessions live on a GS connection.",
                             read([](ServerState& s) {
                               const std::lock_guard lock(s.mutex);
                               return s.live.size();
                             }));
  m.registry->gauge_function("vsd_sessions_suspended",
                             "Sessions left live by the previous run, waiting to be resumed.",
                             read([](ServerState& s) {
                               const std::lock_guard lock(s.mutex);
                               return s.suspended.size();
                             }));
  m.registry->gauge_function(
      "vsd_session_loop_lag_seconds",
      "How late the latest lag probe of the latest session loop ran; joins wait while it is over "
      "admission_max_lag_ms.",
      read([](const ServerState& s) {
        return std::chrono::duration<double>(s.session_loop_lag()).count();
      }));
  m.registry->gauge_function("vsd_max_connections",
                             "The max_connections setting: GS connections vsd serves at most.",
                             read([](const ServerState& s) { return s.config.max_connections; }));
  m.registry->gauge_function("vsd_store_entries", "Entries in the log, committed or queued.",
                             read([](ServerState& s) { return s.writer->size(); }));
  m.registry->gauge_function("vsd_store_queue_entries",
                             "Entries submitted to the store's writer and not yet committed.",
                             read([](ServerState& s) { return s.writer->queued_entries(); }));
  m.registry->gauge_function(
      "vsd_store_size_bytes", "Bytes on disk of the store's files (segments), WAL included.",
      read([](const ServerState& s) { return footprint(s.config.store).bytes; }));
  m.registry->gauge_function(
      "vsd_store_segments", "Files of the store: its segments (1 for a single-file store).",
      read([](const ServerState& s) { return footprint(s.config.store).files; }));
  auto served = metrics::serve_metrics_listen(state->io, m.registry, config.metrics_listen,
                                              state->stop_on_fault());
  if (!served) return Error{served.error()};
  m.http = std::move(served).value();
  return {};
}

}  // namespace gsvs::vsd
