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

asio::awaitable<Bytes> ReceiptBatcher::sign(protocol::ProtectedReceipt receipt) {
  if (max_batch_ == 1) {
    // Signed alone, as protocol version 1: nothing to wait for.
    std::array<protocol::ProtectedReceipt, 1> alone{std::move(receipt)};
    co_return std::move(sign_batch(alone).front());
  }
  std::shared_ptr<Turn> turn = turn_.lock();
  if (!turn) {
    turn = std::make_shared<Turn>(executor_);
    turn_ = turn;
  }
  const std::size_t index = pending_.size();
  pending_.push_back(std::move(receipt));
  if (pending_.size() >= max_batch_) {
    sign_pending();
  } else if (index == 0) {
    // Posted behind every handler already queued on the loop: the sessions whose reads completed
    // with this one get to add their receipts first. A batch that fills up is signed before its
    // post runs, and that post must not then sign the next batch before its own turn ends.
    asio::post(executor_, [this, batch = batches_signed_] {
      if (batch == batches_signed_) sign_pending();
    });
  }
  while (turn->encoded.empty()) {
    boost::system::error_code ec;
    co_await turn->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(turn->encoded[index]);
}

void ReceiptBatcher::sign_pending() {
  // Taken out first: whatever throws below (only allocation can) leaves the batcher empty and
  // ready for the next turn, never half signed.
  std::vector<protocol::ProtectedReceipt> receipts = std::exchange(pending_, {});
  const std::shared_ptr<Turn> turn = std::exchange(turn_, {}).lock();
  ++batches_signed_;
  std::vector<Bytes> encoded = sign_batch(receipts);
  if (!turn) return;  // every session of the batch is gone
  turn->encoded = std::move(encoded);
  turn->wake.cancel();
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
