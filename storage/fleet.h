// A fleet: several vsd nodes whose logs share one PostgreSQL database, each in a schema of its
// own, and a fleet schema beside them that they all write (docs/STORE.md §11.6). What the fleet
// schema holds is what the nodes must agree on: which node holds each GS identity's live session
// (PROTOCOL.md §8.10, one live session per identity across the fleet), the quarantines each node
// began (PROTOCOL.md §8.16, "In a fleet"), and the session ids, which are unique across the
// fleet. Each node's log stays its own, append-only and signed by its key; it is the evidence,
// and the fleet schema only what the nodes tell each other of it.
//
// A node is its log schema. It is alive while it holds its log's writer lock (an advisory lock
// its connection holds, so a node that dies or loses the database frees it); the claims of a node
// that is not alive may be taken over by a join on another node.
//
// Thread-safe: each call is one short exchange with the database, one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/result.h"

namespace gsvs::storage {

class Fleet {
 public:
  // What a claim on a GS identity found.
  struct Claim {
    bool granted = false;
    // When not granted: the node (its log schema) that holds the identity, and the session of
    // its log that holds the claim, once that node recorded it (claimed_for()).
    std::string holder;
    std::optional<std::uint64_t> holder_session;
  };

  // Joins the fleet `fleet_schema` (a lowercase SQL identifier) with the node whose log is at
  // `store_url` (its schema is the connection's current schema) and whose VS key is `vs_key`:
  // creates the fleet's tables if absent and registers the node, or checks that the node
  // registered earlier had this key (a node keeps its key; a new key is a new node).
  // A connection lost later (a server restart, an idle timeout, a terminated backend) fails the
  // call under way; the next call connects again first, and `on_notice` is told of both.
  static Result<std::unique_ptr<Fleet>> join(
      const std::string& store_url, const std::string& fleet_schema,
      const crypto::PublicKey& vs_key, std::function<void(const std::string&)> on_notice = {});
  // The fleets that list the log at `store_url` (its schema) as a node, among the fleet schemas
  // the connection's role may read. A node stays in the fleet it joined: run alone or in another
  // fleet, a GS identity could hold a session on it and on a node of its fleet at once, and
  // session ids would repeat the fleet's (PROTOCOL.md §8.10).
  static Result<std::vector<std::string>> fleets_of(const std::string& store_url);

  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // This node's name in the fleet: its log schema.
  [[nodiscard]] const std::string& node() const;

  // Claims `identity` for a session of this node: granted when no node holds it or this node does
  // (each grant is one hold, given back by release()); otherwise the holder is named, alive or
  // not: taking a dead node's claim over is lock_dead_holder() and take_claim_from(). A claim
  // inserted here names `session_id` when the session is known (a start's), else none until
  // claimed_for().
  Result<Claim> claim(const crypto::PublicKey& identity,
                      std::optional<std::uint64_t> session_id = std::nullopt);
  // The session of this node that holds its claim on `identity`: recorded once its JoinAccept is
  // placed, so that a node taking the claim over after this one dies can read how the session
  // ended here (PROTOCOL.md §8.16 "In a fleet").
  // A failure leaves the claim naming no session: no other node takes it over (fail closed).
  Status claimed_for(const crypto::PublicKey& identity, std::uint64_t session_id);
  // Gives back one hold on `identity`; the last one deletes the claim. A claim the database could
  // not delete now is deleted before the next claim (until then other nodes see it as this
  // node's). So is a claim given back while a quarantine of this node is not yet in the database
  // (quarantined() failed): no other node may take the identity before it can see the quarantine.
  void release(const crypto::PublicKey& identity);

  // A quarantine a node began: its Revocation, in that node's log (PROTOCOL.md §8.16).
  struct Quarantine {
    crypto::PublicKey identity;
    std::uint64_t session_id = 0;     // the revoked session
    std::uint16_t reason = 0;         // its RevocationReason
    std::uint64_t since_ms = 0;       // the Revocation's vs_time_ms
    std::uint64_t position = 0;       // where the node's log holds the Revocation
    std::uint32_t quarantine_ms = 0;  // its term; 0: until the node pardons it
    std::string node;                 // the node that began it (its log schema)
  };
  // This node began `quarantine` (node is ignored): written for the other nodes before the
  // Revocation that begins it is committed, replacing this node's earlier one of the identity.
  // A write that fails is made again before the next claim and before a claim is given back.
  void quarantined(const Quarantine& quarantine);
  // This node pardoned `identity`: its quarantine of it is deleted (made again as above if the
  // database cannot be reached now).
  void pardoned(const crypto::PublicKey& identity);
  // `quarantine.node`, a dead node whose writer lock this node holds, began `quarantine` as its
  // log shows, and the fleet may not have it (that node died before it wrote it): written for
  // it, unless that node has a row for the identity already (its own word stands). That node's
  // next start replaces it with what its log holds.
  Status quarantined_by_dead_node(const Quarantine& quarantine);
  // At the start: this node's quarantines in force are `in_force` (rebuilt from its log); the
  // rows an earlier run left are replaced with them.
  Status publish_quarantines(const std::vector<Quarantine>& in_force);
  // The quarantine of `identity` that another node began and that holds at VS time `vs_time_ms`
  // (the newest if several), or nullopt.
  Result<std::optional<Quarantine>> quarantine_elsewhere(const crypto::PublicKey& identity,
                                                         std::uint64_t vs_time_ms);
  // Deletes this node's claims on identities nothing here holds: those an earlier run left. At the
  // start, once the sessions kept for a resume have claimed their identities again.
  Status drop_unheld_claims();
  // Adoption (PROTOCOL.md §8.10): a GsResume of a session another node held. The node that holds
  // the claim on `identity` when that node is dead, or nullopt (no claim, this node's own, or a
  // node that is alive). This node then holds the dead node's writer lock, so that the node can
  // neither come back nor append while its session is taken up, until unlock_node(). Taking
  // that lock is what tells a dead node from a live one: one lock, no race between a look and a
  // take.
  struct Node {
    std::string name;  // its log schema
    crypto::PublicKey vs_key;
    // The session of its log that holds the claim; nullopt if it died before recording it.
    std::optional<std::uint64_t> session_id;
  };
  Result<std::optional<Node>> lock_dead_holder(const crypto::PublicKey& identity);
  // Takes the claim on `identity` from `node`, whose writer lock this node holds, for a join:
  // granted only if `node` still holds it (one hold, given back by release()).
  Result<bool> take_claim_from(const crypto::PublicKey& identity, const std::string& node);
  // Gives back the writer lock of `node` that lock_dead_holder() took.
  void unlock_node(const std::string& node);
  // Takes up session `session_id` of `node`, whose writer lock this node holds: in one
  // transaction, records the adoption and takes the claim on `identity` from `node` (one hold,
  // given back by release()). Granted only if no node took the session up before (a session is
  // adopted from a log once) and `node` still holds the claim; otherwise `refused` says why. The
  // record stays once the adoption is placed: `node`'s log shows the session live for good, and
  // the record is what tells its next start, and any other node, that it is not.
  struct Adoption {
    bool granted = false;
    std::string refused;
  };
  Result<Adoption> adopt_session(const crypto::PublicKey& identity, const std::string& node,
                                 std::uint64_t session_id);
  // An adoption granted but not placed (a join here took the identity first): its record goes.
  // The claim's hold is given back by release().
  void forget_adoption(const std::string& node, std::uint64_t session_id);
  // The sessions of this node's log that other nodes took up: the adopting node, by session id.
  Result<std::map<std::uint64_t, std::string>> adopted_from_here();
  // Reserves `count` session ids, none below `floor` and each above every id reserved before in
  // the fleet; returns the first. Ids increase in each node's log, as the audit checks.
  Result<std::uint64_t> reserve_session_ids(std::uint64_t floor, std::uint64_t count);

 private:
  struct State;
  explicit Fleet(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace gsvs::storage
