#include "vsd/receipt_batcher.h"

#include <algorithm>
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
  auto waiter = std::make_shared<Waiter>(executor_);
  pending_.push_back(Pending{std::move(receipt), waiter});
  if (pending_.size() >= max_batch_) {
    sign_pending();
  } else if (pending_.size() == 1) {
    // Posted behind every handler already queued on the loop: the sessions whose reads completed
    // with this one get to add their receipts first.
    asio::post(executor_, [this] { sign_pending(); });
  }
  while (waiter->bytes.empty()) {
    boost::system::error_code ec;
    co_await waiter->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(waiter->bytes);
}

void ReceiptBatcher::sign_pending() {
  if (pending_.empty()) return;  // signed already, when the batch filled up
  std::vector<protocol::ProtectedReceipt> receipts;
  receipts.reserve(pending_.size());
  for (auto& p : pending_) receipts.push_back(std::move(p.receipt));
  protocol::sign_receipt_batch(receipts, key_);
  if (signed_batch_) signed_batch_(receipts.size());
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    if (auto waiter = pending_[i].waiter.lock()) {
      waiter->bytes = protocol::encode(receipts[i]);
      waiter->wake.cancel();
    }
  }
  pending_.clear();
}

}  // namespace gsvs::vsd
