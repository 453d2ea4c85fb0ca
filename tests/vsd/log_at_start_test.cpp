// What a start of vsd reads of its log, which retention keeps (vsd/log_at_start.h): a table of
// logs, each as read_log_at_start would give it, and the oldest entry a start reads.
#include "vsd/log_at_start.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace gsvs::vsd {
namespace {

using protocol::RevocationReason;

constexpr std::uint64_t kNowMs = 1'796'000'000'000;  // December 2026
constexpr std::uint64_t kHour = 3'600'000;

protocol::PublicKey identity(int i) { return crypto::sha256(as_bytes("gs " + std::to_string(i))); }

// A log: a policy at entry 5 (its quarantine_ms as given); session 1 joined at entry 10 and was
// revoked at 20; session 2 joined at 30, the highest id; the highest revocation at 40 and the
// newest policy at 50 (a later start's).
LogAtStart base_log(std::uint32_t quarantine_ms) {
  LogAtStart log;
  log.continuity_since_ms = kNowMs - 600'000;
  log.start_of = {{1, 10}, {2, 30}};
  log.identity_of = {{1, identity(1)}, {2, identity(2)}};
  log.session = {2, 30};
  log.revocation = {2, 40};
  log.policy = {2, 50};
  log.quarantine_events.emplace(
      5, QuarantineEvent{QuarantineEvent::Kind::kPolicy, {}, 0, 0, 0, quarantine_ms});
  log.quarantine_events.emplace(50,
                                QuarantineEvent{QuarantineEvent::Kind::kPolicy, {}, 0, 0, 0, 0});
  return log;
}

struct Row {
  std::string name;
  std::uint32_t quarantine_ms;  // of the policy at entry 5
  bool quarantined;             // session 1's revocation at entry 20 (48 h ago) quarantines
  bool pardoned;                // a Pardon of it at entry 35
  bool session_1_live;          // no revocation: still live
  bool session_1_ended_recently;
  std::uint64_t oldest;
  std::string why;
};

TEST(OldestReadAtStart, KeepsWhatAStartRebuildsAndNothingElse) {
  const std::uint64_t revoked_ms = kNowMs - 48 * kHour;
  const std::string in_force =
      "the quarantine of session 1 (" + short_hex(identity(1)) + "), in force";
  const std::vector<Row> rows = {
      {"nothing in force: the highest session id", 0, false, false, false, false, 30,
       "the highest session id (2)"},
      {"a quarantine until pardoned: from the policy it began under", 0, true, false, false, false,
       5, in_force},
      {"a quarantine whose term runs on", 72 * kHour, true, false, false, false, 5, in_force},
      {"a lapsed quarantine holds nothing", kHour, true, false, false, false, 30,
       "the highest session id (2)"},
      {"a pardoned quarantine holds nothing", 0, true, true, false, false, 30,
       "the highest session id (2)"},
      {"a live session: from its start", 0, false, false, true, false, 10,
       "the start of session 1, still live"},
      {"a session ended within the continuity window: from its start", 0, false, false, false, true,
       10, "the start of session 1, ended within the continuity window"},
  };
  for (const auto& row : rows) {
    LogAtStart log = base_log(row.quarantine_ms);
    if (row.quarantined) {
      log.quarantine_events.emplace(
          20, QuarantineEvent{QuarantineEvent::Kind::kRevocation, identity(1), 1,
                              static_cast<std::uint16_t>(RevocationReason::kSpeedViolation),
                              revoked_ms, 0});
    }
    if (row.pardoned) {
      log.quarantine_events.emplace(35, QuarantineEvent{QuarantineEvent::Kind::kPardon, identity(1),
                                                        0, 0, revoked_ms + 1, 0});
    }
    if (row.session_1_live) log.open_sessions[1] = 10;
    if (row.session_1_ended_recently) log.ended_recently[1] = EndedSession{10, 20};
    const auto oldest = oldest_read_at_start(log, kNowMs);
    ASSERT_TRUE(oldest) << row.name;
    EXPECT_EQ(oldest->seq, row.oldest) << row.name << ": " << oldest->why;
    EXPECT_EQ(oldest->why, row.why) << row.name;
  }
}

TEST(OldestReadAtStart, AnEmptyLogHoldsNothingAStartReads) {
  EXPECT_FALSE(oldest_read_at_start(LogAtStart{}, kNowMs));
}

}  // namespace
}  // namespace gsvs::vsd
