// A report without a Revocation must show the stretch of the log that proves none (AUDIT.md
// §4.2): whoever drops a session's Revocation from a report and re-derives every field gets a
// report that verify-report refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "audit-cli/report_builder.h"
#include "audit-cli/report_format.h"
#include "tests/audit/report_fixture.h"
#include "tests/support/schema_validation.h"

namespace gsvs::testing {
namespace {

using namespace audit::report;  // NOLINT(google-build-using-namespace)
using nlohmann::json;
using protocol::MessageKind;

const RecordedSession& recorded() {
  static const RecordedSession session = [] { return record(Scenario::kOperatorRevocation); }();
  return session;
}

Evidence evidence_of(const std::string& store, protocol::SessionId session) {
  auto log = storage::Log::open(store, storage::OpenMode::kReadOnly);
  if (!log) throw std::runtime_error(log.error());
  BuildOptions options;
  options.session_id = session;
  options.vs_key = recorded().vs_key;
  auto built = build(**log, options);
  if (!built) throw std::runtime_error(built.error());
  return built->evidence;
}

// What an editor of the report does: change the evidence, then write every derived field anew.
std::string rederive(const Evidence& evidence) {
  return serialize(analyze(evidence, recorded().vs_key).document);
}

TEST(ReportEndState, DroppingTheRevocationAndRederivingIsRefused) {
  const RecordedSession& s = recorded();
  Evidence evidence = evidence_of(s.store, s.session);
  ASSERT_EQ(audit::report::verify(rederive(evidence), s.vs_key).status, CheckStatus::kOk);
  const auto revocation =
      std::find_if(evidence.entries.begin(), evidence.entries.end(),
                   [](const Entry& e) { return e.header.kind == MessageKind::kRevocation; });
  ASSERT_NE(revocation, evidence.entries.end());
  evidence.entries.erase(revocation);

  const std::string edited = rederive(evidence);
  EXPECT_EQ(json::parse(edited)["session"]["outcome"], "not_revoked");
  const auto v = audit::report::verify(edited, s.vs_key);
  EXPECT_EQ(v.status, CheckStatus::kFailed) << problems_of(v);
  EXPECT_NE(problems_of(v).find("the report shows no Revocation of session " +
                                std::to_string(s.session) + ", but not the stretch of the log"),
            std::string::npos)
      << problems_of(v);
}

class LiveSession : public ::testing::Test {
 protected:
  // A copy taken while the session was live: the log ends before its Revocation.
  static void SetUpTestSuite() {
    const RecordedSession& s = recorded();
    dir_ = std::make_unique<TempDir>();
    store_ = copy_store(s.store, *dir_, "live.db");
    std::uint64_t revocation_seq = 0;
    for (const auto& e : read_store(store_)) {
      if (e.header.kind == MessageKind::kRevocation) revocation_seq = e.header.seq;
    }
    Insider(store_).cut_from(revocation_seq);
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static inline std::unique_ptr<TempDir> dir_;
  static inline std::string store_;
};

TEST_F(LiveSession, AnHonestReportProvesNoRevocationThroughItsLatestCheckpoint) {
  const RecordedSession& s = recorded();
  const Evidence evidence = evidence_of(store_, s.session);
  const std::string text = rederive(evidence);
  const auto v = audit::report::verify(text, s.vs_key);
  ASSERT_EQ(v.status, CheckStatus::kOk) << problems_of(v);
  EXPECT_TRUE(matches_schema({{"live", text}}));
  const json report = json::parse(text);
  EXPECT_EQ(report["session"]["outcome"], "not_revoked");
  ASSERT_FALSE(report["checkpoints"].empty());
  // The latest checkpoint in the copy: its log_size is where the proof reaches.
  std::uint64_t latest = 0;
  for (const auto& e : read_store(store_)) {
    if (e.header.kind != MessageKind::kCheckpoint) continue;
    auto cp = protocol::decode<protocol::Checkpoint>(e.message);
    ASSERT_TRUE(cp.ok());
    latest = std::max(latest, cp->log_size);
  }
  EXPECT_EQ(report["session"]["not_revoked_through"], latest);
  EXPECT_EQ(report["entries"].back()["seq"].get<std::uint64_t>() + 1 >= latest, true);
  // end_seq is the session's own last entry, whatever other entries the stretch holds.
  std::uint64_t last_own = 0;
  for (const auto& e : read_store(store_)) {
    if (e.header.session_id == s.session) last_own = e.header.seq;
  }
  EXPECT_EQ(report["session"]["end_seq"], last_own);
}

TEST_F(LiveSession, AReportMissingAnyEntryOfTheStretchIsRefused) {
  const RecordedSession& s = recorded();
  const Evidence honest = evidence_of(store_, s.session);
  const json report = json::parse(rederive(honest));
  const std::uint64_t through = report["session"]["not_revoked_through"].get<std::uint64_t>();
  // Drop, one at a time, each entry of the stretch's end (the last entries before `through`).
  std::size_t tried = 0;
  for (std::size_t i = honest.entries.size(); i-- > 0 && tried < 3;) {
    if (honest.entries[i].header.seq >= through) continue;
    ++tried;
    Evidence edited = honest;
    edited.entries.erase(edited.entries.begin() + static_cast<std::ptrdiff_t>(i));
    const auto v = audit::report::verify(rederive(edited), s.vs_key);
    SCOPED_TRACE("without seq " + std::to_string(honest.entries[i].header.seq));
    EXPECT_EQ(v.status, CheckStatus::kFailed) << problems_of(v);
  }
  EXPECT_GT(tried, 0u);
  // Another session's entry (here a checkpoint's, session 0) has no place in a report with a
  // Revocation.
  Evidence revoked = evidence_of(recorded().store, s.session);
  for (const auto& e : read_store(recorded().store)) {
    if (e.header.session_id != s.session) {
      revoked.entries.push_back(Entry{e.header, e.entry_hash, e.message, std::nullopt});
      break;
    }
  }
  std::sort(revoked.entries.begin(), revoked.entries.end(),
            [](const Entry& a, const Entry& b) { return a.header.seq < b.header.seq; });
  const auto v = audit::report::verify(rederive(revoked), s.vs_key);
  EXPECT_EQ(v.status, CheckStatus::kFailed) << problems_of(v);
  EXPECT_NE(problems_of(v).find("logged under session 0, the report is about session " +
                                std::to_string(s.session)),
            std::string::npos)
      << problems_of(v);
}

}  // namespace
}  // namespace gsvs::testing
