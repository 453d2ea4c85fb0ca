#include "tests/support/store_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <random>

#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "rules/movement.h"
#include "rules/quarantine.h"
#include "storage/log.h"

namespace gsvs::testing {

using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

const GeneratedSession* GeneratedStore::session(SessionId id) const {
  for (const auto& s : sessions) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const GeneratedSession* GeneratedStore::ended_by(RevocationReason reason) const {
  for (const auto& s : sessions) {
    if (s.reason == reason) return &s;
  }
  return nullptr;
}

namespace {

constexpr std::uint32_t kHeartbeatIntervalMs = 500;
constexpr std::uint32_t kHeartbeatTimeoutMs = 2000;
constexpr std::uint32_t kTicketPeriodMs = 1000;
constexpr std::uint32_t kTicketValidityMs = 2000;
constexpr std::uint32_t kDigestIntervalMs = 500;
constexpr std::uint32_t kNonceIntervalMs = 500;
constexpr std::int32_t kWorldMm = 100'000;  // players stay within +-100 m
constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

crypto::SecretKey derived_key(std::uint64_t seed, std::string_view role, std::uint64_t index) {
  crypto::Sha256 h;
  h.update("gsvs store generator/");
  h.update(role);
  std::array<std::uint8_t, 16> numbers{};
  for (std::size_t i = 0; i < 8; ++i) {
    numbers[i] = static_cast<std::uint8_t>(seed >> (8 * i));
    numbers[8 + i] = static_cast<std::uint8_t>(index >> (8 * i));
  }
  h.update(ByteView(numbers.data(), numbers.size()));
  const Hash32 digest = h.finish();
  crypto::Seed seed_bytes;
  seed_bytes.bytes = digest.bytes;
  return crypto::SecretKey::from_seed(seed_bytes);
}

enum class Ending {
  kMissedHeartbeats,
  kSpeedViolation,
  kOperator,
  kBadSignature,
  kCounterRegression,
  kSwHashChanged,
  kReceiptTipMismatch,
  kMalformed,
  kSessionMismatch,
};

constexpr std::array kEndings{Ending::kSpeedViolation,     Ending::kMissedHeartbeats,
                              Ending::kBadSignature,       Ending::kOperator,
                              Ending::kCounterRegression,  Ending::kSwHashChanged,
                              Ending::kReceiptTipMismatch, Ending::kMalformed,
                              Ending::kSessionMismatch,    Ending::kMissedHeartbeats};

enum class Rejection {
  kUnknownIdentity,
  kBadIdentitySignature,
  kMalformed,
  kIdentityBusy,
  kBadChallenge
};

struct Player {
  crypto::PublicKey key;
  std::int32_t x = 0;
  std::int32_t y = 0;
  double heading = 0;
  std::uint64_t last_spawn_ms = 0;
  bool appeared = false;
};

struct Sim {
  std::size_t record = 0;  // index into GeneratedStore::sessions
  SessionId id = 0;
  crypto::SecretKey session_key;
  JoinAccept accept;
  std::uint64_t accept_seq = 0;
  std::int64_t gs_clock_offset_ms = 0;
  std::uint64_t last_gs_time_ms = 0;
  bool teleport_next = false;  // the next digest carries the speed violation
  std::uint64_t counter = 0;
  std::uint64_t receipts = 0;
  Hash32 tip;
  std::uint64_t tickets = 0;
  Hash32 last_ticket_hash;
  std::vector<Nonce32> vs_pending_nonces;
  std::vector<Player> players;
  rules::MovementChecker physics;
  std::uint64_t last_heartbeat_seq = 0;
  std::uint64_t last_heartbeat_ms = 0;
  std::uint64_t last_digest_ms = 0;
  Ending ending = Ending::kMissedHeartbeats;
  bool silent = false;  // the GS stopped talking (missed heartbeats follow)
  std::uint64_t next_heartbeat = 0;
  std::uint64_t next_digest = 0;
  std::uint64_t next_nonces = 0;
  std::uint64_t next_ticket = 0;
  std::uint64_t end_at = 0;
  std::uint64_t revoke_at = kNever;

  Sim(crypto::SecretKey key, const rules::MovementLimits& limits)
      : session_key(std::move(key)), physics(limits) {}
};

struct Slot {
  crypto::SecretKey identity;
  std::unique_ptr<Sim> sim;
  std::uint64_t restart_at = 0;
};

// Where the generated entries go: straight into a single-file Log, or through the BatchWriter
// that rotates a segmented store (and seals each segment with `seal`).
class EntrySink {
 public:
  // The most entries submitted to the writer and not yet durable: the generator waits beyond it,
  // so a disk slower than the signing bounds the queue, not the memory.
  static constexpr std::uint64_t kMaxInFlight = std::uint64_t{1} << 16;

  explicit EntrySink(std::unique_ptr<storage::Log> log) : log_(std::move(log)) {}
  EntrySink(std::unique_ptr<storage::Log> log, storage::BatchWriter::Options options)
      : writer_(std::make_unique<storage::BatchWriter>(std::move(log), std::move(options))) {}

  [[nodiscard]] std::uint64_t size() const { return writer_ ? writer_->size() : log_->size(); }
  [[nodiscard]] Hash32 merkle_root() const {
    return writer_ ? writer_->merkle_root() : log_->merkle_root();
  }
  // Appends `entries` at seqs size(), size() + 1, ...; a seal the writer adds comes after them.
  Status append(std::vector<storage::PendingEntry> entries) {
    if (!writer_) {
      auto appended = log_->append(entries);
      if (!appended) return Error{appended.error()};
      return Status::success();
    }
    const std::uint64_t count = entries.size();
    {
      std::unique_lock lock(mutex_);
      durable_.wait(lock, [this] { return in_flight_ < kMaxInFlight; });
      in_flight_ += count;
    }
    auto placed = writer_->submit(std::move(entries), [this, count](const Status&) {
      const std::lock_guard lock(mutex_);
      in_flight_ -= count;
      durable_.notify_one();
    });
    if (!placed) {
      const std::lock_guard lock(mutex_);
      in_flight_ -= count;  // a refused submit never calls back
      return Error{placed.error()};
    }
    return Status::success();
  }
  // Waits until everything appended is durable; the writer's failure if that never happens.
  Status finish() { return writer_ ? writer_->flush() : Status::success(); }

 private:
  std::unique_ptr<storage::Log> log_;
  std::mutex mutex_;
  std::condition_variable durable_;
  std::uint64_t in_flight_ = 0;
  // Last: destroyed first, so its callbacks have run before the members they use go.
  std::unique_ptr<storage::BatchWriter> writer_;
};

class Generator {
 public:
  explicit Generator(const StoreGeneratorOptions& options)
      : options_(options),
        rng_(options.seed),
        vs_key_(generator_vs_key(options.seed)),
        sw_hash_(crypto::sha256(as_bytes("gsvs store generator: honest build 1.0"))),
        now_(options.start_ms) {
    out_.vs_public_key = vs_key_.public_key();
  }

  // Opens the store at `path` (a directory when it ends in '/') and fills it.
  Result<GeneratedStore> run(const std::string& path);
  // A Checkpoint over the first `size` entries, signed by the VS now: the periodic ones and the
  // seals, as vsd builds both (vsd/checkpoints.cpp).
  storage::PendingEntry checkpoint_entry(std::uint64_t size, const Hash32& root) {
    Checkpoint cp;
    cp.log_size = size;
    cp.root = root;
    cp.vs_time_ms = now_;
    return storage::PendingEntry{MessageKind::kCheckpoint, chains::Direction::kIssued, 0, now_,
                                 vs_signed(cp)};
  }

 private:
  Result<std::unique_ptr<EntrySink>> open(const std::string& path);
  std::uint64_t random(std::uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  std::uint64_t size() const { return sink_->size() + pending_.size(); }
  std::uint64_t put(MessageKind kind, chains::Direction direction, SessionId session, Bytes bytes,
                    std::optional<std::size_t> record = std::nullopt);
  template <class M>
  Bytes vs_signed(M& message) {
    sign(message, vs_key_);
    return encode(message);
  }
  void flush();
  void checkpoint();
  void start_session(std::size_t slot_index);
  void reject_join(std::size_t slot_index);
  void heartbeat(Sim& s);
  void digest(Sim& s, bool teleport);
  void nonces(Sim& s);
  void ticket(Sim& s);
  void end(std::size_t slot_index);
  void revoke(std::size_t slot_index, RevocationReason reason, std::string detail,
              std::vector<std::uint64_t> evidence);
  // The GS clock: the VS's receive time, less a varying network delay, plus the GS's own offset;
  // it never runs backwards (messages leave one TCP connection in order).
  std::uint64_t gs_time(Sim& s) {
    const auto latency = static_cast<std::int64_t>(5 + random(25));
    const auto t = static_cast<std::uint64_t>(static_cast<std::int64_t>(now_) +
                                              s.gs_clock_offset_ms - latency);
    s.last_gs_time_ms = std::max(s.last_gs_time_ms + 1, t);
    return s.last_gs_time_ms;
  }
  Heartbeat make_heartbeat(Sim& s) {
    Heartbeat hb;
    hb.session_id = s.id;
    hb.gs_counter = ++s.counter;
    hb.gs_time_ms = gs_time(s);
    hb.sw_hash = sw_hash_;
    hb.receipt_count = s.receipts;
    hb.receipt_tip = s.tip;
    return hb;
  }

  StoreGeneratorOptions options_;
  std::mt19937_64 rng_;
  crypto::SecretKey vs_key_;
  Hash32 sw_hash_;
  std::unique_ptr<EntrySink> sink_;
  std::vector<storage::PendingEntry> pending_;
  std::optional<std::string> error_;
  GeneratedStore out_;
  std::uint64_t now_;
  std::vector<Slot> slots_;
  SessionId next_session_ = 1;
  std::uint64_t next_revocation_ = 1;
  std::uint64_t last_checkpoint_size_ = 0;
  std::size_t endings_ = 0;
  std::size_t joins_ = 0;
  std::size_t rejections_ = 0;
  std::uint64_t strangers_ = 0;
  std::uint64_t replacements_ = 0;  // identities that took over a slot after a quarantine
};

std::uint64_t Generator::put(MessageKind kind, chains::Direction direction, SessionId session,
                             Bytes bytes, std::optional<std::size_t> record) {
  const std::uint64_t seq = size();
  auto& samples = out_.samples[kind];
  if (samples.size() < 8) samples.push_back(seq);
  if (record && direction == chains::Direction::kReceived) {
    auto& r = out_.sessions[*record];
    if (kind == MessageKind::kHeartbeat) ++r.heartbeats;
    if (kind == MessageKind::kTranscriptDigest) ++r.digests;
    if (kind == MessageKind::kNonceBatch) ++r.nonce_batches;
  }
  if (record && kind == MessageKind::kProtectedReceipt) ++out_.sessions[*record].receipts;
  if (record && kind == MessageKind::kPlayTicket) ++out_.sessions[*record].tickets;
  pending_.push_back(storage::PendingEntry{kind, direction, session, now_, std::move(bytes)});
  if (pending_.size() >= options_.commit_entries) flush();
  return seq;
}

void Generator::flush() {
  if (pending_.empty() || error_) return;
  if (auto appended = sink_->append(std::move(pending_)); !appended) error_ = appended.error();
  pending_.clear();
}

void Generator::checkpoint() {
  flush();
  if (error_) return;
  storage::PendingEntry cp = checkpoint_entry(sink_->size(), sink_->merkle_root());
  Bytes bytes = cp.message;
  out_.last_checkpoint_seq = put(cp.kind, cp.direction, 0, std::move(cp.message));
  out_.last_checkpoint = std::move(bytes);
  last_checkpoint_size_ = size();
}

void Generator::reject_join(std::size_t slot_index) {
  const auto kind = static_cast<Rejection>(rejections_++ % 5);
  JoinRequest r;
  std::optional<crypto::SecretKey> stranger;
  const crypto::SecretKey* identity = &slots_[slot_index].identity;
  JoinRejectReason reason = JoinRejectReason::kBadChallenge;
  std::string detail = "challenge is not the one this connection was given (replayed join?)";
  if (kind == Rejection::kUnknownIdentity) {
    stranger = derived_key(options_.seed, "stranger", strangers_++);
    identity = &*stranger;
    reason = JoinRejectReason::kUnknownIdentity;
    detail = "GS identity " + to_hex(identity->public_key()) + " is not in allowed_gs";
  } else if (kind == Rejection::kIdentityBusy) {
    for (const auto& other : slots_) {
      if (other.sim && &other != &slots_[slot_index]) identity = &other.identity;
    }
    reason = identity == &slots_[slot_index].identity ? JoinRejectReason::kBadChallenge
                                                      : JoinRejectReason::kIdentityBusy;
    if (reason == JoinRejectReason::kIdentityBusy) {
      detail = "identity " + to_hex(identity->public_key()) + " already has a live session";
    }
  }
  const auto session_key = derived_key(options_.seed, "rejected session", rejections_);
  r.gs_identity = identity->public_key();
  r.session_key = session_key.public_key();
  r.sw_hash = sw_hash_;
  r.gs_time_ms = now_;
  for (auto& b : r.challenge.bytes) b = static_cast<std::uint8_t>(random(256));
  sign(r, *identity, 0);
  sign(r, session_key, 1);
  Bytes bytes = encode(r);
  if (kind == Rejection::kBadIdentitySignature) {
    bytes[140] ^= 0x01;  // inside signature 0
    reason = JoinRejectReason::kBadIdentitySignature;
    detail = "identity signature does not verify";
  } else if (kind == Rejection::kMalformed) {
    bytes.resize(100);  // cut short
    reason = JoinRejectReason::kMalformed;
    detail = "JoinRequest: truncated";
  }
  JoinReject reject;
  reject.join_request_hash = chains::message_hash(bytes);
  reject.vs_time_ms = now_;
  reject.reason = static_cast<std::uint16_t>(reason);
  reject.detail = detail;
  put(MessageKind::kJoinRequest, chains::Direction::kReceived, 0, std::move(bytes));
  out_.join_reject_seqs.push_back(
      put(MessageKind::kJoinReject, chains::Direction::kIssued, 0, vs_signed(reject)));
}

void Generator::start_session(std::size_t slot_index) {
  Slot& slot = slots_[slot_index];
  if (options_.misbehaviour && joins_ % 3 == 2) reject_join(slot_index);
  ++joins_;
  const SessionId id = next_session_++;
  rules::MovementLimits limits;
  JoinAccept accept;
  rules::announce_limits(limits, accept);
  accept.max_receipt_lag = 8;
  // Digests every kDigestIntervalMs, well inside it; a silent GS misses heartbeats first.
  accept.digest_timeout_ms = 5000;
  auto sim =
      std::make_unique<Sim>(derived_key(options_.seed, "session", id), rules::limits_from(accept));
  Sim& s = *sim;
  s.id = id;
  s.gs_clock_offset_ms = static_cast<std::int64_t>(random(401)) - 200;

  JoinRequest request;
  request.gs_identity = slot.identity.public_key();
  request.session_key = s.session_key.public_key();
  request.sw_hash = sw_hash_;
  request.gs_time_ms = gs_time(s);
  for (auto& b : request.challenge.bytes) b = static_cast<std::uint8_t>(random(256));
  sign(request, slot.identity, 0);
  sign(request, s.session_key, 1);
  const Bytes request_bytes = encode(request);

  accept.session_id = id;
  accept.gs_identity = request.gs_identity;
  accept.session_key = request.session_key;
  accept.sw_hash = sw_hash_;
  accept.join_request_hash = chains::message_hash(request_bytes);
  accept.vs_time_ms = now_;
  accept.heartbeat_interval_ms = kHeartbeatIntervalMs;
  accept.heartbeat_timeout_ms = kHeartbeatTimeoutMs;
  accept.ticket_period_ms = kTicketPeriodMs;
  accept.ticket_validity_ms = kTicketValidityMs;
  const Bytes accept_bytes = vs_signed(accept);
  s.accept = accept;
  s.last_ticket_hash = chains::message_hash(accept_bytes);

  GeneratedSession record;
  record.id = id;
  record.gs_identity = request.gs_identity;
  record.session_key = request.session_key;
  record.sw_hash = sw_hash_;
  record.start_vs_ms = now_;
  s.record = out_.sessions.size();
  out_.sessions.push_back(record);
  out_.sessions[s.record].join_request_seq =
      put(MessageKind::kJoinRequest, chains::Direction::kReceived, id, request_bytes);
  s.accept_seq = put(MessageKind::kJoinAccept, chains::Direction::kIssued, id, accept_bytes);
  out_.sessions[s.record].join_accept_seq = s.accept_seq;
  s.last_heartbeat_seq = s.accept_seq;
  s.last_heartbeat_ms = now_;
  s.last_digest_ms = now_;

  for (std::uint32_t p = 0; p < options_.players_per_session; ++p) {
    Player player;
    player.key = derived_key(options_.seed, "player", id * 1000 + p).public_key();
    player.x = static_cast<std::int32_t>(random(2 * kWorldMm)) - kWorldMm;
    player.y = static_cast<std::int32_t>(random(2 * kWorldMm)) - kWorldMm;
    player.heading = static_cast<double>(random(6283)) / 1000.0;
    s.players.push_back(player);
    out_.sessions[s.record].players.push_back(player.key);
  }
  s.ending =
      options_.misbehaviour ? kEndings[endings_++ % kEndings.size()] : Ending::kMissedHeartbeats;
  const std::uint64_t mean = std::uint64_t{options_.session_seconds} * 1000;
  s.end_at = now_ + mean / 2 + random(mean + 1);
  s.next_ticket = now_;  // ticket 1 right after the JoinAccept
  s.next_heartbeat = now_ + 100 + random(kHeartbeatIntervalMs);
  s.next_digest = now_ + 50 + random(kDigestIntervalMs);
  s.next_nonces = now_ + 20 + random(kNonceIntervalMs);
  slot.sim = std::move(sim);
  ticket(*slot.sim);
}

void Generator::heartbeat(Sim& s) {
  Heartbeat hb = make_heartbeat(s);
  sign(hb, s.session_key);
  s.last_heartbeat_seq =
      put(MessageKind::kHeartbeat, chains::Direction::kReceived, s.id, encode(hb), s.record);
  s.last_heartbeat_ms = now_;
  s.next_heartbeat = now_ + kHeartbeatIntervalMs;
}

void Generator::digest(Sim& s, bool teleport) {
  const double seconds = static_cast<double>(now_ - s.last_digest_ms) / 1000.0;
  s.last_digest_ms = now_;
  TranscriptDigest d;
  d.session_id = s.id;
  d.gs_counter = ++s.counter;
  d.gs_time_ms = gs_time(s);
  d.tick = d.gs_counter;
  d.inputs_hash = crypto::sha256(as_bytes("inputs " + std::to_string(d.gs_counter)));
  for (std::size_t i = 0; i < s.players.size(); ++i) {
    Player& p = s.players[i];
    PlayerPosition at;
    at.player = p.key;
    if (!p.appeared) {
      at.flags = kPlayerSpawn;
      p.appeared = true;
      p.last_spawn_ms = now_;
    } else if (teleport && i == 0) {
      p.x = p.x > 0 ? p.x - 50'000 : p.x + 50'000;  // 50 m in one digest interval
    } else if (random(60) == 0 && now_ >= p.last_spawn_ms + 6000) {
      p.x = static_cast<std::int32_t>(random(2 * kWorldMm)) - kWorldMm;  // an honest respawn
      p.y = static_cast<std::int32_t>(random(2 * kWorldMm)) - kWorldMm;
      p.last_spawn_ms = now_;
      at.flags = kPlayerSpawn;
    } else if (random(10) != 0) {  // else: standing still
      p.heading += (static_cast<double>(random(1001)) - 500.0) / 1000.0;
      const double speed_mm_s = 1000.0 + static_cast<double>(random(3000));  // at most 4 m/s
      const double step = speed_mm_s * seconds * 0.9;  // the GS clock may run a little short
      p.x = std::clamp(static_cast<std::int32_t>(p.x + std::lround(step * std::cos(p.heading))),
                       -kWorldMm, kWorldMm);
      p.y = std::clamp(static_cast<std::int32_t>(p.y + std::lround(step * std::sin(p.heading))),
                       -kWorldMm, kWorldMm);
    }
    at.x_mm = p.x;
    at.y_mm = p.y;
    d.players.push_back(at);
  }
  sign(d, s.session_key);
  const Bytes bytes = encode(d);
  const std::uint64_t seq =
      put(MessageKind::kTranscriptDigest, chains::Direction::kReceived, s.id, bytes, s.record);
  s.next_digest = now_ + kDigestIntervalMs;
  const auto steps = s.physics.check(d, rules::DigestSample{d.gs_time_ms, now_, seq});
  for (const auto& step : steps) {
    if (step.violation) {
      std::vector<std::uint64_t> evidence{step.from_log_seq, step.to_log_seq};
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].sim.get() == &s) {
          revoke(i, RevocationReason::kSpeedViolation,
                 rules::describe_violation(step, s.physics.limits()), std::move(evidence));
          return;
        }
      }
    }
  }
  ProtectedReceipt receipt;
  receipt.session_id = s.id;
  receipt.gs_counter = d.gs_counter;
  receipt.digest_hash = chains::message_hash(bytes);
  receipt.digest_log_seq = seq;
  receipt.vs_time_ms = now_;
  receipt.receipt_index = ++s.receipts;
  receipt.receipt_tip =
      chains::next_receipt_tip(s.id, receipt.receipt_index, s.tip, receipt.digest_hash);
  s.tip = receipt.receipt_tip;
  Bytes bytes_signed;
  if (options_.receipt_batch > 1 && receipt.receipt_index % 2 == 1) {
    std::vector<ProtectedReceipt> batch(options_.receipt_batch, receipt);
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].session_id = 1'000'000 + i;
    const std::size_t at = (receipt.receipt_index / 2) % batch.size();
    batch[at] = receipt;
    sign_receipt_batch(batch, vs_key_);
    bytes_signed = encode(batch[at]);
  } else {
    bytes_signed = vs_signed(receipt);
  }
  put(MessageKind::kProtectedReceipt, chains::Direction::kIssued, s.id, std::move(bytes_signed),
      s.record);
}

void Generator::nonces(Sim& s) {
  NonceBatch batch;
  batch.session_id = s.id;
  batch.gs_counter = ++s.counter;
  batch.gs_time_ms = gs_time(s);
  const std::size_t count = 1 + random((s.players.size() + 1) / 2 + 1);
  for (std::size_t i = 0; i < count; ++i) {
    Nonce32 nonce;
    for (auto& b : nonce.bytes) b = static_cast<std::uint8_t>(random(256));
    batch.nonces.push_back(nonce);
  }
  sign(batch, s.session_key);
  put(MessageKind::kNonceBatch, chains::Direction::kReceived, s.id, encode(batch), s.record);
  const std::size_t room = kMaxNoncesPerTicket - s.vs_pending_nonces.size();
  s.vs_pending_nonces.insert(
      s.vs_pending_nonces.end(), batch.nonces.begin(),
      batch.nonces.begin() + static_cast<std::ptrdiff_t>(std::min(room, batch.nonces.size())));
  s.next_nonces = now_ + kNonceIntervalMs;
}

void Generator::ticket(Sim& s) {
  PlayTicket t;
  t.session_id = s.id;
  t.ticket_seq = ++s.tickets;
  t.prev_ticket_hash = s.last_ticket_hash;
  t.issued_ms = now_;
  t.not_after_ms = now_ + kTicketValidityMs;
  t.client_binding = client_binding::root(s.vs_pending_nonces);
  t.nonce_count = static_cast<std::uint32_t>(s.vs_pending_nonces.size());
  s.vs_pending_nonces.clear();
  Bytes bytes = vs_signed(t);
  s.last_ticket_hash = chains::message_hash(bytes);
  put(MessageKind::kPlayTicket, chains::Direction::kIssued, s.id, std::move(bytes), s.record);
  s.next_ticket = now_ + kTicketPeriodMs;
}

void Generator::revoke(std::size_t slot_index, RevocationReason reason, std::string detail,
                       std::vector<std::uint64_t> evidence) {
  Slot& slot = slots_[slot_index];
  Sim& s = *slot.sim;
  Revocation r;
  r.session_id = s.id;
  r.revocation_seq = next_revocation_++;
  r.vs_time_ms = now_;
  r.reason = static_cast<std::uint16_t>(reason);
  r.detail = detail;
  r.evidence = evidence;
  auto& record = out_.sessions[s.record];
  record.revocation_seq =
      put(MessageKind::kRevocation, chains::Direction::kIssued, s.id, vs_signed(r), s.record);
  record.reason = reason;
  record.evidence = std::move(evidence);
  record.detail = std::move(detail);
  slot.sim.reset();
  slot.restart_at = now_ + 300 + random(700);
  // A revocation for a fault quarantines the GS identity (PROTOCOL.md §8.16): the slot's next
  // session is another game server, as the VS would let nothing else in.
  if (rules::quarantines(r.reason)) {
    if (options_.pardon_quarantines) {
      Pardon pardon;
      pardon.gs_identity = slot.identity.public_key();
      pardon.vs_time_ms = now_;
      pardon.revocation_position = record.revocation_seq;
      pardon.reason = "reviewed";
      put(MessageKind::kPardon, chains::Direction::kIssued, 0, vs_signed(pardon), std::nullopt);
    }
    slot.identity = derived_key(options_.seed, "replacement identity", replacements_++);
  }
}

void Generator::end(std::size_t slot_index) {
  Sim& s = *slots_[slot_index].sim;
  s.end_at = kNever;
  auto offending = [&](Heartbeat hb, bool corrupt_signature) {
    sign(hb, s.session_key);
    if (corrupt_signature) hb.signatures[0].bytes[0] ^= 0x80;
    return put(MessageKind::kHeartbeat, chains::Direction::kReceived, s.id, encode(hb), s.record);
  };
  switch (s.ending) {
    case Ending::kMissedHeartbeats:
      s.silent = true;
      s.revoke_at = s.last_heartbeat_ms + kHeartbeatTimeoutMs + 3;
      return;
    case Ending::kSpeedViolation:
      s.teleport_next = true;  // at the next regular digest
      return;
    case Ending::kOperator:
      revoke(slot_index, RevocationReason::kOperator, "operator: reported by players",
             {s.accept_seq});
      return;
    case Ending::kBadSignature: {
      const std::uint64_t seq = offending(make_heartbeat(s), true);
      revoke(slot_index, RevocationReason::kBadSignature,
             "Heartbeat with gs_counter " + std::to_string(s.counter) +
                 " does not verify under the session key",
             {seq});
      return;
    }
    case Ending::kCounterRegression: {
      Heartbeat hb = make_heartbeat(s);
      hb.gs_counter = s.counter >= 2 ? s.counter - 2 : 0;  // below the last accepted
      const std::uint64_t last = s.counter - 1;
      const std::uint64_t seq = offending(hb, false);
      revoke(slot_index, RevocationReason::kCounterRegression,
             "Heartbeat gs_counter " + std::to_string(hb.gs_counter) +
                 " is not above the last accepted " + std::to_string(last),
             {seq});
      return;
    }
    case Ending::kSwHashChanged: {
      Heartbeat hb = make_heartbeat(s);
      hb.sw_hash = crypto::sha256(as_bytes("patched in memory"));
      const std::uint64_t seq = offending(hb, false);
      revoke(slot_index, RevocationReason::kSwHashChanged,
             "heartbeat reports build " + to_hex(hb.sw_hash) + " but the session joined as " +
                 to_hex(sw_hash_),
             {s.accept_seq, seq});
      return;
    }
    case Ending::kReceiptTipMismatch: {
      Heartbeat hb = make_heartbeat(s);
      hb.receipt_tip.bytes[0] ^= 0xff;
      const std::uint64_t seq = offending(hb, false);
      revoke(slot_index, RevocationReason::kReceiptTipMismatch,
             "receipt_tip " + to_hex(hb.receipt_tip).substr(0, 16) + " after " +
                 std::to_string(hb.receipt_count) + " receipts does not match the VS's",
             {seq});
      return;
    }
    case Ending::kMalformed: {
      const std::uint64_t seq = put(MessageKind::kHeartbeat, chains::Direction::kReceived, s.id,
                                    Bytes{1, 5, 0, 0, 0}, s.record);
      revoke(slot_index, RevocationReason::kMalformedMessage,
             "malformed message: Heartbeat: truncated", {seq});
      return;
    }
    case Ending::kSessionMismatch: {
      Heartbeat hb = make_heartbeat(s);
      hb.session_id = s.id + 1000;
      const std::uint64_t seq = offending(hb, false);
      revoke(slot_index, RevocationReason::kSessionMismatch,
             "message for session " + std::to_string(hb.session_id) +
                 " on the connection of session " + std::to_string(s.id),
             {seq});
      return;
    }
  }
}

Result<std::unique_ptr<EntrySink>> Generator::open(const std::string& path) {
  if (path.empty() || path.back() != '/') {
    auto log = storage::Log::open(path, storage::OpenMode::kReadWrite);
    if (!log) return Error{log.error()};
    return std::make_unique<EntrySink>(std::move(log).value());
  }
  auto log = storage::Log::open(path, storage::OpenMode::kReadWrite, storage::StoreRole::kVs,
                                storage::OpenOptions{vs_key_.public_key()});
  if (!log) return Error{log.error()};
  storage::BatchWriter::Options writer;
  writer.max_batch_entries = options_.commit_entries;
  writer.segment_max_bytes = options_.segment_max_bytes;
  // Runs inside a submit, on this thread: the seal is signed at the simulated time of the entries
  // just submitted, like any checkpoint.
  writer.seal = [this](std::uint64_t size, const Hash32& root) {
    return checkpoint_entry(size, root);
  };
  return std::make_unique<EntrySink>(std::move(log).value(), std::move(writer));
}

Result<GeneratedStore> Generator::run(const std::string& path) {
  auto sink = open(path);
  if (!sink) return Error{sink.error()};
  sink_ = std::move(sink).value();
  for (std::uint32_t i = 0; i < std::max(1u, options_.concurrent_sessions); ++i) {
    slots_.push_back(
        Slot{derived_key(options_.seed, "identity", i), nullptr, now_ + std::uint64_t{i} * 37});
  }
  while (!error_ && size() < options_.min_entries) {
    // The next event of any slot; ties go to the lower slot.
    std::uint64_t when = kNever;
    std::size_t which = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const Slot& slot = slots_[i];
      std::uint64_t t = slot.restart_at;
      if (slot.sim) {
        const Sim& s = *slot.sim;
        t = std::min({s.next_ticket, s.end_at, s.revoke_at});
        if (!s.silent) t = std::min({t, s.next_heartbeat, s.next_digest, s.next_nonces});
      }
      if (t < when) {
        when = t;
        which = i;
      }
    }
    now_ = std::max(now_, when);
    const Slot& slot = slots_[which];
    if (!slot.sim) {
      start_session(which);
    } else {
      Sim& s = *slot.sim;
      if (s.revoke_at <= now_) {
        revoke(which, RevocationReason::kMissedHeartbeats,
               "no valid heartbeat for " + std::to_string(now_ - s.last_heartbeat_ms) +
                   " ms; the limit is " + std::to_string(kHeartbeatTimeoutMs) + " ms",
               {s.last_heartbeat_seq});
      } else if (s.end_at <= now_) {
        end(which);
      } else if (s.next_ticket <= now_) {
        ticket(s);
      } else if (!s.silent && s.next_heartbeat <= now_) {
        heartbeat(s);
      } else if (!s.silent && s.next_digest <= now_) {
        digest(s, s.teleport_next);
      } else if (!s.silent && s.next_nonces <= now_) {
        nonces(s);
      }
    }
    if (size() >= last_checkpoint_size_ + options_.checkpoint_every) checkpoint();
  }
  // Stop the VS: revoke what is live (vs_shutdown), then a final checkpoint.
  now_ += 10;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].sim) {
      revoke(i, RevocationReason::kVsShutdown, "the VS is shutting down (operator stop)",
             {slots_[i].sim->accept_seq});
    }
  }
  checkpoint();
  flush();
  if (error_) return Error{*error_};
  if (auto finished = sink_->finish(); !finished) return Error{finished.error()};
  out_.entries = sink_->size();
  return std::move(out_);
}

}  // namespace

crypto::SecretKey generator_vs_key(std::uint64_t seed) { return derived_key(seed, "vs", 0); }

crypto::SecretKey generator_session_key(std::uint64_t seed, SessionId session) {
  return derived_key(seed, "session", session);
}

Result<GeneratedStore> generate_store(const std::string& path,
                                      const StoreGeneratorOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return Error{path + ": already exists"};
  Generator generator(options);
  return generator.run(path);
}

}  // namespace gsvs::testing
