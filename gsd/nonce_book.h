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
  // waits for the next ticket. Batches the VS never got are passed over: the first ones (bound
  // by a ticket this GS could not match, or lost), and the last ones sent on a connection that
  // was lost (connection_lost()), before those sent on the next. When nothing matches, the
  // ticket goes out without proofs and the batches wait for the next, which realigns.
  TicketProofs on_ticket(const protocol::PlayTicket& ticket);
  // The VS connection was lost, and the session goes on on a new one (PROTOCOL.md §8.15): of
  // the batches sent so far and not bound, the VS got some first ones, in order, and none after.
  void connection_lost() { sent_before_cut_ = sent_.size(); }

 private:
  struct Item {
    ClientId client = 0;
    Nonce32 nonce;
  };
  // The nonces a ticket binds if it binds batches [first, end) of sent_, then [cut, cut_end)
  // when cut_end > cut (the old connection's batches from `end` on lost): whole batches until
  // the per-ticket cap, the rest of an overflowing batch dropped, as the VS binds them.
  [[nodiscard]] std::vector<Item> binding_of(std::size_t first, std::size_t end, std::size_t cut,
                                             std::size_t cut_end) const;

  std::vector<Item> pending_;
  std::deque<std::vector<Item>> sent_;  // batches sent and not yet bound, oldest first
  std::size_t sent_before_cut_ = 0;     // how many of them went on a lost connection
};

}  // namespace gsvs::gsd
