#include "gsd/nonce_book.h"

#include <algorithm>

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

TicketProofs NonceBook::on_ticket(const protocol::PlayTicket& ticket) {
  TicketProofs out;
  // Candidate k: the first k batches as the VS would bind them (whole batches until the
  // per-ticket cap, the rest of an overflowing batch dropped).
  std::vector<Item> candidate;
  std::size_t matched_batches = 0;
  bool matched = false;
  for (std::size_t k = 0;; ++k) {
    if (candidate.size() == ticket.nonce_count) {
      std::vector<Nonce32> nonces;
      nonces.reserve(candidate.size());
      for (const Item& item : candidate) nonces.push_back(item.nonce);
      if (client_binding::root(nonces) == ticket.client_binding) {
        matched = true;
        matched_batches = k;
        break;
      }
    }
    if (k == sent_.size() || candidate.size() > ticket.nonce_count) break;
    const auto& batch = sent_[k];
    const std::size_t room = kMaxNoncesPerTicket - candidate.size();
    const std::size_t take = std::min(room, batch.size());
    candidate.insert(candidate.end(), batch.begin(),
                     batch.begin() + static_cast<std::ptrdiff_t>(take));
  }
  if (!matched) {
    std::size_t sent_count = 0;
    for (const auto& batch : sent_) sent_count += batch.size();
    out.problem = "ticket " + std::to_string(ticket.ticket_seq) + " binds " +
                  std::to_string(ticket.nonce_count) + " nonces (root " +
                  to_hex(ticket.client_binding).substr(0, 16) + "), which no prefix of the " +
                  std::to_string(sent_count) + " nonces in " + std::to_string(sent_.size()) +
                  " batches sent since the previous ticket gives";
    sent_.clear();
    return out;
  }
  out.matched = true;
  for (std::size_t i = 0; i < matched_batches; ++i) sent_.pop_front();
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
