// The JSON-lines event log: one printer per event, each line one JSON object with t_ms.
#include "client/events.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace gsvs::client {
namespace {

nlohmann::json parsed(const Event& e) { return nlohmann::json::parse(to_json_line(e, 1234)); }

TEST(Events, Connected) {
  ConnectedEvent e;
  e.session = 7;
  e.gs = "127.0.0.1:7800";
  e.ticket_period_ms = 200;
  e.ticket_validity_ms = 400;
  auto j = parsed(e);
  EXPECT_EQ(j["event"], "connected");
  EXPECT_EQ(j["t_ms"], 1234);
  EXPECT_EQ(j["session"], 7);
  EXPECT_EQ(j["gs"], "127.0.0.1:7800");
  EXPECT_EQ(j["gs_identity"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["ticket_validity_ms"], 400);
}

TEST(Events, TicketAccepted) {
  TicketAcceptedEvent e;
  e.seq = 3;
  e.proven = true;
  e.wall_clock_ok = true;
  e.credit = "nonce";
  e.deadline_in_ms = -12;
  auto j = parsed(e);
  EXPECT_EQ(j["event"], "ticket_accepted");
  EXPECT_EQ(j["seq"], 3);
  EXPECT_EQ(j["proven"], true);
  EXPECT_EQ(j["deadline_in_ms"], -12);
  EXPECT_FALSE(j.contains("note"));
  e.note = "why";
  EXPECT_EQ(parsed(e)["note"], "why");
}

TEST(Events, InputRejected) {
  InputRejectedEvent e{9, "stale_ticket", "ticket 3 is stale"};
  auto j = parsed(e);
  EXPECT_EQ(j["event"], "input_rejected");
  EXPECT_EQ(j["client_seq"], 9);
  EXPECT_EQ(j["reason"], "stale_ticket");
  EXPECT_EQ(j["detail"], "ticket 3 is stale");
}

TEST(Events, DisconnectedWithAndWithoutRevocation) {
  DisconnectedEvent e;
  e.reason = "ticket_starvation";
  e.exit_code = 4;
  e.detail = "deadline passed";
  auto j = parsed(e);
  EXPECT_EQ(j["event"], "disconnected");
  EXPECT_EQ(j["exit_code"], 4);
  EXPECT_TRUE(j["ms_since_last_valid_ticket"].is_null());
  EXPECT_TRUE(j["session"].is_null());
  EXPECT_FALSE(j.contains("revocation_reason"));

  e.reason = "revoked";
  e.exit_code = 3;
  e.session = 7;
  e.ms_since_last_valid_ticket = 55;
  e.revocation = RevocationFacts{"operator", "operator: test", 99, 4, {1, 2}};
  j = parsed(e);
  EXPECT_EQ(j["session"], 7);
  EXPECT_EQ(j["ms_since_last_valid_ticket"], 55);
  EXPECT_EQ(j["revocation_reason"], "operator");
  EXPECT_EQ(j["revocation_detail"], "operator: test");
  EXPECT_EQ(j["revocation_vs_time_ms"], 99);
  EXPECT_EQ(j["revocation_seq"], 4);
  EXPECT_EQ(j["revocation_evidence"], nlohmann::json({1, 2}));
}

TEST(Events, TextFromTheNetworkThatIsNotUtf8StillPrints) {
  InputRejectedEvent e{1, "malformed", std::string("bad \xff byte")};
  EXPECT_NO_THROW(parsed(e));
}

TEST(Events, FileIsAppendedOneLinePerEvent) {
  testing::TempDir dir;
  const std::string path = dir.file("events.jsonl");
  for (int run = 0; run < 2; ++run) {
    auto log = EventLog::open(path);
    ASSERT_TRUE(log.ok()) << log.error();
    EXPECT_TRUE(
        (*log)->write(InputRejectedEvent{static_cast<std::uint64_t>(run), "malformed", ""}));
  }
  const std::string text = testing::read_text(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_FALSE(EventLog::open(dir.file("missing/dir/events")).ok());
}

TEST(Events, AWriteThatFailsIsAnErrorNamingTheTarget) {
  auto log = EventLog::open("/dev/full");
  ASSERT_TRUE(log.ok()) << log.error();
  const Status written = (*log)->write(InputRejectedEvent{1, "malformed", ""});
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().find("cannot write the event log ('/dev/full'): "), std::string::npos)
      << written.error();
}

}  // namespace
}  // namespace gsvs::client
