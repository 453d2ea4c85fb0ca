#include <algorithm>

#include "audit-cli/report_format.h"
#include "protocol/merkle.h"

namespace gsvs::audit::report {

namespace {

using nlohmann::json;
using protocol::MessageKind;

// Reads typed fields and remembers the first error, naming the field; reads after an error
// return defaults, so the caller checks failed() once at the end.
class FieldReader {
 public:
  const json* member(const json& object, const std::string& path, std::string_view key) {
    if (error_) return nullptr;
    const std::string where = field_path(path, key);
    if (!object.is_object()) {
      fail(path.empty() ? "report" : path, "expected an object");
      return nullptr;
    }
    auto it = object.find(std::string(key));
    if (it == object.end()) {
      fail(where, "missing");
      return nullptr;
    }
    return &*it;
  }

  std::uint64_t u64(const json& object, const std::string& path, std::string_view key,
                    std::uint64_t max = UINT64_MAX) {
    const json* v = member(object, path, key);
    if (!v) return 0;
    if (!v->is_number_unsigned()) {
      fail(field_path(path, key), "expected an unsigned integer");
      return 0;
    }
    const auto value = v->get<std::uint64_t>();
    if (value > max) {
      fail(field_path(path, key), "out of range (at most " + std::to_string(max) + ")");
      return 0;
    }
    return value;
  }

  std::string text(const json& object, const std::string& path, std::string_view key) {
    const json* v = member(object, path, key);
    if (!v) return {};
    if (!v->is_string()) {
      fail(field_path(path, key), "expected a string");
      return {};
    }
    return v->get<std::string>();
  }

  Bytes hex(const json& value, const std::string& where) {
    if (error_) return {};
    if (!value.is_string()) {
      fail(where, "expected a lower-case hex string");
      return {};
    }
    const auto& s = value.get_ref<const std::string&>();
    for (char c : s) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        fail(where, "expected a lower-case hex string");
        return {};
      }
    }
    auto bytes = from_hex(s);
    if (!bytes) {
      fail(where, "hex string of odd length");
      return {};
    }
    return std::move(*bytes);
  }

  Bytes hex(const json& object, const std::string& path, std::string_view key) {
    const json* v = member(object, path, key);
    return v ? hex(*v, field_path(path, key)) : Bytes{};
  }

  Hash32 hash(const json& value, const std::string& where) {
    Bytes raw = hex(value, where);
    Hash32 out;
    if (error_) return out;
    if (raw.size() != 32) {
      fail(where, "expected 32 bytes (64 hex characters)");
      return out;
    }
    std::copy(raw.begin(), raw.end(), out.bytes.begin());
    return out;
  }

  Hash32 hash(const json& object, const std::string& path, std::string_view key) {
    const json* v = member(object, path, key);
    return v ? hash(*v, field_path(path, key)) : Hash32{};
  }

  std::vector<Hash32> hashes(const json& value, const std::string& where, std::size_t cap) {
    std::vector<Hash32> out;
    if (error_) return out;
    if (!value.is_array()) {
      fail(where, "expected an array of hashes");
      return out;
    }
    if (value.size() > cap) {
      fail(where, "more than " + std::to_string(cap) + " hashes");
      return out;
    }
    for (std::size_t i = 0; i < value.size() && !error_; ++i) {
      out.push_back(hash(value[i], where + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  const json* array(const json& object, const std::string& path, std::string_view key) {
    const json* v = member(object, path, key);
    if (v && !v->is_array()) {
      fail(field_path(path, key), "expected an array");
      return nullptr;
    }
    return v;
  }

  void fail(const std::string& where, const std::string& what) {
    if (!error_) error_ = where + ": " + what;
  }
  [[nodiscard]] bool failed() const { return error_.has_value(); }
  [[nodiscard]] const std::string& error() const { return *error_; }

 private:
  std::optional<std::string> error_;
};

// Nesting deeper than the format's own is refused before anything walks the document
// recursively (nlohmann's parser is iterative; dump and compare are not).
bool nesting_within(const json& root, std::size_t limit) {
  std::vector<std::pair<const json*, std::size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > limit) return false;
    if (node->is_object() || node->is_array()) {
      for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
    }
  }
  return true;
}

}  // namespace

std::string field_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

Result<Parsed> parse(std::string_view text) {
  Parsed out;
  out.document = json::parse(text.begin(), text.end(), nullptr, false);
  if (out.document.is_discarded()) {
    // Parse again with exceptions only to say where the JSON is broken.
    try {
      const json again = json::parse(text.begin(), text.end());
      (void)again;
    } catch (const json::exception& e) {
      return Error{std::string("not valid JSON: ") + e.what()};
    }
    return Error{"not valid JSON"};
  }
  if (!nesting_within(out.document, kMaxNesting)) {
    return Error{"nested deeper than " + std::to_string(kMaxNesting) + " levels"};
  }
  const json& doc = out.document;
  FieldReader r;
  if (!doc.is_object()) return Error{"report: expected a JSON object"};
  const std::string format = r.text(doc, "", "format");
  if (!r.failed() && format != kFormatName) {
    r.fail("format", "'" + format + "' is not " + std::string(kFormatName));
  }
  const auto version = r.u64(doc, "", "format_version");
  if (!r.failed() && (version < kOldestFormatVersion || version > kFormatVersion)) {
    r.fail("format_version", std::to_string(version) + " is not supported (this build reads " +
                                 std::to_string(kOldestFormatVersion) + " to " +
                                 std::to_string(kFormatVersion) + ")");
  }
  if (const json* key = r.member(doc, "", "vs_public_key"); key && !key->is_null()) {
    out.evidence.vs_public_key = r.hash(*key, "vs_public_key");
  }
  if (const json* session = r.member(doc, "", "session")) {
    out.evidence.session_id = r.u64(*session, "session", "session_id");
  }
  if (const json* entries = r.array(doc, "", "entries")) {
    for (std::size_t i = 0; i < entries->size() && !r.failed(); ++i) {
      const json& e = (*entries)[i];
      const std::string path = "entries[" + std::to_string(i) + "]";
      Entry entry;
      entry.header.seq = r.u64(e, path, "seq");
      entry.header.kind = static_cast<MessageKind>(r.u64(e, path, "kind", 255));
      entry.header.direction = static_cast<chains::Direction>(r.u64(e, path, "direction", 255));
      entry.header.session_id = r.u64(e, path, "session_id");
      entry.header.vs_time_ms = r.u64(e, path, "vs_time_ms");
      entry.header.prev_entry_hash = r.hash(e, path, "prev_hash");
      entry.entry_hash = r.hash(e, path, "entry_hash");
      entry.message = r.hex(e, path, "message_hex");
      if (const json* inclusion = r.member(e, path, "inclusion");
          inclusion && !inclusion->is_null()) {
        const std::string ipath = path + ".inclusion";
        InclusionProof proof;
        proof.checkpoint_log_size = r.u64(*inclusion, ipath, "checkpoint_log_size");
        if (const json* p = r.member(*inclusion, ipath, "path")) {
          proof.path = r.hashes(*p, ipath + ".path", protocol::kMaxProofHashes);
        }
        entry.inclusion = std::move(proof);
      }
      out.evidence.entries.push_back(std::move(entry));
    }
  }
  if (const json* checkpoints = r.array(doc, "", "checkpoints")) {
    for (std::size_t i = 0; i < checkpoints->size() && !r.failed(); ++i) {
      const json& c = (*checkpoints)[i];
      const std::string path = "checkpoints[" + std::to_string(i) + "]";
      Checkpoint checkpoint;
      checkpoint.message = r.hex(c, path, "message_hex");
      if (const json* next = r.member(c, path, "consistency_with_next"); next && !next->is_null()) {
        checkpoint.consistency_with_next =
            r.hashes(*next, path + ".consistency_with_next", merkle::kMaxConsistencyProofHashes);
      }
      out.evidence.checkpoints.push_back(std::move(checkpoint));
    }
  }
  if (r.failed()) return Error{r.error()};
  return out;
}

}  // namespace gsvs::audit::report
