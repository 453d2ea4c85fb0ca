// The VS's periodic statements. Checkpoints: a signed Checkpoint entry at the log head whenever
// the log has grown by checkpoint_every_entries or checkpoint_interval_ms has passed, and at most
// one per checkpoint_interval_ms published for the sessions to pass on to their GSes. Carries: a
// StateCarried every carry_interval_ms while the log grows (PROTOCOL.md §8.16 "Carried forward").
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "vsd/server_state.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol
using std::chrono::milliseconds;

void ServerState::publish_checkpoint(Bytes checkpoint) {
  const std::lock_guard lock(published_mutex);
  published_checkpoint = std::make_shared<const Bytes>(std::move(checkpoint));
  published_generation.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const Bytes> ServerState::checkpoint_newer_than(std::uint64_t& seen) {
  if (published_generation.load(std::memory_order_acquire) == seen) return nullptr;
  const std::lock_guard lock(published_mutex);
  seen = published_generation.load(std::memory_order_relaxed);
  return published_checkpoint;
}

storage::PendingEntry ServerState::checkpoint_entry(std::uint64_t size, const Hash32& root,
                                                    std::uint64_t vs_time_ms) {
  Checkpoint checkpoint;
  checkpoint.log_size = size;
  checkpoint.root = root;
  checkpoint.vs_time_ms = vs_time_ms;
  return pending(MessageKind::kCheckpoint, chains::Direction::kIssued, 0, vs_time_ms,
                 sign_and_encode(checkpoint));
}

asio::awaitable<void> ServerState::write_checkpoint() {
  Bytes checkpoint_bytes;
  std::uint64_t signed_at_ms = 0;
  // Built under the writer's lock, so the checkpoint lands exactly at position log_size.
  auto build = [this, &checkpoint_bytes, &signed_at_ms](std::uint64_t size, const Hash32& root) {
    signed_at_ms = clock.now_ms();
    storage::PendingEntry entry = checkpoint_entry(size, root, signed_at_ms);
    checkpoint_bytes = entry.message;
    return std::vector<storage::PendingEntry>{std::move(entry)};
  };
  auto durability = std::make_shared<Durability>(checkpoint_strand);
  auto placed = writer->submit_at_head(build, notify(durability));
  const Status status = co_await durable_or_refused(placed, *durability);
  if (!status) {
    store_failed("checkpoint", status.error());
    co_return;
  }
  const std::uint64_t position = placed->front().header.seq;
  last_checkpoint_size = position + 1;
  ++own_entries_since_carry;
  last_checkpoint_ms = clock.now_ms();
  metrics.checkpoint_written(last_checkpoint_size, signed_at_ms);
  spdlog::debug("checkpoint at position {} over {} entries", position, position);
  // Sending costs a frame per live session, so the GSes get a checkpoint at most once per
  // checkpoint_interval_ms however busy the log is (every 1000 entries across 5,000 sessions
  // would be tens of thousands of frames a second). The GS needs only some checkpoints: any
  // two are linked by a consistency proof. Judged by the signed vs_time_ms, so the GS sees the
  // spacing in what it holds. Each session sends it with its next ticket.
  if (signed_at_ms >= last_published_ms + config.checkpoint_interval_ms) {
    last_published_ms = signed_at_ms;
    publish_checkpoint(std::move(checkpoint_bytes));
  }
}

std::vector<storage::PendingEntry> ServerState::carry_entries(std::uint64_t position,
                                                              std::uint64_t vs_time_ms,
                                                              std::size_t& restated) {
  StateCarried head;
  head.vs_time_ms = vs_time_ms;
  // Every id and number handed out so far, placed before this entry or not yet: the numbering a
  // start takes up must pass both.
  head.session_id_high = std::max(next_session_id.load() - 1, highest_session_logged);
  head.revocation_seq_high = next_revocation_seq.load() - 1;
  if (policy) {
    head.policy_seq = policy->seq;
    head.policy_position = policy->position;
    head.policy_hash = policy_hash(policy->policy);
  }
  head.policy_quarantine_ms = quarantine.term();
  const std::vector<CarriedQuarantine> in_force = quarantine.carried_at(vs_time_ms);
  const std::size_t parts = std::max<std::size_t>(
      1, (in_force.size() + kMaxCarriedQuarantines - 1) / kMaxCarriedQuarantines);
  std::vector<storage::PendingEntry> entries;
  if (parts > 0xffff) {
    // Never a carry that leaves a quarantine out: retention then keeps what it would restate.
    spdlog::error(
        "{} quarantines in force are more than a StateCarried can restate ({} parts of "
        "{}); none is written, and retention keeps their Revocations",
        in_force.size(), 0xffff, kMaxCarriedQuarantines);
    return entries;
  }
  head.parts = static_cast<std::uint16_t>(parts);
  restated = in_force.size();
  for (std::size_t part = 0; part < head.parts; ++part) {
    StateCarried carried = head;
    carried.log_size = position + part;
    carried.part = static_cast<std::uint16_t>(part);
    const std::size_t first = part * kMaxCarriedQuarantines;
    const std::size_t end = std::min(in_force.size(), first + kMaxCarriedQuarantines);
    carried.quarantines.assign(in_force.begin() + static_cast<std::ptrdiff_t>(first),
                               in_force.begin() + static_cast<std::ptrdiff_t>(end));
    entries.push_back(pending(MessageKind::kStateCarried, chains::Direction::kIssued, 0, vs_time_ms,
                              sign_and_encode(carried)));
  }
  return entries;
}

asio::awaitable<void> ServerState::write_carry() {
  std::uint64_t built_at_ms = 0;
  std::size_t quarantines = 0;
  // Built under the writer's lock and `mutex`, where Revocations, PolicyApplieds and Pardons are
  // placed: the carry states what the log holds before it, no more and no less.
  auto build = [this, &built_at_ms, &quarantines](std::uint64_t size, const Hash32&) {
    built_at_ms = clock.now_ms();
    std::lock_guard lock(mutex);
    return carry_entries(size, built_at_ms, quarantines);
  };
  auto durability = std::make_shared<Durability>(checkpoint_strand);
  auto placed = writer->submit_at_head(build, notify(durability));
  last_carry_ms = built_at_ms;
  if (placed && placed->empty()) co_return;  // too many quarantines to restate (carry_entries)
  const Status status = co_await durable_or_refused(placed, *durability);
  if (!status) {
    store_failed("carrying the state forward", status.error());
    co_return;
  }
  last_carry_size = placed->back().header.seq + 1;
  own_entries_since_carry = 0;
  metrics.carry_written(built_at_ms, quarantines);
  spdlog::info(
      "state carried forward at position {} ({} quarantine(s) restated, {} part(s)): retention "
      "may retire what lies before it",
      placed->front().header.seq, quarantines, placed->size());
}

asio::awaitable<void> ServerState::checkpoint_loop() {
  auto self = shared_from_this();
  const std::uint64_t poll_ms = std::min<std::uint64_t>(100, config.checkpoint_interval_ms);
  while (!stopping) {
    checkpoint_timer.expires_after(milliseconds(poll_ms));
    boost::system::error_code ec;
    co_await checkpoint_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping) co_return;
    const std::uint64_t size = writer->size();
    const bool grown = size > last_checkpoint_size;
    const bool by_count = size >= last_checkpoint_size + config.checkpoint_every_entries;
    const bool by_time = clock.now_ms() >= last_checkpoint_ms + config.checkpoint_interval_ms;
    if (grown && (by_count || by_time)) co_await write_checkpoint();
    if (stopping) co_return;
    if (writer->size() > last_carry_size + own_entries_since_carry &&
        clock.now_ms() >= last_carry_ms + config.carry_interval_ms) {
      co_await write_carry();
    }
  }
}

}  // namespace gsvs::vsd
