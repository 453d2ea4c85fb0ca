#include "audit-cli/verifier.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <thread>
#include <utility>

#include "audit-cli/scan.h"
#include "audit-cli/session_model.h"
#include "protocol/chains.h"
#include "protocol/keyfile.h"
#include "protocol/merkle.h"
#include "rules/join_rules.h"

namespace gsvs::audit {

using protocol::MessageKind;

namespace {

constexpr std::uint8_t raw(MessageKind kind) { return static_cast<std::uint8_t>(kind); }

bool known_kind(std::uint8_t kind) { return protocol::is_known(static_cast<MessageKind>(kind)); }

bool vs_signed(std::uint8_t kind) { return protocol::vs_signed(static_cast<MessageKind>(kind)); }

// Kinds the VS writes as issued (direction 2): everything it sends, signed or not (VsChallenge);
// everything else it can only have received.
bool issued_kind(std::uint8_t kind) {
  const auto* role = protocol::kind_role(static_cast<MessageKind>(kind));
  return role != nullptr && role->route == protocol::Route::kVsToGs;
}

bool session_kind(std::uint8_t kind) {
  return protocol::gs_session_traffic(static_cast<MessageKind>(kind));
}

std::string direction_label(chains::Direction direction) {
  switch (direction) {
    case chains::Direction::kReceived:
      return "received (1)";
    case chains::Direction::kIssued:
      return "issued (2)";
  }
  return "invalid (" + std::to_string(static_cast<unsigned>(direction)) + ")";
}

// ---- One row on its way through the pipeline --------------------------------------------------

struct Item {
  storage::Entry entry;
  std::uint64_t position = 0;  // where the VS put it: seq, or its old seq if renumbered
  bool readable = true;
  std::optional<protocol::AnyMessage> message;
  std::string decode_error;
  std::array<SigState, 2> sigs{SigState::kUnchecked, SigState::kUnchecked};
  std::uint8_t sig_count = 0;
  std::vector<Finding> early;  // chain and column findings, emitted in order with the row
};

struct Job {
  std::uint32_t item = 0;
  std::uint8_t index = 0;
  crypto::PublicKey key;
};

struct Batch {
  std::vector<Item> items;
  std::vector<Job> jobs;
  std::vector<std::uint8_t> valid;  // per job, written by exactly one worker
  std::size_t next = 0;             // next job to hand out (under the pool's lock)
  std::atomic<std::size_t> done{0};
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;
};

// Signature workers. A batch's jobs are handed out in chunks under one lock; the worker that
// completes the last chunk marks the batch finished (notifying under the batch's lock, so the
// owner cannot free it in between).
class VerifyPool {
 public:
  explicit VerifyPool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
  }
  ~VerifyPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& worker : workers_) worker.join();
  }
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  void start(Batch& batch) {
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
  static void wait(Batch& batch) {
    std::unique_lock lock(batch.mutex);
    batch.cv.wait(lock, [&] { return batch.finished; });
  }

 private:
  static constexpr std::size_t kChunk = 32;

  void run() {
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

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch*> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// ---- The verifier ---------------------------------------------------------------------------

// A JoinRequest the VS logged outside a joined session, until the entry after it answers it.
struct PendingJoin {
  std::uint64_t seq = 0;
  Hash32 hash;  // of the request bytes: what the answer's join_request_hash names
  protocol::SessionId session_column = 0;
  std::optional<protocol::JoinRequest> request;
  std::string decode_error;
  std::array<SigState, 2> sigs{SigState::kUnchecked, SigState::kUnchecked};
};

class Verifier {
 public:
  Verifier(const storage::Log& log, const storage::Log& lookup_log, const VerifyOptions& options,
           VerifyResult& result, FindingSink& sink)
      : log_(log), lookup_log_(lookup_log), options_(options), result_(result), sink_(sink) {}

  Status run();

 private:
  // Read stage (verifying thread, ahead of the workers): chain, columns, decode, jobs.
  void read(const storage::Entry& entry);
  void unreadable(std::uint64_t seq, const std::string& reason);
  void check_chain(Item& item, const Hash32& recomputed);
  void check_columns(Item& item);
  void plan_signatures(Item& item, std::uint32_t index, Batch& batch);
  void check_checkpoint_position(Item& item, const Hash32& root_before);
  // Semantic stage (verifying thread, after the batch's signatures are in).
  void judge(Item& item);
  void on_join_request(Item& item);
  // `join`: the request just before the answer, if that entry is an unanswered JoinRequest.
  void on_join_accept(Item& item, const protocol::JoinAccept& accept,
                      const std::optional<PendingJoin>& join);
  void on_join_reject(Item& item, const protocol::JoinReject& reject,
                      const std::optional<PendingJoin>& join);
  // Whether the answer at `item` has a request just before it (`join`) to pair with; a finding
  // when it has none, or when its join_request_hash names other bytes.
  bool answers(const Item& item, const Hash32& join_request_hash,
               const std::optional<PendingJoin>& join);
  // `join` got no answer in the entry after it (`next`; nullptr: the log ends).
  void unanswered(const PendingJoin& join, const Item* next);
  // What the log shows of the §8.3 checks on `join`: whether it decodes, both signatures, and
  // whether its identity has a live session here.
  [[nodiscard]] rules::JoinFacts known_facts(const PendingJoin& join) const;
  void check_accepted_request(const Item& item, const protocol::JoinAccept& accept,
                              const PendingJoin& join);
  void on_revocation(Item& item, const protocol::Revocation& revocation);
  // At a Checkpoint: every session silent past its heartbeat deadline by more than
  // heartbeat_timeout_ms is one the VS left unrevoked (PROTOCOL.md §8.5 "Liveness").
  void check_silent_sessions(const Item& checkpoint);
  void to_session(Item& item);
  void finish();

  void dispatch();
  void complete_oldest();
  Finding finding(const Item& item, std::string_view check, std::string expected, std::string found,
                  std::string detail = {}) const;
  std::optional<EntryBrief> lookup(std::uint64_t seq) const;

  const storage::Log& log_;
  const storage::Log& lookup_log_;
  const VerifyOptions& options_;
  VerifyResult& result_;
  FindingSink& sink_;
  std::unique_ptr<VerifyPool> pool_;
  std::unique_ptr<Batch> filling_;
  std::deque<std::unique_ptr<Batch>> in_flight_;
  std::uint64_t total_ = 0;

  // Read-stage state.
  std::uint64_t next_seq_ = 0;
  std::optional<Hash32> prev_stored_;  // stored entry_hash of the row before (if readable)
  bool after_gap_ = false;
  merkle::Accumulator recomputed_tree_;
  std::map<protocol::SessionId, crypto::PublicKey> session_keys_;  // from JoinAccepts read

  // Semantic-stage state.
  std::map<protocol::SessionId, std::unique_ptr<SessionModel>> sessions_;
  std::map<protocol::PublicKey, protocol::SessionId> live_identities_;
  // Live sessions by a heartbeat deadline they had when pushed (it only moves later), earliest
  // first: a Checkpoint looks only at those that may have run out.
  using Deadline = std::pair<std::uint64_t, protocol::SessionId>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::optional<PendingJoin> unanswered_join_;  // the entry before was this JoinRequest
  protocol::SessionId max_session_id_ = 0;
  std::uint64_t last_revocation_seq_ = 0;
  std::uint64_t vs_signatures_valid_ = 0;
  std::uint64_t vs_signatures_invalid_ = 0;
};

Finding Verifier::finding(const Item& item, std::string_view check, std::string expected,
                          std::string found, std::string detail) const {
  Finding f;
  f.seq = item.entry.header.seq;
  f.kind = static_cast<std::uint8_t>(item.entry.header.kind);
  f.session_id = item.entry.header.session_id;
  f.check = std::string(check);
  f.expected = std::move(expected);
  f.found = std::move(found);
  f.detail = std::move(detail);
  return f;
}

std::optional<EntryBrief> Verifier::lookup(std::uint64_t seq) const {
  auto entry = lookup_log_.get(seq);
  if (!entry) return std::nullopt;
  const auto& h = entry->header;
  return EntryBrief{h.seq, static_cast<std::uint8_t>(h.kind), h.direction, h.session_id,
                    h.vs_time_ms};
}

Status Verifier::run() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  result_.stats.threads = options_.threads == 0 ? cores : options_.threads;
  pool_ = std::make_unique<VerifyPool>(result_.stats.threads);
  total_ = log_.size();
  filling_ = std::make_unique<Batch>();
  filling_->items.reserve(options_.batch_entries);
  Status scanned = scan_all(
      log_, 0,
      [this](const storage::Entry& entry) {
        read(entry);
        return true;
      },
      [this](std::uint64_t seq, const std::string& reason) { unreadable(seq, reason); });
  if (!scanned) {
    // Drain what is in flight before reporting the store unreadable.
    while (!in_flight_.empty()) complete_oldest();
    return scanned;
  }
  if (!filling_->items.empty()) dispatch();
  while (!in_flight_.empty()) complete_oldest();
  finish();
  return Status::success();
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
    batch->items[job.item].sigs[job.index] =
        batch->valid[j] ? SigState::kValid : SigState::kInvalid;
  }
  result_.stats.signatures_checked += batch->jobs.size();
  for (auto& item : batch->items) judge(item);
  if (options_.progress) options_.progress(result_.stats.entries, total_);
}

// ---- Read stage ---------------------------------------------------------------------------------

void Verifier::unreadable(std::uint64_t seq, const std::string& reason) {
  Item item;
  item.readable = false;
  item.entry.header.seq = seq;
  if (seq > next_seq_) {
    Finding gap = finding(item, check::kSeqGap, "entry " + std::to_string(next_seq_),
                          "the next row is entry " + std::to_string(seq),
                          "rows deleted (or renumbered) here");
    gap.seq = next_seq_;
    gap.last_seq = seq - 1;
    gap.count = seq - next_seq_;
    gap.kind.reset();
    item.early.push_back(std::move(gap));
  }
  Finding f = finding(item, check::kRowUnreadable,
                      "a row with integer, blob and 32-byte hash "
                      "columns as docs/STORE.md §2 defines",
                      reason, "the row cannot be checked; its neighbours' links are not either");
  f.kind.reset();
  item.early.push_back(std::move(f));
  ++result_.stats.entries;
  next_seq_ = seq + 1;
  prev_stored_.reset();
  recomputed_tree_.append(Hash32{});  // keeps positions aligned; roots after it will differ
  filling_->items.push_back(std::move(item));
  if (filling_->items.size() >= options_.batch_entries) dispatch();
}

void Verifier::read(const storage::Entry& entry) {
  ++result_.stats.entries;
  filling_->items.emplace_back();
  Item& item = filling_->items.back();
  item.entry = entry;
  item.position = entry.header.seq;
  const auto& h = item.entry.header;
  const Hash32 recomputed = chains::log_entry_hash(h, item.entry.message);
  check_chain(item, recomputed);
  check_columns(item);

  auto decoded = protocol::decode_any(item.entry.message);
  if (decoded) {
    item.message = std::move(decoded).value();
  } else {
    item.decode_error = decoded.error();
  }
  const std::uint8_t kind = static_cast<std::uint8_t>(h.kind);
  if (item.message) {
    const auto actual = static_cast<std::uint8_t>(protocol::peek_kind(item.entry.message).value());
    if (actual != kind) {
      item.early.push_back(finding(item, check::kKind, "kind " + kind_label(kind),
                                   "a message of kind " + kind_label(actual)));
      item.message.reset();
      item.decode_error = "the message is a " + kind_label(actual);
    }
  }
  // What follows holds for the VS's own entries; a received frame of a VS-only kind is the GS's.
  const bool issued = h.direction == chains::Direction::kIssued;
  if (!item.message && issued_kind(kind) && issued) {
    item.early.push_back(finding(item, check::kDecode, "a well-formed " + kind_label(kind),
                                 "bytes that do not decode: " + item.decode_error,
                                 "the VS only logs what it encoded itself"));
  }
  if (item.message && issued && kind == raw(MessageKind::kJoinAccept)) {
    const auto& accept = std::get<protocol::JoinAccept>(*item.message);
    session_keys_.try_emplace(accept.session_id, accept.session_key);
  }
  if (item.message && issued && kind == raw(MessageKind::kCheckpoint)) {
    check_checkpoint_position(item, recomputed_tree_.root());
  }
  if (options_.checkpoint && recomputed_tree_.size() == options_.checkpoint->message.log_size) {
    result_.external_checkpoint_matched =
        recomputed_tree_.root() == options_.checkpoint->message.root;
  }
  plan_signatures(item, static_cast<std::uint32_t>(filling_->items.size() - 1), *filling_);
  recomputed_tree_.append(recomputed);
  result_.stats.head_hash = item.entry.entry_hash;
  if (filling_->items.size() >= options_.batch_entries) dispatch();
}

void Verifier::check_chain(Item& item, const Hash32& recomputed) {
  const auto& h = item.entry.header;
  if (h.seq > next_seq_) {
    Finding gap = finding(item, check::kSeqGap, "entry " + std::to_string(next_seq_),
                          "the next row is entry " + std::to_string(h.seq),
                          std::to_string(h.seq - next_seq_) +
                              (h.seq - next_seq_ == 1 ? " entry" : " entries") +
                              " missing: rows deleted here, or a row's seq edited");
    gap.seq = next_seq_;
    gap.last_seq = h.seq - 1;
    gap.count = h.seq - next_seq_;
    gap.kind.reset();
    gap.session_id = 0;
    item.early.push_back(std::move(gap));
    after_gap_ = true;
  }
  next_seq_ = h.seq + 1;

  if (recomputed != item.entry.entry_hash) {
    // A row renumbered by an insertion or deletion before it still hashes as its old position.
    std::optional<std::int64_t> shift;
    for (const std::int64_t delta : {-1, 1, -2, 2, -3, 3}) {
      const auto old_seq = static_cast<std::int64_t>(h.seq) + delta;
      if (old_seq < 0) continue;
      chains::LogEntryHeader moved = h;
      moved.seq = static_cast<std::uint64_t>(old_seq);
      if (chains::log_entry_hash(moved, item.entry.message) == item.entry.entry_hash) {
        shift = -delta;
        break;
      }
    }
    if (shift) {
      item.position = static_cast<std::uint64_t>(static_cast<std::int64_t>(h.seq) - *shift);
      item.early.push_back(finding(
          item, check::kRenumbered, "rows at the positions they were hashed at",
          "a row hashed at position " + std::to_string(static_cast<std::int64_t>(h.seq) - *shift) +
              " (renumbered by " + (*shift > 0 ? "+" : "") + std::to_string(*shift) + ")",
          *shift > 0 ? "an entry was inserted before these rows"
                     : "an entry was deleted before "
                       "these rows"));
    } else {
      item.early.push_back(finding(item, check::kEntryHash, "entry_hash " + to_hex(recomputed),
                                   "entry_hash " + to_hex(item.entry.entry_hash),
                                   "the row's columns (seq, kind, direction, session_id, "
                                   "vs_time_ms, prev_hash, message) were edited"));
    }
  }
  if (h.seq == 0) {
    if (!h.prev_entry_hash.is_zero()) {
      item.early.push_back(finding(item, check::kPrevHash, "prev_hash of 32 zero bytes",
                                   "prev_hash " + to_hex(h.prev_entry_hash)));
    }
  } else if (prev_stored_ && !after_gap_ && h.prev_entry_hash != *prev_stored_) {
    item.early.push_back(finding(item, check::kPrevHash,
                                 "prev_hash " + to_hex(*prev_stored_) + " (entry_hash of entry " +
                                     std::to_string(h.seq - 1) + ")",
                                 "prev_hash " + to_hex(h.prev_entry_hash),
                                 "a row edited, removed, inserted or reordered here"));
  }
  after_gap_ = false;
  prev_stored_ = item.entry.entry_hash;
}

void Verifier::check_columns(Item& item) {
  const auto& h = item.entry.header;
  const auto kind = static_cast<std::uint8_t>(h.kind);
  if (!known_kind(kind)) {
    item.early.push_back(finding(item, check::kKind,
                                 "kind 1.." + std::to_string(protocol::kMaxMessageKind),
                                 "kind " + std::to_string(kind)));
  }
  if (h.direction != chains::Direction::kReceived && h.direction != chains::Direction::kIssued) {
    item.early.push_back(
        finding(item, check::kDirection, "direction 1 or 2", direction_label(h.direction)));
  } else if (known_kind(kind)) {
    const auto expected =
        issued_kind(kind) ? chains::Direction::kIssued : chains::Direction::kReceived;
    // A GS can send a frame of any kind; one of a VS-only kind is logged as received, in its
    // session, as evidence of a malformed_message revocation (PROTOCOL.md §8.5).
    const bool sent_by_gs =
        issued_kind(kind) && h.direction == chains::Direction::kReceived && h.session_id != 0;
    if (h.direction != expected && !sent_by_gs) {
      item.early.push_back(
          finding(item, check::kDirection,
                  "direction " + direction_label(expected) + " for a " + kind_label(kind),
                  "direction " + direction_label(h.direction)));
    }
  }
  const auto& name = item.entry.kind_name;
  const std::string expected = known_kind(kind) ? kind_label(kind) : std::string();
  if (!name || (known_kind(kind) && *name != expected)) {
    item.early.push_back(finding(
        item, check::kKindName, "kind_name '" + expected + "'",
        name ? "kind_name '" + *name + "'" : "no text kind_name",
        "kind_name is not covered by the entry hash, but it is what a reader of the store sees"));
  }
}

void Verifier::check_checkpoint_position(Item& item, const Hash32& root_before) {
  const auto& cp = std::get<protocol::Checkpoint>(*item.message);
  const auto seq = item.entry.header.seq;
  ++result_.stats.checkpoints;
  if (cp.log_size != seq) {
    item.early.push_back(
        finding(item, check::kCheckpointSize, "log_size equal to the checkpoint's own position",
                "log_size " + std::to_string(cp.log_size) + " at position " + std::to_string(seq),
                "entries were inserted or deleted before it"));
    return;
  }
  if (cp.root != root_before) {
    item.early.push_back(finding(item, check::kCheckpointRoot,
                                 "root over the recomputed entry hashes before it",
                                 "a signed root that differs (" + short_hex(cp.root) + "... vs " +
                                     short_hex(root_before) + "...)",
                                 "an earlier entry differs from what the VS signed"));
  }
}

void Verifier::plan_signatures(Item& item, std::uint32_t index, Batch& batch) {
  if (!item.message) return;
  const auto kind = static_cast<std::uint8_t>(item.entry.header.kind);
  const auto tags = signature_tags(item.entry.header.kind);
  item.sig_count = static_cast<std::uint8_t>(std::min<std::size_t>(tags.size(), 2));
  auto job = [&](std::uint8_t sig, const crypto::PublicKey& key) {
    batch.jobs.push_back(Job{index, sig, key});
  };
  if (vs_signed(kind)) {
    if (item.entry.header.direction != chains::Direction::kIssued) return;  // the GS's frame
    if (result_.vs_key) {
      job(0, result_.vs_key->key);
    } else {
      ++result_.stats.signatures_unchecked;
    }
  } else if (kind == raw(MessageKind::kJoinRequest)) {
    const auto& request = std::get<protocol::JoinRequest>(*item.message);
    job(0, request.gs_identity);
    job(1, request.session_key);
  } else if (session_kind(kind)) {
    auto it = session_keys_.find(item.entry.header.session_id);
    if (it != session_keys_.end()) {
      job(0, it->second);
    } else {
      ++result_.stats.signatures_unchecked;
    }
  }
}

// ---- Semantic stage -----------------------------------------------------------------------------

void Verifier::judge(Item& item) {
  for (auto& f : item.early) sink_.add(std::move(f));
  item.early.clear();
  const auto& h = item.entry.header;
  const auto kind = static_cast<std::uint8_t>(h.kind);
  // A JoinRequest and its answer are logged in one submit, so in consecutive entries (§8.3).
  std::optional<PendingJoin> join = std::exchange(unanswered_join_, std::nullopt);
  const bool an_answer =
      item.readable && h.direction == chains::Direction::kIssued &&
      (kind == raw(MessageKind::kJoinAccept) || kind == raw(MessageKind::kJoinReject));
  if (join && !an_answer) {
    unanswered(*join, &item);
    join.reset();
  }
  if (!item.readable) return;
  if (issued_kind(kind) && h.direction == chains::Direction::kReceived) {
    // A frame of a VS-only kind the GS sent in its session: not a VS statement; the session
    // owes a malformed_message revocation for it.
    to_session(item);
    return;
  }

  if (vs_signed(kind) && item.message) {
    if (item.sigs[0] == SigState::kValid) {
      ++vs_signatures_valid_;
    } else if (item.sigs[0] == SigState::kInvalid) {
      ++vs_signatures_invalid_;
      sink_.add(finding(item, check::kSignature,
                        "a valid VS signature (key " + short_hex(result_.vs_key->key) + "...)",
                        "a signature that does not verify",
                        "the entry is not what the VS signed: forged or edited"));
    }
  }
  switch (static_cast<MessageKind>(kind)) {
    case MessageKind::kJoinRequest:
      on_join_request(item);
      return;
    case MessageKind::kJoinAccept:
      if (item.message) on_join_accept(item, std::get<protocol::JoinAccept>(*item.message), join);
      return;
    case MessageKind::kJoinReject:
      ++result_.stats.rejected_joins;
      if (h.session_id != 0) {
        sink_.add(finding(item, check::kSession, "session_id 0 for a rejected join",
                          "session_id " + std::to_string(h.session_id)));
      }
      if (item.message) on_join_reject(item, std::get<protocol::JoinReject>(*item.message), join);
      return;
    case MessageKind::kCheckpoint:
      if (h.session_id != 0) {
        sink_.add(finding(item, check::kSession, "session_id 0 for a Checkpoint",
                          "session_id " + std::to_string(h.session_id)));
      }
      check_silent_sessions(item);
      return;
    case MessageKind::kVsChallenge:
      sink_.add(finding(item, check::kJoin, "no VsChallenge: the VS does not log it",
                        "a VsChallenge", "PROTOCOL.md §8.3"));
      return;
    case MessageKind::kRevocation:
      ++result_.stats.revocations;
      if (item.message) on_revocation(item, std::get<protocol::Revocation>(*item.message));
      return;
    case MessageKind::kProtectedReceipt:
      ++result_.stats.receipts;
      break;
    case MessageKind::kPlayTicket:
      ++result_.stats.tickets;
      break;
    case MessageKind::kHeartbeat:
      ++result_.stats.heartbeats;
      break;
    case MessageKind::kTranscriptDigest:
      ++result_.stats.digests;
      break;
    default:
      break;
  }
  to_session(item);
}

void Verifier::check_silent_sessions(const Item& checkpoint) {
  const std::uint64_t now = checkpoint.entry.header.vs_time_ms;
  while (!deadlines_.empty()) {
    const auto [pushed, id] = deadlines_.top();
    auto it = sessions_.find(id);
    const SessionModel* model = it == sessions_.end() ? nullptr : it->second.get();
    const std::uint64_t grace = model ? model->accept().heartbeat_timeout_ms : 0;
    if (pushed + grace >= now) return;
    deadlines_.pop();
    if (model == nullptr || model->revoked()) continue;
    const std::uint64_t deadline = model->heartbeat_deadline_ms();
    if (deadline + grace >= now) {
      deadlines_.emplace(deadline, id);  // a heartbeat moved it on since
      continue;
    }
    Finding f = finding(
        checkpoint, check::kReaction,
        "a missed_heartbeats revocation of session " + std::to_string(id) + " by " +
            std::to_string(deadline + grace) + " (its heartbeat deadline " +
            std::to_string(deadline) + " plus " + std::to_string(grace) + " ms)",
        "the session still live at this Checkpoint (vs_time_ms " + std::to_string(now) + ")",
        "the VS left a silent session blessed");
    f.session_id = id;
    sink_.add(std::move(f));
  }
}

void Verifier::to_session(Item& item) {
  const auto& h = item.entry.header;
  if (!known_kind(static_cast<std::uint8_t>(h.kind))) return;  // reported with the columns
  auto it = h.session_id == 0 ? sessions_.end() : sessions_.find(h.session_id);
  if (it == sessions_.end()) {
    sink_.add(finding(item, check::kSession, "the id of a session accepted earlier in the log",
                      h.session_id == 0 ? "session_id 0"
                                        : "session_id " + std::to_string(h.session_id) +
                                              ", which no earlier JoinAccept created"));
    return;
  }
  ModelInput input;
  input.entry = &item.entry;
  input.message = item.message ? &*item.message : nullptr;
  input.decode_error = item.decode_error;
  input.signatures = std::span<const SigState>(item.sigs.data(), item.sig_count);
  input.position = item.position;
  it->second->add(input, sink_, [this](std::uint64_t seq) { return lookup(seq); });
}

void Verifier::on_join_request(Item& item) {
  const auto& h = item.entry.header;
  if (auto it = sessions_.find(h.session_id); it != sessions_.end() && !it->second->revoked()) {
    // A JoinRequest on a live session's connection is a frame the VS had to refuse. Nothing of
    // a session follows its revocation (§8.5), so a JoinRequest under a revoked session's id is
    // a join like any other and must be answered: a replayed copy of the request that opened it
    // is not excused.
    to_session(item);
    return;
  }
  PendingJoin join;
  join.seq = h.seq;
  join.hash = chains::message_hash(item.entry.message);
  join.session_column = h.session_id;
  if (item.message) {
    join.request = std::get<protocol::JoinRequest>(*item.message);
    join.sigs = item.sigs;
  } else {
    join.decode_error = item.decode_error;
  }
  unanswered_join_ = std::move(join);
}

bool Verifier::answers(const Item& item, const Hash32& join_request_hash,
                       const std::optional<PendingJoin>& join) {
  if (!join) {
    const std::uint64_t seq = item.entry.header.seq;
    sink_.add(finding(
        item, check::kJoin, "the JoinRequest it answers in the entry just before it",
        seq == 0 ? std::string("the first entry of the log")
                 : "entry " + std::to_string(seq - 1) + ", which is no unanswered JoinRequest",
        "the VS logs a JoinRequest and its answer in one submit (PROTOCOL.md §8.3)"));
    return false;
  }
  if (join->hash != join_request_hash) {
    // One of the two was edited (their signatures tell which); they stay a pair, so that the
    // request is still checked as the one this answer admitted or refused.
    sink_.add(finding(item, check::kJoin,
                      "join_request_hash " + to_hex(join->hash) + " (of the JoinRequest at entry " +
                          std::to_string(join->seq) + ")",
                      "join_request_hash " + to_hex(join_request_hash)));
  }
  return true;
}

void Verifier::unanswered(const PendingJoin& join, const Item* next) {
  Finding f;
  f.seq = join.seq;
  f.kind = raw(MessageKind::kJoinRequest);
  f.session_id = join.session_column;
  f.check = std::string(check::kReaction);
  f.expected = "a JoinAccept or JoinReject carrying this request's hash in the next entry";
  f.found = next == nullptr ? std::string("the end of the log")
                            : "entry " + std::to_string(next->entry.header.seq) + ": " +
                                  (next->readable ? kind_label(raw(next->entry.header.kind))
                                                  : std::string("an unreadable row"));
  f.detail =
      "the VS answers every JoinRequest it logs, in the same submit (PROTOCOL.md §8.3); a "
      "replayed copy is answered too";
  sink_.add(std::move(f));
}

rules::JoinFacts Verifier::known_facts(const PendingJoin& join) const {
  using rules::JoinCheck;
  rules::JoinFacts facts;
  facts.set(JoinCheck::kDecodes, join.request.has_value());
  if (!join.request) return facts;
  auto signature = [&](JoinCheck check, SigState state) {
    if (state != SigState::kUnchecked) facts.set(check, state == SigState::kValid);
  };
  signature(JoinCheck::kIdentitySignature, join.sigs[0]);
  signature(JoinCheck::kSessionSignature, join.sigs[1]);
  // The VS decides busy-ness in log order, where it places the answer (§8.10).
  facts.set(JoinCheck::kIdentityFree, !live_identities_.contains(join.request->gs_identity));
  return facts;
}

void Verifier::on_join_accept(Item& item, const protocol::JoinAccept& accept,
                              const std::optional<PendingJoin>& join) {
  const auto& h = item.entry.header;
  const auto id = accept.session_id;
  if (id != h.session_id) {
    sink_.add(finding(item, check::kSession, "session_id column " + std::to_string(id),
                      "session_id column " + std::to_string(h.session_id)));
  }
  if (sessions_.contains(id)) {
    sink_.add(finding(item, check::kJoin, "a new session id",
                      "session " + std::to_string(id) + ", accepted before"));
    return;
  }
  if (id == 0 || id <= max_session_id_) {
    sink_.add(finding(
        item, check::kJoin,
        "a session id above " + std::to_string(max_session_id_) + " (ids increase, never reused)",
        "session " + std::to_string(id)));
  }
  max_session_id_ = std::max(max_session_id_, id);
  if (answers(item, accept.join_request_hash, join)) check_accepted_request(item, accept, *join);
  if (auto live = live_identities_.find(accept.gs_identity); live != live_identities_.end()) {
    sink_.add(finding(item, check::kJoin,
                      "no live session for identity " + short_hex(accept.gs_identity) +
                          "... (one session per identity, PROTOCOL.md §8.10)",
                      "session " + std::to_string(live->second) + " still live"));
  }
  live_identities_[accept.gs_identity] = id;
  ++result_.stats.sessions;
  const auto added = sessions_.emplace(
      id, std::make_unique<SessionModel>(item.position, h.vs_time_ms, accept,
                                         chains::message_hash(item.entry.message)));
  deadlines_.emplace(added.first->second->heartbeat_deadline_ms(), id);
}

void Verifier::check_accepted_request(const Item& item, const protocol::JoinAccept& accept,
                                      const PendingJoin& join) {
  // Problems of the request itself are reported where it is logged.
  auto at_request = [&](std::string_view check, std::string expected, std::string found) {
    Finding f =
        finding(item, check, std::move(expected), std::move(found),
                "the VS accepted it: JoinAccept at entry " + std::to_string(item.entry.header.seq));
    f.seq = join.seq;
    f.kind = raw(MessageKind::kJoinRequest);
    f.session_id = join.session_column;
    sink_.add(std::move(f));
  };
  if (join.session_column != accept.session_id) {
    at_request(check::kSession, "session_id " + std::to_string(accept.session_id) + " (accepted)",
               "session_id " + std::to_string(join.session_column));
  }
  if (!join.request) {
    at_request(check::kJoin, "a JoinRequest that decodes",
               "one that does not: " + join.decode_error);
    return;
  }
  const auto& r = *join.request;
  if (join.sigs[0] != SigState::kValid) {
    at_request(check::kSignature,
               "identity signature valid under " + short_hex(r.gs_identity) + "...",
               "a signature that does not verify");
  }
  if (join.sigs[1] != SigState::kValid) {
    at_request(check::kSignature,
               "session-key signature valid under " + short_hex(r.session_key) + "...",
               "a signature that does not verify");
  }
  if (r.gs_identity != accept.gs_identity || r.session_key != accept.session_key ||
      r.sw_hash != accept.sw_hash) {
    sink_.add(finding(item, check::kJoin,
                      "gs_identity, session_key and sw_hash copied from the JoinRequest at entry " +
                          std::to_string(join.seq),
                      "different values"));
  }
}

void Verifier::on_join_reject(Item& item, const protocol::JoinReject& reject,
                              const std::optional<PendingJoin>& join) {
  if (!answers(item, reject.join_request_hash, join)) return;
  const std::string at = " (JoinRequest at entry " + std::to_string(join->seq) + ")";
  if (join->session_column != 0) {
    sink_.add(finding(item, check::kSession, "the rejected JoinRequest logged under session 0",
                      "session_id " + std::to_string(join->session_column) + at));
  }
  // The reason must follow the order of §8.3 as far as the log decides it; bad_challenge,
  // build_not_allowed, clock_skew and server_busy are the VS's word where no earlier check fails.
  if (const Status agrees = rules::check_join_answer(known_facts(*join), reject.reason); !agrees) {
    sink_.add(finding(item, check::kJoin, "a reason that follows the checks of PROTOCOL.md §8.3",
                      agrees.error() + at, join->decode_error));
  }
}

void Verifier::on_revocation(Item& item, const protocol::Revocation& revocation) {
  const auto& h = item.entry.header;
  if (revocation.session_id != h.session_id) {
    sink_.add(finding(
        item, check::kSession,
        "session_id column " + std::to_string(revocation.session_id) + " (the session revoked)",
        "session_id column " + std::to_string(h.session_id)));
  }
  if (revocation.revocation_seq <= last_revocation_seq_) {
    sink_.add(finding(item, check::kRevocation,
                      "revocation_seq above " + std::to_string(last_revocation_seq_) +
                          " (strictly increasing across the log)",
                      "revocation_seq " + std::to_string(revocation.revocation_seq)));
  }
  last_revocation_seq_ = std::max(last_revocation_seq_, revocation.revocation_seq);
  if (!known_revocation_reason(revocation.reason)) {
    sink_.add(finding(item, check::kRevocation, "a defined RevocationReason (1..10)",
                      "reason " + std::to_string(revocation.reason)));
  }
  auto it = sessions_.find(revocation.session_id);
  if (it == sessions_.end()) {
    sink_.add(finding(item, check::kSession, "the id of a session accepted earlier in the log",
                      "session " + std::to_string(revocation.session_id) +
                          ", which no earlier JoinAccept created"));
    return;
  }
  ModelInput input;
  input.entry = &item.entry;
  input.message = &*item.message;
  input.signatures = std::span<const SigState>(item.sigs.data(), item.sig_count);
  input.position = item.position;
  it->second->add(input, sink_, [this](std::uint64_t seq) { return lookup(seq); });
  const auto& identity = it->second->accept().gs_identity;
  if (auto live = live_identities_.find(identity);
      live != live_identities_.end() && live->second == revocation.session_id) {
    live_identities_.erase(live);
  }
}

void Verifier::finish() {
  if (unanswered_join_) unanswered(*unanswered_join_, nullptr);
  for (auto& [id, model] : sessions_) {
    model->finish(sink_);
    if (!model->revoked()) ++result_.stats.live_sessions;
  }
  result_.stats.merkle_root = recomputed_tree_.root();
  if (options_.checkpoint && recomputed_tree_.size() == options_.checkpoint->message.log_size) {
    // The store ends exactly where the checkpoint does (its own entry is missing).
    result_.external_checkpoint_matched =
        result_.stats.merkle_root == options_.checkpoint->message.root;
  }
  if (vs_signatures_valid_ == 0 && vs_signatures_invalid_ > 0 && result_.vs_key) {
    result_.warnings.push_back(
        "the VS key " + to_hex(result_.vs_key->key) + " (" + result_.vs_key->origin +
        ") verifies none of the store's VS signatures: is it this VS's key?");
  }
}

// ---- Key discovery and the external checkpoint ----------------------------------------------

struct FirstVsEntry {
  std::uint64_t seq = 0;
  MessageKind kind = MessageKind::kJoinAccept;
  Bytes message;
};

std::optional<FirstVsEntry> first_vs_signed(const storage::Log& log) {
  std::optional<FirstVsEntry> found;
  Status status = scan_all(log, 0, [&](const storage::Entry& entry) {
    const auto kind = static_cast<std::uint8_t>(entry.header.kind);
    if (!vs_signed(kind) || !protocol::decode_any(entry.message)) return true;
    found = FirstVsEntry{entry.header.seq, entry.header.kind, entry.message};
    return false;
  });
  (void)status;
  return found;
}

std::vector<std::filesystem::path> key_files_beside(const std::string& store) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  auto dir = std::filesystem::path(store).parent_path();
  if (dir.empty()) dir = ".";
  for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
    if (file.path().extension() == ".pub" && file.is_regular_file(ec) &&
        file.file_size(ec) <= 4096) {
      out.push_back(file.path());
    }
    if (out.size() >= 64) break;
  }
  std::sort(out.begin(), out.end());
  return out;
}

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
  Finding f;
  f.seq = first->seq;
  f.kind = static_cast<std::uint8_t>(first->kind);
  f.check = std::string(check::kVsKey);
  f.expected = "a VS public key to check VS-issued entries with (--vs-pubkey HEX|FILE)";
  f.found = "none";
  f.detail = "without it, receipts, tickets, checkpoints and revocations are unauthenticated";
  sink.add(std::move(f));
}

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

Result<Bytes> checkpoint_bytes_from_json(const nlohmann::json& doc) {
  const nlohmann::json* object = &doc;
  if (doc.is_object() && doc.contains("checkpoint") && doc["checkpoint"].is_object()) {
    object = &doc["checkpoint"];
  } else if (doc.is_object() && doc.contains("checkpoints") && doc["checkpoints"].is_array() &&
             !doc["checkpoints"].empty()) {
    object = &doc["checkpoints"].back();  // a dispute report: its latest checkpoint
  }
  if (!object->is_object()) return Error{"JSON is not an object"};
  for (const char* key : {"message_hex", "hex", "bytes_hex", "message"}) {
    if (object->contains(key) && (*object)[key].is_string()) {
      auto bytes = from_hex((*object)[key].get<std::string>());
      if (!bytes) return Error{std::string("\"") + key + "\" is not hex"};
      return *bytes;
    }
  }
  const auto& o = *object;
  if (o.contains("log_size") && o["log_size"].is_number_unsigned() && o.contains("root") &&
      o["root"].is_string() && o.contains("vs_time_ms") && o["vs_time_ms"].is_number_unsigned() &&
      o.contains("signature") && o["signature"].is_string()) {
    protocol::Checkpoint cp;
    cp.log_size = o["log_size"].get<std::uint64_t>();
    cp.vs_time_ms = o["vs_time_ms"].get<std::uint64_t>();
    auto root = fixed_from_hex<32>(o["root"].get<std::string>());
    auto signature = fixed_from_hex<64>(o["signature"].get<std::string>());
    if (!root || !signature) return Error{"\"root\" or \"signature\" is not hex of the right size"};
    cp.root = *root;
    cp.signatures[0] = *signature;
    return protocol::encode(cp);
  }
  return Error{
      "JSON has no checkpoint: expected \"message_hex\", or \"log_size\", \"root\", "
      "\"vs_time_ms\" and \"signature\" (optionally under \"checkpoint\"), or a dispute "
      "report's \"checkpoints\""};
}

}  // namespace

Result<ExternalCheckpoint> load_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"--checkpoint " + path + ": cannot read the file"};
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content.size() > 1 << 20) return Error{"--checkpoint " + path + ": larger than 1 MiB"};
  const std::string text = trim(content);
  Bytes bytes;
  std::string format;
  if (!text.empty() && text.front() == '{') {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) return Error{"--checkpoint " + path + ": not valid JSON"};
    auto extracted = checkpoint_bytes_from_json(doc);
    if (!extracted) return Error{"--checkpoint " + path + ": " + extracted.error()};
    bytes = std::move(extracted).value();
    format = "JSON";
  } else {
    std::string hex;
    for (const char c : text) {
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') hex.push_back(c);
    }
    if (auto decoded = from_hex(hex); decoded && !hex.empty()) {
      bytes = std::move(*decoded);
      format = "hex";
    } else {
      bytes.assign(content.begin(), content.end());
      format = "raw bytes";
    }
  }
  auto cp = protocol::decode<protocol::Checkpoint>(bytes);
  if (!cp) {
    return Error{"--checkpoint " + path + ": not a Checkpoint message (read as " + format +
                 "): " + cp.error()};
  }
  return ExternalCheckpoint{*cp, bytes, path + " (" + format + ")"};
}

Result<VerifyResult> verify_store(const std::string& path, const VerifyOptions& options,
                                  FindingSink& sink) {
  const auto started = std::chrono::steady_clock::now();
  auto log = open_store(path);
  if (!log) return Error{log.error()};
  auto lookup_log = open_store(path);
  if (!lookup_log) return Error{lookup_log.error()};

  VerifyResult result;
  result.store = path;
  result.external_checkpoint = options.checkpoint;
  resolve_vs_key(**log, path, options, result, sink);

  if (options.checkpoint) {
    const auto& ext = *options.checkpoint;
    Finding f;
    f.seq = ext.message.log_size;
    f.kind = raw(MessageKind::kCheckpoint);
    f.check = std::string(check::kExternalCheckpoint);
    if (!result.vs_key) {
      f.severity = Severity::kWarning;
      f.expected = "a VS signature on the checkpoint from " + ext.origin;
      f.found = "not checked: no VS key";
      sink.add(std::move(f));
    } else if (!verify_stored_signature(MessageKind::kCheckpoint, ext.bytes, 0,
                                        result.vs_key->key)) {
      f.expected = "a valid VS signature on the checkpoint from " + ext.origin;
      f.found = "a signature that does not verify";
      f.detail = "this checkpoint proves nothing about the store";
      sink.add(std::move(f));
    }
  }

  Verifier verifier(**log, **lookup_log, options, result, sink);
  Status ran = verifier.run();
  if (!ran) return Error{ran.error()};

  if (options.checkpoint) {
    const auto& ext = options.checkpoint->message;
    Finding f;
    f.seq = ext.log_size;
    f.kind = raw(MessageKind::kCheckpoint);
    f.check = std::string(check::kTruncated);
    if (result.stats.entries < ext.log_size) {
      f.last_seq = ext.log_size - 1;
      f.seq = result.stats.entries;
      f.expected = "at least " + std::to_string(ext.log_size) +
                   " entries (signed checkpoint from " + options.checkpoint->origin + ")";
      f.found = std::to_string(result.stats.entries) + " entries";
      f.detail = "the log's tail was cut: entries " + std::to_string(result.stats.entries) + ".." +
                 std::to_string(ext.log_size - 1) + " are gone";
      sink.add(std::move(f));
    } else if (!result.external_checkpoint_matched) {
      f.check = std::string(check::kExternalCheckpoint);
      f.expected = "root " + to_hex(ext.root) + " over the first " + std::to_string(ext.log_size) +
                   " entries (signed checkpoint from " + options.checkpoint->origin + ")";
      f.found = "a different root over the recomputed entry hashes";
      f.detail = "the store is not the log the VS signed: entries before " +
                 std::to_string(ext.log_size) + " were rewritten";
      sink.add(std::move(f));
    }
  }
  result.stats.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace gsvs::audit
