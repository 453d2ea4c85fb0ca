// The receipts and tickets a session issued lately, kept so that a GS that resumes after a
// network cut gets again those the cut swallowed (PROTOCOL.md §8.15 "Replies lost in a cut"):
// the resume may lag the VS by up to max_receipt_lag receipts and as many tickets, so that many
// of each are kept, and receipts only until a Heartbeat shows the GS holds them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "protocol/bytes.h"

namespace gsvs::vsd {

class ReplyBacklog {
 public:
  // Keeps up to `max_lag` receipts and `max_lag` tickets (the session's signed max_receipt_lag).
  explicit ReplyBacklog(std::uint32_t max_lag = 0) : max_lag_(max_lag) {}

  // Receipt `index` (§6.3) or ticket `seq` (§6.2) was issued as `bytes`, in log order.
  void receipt_issued(std::uint64_t index, const Bytes& bytes);
  void ticket_issued(std::uint64_t seq, const Bytes& bytes);
  // A Heartbeat said the GS holds the first `count` receipts: they need not go again.
  void receipts_held(std::uint64_t count);

  // What a GS holding `receipt_count` receipts and ticket `ticket_seq` lacks, in the order
  // issued; empty when the GS is up to date, or when what it lacks is no longer kept (its
  // next receipt or ticket then fails the GS's chain check, which ends the session there).
  [[nodiscard]] std::vector<Bytes> missed_by(std::uint64_t receipt_count,
                                             std::uint64_t ticket_seq) const;

 private:
  struct Issued {
    bool is_ticket = false;
    std::uint64_t number = 0;  // receipt index or ticket seq
    Bytes bytes;
  };
  void trim();

  std::uint32_t max_lag_;
  std::deque<Issued> issued_;  // oldest first
  std::size_t tickets_kept_ = 0;
  std::size_t receipts_kept_ = 0;
};

}  // namespace gsvs::vsd
