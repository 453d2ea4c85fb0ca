// Receipts signed in batches (PROTOCOL.md §5.11.1): one signature for every receipt that the
// sessions of one loop issue in the same turn of it. A session hands its receipt over and goes
// on judging what it has read; the receipts come back signed once the loop has run what was
// ready with them, so under load one signature serves as many receipts as arrived together, and
// a lone receipt waits no timer: only for the end of its turn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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

  // What a session does with its receipt once signed: gets it back with its encoding.
  using Signed = std::function<void(const protocol::ProtectedReceipt&, Bytes encoded)>;

  // Signs `receipt` with the others asked for in this turn of the loop and hands it to `then`
  // with its encoding, on the loop's thread: at once when signed alone (max_batch 1) or when it
  // fills the batch, otherwise once the handlers ready with it have run. The receipts of a batch
  // come back in the order asked, and batches in the order signed, so a session's receipts come
  // back in its order. From the loop's own thread only; if the loop stops first, `then` is
  // destroyed unrun with the batcher.
  void sign(protocol::ProtectedReceipt receipt, Signed then);

 private:
  void sign_pending();
  // Signs `receipts` under one signature and reports the batch's size; their encodings.
  std::vector<Bytes> sign_batch(std::span<protocol::ProtectedReceipt> receipts);

  net::asio::any_io_executor executor_;
  const crypto::SecretKey& key_;
  std::size_t max_batch_;
  std::function<void(std::size_t)> signed_batch_;
  std::vector<protocol::ProtectedReceipt> pending_;
  std::vector<Signed> waiting_;       // pending_'s `then`s, in the same order
  std::uint64_t batches_signed_ = 0;  // tells a turn's post whether its batch is signed already
};

}  // namespace gsvs::vsd
