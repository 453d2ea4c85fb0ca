#include "protocol/messages.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "protocol/coding.h"
#include "protocol/merkle.h"
#include "protocol/utf8.h"

namespace gsvs::protocol {

namespace {

// A list element is either a record with its own visit() or a single field.
template <class T>
constexpr bool kIsRecord = requires {
  &T::template visit<T, int>;
};

class EncodeVisitor {
 public:
  explicit EncodeVisitor(coding::Writer& out) : out_(out) {}

  void field(const std::uint8_t& v, std::string_view /*name*/) { out_.u8(v); }
  void field(const std::uint16_t& v, std::string_view /*name*/) { out_.u16(v); }
  void field(const std::uint32_t& v, std::string_view /*name*/) { out_.u32(v); }
  void field(const std::uint64_t& v, std::string_view /*name*/) { out_.u64(v); }
  void field(const std::int32_t& v, std::string_view /*name*/) { out_.i32(v); }
  template <std::size_t N>
  void field(const FixedBytes<N>& v, std::string_view /*name*/) {
    out_.fixed(v);
  }
  template <class T>
  void list(const std::vector<T>& items, std::size_t cap, std::string_view name) {
    check_cap(items.size(), cap, name);
    out_.u16(static_cast<std::uint16_t>(items.size()));
    for (const auto& item : items) element(item);
  }
  void text(const std::string& s, std::size_t cap, std::string_view name) {
    check_cap(s.size(), cap, name);
    out_.u16(static_cast<std::uint16_t>(s.size()));
    out_.raw(as_bytes(s));
  }
  void blob(const Bytes& b, std::size_t cap, std::string_view name) {
    check_cap(b.size(), cap, name);
    out_.u16(static_cast<std::uint16_t>(b.size()));
    out_.raw(b);
  }

 private:
  // Our own messages over a cap are a programming error, not bad input: fail loudly.
  static void check_cap(std::size_t size, std::size_t cap, std::string_view name) {
    if (size > cap) {
      throw std::length_error("encode: " + std::string(name) + " has " + std::to_string(size) +
                              ", cap is " + std::to_string(cap));
    }
  }
  template <class T>
  void element(const T& item) {
    if constexpr (kIsRecord<T>) {
      T::visit(item, *this);
    } else {
      field(item, "item");
    }
  }
  coding::Writer& out_;
};

class DecodeVisitor {
 public:
  explicit DecodeVisitor(coding::Reader& in) : in_(in) {}

  void field(std::uint8_t& v, std::string_view /*name*/) { v = in_.u8(); }
  void field(std::uint16_t& v, std::string_view /*name*/) { v = in_.u16(); }
  void field(std::uint32_t& v, std::string_view /*name*/) { v = in_.u32(); }
  void field(std::uint64_t& v, std::string_view /*name*/) { v = in_.u64(); }
  void field(std::int32_t& v, std::string_view /*name*/) { v = in_.i32(); }
  template <std::size_t N>
  void field(FixedBytes<N>& v, std::string_view name) {
    v = in_.fixed<N>(name);
  }
  template <class T>
  void list(std::vector<T>& items, std::size_t cap, std::string_view name) {
    std::size_t count = in_.u16();
    if (in_.failed()) return;
    if (count > cap) {
      in_.fail("bad count: " + std::string(name) + " has " + std::to_string(count) +
               " items, at most " + std::to_string(cap) + " allowed");
      return;
    }
    items.resize(count);
    for (auto& item : items) {
      element(item);
      if (in_.failed()) return;
    }
  }
  void text(std::string& s, std::size_t cap, std::string_view name) {
    auto bytes = sized(cap, name);
    s.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (!in_.failed() && !utf8::valid(s))
      in_.fail("bad text: " + std::string(name) + " is not UTF-8");
  }
  void blob(Bytes& b, std::size_t cap, std::string_view name) {
    auto bytes = sized(cap, name);
    b.assign(bytes.begin(), bytes.end());
  }

 private:
  ByteView sized(std::size_t cap, std::string_view name) {
    std::size_t length = in_.u16();
    if (in_.failed()) return {};
    if (length > cap) {
      in_.fail("bad length: " + std::string(name) + " is " + std::to_string(length) +
               " bytes, at most " + std::to_string(cap) + " allowed");
      return {};
    }
    return in_.raw(length, name);
  }
  template <class T>
  void element(T& item) {
    if constexpr (kIsRecord<T>) {
      T::visit(item, *this);
    } else {
      field(item, "item");
    }
  }
  coding::Reader& in_;
};

// Field rules beyond shape, so that every message has exactly one encoding.
template <class M>
std::string canonical_violation(const M& /*message*/) {
  return {};
}

template <>
std::string canonical_violation(const TranscriptDigest& m) {
  for (std::size_t i = 0; i < m.players.size(); ++i) {
    if ((m.players[i].flags & ~kPlayerFlagsMask) != 0) {
      return "bad flags: players[" + std::to_string(i) + "] has undefined flag bits set";
    }
  }
  // One entry per player: a second entry would be a second position at the same instant, a
  // step the physics rule cannot judge. At most kMaxPlayers entries, so sorting indices is cheap.
  std::vector<std::size_t> order(m.players.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&m](std::size_t a, std::size_t b) {
    return std::tie(m.players[a].player, a) < std::tie(m.players[b].player, b);
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (m.players[order[k - 1]].player == m.players[order[k]].player) {
      return "non-canonical: players[" + std::to_string(order[k - 1]) + "] and players[" +
             std::to_string(order[k]) + "] name the same player";
    }
  }
  return {};
}

template <>
std::string canonical_violation(const TicketForward& m) {
  if (m.has_proof > 1) return "bad flag: has_proof must be 0 or 1";
  if (m.has_proof == 0 && (!m.nonce.is_zero() || m.leaf_index != 0 || !m.proof.empty())) {
    return "non-canonical: has_proof is 0 but nonce, leaf_index or proof is set";
  }
  return {};
}

// The allowlists of a policy: strictly ascending, so that each policy has one encoding and one
// policy_hash; and the hash the message carries is the policy's.
template <class T>
std::string ascending_violation(const std::vector<T>& items, std::string_view name) {
  for (std::size_t i = 1; i < items.size(); ++i) {
    if (!(items[i - 1] < items[i])) {
      return "non-canonical: " + std::string(name) + "[" + std::to_string(i) +
             "] does not follow " + std::string(name) + "[" + std::to_string(i - 1) +
             "] in ascending order (sorted, no duplicates)";
    }
  }
  return {};
}

// Spawn zones (§8.6): one encoding per area, so that a shape cannot be written two ways and a
// rectangle or circle is never empty by accident of its corners' order.
std::string spawn_zones_violation(const std::vector<SpawnZone>& zones) {
  for (std::size_t i = 0; i < zones.size(); ++i) {
    const SpawnZone& zone = zones[i];
    const std::string name = "spawn_zones[" + std::to_string(i) + "]";
    switch (static_cast<SpawnZoneShape>(zone.shape)) {
      case SpawnZoneShape::kRectangle:
        if (zone.x2_mm < zone.x_mm || zone.y2_mm < zone.y_mm) {
          return "non-canonical: " + name +
                 " is a rectangle whose upper corner lies below its "
                 "lower corner";
        }
        continue;
      case SpawnZoneShape::kCircle:
        if (zone.x2_mm < 0 || zone.y2_mm != 0) {
          return "non-canonical: " + name +
                 " is a circle with a negative radius or a non-zero "
                 "y2_mm";
        }
        continue;
    }
    return "bad shape: " + name + " has shape " + std::to_string(zone.shape) +
           ", neither 1 (rectangle) nor 2 (circle)";
  }
  return {};
}

template <>
std::string canonical_violation(const JoinAccept& m) {
  return spawn_zones_violation(m.spawn_zones);
}

template <>
std::string canonical_violation(const PolicyApplied& m) {
  if (auto v = spawn_zones_violation(m.policy.spawn_zones); !v.empty()) return v;
  if (auto v = ascending_violation(m.policy.allowed_gs, "allowed_gs"); !v.empty()) return v;
  if (auto v = ascending_violation(m.policy.allowed_builds, "allowed_builds"); !v.empty()) return v;
  if (m.policy_hash != policy_hash(m.policy)) {
    return "policy_hash is not the SHA-256 of the policy it carries";
  }
  return {};
}

// A carry's parts are numbered below their count, and its quarantines listed by identity in
// ascending order (across parts, too: each part's after the last of the one before), so that one
// state has one encoding.
template <>
std::string canonical_violation(const StateCarried& m) {
  if (m.parts == 0 || m.part >= m.parts) {
    return "bad part: part " + std::to_string(m.part) + " of " + std::to_string(m.parts) +
           " parts (part must be below parts, and parts at least 1)";
  }
  for (std::size_t i = 1; i < m.quarantines.size(); ++i) {
    if (!(m.quarantines[i - 1].gs_identity < m.quarantines[i].gs_identity)) {
      return "non-canonical: quarantines[" + std::to_string(i) + "] does not follow quarantines[" +
             std::to_string(i - 1) +
             "] in ascending order of gs_identity (sorted, one per identity)";
    }
  }
  return {};
}

template <>
std::string canonical_violation(const ProtectedReceipt& m) {
  if (!m.batch) return {};
  const ReceiptBatch& batch = *m.batch;
  if (batch.leaf_count < 2 || batch.leaf_count > kMaxReceiptBatch) {
    return "bad batch: leaf_count " + std::to_string(batch.leaf_count) + " is not within 2.." +
           std::to_string(kMaxReceiptBatch);
  }
  if (batch.leaf_index >= batch.leaf_count) {
    return "bad batch: leaf_index " + std::to_string(batch.leaf_index) +
           " is not below leaf_count " + std::to_string(batch.leaf_count);
  }
  // The path's length follows from the leaf's place alone, so any leaf hash will do here.
  if (!merkle::root_from_inclusion(Hash32{}, batch.leaf_index, batch.leaf_count, batch.proof)) {
    return "bad batch: a proof of " + std::to_string(batch.proof.size()) +
           " hashes is not the path of leaf " + std::to_string(batch.leaf_index) + " of " +
           std::to_string(batch.leaf_count);
  }
  return {};
}

template <class M>
void encode_fields(const M& message, std::uint8_t version, coding::Writer& out) {
  out.u8(version);
  out.u8(static_cast<std::uint8_t>(M::kKind));
  EncodeVisitor visitor(out);
  M::visit(message, visitor);
}

// What a batch's one signature signs: the root of its receipts' tree and their count.
Bytes receipt_batch_statement(const Hash32& root, std::uint32_t leaf_count) {
  coding::Writer out;
  out.raw(as_bytes(ProtectedReceipt::kBatchStatementTag));
  out.u8(0);
  out.fixed(root);
  out.u32(leaf_count);
  return out.take();
}

// What a message carries past its fields, and what it signs then. Two kinds have more in
// version 2: a receipt signed in a batch (PROTOCOL.md §5.11.1), its place in the batch and a
// signature over the batch's root; and a VsStart (§5.25), the rules version of its run.
// `kLaterVersion` is the version byte a kind's longer layout has (kProtocolVersion: none), which
// peek_kind accepts for that kind alone.
template <class M>
struct Trailer {
  static constexpr std::uint8_t kLaterVersion = kProtocolVersion;
  static std::uint8_t version(const M& /*message*/) { return kProtocolVersion; }
  static void encode(const M& /*message*/, coding::Writer& /*out*/) {}
  static void decode(M& /*message*/, std::uint8_t /*version*/, coding::Reader& /*in*/) {}
  static std::optional<Bytes> signing_input(const M& /*message*/) { return std::nullopt; }
};

template <>
struct Trailer<ProtectedReceipt> {
  static constexpr std::uint8_t kLaterVersion = kBatchedReceiptVersion;
  static std::uint8_t version(const ProtectedReceipt& m) {
    return m.batch ? kBatchedReceiptVersion : kProtocolVersion;
  }
  static void encode(const ProtectedReceipt& m, coding::Writer& out) {
    if (!m.batch) return;
    out.u32(m.batch->leaf_index);
    out.u32(m.batch->leaf_count);
    EncodeVisitor visitor(out);
    visitor.list(m.batch->proof, kMaxProofHashes, "proof");
  }
  static void decode(ProtectedReceipt& m, std::uint8_t version, coding::Reader& in) {
    if (version != kBatchedReceiptVersion) return;
    ReceiptBatch& batch = m.batch.emplace();
    batch.leaf_index = in.u32();
    batch.leaf_count = in.u32();
    DecodeVisitor visitor(in);
    visitor.list(batch.proof, kMaxProofHashes, "proof");
  }
  static std::optional<Bytes> signing_input(const ProtectedReceipt& m) {
    if (!m.batch) return std::nullopt;
    const auto root = receipt_batch_root(m);
    // A proof that is no path (only a message built in memory: decode refuses one) gives an
    // empty input, which the VS never signs, since every input it signs starts with a tag.
    if (!root) return Bytes{};
    return receipt_batch_statement(*root, m.batch->leaf_count);
  }
};

template <>
struct Trailer<VsStart> {
  static constexpr std::uint8_t kLaterVersion = kVsStartRulesVersion;
  static std::uint8_t version(const VsStart& m) {
    return m.rules_version == 1 ? kProtocolVersion : kVsStartRulesVersion;
  }
  static void encode(const VsStart& m, coding::Writer& out) {
    if (m.rules_version != 1) out.u32(m.rules_version);
  }
  static void decode(VsStart& m, std::uint8_t version, coding::Reader& in) {
    if (version != kVsStartRulesVersion) return;  // version 1: rules version 1
    m.rules_version = in.u32();
    // One encoding per value: version 1 says 1, and no run judges by rules version 0.
    if (!in.failed() && m.rules_version < 2) {
      in.fail("non-canonical: a version-2 VsStart names rules_version " +
              std::to_string(m.rules_version) + " (1 is coded as version 1; 0 is no version)");
    }
  }
  static std::optional<Bytes> signing_input(const VsStart& /*message*/) { return std::nullopt; }
};

template <class M>
void encode_body(const M& message, coding::Writer& out) {
  encode_fields(message, Trailer<M>::version(message), out);
  Trailer<M>::encode(message, out);
}

}  // namespace

template <class M>
Bytes encode(const M& message) {
  coding::Writer out;
  encode_body(message, out);
  for (const auto& sig : message.signatures) out.fixed(sig);
  return out.take();
}

Bytes encode_policy(const Policy& policy) {
  coding::Writer out;
  EncodeVisitor visitor(out);
  Policy::visit(policy, visitor);
  return out.take();
}

Hash32 policy_hash(const Policy& policy) { return crypto::sha256(encode_policy(policy)); }

namespace {

// Whether a kind has a later layout with version byte `version` (Trailer::kLaterVersion).
template <std::size_t I = 0>
bool later_version_of(std::uint8_t kind, std::uint8_t version) {
  if constexpr (I == std::variant_size_v<AnyMessage>) {
    return false;
  } else {
    using M = std::variant_alternative_t<I, AnyMessage>;
    constexpr std::uint8_t later = Trailer<M>::kLaterVersion;
    if (later != kProtocolVersion && static_cast<std::uint8_t>(M::kKind) == kind &&
        later == version) {
      return true;
    }
    return later_version_of<I + 1>(kind, version);
  }
}

// "2 for a ProtectedReceipt, 2 for a VsStart": the later versions this build reads.
template <std::size_t I = 0>
std::string later_versions_text() {
  if constexpr (I == std::variant_size_v<AnyMessage>) {
    return {};
  } else {
    using M = std::variant_alternative_t<I, AnyMessage>;
    std::string rest = later_versions_text<I + 1>();
    if constexpr (Trailer<M>::kLaterVersion == kProtocolVersion) {
      return rest;
    } else {
      return std::to_string(Trailer<M>::kLaterVersion) + " for a " +
             std::string(kind_name(M::kKind)) + (rest.empty() ? "" : ", ") + rest;
    }
  }
}

}  // namespace

Result<MessageKind> peek_kind(ByteView bytes) {
  coding::Reader in(bytes);
  std::uint8_t version = in.u8();
  std::uint8_t kind = in.u8();
  if (in.failed()) return Error{in.error()};
  if (version != kProtocolVersion && !later_version_of(kind, version)) {
    return Error{"unknown version: " + std::to_string(version) + " (this build speaks " +
                 std::to_string(kProtocolVersion) + ", and " + later_versions_text() + ")"};
  }
  if (kind == 0 || kind > kMaxMessageKind) return Error{"unknown kind: " + std::to_string(kind)};
  return static_cast<MessageKind>(kind);
}

template <class M>
Result<M> decode(ByteView bytes) {
  auto kind = peek_kind(bytes);
  if (!kind) return Error{kind.error()};
  if (*kind != M::kKind) {
    return Error{"wrong kind: expected " + std::string(kind_name(M::kKind)) + ", got " +
                 std::string(kind_name(*kind))};
  }
  coding::Reader in(bytes.subspan(2));
  M message;
  DecodeVisitor visitor(in);
  M::visit(message, visitor);
  Trailer<M>::decode(message, bytes[0], in);
  for (auto& sig : message.signatures) sig = in.fixed<64>("signature");
  in.expect_end();
  if (in.failed()) return Error{std::string(kind_name(M::kKind)) + ": " + in.error()};
  if (auto violation = canonical_violation(message); !violation.empty()) {
    return Error{std::string(kind_name(M::kKind)) + ": " + violation};
  }
  return message;
}

namespace {
template <std::size_t I = 0>
Result<AnyMessage> decode_alternative(MessageKind kind, ByteView bytes) {
  if constexpr (I == std::variant_size_v<AnyMessage>) {
    return Error{"unknown kind"};
  } else {
    using M = std::variant_alternative_t<I, AnyMessage>;
    if (M::kKind != kind) return decode_alternative<I + 1>(kind, bytes);
    auto decoded = decode<M>(bytes);
    if (!decoded) return Error{decoded.error()};
    return AnyMessage{std::move(decoded).value()};
  }
}
}  // namespace

Result<AnyMessage> decode_any(ByteView bytes) {
  auto kind = peek_kind(bytes);
  if (!kind) return Error{kind.error()};
  return decode_alternative(*kind, bytes);
}

Bytes encode_any(const AnyMessage& message) {
  return std::visit([](const auto& m) { return encode(m); }, message);
}

MessageKind kind_of(const AnyMessage& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kKind; }, message);
}

std::optional<SessionId> named_session(const AnyMessage& message) {
  return std::visit(
      [](const auto& m) -> std::optional<SessionId> {
        if constexpr (requires { m.session_id; }) {
          return m.session_id;
        } else {
          return std::nullopt;
        }
      },
      message);
}

bool verify_signature(const AnyMessage& message, const PublicKey& key,
                      std::size_t signature_index) {
  return std::visit([&](const auto& m) { return verify(m, key, signature_index); }, message);
}

template <class M>
Bytes signing_input(const M& message, std::size_t signature_index) {
  if (auto batched = Trailer<M>::signing_input(message)) return std::move(*batched);
  coding::Writer out;
  out.raw(as_bytes(M::kSignatureTags.at(signature_index)));
  out.u8(0);
  encode_body(message, out);
  return out.take();
}

template <class M>
void sign(M& message, const crypto::SecretKey& key, std::size_t signature_index) {
  message.signatures.at(signature_index) = key.sign(signing_input(message, signature_index));
}

template <class M>
bool verify(const M& message, const PublicKey& key, std::size_t signature_index) {
  if (signature_index >= message.signatures.size()) return false;
  return crypto::verify(key, signing_input(message, signature_index),
                        message.signatures[signature_index]);
}

Hash32 receipt_leaf_hash(const ProtectedReceipt& receipt) {
  coding::Writer out;
  out.raw(as_bytes(ProtectedReceipt::kBatchLeafTag));
  out.u8(0);
  encode_fields(receipt, kBatchedReceiptVersion, out);
  return merkle::leaf_hash(out.take());
}

std::optional<Hash32> receipt_batch_root(const ProtectedReceipt& receipt) {
  if (!receipt.batch) return std::nullopt;
  return merkle::root_from_inclusion(receipt_leaf_hash(receipt), receipt.batch->leaf_index,
                                     receipt.batch->leaf_count, receipt.batch->proof);
}

void sign_receipt_batch(std::span<ProtectedReceipt> receipts, const crypto::SecretKey& key) {
  if (receipts.size() > kMaxReceiptBatch) {
    throw std::length_error("sign_receipt_batch: " + std::to_string(receipts.size()) +
                            " receipts, at most " + std::to_string(kMaxReceiptBatch));
  }
  if (receipts.empty()) return;
  if (receipts.size() == 1) {
    receipts.front().batch.reset();
    sign(receipts.front(), key);
    return;
  }
  std::vector<Hash32> leaves;
  leaves.reserve(receipts.size());
  for (const auto& receipt : receipts) leaves.push_back(receipt_leaf_hash(receipt));
  auto tree = merkle::inclusion_proofs(leaves);
  const auto count = static_cast<std::uint32_t>(receipts.size());
  const Signature signature = key.sign(receipt_batch_statement(tree.root, count));
  for (std::uint32_t i = 0; i < count; ++i) {
    receipts[i].batch =
        ReceiptBatch{.leaf_index = i, .leaf_count = count, .proof = std::move(tree.proofs[i])};
    receipts[i].signatures[0] = signature;
  }
}

Result<JoinAccept> session_start_accept(MessageKind kind, ByteView bytes) {
  if (kind == MessageKind::kJoinAccept) return decode<JoinAccept>(bytes);
  if (kind != MessageKind::kSessionAdopted) {
    return Error{"a " + std::string(kind_name(kind)) + " starts no session"};
  }
  auto adopted = decode<SessionAdopted>(bytes);
  if (!adopted) return Error{adopted.error()};
  auto accept = decode<JoinAccept>(adopted->join_accept);
  if (!accept) return Error{"the JoinAccept it carries: " + accept.error()};
  return accept;
}

#define GSVS_INSTANTIATE(M)                                         \
  template Bytes encode<M>(const M&);                               \
  template Result<M> decode<M>(ByteView);                           \
  template Bytes signing_input<M>(const M&, std::size_t);           \
  template void sign<M>(M&, const crypto::SecretKey&, std::size_t); \
  template bool verify<M>(const M&, const PublicKey&, std::size_t);

GSVS_INSTANTIATE(VsChallenge)
GSVS_INSTANTIATE(JoinRequest)
GSVS_INSTANTIATE(JoinAccept)
GSVS_INSTANTIATE(JoinReject)
GSVS_INSTANTIATE(Heartbeat)
GSVS_INSTANTIATE(TranscriptDigest)
GSVS_INSTANTIATE(NonceBatch)
GSVS_INSTANTIATE(ProtectedReceipt)
GSVS_INSTANTIATE(PlayTicket)
GSVS_INSTANTIATE(Checkpoint)
GSVS_INSTANTIATE(Revocation)
GSVS_INSTANTIATE(ClientHello)
GSVS_INSTANTIATE(ServerHello)
GSVS_INSTANTIATE(TicketForward)
GSVS_INSTANTIATE(ClientNonce)
GSVS_INSTANTIATE(ClientChallenge)
GSVS_INSTANTIATE(ClientInput)
GSVS_INSTANTIATE(InputReject)
GSVS_INSTANTIATE(GsLeaving)
GSVS_INSTANTIATE(GsResume)
GSVS_INSTANTIATE(ResumeAccept)
GSVS_INSTANTIATE(VsStart)
GSVS_INSTANTIATE(PolicyApplied)
GSVS_INSTANTIATE(Pardon)
GSVS_INSTANTIATE(SessionAdopted)
GSVS_INSTANTIATE(StateCarried)

#undef GSVS_INSTANTIATE

}  // namespace gsvs::protocol
