// Receipts signed in batches (PROTOCOL.md §5.11.1): one signature for every receipt that the
// sessions of one loop issue in the same turn of it. A session that asks waits until the loop
// has run what was ready with it, so under load one signature serves as many receipts as
// arrived together, and a lone receipt waits no timer: only for the end of its turn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "net/asio.h"
#include "protocol/bytes.h"
#include "protocol/crypto.h"
#include "protocol/messages.h"

namespace gsvs::vsd {

class ReceiptBatcher {
 public:
  // `key` must outlive this batcher; `max_batch` receipts at most under one signature (1 signs
  // each alone, as protocol version 1), and the batch is signed at once when it is full.
  // `signed_batch` is told each batch's size (metrics: quick, thread-safe).
  ReceiptBatcher(net::asio::any_io_executor executor, const crypto::SecretKey& key,
                 std::size_t max_batch, std::function<void(std::size_t)> signed_batch = {});
  ReceiptBatcher(const ReceiptBatcher&) = delete;
  ReceiptBatcher& operator=(const ReceiptBatcher&) = delete;

  // Signs `receipt` with the others asked for in this turn of the loop; its encoding. From the
  // loop's own thread only.
  net::asio::awaitable<Bytes> sign(protocol::ProtectedReceipt receipt);

 private:
  // One turn's batch, as its sessions wait on it: one timer for all of them, cancelled once
  // signed. The sessions own it and the batcher holds it weakly: sessions destroyed while they
  // wait (the loop stopping) take the timer with them, and their receipts are signed for no one.
  struct Turn {
    explicit Turn(const net::asio::any_io_executor& executor)
        : wake(executor, std::chrono::steady_clock::time_point::max()) {}
    net::asio::steady_timer wake;
    std::vector<Bytes> encoded;  // pending_'s receipts signed, in order; empty until then
  };
  void sign_pending();
  // Signs `receipts` under one signature and reports the batch's size; their encodings.
  std::vector<Bytes> sign_batch(std::span<protocol::ProtectedReceipt> receipts);

  net::asio::any_io_executor executor_;
  const crypto::SecretKey& key_;
  std::size_t max_batch_;
  std::function<void(std::size_t)> signed_batch_;
  std::vector<protocol::ProtectedReceipt> pending_;
  std::weak_ptr<Turn> turn_;
  std::uint64_t batches_signed_ = 0;  // tells a turn's post whether its batch is signed already
};

}  // namespace gsvs::vsd
