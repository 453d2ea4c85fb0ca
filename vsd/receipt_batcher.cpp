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
    // with this one get to add their receipts first.
    asio::post(executor_, [this] { sign_pending(); });
  }
  while (turn->encoded.empty()) {
    boost::system::error_code ec;
    co_await turn->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(turn->encoded[index]);
}

void ReceiptBatcher::sign_pending() {
  if (pending_.empty()) return;  // signed already, when the batch filled up
  protocol::sign_receipt_batch(pending_, key_);
  if (signed_batch_) signed_batch_(pending_.size());
  if (auto turn = turn_.lock()) {
    turn->encoded.reserve(pending_.size());
    for (const auto& receipt : pending_) turn->encoded.push_back(protocol::encode(receipt));
    turn->wake.cancel();
  }
  pending_.clear();
  turn_.reset();
}

}  // namespace gsvs::vsd
