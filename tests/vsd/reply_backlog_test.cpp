// What a session sends again to a GS that resumed after a cut (vsd/reply_backlog.h,
// PROTOCOL.md §8.15 "Replies lost in a cut"), one row per case.
#include "vsd/reply_backlog.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gsvs::vsd {
namespace {

// Stand-ins for the signed bytes: "r3" is receipt 3, "t2" ticket 2.
Bytes backlog_receipt(std::uint64_t index) {
  const std::string text = "r" + std::to_string(index);
  return {text.begin(), text.end()};
}
Bytes backlog_ticket(std::uint64_t seq) {
  const std::string text = "t" + std::to_string(seq);
  return {text.begin(), text.end()};
}
std::vector<std::string> backlog_names(const std::vector<Bytes>& sent) {
  std::vector<std::string> out;
  for (const Bytes& b : sent) out.emplace_back(b.begin(), b.end());
  return out;
}

// The session issued, in this order: r1 t1 r2 r3 t2 r4 t3.
ReplyBacklog backlog_issued(std::uint32_t max_lag) {
  ReplyBacklog backlog(max_lag);
  backlog.receipt_issued(1, backlog_receipt(1));
  backlog.ticket_issued(1, backlog_ticket(1));
  backlog.receipt_issued(2, backlog_receipt(2));
  backlog.receipt_issued(3, backlog_receipt(3));
  backlog.ticket_issued(2, backlog_ticket(2));
  backlog.receipt_issued(4, backlog_receipt(4));
  backlog.ticket_issued(3, backlog_ticket(3));
  return backlog;
}

struct BacklogRow {
  std::string name;
  std::uint32_t max_lag;
  std::uint64_t held_by_heartbeat;  // 0: no heartbeat since
  std::uint64_t receipt_count;      // what the GsResume names
  std::uint64_t ticket_seq;
  std::vector<std::string> expected;
};

TEST(ReplyBacklog, SendsAgainWhatTheGsLacksInTheOrderIssued) {
  const std::vector<BacklogRow> rows{
      {"up to date: nothing", 8, 0, 4, 3, {}},
      {"the last ticket lost", 8, 0, 4, 2, {"t3"}},
      {"the last receipt and ticket lost", 8, 0, 3, 2, {"r4", "t3"}},
      {"everything lost, in issue order", 8, 0, 0, 0, {"r1", "t1", "r2", "r3", "t2", "r4", "t3"}},
      {"kept only up to the lag: tickets", 2, 0, 4, 1, {"t2", "t3"}},
      {"lagging past what is kept: that chain is not sent", 2, 0, 4, 0, {}},
      {"receipts past what is kept, tickets within", 2, 0, 1, 2, {"t3"}},
      {"a heartbeat held receipts: not kept", 8, 3, 3, 2, {"r4", "t3"}},
      {"no lag allowed: nothing kept", 0, 0, 0, 0, {}},
  };
  for (const auto& row : rows) {
    ReplyBacklog backlog = backlog_issued(row.max_lag);
    if (row.held_by_heartbeat > 0) backlog.receipts_held(row.held_by_heartbeat);
    EXPECT_EQ(backlog_names(backlog.missed_by(row.receipt_count, row.ticket_seq)), row.expected)
        << row.name;
  }
}

}  // namespace
}  // namespace gsvs::vsd
