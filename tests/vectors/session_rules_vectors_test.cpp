// Checks tests/vectors/session_rules.json against rules::SessionRules both ways: the generator's
// cases rebuilt from their seeds must give the file, and every case replayed from the file alone
// (its hex, log positions and VS times; signatures checked with the keys it lists) must give the
// outcomes it records. A change of any session rule shows up here.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/vectors/session_rules_samples.h"

namespace gsvs::test_samples {
namespace {

constexpr std::string_view kRegenerateSessionRules =
    "if the change is intended, regenerate with: gen_vectors tests/vectors (see "
    "tests/vectors/README.md) and update docs/PROTOCOL.md §8.5 to §8.7";

crypto::PublicKey vs_key_of(const Json& doc) {
  for (const auto& k : doc.at("keys")) {
    if (k.at("name") != "vs") continue;
    if (auto key = fixed_from_hex<32>(k.at("public_key_hex").get<std::string>())) return *key;
  }
  throw std::invalid_argument("the keys section has no vs key");
}

// The fields of `expected` and `actual` that differ, each value cut short: a case is kilobytes.
std::string differences(const Json& expected, const Json& actual) {
  if (!expected.is_object() || !actual.is_object()) {
    return "file: " + expected.dump().substr(0, 300) + "\n  now:  " + actual.dump().substr(0, 300);
  }
  std::string out;
  for (const auto& [key, value] : expected.items()) {
    const Json now = actual.contains(key) ? actual.at(key) : Json("(absent)");
    if (now.dump() == value.dump()) continue;
    out += "\n  " + key + ": file " + value.dump().substr(0, 300) + "\n  " +
           std::string(key.size(), ' ') + "  now  " + now.dump().substr(0, 300);
  }
  for (const auto& [key, value] : actual.items()) {
    if (!expected.contains(key)) out += "\n  " + key + ": not in the file";
  }
  return out;
}

TEST(SessionRulesVectors, FileIsWhatTheGeneratorWrites) {
  const Json file = load_vectors_file("session_rules.json");
  const Json now = session_rules_document(Keys());
  ASSERT_EQ(file.size(), now.size()) << kRegenerateSessionRules;
  for (const auto& [key, value] : file.items()) {
    if (key == "cases") continue;
    EXPECT_EQ(value.dump(), now.at(key).dump()) << key << "; " << kRegenerateSessionRules;
  }
  const Json& cases = file.at("cases");
  ASSERT_EQ(cases.size(), now.at("cases").size()) << kRegenerateSessionRules;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(cases[i].dump() == now.at("cases")[i].dump())
        << "case " << cases[i].at("name") << differences(cases[i], now.at("cases")[i]) << "\n"
        << kRegenerateSessionRules;
  }
}

TEST(SessionRulesVectors, EveryCaseReplaysFromTheFileAlone) {
  const Json doc = load_vectors_file("session_rules.json");
  const crypto::PublicKey vs_key = vs_key_of(doc);
  for (const auto& c : doc.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Json& join = c.at("join_accept");
    CaseReplay replay(bytes_from_hex(join.at("message_hex")), join.at("position"),
                      join.at("vs_time_ms"), vs_key);
    EXPECT_EQ(replay.join_accept_event().dump(), join.dump());
    for (const auto& event : c.at("events")) {
      Json replayed;
      const std::string kind = event.at("event");
      if (kind == "receive") {
        replayed = replay.receive(bytes_from_hex(event.at("message_hex")), event.at("position"),
                                  event.at("vs_time_ms"));
        if (replay.receipt_due()) {
          const Json& receipt = event.at("receipt");
          replayed["receipt"] =
              replay.receipt(bytes_from_hex(receipt.at("message_hex")), receipt.at("position"));
        }
      } else if (kind == "ticket") {
        replayed = replay.ticket(bytes_from_hex(event.at("message_hex")), event.at("position"));
      } else if (kind == "liveness_check") {
        replayed = replay.liveness_check(event.at("vs_time_ms"));
      } else {
        FAIL() << "unknown event " << kind;
      }
      EXPECT_TRUE(replayed.dump() == event.dump())
          << "event at position " << event.value("position", Json()) << " ("
          << event.value("vs_time_ms", Json()) << " ms)" << differences(event, replayed) << "\n"
          << kRegenerateSessionRules;
    }
    // Each case runs to its end: a session that is over says so.
    const Json& last = c.at("events").back();
    EXPECT_EQ(replay.rules().ended(), last.contains("revocation") && !last["revocation"].is_null());
  }
}

TEST(SessionRulesVectors, EveryReasonOfTheRulesIsCovered) {
  const Json doc = load_vectors_file("session_rules.json");
  std::set<std::string> reasons;
  std::set<std::string> names;
  for (const auto& c : doc.at("cases")) {
    EXPECT_TRUE(names.insert(c.at("name").get<std::string>()).second) << c.at("name");
    for (const auto& event : c.at("events")) {
      if (event.contains("revocation") && !event.at("revocation").is_null()) {
        reasons.insert(event.at("revocation").at("reason").get<std::string>());
      }
    }
  }
  for (auto reason :
       {protocol::RevocationReason::kMalformedMessage, protocol::RevocationReason::kSessionMismatch,
        protocol::RevocationReason::kBadSignature, protocol::RevocationReason::kCounterRegression,
        protocol::RevocationReason::kMissedHeartbeats, protocol::RevocationReason::kSwHashChanged,
        protocol::RevocationReason::kReceiptTipMismatch,
        protocol::RevocationReason::kTooManyPlayers, protocol::RevocationReason::kSpeedViolation,
        protocol::RevocationReason::kGsLeft, protocol::RevocationReason::kDigestsStopped,
        protocol::RevocationReason::kDigestsLate}) {
    EXPECT_TRUE(reasons.contains(std::string(protocol::reason_name(reason))))
        << protocol::reason_name(reason);
  }
}

}  // namespace
}  // namespace gsvs::test_samples
