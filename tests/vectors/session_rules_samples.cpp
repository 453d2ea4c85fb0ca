#include "tests/vectors/session_rules_samples.h"

#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/chains.h"

namespace gsvs::test_samples {

using namespace protocol;  // NOLINT(google-build-using-namespace): every message type is used

namespace {

// ---- Replaying one message ---------------------------------------------------------------------

template <class M>
M decode_signed(const Bytes& bytes, const crypto::PublicKey& key, std::string_view what) {
  auto decoded = decode<M>(bytes);
  if (!decoded) throw std::invalid_argument(std::string(what) + ": " + decoded.error());
  if (!verify(*decoded, key)) {
    throw std::invalid_argument(std::string(what) + " does not verify under the VS key");
  }
  return std::move(decoded).value();
}

rules::SessionStart start_from(const Bytes& join_accept, std::uint64_t position,
                               std::uint64_t vs_time_ms, const crypto::PublicKey& vs_key) {
  rules::SessionStart start;
  start.accept = decode_signed<JoinAccept>(join_accept, vs_key, "join_accept");
  start.accept_position = position;
  start.accept_vs_ms = vs_time_ms;
  start.accept_hash = chains::message_hash(join_accept);
  return start;
}

// As vsd checks it: only session traffic can verify under the session key.
bool verifies_as_session_traffic(const AnyMessage& message, const PublicKey& session_key) {
  return std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, Heartbeat> || std::is_same_v<M, TranscriptDigest> ||
                      std::is_same_v<M, NonceBatch> || std::is_same_v<M, GsLeaving>) {
          return verify(m, session_key);
        } else {
          return false;
        }
      },
      message);
}

Json revocation_json(RevocationReason reason, const std::vector<std::uint64_t>& evidence) {
  return {{"reason", reason_name(reason)},
          {"reason_code", static_cast<std::uint16_t>(reason)},
          {"evidence", evidence}};
}

// Every number of a step as the rules computed it; doubles are written as the shortest decimal
// that reads back as the same IEEE 754 double.
Json step_json(const rules::MovementStep& s) {
  return {{"player", to_hex(s.player)},
          {"spawn", s.spawn},
          {"violation", s.violation},
          {"from_seq", s.from_log_seq},
          {"to_seq", s.to_log_seq},
          {"from_x_mm", s.from_x_mm},
          {"from_y_mm", s.from_y_mm},
          {"to_x_mm", s.to_x_mm},
          {"to_y_mm", s.to_y_mm},
          {"distance_mm", s.distance_mm},
          {"elapsed_gs_ms", s.elapsed_gs_ms},
          {"elapsed_vs_ms", s.elapsed_vs_ms},
          {"elapsed_credited_ms", s.elapsed_credited_ms},
          {"elapsed_used_ms", s.elapsed_used_ms},
          {"elapsed_paced_ms", s.elapsed_paced_ms},
          {"speed_mm_s", s.speed_mm_s},
          {"allowed_mm", s.allowed_mm},
          {"excess_mm", s.excess_mm},
          {"accumulated_excess_mm", s.accumulated_excess_mm},
          {"accumulated_paced_excess_mm", s.accumulated_paced_excess_mm},
          {"late", s.late}};
}

// Where the session ends: a refusal, or an accepted GsLeaving answered with gs_left.
Json outcome_json(const rules::Judgement& j, std::uint64_t position, Json& event) {
  if (const auto reason = rules::reason_for(j.verdict)) {
    event["verdict"] = reason_name(*reason);
    return revocation_json(*reason, j.evidence(position));
  }
  if (j.verdict != rules::Verdict::kAccepted) {
    throw std::invalid_argument("a message after the session's revocation: cases end there");
  }
  event["verdict"] = "accepted";
  if (j.leaves) return revocation_json(RevocationReason::kGsLeft, {position});
  return nullptr;
}

}  // namespace

CaseReplay::CaseReplay(const Bytes& join_accept, std::uint64_t position, std::uint64_t vs_time_ms,
                       const crypto::PublicKey& vs_key)
    : join_accept_(join_accept),
      join_position_(position),
      vs_key_(vs_key),
      rules_(start_from(join_accept, position, vs_time_ms, vs_key)) {}

Json CaseReplay::join_accept_event() const {
  return {{"position", join_position_},
          {"vs_time_ms", rules_.start().accept_vs_ms},
          {"message_hex", to_hex(join_accept_)},
          {"message_hash", to_hex(rules_.start().accept_hash)},
          {"fields", fields_to_json(AnyMessage(rules_.accept()))}};
}

Json CaseReplay::receive(const Bytes& frame, std::uint64_t position, std::uint64_t vs_time_ms) {
  if (receipt_due_) throw std::invalid_argument("the receipt of the last digest is missing");
  const auto kind = peek_kind(frame);
  if (!kind) throw std::invalid_argument("a frame without a kind never reaches the rules");
  const auto message = decode_any(frame);
  const bool signature_valid =
      message && verifies_as_session_traffic(*message, rules_.accept().session_key);
  const rules::Received received{message ? &*message : nullptr,
                                 message ? std::string_view() : message.error(),
                                 kind_name(*kind),
                                 signature_valid,
                                 position,
                                 vs_time_ms};
  const rules::Judgement j = rules_.judge(received);
  Json event = {{"event", "receive"},
                {"position", position},
                {"vs_time_ms", vs_time_ms},
                {"kind", kind_name(*kind)},
                {"message_hex", to_hex(frame)},
                {"decodes", message.ok()},
                {"signature_verifies_under_session_key", signature_valid}};
  Json revocation = outcome_json(j, position, event);
  const auto* digest = message ? std::get_if<TranscriptDigest>(&*message) : nullptr;
  if (digest != nullptr && (j.accepted() || j.verdict == rules::Verdict::kSpeedViolation ||
                            j.verdict == rules::Verdict::kDigestsLate)) {
    Json steps = Json::array();
    for (const auto& step : j.steps) steps.push_back(step_json(step));
    event["movement_steps"] = std::move(steps);
  }
  if (message && std::holds_alternative<NonceBatch>(*message) && j.accepted()) {
    event["nonces_waiting"] = rules_.pending_nonces().size();
  }
  event["revocation"] = std::move(revocation);
  if (!event["revocation"].is_null()) {
    rules_.end();
  } else if (digest != nullptr) {
    due_digest_hash_ = chains::message_hash(frame);
    receipt_due_ = rules_.next_receipt(due_digest_hash_);
    due_gs_counter_ = digest->gs_counter;
    due_position_ = position;
    due_vs_time_ms_ = vs_time_ms;
  }
  return event;
}

std::optional<rules::ReceiptTerms> CaseReplay::receipt_due() const { return receipt_due_; }

Json CaseReplay::receipt(const Bytes& receipt, std::uint64_t position) {
  if (!receipt_due_) throw std::invalid_argument("no receipt is due");
  const auto r = decode_signed<ProtectedReceipt>(receipt, vs_key_, "receipt");
  if (r.session_id != rules_.accept().session_id || r.gs_counter != due_gs_counter_ ||
      r.digest_hash != due_digest_hash_ || r.digest_log_seq != due_position_ ||
      r.vs_time_ms != due_vs_time_ms_ || r.receipt_index != receipt_due_->index ||
      r.receipt_tip != receipt_due_->tip) {
    throw std::invalid_argument("the receipt is not the one the rules call for");
  }
  rules_.receipt_issued(*receipt_due_);
  receipt_due_.reset();
  return {{"position", position},
          {"message_hex", to_hex(receipt)},
          {"fields", fields_to_json(AnyMessage(r))}};
}

Json CaseReplay::ticket(const Bytes& ticket, std::uint64_t position) {
  const auto t = decode_signed<PlayTicket>(ticket, vs_key_, "ticket");
  PlayTicket expected = rules_.next_ticket(t.issued_ms);
  expected.signatures = t.signatures;
  if (encode(t) != encode(expected))
    throw std::invalid_argument("the ticket is not the one the rules call for");
  rules_.ticket_issued(t.nonce_count, chains::message_hash(ticket));
  return {{"event", "ticket"},
          {"position", position},
          {"message_hex", to_hex(ticket)},
          {"fields", fields_to_json(AnyMessage(t))},
          {"nonces_waiting", rules_.pending_nonces().size()}};
}

Json CaseReplay::liveness_check(std::uint64_t now_ms) {
  const rules::Judgement j = rules_.check_deadlines(now_ms);
  const auto digest_deadline = rules_.digest_deadline_ms();
  Json event = {{"event", "liveness_check"},
                {"vs_time_ms", now_ms},
                {"heartbeat_deadline_ms", rules_.heartbeat_deadline_ms()},
                {"digest_deadline_ms", digest_deadline ? Json(*digest_deadline) : Json(nullptr)}};
  event["revocation"] = outcome_json(j, 0, event);
  if (!event["revocation"].is_null()) rules_.end();
  return event;
}

namespace {

// ---- The cases -------------------------------------------------------------------------------

// Below 2^53, distinct bytes in every position.
constexpr SessionId kSessionId = 0x0012345678abcdef;
constexpr std::uint64_t kJoinVsMs = 1700000100000;
// The GS clock runs ahead of the VS clock: only differences of gs_time_ms count.
constexpr std::uint64_t kJoinGsMs = kJoinVsMs + 37;
constexpr std::uint64_t kJoinAcceptPosition = 1;  // the JoinRequest is entry 0
constexpr std::uint32_t kHeartbeatTimeoutMs = 2000;
constexpr std::uint32_t kDigestTimeoutMs = 5000;

crypto::PublicKey player(int n) {
  return crypto::SecretKey::from_seed(
             labelled(std::string(kKeySeedPrefix) + "player " + std::to_string(n)))
      .public_key();
}

PlayerPosition at(int n, std::int32_t x_mm, std::int32_t y_mm = 0, std::uint8_t flags = 0) {
  return PlayerPosition{player(n), x_mm, y_mm, flags};
}

JoinAccept base_accept(const Keys& keys) {
  JoinAccept a;
  a.session_id = kSessionId;
  a.gs_identity = keys.gs_identity().public_key();
  a.session_key = keys.gs_session().public_key();
  a.sw_hash = labelled("gsvs test vector: gs build");
  a.join_request_hash = labelled("gsvs test vector: session rules join request");
  a.vs_time_ms = kJoinVsMs;
  a.heartbeat_interval_ms = 500;
  a.heartbeat_timeout_ms = kHeartbeatTimeoutMs;
  a.ticket_period_ms = 1000;
  a.ticket_validity_ms = 2000;
  a.max_speed_mm_s = 7000;
  a.speed_tolerance_ppm = 100000;
  a.jitter_allowance_ms = 250;
  a.excess_decay_ppm = 900000;
  a.max_excess_mm = 1000;
  a.spawn_min_interval_ms = 5000;
  a.max_players_per_session = 3;
  a.max_receipt_lag = 2;
  a.digest_timeout_ms = kDigestTimeoutMs;
  return a;
}

template <class M>
Bytes signed_by(M message, const crypto::SecretKey& key) {
  sign(message, key);
  return encode(message);
}

// Builds one case in log order: each message gets the next log position, and each receipt or
// ticket the VS issues takes the position after it. Times are ms after the JoinAccept.
class CaseBuilder {
 public:
  CaseBuilder(const Keys& keys, std::string name, std::string rule, std::string description,
              const std::function<void(JoinAccept&)>& edit = {})
      : keys_(keys),
        accept_(make_accept(keys, edit)),
        replay_(signed_by(accept_, keys.vs()), kJoinAcceptPosition, kJoinVsMs,
                keys.vs().public_key()) {
    case_ = {{"name", std::move(name)},
             {"rule", std::move(rule)},
             {"description", std::move(description)},
             {"join_accept", replay_.join_accept_event()},
             {"events", Json::array()}};
  }

  Heartbeat heartbeat(std::uint64_t counter, std::uint64_t at_ms,
                      std::uint64_t receipts = 0) const {
    Heartbeat hb;
    hb.session_id = kSessionId;
    hb.gs_counter = counter;
    hb.gs_time_ms = kJoinGsMs + at_ms;
    hb.sw_hash = accept_.sw_hash;
    hb.receipt_count = receipts;
    hb.receipt_tip = tips_.at(receipts);
    return hb;
  }
  GsLeaving leaving(std::uint64_t counter, std::uint64_t at_ms, std::uint64_t receipts) const {
    GsLeaving l;
    l.session_id = kSessionId;
    l.gs_counter = counter;
    l.gs_time_ms = kJoinGsMs + at_ms;
    l.receipt_count = receipts;
    l.receipt_tip = tips_.at(receipts);
    return l;
  }
  static TranscriptDigest digest(std::uint64_t counter, std::uint64_t gs_at_ms,
                                 std::vector<PlayerPosition> players) {
    TranscriptDigest d;
    d.session_id = kSessionId;
    d.gs_counter = counter;
    d.gs_time_ms = kJoinGsMs + gs_at_ms;
    d.tick = counter * 6;
    d.players = std::move(players);
    return d;
  }
  static NonceBatch nonces(std::uint64_t counter, std::uint64_t at_ms, std::size_t first,
                           std::size_t count) {
    NonceBatch b;
    b.session_id = kSessionId;
    b.gs_counter = counter;
    b.gs_time_ms = kJoinGsMs + at_ms;
    for (std::size_t i = first; i < first + count; ++i) {
      b.nonces.push_back(labelled("gsvs test vector: session rules nonce " + std::to_string(i)));
    }
    return b;
  }

  // The GS sends `message` signed by its session key (or by `signer`).
  template <class M>
  CaseBuilder& send(const M& message, std::uint64_t at_ms,
                    const crypto::SecretKey* signer = nullptr) {
    return frame(signed_by(message, signer != nullptr ? *signer : keys_.gs_session()), at_ms);
  }
  // Heartbeats and digests received at `at_ms` whose GS clock reads the same.
  CaseBuilder& send_digest(std::uint64_t counter, std::uint64_t at_ms,
                           std::vector<PlayerPosition> players) {
    return send(digest(counter, at_ms, std::move(players)), at_ms);
  }
  // A Heartbeat acknowledging `receipts` (by default every receipt issued so far).
  CaseBuilder& send_heartbeat(std::uint64_t counter, std::uint64_t at_ms,
                              std::optional<std::uint64_t> receipts = std::nullopt) {
    return send(heartbeat(counter, at_ms, receipts.value_or(tips_.size() - 1)), at_ms);
  }

  CaseBuilder& frame(const Bytes& bytes, std::uint64_t at_ms) {
    Json event = replay_.receive(bytes, next_position_++, kJoinVsMs + at_ms);
    if (const auto due = replay_.receipt_due()) {
      const auto digest = decode<TranscriptDigest>(bytes);
      ProtectedReceipt r;
      r.session_id = kSessionId;
      r.gs_counter = digest->gs_counter;
      r.digest_hash = chains::message_hash(bytes);
      r.digest_log_seq = event.at("position").get<std::uint64_t>();
      r.vs_time_ms = kJoinVsMs + at_ms;
      r.receipt_index = due->index;
      r.receipt_tip = due->tip;
      event["receipt"] = replay_.receipt(signed_by(r, keys_.vs()), next_position_++);
      tips_.push_back(due->tip);
    }
    case_["events"].push_back(std::move(event));
    return *this;
  }

  CaseBuilder& ticket(std::uint64_t at_ms) {
    const Bytes bytes = signed_by(replay_.rules().next_ticket(kJoinVsMs + at_ms), keys_.vs());
    case_["events"].push_back(replay_.ticket(bytes, next_position_++));
    return *this;
  }

  CaseBuilder& watchdog(std::uint64_t at_ms) {
    case_["events"].push_back(replay_.liveness_check(kJoinVsMs + at_ms));
    return *this;
  }

  Json done() { return std::move(case_); }

 private:
  static JoinAccept make_accept(const Keys& keys, const std::function<void(JoinAccept&)>& edit) {
    JoinAccept a = base_accept(keys);
    if (edit) edit(a);
    return a;
  }

  const Keys& keys_;
  JoinAccept accept_;
  CaseReplay replay_;
  Json case_;
  std::uint64_t next_position_ = kJoinAcceptPosition + 1;
  std::vector<Hash32> tips_{Hash32{}};  // tips_[n]: the receipt tip after n receipts
};

// The movement rule (§8.6). Most steps take 1 s on both clocks, so `allowed` is 7.7 m.
std::vector<Json> movement_cases(const Keys& keys) {
  std::vector<Json> out;
  // Long enough that no case needs a heartbeat between its digests.
  auto relaxed = [](JoinAccept& a) { a.heartbeat_timeout_ms = 10000; };
  auto exact = [](JoinAccept& a) {
    a.heartbeat_timeout_ms = 10000;
    a.speed_tolerance_ppm = 0;
  };
  auto walk = [&](std::string name, std::string description) {
    return CaseBuilder(keys, std::move(name), "§8.6 normal move", std::move(description), relaxed);
  };
  out.push_back(walk("walk_accepted",
                     "5 m diagonally in 1 s (hypot(3000, 4000)) against 7.7 m allowed; a player "
                     "standing still beside")
                    .send_digest(1, 1000, {at(1, 0), at(2, 100, 100)})
                    .send_digest(2, 2000, {at(1, 3000, 4000), at(2, 100, 100)})
                    .done());
  out.push_back(walk("teleport", "50 m in 1 s: one step's excess passes max_excess_mm")
                    .send_digest(1, 1000, {at(1, 0)})
                    .send_digest(2, 2000, {at(1, 50000)})
                    .done());
  // One player's digests, each with its GS clock reading and VS receive time apart: the elapsed
  // time rules (§8.6 "The arithmetic").
  struct Clocked {
    std::uint64_t gs_at_ms;
    std::uint64_t vs_at_ms;
    std::int32_t x_mm;
  };
  auto clocked = [&](std::string name, std::string rule, std::string description,
                     const std::vector<Clocked>& digests) {
    CaseBuilder c(keys, std::move(name), std::move(rule), std::move(description), relaxed);
    std::uint64_t counter = 0;
    for (const auto& d : digests) {
      c.send(CaseBuilder::digest(++counter, d.gs_at_ms, {at(1, d.x_mm)}), d.vs_at_ms);
    }
    return c.done();
  };
  out.push_back(clocked("inflated_gs_time", "§8.6 elapsed time used",
                        "the GS claims 60 s passed; the VS saw 0.2 s, so 0.2 s + "
                        "jitter_allowance_ms is used",
                        {{1000, 1000, 0}, {61000, 1200, 50000}}));
  out.push_back(clocked("gs_clock_goes_back", "§8.6 elapsed time used",
                        "gs_time_ms goes back: e_gs = 0, the time used is 1 ms, and 10 mm is "
                        "2.3 mm of excess (accepted)",
                        {{5000, 1000, 0}, {4000, 2000, 10}}));
  out.push_back(clocked("gs_time_inflated_at_every_digest", "§8.6 credited clock",
                        "a digest every 10 ms claiming 260 ms, the player covering 1.82 m each "
                        "(7 m/s of the claimed time): each step alone is within its VS gap + "
                        "jitter_allowance_ms, but the credited clock grants the allowance once, "
                        "and the second step is credited its 10 ms",
                        {{1000, 1000, 0}, {1260, 1010, 1820}, {1520, 1020, 3640}}));
  out.push_back(clocked(
      "bunched_digests_within_the_allowance", "§8.6 credited clock",
      "a digest every 100 ms of GS time, the third received 250 ms late and the fourth right "
      "behind it: every step is credited at least its GS time, and the player walking 7 m/s "
      "passes",
      {{1000, 1000, 0},
       {1100, 1100, 700},
       {1200, 1450, 1400},
       {1300, 1450, 2100},
       {1400, 1500, 2800}}));
  out.push_back(clocked(
      "late_digests_after_a_stalled_link", "§8.6 late digests",
      "a digest every 500 ms of GS time at 7 m/s; the link stalls and the third and fourth arrive "
      "together at 3 s: the fourth step is credited the 250 ms of allowance left, so its excess "
      "passes max_excess_mm, but the paced clock gives it its 500 ms: digests_late",
      {{1000, 1000, 0}, {1500, 1500, 3500}, {2000, 3000, 7000}, {2500, 3000, 10500}}));
  out.push_back(CaseBuilder(keys, "first_appearance_then_spawn", "§8.6 spawn",
                            "a player first seen without the spawn flag may spawn anywhere once",
                            relaxed)
                    .send_digest(1, 1000, {at(1, 0)})
                    .send_digest(2, 2000, {at(1, 50000, 0, kPlayerSpawn)})
                    .done());
  out.push_back(CaseBuilder(keys, "spawn_flag_rate_limited", "§8.6 spawn",
                            "first seen with the spawn flag at 1 s; a spawn flag at 2 s is sooner "
                            "than spawn_min_interval_ms, so the move is checked",
                            relaxed)
                    .send_digest(1, 1000, {at(1, 0, 0, kPlayerSpawn)})
                    .send_digest(2, 2000, {at(1, 50000, 0, kPlayerSpawn)})
                    .done());
  out.push_back(CaseBuilder(keys, "spawn_at_the_interval", "§8.6 spawn",
                            "a spawn exactly spawn_min_interval_ms of VS time after the last one "
                            "is accepted",
                            relaxed)
                    .send_digest(1, 1000, {at(1, 0, 0, kPlayerSpawn)})
                    .send_digest(2, 6000, {at(1, 50000, 0, kPlayerSpawn)})
                    .done());
  out.push_back(walk("excess_accumulates",
                     "two steps of 8.3 m in 1 s: 600 mm of excess each; 600 * 0.9 + 600 passes "
                     "1000 mm")
                    .send_digest(1, 1000, {at(1, 0)})
                    .send_digest(2, 2000, {at(1, 8300)})
                    .send_digest(3, 3000, {at(1, 16600)})
                    .done());
  out.push_back(
      walk("excess_decays",
           "600 mm of excess, three still steps (the excess decays at each), then 500 mm: "
           "accepted")
          .send_digest(1, 1000, {at(1, 0)})
          .send_digest(2, 2000, {at(1, 8300)})
          .send_digest(3, 3000, {at(1, 8300)})
          .send_digest(4, 4000, {at(1, 8300)})
          .send_digest(5, 5000, {at(1, 8300)})
          .send_digest(6, 6000, {at(1, 16500)})
          .done());
  out.push_back(walk("spawn_keeps_the_excess",
                     "600 mm of excess, an accepted spawn (the excess is kept, not decayed), then "
                     "600 mm again: 600 * 0.9 + 600 passes 1000 mm")
                    .send_digest(1, 1000, {at(1, 0)})
                    .send_digest(2, 2000, {at(1, 8300)})
                    .send_digest(3, 2500, {at(1, -40000, 0, kPlayerSpawn)})
                    .send_digest(4, 3500, {at(1, -31700)})
                    .done());
  out.push_back(CaseBuilder(keys, "excess_at_the_limit", "§8.6 violation",
                            "tolerance 0: 8 m in 1 s is exactly 1000 mm of excess, which is not "
                            "over max_excess_mm",
                            exact)
                    .send_digest(1, 1000, {at(1, 0)})
                    .send_digest(2, 2000, {at(1, 8000)})
                    .done());
  out.push_back(CaseBuilder(keys, "excess_just_over_the_limit", "§8.6 violation",
                            "tolerance 0: 8.001 m in 1 s is 1001 mm of excess", exact)
                    .send_digest(1, 1000, {at(1, 0)})
                    .send_digest(2, 2000, {at(1, 8001)})
                    .done());
  out.push_back(walk("first_crossing_entry_is_the_violation",
                     "two players cross the limit in one digest: the first entry is the "
                     "violation, the second is computed but not marked")
                    .send_digest(1, 1000, {at(2, 0), at(1, 0)})
                    .send_digest(2, 2000, {at(2, 0, 30000), at(1, 50000)})
                    .done());
  return out;
}

std::vector<Json> envelope_cases(const Keys& keys) {
  std::vector<Json> out;
  auto c = [&](std::string name, std::string rule, std::string description) {
    return CaseBuilder(keys, std::move(name), std::move(rule), std::move(description));
  };
  out.push_back(c("heartbeat_accepted", "§8.5", "two heartbeats, both accepted")
                    .send_heartbeat(1, 500)
                    .send_heartbeat(2, 1000)
                    .done());
  {
    CaseBuilder b = c("malformed_frame", "§8.5 check 1",
                      "a Heartbeat cut short by one byte: the kind byte names a kind, the frame "
                      "does not decode");
    Bytes bytes = signed_by(b.heartbeat(1, 500), keys.gs_session());
    bytes.pop_back();
    out.push_back(b.frame(bytes, 500).done());
  }
  out.push_back(c("player_named_twice_in_a_digest", "§8.5 check 1, §2.6",
                  "a signed TranscriptDigest listing player 1 twice does not decode "
                  "(non-canonical): malformed_message, citing it")
                    .send_digest(1, 500, {at(1, 0), at(2, 0), at(1, 100)})
                    .done());
  {
    CaseBuilder b = c("vs_only_kind_from_the_gs", "§8.5 check 1",
                      "the GS sends a Revocation of its own session, signed by its session key: a "
                      "kind only the VS issues");
    Revocation forged;
    forged.session_id = kSessionId;
    forged.revocation_seq = 1;
    forged.vs_time_ms = kJoinVsMs + 500;
    forged.reason = static_cast<std::uint16_t>(RevocationReason::kGsLeft);
    forged.detail = "leaving";
    forged.evidence = {kJoinAcceptPosition};
    out.push_back(b.send(forged, 500).done());
  }
  {
    CaseBuilder b = c("other_session", "§8.5 check 2", "a Heartbeat naming another session");
    Heartbeat hb = b.heartbeat(1, 500);
    hb.session_id = kSessionId + 1;
    out.push_back(b.send(hb, 500).done());
  }
  {
    CaseBuilder b = c("bad_signature", "§8.5 check 3", "a Heartbeat signed by another key");
    out.push_back(b.send(b.heartbeat(1, 500), 500, &keys.client()).done());
  }
  {
    CaseBuilder b = c("signature_before_counter", "§8.5 checks 3 and 4",
                      "a repeated gs_counter with a bad signature is a bad signature");
    b.send_heartbeat(5, 500);
    out.push_back(b.send(b.heartbeat(5, 600), 600, &keys.client()).done());
  }
  out.push_back(c("counter_equal", "§8.5 check 4", "a gs_counter equal to the last accepted")
                    .send_heartbeat(5, 500)
                    .send_heartbeat(5, 600)
                    .done());
  out.push_back(c("counter_shared_across_kinds", "§8.5 check 4",
                  "a NonceBatch with a gs_counter below the last Heartbeat's")
                    .send_heartbeat(5, 500)
                    .send(CaseBuilder::nonces(4, 600, 0, 1), 600)
                    .done());
  out.push_back(c("counter_gaps_allowed", "§8.5 check 4", "gs_counter 1, 7, 100: all accepted")
                    .send_heartbeat(1, 500)
                    .send_digest(7, 600, {at(1, 0)})
                    .send_heartbeat(100, 700, 1)
                    .done());
  out.push_back(c("heartbeat_just_before_the_deadline", "§8.5 liveness",
                  "received 1 ms before heartbeat_timeout_ms has passed")
                    .send_heartbeat(1, kHeartbeatTimeoutMs - 1)
                    .done());
  out.push_back(c("heartbeat_at_the_deadline", "§8.5 liveness",
                  "received exactly at the deadline: late, citing the JoinAccept")
                    .send_heartbeat(1, kHeartbeatTimeoutMs)
                    .done());
  out.push_back(c("deadline_runs_from_the_last_valid_heartbeat", "§8.5 liveness",
                  "a digest does not move the deadline; the late Heartbeat cites the last valid "
                  "one")
                    .send_heartbeat(1, 1500)
                    .send_digest(2, 3000, {at(1, 0)})
                    .send_heartbeat(3, 1500 + kHeartbeatTimeoutMs, 1)
                    .done());
  out.push_back(c("watchdog", "§8.5 liveness",
                  "the VS's watchdog: live 1 ms before the deadline, revoked at it")
                    .send_heartbeat(1, 1000)
                    .watchdog(1000 + kHeartbeatTimeoutMs - 1)
                    .watchdog(1000 + kHeartbeatTimeoutMs)
                    .done());
  out.push_back(c("digests_stopped", "§8.5 digests required",
                  "heartbeats go on but no digest follows one naming a player: the watchdog "
                  "finds the session live 1 ms before the digest deadline and revokes at it, "
                  "citing the digest")
                    .send_digest(1, 500, {at(1, 0)})
                    .send_heartbeat(2, 1500)
                    .send_heartbeat(3, 3000)
                    .send_heartbeat(4, 4500)
                    .watchdog(500 + kDigestTimeoutMs - 1)
                    .watchdog(500 + kDigestTimeoutMs)
                    .done());
  out.push_back(c("late_frame_after_the_digest_deadline", "§8.5 digests required",
                  "a Heartbeat received at the digest deadline is refused by check D")
                    .send_digest(1, 500, {at(1, 0)})
                    .send_heartbeat(2, 1500)
                    .send_heartbeat(3, 3000)
                    .send_heartbeat(4, 4500)
                    .send_heartbeat(5, 500 + kDigestTimeoutMs)
                    .done());
  out.push_back(c("no_digest_owed_without_players", "§8.5 digests required",
                  "the last digest names no player: heartbeats alone keep the session live past "
                  "the digest timeout")
                    .send_digest(1, 500, {at(1, 0)})
                    .send_digest(2, 1000, {})
                    .send_heartbeat(3, 1500)
                    .send_heartbeat(4, 3000)
                    .send_heartbeat(5, 4500)
                    .send_heartbeat(6, 6000)
                    .watchdog(7000)
                    .done());
  {
    CaseBuilder b = c("sw_hash_changed", "§8.5 check 5", "a Heartbeat reporting another build");
    Heartbeat hb = b.heartbeat(1, 500);
    hb.sw_hash = labelled("gsvs test vector: another gs build");
    out.push_back(b.send(hb, 500).done());
  }
  return out;
}

std::vector<Json> receipt_cases(const Keys& keys) {
  std::vector<Json> out;
  auto c = [&](std::string name, std::string description) {
    return CaseBuilder(keys, std::move(name), "§8.5 check 6", std::move(description));
  };
  out.push_back(c("tip_of_the_receipts_issued", "a Heartbeat acknowledging both receipts")
                    .send_digest(1, 100, {at(1, 0)})
                    .send_digest(2, 200, {at(1, 100)})
                    .send_heartbeat(3, 300, 2)
                    .done());
  out.push_back(c("lag_within_max_receipt_lag", "0 of 2 receipts acknowledged, max_receipt_lag 2")
                    .send_digest(1, 100, {at(1, 0)})
                    .send_digest(2, 200, {at(1, 100)})
                    .send_heartbeat(3, 300, 0)
                    .done());
  {
    CaseBuilder b = c("more_than_issued", "receipt_count 1 before any receipt was issued");
    Heartbeat hb = b.heartbeat(1, 300, 0);
    hb.receipt_count = 1;
    out.push_back(b.send(hb, 300).done());
  }
  out.push_back(c("lag_beyond_max_receipt_lag", "0 of 3 receipts acknowledged, max_receipt_lag 2")
                    .send_digest(1, 100, {at(1, 0)})
                    .send_digest(2, 200, {at(1, 100)})
                    .send_digest(3, 300, {at(1, 200)})
                    .send_heartbeat(4, 400, 0)
                    .done());
  out.push_back(c("count_went_back", "receipt_count 1, then 0")
                    .send_digest(1, 100, {at(1, 0)})
                    .send_heartbeat(2, 200, 1)
                    .send_heartbeat(3, 300, 0)
                    .done());
  {
    CaseBuilder b = c("wrong_tip", "receipt_count 1 with the tip before any receipt");
    b.send_digest(1, 100, {at(1, 0)});
    Heartbeat hb = b.heartbeat(2, 200, 0);
    hb.receipt_count = 1;
    out.push_back(b.send(hb, 200).done());
  }
  {
    CaseBuilder b(keys, "gs_leaving", "§8.5 GsLeaving",
                  "a GsLeaving acknowledging the one receipt: accepted, the session ends with "
                  "gs_left citing it");
    b.send_digest(1, 100, {at(1, 0)});
    out.push_back(b.send(b.leaving(2, 200, 1), 200).done());
  }
  {
    CaseBuilder b(keys, "gs_leaving_wrong_tip", "§8.5 GsLeaving, check 6",
                  "a GsLeaving whose receipt_tip is not the tip after its receipt_count");
    b.send_digest(1, 100, {at(1, 0)});
    GsLeaving l = b.leaving(2, 200, 1);
    l.receipt_tip = labelled("gsvs test vector: not a tip");
    out.push_back(b.send(l, 200).done());
  }
  return out;
}

std::vector<Json> player_cap_cases(const Keys& keys) {
  std::vector<Json> out;
  auto c = [&](std::string name, std::string description) {
    return CaseBuilder(keys, std::move(name), "§8.6 player cap", std::move(description));
  };
  out.push_back(c("players_up_to_the_cap", "three players, max_players_per_session 3")
                    .send_digest(1, 100, {at(1, 0), at(2, 0), at(3, 0)})
                    .done());
  out.push_back(c("one_player_over_the_cap", "players 1 and 2, then 1, 3 and 4: four in all")
                    .send_digest(1, 100, {at(1, 0), at(2, 0)})
                    .send_digest(2, 200, {at(1, 0), at(3, 0), at(4, 0)})
                    .done());
  return out;
}

std::vector<Json> ticket_cases(const Keys& keys) {
  std::vector<Json> out;
  out.push_back(CaseBuilder(keys, "tickets_bind_the_nonces", "§8.7 PlayTicket, §6.7",
                            "ticket 1 right after the join binds nothing; ticket 2 binds the "
                            "three nonces of the NonceBatch; ticket 3 nothing")
                    .ticket(0)
                    .send(CaseBuilder::nonces(1, 300, 0, 3), 300)
                    .ticket(1000)
                    .send_heartbeat(2, 1500)
                    .ticket(2000)
                    .done());
  CaseBuilder b(keys, "nonces_over_the_ticket_cap", "§8.7 PlayTicket, §6.7",
                "1023 nonces, then a batch of 3 of which one more is taken: the ticket binds "
                "kMaxNoncesPerTicket (1024) and the other two are never bound");
  std::size_t first = 0;
  std::uint64_t counter = 1;
  for (std::size_t count : {kMaxNoncesPerBatch, kMaxNoncesPerBatch, kMaxNoncesPerBatch,
                            kMaxNoncesPerBatch - 1, std::size_t{3}}) {
    b.send(CaseBuilder::nonces(counter, 100 * counter, first, count), 100 * counter);
    first += count;
    ++counter;
  }
  b.ticket(1000).send_heartbeat(counter, 1500).ticket(2000);
  out.push_back(b.done());
  return out;
}

}  // namespace

Json session_rules_document(const Keys& keys) {
  Json cases = Json::array();
  for (auto* group :
       {&envelope_cases, &receipt_cases, &player_cap_cases, &movement_cases, &ticket_cases}) {
    for (auto& c : (*group)(keys)) cases.push_back(std::move(c));
  }
  Json doc;
  doc["description"] =
      "Conformance cases of the VS's session rules (docs/PROTOCOL.md §8.5 to §8.7): each case "
      "is one session, its JoinAccept and the events in log order, with the outcome the rules "
      "compute. See tests/vectors/README.md.";
  doc["protocol_version"] = kProtocolVersion;
  doc["keys"] = keys_json(keys);
  doc["player_keys"] = "player N is the Ed25519 key whose seed is SHA-256(\"" +
                       std::string(kKeySeedPrefix) + "player N\")";
  doc["cases"] = std::move(cases);
  return doc;
}

}  // namespace gsvs::test_samples
