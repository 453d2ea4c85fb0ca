// What a start of vsd reads of its log, which retention keeps (vsd/log_at_start.h): a table of
// logs, each as read_log_at_start would give it, and the oldest entry a start reads.
#include "vsd/log_at_start.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/log.h"
#include "tests/support/process.h"

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

// A carry (PROTOCOL.md §8.16 "Carried forward") read from a real store: a start takes the latest
// whole one in place of what it restates, and a carry with a part missing is none.
class CarriedAtStart : public ::testing::Test {
 protected:
  // Appends `message`, issued, as the VS logs it; its position.
  template <class M>
  std::uint64_t append(const M& message, protocol::SessionId session = 0) {
    const storage::PendingEntry entry{M::kKind, chains::Direction::kIssued, session, kNowMs - kHour,
                                      protocol::encode(message)};
    auto placed = store_->append(std::span(&entry, 1));
    EXPECT_TRUE(placed.ok()) << placed.error();
    return placed.ok() ? placed->front().header.seq : 0;
  }
  // A JoinAccept of session `id` for identity(id), and a speed Revocation of it.
  void join_and_revoke(protocol::SessionId id, std::uint64_t revocation_seq) {
    protocol::JoinAccept accept;
    accept.session_id = id;
    accept.gs_identity = identity(static_cast<int>(id));
    append(accept, id);
    protocol::Revocation revocation;
    revocation.session_id = id;
    revocation.revocation_seq = revocation_seq;
    revocation.vs_time_ms = kNowMs - 2 * kHour;
    revocation.reason = static_cast<std::uint16_t>(RevocationReason::kSpeedViolation);
    append(revocation, id);
  }
  protocol::StateCarried carry(std::uint16_t part, std::uint16_t parts,
                               std::vector<protocol::CarriedQuarantine> quarantines) const {
    protocol::StateCarried c;
    c.log_size = store_->size();
    c.vs_time_ms = kNowMs - kHour;
    c.part = part;
    c.parts = parts;
    c.session_id_high = 40;  // more than the log shows: ids handed out, not yet placed
    c.revocation_seq_high = 2;
    c.quarantines = std::move(quarantines);
    return c;
  }
  static protocol::CarriedQuarantine carried(int id, std::uint64_t revocation_position) {
    return {identity(id),
            static_cast<protocol::SessionId>(id),
            static_cast<std::uint16_t>(RevocationReason::kSpeedViolation),
            kNowMs - 2 * kHour,
            0,
            revocation_position};
  }
  LogAtStart read() const {
    auto read = read_log_at_start(*store_, dir_.path(), kNowMs);
    EXPECT_TRUE(read.ok()) << read.error();
    return read.ok() ? *read : LogAtStart{};
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Log> store_ = [this] {
    auto opened = storage::Log::open(dir_.file("vs.db"), storage::OpenMode::kReadWrite);
    EXPECT_TRUE(opened.ok()) << opened.error();
    return std::move(opened).value();
  }();
};

TEST_F(CarriedAtStart, TheLatestWholeCarryStandsForWhatItRestates) {
  join_and_revoke(1, 1);  // entries 0 and 1: identity 1 quarantined until pardoned
  join_and_revoke(2, 2);  // entries 2 and 3: identity 2 too
  // Entries 4 and 5: a carry in two parts restating both (and identity 9's, from entries retired
  // long ago, on the VS's word).
  const auto carry_at = append(carry(0, 2, {carried(1, 1), carried(2, 3)}));
  append(carry(1, 2, {carried(9, 0)}));
  const LogAtStart read_log = read();
  ASSERT_TRUE(read_log.carry);
  EXPECT_EQ(read_log.carry->position, carry_at);
  EXPECT_EQ(read_log.carry->state.quarantines.size(), 3U);
  EXPECT_TRUE(read_log.quarantine_events.empty());  // all before the carry
  EXPECT_EQ(read_log.session.value, 40U);
  EXPECT_EQ(read_log.session.position, carry_at);
  EXPECT_EQ(read_log.revocation.position, carry_at);  // the same number, the later entry
  rules::QuarantineLedger ledger;
  replay_quarantines(read_log, ledger);
  for (const int id : {1, 2, 9}) EXPECT_TRUE(ledger.quarantine_of(identity(id), kNowMs)) << id;
  EXPECT_EQ(ledger.quarantine_of(identity(2), kNowMs)->position, 3U);  // what a Pardon names
  const auto oldest = oldest_read_at_start(read_log, kNowMs);
  ASSERT_TRUE(oldest);
  EXPECT_EQ(oldest->seq, carry_at) << oldest->why;
  EXPECT_EQ(oldest->why, "the state carried forward (StateCarried at entry 4)");

  // A quarantine begun after it is read from its Revocation; the carry is still read.
  join_and_revoke(3, 3);  // entries 6 and 7
  const LogAtStart after = read();
  EXPECT_EQ(after.quarantine_events.size(), 1U);
  EXPECT_EQ(after.revocation.position, 7U);
  EXPECT_EQ(oldest_read_at_start(after, kNowMs)->seq, carry_at);
}

TEST_F(CarriedAtStart, ACarryWithAPartMissingIsNone) {
  join_and_revoke(1, 1);
  const auto whole = append(carry(0, 1, {carried(1, 1)}));
  // Part 0 of 2, then an entry where part 1 should be, then a part 1 out of place.
  append(carry(0, 2, {}));
  protocol::Checkpoint checkpoint;
  checkpoint.log_size = store_->size();
  append(checkpoint);
  append(carry(1, 2, {}));
  const LogAtStart read_log = read();
  ASSERT_TRUE(read_log.carry);
  EXPECT_EQ(read_log.carry->position, whole);
  rules::QuarantineLedger ledger;
  replay_quarantines(read_log, ledger);
  EXPECT_TRUE(ledger.quarantine_of(identity(1), kNowMs));
}

}  // namespace
}  // namespace gsvs::vsd
