// The verifier's signature stage: the worker pool that checks a batch's signatures while the
// next batch is read, handing batches to it and back to the semantic stage, which key checks
// each signature, and finding the VS key beside the store when none is pinned.
#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include "audit-cli/verifier_pipeline.h"
#include "protocol/keyfile.h"

namespace gsvs::audit::detail {

VerifyPool::VerifyPool(unsigned threads) {
  workers_.reserve(threads);  // before any starts: a growing vector must not throw past them
  try {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
  } catch (const std::system_error& e) {
    // The system refused a thread (a pids or process limit): the ones started are joined, since
    // destroying a running std::thread ends the program.
    stop_and_join();
    throw std::runtime_error(
        "cannot start signature-checking thread " + std::to_string(workers_.size() + 1) + " of " +
        std::to_string(threads) + ": " + e.what() + " (ask for fewer with --threads)");
  }
}

VerifyPool::~VerifyPool() { stop_and_join(); }

void VerifyPool::stop_and_join() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void VerifyPool::start(Batch& batch) {
  batch.valid.assign(batch.jobs.size(), 0);
  if (batch.jobs.empty()) {
    batch.finished = true;
    return;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(&batch);
  }
  cv_.notify_all();
}

void VerifyPool::wait(Batch& batch) {
  std::unique_lock lock(batch.mutex);
  batch.cv.wait(lock, [&] { return batch.finished; });
}

void VerifyPool::run() {
  for (;;) {
    Batch* batch = nullptr;
    std::size_t begin = 0;
    std::size_t end = 0;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      batch = queue_.front();
      begin = batch->next;
      end = std::min(begin + kChunk, batch->jobs.size());
      batch->next = end;
      if (end == batch->jobs.size()) queue_.pop_front();
    }
    for (std::size_t i = begin; i < end; ++i) {
      const Job& job = batch->jobs[i];
      const Item& item = batch->items[job.item];
      batch->valid[i] =
          verify_stored_signature(item.entry.header.kind, item.entry.message, job.index, job.key)
              ? 1
              : 0;
    }
    const std::size_t count = end - begin;
    if (batch->done.fetch_add(count) + count == batch->jobs.size()) {
      std::lock_guard lock(batch->mutex);
      batch->finished = true;
      batch->cv.notify_all();
    }
  }
}

void Verifier::dispatch() {
  pool_->start(*filling_);
  in_flight_.push_back(std::move(filling_));
  if (in_flight_.size() > 1) complete_oldest();
  filling_ = std::make_unique<Batch>();
  filling_->items.reserve(options_.batch_entries);
}

void Verifier::complete_oldest() {
  std::unique_ptr<Batch> batch = std::move(in_flight_.front());
  in_flight_.pop_front();
  VerifyPool::wait(*batch);
  for (std::size_t j = 0; j < batch->jobs.size(); ++j) {
    const Job& job = batch->jobs[j];
    batch->items[job.item].sigs[job.index] = sig_state(batch->valid[j] != 0);
  }
  result_.stats.signatures_checked += batch->jobs.size();
  for (auto& item : batch->items) judge(item);
  if (options_.progress) options_.progress(result_.stats.entries, total_);
}

void Verifier::plan_signatures(Item& item, std::uint32_t index, Batch& batch) {
  if (!item.message) return;
  const MessageKind kind = item.entry.header.kind;
  const auto tags = signature_tags(kind);
  item.sig_count = static_cast<std::uint8_t>(std::min<std::size_t>(tags.size(), 2));
  auto job = [&](std::uint8_t sig, const crypto::PublicKey& key) {
    batch.jobs.push_back(Job{index, sig, key});
  };
  if (protocol::vs_signed(kind)) {
    if (item.entry.header.direction != chains::Direction::kIssued) return;  // the GS's frame
    if (result_.vs_key) {
      job(0, result_.vs_key->key);
    } else {
      ++result_.stats.signatures_unchecked;
    }
  } else if (kind == MessageKind::kJoinRequest) {
    const auto& request = std::get<protocol::JoinRequest>(*item.message);
    job(0, request.gs_identity);
    job(1, request.session_key);
  } else if (protocol::gs_session_traffic(kind)) {
    auto it = session_keys_.find(item.entry.header.session_id);
    if (it != session_keys_.end()) {
      job(0, it->second);
    } else {
      ++result_.stats.signatures_unchecked;
    }
  }
}

namespace {

struct FirstVsEntry {
  std::uint64_t seq = 0;
  MessageKind kind = MessageKind::kJoinAccept;
  Bytes message;
};

std::optional<FirstVsEntry> first_vs_signed(const storage::Log& log) {
  std::optional<FirstVsEntry> found;
  const auto until_found = [&](const storage::Entry& e) {
    if (!protocol::vs_signed(e.header.kind) || !protocol::decode_any(e.message)) return true;
    found = FirstVsEntry{e.header.seq, e.header.kind, e.message};
    return false;
  };
  // Unreadable rows are read past; the verifier's own scan reports a store it cannot read.
  (void)log.scan({}, until_found, storage::Log::read_past_bad_rows);
  return found;
}

std::vector<std::filesystem::path> key_files_beside(const std::string& store) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  auto dir = std::filesystem::path(store).parent_path();
  if (dir.empty()) dir = ".";
  // Stepped with an error code (a range-for's step throws where reading the directory fails);
  // the search is best effort and ends there.
  for (std::filesystem::directory_iterator it(dir, ec);
       !ec && it != std::filesystem::directory_iterator() && out.size() < 64; it.increment(ec)) {
    std::error_code file_ec;
    if (it->path().extension() == ".pub" && it->is_regular_file(file_ec) &&
        it->file_size(file_ec) <= 4096) {
      out.push_back(it->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void resolve_vs_key(const storage::Log& log, const std::string& path, const VerifyOptions& options,
                    VerifyResult& result, FindingSink& sink) {
  if (options.vs_key) {
    result.vs_key = options.vs_key;
    return;
  }
  auto first = first_vs_signed(log);
  if (!first) return;  // nothing VS-signed to check
  if (options.discover_vs_key) {
    for (const auto& file : key_files_beside(path)) {
      auto key = keyfile::read_public_key(file.string());
      if (!key) continue;
      if (verify_stored_signature(first->kind, first->message, 0, *key)) {
        result.vs_key = KeySource{*key, "file " + file.string()};
        result.vs_key_discovered = true;
        result.warnings.push_back(
            "VS public key NOT PINNED: using " + to_hex(*key) + " from " + file.string() +
            " because it verifies the " + kind_label(first->kind) + " at entry " +
            std::to_string(first->seq) +
            ". Whoever could edit the store could also have replaced that file: pin the VS "
            "operator's published key with --vs-pubkey.");
        return;
      }
    }
  }
  result.warnings.push_back(
      "VS signatures NOT CHECKED: no --vs-pubkey, and no public key file beside the store "
      "verifies the " +
      kind_label(first->kind) + " at entry " + std::to_string(first->seq) +
      ". The store itself does not hold the VS key.");
  Finding f =
      finding_at(first->seq, check::kVsKey,
                 "a VS public key to check VS-issued entries with (--vs-pubkey HEX|FILE)", "none",
                 "without it, receipts, tickets, checkpoints and revocations are unauthenticated");
  f.kind = kind_code(first->kind);
  sink.add(std::move(f));
}

}  // namespace gsvs::audit::detail
