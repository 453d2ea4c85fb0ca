// audit-cli sessions, timeline and explain: the facts they report about a generated store match
// what the generator did, and their output formats hold what they promise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit-cli/replay.h"
#include "audit-cli/session_index.h"
#include "tests/audit/audit_fixture.h"
#include "tests/support/tamper.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

std::unique_ptr<storage::Log> open_generated() {
  auto log = storage::Log::open(generated_path(), storage::OpenMode::kReadOnly);
  if (!log) throw std::runtime_error(log.error());
  return std::move(log).value();
}

nlohmann::json parse(const CliResult& r) {
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
  return doc;
}

std::string session_arg(const GeneratedSession& s) { return std::to_string(s.id); }

// ---- sessions ---------------------------------------------------------------------------------

TEST(Sessions, TheIndexHoldsWhatTheGeneratorDid) {
  auto log = open_generated();
  auto index = audit::build_index(*log);
  ASSERT_TRUE(index.ok()) << index.error();
  const auto& store = generated();
  EXPECT_EQ(index->entries, store.entries);
  EXPECT_EQ(index->rejected_joins, store.join_reject_seqs.size());
  EXPECT_EQ(index->unindexed, 0u);
  ASSERT_EQ(index->sessions.size(), store.sessions.size());
  for (const auto& expected : store.sessions) {
    SCOPED_TRACE(expected.id);
    const auto* s = index->find(expected.id);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->accept.gs_identity, expected.gs_identity);
    EXPECT_EQ(s->accept.session_key, expected.session_key);
    EXPECT_EQ(s->accept.sw_hash, expected.sw_hash);
    EXPECT_EQ(s->join_accept_seq, expected.join_accept_seq);
    EXPECT_EQ(s->join_request_seq, expected.join_request_seq);
    EXPECT_EQ(s->start_vs_ms, expected.start_vs_ms);
    ASSERT_TRUE(s->revocation.has_value());
    EXPECT_EQ(s->revocation->seq, expected.revocation_seq);
    EXPECT_EQ(s->revocation->message.reason, static_cast<std::uint16_t>(*expected.reason));
    EXPECT_EQ(s->revocation->message.evidence, expected.evidence);
    EXPECT_EQ(s->outcome(), *expected.reason == RevocationReason::kVsShutdown
                                ? audit::Outcome::kEnded
                                : audit::Outcome::kRevoked);
    EXPECT_EQ(s->heartbeats, expected.heartbeats);
    EXPECT_EQ(s->digests, expected.digests);
    EXPECT_EQ(s->nonce_batches, expected.nonce_batches);
    EXPECT_EQ(s->receipts, expected.receipts);
    EXPECT_EQ(s->tickets, expected.tickets);
    EXPECT_EQ(s->players, expected.players.size());
    // Limits come from the signed JoinAccept.
    EXPECT_EQ(s->limits.max_speed_mm_s, 7000.0);
    EXPECT_EQ(s->limits.jitter_allowance_ms, rules::MovementLimits{}.jitter_allowance_ms);
  }
}

TEST(Sessions, TableAndJson) {
  auto table = run_audit_cli({"sessions", generated_path()});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("revoked: speed_violation"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("ended (vs_shutdown)"), std::string::npos) << table.out;

  auto as_json = run_audit_cli({"sessions", generated_path(), "--json"});
  EXPECT_EQ(as_json.exit_code, 0) << as_json.err;
  auto doc = parse(as_json);
  ASSERT_EQ(doc["sessions"].size(), generated().sessions.size());
  const auto& first = generated().sessions.front();
  const auto& row = doc["sessions"][0];
  EXPECT_EQ(row["session_id"], first.id);
  EXPECT_EQ(row["gs_identity"], to_hex(first.gs_identity));
  EXPECT_EQ(row["heartbeats"], first.heartbeats);
  EXPECT_EQ(row["revocation"]["seq"], first.revocation_seq);
  EXPECT_EQ(row["revocation"]["evidence"], first.evidence);

  auto missing = run_audit_cli({"sessions", "/nonexistent/vs.db"});
  EXPECT_EQ(missing.exit_code, 2);
}

TEST(Sessions, ASessionWithoutRevocationIsActive) {
  TempDir dir;
  const std::string path = dir.file("cut.db");
  copy_store(generated_path(), path);
  const auto& last = generated().sessions.back();  // revoked with vs_shutdown at the very end
  {
    Tamper t(path);
    t.exec("DELETE FROM log_entry WHERE seq >= " + std::to_string(last.revocation_seq));
  }
  auto doc = parse(run_audit_cli({"sessions", path, "--json"}));
  EXPECT_EQ(doc["sessions"].back()["outcome"], "active");
  EXPECT_TRUE(doc["sessions"].back()["revocation"].is_null());
  auto explained = run_audit_cli({"explain", path, "--session", session_arg(last)});
  EXPECT_EQ(explained.exit_code, 0) << explained.err;
  EXPECT_NE(explained.out.find("has not ended"), std::string::npos) << explained.out;
}

// A row whose kind column names another kind than its bytes hold (an insider's edit): sessions,
// explain and timeline read it as a message that does not decode, and finish; they do not take
// the bytes for the kind the row claims.
TEST(Sessions, ARowWhoseKindDisagreesWithItsMessageIsNotTrusted) {
  TempDir dir;
  const std::string path = dir.file("relabelled.db");
  copy_store(generated_path(), path);
  const auto& s = generated().sessions.front();
  {
    Tamper t(path);
    // The session's issued tickets as ResumeAccepts, its received heartbeats as GsResumes.
    const std::string session = std::to_string(s.id);
    t.exec("UPDATE log_entry SET kind = " + std::to_string(int(MessageKind::kResumeAccept)) +
           " WHERE session_id = " + session +
           " AND kind = " + std::to_string(int(MessageKind::kPlayTicket)));
    t.exec("UPDATE log_entry SET kind = " + std::to_string(int(MessageKind::kGsResume)) +
           " WHERE session_id = " + session +
           " AND kind = " + std::to_string(int(MessageKind::kHeartbeat)));
  }
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"sessions", path},
                                             {"explain", path, "--session", session_arg(s)},
                                             {"timeline", path, "--session", session_arg(s)}}) {
    SCOPED_TRACE(args.front());
    const auto r = run_audit_cli(args);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
  }
  auto verified = run_audit_cli({"verify", path});
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE(verified.out.find("the message is a PlayTicket"), std::string::npos) << verified.out;
}

// ---- timeline ---------------------------------------------------------------------------------

TEST(Timeline, TheSpeedViolationIsTheStepTheRevocationCites) {
  const auto* speeding = generated().ended_by(RevocationReason::kSpeedViolation);
  ASSERT_NE(speeding, nullptr);
  auto log = open_generated();
  auto index = audit::build_index(*log);
  ASSERT_TRUE(index.ok());
  auto replay = audit::replay_session(*log, *index->find(speeding->id), generated_vs_key());
  ASSERT_TRUE(replay.ok()) << replay.error();
  std::vector<rules::MovementStep> violations;
  std::size_t positions = 0;
  for (const auto& d : replay->digests) {
    EXPECT_EQ(
        d.verdict == audit::Verdict::kAccepted || d.verdict == audit::Verdict::kSpeedViolation,
        true);
    positions += d.players.size();
    for (const auto& step : d.steps) {
      if (step.violation) violations.push_back(step);
    }
  }
  EXPECT_EQ(replay->digests.size(), speeding->digests);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].from_log_seq, speeding->evidence.at(0));
  EXPECT_EQ(violations[0].to_log_seq, speeding->evidence.at(1));
  EXPECT_EQ(rules::describe_violation(violations[0], index->find(speeding->id)->limits),
            speeding->detail);
  ASSERT_TRUE(replay->assessment.has_value());
  EXPECT_EQ(replay->assessment->support, audit::Support::kSupported);
  EXPECT_EQ(replay->revocation_signature, audit::SigState::kValid);
  EXPECT_EQ(replay->problem_count, 0u);

  // The same through the program, in each format.
  const std::string id = session_arg(*speeding);
  auto as_json = run_audit_cli({"timeline", generated_path(), "--session", id, "--format", "json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  auto doc = parse(as_json);
  EXPECT_EQ(doc["players"].size(), speeding->players.size());
  std::size_t flagged = 0;
  std::size_t rows = 0;
  for (const auto& player : doc["players"]) {
    for (const auto& row : player["rows"]) {
      ++rows;
      if (row["violation"] == true) {
        ++flagged;
        EXPECT_EQ(row["seq"], speeding->evidence.at(1));
        EXPECT_EQ(row["from_seq"], speeding->evidence.at(0));
        EXPECT_EQ(player["player"], to_hex(speeding->players.front()));
        EXPECT_GT(row["speed_mm_s"].get<double>(), row["limit_mm_s"].get<double>());
      }
    }
  }
  EXPECT_EQ(flagged, 1u);
  EXPECT_EQ(rows, positions);

  auto csv = run_audit_cli({"timeline", generated_path(), "--session", id, "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0);
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), static_cast<long>(positions + 1));
  EXPECT_EQ(csv.out.rfind("session_id,player,seq,vs_time_ms", 0), 0u);

  auto table = run_audit_cli({"timeline", generated_path(), "--session", id});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("VIOLATION"), std::string::npos);
  EXPECT_NE(table.out.find("limit 7.70 m/s"), std::string::npos) << table.out;
}

TEST(Timeline, PlayerFilterAndSvg) {
  const auto* speeding = generated().ended_by(RevocationReason::kSpeedViolation);
  ASSERT_NE(speeding, nullptr);
  const std::string id = session_arg(*speeding);
  const std::string prefix = to_hex(speeding->players.at(1)).substr(0, 6);
  auto one = run_audit_cli(
      {"timeline", generated_path(), "--session", id, "--player", prefix, "--format", "json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto doc = parse(one);
  ASSERT_EQ(doc["players"].size(), 1u);
  EXPECT_EQ(doc["players"][0]["player"], to_hex(speeding->players.at(1)));

  TempDir dir;
  const std::string svg_path = dir.file("t.svg");
  auto svg = run_audit_cli(
      {"timeline", generated_path(), "--session", id, "--format", "svg", "-o", svg_path});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  EXPECT_TRUE(svg.out.empty());
  const std::string text = read_text(svg_path);
  EXPECT_EQ(text.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(text.find("</svg>"), std::string::npos);
  EXPECT_NE(text.find("limit 7.70 m/s"), std::string::npos);
  EXPECT_NE(text.find("entry " + std::to_string(speeding->evidence.at(1))), std::string::npos);

  EXPECT_EQ(
      run_audit_cli({"timeline", generated_path(), "--session", id, "--player", "zz"}).exit_code,
      2);
  EXPECT_EQ(run_audit_cli({"timeline", generated_path(), "--session", "99999"}).exit_code, 2);
  EXPECT_EQ(
      run_audit_cli({"timeline", generated_path(), "--session", id, "--format", "xml"}).exit_code,
      2);
  EXPECT_EQ(run_audit_cli({"timeline", generated_path()}).exit_code, 2);
}

// Digests the VS had to refuse are shown, not judged.
TEST(Timeline, RefusedDigestsAreListedButNotJudged) {
  TempDir dir;
  const std::string path = dir.file("bad.db");
  copy_store(generated_path(), path);
  const std::uint64_t target = generated().samples.at(MessageKind::kTranscriptDigest).at(3);
  {
    Tamper t(path);
    const auto size = t.blob(target, "message").size();
    t.flip_byte(target, "message", size - 5);  // the digest's signature
  }
  auto log = storage::Log::open(path, storage::OpenMode::kReadOnly);
  ASSERT_TRUE(log.ok());
  auto index = audit::build_index(**log);
  ASSERT_TRUE(index.ok());
  const auto session = Tamper(path).integer(target, "session_id");
  auto replay =
      audit::replay_session(**log, *index->find(static_cast<SessionId>(session)), std::nullopt);
  ASSERT_TRUE(replay.ok());
  bool seen = false;
  for (const auto& d : replay->digests) {
    if (d.seq == target) {
      seen = true;
      EXPECT_EQ(d.verdict, audit::Verdict::kBadSignature);
      EXPECT_TRUE(d.steps.empty());
    }
  }
  EXPECT_TRUE(seen);
  EXPECT_GT(replay->problem_count, 0u);  // the VS did not revoke for it
}

// ---- explain ----------------------------------------------------------------------------------

TEST(Explain, EveryRevocationReasonIsExplainedAndSupported) {
  const std::string key = to_hex(generated_vs_key());
  for (auto reason : {RevocationReason::kBadSignature, RevocationReason::kCounterRegression,
                      RevocationReason::kSwHashChanged, RevocationReason::kMissedHeartbeats,
                      RevocationReason::kSpeedViolation, RevocationReason::kReceiptTipMismatch,
                      RevocationReason::kOperator, RevocationReason::kMalformedMessage,
                      RevocationReason::kSessionMismatch, RevocationReason::kVsShutdown}) {
    SCOPED_TRACE(std::string(reason_name(reason)));
    const auto* s = generated().ended_by(reason);
    ASSERT_NE(s, nullptr);
    auto r = run_audit_cli(
        {"explain", generated_path(), "--session", session_arg(*s), "--vs-pubkey", key, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto doc = parse(r);
    EXPECT_EQ(doc["consistent"], true);
    EXPECT_EQ(doc["revocation"]["reason"], std::string(reason_name(reason)));
    EXPECT_EQ(doc["revocation"]["signature"], "valid");
    EXPECT_EQ(doc["revocation"]["detail"], s->detail);
    const bool gs_fault =
        reason != RevocationReason::kOperator && reason != RevocationReason::kVsShutdown;
    EXPECT_EQ(doc["support"], gs_fault ? "supported" : "not_a_gs_fault");
    ASSERT_EQ(doc["evidence"].size(), s->evidence.size());
    for (std::size_t i = 0; i < s->evidence.size(); ++i) {
      const auto& e = doc["evidence"][i];
      EXPECT_EQ(e["seq"], s->evidence[i]);
      EXPECT_EQ(e["holds_up"], true) << e.dump();
      // A bad_signature verdict rests on a signature that does not verify; the rest on ones that
      // do.
      const bool fault = e["at_fault"] == true;
      if (reason == RevocationReason::kBadSignature && fault) {
        EXPECT_EQ(e["signature"], "invalid");
      } else if (reason != RevocationReason::kMalformedMessage) {
        EXPECT_EQ(e["signature"], "valid") << e.dump();
      }
    }
    if (reason == RevocationReason::kSpeedViolation) {
      EXPECT_EQ(doc["detail_matches"], true);
      EXPECT_EQ(doc["step"]["from_seq"], s->evidence.at(0));
      EXPECT_EQ(doc["step"]["to_seq"], s->evidence.at(1));
      EXPECT_GT(doc["step"]["accumulated_excess_mm"].get<double>(),
                doc["step"]["max_excess_mm"].get<double>());
      // The detail parses (PROTOCOL.md §8.6's text): every number of it is compared.
      EXPECT_EQ(doc["numbers"].size(), 11u) << doc["numbers"].dump();
      for (const auto& n : doc["numbers"]) EXPECT_EQ(n["stated"], n["recomputed"]) << n.dump();
    }
    if (reason == RevocationReason::kMissedHeartbeats) {
      EXPECT_GE(doc["last_valid_heartbeat"]["silence_ms"].get<std::uint64_t>(), 2000u);
      EXPECT_EQ(doc["last_valid_heartbeat"]["seq"], s->evidence.at(0));
    }
  }
}

TEST(Explain, TextNamesTheRuleTheNumbersAndTheEvidence) {
  const auto* s = generated().ended_by(RevocationReason::kSpeedViolation);
  ASSERT_NE(s, nullptr);
  auto r = run_audit_cli({"explain", generated_path(), "--session", session_arg(*s)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* expected :
       {"REVOKED: speed_violation (5)", "The rule", "7.70 m/s", "matches the recomputation exactly",
        "Evidence (2 entries)", "SUPPORTED", "pass --vs-pubkey"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
  }
  EXPECT_EQ(run_audit_cli({"explain", generated_path(), "--session", "424242"}).exit_code, 2);
}

// A rogue VS signs a speed violation whose evidence shows honest movement: explain says so.
TEST(Explain, ARevocationTheLogDoesNotSupportExitsOne) {
  const auto* s = generated().ended_by(RevocationReason::kSpeedViolation);
  ASSERT_NE(s, nullptr);
  TempDir dir;
  const std::string path = dir.file("rogue.db");
  copy_store(generated_path(), path);
  {
    Tamper t(path);
    auto revocation = decode<Revocation>(t.blob(s->revocation_seq, "message"));
    ASSERT_TRUE(revocation.ok());
    revocation->evidence = {s->join_accept_seq};
    sign(*revocation, generator_vs_key(kAuditSeed));
    t.set_blob(s->revocation_seq, "message", encode(*revocation));
    t.rechain(s->revocation_seq);
  }
  auto r = run_audit_cli({"explain", path, "--session", session_arg(*s), "--vs-pubkey",
                          to_hex(generated_vs_key()), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto doc = parse(r);
  EXPECT_EQ(doc["support"], "unsupported");
  EXPECT_EQ(doc["consistent"], false);
  EXPECT_EQ(doc["evidence"][0]["holds_up"], true);
  EXPECT_FALSE(doc["problems"].empty());
}

}  // namespace
}  // namespace gsvs::testing
