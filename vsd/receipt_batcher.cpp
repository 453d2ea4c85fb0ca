#include "vsd/receipt_batcher.h"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <utility>

namespace gsvs::vsd {

namespace asio = net::asio;

ReceiptBatcher::ReceiptBatcher(asio::any_io_executor executor, const crypto::SecretKey& key,
                               std::size_t max_batch, std::function<void(std::size_t)> signed_batch)
    : executor_(std::move(executor)),
      key_(key),
      max_batch_(std::clamp<std::size_t>(max_batch, 1, protocol::kMaxReceiptBatch)),
      signed_batch_(std::move(signed_batch)) {}

void ReceiptBatcher::sign(protocol::ProtectedReceipt receipt, Signed then) {
  if (max_batch_ == 1) {
    // Signed alone, as protocol version 1: nothing to wait for.
    std::array<protocol::ProtectedReceipt, 1> alone{std::move(receipt)};
    Bytes encoded = std::move(sign_batch(alone).front());
    then(alone.front(), std::move(encoded));
    return;
  }
  pending_.push_back(std::move(receipt));
  waiting_.push_back(std::move(then));
  if (pending_.size() >= max_batch_) {
    sign_pending();
  } else if (pending_.size() == 1) {
    // Posted behind every handler already queued on the loop: the sessions whose reads completed
    // with this one get to add their receipts first. A batch that fills up is signed before its
    // post runs, and that post must not then sign the next batch before its own turn ends.
    asio::post(executor_, [this, batch = batches_signed_] {
      if (batch == batches_signed_) sign_pending();
    });
  }
}

void ReceiptBatcher::sign_pending() {
  // Taken out first: a `then` may ask for the next receipt, which starts the next batch, and
  // whatever throws below (only allocation can) leaves the batcher ready for the next turn.
  std::vector<protocol::ProtectedReceipt> receipts = std::exchange(pending_, {});
  std::vector<Signed> waiting = std::exchange(waiting_, {});
  ++batches_signed_;
  std::vector<Bytes> encoded = sign_batch(receipts);
  for (std::size_t i = 0; i < receipts.size(); ++i) waiting[i](receipts[i], std::move(encoded[i]));
}

std::vector<Bytes> ReceiptBatcher::sign_batch(std::span<protocol::ProtectedReceipt> receipts) {
  protocol::sign_receipt_batch(receipts, key_);
  if (signed_batch_) signed_batch_(receipts.size());
  std::vector<Bytes> encoded;
  encoded.reserve(receipts.size());
  for (const auto& receipt : receipts) encoded.push_back(protocol::encode(receipt));
  return encoded;
}

}  // namespace gsvs::vsd
