#include "vsd/reply_backlog.h"

#include <algorithm>

namespace gsvs::vsd {

void ReplyBacklog::receipt_issued(std::uint64_t index, const Bytes& bytes) {
  if (max_lag_ == 0) return;
  issued_.push_back({false, index, bytes});
  ++receipts_kept_;
  trim();
}

void ReplyBacklog::ticket_issued(std::uint64_t seq, const Bytes& bytes) {
  if (max_lag_ == 0) return;
  issued_.push_back({true, seq, bytes});
  ++tickets_kept_;
  trim();
}

void ReplyBacklog::receipts_held(std::uint64_t count) {
  std::erase_if(issued_, [&](const Issued& i) {
    if (i.is_ticket || i.number > count) return false;
    --receipts_kept_;
    return true;
  });
}

void ReplyBacklog::trim() {
  // The oldest of a kind over its cap goes; the other kind's entries stay where they are.
  auto drop_oldest = [&](bool ticket) {
    auto it = std::find_if(issued_.begin(), issued_.end(),
                           [&](const Issued& i) { return i.is_ticket == ticket; });
    if (it != issued_.end()) issued_.erase(it);
  };
  while (tickets_kept_ > max_lag_) {
    drop_oldest(true);
    --tickets_kept_;
  }
  while (receipts_kept_ > max_lag_) {
    drop_oldest(false);
    --receipts_kept_;
  }
}

std::vector<Bytes> ReplyBacklog::missed_by(std::uint64_t receipt_count,
                                           std::uint64_t ticket_seq) const {
  // Each chain must go on from what the GS holds: when the next one it needs is gone, sending
  // the later ones would not help it.
  auto first_kept = [&](bool ticket) -> std::uint64_t {
    for (const Issued& i : issued_) {
      if (i.is_ticket == ticket) return i.number;
    }
    return 0;
  };
  const std::uint64_t first_ticket = first_kept(true);
  const std::uint64_t first_receipt = first_kept(false);
  const bool tickets_whole = first_ticket == 0 || first_ticket <= ticket_seq + 1;
  const bool receipts_whole = first_receipt == 0 || first_receipt <= receipt_count + 1;
  std::vector<Bytes> missed;
  for (const Issued& i : issued_) {
    const bool lacks = i.is_ticket ? tickets_whole && i.number > ticket_seq
                                   : receipts_whole && i.number > receipt_count;
    if (lacks) missed.push_back(i.bytes);
  }
  return missed;
}

}  // namespace gsvs::vsd
