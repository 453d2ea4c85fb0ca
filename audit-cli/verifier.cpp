// verify_store, the entry point of `audit-cli verify`: opens the store, runs the verifier's
// stages (verifier_pipeline.h) over it, and holds the store against a Checkpoint kept outside
// it, which load_checkpoint reads from a file.
#include "audit-cli/verifier.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "audit-cli/chain_check.h"
#include "audit-cli/verifier_pipeline.h"
#include "protocol/regular_file.h"

namespace gsvs::audit {

namespace detail {

Finding Verifier::finding(const Item& item, std::string_view check, std::string expected,
                          std::string found, std::string detail) const {
  return finding_at(item.entry.header, check, std::move(expected), std::move(found),
                    std::move(detail));
}

Status Verifier::run() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  result_.stats.threads = options_.threads == 0 ? cores : options_.threads;
  pool_ = std::make_unique<VerifyPool>(result_.stats.threads);
  total_ = log_.size();
  filling_ = std::make_unique<Batch>();
  filling_->items.reserve(options_.batch_entries);
  result_.stats.first_seq = start_seq_;
  Status scanned = log_.scan(
      {.from_seq = start_seq_, .to_seq = {}, .session_id = {}, .kind = {}},
      [this](const storage::Entry& entry) {
        read(entry);
        return true;
      },
      [this](std::uint64_t seq, const std::string& reason) { unreadable(seq, reason); },
      [this](std::uint64_t first, std::optional<std::uint64_t> last, const std::string& reason) {
        damaged(first, last, reason);
      });
  // What is in flight is drained even when the store turns out unreadable.
  if (scanned && !filling_->items.empty()) dispatch();
  while (!in_flight_.empty()) complete_oldest();
  if (scanned) {
    finish();
    check_store_files(log_, start_seq_, sink_);
  }
  return scanned;
}

void Verifier::finish() {
  if (unanswered_join_) unanswered(*unanswered_join_, nullptr);
  // Past a stopped replay, the damaged rows already account for a part that is missing.
  if (carry_ && !replay_stopped_) carry_cut(carry_->last, "the log ends");
  // Past a stopped replay the models know nothing of what followed: no end-of-log judgement.
  for (auto& [id, model] : sessions_) {
    if (!replay_stopped_) model->finish(sink_);
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

}  // namespace detail

using protocol::MessageKind;

namespace {

constexpr std::size_t kMaxCheckpointFileBytes = std::size_t{1} << 20;

// A finding about the checkpoint held outside the store.
Finding checkpoint_finding(std::uint64_t seq, std::string_view check, std::string expected,
                           std::string found, std::string detail = {}) {
  Finding f = finding_at(seq, check, std::move(expected), std::move(found), std::move(detail));
  f.kind = kind_code(MessageKind::kCheckpoint);
  return f;
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
  auto file = read_regular_file(path, kMaxCheckpointFileBytes);
  if (!file) return Error{"--checkpoint: " + file.error()};
  const std::string& content = file->contents;
  std::string hex;  // the content without whitespace, which JSON and hex both allow
  for (const char c : content) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') hex.push_back(c);
  }
  Bytes bytes;
  std::string format;
  if (!hex.empty() && hex.front() == '{') {
    auto doc = nlohmann::json::parse(content, nullptr, false);
    if (doc.is_discarded()) return Error{"--checkpoint " + path + ": not valid JSON"};
    auto extracted = checkpoint_bytes_from_json(doc);
    if (!extracted) return Error{"--checkpoint " + path + ": " + extracted.error()};
    bytes = std::move(extracted).value();
    format = "JSON";
  } else {
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
  auto selection = select_store(path, options.segments);
  if (!selection) return Error{selection.error()};
  auto log = open_selection(*selection, storage::StoreRole::kVs);
  if (!log) return Error{log.error()};
  auto lookup_log = open_selection(*selection, storage::StoreRole::kVs);
  if (!lookup_log) return Error{lookup_log.error()};

  VerifyResult result;
  result.store = storage::printable_store(path);
  result.external_checkpoint = options.checkpoint;
  detail::resolve_vs_key(**log, path, options, result, sink);

  // A segmented store: its files, seals, links and seal index; the rows resume after what was
  // retired by policy (or not selected), from the seal the first file read records.
  ChainStart start;
  const auto vs_key = result.vs_key ? std::optional(result.vs_key->key) : std::nullopt;
  if (selection->segmented()) {
    auto survey = survey_segments(*selection, vs_key, sink);
    if (!survey) return Error{survey.error()};
    start = survey->start;
    sink.set_file_locator([files = *survey](std::uint64_t seq) { return files.file_of(seq); });
    result.segments = std::move(*survey);
  } else if (storage::is_postgres_store(path)) {
    SegmentSurvey survey = survey_retention(**log, vs_key, sink);
    if (!survey.retired.empty()) {
      start = survey.start;
      result.segments = std::move(survey);
    }
  }

  if (options.checkpoint) {
    const auto& ext = *options.checkpoint;
    if (!vs_key) {
      Finding f = checkpoint_finding(ext.message.log_size, check::kExternalCheckpoint,
                                     "a VS signature on the checkpoint from " + ext.origin,
                                     "not checked: no VS key");
      f.severity = Severity::kWarning;
      sink.add(std::move(f));
    } else if (!verify_stored_signature(MessageKind::kCheckpoint, ext.bytes, 0, *vs_key)) {
      sink.add(checkpoint_finding(ext.message.log_size, check::kExternalCheckpoint,
                                  "a valid VS signature on the checkpoint from " + ext.origin,
                                  "a signature that does not verify",
                                  "this checkpoint proves nothing about the store"));
    }
  }

  detail::Verifier verifier(**log, **lookup_log, options, result, sink, start);
  Status ran = verifier.run();
  if (!ran) return Error{ran.error()};

  if (options.checkpoint) {
    const auto& ext = options.checkpoint->message;
    const std::uint64_t log_end = result.stats.first_seq + result.stats.entries;
    if (log_end < ext.log_size) {
      Finding f = checkpoint_finding(log_end, check::kTruncated,
                                     "at least " + std::to_string(ext.log_size) +
                                         " entries (signed checkpoint from " +
                                         options.checkpoint->origin + ")",
                                     std::to_string(log_end) + " entries",
                                     "the log's tail was cut: entries " + std::to_string(log_end) +
                                         ".." + std::to_string(ext.log_size - 1) + " are gone");
      f.last_seq = ext.log_size - 1;
      sink.add(std::move(f));
    } else if (!result.external_checkpoint_matched) {
      sink.add(checkpoint_finding(
          ext.log_size, check::kExternalCheckpoint,
          "root " + to_hex(ext.root) + " over the first " + std::to_string(ext.log_size) +
              " entries (signed checkpoint from " + options.checkpoint->origin + ")",
          "a different root over the recomputed entry hashes",
          "the store is not the log the VS signed: entries before " + std::to_string(ext.log_size) +
              " were rewritten"));
    }
  }
  result.stats.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace gsvs::audit