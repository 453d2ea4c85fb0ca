#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/crypto.h"

namespace gsvs::protocol {
namespace {

// ---- Keys and samples -------------------------------------------------------------------------

crypto::Seed seed_of(std::uint8_t fill) {
  crypto::Seed seed;
  seed.bytes.fill(fill);
  return seed;
}

struct Keys {
  crypto::SecretKey vs = crypto::SecretKey::from_seed(seed_of(0xA1));
  crypto::SecretKey gs_identity = crypto::SecretKey::from_seed(seed_of(0xA2));
  crypto::SecretKey session = crypto::SecretKey::from_seed(seed_of(0xA3));
  crypto::SecretKey client = crypto::SecretKey::from_seed(seed_of(0xA4));
  crypto::SecretKey stranger = crypto::SecretKey::from_seed(seed_of(0xA5));
};

const Keys& keys() {
  static const Keys instance;
  return instance;
}

template <class M, class... Ts>
constexpr bool kIsOneOf = (std::is_same_v<M, Ts> || ...);

template <class M>
constexpr std::size_t kSignatureCount = std::tuple_size_v<decltype(M::signatures)>;

// Who signs signature `index` of a message of kind M.
template <class M>
const crypto::SecretKey& signer(std::size_t index) {
  const Keys& k = keys();
  if constexpr (std::is_same_v<M, JoinRequest>) {
    return index == 0 ? k.gs_identity : k.session;
  } else if constexpr (kIsOneOf<M, JoinAccept, JoinReject, ProtectedReceipt, PlayTicket, Checkpoint,
                                Revocation, ResumeAccept, VsStart, PolicyApplied, Pardon,
                                SessionAdopted, StateCarried>) {
    return k.vs;
  } else if constexpr (kIsOneOf<M, Heartbeat, TranscriptDigest, NonceBatch, ServerHello, GsLeaving,
                                GsResume>) {
    return k.session;
  } else if constexpr (kIsOneOf<M, ClientHello, ClientInput>) {
    return k.client;
  } else {
    static_assert(kSignatureCount<M> == 0, "a signed kind needs a signer");
    return k.stranger;
  }
}

template <class M>
void sign_all(M& m) {
  for (std::size_t i = 0; i < kSignatureCount<M>; ++i) sign(m, signer<M>(i), i);
}

// 32 bytes first, first+1, ...: distinct for distinct `first`, never all zero.
template <std::size_t N = 32>
FixedBytes<N> filled(std::uint8_t first) {
  FixedBytes<N> out;
  for (std::size_t i = 0; i < N; ++i) out.bytes[i] = static_cast<std::uint8_t>(first + i);
  return out;
}

constexpr SessionId kSession = 0x0000'0001'0000'0007ULL;
constexpr std::uint64_t kTime = 1'700'000'000'000ULL;

template <class M>
struct Tag {};

VsChallenge build(Tag<VsChallenge>) {
  VsChallenge m;
  m.challenge = filled(0x01);
  m.vs_time_ms = kTime + 1;
  return m;
}

JoinRequest build(Tag<JoinRequest>) {
  JoinRequest m;
  m.gs_identity = keys().gs_identity.public_key();
  m.session_key = keys().session.public_key();
  m.sw_hash = filled(0x02);
  m.gs_time_ms = kTime + 2;
  m.challenge = filled(0x01);
  sign_all(m);
  return m;
}

JoinAccept build(Tag<JoinAccept>) {
  JoinAccept m;
  m.session_id = kSession;
  m.gs_identity = keys().gs_identity.public_key();
  m.session_key = keys().session.public_key();
  m.sw_hash = filled(0x02);
  m.join_request_hash = crypto::sha256(encode(build(Tag<JoinRequest>{})));
  m.vs_time_ms = kTime + 3;
  m.heartbeat_interval_ms = 1500;
  m.heartbeat_timeout_ms = 4500;
  m.ticket_period_ms = 1000;
  m.ticket_validity_ms = 2000;
  m.max_speed_mm_s = 7000;
  m.speed_tolerance_ppm = 100000;
  m.jitter_allowance_ms = 250;
  m.excess_decay_ppm = 900000;
  m.max_excess_mm = 1100;
  m.spawn_min_interval_ms = 5000;
  m.max_players_per_session = 4096;
  m.max_receipt_lag = 8;
  m.digest_timeout_ms = 6000;
  m.continuity_window_ms = 60017;
  m.spawn_zones = {
      {1, -1101, -1102, 1103, 1104}, {1, -1201, -1202, 1203, 1204}, {1, -1301, -1302, 1303, 1304}};
  sign_all(m);
  return m;
}

JoinReject build(Tag<JoinReject>) {
  JoinReject m;
  m.join_request_hash = filled(0x03);
  m.vs_time_ms = kTime + 4;
  m.reason = static_cast<std::uint16_t>(JoinRejectReason::kBadChallenge);
  // Two-, three- and four-byte UTF-8, with the last character ending the text.
  m.detail = "challenge mismatch: \xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80";
  sign_all(m);
  return m;
}

Heartbeat build(Tag<Heartbeat>) {
  Heartbeat m;
  m.session_id = kSession;
  m.gs_counter = 41;
  m.gs_time_ms = kTime + 5;
  m.sw_hash = filled(0x02);
  m.receipt_count = 3;
  m.receipt_tip = filled(0x04);
  sign_all(m);
  return m;
}

TranscriptDigest build(Tag<TranscriptDigest>) {
  TranscriptDigest m;
  m.session_id = kSession;
  m.gs_counter = 42;
  m.gs_time_ms = kTime + 6;
  m.tick = 9001;
  m.inputs_hash = filled(0x05);
  m.players = {
      {keys().client.public_key(), 1200, -3400, kPlayerSpawn},
      {filled(0x06), -56000, 78000, 0},
      {filled(0x07), std::numeric_limits<std::int32_t>::max(),
       std::numeric_limits<std::int32_t>::min(), kPlayerSpawn},
  };
  sign_all(m);
  return m;
}

NonceBatch build(Tag<NonceBatch>) {
  NonceBatch m;
  m.session_id = kSession;
  m.gs_counter = 43;
  m.gs_time_ms = kTime + 7;
  m.nonces = {filled(0x10), filled(0x30), filled(0x50), filled(0x70)};
  sign_all(m);
  return m;
}

ProtectedReceipt build(Tag<ProtectedReceipt>) {
  ProtectedReceipt m;
  m.session_id = kSession;
  m.gs_counter = 42;
  m.digest_hash = crypto::sha256(encode(build(Tag<TranscriptDigest>{})));
  m.digest_log_seq = 777;
  m.vs_time_ms = kTime + 8;
  m.receipt_index = 4;
  m.receipt_tip = filled(0x08);
  sign_all(m);
  return m;
}

PlayTicket build(Tag<PlayTicket>) {
  PlayTicket m;
  m.session_id = kSession;
  m.ticket_seq = 1;
  m.prev_ticket_hash = crypto::sha256(encode(build(Tag<JoinAccept>{})));
  m.issued_ms = kTime + 9;
  m.not_after_ms = kTime + 9 + 2000;
  m.client_binding = filled(0x09);
  m.nonce_count = 4;
  sign_all(m);
  return m;
}

Checkpoint build(Tag<Checkpoint>) {
  Checkpoint m;
  m.log_size = 1234;
  m.root = filled(0x0A);
  m.vs_time_ms = kTime + 10;
  sign_all(m);
  return m;
}

Revocation build(Tag<Revocation>) {
  Revocation m;
  m.session_id = kSession;
  m.revocation_seq = 17;
  m.vs_time_ms = kTime + 11;
  m.reason = static_cast<std::uint16_t>(RevocationReason::kSpeedViolation);
  m.detail = "player d75a98 moved 12000 mm in 250 ms (limit 8000 mm/s, tolerance 0.10)";
  m.evidence = {101, 205, 309};
  sign_all(m);
  return m;
}

ClientHello build(Tag<ClientHello>) {
  ClientHello m;
  m.client_key = keys().client.public_key();
  m.client_nonce = filled(0x0B);
  m.gs_challenge = filled(0x0C);
  m.client_time_ms = kTime + 12;
  sign_all(m);
  return m;
}

ServerHello build(Tag<ServerHello>) {
  ServerHello m;
  m.session_id = kSession;
  m.client_key = keys().client.public_key();
  m.client_nonce = filled(0x0B);
  m.gs_time_ms = kTime + 13;
  m.join_accept = encode(build(Tag<JoinAccept>{}));
  sign_all(m);
  return m;
}

TicketForward build(Tag<TicketForward>) {
  TicketForward m;
  m.ticket = encode(build(Tag<PlayTicket>{}));
  m.has_proof = 1;
  m.nonce = filled(0x10);
  m.leaf_index = 2;
  m.proof = {filled(0x20), filled(0x40), filled(0x60)};
  return m;
}

ClientNonce build(Tag<ClientNonce>) {
  ClientNonce m;
  m.nonce = filled(0x0C);
  return m;
}

ClientInput build(Tag<ClientInput>) {
  ClientInput m;
  m.client_key = keys().client.public_key();
  m.session_id = kSession;
  m.ticket_seq = 2;
  m.ticket_hash = crypto::sha256(encode(build(Tag<PlayTicket>{})));
  m.client_seq = 99;
  m.client_time_ms = kTime + 14;
  m.move_x_mm = -350;
  m.move_y_mm = 275;
  sign_all(m);
  return m;
}

InputReject build(Tag<InputReject>) {
  InputReject m;
  m.client_seq = 99;
  m.reason = static_cast<std::uint16_t>(InputRejectReason::kStaleTicket);
  m.detail = "stale ticket 1 (current 3)";
  return m;
}

ClientChallenge build(Tag<ClientChallenge>) {
  ClientChallenge m;
  m.challenge = filled(0x0D);
  return m;
}

GsLeaving build(Tag<GsLeaving>) {
  GsLeaving m;
  m.session_id = kSession;
  m.gs_counter = 42;
  m.gs_time_ms = kTime + 6;
  m.receipt_count = 3;
  m.receipt_tip = filled(0x04);
  sign_all(m);
  return m;
}

GsResume build(Tag<GsResume>) {
  GsResume m;
  m.session_id = kSession;
  m.gs_identity = keys().gs_identity.public_key();
  m.session_key = keys().session.public_key();
  m.gs_counter = 43;
  m.gs_time_ms = kTime + 7;
  m.receipt_count = 3;
  m.receipt_tip = filled(0x04);
  m.ticket_seq = 9;
  m.ticket_hash = filled(0x05);
  m.challenge = filled(0x06);
  sign_all(m);
  return m;
}

ResumeAccept build(Tag<ResumeAccept>) {
  ResumeAccept m;
  m.session_id = kSession;
  m.resume_hash = filled(0x07);
  m.gs_counter = 43;
  m.receipt_count = 3;
  m.receipt_tip = filled(0x04);
  m.ticket_seq = 9;
  m.ticket_hash = filled(0x05);
  m.vs_time_ms = kTime + 8;
  m.heartbeat_deadline_ms = kTime + 2008;
  sign_all(m);
  return m;
}

VsStart build(Tag<VsStart>) {
  VsStart m;
  m.log_size = 77;
  m.vs_time_ms = kTime + 9;
  m.resume_window_ms = 10000;
  sign_all(m);  // version 1: the generic tests read the fields' layout (VsStartRulesVersion: 2)
  return m;
}

PolicyApplied build(Tag<PolicyApplied>) {
  PolicyApplied m;
  m.policy_seq = 2;
  m.vs_time_ms = kTime + 10;
  // Ascending allowlists of three each, and no value twice (SampleIsFullyPopulated).
  m.policy.allowed_gs = {filled(0x10), filled(0x20), filled(0x30)};
  m.policy.allowed_builds = {filled(0x40), filled(0x50), filled(0x60)};
  m.policy.heartbeat_interval_ms = 501;
  m.policy.heartbeat_timeout_ms = 2002;
  m.policy.ticket_period_ms = 1003;
  m.policy.ticket_validity_ms = 2004;
  m.policy.max_receipt_lag = 9;
  m.policy.max_clock_skew_ms = 5006;
  m.policy.max_speed_mm_s = 7007;
  m.policy.speed_tolerance_ppm = 100008;
  m.policy.jitter_allowance_ms = 259;
  m.policy.excess_decay_ppm = 900010;
  m.policy.max_excess_mm = 1011;
  m.policy.spawn_min_interval_ms = 5012;
  m.policy.max_players_per_session = 4013;
  m.policy.quarantine_ms = 600014;
  m.policy.digest_timeout_ms = 5014;
  m.policy.continuity_window_ms = 60023;
  m.policy.spawn_zones = {
      {1, -2101, -2102, 2103, 2104}, {1, -2201, -2202, 2203, 2204}, {1, -2301, -2302, 2303, 2304}};
  m.policy_hash = policy_hash(m.policy);
  sign_all(m);
  return m;
}

Pardon build(Tag<Pardon>) {
  Pardon m;
  m.gs_identity = filled(0x70);
  m.vs_time_ms = kTime + 11;
  m.revocation_position = 1234;
  m.reason = "false positive: the map editor's teleport pad (ticket 77)";
  sign_all(m);
  return m;
}

StateCarried build(Tag<StateCarried>) {
  StateCarried m;
  m.log_size = 5678;
  m.vs_time_ms = kTime + 19;
  m.part = 1;
  m.parts = 3;
  m.session_id_high = kSession + 40;
  m.revocation_seq_high = 41;
  m.policy_seq = 23;
  m.policy_position = 5001;
  m.policy_hash = filled(0x90);
  m.policy_quarantine_ms = 86'400'000;
  m.quarantines = {CarriedQuarantine{filled(0x91), 17, 5, kTime - 20, 1'800'000, 1201},
                   CarriedQuarantine{filled(0x92), 18, 16, kTime - 10, 3'600'000, 1301},
                   CarriedQuarantine{filled(0x93), 19, 6, kTime - 5, 7'200'000, 1401}};
  sign_all(m);
  return m;
}

SessionAdopted build(Tag<SessionAdopted>) {
  SessionAdopted m;
  m.session_id = kSession;
  m.vs_time_ms = kTime + 12;
  m.from_vs_key = filled(0x80);
  m.from_log_size = 4321;
  m.from_log_head = filled(0x81);
  m.join_accept = encode(build(Tag<JoinAccept>{}));
  m.gs_counter = 88;
  m.receipt_count_seen = 6;
  m.receipt_count = 7;
  m.receipt_tips = {filled(0x82), filled(0x83), filled(0x88)};
  m.ticket_seq = 9;
  m.ticket_hashes = {filled(0x84), filled(0x85), filled(0x89)};
  m.pending_nonces = {filled(0x86), filled(0x8a), filled(0x8b)};
  m.players_in_play = 2;
  m.liveness_since_ms = kTime + 5;
  m.digests_since_ms = kTime + 4;
  m.positions = {AdoptedPosition{filled(0x87), -1500, 2500, kTime + 13, kTime + 14},
                 AdoptedPosition{filled(0x8c), 701, -301, kTime + 15, kTime + 16},
                 AdoptedPosition{filled(0x8d), 702, -302, kTime + 17, kTime + 18}};
  sign_all(m);
  return m;
}

template <class M>
M sample() {
  return build(Tag<M>{});
}

// ---- An independent walk over a message's fields: offsets, sizes and printable values ---------

template <class T>
struct IsFixedBytes : std::false_type {};
template <std::size_t N>
struct IsFixedBytes<FixedBytes<N>> : std::true_type {};

struct ScalarField {
  std::string name;
  std::size_t offset = 0;
  std::size_t width = 0;
  std::string value;
};

struct VarField {
  enum class Type { kList, kText, kBlob };
  std::string name;
  Type type = Type::kList;
  std::size_t offset = 0;  // of the u16 count or length
  std::size_t cap = 0;
  std::size_t size = 0;  // items or bytes
  std::size_t end = 0;   // one past the field's last byte
};

class LayoutVisitor {
 public:
  std::size_t pos = 2;  // after version and kind
  std::vector<ScalarField> scalars;
  std::vector<VarField> vars;

  template <class T>
  void field(const T& v, std::string_view name) {
    if constexpr (IsFixedBytes<T>::value) {
      scalars.push_back({prefix_ + std::string(name), pos, T::size, to_hex(v)});
      pos += T::size;
    } else {
      static_assert(std::is_integral_v<T>);
      scalars.push_back({prefix_ + std::string(name), pos, sizeof(T), std::to_string(v)});
      pos += sizeof(T);
    }
  }

  template <class T>
  void list(const std::vector<T>& items, std::size_t cap, std::string_view name) {
    VarField f{prefix_ + std::string(name), VarField::Type::kList, pos, cap, items.size(), 0};
    pos += 2;
    const std::string saved = prefix_;
    for (std::size_t i = 0; i < items.size(); ++i) {
      prefix_ = saved + std::string(name) + "[" + std::to_string(i) + "]";
      if constexpr (std::is_class_v<T> && !IsFixedBytes<T>::value) {
        prefix_ += ".";
        T::visit(items[i], *this);
      } else {
        field(items[i], "");
      }
    }
    prefix_ = saved;
    f.end = pos;
    vars.push_back(f);
  }

  void text(const std::string& s, std::size_t cap, std::string_view name) {
    sized(VarField::Type::kText, as_bytes(s), cap, name);
  }
  void blob(const Bytes& b, std::size_t cap, std::string_view name) {
    sized(VarField::Type::kBlob, b, cap, name);
  }

 private:
  void sized(VarField::Type type, ByteView data, std::size_t cap, std::string_view name) {
    VarField f{prefix_ + std::string(name), type, pos, cap, data.size(), pos + 2 + data.size()};
    scalars.push_back({f.name, pos, 2 + data.size(), to_hex(data)});
    pos = f.end;
    vars.push_back(f);
  }
  std::string prefix_;
};

template <class M>
LayoutVisitor layout(const M& m) {
  LayoutVisitor v;
  M::visit(m, v);
  return v;
}

// Every field as "name=value", then the signatures: two messages are equal iff these are.
template <class M>
std::vector<std::string> dump(const M& m) {
  std::vector<std::string> out;
  for (const auto& f : layout(m).scalars) out.push_back(f.name + "=" + f.value);
  for (const auto& sig : m.signatures) out.push_back("signature=" + to_hex(sig));
  return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

void put_u16(Bytes& bytes, std::size_t offset, std::size_t value) {
  bytes[offset] = static_cast<std::uint8_t>(value & 0xFF);
  bytes[offset + 1] = static_cast<std::uint8_t>((value >> 8) & 0xFF);
}

// Replaces the contents of a text or blob field, fixing up its length.
Bytes splice(const Bytes& bytes, const VarField& f, ByteView contents) {
  Bytes out(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(f.offset));
  out.push_back(static_cast<std::uint8_t>(contents.size() & 0xFF));
  out.push_back(static_cast<std::uint8_t>(contents.size() >> 8));
  out.insert(out.end(), contents.begin(), contents.end());
  out.insert(out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(f.end), bytes.end());
  return out;
}

// Calls f(Tag<M>{}) for every alternative of AnyMessage.
template <class F>
void for_each_kind(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(Tag<std::variant_alternative_t<I, AnyMessage>>{}), ...);
  }
  (std::make_index_sequence<std::variant_size_v<AnyMessage>>{});
}

// ---- The kinds ----------------------------------------------------------------------------------

TEST(MessageKinds, AnyMessageHoldsEveryKindInOrder) {
  ASSERT_EQ(std::variant_size_v<AnyMessage>, std::size_t{kMaxMessageKind});
  std::size_t index = 0;
  std::set<std::string_view> names;
  for_each_kind([&]<class M>(Tag<M>) {
    EXPECT_EQ(static_cast<std::size_t>(M::kKind), index + 1) << kind_name(M::kKind);
    EXPECT_NE(kind_name(M::kKind), "unknown");
    names.insert(kind_name(M::kKind));
    ++index;
  });
  EXPECT_EQ(names.size(), std::size_t{kMaxMessageKind});
  EXPECT_EQ(kind_name(static_cast<MessageKind>(0)), "unknown");
  EXPECT_EQ(kind_name(static_cast<MessageKind>(kMaxMessageKind + 1)), "unknown");
}

// Every code from 1 to the enum's last one, less the unassigned ones, is known and named, each
// name once; 0, the unassigned codes and the code after the last are unknown. A code added
// without moving kLast...Reason fails here.
template <class Reason>
void expect_known_codes_end_at(Reason last, std::uint16_t count,
                               std::span<const std::uint16_t> unassigned = {}) {
  const auto last_code = static_cast<std::uint16_t>(last);
  EXPECT_EQ(last_code, count);
  const std::set<std::uint16_t> gaps(unassigned.begin(), unassigned.end());
  std::set<std::string_view> names;
  for (std::uint16_t r = 1; r <= last_code; ++r) {
    if (gaps.contains(r)) {
      EXPECT_FALSE(is_known(static_cast<Reason>(r))) << r;
      EXPECT_EQ(reason_name(static_cast<Reason>(r)), "unknown") << r;
      continue;
    }
    EXPECT_TRUE(is_known(static_cast<Reason>(r))) << r;
    names.insert(reason_name(static_cast<Reason>(r)));
  }
  EXPECT_EQ(names.size(), std::size_t{last_code} - gaps.size());
  EXPECT_EQ(names.count("unknown"), 0u);
  for (std::uint16_t r : {std::uint16_t{0}, static_cast<std::uint16_t>(last_code + 1),
                          std::numeric_limits<std::uint16_t>::max()}) {
    EXPECT_FALSE(is_known(static_cast<Reason>(r))) << r;
    EXPECT_EQ(reason_name(static_cast<Reason>(r)), "unknown") << r;
  }
}

TEST(MessageKinds, ReasonCodesAreKnownUpToTheLastOneAndNamedOnce) {
  // The counts are those of docs/PROTOCOL.md §5.2.
  expect_known_codes_end_at(kLastJoinRejectReason, 16);
  expect_known_codes_end_at(kLastRevocationReason, 17, kUnassignedRevocationReasons);
  expect_known_codes_end_at(kLastInputRejectReason, 8);
}

// ---- Who signs what, and who sends it ----------------------------------------------------------

std::string read_protocol_md() {
  const char* root = std::getenv("GSVS_SOURCE_DIR");
  const std::filesystem::path base = root != nullptr && *root != '\0'
                                         ? std::filesystem::path(root)
                                         : std::filesystem::current_path();
  std::ifstream in(base / "docs" / "PROTOCOL.md");
  if (!in) throw std::runtime_error("cannot open docs/PROTOCOL.md (set GSVS_SOURCE_DIR)");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct SummaryRow {
  std::string name;
  std::string direction;
  std::string signed_by;
};

// The rows of the table in docs/PROTOCOL.md §5.1, by kind number.
std::map<int, SummaryRow> protocol_md_summary() {
  const std::string doc = read_protocol_md();
  const auto start = doc.find("### 5.1 Summary");
  if (start == std::string::npos) throw std::runtime_error("no §5.1 in docs/PROTOCOL.md");
  const auto end = doc.find("\n### ", start + 1);
  std::istringstream section(doc.substr(start, end - start));
  std::map<int, SummaryRow> rows;
  bool in_table = false;
  for (std::string line; std::getline(section, line);) {
    if (line.rfind('|', 0) != 0) {
      if (in_table) break;  // only the first table: the envelope's follows
      continue;
    }
    in_table = true;
    std::vector<std::string> cells;
    std::istringstream cells_in(line.substr(1));
    for (std::string cell; std::getline(cells_in, cell, '|');) {
      const auto first = cell.find_first_not_of(' ');
      const auto last = cell.find_last_not_of(' ');
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    if (cells.size() < 4 || cells[0].empty() ||
        !std::isdigit(static_cast<unsigned char>(cells[0][0]))) {
      continue;
    }
    rows[std::stoi(cells[0])] = SummaryRow{cells[1], cells[2], cells[3]};
  }
  return rows;
}

struct RoleCase {
  MessageKind kind;
  Signer signer;
  Route route;
  std::vector<SigningKey> keys;  // the key behind each signature, in order
};

// One row per kind, as docs/PROTOCOL.md §3.3 and §5.1 give them.
const std::vector<RoleCase>& role_cases() {
  using K = MessageKind;
  using S = Signer;
  using R = Route;
  using Key = SigningKey;
  static const std::vector<RoleCase> cases = {
      {K::kVsChallenge, S::kNone, R::kVsToGs, {}},
      {K::kJoinRequest, S::kGsIdentityAndSession, R::kGsToVs, {Key::kGsIdentity, Key::kGsSession}},
      {K::kJoinAccept, S::kVs, R::kVsToGs, {Key::kVs}},
      {K::kJoinReject, S::kVs, R::kVsToGs, {Key::kVs}},
      {K::kHeartbeat, S::kGsSession, R::kGsToVs, {Key::kGsSession}},
      {K::kTranscriptDigest, S::kGsSession, R::kGsToVs, {Key::kGsSession}},
      {K::kNonceBatch, S::kGsSession, R::kGsToVs, {Key::kGsSession}},
      {K::kProtectedReceipt, S::kVs, R::kVsToGs, {Key::kVs}},
      {K::kPlayTicket, S::kVs, R::kVsToGs, {Key::kVs}},
      {K::kCheckpoint, S::kVs, R::kVsToGs, {Key::kVs}},
      {K::kRevocation, S::kVs, R::kVsToGs, {Key::kVs}},
      {K::kClientHello, S::kClient, R::kClientToGs, {Key::kClient}},
      {K::kServerHello, S::kGsSession, R::kGsToClient, {Key::kGsSession}},
      {K::kTicketForward, S::kNone, R::kGsToClient, {}},
      {K::kClientNonce, S::kNone, R::kClientToGs, {}},
      {K::kClientInput, S::kClient, R::kClientToGs, {Key::kClient}},
      {K::kInputReject, S::kNone, R::kGsToClient, {}},
      {K::kClientChallenge, S::kNone, R::kGsToClient, {}},
      {K::kGsLeaving, S::kGsSession, R::kGsToVs, {Key::kGsSession}},
      {K::kGsResume, S::kGsSession, R::kGsToVs, {Key::kGsSession}},
      {K::kResumeAccept, S::kVs, R::kVsToGs, {Key::kVs}},
      {K::kVsStart, S::kVs, R::kVsLog, {Key::kVs}},
      {K::kPolicyApplied, S::kVs, R::kVsLog, {Key::kVs}},
      {K::kPardon, S::kVs, R::kVsLog, {Key::kVs}},
      {K::kSessionAdopted, S::kVs, R::kVsLog, {Key::kVs}},
      {K::kStateCarried, S::kVs, R::kVsLog, {Key::kVs}},
  };
  return cases;
}

TEST(KindRoles, EveryKindHasTheSignerAndDirectionOfTheSpec) {
  ASSERT_EQ(role_cases().size(), std::size_t{kMaxMessageKind});
  const auto doc = protocol_md_summary();
  ASSERT_EQ(doc.size(), std::size_t{kMaxMessageKind});
  for (const auto& c : role_cases()) {
    const std::string name(kind_name(c.kind));
    SCOPED_TRACE(name);
    const KindRole* role = kind_role(c.kind);
    ASSERT_NE(role, nullptr);
    EXPECT_EQ(role->kind, c.kind);
    EXPECT_EQ(role->signer, c.signer);
    EXPECT_EQ(role->route, c.route);
    ASSERT_EQ(signature_count(role->signer), c.keys.size());
    for (std::size_t i = 0; i < c.keys.size(); ++i) {
      EXPECT_EQ(signing_key(role->signer, i), c.keys[i]) << "signature " << i;
    }
    EXPECT_EQ(signature_tags(c.kind).size(), c.keys.size());
    // The spec's own words: §5.1 names the signer as describe() does, and the direction starts
    // with the first sender (a row may add where the message travels on).
    const auto row = doc.find(static_cast<int>(c.kind));
    ASSERT_NE(row, doc.end());
    EXPECT_EQ(row->second.name, name);
    EXPECT_EQ(row->second.signed_by, describe(role->signer));
    EXPECT_EQ(row->second.direction.rfind(std::string(describe(role->route)), 0), 0u)
        << row->second.direction;
    EXPECT_EQ(vs_signed(c.kind), c.signer == Signer::kVs);
    // GsResume opens a connection, as a JoinRequest does: it is not session traffic.
    EXPECT_EQ(gs_session_traffic(c.kind), c.signer == Signer::kGsSession &&
                                              c.route == Route::kGsToVs &&
                                              c.kind != MessageKind::kGsResume);
  }
}

TEST(KindRoles, TheTagsOfEveryKindAreItsMessagesTags) {
  for_each_kind([]<class M>(Tag<M>) {
    const auto tags = signature_tags(M::kKind);
    ASSERT_EQ(tags.size(), M::kSignatureTags.size()) << kind_name(M::kKind);
    for (std::size_t i = 0; i < tags.size(); ++i) EXPECT_EQ(tags[i], M::kSignatureTags[i]);
    EXPECT_EQ(signature_count(kind_role(M::kKind)->signer), M::kSignatureTags.size());
  });
}

TEST(KindRoles, ValuesThatAreNoKindHaveNoRowNoSignerAndNoTags) {
  for (int k : {0, kMaxMessageKind + 1, 255}) {
    const auto kind = static_cast<MessageKind>(k);
    EXPECT_FALSE(is_known(kind)) << k;
    EXPECT_EQ(kind_role(kind), nullptr) << k;
    EXPECT_TRUE(signature_tags(kind).empty()) << k;
    EXPECT_FALSE(vs_signed(kind)) << k;
    EXPECT_FALSE(gs_session_traffic(kind)) << k;
  }
  EXPECT_THROW((void)signing_key(Signer::kNone, 0), std::logic_error);
}

TEST(MessageKinds, PeekKind) {
  EXPECT_FALSE(peek_kind({}).ok());
  const Bytes one = {kProtocolVersion};
  auto short_input = peek_kind(one);
  ASSERT_FALSE(short_input.ok());
  EXPECT_TRUE(contains(short_input.error(), "truncated")) << short_input.error();
  for (int k = 0; k < 256; ++k) {
    const Bytes two = {kProtocolVersion, static_cast<std::uint8_t>(k)};
    auto kind = peek_kind(two);
    if (k >= 1 && k <= kMaxMessageKind) {
      ASSERT_TRUE(kind.ok()) << k << ": " << kind.error();
      EXPECT_EQ(static_cast<int>(*kind), k);
    } else {
      ASSERT_FALSE(kind.ok()) << k;
      EXPECT_TRUE(contains(kind.error(), "unknown kind")) << kind.error();
    }
  }
  const Bytes v3 = {3, 1};  // version 2 is a batched ProtectedReceipt's (receipt_batch_test.cpp)
  auto version = peek_kind(v3);
  ASSERT_FALSE(version.ok());
  EXPECT_TRUE(contains(version.error(), "version")) << version.error();
}

TEST(MessageKinds, VariableFieldsAreWhereTheGenericTestsLookForThem) {
  // The per-kind cap and UTF-8 tests walk these fields; make sure the walk finds all of them.
  std::vector<std::string> found;
  for_each_kind([&]<class M>(Tag<M>) {
    for (const auto& f : layout(sample<M>()).vars) {
      found.push_back(std::string(kind_name(M::kKind)) + "." + f.name + "/" +
                      std::to_string(f.cap));
    }
  });
  const std::vector<std::string> expected = {
      "JoinAccept.spawn_zones/64",
      "JoinReject.detail/1024",
      "TranscriptDigest.players/256",
      "NonceBatch.nonces/256",
      "Revocation.detail/1024",
      "Revocation.evidence/64",
      "ServerHello.join_accept/2048",
      "TicketForward.ticket/2048",
      "TicketForward.proof/64",
      "InputReject.detail/1024",
      "PolicyApplied.allowed_gs/60000",
      "PolicyApplied.allowed_builds/1024",
      "PolicyApplied.spawn_zones/64",
      "Pardon.reason/512",
      "SessionAdopted.join_accept/2048",
      "SessionAdopted.receipt_tips/1001",
      "SessionAdopted.ticket_hashes/1001",
      "SessionAdopted.pending_nonces/1024",
      "SessionAdopted.positions/60000",
      "StateCarried.quarantines/256",
  };
  EXPECT_EQ(found, expected);
}

// ---- Per kind: coding ---------------------------------------------------------------------------

template <class V>
struct ToTypes;
template <class... Ts>
struct ToTypes<std::variant<Ts...>> {
  using type = ::testing::Types<Ts...>;
};
using AllKinds = ToTypes<AnyMessage>::type;

struct KindNames {
  template <class M>
  static std::string GetName(int /*index*/) {
    return std::string(kind_name(M::kKind));
  }
};

template <class M>
class MessageCoding : public ::testing::Test {};
TYPED_TEST_SUITE(MessageCoding, AllKinds, KindNames);

TYPED_TEST(MessageCoding, SampleIsFullyPopulated) {
  using M = TypeParam;
  const M m = sample<M>();
  const auto fields = layout(m);
  std::set<std::string> wide_values;
  for (const auto& f : fields.scalars) {
    const bool is_flags = f.name.ends_with(".flags");
    if (!is_flags) {
      EXPECT_NE(f.value, "0") << f.name;
      EXPECT_NE(f.value, std::string(2 * f.width, '0')) << f.name;
      EXPECT_FALSE(f.value.empty()) << f.name;
    }
    if (f.width >= 2) {
      EXPECT_TRUE(wide_values.insert(f.value).second) << f.name << " repeats";
    }
  }
  for (const auto& v : fields.vars) {
    if (v.type == VarField::Type::kList) {
      EXPECT_GE(v.size, 3u) << v.name;
    }
    EXPECT_GE(v.size, 1u) << v.name;
  }
  for (const auto& sig : m.signatures) {
    EXPECT_FALSE(sig.is_zero());
  }
}

TYPED_TEST(MessageCoding, RoundTrip) {
  using M = TypeParam;
  const M m = sample<M>();
  const Bytes bytes = encode(m);
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], kProtocolVersion);
  EXPECT_EQ(bytes[1], static_cast<std::uint8_t>(M::kKind));
  EXPECT_EQ(layout(m).pos + 64 * kSignatureCount<M>, bytes.size());

  auto decoded = decode<M>(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(dump(*decoded), dump(m));
  EXPECT_EQ(decoded->signatures, m.signatures);
  EXPECT_EQ(encode(*decoded), bytes);

  auto kind = peek_kind(bytes);
  ASSERT_TRUE(kind.ok()) << kind.error();
  EXPECT_EQ(*kind, M::kKind);

  auto any = decode_any(bytes);
  ASSERT_TRUE(any.ok()) << any.error();
  ASSERT_TRUE(std::holds_alternative<M>(*any));
  EXPECT_EQ(dump(std::get<M>(*any)), dump(m));
  EXPECT_EQ(encode_any(*any), bytes);
  EXPECT_EQ(encode_any(AnyMessage{m}), bytes);
}

// kind_of, named_session and verify_signature on an AnyMessage answer as the type it holds does.
TYPED_TEST(MessageCoding, AnyMessageHelpersAnswerForTheTypeHeld) {
  using M = TypeParam;
  const M m = sample<M>();
  const AnyMessage any{m};
  EXPECT_EQ(kind_of(any), M::kKind);
  if constexpr (requires { m.session_id; }) {
    EXPECT_EQ(named_session(any), std::optional<SessionId>(m.session_id));
  } else {
    EXPECT_EQ(named_session(any), std::nullopt);
  }
  for (std::size_t i = 0; i < kSignatureCount<M>; ++i) {
    EXPECT_TRUE(verify_signature(any, signer<M>(i).public_key(), i)) << i;
    EXPECT_FALSE(verify_signature(any, keys().stranger.public_key(), i)) << i;
  }
  // An index the kind does not have is no valid signature, not an out-of-range read.
  EXPECT_FALSE(verify_signature(any, signer<M>(0).public_key(), kSignatureCount<M>));
}

TYPED_TEST(MessageCoding, DefaultMessageRoundTrips) {
  using M = TypeParam;
  M m{};
  // A PolicyApplied carries the hash of its policy, which a decoder checks.
  if constexpr (std::is_same_v<M, PolicyApplied>) m.policy_hash = policy_hash(m.policy);
  const Bytes bytes = encode(m);
  auto decoded = decode<M>(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(encode(*decoded), bytes);
}

TYPED_TEST(MessageCoding, EveryTruncationIsRejected) {
  using M = TypeParam;
  const Bytes bytes = encode(sample<M>());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const ByteView prefix = ByteView(bytes).first(n);
    auto decoded = decode<M>(prefix);
    ASSERT_FALSE(decoded.ok()) << "accepted " << n << " of " << bytes.size() << " bytes";
    EXPECT_FALSE(decoded.error().empty());
    EXPECT_TRUE(contains(decoded.error(), "truncated")) << n << ": " << decoded.error();
    if (n >= 2) {
      EXPECT_TRUE(decoded.error().starts_with(kind_name(M::kKind))) << decoded.error();
    }
    EXPECT_FALSE(decode_any(prefix).ok()) << n;
  }
}

TYPED_TEST(MessageCoding, TrailingBytesAreRejected) {
  using M = TypeParam;
  const Bytes bytes = encode(sample<M>());
  for (std::size_t extra : {1u, 2u, 64u}) {
    Bytes longer = bytes;
    longer.resize(bytes.size() + extra, 0x00);
    auto decoded = decode<M>(longer);
    ASSERT_FALSE(decoded.ok()) << extra;
    EXPECT_TRUE(contains(decoded.error(), "trailing")) << decoded.error();
    EXPECT_FALSE(decode_any(longer).ok());
  }
}

TYPED_TEST(MessageCoding, WrongVersionIsRejected) {
  using M = TypeParam;
  const Bytes bytes = encode(sample<M>());
  for (int version : {0, 1, 2, 3, 0x7F, 0x81, 0xFF}) {
    if (version == bytes[0]) continue;
    Bytes changed = bytes;
    changed[0] = static_cast<std::uint8_t>(version);
    auto decoded = decode<M>(changed);
    ASSERT_FALSE(decoded.ok()) << version;
    // The two kinds with a version 2 carry more in it (a batched receipt, a VsStart's rules
    // version): read as the other version, the bytes are truncated or trailing.
    if (kIsOneOf<M, ProtectedReceipt, VsStart> && (version == 1 || version == 2)) continue;
    EXPECT_TRUE(contains(decoded.error(), "version")) << decoded.error();
    EXPECT_FALSE(decode_any(changed).ok()) << version;
  }
}

TYPED_TEST(MessageCoding, EveryOtherKindByteIsRejected) {
  using M = TypeParam;
  const Bytes bytes = encode(sample<M>());
  for (int kind = 0; kind < 256; ++kind) {
    if (kind == static_cast<int>(M::kKind)) continue;
    Bytes changed = bytes;
    changed[1] = static_cast<std::uint8_t>(kind);
    auto decoded = decode<M>(changed);
    ASSERT_FALSE(decoded.ok()) << "kind byte " << kind;
    const bool known = kind >= 1 && kind <= kMaxMessageKind;
    EXPECT_TRUE(contains(decoded.error(), known ? "wrong kind" : "unknown kind"))
        << kind << ": " << decoded.error();
    if (!known) {
      EXPECT_FALSE(decode_any(changed).ok()) << kind;
    }
  }
}

TYPED_TEST(MessageCoding, OverLongCountsAndLengthsAreRejected) {
  using M = TypeParam;
  const M m = sample<M>();
  const Bytes bytes = encode(m);
  for (const auto& f : layout(m).vars) {
    const bool is_list = f.type == VarField::Type::kList;
    for (std::size_t value : {f.cap + 1, f.cap + 2, std::size_t{0xFFFF}}) {
      Bytes changed = bytes;
      put_u16(changed, f.offset, value);
      auto decoded = decode<M>(changed);
      ASSERT_FALSE(decoded.ok()) << f.name << " = " << value;
      const std::string& error = decoded.error();
      EXPECT_TRUE(contains(error, is_list ? "bad count" : "bad length")) << error;
      EXPECT_TRUE(contains(error, f.name)) << error;
      EXPECT_TRUE(contains(error, std::to_string(value))) << error;
      EXPECT_TRUE(contains(error, std::to_string(f.cap))) << error;
      EXPECT_FALSE(decode_any(changed).ok());
    }
    // At the cap itself the count is acceptable; the sample is just too short for it.
    Bytes at_cap = bytes;
    put_u16(at_cap, f.offset, f.cap);
    auto short_input = decode<M>(at_cap);
    ASSERT_FALSE(short_input.ok()) << f.name;
    EXPECT_TRUE(contains(short_input.error(), "truncated")) << short_input.error();
    // One more or one fewer than the real size never decodes.
    for (std::size_t value : {f.size + 1, f.size - 1}) {
      Bytes changed = bytes;
      put_u16(changed, f.offset, value);
      EXPECT_FALSE(decode<M>(changed).ok()) << f.name << " = " << value;
    }
  }
}

TYPED_TEST(MessageCoding, TextMustBeUtf8) {
  using M = TypeParam;
  const M m = sample<M>();
  const Bytes bytes = encode(m);
  const std::vector<std::string> invalid = {
      "\x80",                  // lone continuation byte
      "\xbf",                  // lone continuation byte
      "abc\x80",               // continuation byte at the end
      "\xc0\x80",              // overlong NUL
      "\xc1\xbf",              // overlong two-byte
      "\xe0\x80\x80",          // overlong three-byte
      "\xe0\x9f\xbf",          // overlong three-byte (U+07FF)
      "\xf0\x80\x80\x80",      // overlong four-byte
      "\xf0\x8f\xbf\xbf",      // overlong four-byte (U+FFFF)
      "\xed\xa0\x80",          // surrogate U+D800
      "\xed\xbf\xbf",          // surrogate U+DFFF
      "\xf4\x90\x80\x80",      // U+110000
      "\xf5\x80\x80\x80",      // lead byte past U+10FFFF
      "\xf8\x88\x80\x80\x80",  // five-byte form
      "\xfc\x84\x80\x80\x80\x80",
      "\xfe",
      "\xff",
      "\xc3",              // two-byte form cut at the end
      "ok \xe2\x82",       // three-byte form cut at the end
      "\xf0\x9f\x98",      // four-byte form cut at the end
      "\xc3\x28",          // bad continuation
      "\xe2\x28\xa1",      // bad continuation
      "\xe2\x82\x28",      // bad continuation
      "\xf0\x28\x8c\xbc",  // bad continuation
      "\xf0\x9f\x98\x28",  // bad continuation
  };
  const std::vector<std::string> valid = {
      "",
      "plain ascii",
      std::string("nul\0inside", 10),
      "\x7f",
      "\xc2\x80",          // U+0080
      "\xdf\xbf",          // U+07FF
      "\xe0\xa0\x80",      // U+0800
      "\xed\x9f\xbf",      // U+D7FF
      "\xee\x80\x80",      // U+E000
      "\xef\xbf\xbf",      // U+FFFF
      "\xf0\x90\x80\x80",  // U+10000
      "\xf4\x8f\xbf\xbf",  // U+10FFFF
      "caf\xc3\xa9",       // multi-byte at the very end
      "\xe2\x82\xac 5",
  };
  for (const auto& f : layout(m).vars) {
    if (f.type != VarField::Type::kText) continue;
    for (const auto& text : invalid) {
      auto decoded = decode<M>(splice(bytes, f, as_bytes(text)));
      ASSERT_FALSE(decoded.ok()) << f.name << ": " << to_hex(as_bytes(text));
      EXPECT_TRUE(contains(decoded.error(), "bad text")) << decoded.error();
      EXPECT_TRUE(contains(decoded.error(), "UTF-8")) << decoded.error();
      EXPECT_TRUE(contains(decoded.error(), f.name)) << decoded.error();
    }
    for (const auto& text : valid) {
      const Bytes changed = splice(bytes, f, as_bytes(text));
      auto decoded = decode<M>(changed);
      ASSERT_TRUE(decoded.ok()) << f.name << ": " << to_hex(as_bytes(text)) << ": "
                                << decoded.error();
      EXPECT_EQ(encode(*decoded), changed);
    }
    // The longest allowed text.
    const std::string longest(f.cap, 'x');
    auto decoded = decode<M>(splice(bytes, f, as_bytes(longest)));
    EXPECT_TRUE(decoded.ok()) << decoded.error();
  }
}

TYPED_TEST(MessageCoding, BlobsCarryAnyBytes) {
  using M = TypeParam;
  const M m = sample<M>();
  const Bytes bytes = encode(m);
  for (const auto& f : layout(m).vars) {
    if (f.type != VarField::Type::kBlob) continue;
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, f.cap}) {
      Bytes contents(n);
      for (std::size_t i = 0; i < n; ++i) contents[i] = static_cast<std::uint8_t>(255 - i % 256);
      const Bytes changed = splice(bytes, f, contents);
      auto decoded = decode<M>(changed);
      ASSERT_TRUE(decoded.ok()) << f.name << " " << n << ": " << decoded.error();
      EXPECT_EQ(encode(*decoded), changed);
    }
  }
}

// A decodable input has exactly one encoding: whatever decodes re-encodes to the same bytes. Also
// a smoke test that mangled input never reads out of bounds (run under the sanitizers).
TYPED_TEST(MessageCoding, MutatedInputEitherFailsOrIsCanonical) {
  using M = TypeParam;
  const Bytes bytes = encode(sample<M>());
  std::mt19937 rng(static_cast<std::uint32_t>(M::kKind));
  std::uniform_int_distribution<int> byte_value(0, 255);
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    Bytes changed = bytes;
    const int edits = 1 + round % 4;
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, changed.size() - 1)(rng);
      switch (byte_value(rng) % 4) {
        case 0:
          changed.erase(changed.begin() + static_cast<std::ptrdiff_t>(at));
          break;
        case 1:
          changed.insert(changed.begin() + static_cast<std::ptrdiff_t>(at),
                         static_cast<std::uint8_t>(byte_value(rng)));
          break;
        default:
          changed[at] = static_cast<std::uint8_t>(byte_value(rng));
          break;
      }
      if (changed.empty()) changed.push_back(kProtocolVersion);
    }
    auto decoded = decode<M>(changed);
    if (decoded.ok()) {
      ++accepted;
      EXPECT_EQ(encode(*decoded), changed) << "round " << round;
    } else {
      EXPECT_FALSE(decoded.error().empty());
    }
    auto any = decode_any(changed);
    if (any.ok()) {
      EXPECT_EQ(encode_any(*any), changed) << "round " << round;
    }
  }
  ::testing::Test::RecordProperty("accepted", accepted);
}

// ---- Non-canonical fields -----------------------------------------------------------------------

TEST(MessageCanonical, TranscriptDigestRejectsUndefinedPlayerFlags) {
  for (std::uint8_t flags : {std::uint8_t{0x02}, std::uint8_t{0x03}, std::uint8_t{0x80},
                             std::uint8_t{0xFE}, std::uint8_t{0xFF}}) {
    auto m = sample<TranscriptDigest>();
    m.players[1].flags = flags;
    auto decoded = decode<TranscriptDigest>(encode(m));
    ASSERT_FALSE(decoded.ok()) << int{flags};
    EXPECT_TRUE(contains(decoded.error(), "bad flags")) << decoded.error();
    EXPECT_TRUE(contains(decoded.error(), "players[1]")) << decoded.error();
  }
  for (std::uint8_t flags : {std::uint8_t{0}, kPlayerSpawn}) {
    auto m = sample<TranscriptDigest>();
    m.players[1].flags = flags;
    auto decoded = decode<TranscriptDigest>(encode(m));
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    EXPECT_EQ(decoded->players[1].flags, flags);
  }
}

TEST(MessageCanonical, TranscriptDigestNamesEachPlayerOnce) {
  const auto base = sample<TranscriptDigest>();
  ASSERT_GE(base.players.size(), 2u);
  // Rows: which entry is made a copy of which, and the pair the error names (lower index first).
  struct Row {
    std::size_t copy_of, into;
    const char* names;
  };
  for (const Row& row :
       {Row{0, 1, "players[0] and players[1]"}, Row{1, 0, "players[0] and players[1]"}}) {
    auto m = base;
    m.players[row.into].player = m.players[row.copy_of].player;  // same key, other position
    auto decoded = decode<TranscriptDigest>(encode(m));
    ASSERT_FALSE(decoded.ok());
    EXPECT_TRUE(contains(decoded.error(), "non-canonical")) << decoded.error();
    EXPECT_TRUE(contains(decoded.error(), row.names)) << decoded.error();
  }
  // A third entry repeating the first, past a distinct one; and the whole entry repeated.
  auto repeated = base;
  repeated.players.push_back(repeated.players.front());
  auto decoded = decode<TranscriptDigest>(encode(repeated));
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(contains(decoded.error(),
                       "players[0] and players[" + std::to_string(base.players.size()) + "]"))
      << decoded.error();
  ASSERT_TRUE(decode<TranscriptDigest>(encode(base)).ok());
}

// A VsStart names its run's rules version (PROTOCOL.md §5.25): 1 as version 1 without the field,
// as every VS before it wrote it; any other as version 2, the field after the others.
TEST(VsStartRulesVersion, OneIsVersionOneAndAnyOtherVersionTwo) {
  const struct {
    std::uint32_t rules_version;
    std::uint8_t version;
    std::size_t size;
  } rows[] = {{1, kProtocolVersion, 86}, {2, kVsStartRulesVersion, 90}, {7, 2, 90}};
  for (const auto& row : rows) {
    VsStart m = sample<VsStart>();
    m.rules_version = row.rules_version;
    sign(m, keys().vs);
    const Bytes bytes = encode(m);
    EXPECT_EQ(bytes[0], row.version) << row.rules_version;
    EXPECT_EQ(bytes.size(), row.size) << row.rules_version;
    auto decoded = decode<VsStart>(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    EXPECT_EQ(decoded->rules_version, row.rules_version);
    EXPECT_TRUE(verify(*decoded, keys().vs.public_key()));
    // The version byte and the field are signed: the start cannot be passed off as another
    // version's with the same signature.
    VsStart other = *decoded;
    other.rules_version = row.rules_version == 1 ? 2 : 1;
    EXPECT_FALSE(verify(other, keys().vs.public_key())) << row.rules_version;
  }
}

// A VsStart naming rules version 2, signed.
VsStart versioned_start() {
  VsStart m = sample<VsStart>();
  m.rules_version = 2;
  sign(m, keys().vs);
  return m;
}

TEST(VsStartRulesVersion, EveryTruncationAndTrailingByteIsRejected) {
  const Bytes bytes = encode(versioned_start());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode<VsStart>(ByteView(bytes.data(), n)).ok()) << n;
  }
  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode<VsStart>(longer).ok());
  // Version 1 with the field appended is trailing bytes, not a rules version.
  Bytes relabelled = bytes;
  relabelled[0] = kProtocolVersion;
  auto decoded = decode<VsStart>(relabelled);
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(contains(decoded.error(), "trailing")) << decoded.error();
}

TEST(VsStartRulesVersion, VersionTwoNamingOneOrZeroIsNotCanonical) {
  const Bytes bytes = encode(versioned_start());
  ASSERT_EQ(bytes[0], kVsStartRulesVersion);
  for (const std::uint8_t named : {std::uint8_t{0}, std::uint8_t{1}}) {
    Bytes changed = bytes;
    changed[22] = named;  // rules_version, u32 at offset 22
    changed[23] = changed[24] = changed[25] = 0;
    auto decoded = decode<VsStart>(changed);
    ASSERT_FALSE(decoded.ok()) << int{named};
    EXPECT_TRUE(contains(decoded.error(), "non-canonical")) << decoded.error();
  }
}

TEST(MessageCanonical, TicketForwardHasProofIsZeroOrOne) {
  for (std::uint8_t has_proof : {std::uint8_t{2}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
    auto m = sample<TicketForward>();
    m.has_proof = has_proof;
    auto decoded = decode<TicketForward>(encode(m));
    ASSERT_FALSE(decoded.ok()) << int{has_proof};
    EXPECT_TRUE(contains(decoded.error(), "has_proof")) << decoded.error();
  }
}

TEST(MessageCanonical, TicketForwardWithoutProofCarriesNoProofFields) {
  auto none = sample<TicketForward>();
  none.has_proof = 0;
  none.nonce = Nonce32{};
  none.leaf_index = 0;
  none.proof.clear();
  auto ok = decode<TicketForward>(encode(none));
  ASSERT_TRUE(ok.ok()) << ok.error();

  auto with_nonce = none;
  with_nonce.nonce.bytes[31] = 1;
  auto with_index = none;
  with_index.leaf_index = 1;
  auto with_proof = none;
  with_proof.proof.push_back(filled(0x33));
  for (const auto& bad : {with_nonce, with_index, with_proof}) {
    auto decoded = decode<TicketForward>(encode(bad));
    ASSERT_FALSE(decoded.ok());
    EXPECT_TRUE(contains(decoded.error(), "non-canonical")) << decoded.error();
  }

  // With a proof, an empty proof list (a batch of one nonce) and a zero leaf index are fine.
  auto single = sample<TicketForward>();
  single.leaf_index = 0;
  single.proof.clear();
  EXPECT_TRUE(decode<TicketForward>(encode(single)).ok());
}

TEST(MessageCanonical, StateCarriedNumbersItsPartsAndSortsItsQuarantines) {
  struct Row {
    const char* name;
    void (*edit)(StateCarried&);
    const char* error;  // nullptr: decodes
  };
  const Row rows[] = {
      {"as built", [](StateCarried&) {}, nullptr},
      {"the last part", [](StateCarried& m) { m.part = 2; }, nullptr},
      {"one part, no quarantine",
       [](StateCarried& m) {
         m.part = 0;
         m.parts = 1;
         m.quarantines.clear();
       },
       nullptr},
      {"part equal to parts", [](StateCarried& m) { m.part = 3; }, "bad part"},
      {"no parts",
       [](StateCarried& m) {
         m.part = 0;
         m.parts = 0;
       },
       "bad part"},
      {"quarantines out of order",
       [](StateCarried& m) { std::swap(m.quarantines[0], m.quarantines[1]); }, "non-canonical"},
      {"one identity twice",
       [](StateCarried& m) { m.quarantines[1].gs_identity = m.quarantines[0].gs_identity; },
       "non-canonical"},
  };
  for (const Row& row : rows) {
    auto m = sample<StateCarried>();
    row.edit(m);
    auto decoded = decode<StateCarried>(encode(m));
    if (row.error == nullptr) {
      EXPECT_TRUE(decoded.ok()) << row.name << ": " << decoded.error();
    } else {
      ASSERT_FALSE(decoded.ok()) << row.name;
      EXPECT_TRUE(contains(decoded.error(), row.error)) << row.name << ": " << decoded.error();
    }
  }
}

// ---- Caps on encode -----------------------------------------------------------------------------

template <class M>
void expect_cap_enforced(M at_cap, M over_cap, const char* what) {
  const Bytes bytes = encode(at_cap);
  auto decoded = decode<M>(bytes);
  ASSERT_TRUE(decoded.ok()) << what << ": " << decoded.error();
  EXPECT_EQ(encode(*decoded), bytes) << what;
  EXPECT_THROW((void)encode(over_cap), std::length_error) << what;
  EXPECT_THROW((void)encode_any(AnyMessage{over_cap}), std::length_error) << what;
  if constexpr (kSignatureCount < M >> 0) {
    EXPECT_THROW((void)signing_input(over_cap), std::length_error) << what;
  }
}

TEST(MessageCaps, EncodingOverACapThrows) {
  {
    auto a = sample<JoinReject>();
    a.detail.assign(kMaxDetailBytes, 'd');
    auto b = a;
    b.detail.push_back('d');
    expect_cap_enforced(a, b, "JoinReject.detail");
  }
  {
    auto a = sample<TranscriptDigest>();
    a.players.resize(kMaxPlayers, a.players[0]);
    for (std::size_t i = 0; i < a.players.size(); ++i) {  // one entry per player (§2.6)
      a.players[i].player.bytes[0] = static_cast<std::uint8_t>(i);
      a.players[i].player.bytes[1] = static_cast<std::uint8_t>(i >> 8);
    }
    auto b = a;
    b.players.push_back(a.players[0]);
    expect_cap_enforced(a, b, "TranscriptDigest.players");
  }
  {
    auto a = sample<NonceBatch>();
    a.nonces.resize(kMaxNoncesPerBatch, filled(0x44));
    auto b = a;
    b.nonces.push_back(filled(0x45));
    expect_cap_enforced(a, b, "NonceBatch.nonces");
  }
  {
    auto a = sample<Revocation>();
    a.detail.assign(kMaxDetailBytes, 'r');
    auto b = a;
    b.detail.push_back('r');
    expect_cap_enforced(a, b, "Revocation.detail");
  }
  {
    auto a = sample<Revocation>();
    a.evidence.resize(kMaxEvidence, 7);
    auto b = a;
    b.evidence.push_back(8);
    expect_cap_enforced(a, b, "Revocation.evidence");
  }
  {
    auto a = sample<ServerHello>();
    a.join_accept.resize(kMaxEmbeddedMessage, 0x5A);
    auto b = a;
    b.join_accept.push_back(0x5A);
    expect_cap_enforced(a, b, "ServerHello.join_accept");
  }
  {
    auto a = sample<TicketForward>();
    a.ticket.resize(kMaxEmbeddedMessage, 0x5B);
    auto b = a;
    b.ticket.push_back(0x5B);
    expect_cap_enforced(a, b, "TicketForward.ticket");
  }
  {
    auto a = sample<TicketForward>();
    a.proof.resize(kMaxProofHashes, filled(0x46));
    auto b = a;
    b.proof.push_back(filled(0x47));
    expect_cap_enforced(a, b, "TicketForward.proof");
  }
  {
    auto a = sample<InputReject>();
    a.detail.assign(kMaxDetailBytes, 'i');
    auto b = a;
    b.detail.push_back('i');
    expect_cap_enforced(a, b, "InputReject.detail");
  }
  {
    // Far over a cap, past what a u16 can count: still the cap error, never a silent wrap.
    auto b = sample<NonceBatch>();
    b.nonces.resize(0x10001, filled(0x48));
    EXPECT_THROW((void)encode(b), std::length_error);
  }
}

// ---- Signatures ---------------------------------------------------------------------------------

template <class M>
class MessageSignatures : public ::testing::Test {};
TYPED_TEST_SUITE(MessageSignatures, AllKinds, KindNames);

TYPED_TEST(MessageSignatures, EachSignatureVerifies) {
  using M = TypeParam;
  const M m = sample<M>();
  for (std::size_t i = 0; i < kSignatureCount<M>; ++i) {
    EXPECT_TRUE(verify(m, signer<M>(i).public_key(), i)) << "signature " << i;
    auto decoded = decode<M>(encode(m));
    ASSERT_TRUE(decoded.ok()) << decoded.error();
    EXPECT_TRUE(verify(*decoded, signer<M>(i).public_key(), i)) << "signature " << i;
  }
}

TYPED_TEST(MessageSignatures, SigningInputIsTagZeroThenEncodingWithoutSignatures) {
  using M = TypeParam;
  const M m = sample<M>();
  const Bytes bytes = encode(m);
  const std::size_t unsigned_size = bytes.size() - 64 * kSignatureCount<M>;
  for (std::size_t i = 0; i < kSignatureCount<M>; ++i) {
    Bytes expected(M::kSignatureTags[i].begin(), M::kSignatureTags[i].end());
    expected.push_back(0x00);
    expected.insert(expected.end(), bytes.begin(),
                    bytes.begin() + static_cast<std::ptrdiff_t>(unsigned_size));
    EXPECT_EQ(signing_input(m, i), expected) << i;
    // The signature in the encoding is the signer's over exactly that input, at its slot.
    Signature in_bytes;
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(unsigned_size + 64 * i), 64,
                in_bytes.bytes.begin());
    EXPECT_EQ(in_bytes, signer<M>(i).sign(expected)) << i;
    EXPECT_TRUE(crypto::verify(signer<M>(i).public_key(), expected, in_bytes)) << i;
  }
}

TYPED_TEST(MessageSignatures, AnySingleBitFlipFailsVerification) {
  using M = TypeParam;
  if constexpr (kSignatureCount<M> == 0) {
    EXPECT_FALSE(verify(sample<M>(), keys().vs.public_key(), 0)) << "nothing to verify";
  } else {
    const Bytes bytes = encode(sample<M>());
    const std::size_t body_size = bytes.size() - Signature::size * kSignatureCount<M>;
    std::size_t still_decoded = 0;
    for (std::size_t at = 0; at < bytes.size(); ++at) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes flipped = bytes;
        flipped[at] = static_cast<std::uint8_t>(flipped[at] ^ (1u << bit));
        auto decoded = decode<M>(flipped);
        if (!decoded.ok()) continue;  // rejected before any signature check: also a failure
        ++still_decoded;
        // A flip in the signed part breaks every signature; a flip inside signature j breaks
        // that one and leaves the others (over unchanged bytes) valid.
        for (std::size_t i = 0; i < kSignatureCount<M>; ++i) {
          const bool in_other_signature =
              at >= body_size && (at - body_size) / Signature::size != i;
          EXPECT_EQ(verify(*decoded, signer<M>(i).public_key(), i), in_other_signature)
              << "byte " << at << " bit " << bit << " signature " << i;
        }
      }
    }
    // Most flips land in field values and still decode: the signature is what catches them.
    EXPECT_GT(still_decoded, bytes.size());
  }
}

TYPED_TEST(MessageSignatures, WrongKeyFails) {
  using M = TypeParam;
  const M m = sample<M>();
  const Keys& k = keys();
  for (std::size_t i = 0; i < kSignatureCount<M>; ++i) {
    for (const crypto::SecretKey* other :
         {&k.vs, &k.gs_identity, &k.session, &k.client, &k.stranger}) {
      if (other->public_key() == signer<M>(i).public_key()) continue;
      EXPECT_FALSE(verify(m, other->public_key(), i)) << i;
    }
    EXPECT_FALSE(verify(m, PublicKey{}, i)) << i;
  }
}

TYPED_TEST(MessageSignatures, OutOfRangeIndexIsFalse) {
  using M = TypeParam;
  M m = sample<M>();
  const std::size_t n = kSignatureCount<M>;
  for (std::size_t index : {n, n + 1, std::numeric_limits<std::size_t>::max()}) {
    for (const crypto::SecretKey* key : {&keys().vs, &keys().session, &keys().client}) {
      EXPECT_FALSE(verify(m, key->public_key(), index)) << index;
    }
    EXPECT_ANY_THROW(sign(m, keys().vs, index)) << index;
  }
}

TYPED_TEST(MessageSignatures, ChangingAFieldAfterSigningFailsAndResigningFixesIt) {
  using M = TypeParam;
  if constexpr (kSignatureCount<M> == 0) {
    EXPECT_TRUE(M::kSignatureTags.empty());
  } else {
    // Change the first field's first byte through the encoding, decode, and check.
    const M m = sample<M>();
    Bytes bytes = encode(m);
    bytes[2] ^= 0x01;
    auto changed = decode<M>(bytes);
    ASSERT_TRUE(changed.ok()) << changed.error();
    EXPECT_FALSE(verify(*changed, signer<M>(0).public_key()));
    M resigned = *changed;
    sign_all(resigned);
    for (std::size_t i = 0; i < kSignatureCount<M>; ++i) {
      EXPECT_TRUE(verify(resigned, signer<M>(i).public_key(), i));
    }
  }
}

struct SignedSample {
  std::string kind;
  std::size_t index = 0;
  std::string_view tag;
  PublicKey key;
  Bytes body;  // the encoding without signatures
  Signature signature;
};

std::vector<SignedSample> all_signed_samples() {
  std::vector<SignedSample> out;
  for_each_kind([&]<class M>(Tag<M>) {
    const M m = sample<M>();
    const Bytes bytes = encode(m);
    const std::size_t body_size = bytes.size() - 64 * kSignatureCount<M>;
    for (std::size_t i = 0; i < kSignatureCount<M>; ++i) {
      out.push_back({std::string(kind_name(M::kKind)), i, M::kSignatureTags[i],
                     signer<M>(i).public_key(),
                     Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(body_size)),
                     m.signatures[i]});
    }
  });
  return out;
}

Bytes tagged(std::string_view tag, ByteView body) {
  Bytes out(tag.begin(), tag.end());
  out.push_back(0x00);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(MessageDomainSeparation, TagsAreDistinctAndWellFormed) {
  std::set<std::string_view> tags;
  std::size_t count = 0;
  for_each_kind([&]<class M>(Tag<M>) {
    EXPECT_EQ(M::kSignatureTags.size(), kSignatureCount<M>) << kind_name(M::kKind);
    for (auto tag : M::kSignatureTags) {
      ++count;
      tags.insert(tag);
      EXPECT_TRUE(tag.starts_with("gsvs/v1/")) << tag;
      EXPECT_EQ(tag.find('\0'), std::string_view::npos) << tag;
    }
  });
  EXPECT_EQ(tags.size(), count);
  EXPECT_EQ(count, 22u);  // 21 signed kinds, JoinRequest twice
}

TEST(MessageDomainSeparation, ASignatureDoesNotVerifyUnderAnotherTag) {
  const auto samples = all_signed_samples();
  std::set<std::string_view> tags;
  for (const auto& s : samples) tags.insert(s.tag);
  for (const auto& s : samples) {
    ASSERT_TRUE(crypto::verify(s.key, tagged(s.tag, s.body), s.signature)) << s.kind;
    for (auto other : tags) {
      if (other == s.tag) continue;
      EXPECT_FALSE(crypto::verify(s.key, tagged(other, s.body), s.signature))
          << s.kind << "[" << s.index << "] verified under " << other;
    }
    // Nor with no tag at all.
    EXPECT_FALSE(crypto::verify(s.key, s.body, s.signature)) << s.kind;
  }
}

TEST(MessageDomainSeparation, SameBodyUnderTwoKindsSignsDifferently) {
  // A Heartbeat whose kind byte is rewritten to that of a PlayTicket: the body is otherwise
  // identical, and a signature over one kind's input does not verify as the other's.
  const auto& key = keys().vs;
  const auto hb = sample<Heartbeat>();
  const Bytes hb_input = signing_input(hb);
  const std::string hb_tag(Heartbeat::kSignatureTags[0]);
  const std::string ticket_tag(PlayTicket::kSignatureTags[0]);
  ASSERT_TRUE(std::equal(hb_tag.begin(), hb_tag.end(), hb_input.begin()));
  EXPECT_EQ(hb_input[hb_tag.size()], 0x00);

  Bytes body(hb_input.begin() + static_cast<std::ptrdiff_t>(hb_tag.size() + 1), hb_input.end());
  const Signature over_heartbeat = key.sign(tagged(hb_tag, body));
  body[1] = static_cast<std::uint8_t>(MessageKind::kPlayTicket);
  EXPECT_FALSE(crypto::verify(key.public_key(), tagged(ticket_tag, body), over_heartbeat));
  // Even the kind byte alone (same tag) is covered.
  EXPECT_FALSE(crypto::verify(key.public_key(), tagged(hb_tag, body), over_heartbeat));

  // The signing inputs of two kinds begin with their own tags.
  const Bytes ticket_input = signing_input(sample<PlayTicket>());
  EXPECT_TRUE(std::equal(ticket_tag.begin(), ticket_tag.end(), ticket_input.begin()));
  EXPECT_NE(hb_tag, ticket_tag);
}

TEST(MessageDomainSeparation, JoinRequestSignaturesAreNotInterchangeable) {
  const auto m = sample<JoinRequest>();
  const auto& identity = keys().gs_identity.public_key();
  const auto& session = keys().session.public_key();
  EXPECT_TRUE(verify(m, identity, 0));
  EXPECT_TRUE(verify(m, session, 1));
  EXPECT_FALSE(verify(m, identity, 1));
  EXPECT_FALSE(verify(m, session, 0));
  EXPECT_NE(signing_input(m, 0), signing_input(m, 1));

  auto swapped = m;
  std::swap(swapped.signatures[0], swapped.signatures[1]);
  EXPECT_FALSE(verify(swapped, identity, 0));
  EXPECT_FALSE(verify(swapped, session, 1));
  EXPECT_FALSE(verify(swapped, identity, 1));
  EXPECT_FALSE(verify(swapped, session, 0));

  // Even when one key makes both signatures, each is bound to its slot.
  auto same_key = m;
  sign(same_key, keys().gs_identity, 0);
  sign(same_key, keys().gs_identity, 1);
  EXPECT_NE(same_key.signatures[0], same_key.signatures[1]);
  EXPECT_TRUE(verify(same_key, identity, 0));
  EXPECT_TRUE(verify(same_key, identity, 1));
  std::swap(same_key.signatures[0], same_key.signatures[1]);
  EXPECT_FALSE(verify(same_key, identity, 0));
  EXPECT_FALSE(verify(same_key, identity, 1));
}

TEST(MessageDomainSeparation, SignaturesDoNotMoveBetweenKindsWithTheSameSigner) {
  // Every pair of VS-signed samples: one's signature never verifies on the other.
  const auto samples = all_signed_samples();
  for (const auto& a : samples) {
    for (const auto& b : samples) {
      if (a.kind == b.kind && a.index == b.index) continue;
      EXPECT_FALSE(crypto::verify(b.key, tagged(b.tag, b.body), a.signature))
          << a.kind << "[" << a.index << "] accepted as " << b.kind << "[" << b.index << "]";
    }
  }
}

}  // namespace
}  // namespace gsvs::protocol
