#include "gsd/nonce_book.h"

#include <algorithm>
#include <optional>

#include "protocol/merkle.h"

namespace gsvs::gsd {

using protocol::kMaxNoncesPerBatch;
using protocol::kMaxNoncesPerTicket;

void NonceBook::add(ClientId client, const Nonce32& nonce) {
  for (Item& item : pending_) {
    if (item.client == client) {
      item.nonce = nonce;
      return;
    }
  }
  pending_.push_back(Item{client, nonce});
}

std::vector<Nonce32> NonceBook::take_batch() {
  const std::size_t take = std::min(pending_.size(), kMaxNoncesPerBatch);
  std::vector<Item> batch(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
  std::vector<Nonce32> nonces;
  nonces.reserve(batch.size());
  for (const Item& item : batch) nonces.push_back(item.nonce);
  if (!batch.empty()) sent_.push_back(std::move(batch));
  return nonces;
}

namespace {

// Batches kept for a ticket to bind: far more than a ticket period's worth at the pace the GS
// sends them (PROTOCOL.md §9.5); older ones no ticket can bind any more are forgotten.
constexpr std::size_t kMaxUnboundBatches = 64;

}  // namespace

std::vector<NonceBook::Item> NonceBook::binding_of(std::size_t first, std::size_t end,
                                                   std::size_t cut, std::size_t cut_end) const {
  std::vector<Item> bound;
  auto take = [&](std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to && bound.size() < kMaxNoncesPerTicket; ++k) {
      const auto& batch = sent_[k];
      const std::size_t room = kMaxNoncesPerTicket - bound.size();
      bound.insert(bound.end(), batch.begin(),
                   batch.begin() + static_cast<std::ptrdiff_t>(std::min(room, batch.size())));
    }
  };
  take(first, end);
  if (cut_end > cut) take(cut, cut_end);
  return bound;
}

TicketProofs NonceBook::on_ticket(const protocol::PlayTicket& ticket) {
  TicketProofs out;
  const std::size_t cut = std::min(sent_before_cut_, sent_.size());
  const auto binds = [&](const std::vector<Item>& candidate) {
    if (candidate.size() != ticket.nonce_count) return false;
    std::vector<Nonce32> nonces;
    nonces.reserve(candidate.size());
    for (const Item& item : candidate) nonces.push_back(item.nonce);
    return client_binding::root(nonces) == ticket.client_binding;
  };
  // How many nonces batches [from, to) add to `count` nonces already bound, under the cap.
  const auto count_with = [&](std::size_t count, std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to; ++k) count += sent_[k].size();
    return std::min(count, kMaxNoncesPerTicket);
  };
  // The ticket binds batches [first, end), and after a lost connection possibly [cut, cut_end)
  // too; it consumes every batch before the last it binds. The usual case, first = 0 and no
  // cut, is tried first; the Merkle root is computed only where the count is the ticket's.
  std::vector<Item> candidate;
  std::optional<std::size_t> consumed;
  for (std::size_t first = 0; first <= sent_.size() && !consumed; ++first) {
    for (std::size_t end = first; end <= sent_.size() && !consumed; ++end) {
      const std::size_t count = count_with(0, first, end);
      if (count > ticket.nonce_count) break;
      if (count == ticket.nonce_count && binds(candidate = binding_of(first, end, cut, cut))) {
        consumed = end;
      }
      // The old connection's batches from `end` on never reached the VS: those after the cut.
      for (std::size_t cut_end = cut + 1; !consumed && end < cut && cut_end <= sent_.size();
           ++cut_end) {
        const std::size_t with_cut = count_with(count, cut, cut_end);
        if (with_cut > ticket.nonce_count) break;
        if (with_cut == ticket.nonce_count &&
            binds(candidate = binding_of(first, end, cut, cut_end))) {
          consumed = cut_end;
        }
      }
    }
  }
  if (!consumed) {
    std::size_t sent_count = 0;
    for (const auto& batch : sent_) sent_count += batch.size();
    out.problem = "ticket " + std::to_string(ticket.ticket_seq) + " binds " +
                  std::to_string(ticket.nonce_count) + " nonces (root " +
                  to_hex(ticket.client_binding).substr(0, 16) + "), which none of the " +
                  std::to_string(sent_count) + " nonces in " + std::to_string(sent_.size()) +
                  " batches sent and not yet bound gives";
    while (sent_.size() > kMaxUnboundBatches) {
      sent_.pop_front();
      if (sent_before_cut_ > 0) --sent_before_cut_;
    }
    return out;
  }
  sent_.erase(sent_.begin(), sent_.begin() + static_cast<std::ptrdiff_t>(*consumed));
  sent_before_cut_ = cut > *consumed ? cut - *consumed : 0;
  out.matched = true;
  if (candidate.empty()) return out;
  std::vector<Nonce32> nonces;
  nonces.reserve(candidate.size());
  std::map<ClientId, std::uint32_t> latest;  // each client's last position in the batch
  for (std::size_t i = 0; i < candidate.size(); ++i) {
    nonces.push_back(candidate[i].nonce);
    latest[candidate[i].client] = static_cast<std::uint32_t>(i);
  }
  for (const auto& [client, index] : latest) {
    NonceProof proof;
    proof.nonce = nonces[index];
    proof.leaf_index = index;
    proof.proof = client_binding::proof(nonces, index);
    out.proofs.emplace(client, std::move(proof));
  }
  return out;
}

}  // namespace gsvs::gsd
