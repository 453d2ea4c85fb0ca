// Client nonces on their way to the VS and back (docs/PROTOCOL.md §6.7, §9.2): collected from
// clients, sent in NonceBatches, and, when a ticket arrives, matched against its client_binding
// so that each client gets the inclusion proof of its latest nonce in that ticket's batch.
// Pure logic: the daemon sends the batches and the TicketForwards.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace gsvs::gsd {

using ClientId = std::uint64_t;

struct NonceProof {
  Nonce32 nonce;
  std::uint32_t leaf_index = 0;
  std::vector<Hash32> proof;
};

struct TicketProofs {
  bool matched = false;                   // the ticket's binding is a batch this GS sent
  std::string problem;                    // why not, when !matched
  std::map<ClientId, NonceProof> proofs;  // clients with a nonce in the ticket's batch
};

class NonceBook {
 public:
  // A client's fresh nonce. Only its newest pending one is kept: a client that floods nonces
  // gets no more room in a batch than one that sends them at the agreed pace.
  void add(ClientId client, const Nonce32& nonce);
  [[nodiscard]] bool has_pending() const { return !pending_.empty(); }
  // Up to kMaxNoncesPerBatch pending nonces in arrival order, remembered as sent. The caller
  // sends them in one NonceBatch, in this order.
  std::vector<Nonce32> take_batch();
  // Forgets pending nonces without sending them.
  void drop_pending() { pending_.clear(); }

  // The VS binds the nonces of the batches it received since its previous ticket, in order, up
  // to kMaxNoncesPerTicket. Batches in flight when it issued the ticket go to the next one, so
  // the ticket's batch is the concatenation of a prefix of the batches sent since the previous
  // ticket: the prefix whose nonce count and Merkle root match the ticket is consumed, the rest
  // waits for the next ticket. When none matches (the VS dropped or reordered something), the
  // book starts afresh and the ticket goes out without proofs.
  TicketProofs on_ticket(const protocol::PlayTicket& ticket);

 private:
  struct Item {
    ClientId client = 0;
    Nonce32 nonce;
  };
  std::vector<Item> pending_;
  std::deque<std::vector<Item>> sent_;  // batches sent since the previous ticket
};

}  // namespace gsvs::gsd
