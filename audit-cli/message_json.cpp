#include "audit-cli/message_json.h"

#include <type_traits>

namespace gsvs::audit {

namespace {

using nlohmann::json;

template <class T>
constexpr bool kIsRecord = requires {
  &T::template visit<T, int>;
};

class JsonVisitor {
 public:
  explicit JsonVisitor(json& out) : out_(out) {}

  template <class T>
  requires std::is_integral_v<T>
  void field(const T& v, std::string_view name) { out_[std::string(name)] = v; }
  template <std::size_t N>
  void field(const FixedBytes<N>& v, std::string_view name) {
    out_[std::string(name)] = to_hex(v);
  }
  template <class T>
  void list(const std::vector<T>& items, std::size_t /*cap*/, std::string_view name) {
    json array = json::array();
    for (const auto& item : items) array.push_back(element(item));
    out_[std::string(name)] = std::move(array);
  }
  void text(const std::string& s, std::size_t /*cap*/, std::string_view name) {
    out_[std::string(name)] = s;
  }
  void blob(const Bytes& b, std::size_t /*cap*/, std::string_view name) {
    out_[std::string(name)] = to_hex(b);
  }

 private:
  template <class T>
  static json element(const T& item) {
    if constexpr (kIsRecord<T>) {
      json object = json::object();
      JsonVisitor inner(object);
      T::visit(item, inner);
      return object;
    } else if constexpr (std::is_integral_v<T>) {
      return item;
    } else {
      return to_hex(item);
    }
  }
  json& out_;
};

}  // namespace

nlohmann::json message_fields(const protocol::AnyMessage& message) {
  return std::visit(
      [](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        json out = json::object();
        JsonVisitor visitor(out);
        M::visit(m, visitor);
        if constexpr (std::is_same_v<M, protocol::ProtectedReceipt>) {
          if (m.batch) {
            out["leaf_index"] = m.batch->leaf_index;
            out["leaf_count"] = m.batch->leaf_count;
            out["proof"] = hex_list(m.batch->proof);
          }
        }
        if constexpr (std::is_same_v<M, protocol::VsStart>) out["rules_version"] = m.rules_version;
        out["signatures"] = hex_list(m.signatures);
        return out;
      },
      message);
}

json signed_limits_json(const protocol::JoinAccept& accept) {
  return {{"max_speed_mm_s", accept.max_speed_mm_s},
          {"speed_tolerance_ppm", accept.speed_tolerance_ppm},
          {"jitter_allowance_ms", accept.jitter_allowance_ms},
          {"excess_decay_ppm", accept.excess_decay_ppm},
          {"max_excess_mm", accept.max_excess_mm},
          {"spawn_min_interval_ms", accept.spawn_min_interval_ms}};
}

std::string json_text(const nlohmann::json& document) {
  return document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view signer_name(Signer signer) {
  switch (signer) {
    case Signer::kVs:
      return "vs";
    case Signer::kGsIdentity:
      return "gs_identity";
    case Signer::kGsSession:
      return "gs_session";
    case Signer::kClient:
      return "client";
  }
  return "unknown";
}

std::vector<SignatureSlot> signature_slots(const protocol::AnyMessage& message,
                                           std::size_t encoded_size) {
  return std::visit(
      [encoded_size](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        std::vector<SignatureSlot> out;
        const std::size_t count = M::kSignatureTags.size();
        const std::size_t signed_bytes = encoded_size >= 64 * count ? encoded_size - 64 * count : 0;
        for (std::size_t i = 0; i < count; ++i) {
          out.push_back(SignatureSlot{
              M::kSignatureTags[i], protocol::signing_key(protocol::kind_role(M::kKind)->signer, i),
              m.signatures[i], signed_bytes, std::nullopt});
        }
        if constexpr (std::is_same_v<M, protocol::ProtectedReceipt>) {
          // A decoded batch's proof is a path (the decoder checks its length), so it has a root.
          if (const auto root = protocol::receipt_batch_root(m)) {
            out.front().tag = M::kBatchStatementTag;
            out.front().signed_bytes = M::kFieldBytes;
            out.front().batch = BatchSlot{M::kBatchLeafTag, m.batch->leaf_index,
                                          m.batch->leaf_count, m.batch->proof, *root};
          }
        }
        return out;
      },
      message);
}

}  // namespace gsvs::audit
