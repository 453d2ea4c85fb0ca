// Dispute reports from stores written by a real vsd: they survive verify-report and match
// docs/report.schema.json, and any change to the file (a character of every hex value, a sample
// of every other byte), a forged checkpoint or a missing field is caught.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <set>
#include <utility>

#include "audit-cli/report_builder.h"
#include "audit-cli/report_format.h"
#include "protocol/merkle.h"
#include "tests/audit/report_fixture.h"
#include "tests/support/schema_validation.h"

namespace gsvs::testing {
namespace {

using namespace audit::report;  // NOLINT(google-build-using-namespace)
using nlohmann::json;
using protocol::MessageKind;

std::string build_report(const std::string& store, const std::optional<crypto::PublicKey>& key,
                         protocol::SessionId session, bool all_entries = false) {
  auto log = storage::Log::open(store, storage::OpenMode::kReadOnly);
  if (!log) throw std::runtime_error(log.error());
  BuildOptions options;
  options.session_id = session;
  options.vs_key = key;
  options.all_entries = all_entries;
  auto built = build(**log, options);
  if (!built) throw std::runtime_error(built.error());
  return serialize(analyze(built->evidence, key).document);
}

// A key or a scalar value of the report: for a string, its characters between the quotes; for a
// number, true, false or null, the literal. `field` is the key the token belongs to (an array's
// elements belong to the array's key).
struct JsonToken {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string field;
  bool is_key = false;
  bool is_string = false;
};
std::vector<JsonToken> json_tokens(const std::string& text) {
  std::vector<JsonToken> out;
  std::vector<std::string> containers;  // the key of each open array, "" for objects
  std::string key;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' || c == '[') containers.push_back(c == '[' ? key : "");
    if ((c == '}' || c == ']') && !containers.empty()) containers.pop_back();
    const bool in_array = !containers.empty() && !containers.back().empty();
    const std::string& owner = in_array ? containers.back() : key;
    if (c != '"') {
      const std::size_t end = std::min(text.find_first_of(",]}\n ", i), text.size());
      if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
        out.push_back({i, end, owner, false, false});
        i = end;
      } else {
        ++i;
      }
      continue;
    }
    std::size_t end = i + 1;
    while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2u : 1u;
    if (end + 1 < text.size() && text[end + 1] == ':') {
      key = text.substr(i + 1, end - i - 1);
      out.push_back({i + 1, end, key, true, true});
    } else {
      out.push_back({i + 1, end, owner, false, true});
    }
    i = end + 1;
  }
  return out;
}

// A JSON string value of lower-case hex: the characters [begin, end) of the report, the field it
// belongs to, and whether the field is evidence (taken from the store) or derived from it
// (recomputed by the verifier).
struct HexValue {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string field;
  bool evidence = false;
};
bool is_hex_value(const std::string& text, const JsonToken& token) {
  const std::size_t size = token.end - token.begin;
  return token.is_string && !token.is_key && size >= 2 && size % 2 == 0 &&
         text.find_first_not_of("0123456789abcdef", token.begin) >= token.end;
}
std::vector<HexValue> hex_values(const std::string& text) {
  static const std::set<std::string> kEvidenceKeys{
      "vs_public_key", "prev_hash", "entry_hash", "message_hex", "path", "consistency_with_next"};
  std::vector<HexValue> out;
  for (const auto& token : json_tokens(text)) {
    if (is_hex_value(text, token)) {
      out.push_back({token.begin, token.end, token.field, kEvidenceKeys.contains(token.field)});
    }
  }
  return out;
}

// A session recorded with a real vsd the first time a test of this process uses it: ctest runs
// each test in a process of its own, and most tests need one scenario, not both.
class LazyRecording {
 public:
  explicit LazyRecording(Scenario scenario) : scenario_(scenario) {}
  const RecordedSession* get() {
    if (!session_) session_ = std::make_unique<RecordedSession>(record(scenario_));
    return session_.get();
  }
  const RecordedSession* operator->() { return get(); }
  void reset() { session_.reset(); }

 private:
  Scenario scenario_;
  std::unique_ptr<RecordedSession> session_;
};

class ReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::init().ok()); }
  static void TearDownTestSuite() {
    speed_.reset();
    operator_.reset();
  }
  static LazyRecording speed_;
  static LazyRecording operator_;
  TempDir work_;
};
LazyRecording ReportTest::speed_{Scenario::kSpeedViolation};
LazyRecording ReportTest::operator_{Scenario::kOperatorRevocation};

// A report written before digests_late (format_version 1) has no paced-clock numbers in its
// steps; verify-report checks it as the evidence gives it without them, and only without them.
TEST_F(ReportTest, AVersion1ReportStillVerifies) {
  auto doc = nlohmann::json::parse(build_report(speed_->store, speed_->vs_key, speed_->session));
  ASSERT_TRUE(doc["verdict"]["facts"]["violation"].is_object());
  doc["format_version"] = 1;
  auto strip = [](nlohmann::json& step) {
    for (const char* added : {"elapsed_paced_ms", "accumulated_paced_excess_mm", "late"}) {
      ASSERT_TRUE(step.contains(added)) << added;
      step.erase(added);
    }
  };
  strip(doc["verdict"]["facts"]["violation"]);
  for (auto& step : doc["verdict"]["facts"]["player_steps"]) strip(step);
  const auto v = audit::report::verify(audit::report::serialize(doc), speed_->vs_key);
  EXPECT_EQ(v.status, CheckStatus::kOk) << (v.problems.empty() ? "" : v.problems[0].what);
  doc["verdict"]["facts"]["violation"]["late"] = false;
  const auto added = audit::report::verify(audit::report::serialize(doc), speed_->vs_key);
  EXPECT_EQ(added.status, CheckStatus::kMalformed);
  ASSERT_FALSE(added.problems.empty());
  EXPECT_NE(added.problems[0].what.find("not a field of gsvs-dispute-report version 1"),
            std::string::npos)
      << added.problems[0].what;
}

TEST_F(ReportTest, SpeedViolationReportSurvivesVerifyReport) {
  const std::string file = work_.file("speed.json");
  std::string output;
  ASSERT_EQ(audit_cli_status({"report", speed_->store, "--session", std::to_string(speed_->session),
                              "--vs-pubkey", speed_->vs_key_file, "-o", file},
                             &output),
            0)
      << output;
  EXPECT_NE(output.find("verdict: confirmed"), std::string::npos) << output;
  ASSERT_EQ(audit_cli_status(
                {"verify-report", file, "--vs-pubkey", to_hex(speed_->vs_key), "--json"}, &output),
            0)
      << output;
  const json result = json::parse(output);
  EXPECT_EQ(result["status"], "ok");
  EXPECT_EQ(result["verdict"]["outcome"], "confirmed");

  EXPECT_TRUE(matches_schema({{"speed.json", read_text(file)}}));
  const json report = json::parse(read_text(file));
  EXPECT_EQ(report["format"], "gsvs-dispute-report");
  EXPECT_EQ(report["vs_public_key"], to_hex(speed_->vs_key));
  EXPECT_EQ(report["session"]["outcome"], "revoked");
  EXPECT_EQ(report["session"]["revocation"]["reason"], "speed_violation");
  const json& verdict = report["verdict"];
  EXPECT_EQ(verdict["reason"], "speed_violation");
  EXPECT_EQ(verdict["facts"]["digests_replayed"], 3);
  EXPECT_EQ(verdict["facts"]["receipts"], 2);
  EXPECT_EQ(verdict["facts"]["revocation_detail_matches"], true);
  EXPECT_EQ(verdict["facts"]["violation"]["to_seq"], verdict["evidence_seqs"][1]);
  EXPECT_EQ(verdict["facts"]["violation"]["to_x_mm"], 51500);
  EXPECT_EQ(verdict["facts"]["player_steps"].size(), 3u);
  EXPECT_EQ(verdict["facts"]["limits"]["max_speed_mm_s"], 7000.0);
  // JoinRequest, JoinAccept, 3 digests, 2 receipts, the Revocation; all under checkpoints.
  EXPECT_EQ(report["entries"].size(), 8u);
  EXPECT_TRUE(report["uncovered_seqs"].empty());
  EXPECT_GE(report["checkpoints"].size(), 1u);
  for (const auto& e : report["entries"]) EXPECT_TRUE(e["inclusion"].is_object()) << e["seq"];
}

TEST_F(ReportTest, OperatorRevocationReportSurvivesVerifyReport) {
  const std::string file = work_.file("operator.json");
  std::string output;
  ASSERT_EQ(
      audit_cli_status({"report", operator_->store, "--session", std::to_string(operator_->session),
                        "--vs-pubkey", to_hex(operator_->vs_key), "-o", file},
                       &output),
      0)
      << output;
  ASSERT_EQ(
      audit_cli_status({"verify-report", file, "--vs-pubkey", operator_->vs_key_file}, &output), 0)
      << output;
  EXPECT_NE(output.find("OK: every claim in the report checks out"), std::string::npos) << output;
  EXPECT_TRUE(matches_schema({{"operator.json", read_text(file)}}));
  const json report = json::parse(read_text(file));
  EXPECT_EQ(report["verdict"]["reason"], "operator");
  EXPECT_EQ(report["verdict"]["outcome"], "not_recomputable");
  EXPECT_EQ(report["verdict"]["facts"]["evidence_is_join_accept"], true);
  EXPECT_NE(report["session"]["revocation"]["detail"].get<std::string>().find("wall hacks"),
            std::string::npos);
}

TEST_F(ReportTest, AllEntriesReportChecksTicketAndReceiptChains) {
  const std::string text = build_report(speed_->store, speed_->vs_key, speed_->session, true);
  const auto v = audit::report::verify(text, speed_->vs_key);
  EXPECT_EQ(v.status, CheckStatus::kOk) << problems_of(v);
  const json report = json::parse(text);
  std::size_t tickets = 0;
  std::size_t heartbeats = 0;
  for (const auto& e : report["entries"]) {
    tickets += e["kind_name"] == "PlayTicket";
    heartbeats += e["kind_name"] == "Heartbeat";
  }
  EXPECT_GE(tickets, 2u);
  EXPECT_EQ(heartbeats, 2u);
}

// The positions EveryChangedHexCharacterIsCaught changes: one character of every hex value (at a
// seeded place inside it), then `extra` more seeded characters anywhere in the hex values.
std::vector<std::size_t> sampled_hex_positions(const std::vector<HexValue>& values,
                                               std::size_t extra) {
  std::mt19937_64 rng(20240917);  // fixed: a failure names a byte that fails again on a rerun
  std::vector<std::size_t> all;
  std::vector<std::size_t> out;
  for (const auto& v : values) {
    out.push_back(v.begin + rng() % (v.end - v.begin));
    for (std::size_t at = v.begin; at < v.end; ++at) all.push_back(at);
  }
  for (std::size_t k = 0; k < extra; ++k) out.push_back(all[rng() % all.size()]);
  return out;
}

TEST_F(ReportTest, EveryChangedHexCharacterIsCaught) {
  // Not every character: the verifier decodes each hex value whole and checks it whole (hashes
  // it into an entry hash, compares it with the value it recomputes, verifies it as a signature
  // or proof), so every character of a value meets the same check. One changed character in
  // every value, evidence and derived alike, therefore reaches every check of every entry,
  // checkpoint and field. The seeded place inside each value, and the seeded extra characters,
  // are there for a check that would look at part of a value only: a check blind to a fraction
  // f of a field's characters goes unnoticed with probability (1 - f)^n over that field's n
  // values and the extra draws. (Changing all 9,000-odd characters one at a time, as this test
  // once did, took two minutes under the sanitizers for no check more.)
  constexpr std::size_t kExtraPositions = 150;
  for (const RecordedSession* s : {operator_.get(), speed_.get()}) {
    const std::string text = build_report(s->store, s->vs_key, s->session);
    ASSERT_EQ(audit::report::verify(text, s->vs_key).status, CheckStatus::kOk);
    const auto values = hex_values(text);
    std::set<std::string> fields;
    std::size_t evidence_values = 0;
    for (const auto& v : values) {
      fields.insert(v.field);
      evidence_values += v.evidence;
    }
    // Every kind of evidence is there (path: inclusion proofs; consistency_with_next: at least
    // two checkpoints), and derived values too.
    for (const char* field :
         {"vs_public_key", "prev_hash", "entry_hash", "message_hex", "path", "message_hash",
          "signature", "root", "session_key", "gs_identity", "sw_hash"}) {
      EXPECT_TRUE(fields.contains(field)) << field;
    }
    ASSERT_GT(evidence_values, 10u);
    ASSERT_GT(values.size() - evidence_values, 10u);

    const auto positions = sampled_hex_positions(values, kExtraPositions);
    std::size_t malformed = 0;
    const auto started = std::chrono::steady_clock::now();
    for (auto at : positions) {
      std::string changed = text;
      changed[at] = changed[at] == '0' ? '1' : '0';
      const auto v = audit::report::verify(changed, s->vs_key);
      ASSERT_NE(v.status, CheckStatus::kOk) << "a change at byte " << at << " went unnoticed";
      malformed += v.status == CheckStatus::kMalformed;
      if (v.status == CheckStatus::kFailed) {
        ASSERT_FALSE(v.problems.empty());
      }
    }
    std::cout << positions.size() << " hex characters changed one at a time (one in each of the "
              << values.size() << " hex values of " << fields.size() << " fields, and "
              << kExtraPositions << " more), all caught (" << malformed << " as malformed) in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count()
              << " ms\n";
  }
}

// The changes ChangedStructuralBytesAreCaught makes: one character of every key and of every
// scalar value that is not hex (at a seeded place inside it; the opening quote of an empty
// string) changed by flipping its lowest bit, then `extra` more seeded bytes anywhere outside the
// hex values, each flipped and replaced by a tab.
std::vector<std::pair<std::size_t, char>> sampled_structural_changes(const std::string& text,
                                                                     std::size_t extra) {
  std::mt19937_64 rng(20241204);  // fixed: a failure names a byte that fails again on a rerun
  std::vector<bool> in_hex(text.size(), false);
  std::vector<std::pair<std::size_t, char>> out;
  for (const auto& token : json_tokens(text)) {
    if (is_hex_value(text, token)) {
      for (std::size_t at = token.begin; at < token.end; ++at) in_hex[at] = true;
      continue;
    }
    const std::size_t at =
        token.end > token.begin ? token.begin + rng() % (token.end - token.begin) : token.begin - 1;
    out.emplace_back(at, static_cast<char>(text[at] ^ 0x01));
  }
  std::vector<std::size_t> outside_hex;
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (!in_hex[at]) outside_hex.push_back(at);
  }
  for (std::size_t k = 0; k < extra; ++k) {
    const std::size_t at = outside_hex[rng() % outside_hex.size()];
    out.emplace_back(at, static_cast<char>(text[at] ^ 0x01));
    if (text[at] != '\t') out.emplace_back(at, '\t');
  }
  return out;
}

TEST_F(ReportTest, ChangedStructuralBytesAreCaught) {
  // Not every byte: each key and each scalar value meets its check whole (the comparison of the
  // parsed report with the one the verifier rebuilds from the evidence names the field), so one
  // changed character in every key and every value reaches every field of every entry and
  // checkpoint. Syntax and layout (punctuation, indentation, newlines) are checked for the file
  // as a whole, by the parser and then byte for byte against the fixed layout; the seeded extra
  // bytes, each also replaced by a tab, sample them anywhere. (Every fifth byte, 5,400-odd
  // changes, took 52 s under the sanitizers for no check more.)
  constexpr std::size_t kExtraPositions = 150;
  const std::string text = build_report(speed_->store, speed_->vs_key, speed_->session);
  std::set<std::string> key_names;
  std::size_t keys = 0;
  std::size_t scalar_values = 0;
  for (const auto& token : json_tokens(text)) {
    if (token.is_key) key_names.insert(token.field);
    keys += token.is_key;
    scalar_values += !token.is_key && !is_hex_value(text, token);
  }
  const auto changes = sampled_structural_changes(text, kExtraPositions);
  for (const auto& [at, replacement] : changes) {
    std::string changed = text;
    changed[at] = replacement;
    ASSERT_NE(audit::report::verify(changed, speed_->vs_key).status, CheckStatus::kOk)
        << "byte " << at << " ('" << text[at] << "' -> '" << replacement << "') went unnoticed";
  }
  // Appending, dropping the final newline, re-indenting.
  ASSERT_NE(audit::report::verify(text + " ", speed_->vs_key).status, CheckStatus::kOk);
  ASSERT_NE(audit::report::verify(text.substr(0, text.size() - 1), speed_->vs_key).status,
            CheckStatus::kOk);
  ASSERT_NE(audit::report::verify(json::parse(text).dump(4) + "\n", speed_->vs_key).status,
            CheckStatus::kOk);
  std::cout << changes.size() << " structural changes (one in each of the " << keys << " keys ("
            << key_names.size() << " names) and " << scalar_values << " other scalar values, and "
            << kExtraPositions << " more bytes flipped and tabbed), all caught\n";
}

TEST_F(ReportTest, ReportAgainstAForgedCheckpointIsRefused) {
  // An insider shifts the Revocation's (unsigned) log time, re-chains the log, builds the Merkle
  // tree over the result and signs a checkpoint over it with a key of its own. Everything in the
  // report is then consistent, except that the checkpoint is not the VS's.
  auto entries = read_store(speed_->store);
  auto log = storage::Log::open(speed_->store, storage::OpenMode::kReadOnly);
  ASSERT_TRUE(log);
  BuildOptions options;
  options.session_id = speed_->session;
  options.vs_key = speed_->vs_key;
  auto built = build(**log, options);
  ASSERT_TRUE(built);
  Evidence forged = built->evidence;
  const std::uint64_t victim = forged.entries.back().header.seq;  // the Revocation
  ASSERT_EQ(forged.entries.back().header.kind, MessageKind::kRevocation);
  entries[victim].header.vs_time_ms += 60'000;
  for (std::size_t i = victim; i < entries.size(); ++i) {
    if (i > 0) entries[i].header.prev_entry_hash = entries[i - 1].entry_hash;
    entries[i].entry_hash = chains::log_entry_hash(entries[i].header, entries[i].message);
  }
  std::vector<Hash32> leaves;
  for (const auto& e : entries) leaves.push_back(e.entry_hash);
  const auto attacker = crypto::SecretKey::generate();
  protocol::Checkpoint checkpoint;
  checkpoint.log_size = leaves.size();
  checkpoint.root = merkle::root(leaves);
  checkpoint.vs_time_ms = entries.back().header.vs_time_ms;
  protocol::sign(checkpoint, attacker);
  forged.checkpoints = {audit::report::Checkpoint{protocol::encode(checkpoint), std::nullopt}};
  for (auto& e : forged.entries) {
    const auto& stored = entries[e.header.seq];
    e.header = stored.header;
    e.entry_hash = stored.entry_hash;
    e.inclusion = InclusionProof{leaves.size(), merkle::inclusion_proof(leaves, e.header.seq)};
  }
  // Self-consistent under the attacker's key...
  const std::string text = serialize(analyze(forged, attacker.public_key()).document);
  const auto under_attacker = audit::report::verify(text, attacker.public_key());
  EXPECT_NE(problems_of(under_attacker).find("vs_public_key"), std::string::npos);
  // ... and refused under the real one, at the checkpoint's signature.
  const auto v = audit::report::verify(text, speed_->vs_key);
  ASSERT_EQ(v.status, CheckStatus::kFailed);
  EXPECT_NE(problems_of(v).find("checkpoints[0] (log_size " + std::to_string(leaves.size()) +
                                "): signature does not verify under the VS key"),
            std::string::npos)
      << problems_of(v);

  // A checkpoint that is genuine but with a proof path that leads elsewhere fails too.
  Evidence bad_path = built->evidence;
  ASSERT_TRUE(bad_path.entries[2].inclusion);
  ASSERT_FALSE(bad_path.entries[2].inclusion->path.empty());
  bad_path.entries[2].inclusion->path[0] = crypto::sha256(as_bytes("elsewhere"));
  const auto v2 =
      audit::report::verify(serialize(analyze(bad_path, speed_->vs_key).document), speed_->vs_key);
  ASSERT_EQ(v2.status, CheckStatus::kFailed);
  EXPECT_NE(problems_of(v2).find("inclusion proof does not lead"), std::string::npos)
      << problems_of(v2);
}

TEST_F(ReportTest, MalformedReportsNameTheField) {
  const std::string text = build_report(operator_->store, operator_->vs_key, operator_->session);
  const json report = json::parse(text);
  auto malformed = [&](const json& doc) {
    const auto v = audit::report::verify(serialize(doc), operator_->vs_key);
    EXPECT_EQ(v.status, CheckStatus::kMalformed) << problems_of(v);
    return v.problems.empty() ? std::string() : v.problems.front().what;
  };
  json doc = report;
  doc["entries"][1].erase("seq");
  EXPECT_EQ(malformed(doc), "entries[1].seq: missing");
  doc = report;
  doc["entries"][0]["prev_hash"] = 7;
  EXPECT_EQ(malformed(doc), "entries[0].prev_hash: expected a lower-case hex string");
  doc = report;
  doc["checkpoints"][0]["message_hex"] = "ABCD";
  EXPECT_EQ(malformed(doc), "checkpoints[0].message_hex: expected a lower-case hex string");
  doc = report;
  doc["session"].erase("outcome");
  EXPECT_EQ(malformed(doc), "session.outcome: missing");
  doc = report;
  doc["entries"][0]["decoded"]["gs_identity"] = 3;
  EXPECT_EQ(malformed(doc), "entries[0].decoded.gs_identity: expected a string");
  doc = report;
  doc["verdict"]["remark"] = "trust me";
  EXPECT_EQ(malformed(doc), "verdict.remark: not a field of gsvs-dispute-report version 2");
  doc = report;
  doc["format_version"] = 3;
  EXPECT_EQ(malformed(doc), "format_version: 3 is not supported (this build reads 1 to 2)");
  doc = report;
  doc["entries"][0]["kind"] = 300;
  EXPECT_EQ(malformed(doc), "entries[0].kind: out of range (at most 255)");

  for (const std::string& bad :
       {std::string(""), std::string("[]"), text.substr(0, text.size() / 2),
        std::string(100000, '['), std::string("{\"format\": 1}")}) {
    const auto v = audit::report::verify(bad, operator_->vs_key);
    EXPECT_EQ(v.status, CheckStatus::kMalformed);
  }

  // The command exits 2 and names the field.
  doc = report;
  doc["entries"][1].erase("entry_hash");
  write_text(work_.file("missing.json"), serialize(doc));
  std::string output;
  EXPECT_EQ(audit_cli_status({"verify-report", work_.file("missing.json"), "--vs-pubkey",
                              to_hex(operator_->vs_key)},
                             &output),
            2);
  EXPECT_NE(output.find("entries[1].entry_hash: missing"), std::string::npos) << output;
  EXPECT_EQ(audit_cli_status({"verify-report", work_.file("nonexistent.json"), "--vs-pubkey",
                              to_hex(operator_->vs_key)}),
            2);
}

TEST_F(ReportTest, WrongVsKeyFailsWithExitOne) {
  const std::string file = work_.file("speed.json");
  write_text(file, build_report(speed_->store, speed_->vs_key, speed_->session));
  std::string output;
  EXPECT_EQ(audit_cli_status({"verify-report", file, "--vs-pubkey",
                              to_hex(crypto::SecretKey::generate().public_key())},
                             &output),
            1);
  EXPECT_NE(output.find("vs_public_key: the report was made for VS key"), std::string::npos)
      << output;
  EXPECT_NE(output.find("signature 0 (gsvs/v1/join_accept) does not verify"), std::string::npos)
      << output;
}

TEST_F(ReportTest, EntriesNoCheckpointCoversYetAreMarkedNotRefused) {
  // A copy taken before the VS signed a checkpoint over the revocation.
  const std::string store = copy_store(speed_->store, work_, "uncovered.db");
  const auto entries = read_store(store);
  std::uint64_t revocation_seq = 0;
  for (const auto& e : entries) {
    if (e.header.kind == MessageKind::kRevocation) revocation_seq = e.header.seq;
  }
  ASSERT_GT(revocation_seq, 0u);
  Insider(store).cut_from(revocation_seq + 1);
  const std::string text = build_report(store, speed_->vs_key, speed_->session);
  const auto v = audit::report::verify(text, speed_->vs_key);
  ASSERT_EQ(v.status, CheckStatus::kOk) << problems_of(v);
  EXPECT_TRUE(matches_schema({{"uncovered", text}}));
  const json report = json::parse(text);
  ASSERT_FALSE(report["uncovered_seqs"].empty());
  EXPECT_EQ(report["uncovered_seqs"].back(), revocation_seq);
  bool noted = false;
  for (const auto& note : v.analysis.notes)
    noted |= note.find("only the hash chain") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST_F(ReportTest, SessionWithoutARevocationEndsAtItsLastEntry) {
  // A copy taken while the session was live: the log ends before its Revocation.
  const std::string store = copy_store(speed_->store, work_, "live.db");
  std::uint64_t revocation_seq = 0;
  for (const auto& e : read_store(store)) {
    if (e.header.kind == MessageKind::kRevocation) revocation_seq = e.header.seq;
  }
  Insider(store).cut_from(revocation_seq);
  std::uint64_t last = 0;
  for (const auto& e : read_store(store)) {
    if (e.header.session_id == speed_->session) last = e.header.seq;
  }
  const std::string text = build_report(store, speed_->vs_key, speed_->session);
  const auto v = audit::report::verify(text, speed_->vs_key);
  ASSERT_EQ(v.status, CheckStatus::kOk) << problems_of(v);
  EXPECT_TRUE(matches_schema({{"not-revoked", text}}));
  const json report = json::parse(text);
  EXPECT_EQ(report["session"]["outcome"], "not_revoked");
  EXPECT_TRUE(report["session"]["revocation"].is_null());
  EXPECT_TRUE(report["verdict"].is_null());
  EXPECT_EQ(report["session"]["end_seq"], last);
  EXPECT_EQ(report["entries"].back()["seq"], last);
}

TEST_F(ReportTest, ReportWithoutAKeyNamesNoneAndStillVerifies) {
  const std::string text = build_report(operator_->store, std::nullopt, operator_->session);
  const json report = json::parse(text);
  EXPECT_TRUE(report["vs_public_key"].is_null());
  const auto v = audit::report::verify(text, operator_->vs_key);
  EXPECT_EQ(v.status, CheckStatus::kOk) << problems_of(v);
}

TEST_F(ReportTest, ReportsOfTheRealVsdMatchTheSchema) {
  std::vector<NamedReport> reports;
  for (const auto& [name, s] : {std::pair{"speed", speed_.get()}, {"operator", operator_.get()}}) {
    reports.push_back({name, build_report(s->store, s->vs_key, s->session)});
    reports.push_back(
        {std::string(name) + "-all-entries", build_report(s->store, s->vs_key, s->session, true)});
  }
  reports.push_back(
      {"operator-without-key", build_report(operator_->store, std::nullopt, operator_->session)});
  EXPECT_TRUE(matches_schema(reports));
}

TEST_F(ReportTest, UnknownSessionAndBadOptionsAreUsageErrors) {
  std::string output;
  EXPECT_EQ(audit_cli_status(
                {"report", speed_->store, "--session", "999", "-o", work_.file("x.json")}, &output),
            2);
  EXPECT_NE(output.find("session 999: no JoinAccept"), std::string::npos) << output;
  EXPECT_EQ(audit_cli_status(
                {"report", work_.file("missing.db"), "--session", "1", "-o", work_.file("x.json")}),
            2);
  EXPECT_EQ(audit_cli_status({"verify-report", work_.file("x.json")}), 2);  // --vs-pubkey required
  EXPECT_EQ(audit_cli_status({"verify-report", work_.file("x.json"), "--vs-pubkey", "zz"}), 2);
  EXPECT_EQ(audit_cli_status({"report", "--help"}, &output), 0);
  EXPECT_NE(output.find("verify-report"), std::string::npos);
}

}  // namespace
}  // namespace gsvs::testing
