#include "storage/notarized.h"

#include <string>

namespace gsvs::storage {

Status scan_notarized_digests(const Log& log, protocol::SessionId session,
                              std::optional<std::uint64_t> before_seq,
                              const std::function<bool(const NotarizedDigest&)>& visit) {
  std::optional<Error> bad;
  Filter receipts;
  receipts.session_id = session;
  receipts.kind = protocol::MessageKind::kProtectedReceipt;
  receipts.to_seq = before_seq;
  Status scanned = log.scan(receipts, [&](const Entry& entry) {
    if (entry.header.direction != chains::Direction::kIssued) return true;
    auto receipt = protocol::decode<protocol::ProtectedReceipt>(entry.message);
    if (!receipt) return true;
    auto digest_entry = log.get(receipt->digest_log_seq);
    if (!digest_entry) {
      bad = Error{"the receipt at entry " + std::to_string(entry.header.seq) +
                  " names digest entry " + std::to_string(receipt->digest_log_seq) +
                  ", which cannot be read: " + digest_entry.error()};
      return false;
    }
    auto digest = protocol::decode<protocol::TranscriptDigest>(digest_entry->message);
    if (!digest || digest_entry->header.session_id != session) return true;
    return visit(NotarizedDigest{&entry, &*digest_entry, &*digest});
  });
  if (!scanned) return scanned;
  if (bad) return *bad;
  return {};
}

}  // namespace gsvs::storage
