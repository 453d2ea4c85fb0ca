// docs/report.schema.json and docs/AUDIT.md against the reports audit-cli writes: for a store with
// every revocation reason (tests/support/store_generator.h), every session's report verifies,
// its verdict has the outcome its reason allows, and it matches the schema (python3-jsonschema);
// and every field the schema names is described in AUDIT.md §4, in the subsection of its object.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "audit-cli/report_builder.h"
#include "audit-cli/report_format.h"
#include "tests/support/process.h"
#include "tests/support/schema_validation.h"
#include "tests/support/store_generator.h"

namespace gsvs::testing {
namespace {

using audit::report::CheckStatus;
using nlohmann::json;
using protocol::RevocationReason;

json schema() { return json::parse(read_text(source_file("docs/report.schema.json"))); }

std::string outcome_for(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kMissedHeartbeats:
      return "consistent";
    case RevocationReason::kOperator:
    case RevocationReason::kOperatorQuarantine:
    case RevocationReason::kVsShutdown:
      return "not_recomputable";
    default:
      return "confirmed";
  }
}

class ReportSchemaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(crypto::init().ok());
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
  EXPECT_EQ(schema()["$schema"], "https://json-schema.org/draft/2020-12/schema");
  std::set<RevocationReason> seen;
  std::vector<NamedReport> reports;
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
    reports.push_back({"session-" + std::to_string(session.id) + "-" +
                           std::string(protocol::reason_name(*session.reason)),
                       text});
    seen.insert(*session.reason);
  }
  EXPECT_TRUE(matches_schema(reports));
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
  std::vector<NamedReport> reports;
  for (auto reason : {RevocationReason::kSpeedViolation, RevocationReason::kCounterRegression}) {
    const auto* session = store_->ended_by(reason);
    ASSERT_NE(session, nullptr);
    const std::string text = report_of(session->id, true);
    const auto v = audit::report::verify(text, store_->vs_public_key);
    EXPECT_EQ(v.status, CheckStatus::kOk)
        << (v.problems.empty() ? "" : audit::report::format_problem(v.problems.front()));
    reports.push_back({"all-entries-" + std::string(protocol::reason_name(reason)), text});
  }
  EXPECT_TRUE(matches_schema(reports));
}

// Each edit breaks one rule of the schema; the validator must name the report and the place.
struct SchemaBreak {
  const char* name;
  void (*edit)(json& report);
  const char* expected;  // in the validator's line for this report
};

TEST_F(ReportSchemaTest, TheValidatorRefusesWhatTheSchemaForbids) {
  const std::vector<SchemaBreak> breaks{
      {"missing-field", [](json& r) { r["entries"][0].erase("entry_hash"); },
       "$.entries[0]: 'entry_hash' is a required property"},
      {"extra-field", [](json& r) { r["session"]["note"] = "extra"; },
       "$.session: Additional properties are not allowed ('note' was unexpected)"},
      {"upper-case-hex", [](json& r) { r["entries"][0]["prev_hash"] = "ABCD"; },
       "$.entries[0].prev_hash: 'ABCD' does not match"},
      {"odd-hex", [](json& r) { r["checkpoints"][0]["message_hex"] = "abc"; },
       "$.checkpoints[0].message_hex: 'abc' does not match"},
      {"unknown-outcome", [](json& r) { r["verdict"]["outcome"] = "probably"; }, "$.verdict: "},
      {"negative-seq", [](json& r) { r["entries"][1]["seq"] = -1; },
       "$.entries[1].seq: -1 is less than the minimum of 0"},
      {"string-for-integer", [](json& r) { r["checkpoints"][0]["log_size"] = "5"; },
       "$.checkpoints[0].log_size: '5' is not of type 'integer', 'null'"},
      {"short-signature",
       [](json& r) {
         std::string signature = r["entries"][1]["signatures"][0]["signature"];
         r["entries"][1]["signatures"][0]["signature"] = signature.substr(2);
       },
       "$.entries[1].signatures[0].signature: "},
      {"wrong-format", [](json& r) { r["format"] = "some-report"; },
       "$.format: 'gsvs-dispute-report' was expected"},
  };
  const json report = json::parse(report_of(store_->sessions.front().id));
  std::vector<NamedReport> reports{{"intact", report.dump(2)}};
  for (const auto& b : breaks) {
    json broken = report;
    b.edit(broken);
    reports.push_back({b.name, broken.dump(2)});
  }
  const std::string violations = schema_violations(reports);
  EXPECT_EQ(violations.find("intact:"), std::string::npos) << violations;
  for (const auto& b : breaks) {
    EXPECT_NE(violations.find(std::string(b.name) + ": " + b.expected), std::string::npos)
        << b.name << " was not refused as expected:\n"
        << violations;
  }
}

// Where AUDIT.md describes the fields of each object of the schema: the object's subsection of
// §4. A subsection with a field table must have a row for the field, with a content, whose
// kind (evidence or derived) is the one the schema's description starts with.
struct FieldSection {
  const char* object;   // JSON pointer of an object schema with "properties"
  const char* heading;  // its AUDIT.md subsection
  bool table;
};
constexpr FieldSection kFieldSections[] = {
    {"", "### 4.1 Top level", true},
    {"/$defs/session", "### 4.2 `session`", false},
    {"/$defs/session/properties/revocation", "### 4.2 `session`", false},
    {"/$defs/session/properties/timing", "### 4.2 `session`", false},
    {"/$defs/session/properties/limits", "### 4.2 `session`", false},
    {"/$defs/entry", "### 4.3 `entries[]`", true},
    {"/$defs/entry/properties/decoded", "### 4.3 `entries[]`", false},
    {"/$defs/entry/properties/signatures/items", "### 4.3 `entries[]`", false},
    {"/$defs/entry/properties/signatures/items/properties/batch", "### 4.3 `entries[]`", false},
    {"/$defs/entry/properties/inclusion", "### 4.3 `entries[]`", false},
    {"/$defs/checkpoint", "### 4.4 `checkpoints[]`", true},
    {"/$defs/verdict", "### 4.5 `verdict`", false},
    {"/$defs/facts", "### 4.5 `verdict`", false},
    {"/$defs/facts/properties/limits", "### 4.5 `verdict`", false},
    {"/$defs/facts/properties/earlier_sessions/items", "### 4.5 `verdict`", false},
    {"/$defs/carried", "### 4.5 `verdict`", false},
    {"/$defs/step", "### 4.5 `verdict`", false},
};

void collect_objects(const json& node, const std::string& pointer, std::set<std::string>& out) {
  if (!node.is_object()) return;
  if (node.contains("properties")) out.insert(pointer);
  for (const auto& [key, value] : node.items()) collect_objects(value, pointer + "/" + key, out);
}

// The text from `heading` to the next heading.
std::string section(const std::string& doc, const std::string& heading) {
  const auto start = doc.find("\n" + heading + "\n");
  if (start == std::string::npos) return "";
  const auto end = doc.find("\n#", start + heading.size() + 2);
  return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The cells of the table row for `field` ("| `field` | kind | content |"), trimmed; empty when
// there is none. An escaped pipe (\|) stays inside its cell.
std::vector<std::string> table_row(const std::string& text, const std::string& field) {
  const auto start = text.find("\n| `" + field + "` |");
  if (start == std::string::npos) return {};
  const std::string line = text.substr(start + 1, text.find('\n', start + 1) - start - 1);
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|' && line[i - 1] != '\\') {
      const auto first = cell.find_first_not_of(' ');
      cells.push_back(first == std::string::npos
                          ? ""
                          : cell.substr(first, cell.find_last_not_of(' ') - first + 1));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

TEST(ReportSchema, AuditMdDescribesEveryFieldOfTheSchemaInItsSection) {
  const json s = schema();
  const std::string doc = read_text(source_file("docs/AUDIT.md"));
  std::set<std::string> objects;
  collect_objects(s, "", objects);
  std::set<std::string> placed;
  for (const auto& place : kFieldSections) {
    SCOPED_TRACE(std::string(place.heading) + ", " + (*place.object ? place.object : "top level"));
    placed.insert(place.object);
    ASSERT_TRUE(objects.contains(place.object)) << "the schema has no such object";
    const std::string text = section(doc, place.heading);
    ASSERT_FALSE(text.empty()) << "AUDIT.md has no such heading";
    const json& properties = s.at(json::json_pointer(place.object))["properties"];
    for (const auto& [field, definition] : properties.items()) {
      if (!place.table) {
        EXPECT_NE(text.find("`" + field + "`"), std::string::npos)
            << "`" << field << "` is not described here";
        continue;
      }
      const auto row = table_row(text, field);
      if (row.size() != 3) {
        ADD_FAILURE() << "`" << field << "` has no row of three cells in the table";
        continue;
      }
      EXPECT_FALSE(row[2].empty()) << "`" << field << "` has no content";
      const std::string description = definition.value("description", "");
      if (description.rfind("Evidence.", 0) == 0) {
        EXPECT_EQ(row[1], "evidence") << "`" << field << "`: the schema says Evidence.";
      }
      if (description.rfind("Derived.", 0) == 0) {
        EXPECT_EQ(row[1], "derived") << "`" << field << "`: the schema says Derived.";
      }
    }
  }
  for (const auto& object : objects) {
    EXPECT_TRUE(placed.contains(object))
        << "the schema's object " << object << " has no AUDIT.md section in kFieldSections";
  }
}

}  // namespace
}  // namespace gsvs::testing
