// docs/report.schema.json and docs/AUDIT.md against the reports audit-cli writes: for a store with
// every revocation reason (tests/support/store_generator.h), every session's report verifies,
// its verdict has the outcome its reason allows, and it matches the schema; and every field the
// schema names is described in AUDIT.md.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "audit-cli/report_builder.h"
#include "audit-cli/report_format.h"
#include "tests/audit/schema_check.h"
#include "tests/support/process.h"
#include "tests/support/store_generator.h"

namespace gsvs::testing {
namespace {

using audit::report::CheckStatus;
using nlohmann::json;
using protocol::RevocationReason;

std::string source_file(const std::string& relative) {
  const char* root = std::getenv("GSVS_SOURCE_DIR");
  for (const std::string& base :
       {root ? std::string(root) : std::string("."), std::string(".."), std::string(".")}) {
    if (std::filesystem::exists(base + "/" + relative)) return base + "/" + relative;
  }
  throw std::runtime_error("cannot find " + relative + " (set GSVS_SOURCE_DIR)");
}

json schema() { return json::parse(read_text(source_file("docs/report.schema.json"))); }

void collect_properties(const json& node, std::set<std::string>& out) {
  if (node.is_object()) {
    if (node.contains("properties") && node["properties"].is_object()) {
      for (const auto& [key, value] : node["properties"].items()) out.insert(key);
    }
    for (const auto& [key, value] : node.items()) collect_properties(value, out);
  } else if (node.is_array()) {
    for (const auto& value : node) collect_properties(value, out);
  }
}

std::string outcome_for(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kMissedHeartbeats:
      return "consistent";
    case RevocationReason::kOperator:
    case RevocationReason::kVsShutdown:
      return "not_recomputable";
    default:
      return "confirmed";
  }
}

class ReportSchemaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    crypto::init();
    dir_ = std::make_unique<TempDir>();
    StoreGeneratorOptions options;
    options.seed = 7;
    options.min_entries = 4000;
    options.checkpoint_every = 300;
    auto generated = generate_store(dir_->file("vs.db"), options);
    if (!generated) throw std::runtime_error(generated.error());
    store_ = std::make_unique<GeneratedStore>(std::move(generated).value());
  }
  static void TearDownTestSuite() {
    store_.reset();
    dir_.reset();
  }
  static std::string report_of(protocol::SessionId session, bool all_entries = false) {
    auto log = storage::Log::open(dir_->file("vs.db"), storage::OpenMode::kReadOnly);
    if (!log) throw std::runtime_error(log.error());
    audit::report::BuildOptions options;
    options.session_id = session;
    options.vs_key = store_->vs_public_key;
    options.all_entries = all_entries;
    auto built = audit::report::build(**log, options);
    if (!built) throw std::runtime_error(built.error());
    return audit::report::serialize(
        audit::report::analyze(built->evidence, options.vs_key).document);
  }
  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<GeneratedStore> store_;
};
std::unique_ptr<TempDir> ReportSchemaTest::dir_;
std::unique_ptr<GeneratedStore> ReportSchemaTest::store_;

TEST_F(ReportSchemaTest, EveryRevocationReasonGivesAReportThatVerifiesAndMatchesTheSchema) {
  const json s = schema();
  EXPECT_EQ(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
  SchemaCheck check(s);
  std::set<RevocationReason> seen;
  for (const auto& session : store_->sessions) {
    SCOPED_TRACE("session " + std::to_string(session.id));
    ASSERT_TRUE(session.reason);
    const std::string text = report_of(session.id);
    const auto v = audit::report::verify(text, store_->vs_public_key);
    std::string problems;
    for (const auto& p : v.problems) problems += audit::report::format_problem(p) + "\n";
    ASSERT_EQ(v.status, CheckStatus::kOk) << problems;
    const json report = json::parse(text);
    EXPECT_EQ(report["verdict"]["reason_code"], static_cast<unsigned>(*session.reason));
    EXPECT_EQ(report["verdict"]["outcome"], outcome_for(*session.reason))
        << report["verdict"]["explanation"];
    EXPECT_EQ(report["session"]["revocation"]["seq"], session.revocation_seq);
    const auto errors = check.check(report);
    EXPECT_TRUE(errors.empty()) << errors.front();
    seen.insert(*session.reason);
  }
  // The generator ends sessions with each reason in turn.
  for (auto reason : {RevocationReason::kSpeedViolation, RevocationReason::kBadSignature,
                      RevocationReason::kCounterRegression, RevocationReason::kSwHashChanged,
                      RevocationReason::kReceiptTipMismatch, RevocationReason::kMalformedMessage,
                      RevocationReason::kSessionMismatch, RevocationReason::kOperator,
                      RevocationReason::kMissedHeartbeats}) {
    EXPECT_TRUE(seen.contains(reason)) << protocol::reason_name(reason);
  }
}

TEST_F(ReportSchemaTest, AllEntriesReportsVerifyAndMatchTheSchema) {
  const json s = schema();
  SchemaCheck check(s);
  for (auto reason : {RevocationReason::kSpeedViolation, RevocationReason::kCounterRegression}) {
    const auto* session = store_->ended_by(reason);
    ASSERT_NE(session, nullptr);
    const std::string text = report_of(session->id, true);
    const auto v = audit::report::verify(text, store_->vs_public_key);
    EXPECT_EQ(v.status, CheckStatus::kOk)
        << (v.problems.empty() ? "" : audit::report::format_problem(v.problems.front()));
    const auto errors = check.check(json::parse(text));
    EXPECT_TRUE(errors.empty()) << errors.front();
  }
}

TEST_F(ReportSchemaTest, TheCheckerRefusesWhatTheSchemaForbids) {
  const json s = schema();
  SchemaCheck check(s);
  const json report = json::parse(report_of(store_->sessions.front().id));
  json doc = report;
  doc["entries"][0].erase("entry_hash");
  EXPECT_FALSE(check.check(doc).empty());
  doc = report;
  doc["session"]["note"] = "extra";
  EXPECT_FALSE(check.check(doc).empty());
  doc = report;
  doc["entries"][0]["prev_hash"] = "ABCD";
  EXPECT_FALSE(check.check(doc).empty());
  doc = report;
  doc["verdict"]["outcome"] = "probably";
  EXPECT_FALSE(check.check(doc).empty());
}

TEST(ReportSchema, AuditMdDescribesEveryFieldOfTheSchema) {
  std::set<std::string> properties;
  collect_properties(schema(), properties);
  const std::string doc = read_text(source_file("docs/AUDIT.md"));
  for (const auto& name : properties) {
    EXPECT_NE(doc.find("`" + name + "`"), std::string::npos)
        << "AUDIT.md does not name `" << name << "`";
  }
}

}  // namespace
}  // namespace gsvs::testing
