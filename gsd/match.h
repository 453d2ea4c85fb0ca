// The match played under one VS session: the state the client sessions and the VS link share
// (the world, the roster, the ticket window, the nonces on their way to the VS, who is online).
// One thread (gsd/daemon.cpp): no locks.
#pragma once

#include <cstdint>
#include <map>
#include <set>

#include "gsd/admission.h"
#include "gsd/input_check.h"
#include "gsd/nonce_book.h"
#include "gsd/world.h"
#include "net/asio.h"
#include "protocol/messages.h"

namespace gsvs::gsd {

// Milliseconds on the steady clock: what the match times its players and tickets by.
std::uint64_t mono_ms();

// Player keys one session remembers, per max_players slot (gsd/admission.h, Roster).
inline constexpr std::size_t kDistinctPlayersPerSlot = 8;

struct Match {
  // `remembered_players` bounds the roster.
  Match(const net::asio::any_io_executor& executor, const protocol::JoinAccept& join_accept,
        Bytes join_accept_bytes, crypto::SecretKey key, WorldLimits limits,
        std::size_t remembered_players);

  // From the join; the client sessions send the JoinAccept and sign with the session key.
  protocol::SessionId session_id;
  protocol::JoinAccept accept;
  Bytes accept_bytes;
  crypto::SecretKey session_key;

  World world;
  Roster roster;  // which player keys the world keeps
  TicketWindow tickets;
  Bytes current_ticket;  // the latest PlayTicket, for clients that join now
  Hash32 inputs_hash;    // over the inputs accepted since the last digest
  std::uint64_t started_ms;
  std::map<crypto::PublicKey, std::uint64_t> last_client_seq;
  std::set<crypto::PublicKey> reported;          // players listed in a digest already
  std::map<crypto::PublicKey, ClientId> online;  // handshaken clients, by player key

  // Client nonces waiting for the VS link to send them in a NonceBatch.
  NonceBook nonces;
  net::asio::steady_timer nonce_timer;  // the VS link's wait for the next batch
  bool nonce_loop_idle = false;         // waiting for a nonce: note_nonce() wakes it

  bool ended = false;   // no more VS traffic
  bool zombie = false;  // ended, but the clients are kept (a suppressing rogue)

  // A client sent a nonce: queues it for the VS and wakes the VS link if it waits for one.
  void note_nonce(ClientId client, const Nonce32& nonce);
  // Drops everything the session keeps about a player the roster no longer remembers.
  void forget(const crypto::PublicKey& player);
};

}  // namespace gsvs::gsd
