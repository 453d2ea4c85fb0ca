#include "tests/vectors/samples.h"

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "rules/version.h"

namespace gsvs::test_samples {

using namespace protocol;  // NOLINT(google-build-using-namespace): every message type is used

namespace {

// ---- The sample session ------------------------------------------------------------------------

// Distinct bytes in every position, so a byte-order mistake cannot go unnoticed; below 2^53.
constexpr SessionId kSessionId = 0x0011223344556677;
constexpr std::uint64_t kVsTime = 1700000000000;  // 2023-11-14T22:13:20Z
constexpr std::uint64_t kGsTime = 1700000000250;
constexpr std::uint64_t kClientTime = 1700000000500;
constexpr std::uint32_t kTicketPeriodMs = 2000;
constexpr std::uint32_t kTicketValidityMs = 2500;
constexpr std::size_t kBatchSize = 5;
constexpr std::uint32_t kClientNonceIndex = 2;  // the sample client's nonce in the batch
constexpr std::size_t kChainLength = 3;
constexpr std::array<std::uint64_t, kChainLength> kDigestLogSeq{2, 6, 10};

Hash32 sample_hash(std::string_view what) {
  return labelled("gsvs test vector: " + std::string(what));
}

template <class M>
Bytes sign_and_encode(M& message, std::initializer_list<const crypto::SecretKey*> signers) {
  std::size_t index = 0;
  for (const auto* key : signers) sign(message, *key, index++);
  return encode(message);
}

struct LogRow {
  chains::LogEntryHeader header;
  Bytes message;
  Hash32 entry_hash;
};

// Every message and chain of the sample session, built in causal order.
struct Session {
  VsChallenge challenge;
  JoinRequest join_request;
  JoinAccept join_accept;
  JoinReject join_reject;
  NonceBatch nonce_batch;
  std::vector<Nonce32> nonces;
  std::array<PlayTicket, kChainLength> tickets;
  std::array<Bytes, kChainLength> ticket_bytes;
  std::array<ClientInput, kChainLength> inputs;
  std::array<Bytes, kChainLength> input_bytes;
  std::array<Hash32, kChainLength + 1> inputs_hash{};  // [0] is the start value
  std::array<TranscriptDigest, kChainLength> digests;
  std::array<Bytes, kChainLength> digest_bytes;
  std::array<ProtectedReceipt, kChainLength> receipts;
  std::array<Hash32, kChainLength + 1> receipt_tips{};  // [0] is the start value
  Heartbeat heartbeat;
  std::vector<LogRow> log;
  Checkpoint checkpoint;
  Revocation revocation;
  ClientHello client_hello;
  ServerHello server_hello;
  TicketForward ticket_forward;
  ClientNonce client_nonce;
  InputReject input_reject;
  ClientChallenge client_challenge;
  GsLeaving gs_leaving;
  GsResume gs_resume;
  ResumeAccept resume_accept;
  VsStart vs_start;
  PolicyApplied policy_applied;
  Pardon pardon;
  SessionAdopted session_adopted;
  StateCarried state_carried;
};

Session build_session(const Keys& keys) {
  Session s;
  const auto& vs = keys.vs();
  const auto& gs_identity = keys.gs_identity();
  const auto& gs_session = keys.gs_session();
  const auto& client = keys.client();
  const Hash32 sw_hash = sample_hash("gs build");

  s.challenge.challenge = sample_hash("vs challenge");
  s.challenge.vs_time_ms = kVsTime;

  s.join_request.gs_identity = gs_identity.public_key();
  s.join_request.session_key = gs_session.public_key();
  s.join_request.sw_hash = sw_hash;
  s.join_request.gs_time_ms = kGsTime;
  s.join_request.challenge = s.challenge.challenge;
  const Bytes join_request_bytes = sign_and_encode(s.join_request, {&gs_identity, &gs_session});
  const Hash32 join_request_hash = chains::message_hash(join_request_bytes);

  s.join_accept.session_id = kSessionId;
  s.join_accept.gs_identity = gs_identity.public_key();
  s.join_accept.session_key = gs_session.public_key();
  s.join_accept.sw_hash = sw_hash;
  s.join_accept.join_request_hash = join_request_hash;
  s.join_accept.vs_time_ms = kVsTime + 20;
  s.join_accept.heartbeat_interval_ms = 1000;
  s.join_accept.heartbeat_timeout_ms = 5000;
  s.join_accept.ticket_period_ms = kTicketPeriodMs;
  s.join_accept.ticket_validity_ms = kTicketValidityMs;
  s.join_accept.max_speed_mm_s = 10000;
  s.join_accept.speed_tolerance_ppm = 50000;
  s.join_accept.jitter_allowance_ms = 250;
  s.join_accept.excess_decay_ppm = 999000;
  s.join_accept.max_excess_mm = 1000;
  s.join_accept.spawn_min_interval_ms = 5000;
  s.join_accept.max_players_per_session = 4096;
  s.join_accept.max_receipt_lag = 8;
  s.join_accept.digest_timeout_ms = 10000;
  s.join_accept.continuity_window_ms = 60000;
  // Both shapes of spawn zone (PROTOCOL.md §5.6). The rectangle covers the whole plane, so every
  // spawn in the vectors is free as before zones existed and no verdict changes.
  s.join_accept.spawn_zones = {
      SpawnZone{static_cast<std::uint8_t>(SpawnZoneShape::kRectangle),
                std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::min(),
                std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int32_t>::max()},
      SpawnZone{static_cast<std::uint8_t>(SpawnZoneShape::kCircle), -20000, 35000, 1500, 0}};
  const Bytes join_accept_bytes = sign_and_encode(s.join_accept, {&vs});

  // The rejection a second, replayed copy of the same JoinRequest would get.
  s.join_reject.join_request_hash = join_request_hash;
  s.join_reject.vs_time_ms = kVsTime + 30;
  s.join_reject.reason = static_cast<std::uint16_t>(JoinRejectReason::kBadChallenge);
  s.join_reject.detail =
      "challenge already used (d\xc3\xa9"
      "fi d\xc3\xa9j\xc3\xa0 utilis\xc3\xa9)";
  sign_and_encode(s.join_reject, {&vs});

  // Client nonces and the batch the GS forwards before ticket 1.
  for (std::size_t i = 0; i < kBatchSize; ++i) {
    s.nonces.push_back(sample_hash("client nonce " + std::to_string(i)));
  }
  s.nonce_batch.session_id = kSessionId;
  s.nonce_batch.gs_counter = 1;
  s.nonce_batch.gs_time_ms = kGsTime + 900;
  s.nonce_batch.nonces = s.nonces;
  sign_and_encode(s.nonce_batch, {&gs_session});

  // Tickets 1..3: ticket 1 binds the batch, tickets 2 and 3 had no nonces to bind.
  Hash32 prev_ticket_hash = chains::message_hash(join_accept_bytes);
  for (std::size_t i = 0; i < kChainLength; ++i) {
    auto& t = s.tickets[i];
    t.session_id = kSessionId;
    t.ticket_seq = i + 1;
    t.prev_ticket_hash = prev_ticket_hash;
    t.issued_ms = kVsTime + 1000 + i * kTicketPeriodMs;
    t.not_after_ms = t.issued_ms + kTicketValidityMs;
    if (i == 0) {
      t.client_binding = client_binding::root(s.nonces);
      t.nonce_count = static_cast<std::uint32_t>(s.nonces.size());
    } else {
      t.client_binding = client_binding::root({});
      t.nonce_count = 0;
    }
    s.ticket_bytes[i] = sign_and_encode(t, {&vs});
    prev_ticket_hash = chains::message_hash(s.ticket_bytes[i]);
  }
  const Hash32 ticket1_hash = chains::message_hash(s.ticket_bytes[0]);

  // Three inputs of the sample client, bound to ticket 1, chained into digest 1's inputs_hash.
  constexpr std::array<std::pair<std::int32_t, std::int32_t>, kChainLength> kMoves{
      {{120, -40}, {-300, 0}, {0, 75}}};
  s.inputs_hash[0] = Hash32{};
  for (std::size_t i = 0; i < kChainLength; ++i) {
    auto& in = s.inputs[i];
    in.client_key = client.public_key();
    in.session_id = kSessionId;
    in.ticket_seq = 1;
    in.ticket_hash = ticket1_hash;
    in.client_seq = i + 1;
    in.client_time_ms = kClientTime + 1000 + 50 * i;
    in.move_x_mm = kMoves[i].first;
    in.move_y_mm = kMoves[i].second;
    s.input_bytes[i] = sign_and_encode(in, {&client});
    s.inputs_hash[i + 1] = chains::next_inputs_hash(s.inputs_hash[i], s.input_bytes[i]);
  }

  // Digest 1 carries the three inputs; digests 2 and 3 follow with no new inputs.
  for (std::size_t i = 0; i < kChainLength; ++i) {
    auto& d = s.digests[i];
    d.session_id = kSessionId;
    d.gs_counter = 2 + i;
    d.gs_time_ms = kGsTime + 1200 + 100 * i;
    d.tick = 60 + 6 * i;
    d.inputs_hash = i == 0 ? s.inputs_hash[kChainLength] : Hash32{};
    const auto step = static_cast<std::int32_t>(i);
    const std::uint8_t spawn = i == 0 ? kPlayerSpawn : std::uint8_t{0};
    d.players = {
        {client.public_key(), -180 + 100 * step, -40 + 10 * step, spawn},
        {keys.client2().public_key(), -120000, 340000 + step, 0},
    };
    s.digest_bytes[i] = sign_and_encode(d, {&gs_session});
  }

  s.receipt_tips[0] = Hash32{};
  for (std::size_t i = 0; i < kChainLength; ++i) {
    auto& r = s.receipts[i];
    r.session_id = kSessionId;
    r.gs_counter = s.digests[i].gs_counter;
    r.digest_hash = chains::message_hash(s.digest_bytes[i]);
    r.digest_log_seq = kDigestLogSeq[i];
    r.vs_time_ms = kVsTime + 1300 + 100 * i;
    r.receipt_index = i + 1;
    s.receipt_tips[i + 1] =
        chains::next_receipt_tip(kSessionId, r.receipt_index, s.receipt_tips[i], r.digest_hash);
    r.receipt_tip = s.receipt_tips[i + 1];
    sign_and_encode(r, {&vs});
  }

  s.heartbeat.session_id = kSessionId;
  s.heartbeat.gs_counter = 2 + kChainLength;
  s.heartbeat.gs_time_ms = kGsTime + 1600;
  s.heartbeat.sw_hash = sw_hash;
  s.heartbeat.receipt_count = kChainLength;
  s.heartbeat.receipt_tip = s.receipt_tips[kChainLength];
  sign_and_encode(s.heartbeat, {&gs_session});

  s.gs_leaving.session_id = kSessionId;
  s.gs_leaving.gs_counter = s.heartbeat.gs_counter + 1;
  s.gs_leaving.gs_time_ms = s.heartbeat.gs_time_ms + 400;
  s.gs_leaving.receipt_count = kChainLength;
  s.gs_leaving.receipt_tip = s.receipt_tips[kChainLength];
  sign_and_encode(s.gs_leaving, {&gs_session});

  // A VS restart after the heartbeat: the new run's first entry, then the GS resumes the session
  // on a new connection with the heartbeat's receipt state and the last ticket it holds.
  s.vs_start.log_size = 40;
  s.vs_start.vs_time_ms = kVsTime + 5000;
  s.vs_start.resume_window_ms = 10000;
  s.vs_start.rules_version = rules::kRulesVersion;
  sign_and_encode(s.vs_start, {&vs});

  // The policy the restarted VS applies, logged right after its VsStart (the log's second: the
  // first run logged policy 1). It allows the session's identity and build, on the terms of its
  // JoinAccept, so the session may be resumed under it.
  s.policy_applied.policy_seq = 2;
  s.policy_applied.vs_time_ms = s.vs_start.vs_time_ms;
  s.policy_applied.policy.allowed_gs = {gs_identity.public_key()};
  s.policy_applied.policy.allowed_builds = {sw_hash};
  s.policy_applied.policy.heartbeat_interval_ms = s.join_accept.heartbeat_interval_ms;
  s.policy_applied.policy.heartbeat_timeout_ms = s.join_accept.heartbeat_timeout_ms;
  s.policy_applied.policy.ticket_period_ms = s.join_accept.ticket_period_ms;
  s.policy_applied.policy.ticket_validity_ms = s.join_accept.ticket_validity_ms;
  s.policy_applied.policy.max_receipt_lag = s.join_accept.max_receipt_lag;
  s.policy_applied.policy.max_clock_skew_ms = 5000;
  s.policy_applied.policy.max_speed_mm_s = s.join_accept.max_speed_mm_s;
  s.policy_applied.policy.speed_tolerance_ppm = s.join_accept.speed_tolerance_ppm;
  s.policy_applied.policy.jitter_allowance_ms = s.join_accept.jitter_allowance_ms;
  s.policy_applied.policy.excess_decay_ppm = s.join_accept.excess_decay_ppm;
  s.policy_applied.policy.max_excess_mm = s.join_accept.max_excess_mm;
  s.policy_applied.policy.spawn_min_interval_ms = s.join_accept.spawn_min_interval_ms;
  s.policy_applied.policy.max_players_per_session = s.join_accept.max_players_per_session;
  s.policy_applied.policy.quarantine_ms = 3600000;
  s.policy_applied.policy.digest_timeout_ms = s.join_accept.digest_timeout_ms;
  s.policy_applied.policy.continuity_window_ms = s.join_accept.continuity_window_ms;
  s.policy_applied.policy.spawn_zones = s.join_accept.spawn_zones;
  s.policy_applied.policy_hash = policy_hash(s.policy_applied.policy);
  sign_and_encode(s.policy_applied, {&vs});

  const Bytes& last_ticket_bytes = s.ticket_bytes[kChainLength - 1];
  s.gs_resume.session_id = kSessionId;
  s.gs_resume.gs_identity = gs_identity.public_key();
  s.gs_resume.session_key = gs_session.public_key();
  s.gs_resume.gs_counter = s.heartbeat.gs_counter + 1;
  s.gs_resume.gs_time_ms = kGsTime + 5300;
  s.gs_resume.receipt_count = kChainLength;
  s.gs_resume.receipt_tip = s.receipt_tips[kChainLength];
  s.gs_resume.ticket_seq = s.tickets[kChainLength - 1].ticket_seq;
  s.gs_resume.ticket_hash = chains::message_hash(last_ticket_bytes);
  s.gs_resume.challenge = sample_hash("vs challenge after the restart");
  const Bytes gs_resume_bytes = sign_and_encode(s.gs_resume, {&gs_session});

  s.resume_accept.session_id = kSessionId;
  s.resume_accept.resume_hash = chains::message_hash(gs_resume_bytes);
  s.resume_accept.gs_counter = s.gs_resume.gs_counter;
  s.resume_accept.receipt_count = kChainLength;
  s.resume_accept.receipt_tip = s.receipt_tips[kChainLength];
  s.resume_accept.ticket_seq = s.gs_resume.ticket_seq;
  s.resume_accept.ticket_hash = s.gs_resume.ticket_hash;
  s.resume_accept.vs_time_ms = kVsTime + 5060;
  s.resume_accept.heartbeat_deadline_ms = s.resume_accept.vs_time_ms + 2000;
  sign_and_encode(s.resume_accept, {&vs});

  // The first four rows of the VS log and the checkpoint over them.
  struct Row {
    MessageKind kind;
    chains::Direction direction;
    SessionId session_id;
    std::uint64_t vs_time_ms;
    Bytes message;
  };
  const std::array<Row, 4> rows{{
      {MessageKind::kJoinRequest, chains::Direction::kReceived, 0, kVsTime + 10,
       join_request_bytes},
      {MessageKind::kJoinAccept, chains::Direction::kIssued, kSessionId, kVsTime + 20,
       join_accept_bytes},
      {MessageKind::kTranscriptDigest, chains::Direction::kReceived, kSessionId, kVsTime + 1290,
       s.digest_bytes[0]},
      {MessageKind::kProtectedReceipt, chains::Direction::kIssued, kSessionId, kVsTime + 1300,
       encode(s.receipts[0])},
  }};
  Hash32 prev_entry_hash{};
  std::vector<Hash32> entry_hashes;
  for (std::size_t seq = 0; seq < rows.size(); ++seq) {
    LogRow row;
    row.header.seq = seq;
    row.header.kind = rows[seq].kind;
    row.header.direction = rows[seq].direction;
    row.header.session_id = rows[seq].session_id;
    row.header.vs_time_ms = rows[seq].vs_time_ms;
    row.header.prev_entry_hash = prev_entry_hash;
    row.message = rows[seq].message;
    row.entry_hash = chains::log_entry_hash(row.header, row.message);
    prev_entry_hash = row.entry_hash;
    entry_hashes.push_back(row.entry_hash);
    s.log.push_back(std::move(row));
  }
  s.checkpoint.log_size = s.log.size();
  s.checkpoint.root = merkle::root(entry_hashes);
  s.checkpoint.vs_time_ms = kVsTime + 1400;
  sign_and_encode(s.checkpoint, {&vs});

  s.revocation.session_id = kSessionId;
  s.revocation.revocation_seq = 1;
  s.revocation.vs_time_ms = kVsTime + 1700;
  s.revocation.reason = static_cast<std::uint16_t>(RevocationReason::kSpeedViolation);
  s.revocation.detail = "player moved 412.0 m in 2.0 s; limit 10.0 m/s";
  s.revocation.evidence = {kDigestLogSeq[0], kDigestLogSeq[1]};
  sign_and_encode(s.revocation, {&vs});

  // The operator lifts the quarantine the speed revocation above began (PROTOCOL.md §8.16),
  // citing where the log holds it.
  s.pardon.gs_identity = gs_identity.public_key();
  s.pardon.vs_time_ms = kVsTime + 3000;
  s.pardon.revocation_position = 31;
  s.pardon.reason = "reviewed the digests: a lag spike, not a speed hack (ticket 4711)";
  sign_and_encode(s.pardon, {&vs});

  // An hour on, before the pardon would come, the VS restates what a start reads: the speed
  // revocation's quarantine (until pardoned: the policy's quarantine_ms is 0), the numbers and the
  // policy in force, in one part (PROTOCOL.md §5.29).
  s.state_carried.log_size = 40;
  s.state_carried.vs_time_ms = kVsTime + 2000;
  s.state_carried.session_id_high = kSessionId;
  s.state_carried.revocation_seq_high = s.revocation.revocation_seq;
  s.state_carried.policy_seq = s.policy_applied.policy_seq;
  s.state_carried.policy_position = 33;
  s.state_carried.policy_hash = s.policy_applied.policy_hash;
  s.state_carried.policy_quarantine_ms = s.policy_applied.policy.quarantine_ms;
  s.state_carried.quarantines = {CarriedQuarantine{
      gs_identity.public_key(), kSessionId, s.revocation.reason, s.revocation.vs_time_ms, 0, 31}};
  sign_and_encode(s.state_carried, {&vs});

  // Node b of the fleet takes the session up after the heartbeat, node vs having died: the
  // state after the three receipts and tickets, both players' last positions (digest 3).
  s.session_adopted.session_id = kSessionId;
  s.session_adopted.vs_time_ms = kVsTime + 4000;
  s.session_adopted.from_vs_key = vs.public_key();
  s.session_adopted.from_log_size = 12;
  s.session_adopted.from_log_head = sample_hash("node vs: entry hash of its entry 11");
  s.session_adopted.join_accept = join_accept_bytes;
  s.session_adopted.gs_counter = s.heartbeat.gs_counter;
  s.session_adopted.receipt_count_seen = kChainLength;
  s.session_adopted.receipt_count = kChainLength;
  s.session_adopted.receipt_tips.assign(s.receipt_tips.begin(), s.receipt_tips.end());
  s.session_adopted.ticket_seq = kChainLength;
  s.session_adopted.ticket_hashes = {Hash32{}};
  for (const Bytes& ticket : s.ticket_bytes) {
    s.session_adopted.ticket_hashes.push_back(chains::message_hash(ticket));
  }
  s.session_adopted.players_in_play = 2;
  s.session_adopted.liveness_since_ms = kVsTime + 1650;
  s.session_adopted.digests_since_ms = kVsTime + 1450;
  for (const auto& player : s.digests[kChainLength - 1].players) {
    s.session_adopted.positions.push_back(
        AdoptedPosition{player.player, player.x_mm, player.y_mm, kVsTime + 1450,
                        player.player == client.public_key() ? kVsTime + 1250 : std::uint64_t{0}});
  }
  sign_and_encode(s.session_adopted, {&keys.vs_node_b()});

  s.client_hello.client_key = client.public_key();
  s.client_challenge.challenge = sample_hash("gs client challenge");
  s.client_hello.client_nonce = sample_hash("client hello nonce");
  s.client_hello.gs_challenge = s.client_challenge.challenge;
  s.client_hello.client_time_ms = kClientTime;
  sign_and_encode(s.client_hello, {&client});

  s.server_hello.session_id = kSessionId;
  s.server_hello.client_key = client.public_key();
  s.server_hello.client_nonce = s.client_hello.client_nonce;
  s.server_hello.gs_time_ms = kGsTime + 300;
  s.server_hello.join_accept = join_accept_bytes;
  sign_and_encode(s.server_hello, {&gs_session});

  s.client_nonce.nonce = s.nonces[kClientNonceIndex];

  s.ticket_forward.ticket = s.ticket_bytes[0];
  s.ticket_forward.has_proof = 1;
  s.ticket_forward.nonce = s.nonces[kClientNonceIndex];
  s.ticket_forward.leaf_index = kClientNonceIndex;
  s.ticket_forward.proof = client_binding::proof(s.nonces, kClientNonceIndex);

  s.input_reject.client_seq = kChainLength + 1;
  s.input_reject.reason = static_cast<std::uint16_t>(InputRejectReason::kStaleTicket);
  s.input_reject.detail = "ticket 1 expired";

  return s;
}

// ---- Fields <-> JSON ---------------------------------------------------------------------------

template <class T>
constexpr bool kIsRecord = requires {
  &T::template visit<T, int>;
};

class ToJson {
 public:
  Json out = Json::object();

  template <class T>
  requires std::is_integral_v<T>
  void field(const T& v, std::string_view name) { out[std::string(name)] = v; }
  template <std::size_t N>
  void field(const FixedBytes<N>& v, std::string_view name) {
    out[std::string(name)] = to_hex(v);
  }
  template <class T>
  void list(const std::vector<T>& items, std::size_t /*cap*/, std::string_view name) {
    Json array = Json::array();
    for (const auto& item : items) {
      if constexpr (kIsRecord<T>) {
        ToJson inner;
        T::visit(item, inner);
        array.push_back(std::move(inner.out));
      } else {
        ToJson inner;
        inner.field(item, "item");
        array.push_back(std::move(inner.out["item"]));
      }
    }
    out[std::string(name)] = std::move(array);
  }
  void text(const std::string& s, std::size_t /*cap*/, std::string_view name) {
    out[std::string(name)] = s;
  }
  void blob(const Bytes& b, std::size_t /*cap*/, std::string_view name) {
    out[std::string(name)] = to_hex(b);
  }
};

[[noreturn]] void bad_field(std::string_view name, std::string_view why) {
  throw std::invalid_argument("field " + std::string(name) + ": " + std::string(why));
}

class FromJson {
 public:
  explicit FromJson(const Json& in) : in_(in) {
    if (!in_.is_object()) throw std::invalid_argument("fields: not an object");
  }

  template <class T>
  requires std::is_integral_v<T>
  void field(T& v, std::string_view name) { v = integer<T>(at(name), name); }
  template <std::size_t N>
  void field(FixedBytes<N>& v, std::string_view name) {
    const auto& j = at(name);
    if (!j.is_string()) bad_field(name, "not a string");
    auto parsed = fixed_from_hex<N>(j.get<std::string>());
    if (!parsed) bad_field(name, "not " + std::to_string(N) + " bytes of hex");
    v = *parsed;
  }
  template <class T>
  void list(std::vector<T>& items, std::size_t /*cap*/, std::string_view name) {
    const auto& j = at(name);
    if (!j.is_array()) bad_field(name, "not an array");
    items.clear();
    for (const auto& element : j) {
      T item{};
      if constexpr (kIsRecord<T>) {
        FromJson inner(element);
        T::visit(item, inner);
        inner.expect_all_used();
      } else {
        Json wrapper = Json::object();
        wrapper["item"] = element;
        FromJson inner(wrapper);
        inner.field(item, "item");
      }
      items.push_back(std::move(item));
    }
  }
  void text(std::string& s, std::size_t /*cap*/, std::string_view name) {
    const auto& j = at(name);
    if (!j.is_string()) bad_field(name, "not a string");
    s = j.get<std::string>();
  }
  void blob(Bytes& b, std::size_t /*cap*/, std::string_view name) {
    const auto& j = at(name);
    if (!j.is_string()) bad_field(name, "not a string");
    auto parsed = from_hex(j.get<std::string>());
    if (!parsed) bad_field(name, "not hex");
    b = std::move(*parsed);
  }

  void expect_all_used() const {
    if (used_ != in_.size()) throw std::invalid_argument("fields: unknown field present");
  }

 private:
  const Json& at(std::string_view name) {
    auto it = in_.find(std::string(name));
    if (it == in_.end()) bad_field(name, "missing");
    ++used_;
    return *it;
  }
  template <class T>
  static T integer(const Json& j, std::string_view name) {
    if (j.is_number_unsigned()) {
      auto v = j.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
        bad_field(name, "out of range");
      }
      return static_cast<T>(v);
    }
    if (j.is_number_integer()) {
      auto v = j.get<std::int64_t>();
      if constexpr (std::is_signed_v<T>) {
        if (v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max()) {
          return static_cast<T>(v);
        }
      } else {
        if (v >= 0 && static_cast<std::uint64_t>(v) <= std::numeric_limits<T>::max()) {
          return static_cast<T>(v);
        }
      }
      bad_field(name, "out of range");
    }
    bad_field(name, "not an integer");
  }

  const Json& in_;
  std::size_t used_ = 0;
};

template <std::size_t I = 0>
AnyMessage from_fields_at(std::uint8_t kind_number, const Json& fields) {
  if constexpr (I == std::variant_size_v<AnyMessage>) {
    throw std::invalid_argument("unknown kind number " + std::to_string(kind_number));
  } else {
    using M = std::variant_alternative_t<I, AnyMessage>;
    if (static_cast<std::uint8_t>(M::kKind) != kind_number) {
      return from_fields_at<I + 1>(kind_number, fields);
    }
    M message;
    FromJson reader(fields);
    M::visit(message, reader);
    if constexpr (std::is_same_v<M, VsStart>) reader.field(message.rules_version, "rules_version");
    reader.expect_all_used();
    return message;
  }
}

std::string_view direction_name(chains::Direction direction) {
  switch (direction) {
    case chains::Direction::kReceived:
      return "received";
    case chains::Direction::kIssued:
      return "issued";
  }
  return "unknown";
}

Json hex_list(std::span<const Hash32> hashes) {
  Json out = Json::array();
  for (const auto& h : hashes) out.push_back(to_hex(h));
  return out;
}

}  // namespace

// ---- Public interface --------------------------------------------------------------------------

Hash32 labelled(std::string_view label) { return crypto::sha256(as_bytes(label)); }

Keys::Keys() {
  for (std::string_view name :
       {"vs", "gs identity", "gs session", "client", "client 2", "vs node b"}) {
    std::string label = std::string(kKeySeedPrefix) + std::string(name);
    auto key = crypto::SecretKey::from_seed(labelled(label));
    keys_.push_back(NamedKey{std::string(name), std::move(label), std::move(key)});
  }
}

std::string Keys::name_of(const crypto::PublicKey& key) const {
  for (const auto& k : keys_) {
    if (k.key.public_key() == key) return k.name;
  }
  return {};
}

std::vector<SampleMessage> earlier_encodings(const Keys& keys) {
  Session s = build_session(keys);
  VsStart start = s.vs_start;
  start.rules_version = 1;
  sign_and_encode(start, {&keys.vs()});
  return {
      {"VS: the same start as an earlier VS wrote it, before rules versions: version 1, "
       "which says rules version 1",
       start,
       {keys.vs().public_key()}}};
}

std::vector<SampleMessage> sample_messages(const Keys& keys) {
  Session s = build_session(keys);
  const auto vs = keys.vs().public_key();
  const auto gs_identity = keys.gs_identity().public_key();
  const auto gs_session = keys.gs_session().public_key();
  const auto client = keys.client().public_key();
  std::vector<SampleMessage> out;
  out.push_back({"VS to GS: the challenge a joining GS must sign", s.challenge, {}});
  out.push_back(
      {"GS to VS: join with the challenge above, signed by the identity key and then "
       "the session key",
       s.join_request,
       {gs_identity, gs_session}});
  out.push_back({"VS to GS: accepts the JoinRequest above; its hash anchors the ticket chain",
                 s.join_accept,
                 {vs}});
  out.push_back(
      {"VS to GS: refuses a replay of the same JoinRequest (UTF-8 detail)", s.join_reject, {vs}});
  out.push_back({"GS to VS: heartbeat after the three receipts of chains.json receipt_tip",
                 s.heartbeat,
                 {gs_session}});
  out.push_back({"GS to VS: digest 1 of chains.json, carrying the inputs_hash chain",
                 s.digests[0],
                 {gs_session}});
  out.push_back({"GS to VS: the batch of chains.json client_binding", s.nonce_batch, {gs_session}});
  out.push_back({"VS to GS: receipt 1 of chains.json receipt_tip", s.receipts[0], {vs}});
  out.push_back(
      {"VS to GS: ticket 1 of chains.json tickets, binding the nonce batch", s.tickets[0], {vs}});
  out.push_back(
      {"VS: checkpoint over the four entries of chains.json log_entries", s.checkpoint, {vs}});
  out.push_back({"VS: revocation citing the log positions of two digests", s.revocation, {vs}});
  out.push_back({"client to GS: hello with a fresh nonce, signing the GS's challenge",
                 s.client_hello,
                 {client}});
  out.push_back(
      {"GS to client: answers the hello, embeds the JoinAccept, signed by the session key",
       s.server_hello,
       {gs_session}});
  out.push_back({"GS to client: ticket 1 with the proof for the client's nonce (leaf 2)",
                 s.ticket_forward,
                 {}});
  out.push_back(
      {"client to GS: the client's nonce for the next batch (leaf 2)", s.client_nonce, {}});
  out.push_back({"client to GS: input 1 of chains.json inputs_hash", s.inputs[0], {client}});
  out.push_back(
      {"GS to client: refuses a later input bound to an expired ticket", s.input_reject, {}});
  out.push_back(
      {"GS to client: the first frame, a challenge the ClientHello signs", s.client_challenge, {}});
  out.push_back({"GS to VS: leaves cleanly after the heartbeat, with the same receipt state",
                 s.gs_leaving,
                 {gs_session}});
  out.push_back(
      {"GS to VS: after a VS restart, resumes the session with the heartbeat's receipt "
       "state and its last ticket, signing the new connection's challenge",
       s.gs_resume,
       {gs_session}});
  out.push_back({"VS to GS: accepts the resume above; tickets go on from its ticket_seq",
                 s.resume_accept,
                 {vs}});
  out.push_back(
      {"VS: the first entry of a new run, suspending live sessions for 10 s; its rules "
       "version makes it version 2",
       s.vs_start,
       {vs}});
  out.push_back(
      {"VS: the policy in force from the new run's start on, logged after its VsStart: "
       "the session's identity and build, on the terms of its JoinAccept",
       s.policy_applied,
       {vs}});
  out.push_back(
      {"VS: the operator's pardon of the GS identity the speed revocation quarantined, "
       "citing that revocation's log position",
       s.pardon,
       {vs}});
  out.push_back(
      {"VS node b: takes the session up from node vs, which died after the heartbeat: its "
       "JoinAccept, three receipts and tickets, and both players' last positions",
       s.session_adopted,
       {keys.vs_node_b().public_key()}});
  out.push_back(
      {"VS: what a start reads, carried forward in one part: the quarantine the speed "
       "revocation began, the highest numbers and the policy in force",
       s.state_carried,
       {vs}});
  return out;
}

Json keys_json(const Keys& keys) {
  Json out = Json::array();
  for (const auto& k : keys.all()) {
    auto seed = k.key.seed();
    out.push_back({{"name", k.name},
                   {"seed_label", k.seed_label},
                   {"seed_hex", to_hex(seed)},
                   {"public_key_hex", to_hex(k.key.public_key())}});
    crypto::wipe(seed.bytes);
  }
  return out;
}

Json messages_document(const Keys& keys) {
  Json doc = Json::object();
  doc["description"] =
      "One signed sample of every message kind as this build writes it (version 1; version 2 "
      "for the VsStart, which names its rules version), and in earlier_encodings what earlier "
      "builds wrote and this one still reads. Generated by tests/vectors/gen_vectors; "
      "normative: see tests/vectors/README.md.";
  doc["protocol_version"] = kProtocolVersion;
  doc["key_seed"] = "seed = SHA-256(seed_label); key = Ed25519 key pair from seed (RFC 8032)";
  doc["signing_input"] = "tag (ASCII) || 0x00 || encoding without the signatures";
  doc["message_hash"] = "SHA-256(encoding), signatures included";
  doc["keys"] = keys_json(keys);
  const auto sample_json = [&keys](const SampleMessage& sample) {
    const Bytes encoding = encode_any(sample.message);
    Json m = Json::object();
    m["kind"] = kind_name(sample.message);
    m["kind_number"] = static_cast<std::uint8_t>(kind_of(sample.message));
    m["description"] = sample.description;
    m["fields"] = fields_to_json(sample.message);
    m["encoding_hex"] = to_hex(encoding);
    Json signatures = Json::array();
    const auto tags = signature_tags(sample.message);
    const auto inputs = signing_inputs(sample.message);
    const auto sigs = signatures_of(sample.message);
    for (std::size_t i = 0; i < tags.size(); ++i) {
      signatures.push_back({{"tag", tags[i]},
                            {"signer", keys.name_of(sample.signers.at(i))},
                            {"signer_public_key_hex", to_hex(sample.signers.at(i))},
                            {"signing_input_hex", to_hex(inputs[i])},
                            {"signature_hex", to_hex(sigs[i])}});
    }
    m["signatures"] = std::move(signatures);
    m["message_hash_hex"] = to_hex(chains::message_hash(encoding));
    return m;
  };
  Json messages = Json::array();
  for (const auto& sample : sample_messages(keys)) messages.push_back(sample_json(sample));
  doc["messages"] = std::move(messages);
  Json earlier = Json::array();
  for (const auto& sample : earlier_encodings(keys)) earlier.push_back(sample_json(sample));
  doc["earlier_encodings"] = std::move(earlier);
  return doc;
}

Json chains_document(const Keys& keys) {
  Session s = build_session(keys);
  Json doc = Json::object();
  doc["description"] =
      "Worked examples of the hash chains of protocol/chains.h and of client_binding "
      "(protocol/merkle.h), from the sample session of messages.json. Generated by "
      "tests/vectors/gen_vectors; normative: see tests/vectors/README.md.";
  doc["keys"] = keys_json(keys);

  {
    Json c = Json::object();
    c["formula"] =
        "tip[0] = 32 zero bytes; tip[n] = SHA-256(\"gsvs/v1/receipt_tip\" || 0x00 || "
        "session_id u64le || n u64le || tip[n-1] || digest_hash[n]); digest_hash = "
        "SHA-256(TranscriptDigest encoding)";
    c["session_id"] = kSessionId;
    c["initial_tip_hex"] = to_hex(s.receipt_tips[0]);
    Json steps = Json::array();
    for (std::size_t i = 0; i < kChainLength; ++i) {
      steps.push_back({{"receipt_index", s.receipts[i].receipt_index},
                       {"digest_hex", to_hex(s.digest_bytes[i])},
                       {"digest_hash_hex", to_hex(s.receipts[i].digest_hash)},
                       {"previous_tip_hex", to_hex(s.receipt_tips[i])},
                       {"tip_hex", to_hex(s.receipt_tips[i + 1])},
                       {"receipt_hex", to_hex(encode(s.receipts[i]))}});
    }
    c["steps"] = std::move(steps);
    doc["receipt_tip"] = std::move(c);
  }
  {
    Json c = Json::object();
    c["formula"] =
        "h[0] = 32 zero bytes; h[n] = SHA-256(\"gsvs/v1/inputs\" || 0x00 || h[n-1] || "
        "SHA-256(client_input[n] encoding)); the last value is digest 1's inputs_hash";
    c["initial_hex"] = to_hex(s.inputs_hash[0]);
    Json steps = Json::array();
    for (std::size_t i = 0; i < kChainLength; ++i) {
      steps.push_back({{"client_input_hex", to_hex(s.input_bytes[i])},
                       {"client_input_hash_hex", to_hex(crypto::sha256(s.input_bytes[i]))},
                       {"previous_hex", to_hex(s.inputs_hash[i])},
                       {"inputs_hash_hex", to_hex(s.inputs_hash[i + 1])}});
    }
    c["steps"] = std::move(steps);
    doc["inputs_hash"] = std::move(c);
  }
  {
    Json c = Json::object();
    c["formula"] =
        "SHA-256(\"gsvs/v1/log_entry\" || 0x00 || seq u64le || kind u8 || direction u8 || "
        "session_id u64le || vs_time_ms u64le || prev_entry_hash || length u32le || message); "
        "prev_entry_hash of entry 0 is 32 zero bytes; direction: 1 received, 2 issued";
    Json entries = Json::array();
    std::vector<Hash32> leaves;
    for (const auto& row : s.log) {
      entries.push_back({{"seq", row.header.seq},
                         {"kind", protocol::kind_name(row.header.kind)},
                         {"kind_number", static_cast<std::uint8_t>(row.header.kind)},
                         {"direction", direction_name(row.header.direction)},
                         {"direction_number", static_cast<std::uint8_t>(row.header.direction)},
                         {"session_id", row.header.session_id},
                         {"vs_time_ms", row.header.vs_time_ms},
                         {"prev_entry_hash_hex", to_hex(row.header.prev_entry_hash)},
                         {"message_hex", to_hex(row.message)},
                         {"entry_hash_hex", to_hex(row.entry_hash)}});
      leaves.push_back(row.entry_hash);
    }
    c["entries"] = std::move(entries);
    c["checkpoint"] = {{"log_size", s.checkpoint.log_size},
                       {"root_hex", to_hex(s.checkpoint.root)},
                       {"rule", "RFC 9162 Merkle tree over the entry hashes as leaf inputs"},
                       {"checkpoint_hex", to_hex(encode(s.checkpoint))}};
    doc["log_entries"] = std::move(c);
  }
  {
    Json c = Json::object();
    c["formula"] =
        "prev_ticket_hash of ticket 1 = SHA-256(JoinAccept encoding); of ticket n > 1 = "
        "SHA-256(ticket n-1 encoding)";
    c["join_accept_hex"] = to_hex(encode(s.join_accept));
    c["join_accept_hash_hex"] = to_hex(chains::message_hash(encode(s.join_accept)));
    Json tickets = Json::array();
    for (std::size_t i = 0; i < kChainLength; ++i) {
      tickets.push_back({{"ticket_seq", s.tickets[i].ticket_seq},
                         {"prev_ticket_hash_hex", to_hex(s.tickets[i].prev_ticket_hash)},
                         {"ticket_hex", to_hex(s.ticket_bytes[i])},
                         {"ticket_hash_hex", to_hex(chains::message_hash(s.ticket_bytes[i]))}});
    }
    c["tickets"] = std::move(tickets);
    doc["tickets"] = std::move(c);
  }
  {
    Json c = Json::object();
    c["formula"] =
        "RFC 9162 Merkle tree with each 32-byte nonce as one leaf input: leaf = SHA-256(0x00 || "
        "nonce), node = SHA-256(0x01 || left || right); proofs bottom-up";
    c["nonces_hex"] = hex_list(s.nonces);
    std::vector<Hash32> leaves;
    for (const auto& n : s.nonces) leaves.push_back(merkle::leaf_hash(n.view()));
    c["leaf_hashes_hex"] = hex_list(leaves);
    c["root_hex"] = to_hex(client_binding::root(s.nonces));
    c["empty_batch_root_hex"] = to_hex(client_binding::root({}));
    Json proofs = Json::array();
    for (std::uint32_t i = 0; i < s.nonces.size(); ++i) {
      proofs.push_back({{"index", i},
                        {"nonce_hex", to_hex(s.nonces[i])},
                        {"proof_hex", hex_list(client_binding::proof(s.nonces, i))}});
    }
    c["proofs"] = std::move(proofs);
    doc["client_binding"] = std::move(c);
  }
  {
    // The three receipts above, signed as one batch (PROTOCOL.md §5.11.1).
    std::vector<ProtectedReceipt> batch(s.receipts.begin(), s.receipts.end());
    sign_receipt_batch(batch, keys.vs());
    std::vector<Hash32> leaves;
    Json receipts = Json::array();
    for (const auto& r : batch) {
      const Bytes bytes = encode(r);
      Bytes leaf_input(ProtectedReceipt::kBatchLeafTag.begin(),
                       ProtectedReceipt::kBatchLeafTag.end());
      leaf_input.push_back(0);
      leaf_input.insert(leaf_input.end(), bytes.begin(), bytes.begin() + 106);
      leaves.push_back(merkle::leaf_hash(leaf_input));
      receipts.push_back({{"leaf_index", r.batch->leaf_index},
                          {"leaf_input_hex", to_hex(leaf_input)},
                          {"leaf_hash_hex", to_hex(leaves.back())},
                          {"proof_hex", hex_list(r.batch->proof)},
                          {"receipt_hex", to_hex(bytes)}});
    }
    const Hash32 root = merkle::root(leaves);
    Bytes statement(ProtectedReceipt::kBatchStatementTag.begin(),
                    ProtectedReceipt::kBatchStatementTag.end());
    statement.push_back(0);
    statement.insert(statement.end(), root.bytes.begin(), root.bytes.end());
    const auto count = static_cast<std::uint32_t>(batch.size());
    for (int shift = 0; shift < 32; shift += 8) {
      statement.push_back(static_cast<std::uint8_t>(count >> shift));
    }
    Json c = Json::object();
    c["formula"] =
        "leaf input = \"gsvs/v2/protected_receipt\" || 0x00 || the version-2 receipt's bytes "
        "[0, 106); RFC 9162 tree over the leaves in batch order; the one signature signs "
        "\"gsvs/v2/receipt_batch\" || 0x00 || root || leaf_count u32le; each receipt carries "
        "leaf_index u32le || leaf_count u32le || proof (u16 count || hashes) before it";
    c["leaf_count"] = count;
    c["receipts"] = std::move(receipts);
    c["root_hex"] = to_hex(root);
    c["statement_hex"] = to_hex(statement);
    c["signature_hex"] = to_hex(batch.front().signatures[0]);
    doc["receipt_batch"] = std::move(c);
  }
  return doc;
}

Json fields_to_json(const AnyMessage& message) {
  return std::visit(
      [](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        ToJson writer;
        M::visit(m, writer);
        // A field past the others, in version 2 (PROTOCOL.md §5.25); 1 is version 1, without it.
        if constexpr (std::is_same_v<M, VsStart>) writer.out["rules_version"] = m.rules_version;
        return std::move(writer.out);
      },
      message);
}

AnyMessage message_from_fields(std::uint8_t kind_number, const Json& fields) {
  return from_fields_at(kind_number, fields);
}

Json load_vectors_file(std::string_view name) {
  const char* root = std::getenv("GSVS_SOURCE_DIR");
  const std::filesystem::path base = root != nullptr && *root != '\0'
                                         ? std::filesystem::path(root)
                                         : std::filesystem::current_path();
  const auto path = base / "tests" / "vectors" / name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string() + " (set GSVS_SOURCE_DIR)");
  return Json::parse(in);
}

Bytes bytes_from_hex(const Json& hex) {
  auto bytes = hex.is_string() ? from_hex(hex.get<std::string>()) : std::nullopt;
  if (!bytes) throw std::invalid_argument("not hex: " + hex.dump());
  return *bytes;
}

std::string_view kind_name(const AnyMessage& message) {
  return protocol::kind_name(kind_of(message));
}

std::vector<Bytes> signing_inputs(const AnyMessage& message) {
  return std::visit(
      [](const auto& m) {
        std::vector<Bytes> out;
        for (std::size_t i = 0; i < m.signatures.size(); ++i) out.push_back(signing_input(m, i));
        return out;
      },
      message);
}

std::vector<crypto::Signature> signatures_of(const AnyMessage& message) {
  return std::visit(
      [](const auto& m) {
        return std::vector<crypto::Signature>(m.signatures.begin(), m.signatures.end());
      },
      message);
}

std::vector<std::string_view> signature_tags(const AnyMessage& message) {
  return std::visit(
      [](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        return std::vector<std::string_view>(M::kSignatureTags.begin(), M::kSignatureTags.end());
      },
      message);
}

}  // namespace gsvs::test_samples
