// The pipeline behind verify_store (verifier.h), shared by its stages: one row on its way
// through it, the signature workers, and the Verifier whose read stage (verifier_read.cpp),
// signature stage (verifier_signatures.cpp) and semantic stage (verifier_semantic.cpp) are
// defined apart. Private to audit-cli's verify.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "audit-cli/chain_check.h"
#include "audit-cli/common.h"
#include "audit-cli/findings.h"
#include "audit-cli/session_model.h"
#include "audit-cli/verifier.h"
#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "rules/continuity.h"
#include "rules/join_rules.h"
#include "rules/quarantine.h"
#include "storage/log.h"

namespace gsvs::audit::detail {

using protocol::MessageKind;

// The direction in which the VS logs a kind of its own exchange with GSes (nullopt: none).
inline std::optional<chains::Direction> vs_logged(MessageKind kind) {
  return chains::logged_direction(chains::StoreOwner::kVs, kind);
}

// ---- One row on its way through the pipeline --------------------------------------------------

struct Item {
  storage::Entry entry;
  std::uint64_t position = 0;  // where the VS put it: seq, or its old seq if renumbered
  bool readable = true;
  bool damaged = false;  // the first row of a range on damaged pages: the replay stops there
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
  explicit VerifyPool(unsigned threads);
  ~VerifyPool();
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  void start(Batch& batch);
  static void wait(Batch& batch);

 private:
  static constexpr std::size_t kChunk = 32;

  void run();
  void stop_and_join();

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
  std::optional<protocol::GsResume> resume;  // a refused resume (PROTOCOL.md §8.15) instead
  std::string decode_error;
  std::array<SigState, 2> sigs{SigState::kUnchecked, SigState::kUnchecked};
};

class Verifier {
 public:
  // `start`: where the rows read begin (entry 0, or after a seal: docs/STORE.md §10).
  Verifier(const storage::Log& log, const storage::Log& lookup_log, const VerifyOptions& options,
           VerifyResult& result, FindingSink& sink, const ChainStart& start)
      : log_(log),
        lookup_(entry_lookup(lookup_log)),
        options_(options),
        result_(result),
        sink_(sink),
        start_seq_(start.next_seq),
        chain_(start.next_seq, start.previous),
        recomputed_tree_(start.accumulator) {
    result_.stats.head_hash = start.previous;  // the head until a row is read: the seal, or none
    quarantines_known_ = start_seq_ == 0;
  }

  Status run();

 private:
  // Read stage (verifying thread, ahead of the workers): chain, columns, decode, jobs.
  void read(const storage::Entry& entry);
  void unreadable(std::uint64_t seq, const std::string& reason);
  // Rows from `first` to `last` on damaged pages of the file (storage::Log::scan reads on; `last`
  // nullopt: to the file's end). The protocol replay stops at the first such range.
  void damaged(std::uint64_t first, std::optional<std::uint64_t> last, const std::string& reason);
  void check_columns(Item& item);
  void plan_signatures(Item& item, std::uint32_t index, Batch& batch);
  void check_checkpoint_position(Item& item, const Hash32& root_before);
  // Semantic stage (verifying thread, after the batch's signatures are in).
  void judge(Item& item);
  void on_join_request(Item& item);
  // `join`: the request just before the answer, if that entry is an unanswered JoinRequest.
  void on_join_accept(Item& item, const protocol::JoinAccept& accept,
                      const std::optional<PendingJoin>& join);
  void on_join_reject(const Item& item, const protocol::JoinReject& reject,
                      const std::optional<PendingJoin>& join);
  // Whether the answer at `item` has a request just before it (`join`) to pair with; a finding
  // when it has none, or when its join_request_hash names other bytes.
  bool answers(const Item& item, const Hash32& join_request_hash,
               const std::optional<PendingJoin>& join);
  // `join` got no answer in the entry after it (`next`; nullptr: the log ends).
  void unanswered(const PendingJoin& join, const Item* next);
  // What the log shows of the §8.3 checks on `join`: whether it decodes, both signatures,
  // whether its identity has a live session here, and whether it is quarantined at
  // `answer_vs_ms`, the VS time its answer carries.
  [[nodiscard]] rules::JoinFacts known_facts(const PendingJoin& join,
                                             std::uint64_t answer_vs_ms) const;
  void check_accepted_request(const Item& item, const protocol::JoinAccept& accept,
                              const PendingJoin& join);
  void on_revocation(Item& item, const protocol::Revocation& revocation);
  // A VS-issued entry's signature: counted, and a finding when it does not verify.
  void check_vs_signature(const Item& item);
  // The replay stops at `item`, the first row on damaged pages (replay_stopped_).
  void stop_replay(const Item& item);
  // The policy (PROTOCOL.md §8.17): a PolicyApplied takes effect; a JoinAccept must be allowed by
  // the policy in force and carry its terms; a policy_withdrawn revocation must cite a
  // PolicyApplied that bars its session.
  void on_policy_applied(const Item& item, const protocol::PolicyApplied& applied);
  // A VsStart's rules version (PROTOCOL.md §8.18) judges its run; one newer than this build's
  // rules is a warning, since the run is judged by this build's all the same, and so is one older
  // than an earlier run's.
  void on_rules_version(const Item& item, std::uint32_t rules_version);
  // The operator's Pardon (PROTOCOL.md §8.16): it must lift a quarantine that holds at its
  // vs_time_ms, and name the Revocation that began it.
  void on_pardon(const Item& item, const protocol::Pardon& pardon);
  // A part of a StateCarried (PROTOCOL.md §5.29): gathered with the parts before it; the last one
  // holds the whole carry to what this verification has read (judge_carry). `carry_cut` is a
  // carry whose next part never came, at `item`.
  void on_state_carried(const Item& item, const protocol::StateCarried& part);
  void judge_carry(const Item& item, const protocol::StateCarried& carry);
  // The carry being read ends without its next part: at `at` (found there: `found`).
  void carry_cut(const chains::LogEntryHeader& at, const std::string& found);
  // Whether quarantine_ knows every quarantine a question at VS time `vs_time_ms` depends on.
  [[nodiscard]] bool quarantines_known_at(std::uint64_t vs_time_ms) const {
    return quarantines_known_ && vs_time_ms >= quarantines_known_from_ms_;
  }
  // A session taken up from another node of the fleet (PROTOCOL.md §8.10).
  void on_session_adopted(const Item& item, const protocol::SessionAdopted& adopted);
  // Registers the session `id` that starts at `item` (a JoinAccept or a SessionAdopted): live, its
  // deadlines watched; a finding of `check` when its identity already has a live session.
  SessionModel& start_session(const Item& item, std::string_view check, protocol::SessionId id,
                              std::unique_ptr<SessionModel> model);
  void check_accept_against_policy(const Item& item, const protocol::JoinAccept& accept);
  void check_policy_withdrawal(const Item& item, const protocol::Revocation& revocation,
                               const protocol::JoinAccept& accept);
  // At a Checkpoint: every session silent past its heartbeat deadline by more than
  // heartbeat_timeout_ms is one the VS left unrevoked (PROTOCOL.md §8.5 "Liveness").
  void check_silent_sessions(const Item& checkpoint);
  void to_session(const Item& item);
  // Whether `id`, which no JoinAccept read here created, may be a session accepted before the
  // first entry read (the rows read start after retired or unread segments); counts it if so.
  bool began_before_start(protocol::SessionId id);
  void finish();

  void dispatch();
  void complete_oldest();
  Finding finding(const Item& item, std::string_view check, std::string expected, std::string found,
                  std::string detail = {}) const;

  const storage::Log& log_;
  const EntryLookup lookup_;  // entries by seq, read through a second handle on the store
  const VerifyOptions& options_;
  VerifyResult& result_;
  FindingSink& sink_;
  std::unique_ptr<VerifyPool> pool_;
  std::unique_ptr<Batch> filling_;
  std::deque<std::unique_ptr<Batch>> in_flight_;
  std::uint64_t total_ = 0;

  const std::uint64_t start_seq_;
  // Read-stage state.
  ChainCheck chain_;
  merkle::Accumulator recomputed_tree_;
  std::map<protocol::SessionId, crypto::PublicKey> session_keys_;  // from JoinAccepts read

  // Semantic-stage state.
  std::map<protocol::SessionId, std::unique_ptr<SessionModel>> sessions_;
  std::map<protocol::PublicKey, protocol::SessionId> live_identities_;
  // Identities accepted since the start of this verification (see known_facts).
  std::set<protocol::PublicKey> identities_accepted_;
  // The quarantines the Revocations read so far begin, with the term of the PolicyApplied in
  // force, less those Pardons lifted (PROTOCOL.md §8.16). One that began before the start of
  // this verification, or before the first PolicyApplied read from a later start (its term is
  // unknown), is unknown to it (see known_facts).
  rules::QuarantineLedger quarantine_;
  // Whether quarantine_ holds every quarantine: read from entry 0, or restated by a whole
  // StateCarried read since (judge_carry). Until then a quarantine begun before the start is
  // unknown, and its absence proves nothing.
  bool quarantines_known_ = false;
  // From a carry restated: questions before its reach (kCarryLookbackMs) stay unknown.
  std::uint64_t quarantines_known_from_ms_ = 0;
  // The parts of a StateCarried read so far: its first part's position and what they say,
  // their quarantines together (part: the last part read), and the last part's header.
  struct CarryRead {
    std::uint64_t position = 0;
    protocol::StateCarried state;
    chains::LogEntryHeader last;
  };
  std::optional<CarryRead> carry_;
  // The last whole carry read: the next carry's policy is held to it when no PolicyApplied was
  // read, and the next Checkpoint of the same run (signed at the log head, later) may not be
  // older than it.
  std::optional<protocol::StateCarried> last_carry_;
  std::optional<std::uint64_t> carry_time_to_pass_;
  // Each identity's players' last notarized positions (PROTOCOL.md §8.6), as the VS must have
  // kept them: fed each session's positions at its revocation, read at each JoinAccept.
  rules::ContinuityLedger continuity_;
  // Live sessions by a deadline they had when pushed (heartbeat or digest, §8.5), earliest
  // first: a Checkpoint looks only at those that may have run out.
  using Deadline = std::pair<std::uint64_t, protocol::SessionId>;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::optional<PendingJoin> unanswered_join_;  // the entry before was this JoinRequest
  protocol::SessionId max_session_id_ = 0;
  std::optional<protocol::SessionId> first_accepted_;  // the first JoinAccept's session read
  std::uint64_t last_revocation_seq_ = 0;
  // Set at the first range of rows on damaged pages: the sessions cannot be followed past rows
  // that cannot be read, so the protocol replay stops; hashes, links and VS signatures go on.
  bool replay_stopped_ = false;
  // The rules version the last VsStart read names; nullopt before the first. The highest one
  // read, and where: a later run naming less is a downgrade.
  std::optional<std::uint32_t> rules_version_;
  std::optional<std::pair<std::uint32_t, std::uint64_t>> highest_rules_version_;
  // The PolicyApplied entries read, by log position, and the one in force (the last).
  std::map<std::uint64_t, protocol::PolicyApplied> policies_;
  const protocol::PolicyApplied* policy_in_force_ = nullptr;
  std::uint64_t policy_in_force_position_ = 0;
  std::uint64_t vs_signatures_valid_ = 0;
  std::uint64_t vs_signatures_invalid_ = 0;
};

// Sets result.vs_key: the pinned key, or one found beside the store (a .pub file that verifies
// the first VS-signed entry, with a loud warning); without either, a warning and a finding.
void resolve_vs_key(const storage::Log& log, const std::string& path, const VerifyOptions& options,
                    VerifyResult& result, FindingSink& sink);

}  // namespace gsvs::audit::detail
