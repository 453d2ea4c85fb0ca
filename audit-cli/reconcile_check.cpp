#include "audit-cli/reconcile_check.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <sstream>

#include "app/log_line.h"
#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "protocol/merkle_plan.h"

namespace gsvs::audit::reconcile {

namespace {

using nlohmann::json;
using protocol::AnyMessage;
using protocol::MessageKind;
using protocol::SessionId;

// A message's position: the same key with other bytes means one side was rewritten (or a
// signer said two things).
struct Key {
  SessionId session = 0;
  MessageKind kind = MessageKind::kVsChallenge;
  std::uint64_t number = 0;  // gs_counter, ticket_seq, receipt_index, log_size; 0: one per session
  friend auto operator<=>(const Key&, const Key&) = default;
};

std::string describe(const Key& key) {
  std::string out(protocol::kind_name(key.kind));
  switch (key.kind) {
    case MessageKind::kHeartbeat:
    case MessageKind::kTranscriptDigest:
    case MessageKind::kNonceBatch:
    case MessageKind::kGsLeaving:
      out += " gs_counter " + std::to_string(key.number);
      break;
    case MessageKind::kPlayTicket:
      out += " ticket_seq " + std::to_string(key.number);
      break;
    case MessageKind::kProtectedReceipt:
      out += " receipt_index " + std::to_string(key.number);
      break;
    case MessageKind::kCheckpoint:
      return out + " log_size " + std::to_string(key.number);
    default:
      break;
  }
  return out + " of session " + std::to_string(key.session);
}

struct Decoded {
  std::optional<AnyMessage> message;
  std::optional<Key> key;
  std::optional<SessionId> session;
};

Decoded decode_item(ByteView bytes) {
  Decoded d;
  auto m = protocol::decode_any(bytes);
  if (!m) return d;
  d.message = std::move(m).value();
  d.session = protocol::named_session(*d.message);
  std::visit(
      [&d](const auto& msg) {
        using M = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<M, protocol::ProtectedReceipt>) {
          d.key = Key{msg.session_id, M::kKind, msg.receipt_index};
        } else if constexpr (requires { msg.gs_counter; }) {
          d.key = Key{msg.session_id, M::kKind, msg.gs_counter};
        } else if constexpr (std::is_same_v<M, protocol::PlayTicket>) {
          d.key = Key{msg.session_id, M::kKind, msg.ticket_seq};
        } else if constexpr (std::is_same_v<M, protocol::JoinAccept> ||
                             std::is_same_v<M, protocol::Revocation>) {
          d.key = Key{msg.session_id, M::kKind, 0};
        } else if constexpr (std::is_same_v<M, protocol::Checkpoint>) {
          d.key = Key{0, M::kKind, msg.log_size};
          d.session = 0;
        }
      },
      *d.message);
  return d;
}

std::optional<bool> verifies(const AnyMessage& message,
                             const std::optional<crypto::PublicKey>& key) {
  if (!key) return std::nullopt;
  return protocol::verify_signature(message, *key);
}

std::string yes_no(std::optional<bool> value, std::string_view unknown) {
  if (!value) return std::string(unknown);
  return *value ? "yes" : "NO";
}

// One entry of either store, decoded and keyed.
struct ReconcileItem {
  std::uint64_t seq = 0;
  MessageKind kind = MessageKind::kVsChallenge;
  chains::Direction direction = chains::Direction::kReceived;
  SessionId session = 0;
  Hash32 hash;
  Decoded decoded;
  std::uint64_t time_ms = 0;            // the store's vs_time_ms: the GS's clock in a GS store
  std::optional<std::uint64_t> vs_seq;  // a GS entry: where the VS log holds the same bytes
  bool matched = false;                 // a VS entry: the GS store holds the same bytes
};

ReconcileItem read_item(const storage::Entry& e, Hash32 hash) {
  ReconcileItem item;
  item.seq = e.header.seq;
  item.kind = e.header.kind;
  item.direction = e.header.direction;
  item.time_ms = e.header.vs_time_ms;
  item.hash = hash;
  item.decoded = decode_item(e.message);
  item.session = item.decoded.session.value_or(e.header.session_id);
  return item;
}

class Reconciler {
 public:
  Reconciler(const storage::Log& vs, const storage::Log& gs, const Options& options)
      : vs_(vs), gs_(gs), options_(options) {}

  Result<Reconciliation> run() {
    if (Status s = read_gs(); !s) return Error{"GS store: " + s.error()};
    if (sessions_.empty()) {
      return Error{"GS store: it holds no session (" + std::to_string(out_.gs_entries) +
                   " entries): nothing to reconcile. A GS that recorded nothing cannot be "
                   "reconciled (docs/AUDIT.md); is it the store of this GS?"};
    }
    plan_checkpoints();
    if (Status s = read_vs(); !s) return Error{"VS store: " + s.error()};
    check_checkpoints();
    check_gs_items();
    check_vs_items();
    std::stable_sort(out_.findings.begin(), out_.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
    return std::move(out_);
  }

 private:
  void add(Severity severity, std::string code, std::string detail,
           std::optional<SessionId> session = std::nullopt, std::string kind = {},
           std::optional<std::uint64_t> vs_seq = std::nullopt,
           std::optional<std::uint64_t> gs_seq = std::nullopt) {
    out_.findings.push_back(Finding{severity, std::move(code), session, std::move(kind), vs_seq,
                                    gs_seq, std::move(detail)});
  }

  Status read_gs() {
    std::map<Hash32, SessionId> session_of_request;  // join_request_hash -> session
    Status s = gs_.scan({}, [&](const storage::Entry& e) {
      ReconcileItem item = read_item(e, chains::message_hash(e.message));
      if (item.decoded.message) {
        if (const auto* a = std::get_if<protocol::JoinAccept>(&*item.decoded.message)) {
          session_of_request[a->join_request_hash] = a->session_id;
          // A session key only from a JoinAccept the VS signed (when its key is given): the GS
          // store is one party's word, and a key it made up would make the VS log's copies
          // look forged.
          if (verifies(*item.decoded.message, options_.vs_key).value_or(true)) {
            session_keys_[a->session_id] = a->session_key;
          }
          if (e.header.direction == chains::Direction::kReceived) sessions_.insert(a->session_id);
        }
        if (e.header.direction == chains::Direction::kIssued && item.decoded.session &&
            *item.decoded.session != 0) {
          sessions_.insert(*item.decoded.session);
        }
      }
      ++out_.gs_entries;
      gs_items_.push_back(std::move(item));
      return true;
    });
    if (!s) return s;
    for (std::size_t i = 0; i < gs_items_.size(); ++i) {
      auto& item = gs_items_[i];
      if (item.kind == MessageKind::kJoinRequest) {
        if (auto it = session_of_request.find(item.hash); it != session_of_request.end()) {
          item.session = it->second;
        }
      }
      gs_by_hash_.emplace(item.hash, i);
      if (item.decoded.key) gs_by_key_[*item.decoded.key].push_back(i);
    }
    out_.sessions.assign(sessions_.begin(), sessions_.end());
    return {};
  }

  void plan_checkpoints() {
    for (const auto& item : gs_items_) {
      if (item.direction != chains::Direction::kReceived || !item.decoded.message) continue;
      const auto* cp = std::get_if<protocol::Checkpoint>(&*item.decoded.message);
      if (!cp) continue;
      CheckpointCheck check;
      check.log_size = cp->log_size;
      check.root = cp->root;
      check.gs_seq = item.seq;
      check.vs_signed = verifies(*item.decoded.message, options_.vs_key);
      out_.checkpoints.push_back(check);
    }
    std::stable_sort(out_.checkpoints.begin(), out_.checkpoints.end(),
                     [](const auto& a, const auto& b) { return a.log_size < b.log_size; });
    for (const auto& c : out_.checkpoints) {
      root_ticket_.push_back(c.log_size > 0 ? std::optional(plan_.want_root(c.log_size))
                                            : std::nullopt);
    }
  }

  Status read_vs() {
    Hash32 previous_stored;
    std::uint64_t expected_seq = 0;
    std::size_t chain_problems = 0;
    auto chain_problem = [&](std::uint64_t seq, std::string what) {
      if (++chain_problems <= 5) {
        add(Severity::kError, "vs_chain_broken", std::move(what) + " (run audit-cli verify)",
            std::nullopt, {}, seq);
      }
    };
    Status s = vs_.scan({}, [&](const storage::Entry& e) {
      if (e.header.seq != expected_seq) {
        chain_problem(expected_seq, "entry " + std::to_string(expected_seq) +
                                        " is missing; the next stored row is entry " +
                                        std::to_string(e.header.seq));
        expected_seq = e.header.seq;
      }
      ++expected_seq;
      const Hash32 recomputed = chains::log_entry_hash(e.header, e.message);
      if (recomputed != e.entry_hash) {
        chain_problem(e.header.seq, "entry " + std::to_string(e.header.seq) +
                                        ": entry_hash does not match its contents");
      }
      if (e.header.prev_entry_hash != previous_stored) {
        chain_problem(e.header.seq, "entry " + std::to_string(e.header.seq) +
                                        ": prev_hash does not match the entry before");
      }
      previous_stored = e.entry_hash;
      // The tree over what the entries really hold, so an edit that left the stored hashes
      // alone shows too.
      plan_.add_leaf(recomputed);
      ++out_.vs_entries;
      const Hash32 hash = chains::message_hash(e.message);
      bool matched = false;
      auto [first, last] = gs_by_hash_.equal_range(hash);
      for (auto it = first; it != last; ++it) {
        auto& item = gs_items_[it->second];
        if (!item.vs_seq) item.vs_seq = e.header.seq;
        matched = true;
      }
      if (e.header.kind == MessageKind::kVsStart) vs_starts_.insert(e.header.seq);
      const bool ours = sessions_.contains(e.header.session_id);
      if (!ours && e.header.kind != MessageKind::kCheckpoint) return true;
      ReconcileItem item = read_item(e, hash);
      item.session = e.header.session_id;  // the VS's column, whatever the message names
      item.matched = matched;
      if (item.decoded.message) {
        if (const auto* a = std::get_if<protocol::JoinAccept>(&*item.decoded.message)) {
          // The VS log's own JoinAccept names the key where it verifies; unverified (no VS key
          // given), the GS store's copy goes first.
          if (const auto signed_by_vs = verifies(*item.decoded.message, options_.vs_key)) {
            if (*signed_by_vs) session_keys_[a->session_id] = a->session_key;
          } else {
            session_keys_.try_emplace(a->session_id, a->session_key);
          }
          heartbeat_timeout_ms_.try_emplace(a->session_id, a->heartbeat_timeout_ms);
        }
      }
      if (item.decoded.key) vs_by_key_[*item.decoded.key].push_back(vs_items_.size());
      vs_items_.push_back(std::move(item));
      return true;
    });
    if (!s) return s;
    if (chain_problems > 5) {
      add(Severity::kError, "vs_chain_broken",
          std::to_string(chain_problems - 5) + " more broken links (run audit-cli verify)");
    }
    return {};
  }

  void check_checkpoints() {
    // Roots first; then where the first change lies; then consistency between neighbours.
    std::optional<std::uint64_t> last_match;
    std::optional<std::uint64_t> first_mismatch;
    bool rewritten = false;  // the first departure is a different root, not a missing tail
    for (std::size_t i = 0; i < out_.checkpoints.size(); ++i) {
      auto& c = out_.checkpoints[i];
      if (c.vs_signed && !*c.vs_signed) {
        c.status = "not_signed";
        add(Severity::kWarning, "checkpoint_not_signed",
            "the GS store holds a checkpoint over " + std::to_string(c.log_size) +
                " entries that does not verify under the VS key: it proves nothing",
            0, "Checkpoint", std::nullopt, c.gs_seq);
        continue;
      }
      const std::string signed_note =
          c.vs_signed ? "VS-signed" : "(signature not checked: no --vs-pubkey)";
      if (c.log_size > out_.vs_entries) {
        c.status = "beyond_log";
        if (!first_mismatch) first_mismatch = c.log_size;
        add(Severity::kError, "vs_log_cut",
            "the GS holds a checkpoint " + signed_note + " over " + std::to_string(c.log_size) +
                " entries, but the VS log has only " + std::to_string(out_.vs_entries) +
                ": the VS log was cut (at least " + std::to_string(c.log_size - out_.vs_entries) +
                " entries missing from its tail)",
            0, "Checkpoint", std::nullopt, c.gs_seq);
        continue;
      }
      std::optional<Hash32> root =
          root_ticket_[i] ? plan_.root(*root_ticket_[i]) : std::optional(merkle::empty_root());
      if (root && *root == c.root) {
        c.status = "matches";
        if (!first_mismatch || c.log_size < *first_mismatch) last_match = c.log_size;
        continue;
      }
      c.status = "root_mismatch";
      if (!first_mismatch) {
        first_mismatch = c.log_size;
        rewritten = true;
      }
      add(Severity::kError, "vs_log_rewritten",
          "the Merkle root of the VS log's first " + std::to_string(c.log_size) + " entries is " +
              (root ? to_hex(*root) : std::string("unknown")) + ", but the GS holds a checkpoint " +
              signed_note + " over them with root " + to_hex(c.root) + ": entries before " +
              std::to_string(c.log_size) + " were changed",
          0, "Checkpoint", std::nullopt, c.gs_seq);
    }
    if (first_mismatch && rewritten) {
      const std::uint64_t from = last_match.value_or(0);
      const std::uint64_t to = *first_mismatch;
      if (to > from) {
        add(Severity::kError, "vs_log_changed_range",
            "the VS log agrees with the GS's checkpoints up to entry " + std::to_string(from) +
                " and departs from them before entry " + std::to_string(*first_mismatch) +
                ": the first change lies in entries " + std::to_string(from) + " to " +
                std::to_string(to - 1));
      }
    }
    // Two signed checkpoints must describe one append-only log. The proof comes from the VS log,
    // so it can be built only where that log still matches the newer checkpoint.
    for (std::size_t i = 0; i + 1 < out_.checkpoints.size(); ++i) {
      const auto& a = out_.checkpoints[i];
      const auto& b = out_.checkpoints[i + 1];
      if (a.log_size == b.log_size) {
        if (a.root != b.root && a.status != "not_signed" && b.status != "not_signed") {
          add(Severity::kError, "vs_equivocation",
              "the GS holds two checkpoints over " + std::to_string(a.log_size) +
                  " entries with different roots: the VS signed two versions of its log",
              0, "Checkpoint", std::nullopt, b.gs_seq);
        }
        continue;
      }
      if (a.log_size == 0 || b.status != "matches" || a.status == "not_signed") continue;
      consistency_pairs_.emplace_back(i, i + 1);
    }
    if (consistency_pairs_.empty()) return;
    // A second pass, only over the prefix the proofs need.
    merkle::ProofPlan plan;
    std::vector<merkle::ProofPlan::Ticket> tickets;
    for (const auto& [i, j] : consistency_pairs_) {
      tickets.push_back(
          plan.want_consistency(out_.checkpoints[i].log_size, out_.checkpoints[j].log_size));
    }
    storage::Filter prefix;
    prefix.to_seq = plan.leaves_needed();
    Status s = vs_.scan(prefix, [&](const storage::Entry& e) {
      plan.add_leaf(chains::log_entry_hash(e.header, e.message));
      return true;
    });
    if (!s) {
      add(Severity::kWarning, "consistency_not_checked", "VS store: " + s.error());
      return;
    }
    for (std::size_t k = 0; k < consistency_pairs_.size(); ++k) {
      const auto& a = out_.checkpoints[consistency_pairs_[k].first];
      const auto& b = out_.checkpoints[consistency_pairs_[k].second];
      auto proof = plan.proof(tickets[k]);
      if (!proof || !merkle::verify_consistency(a.log_size, b.log_size, a.root, b.root, *proof)) {
        add(Severity::kError, "vs_checkpoints_inconsistent",
            "the checkpoint over " + std::to_string(a.log_size) +
                " entries is not a prefix of the one over " + std::to_string(b.log_size) +
                " (consistency proof from the VS log fails): the VS signed two different "
                "histories",
            0, "Checkpoint", std::nullopt, a.gs_seq);
      }
    }
  }

  // The signature of a GS-held or VS-held copy: VS key for what the VS issues, the session key
  // for what the GS sends.
  std::optional<bool> genuine(const Decoded& d, SessionId session) const {
    if (!d.message) return false;
    const MessageKind kind = protocol::kind_of(*d.message);
    if (protocol::vs_signed(kind)) return verifies(*d.message, options_.vs_key);
    auto it = session_keys_.find(session);
    if (it == session_keys_.end()) return std::nullopt;
    if (kind == MessageKind::kJoinRequest) return true;  // checked by the VS at join
    return verifies(*d.message, it->second);
  }

  // A GsResume the VS logged that proves the GS resumed there: the GS store holds the same
  // bytes, and they verify under the session key.
  [[nodiscard]] const protocol::GsResume* proven_resume(const ReconcileItem& v) const {
    if (v.direction != chains::Direction::kReceived || !v.matched || !v.decoded.message) {
      return nullptr;
    }
    const auto* resume = std::get_if<protocol::GsResume>(&*v.decoded.message);
    if (!resume || !genuine(v.decoded, v.session).value_or(false)) return nullptr;
    return resume;
  }

  // Whether the GS message `item`, which the VS never logged, was in flight when the connection
  // (or the VS) went down rather than dropped: `next`, the next message the VS logged from the
  // GS, is a proven GsResume, and the GS recorded `item` no more than a heartbeat timeout before
  // it (a resume after the heartbeat deadline is refused, PROTOCOL.md §8.15: an older message
  // was there to be read while the connection lived).
  [[nodiscard]] bool in_flight_at_resume(const ReconcileItem& item,
                                         const ReconcileItem& next) const {
    if (!proven_resume(next)) return false;
    auto [first, last] = gs_by_hash_.equal_range(next.hash);
    if (first == last) return false;
    const std::uint64_t resumed_ms = gs_items_[first->second].time_ms;
    const auto timeout = heartbeat_timeout_ms_.find(item.session);
    return timeout != heartbeat_timeout_ms_.end() && item.time_ms <= resumed_ms &&
           resumed_ms - item.time_ms <= timeout->second;
  }

  void check_gs_items() {
    // Per session, what the VS logged from the GS by gs_counter (an index into vs_items_), its
    // GsResumes included.
    std::map<SessionId, std::map<std::uint64_t, std::size_t>> vs_counters;
    for (std::size_t i = 0; i < vs_items_.size(); ++i) {
      const ReconcileItem& v = vs_items_[i];
      if (v.direction != chains::Direction::kReceived || !v.decoded.key) continue;
      const MessageKind k = v.decoded.key->kind;
      if (protocol::gs_session_traffic(k) || k == MessageKind::kGsResume) {
        vs_counters[v.session][v.decoded.key->number] = i;
      }
    }
    std::set<Hash32> answered_requests;
    for (const auto& item : gs_items_) {
      if (!item.decoded.message) continue;
      if (const auto* a = std::get_if<protocol::JoinAccept>(&*item.decoded.message)) {
        answered_requests.insert(a->join_request_hash);
      } else if (const auto* r = std::get_if<protocol::JoinReject>(&*item.decoded.message)) {
        answered_requests.insert(r->join_request_hash);
      }
    }
    for (const auto& item : gs_items_) {
      if (item.vs_seq) {
        ++out_.matched;
        continue;
      }
      const std::string kind(protocol::kind_name(item.kind));
      // The same position with other bytes.
      if (item.decoded.key) {
        if (auto it = vs_by_key_.find(*item.decoded.key); it != vs_by_key_.end()) {
          const ReconcileItem& other = vs_items_[it->second.front()];
          const auto gs_genuine = genuine(item.decoded, item.session);
          const auto vs_genuine = genuine(other.decoded, other.session);
          std::string detail = describe(*item.decoded.key) + ": the GS store's copy (hash " +
                               to_hex(item.hash).substr(0, 16) +
                               ", signature valid: " + yes_no(gs_genuine, "not checked") +
                               ") differs from the VS log's at entry " + std::to_string(other.seq) +
                               " (hash " + to_hex(other.hash).substr(0, 16) +
                               ", signature valid: " + yes_no(vs_genuine, "not checked") + ")";
          if (gs_genuine.value_or(false) && vs_genuine.value_or(false)) {
            detail += protocol::vs_signed(item.kind)
                          ? ": the VS signed two different messages for one position"
                          : ": the GS signed two different messages for one position";
          } else if (gs_genuine.value_or(false) && vs_genuine && !*vs_genuine) {
            detail += ": the VS log's copy is not genuine, so the VS log was rewritten";
          } else if (vs_genuine.value_or(false) && gs_genuine && !*gs_genuine) {
            detail += ": the GS store's copy is not genuine";
          }
          add(Severity::kError, "differing_bytes", detail, item.session, kind, other.seq, item.seq);
          continue;
        }
      }
      if (item.direction == chains::Direction::kReceived) {
        const auto signed_ok = genuine(item.decoded, item.session);
        if (signed_ok && !*signed_ok) {
          add(Severity::kWarning, "gs_holds_unsigned",
              "the GS store holds a " + kind +
                  " that is not in the VS log and does not verify under the VS key: it proves "
                  "nothing (GS store corrupt or forged)",
              item.session, kind, std::nullopt, item.seq);
          continue;
        }
        add(Severity::kError, "vs_missing_received",
            "the GS received " + (item.decoded.key ? describe(*item.decoded.key) : "a " + kind) +
                (signed_ok ? ", VS-signed," : " (signature not checked: no --vs-pubkey)") +
                " that the VS log does not hold: the VS log was cut or rewritten (or the GS "
                "store is forged)",
            item.session, kind, std::nullopt, item.seq);
        continue;
      }
      // Sent by the GS and never logged by the VS.
      if (item.kind == MessageKind::kJoinRequest) {
        if (answered_requests.contains(item.hash)) {
          add(Severity::kError, "vs_missing_sent",
              "the VS answered this JoinRequest, but its log does not hold it", item.session, kind,
              std::nullopt, item.seq);
        } else {
          add(Severity::kInfo, "vs_missing_sent_tail",
              "a JoinRequest the VS never answered is not in its log (the join did not complete)",
              item.session, kind, std::nullopt, item.seq);
        }
        continue;
      }
      // The first message the VS logged from the GS after this one, by gs_counter.
      const auto counters = vs_counters.find(item.session);
      const std::map<std::uint64_t, std::size_t>* logged =
          counters == vs_counters.end() ? nullptr : &counters->second;
      const auto next = logged && item.decoded.key
                            ? logged->upper_bound(item.decoded.key->number)
                            : std::map<std::uint64_t, std::size_t>::const_iterator{};
      if (logged && item.decoded.key && next != logged->end() &&
          in_flight_at_resume(item, vs_items_[next->second])) {
        // Sent on a connection that went down (or to a VS that stopped) before it was read: the
        // GS then resumed on a new one, and the session went on without it (PROTOCOL.md §8.15).
        add(Severity::kInfo, "vs_missing_sent_before_resume",
            describe(*item.decoded.key) +
                " sent by the GS was never logged by the VS; the next message the VS logged from "
                "it is its GsResume (gs_counter " +
                std::to_string(next->first) + ", VS entry " +
                std::to_string(vs_items_[next->second].seq) +
                "), within a heartbeat timeout: in flight when the connection or the VS went down",
            item.session, kind, std::nullopt, item.seq);
      } else if (logged && item.decoded.key && next != logged->end()) {
        add(Severity::kError, "vs_missing_sent",
            describe(*item.decoded.key) +
                " was sent by the GS, and the VS logged later messages "
                "of the session (up to gs_counter " +
                std::to_string(logged->rbegin()->first) +
                ") but not this one: dropped from the VS log",
            item.session, kind, std::nullopt, item.seq);
      } else {
        add(Severity::kInfo, "vs_missing_sent_tail",
            (item.decoded.key ? describe(*item.decoded.key) : "a " + kind) +
                " sent by the GS after the last message the VS logged from it (in flight at "
                "revocation or disconnect)",
            item.session, kind, std::nullopt, item.seq);
      }
    }
  }

  // Whether the receipt or ticket `v`, which the GS store lacks, was lost when the VS went down
  // before it was sent: a VsStart lies between it and the GS's GsResume at `resume_seq`, and
  // that GsResume, signed by the GS, says the GS did not hold it. A VS that did not restart sends
  // what a cut swallowed again after the ResumeAccept (PROTOCOL.md §8.15), so the GS holds it.
  [[nodiscard]] bool lost_in_restart(const ReconcileItem& v, std::uint64_t resume_seq,
                                     const protocol::GsResume& resume) const {
    const auto start = vs_starts_.upper_bound(v.seq);
    if (start == vs_starts_.end() || *start > resume_seq || !v.decoded.key) return false;
    if (v.kind == MessageKind::kProtectedReceipt) {
      return v.decoded.key->number > resume.receipt_count;
    }
    if (v.kind == MessageKind::kPlayTicket) return v.decoded.key->number > resume.ticket_seq;
    return false;
  }

  void check_vs_items() {
    // Per session, the VS entries the GS is known to have received, and where the VS logged a
    // GsResume.
    std::map<SessionId, std::set<std::uint64_t>> received;
    for (const auto& item : gs_items_) {
      if (item.direction == chains::Direction::kReceived && item.vs_seq) {
        received[item.session].insert(*item.vs_seq);
      }
    }
    std::map<SessionId, std::map<std::uint64_t, const protocol::GsResume*>> resumes;
    for (const auto& v : vs_items_) {
      if (const auto* resume = proven_resume(v)) resumes[v.session][v.seq] = resume;
    }
    for (const auto& v : vs_items_) {
      if (v.matched || v.session == 0) continue;
      // Reported from the GS side already when the GS holds other bytes at that position.
      if (v.decoded.key && gs_by_key_.contains(*v.decoded.key)) continue;
      const std::string kind(protocol::kind_name(v.kind));
      const std::string what = v.decoded.key ? describe(*v.decoded.key) : "a " + kind;
      if (v.direction == chains::Direction::kIssued) {
        const std::set<std::uint64_t>& got = received[v.session];
        const auto got_later = got.upper_bound(v.seq);
        const auto& resumed = resumes[v.session];
        const auto resume = resumed.upper_bound(v.seq);
        if (got_later == got.end()) {
          add(Severity::kInfo, "gs_missing_issued_tail",
              what +
                  " issued by the VS after the last message the GS recorded from it (not "
                  "delivered before the GS stopped, or after disconnect)",
              v.session, kind, v.seq);
        } else if (resume != resumed.end() && *got_later > resume->first &&
                   lost_in_restart(v, resume->first, *resume->second)) {
          add(Severity::kInfo, "gs_missing_issued_before_resume",
              what +
                  " issued by the VS is missing from the GS store; the GS recorded nothing after "
                  "it until it resumed the session after a VS restart (GsResume at VS entry " +
                  std::to_string(resume->first) +
                  ", which says the GS did not hold it): logged, and lost with the VS before it "
                  "was sent",
              v.session, kind, v.seq);
        } else {
          add(Severity::kError, "gs_missing_issued",
              what +
                  " issued by the VS is missing from the GS store, although the GS holds "
                  "later messages of the session (up to VS entry " +
                  std::to_string(*got.rbegin()) + ")",
              v.session, kind, v.seq);
        }
      } else {
        const auto signed_ok = genuine(v.decoded, v.session);
        add(signed_ok.value_or(false) ? Severity::kWarning : Severity::kError, "gs_missing_sent",
            "the VS log holds " + what +
                " as received from the GS, but the GS store has no "
                "such message; session-key signature valid: " +
                yes_no(signed_ok, "not checked"),
            v.session, kind, v.seq);
      }
    }
  }

  const storage::Log& vs_;
  const storage::Log& gs_;
  const Options& options_;
  Reconciliation out_;
  std::vector<ReconcileItem> gs_items_;
  std::multimap<Hash32, std::size_t> gs_by_hash_;
  std::map<Key, std::vector<std::size_t>> gs_by_key_;
  std::set<SessionId> sessions_;
  std::map<SessionId, crypto::PublicKey> session_keys_;
  std::map<SessionId, std::uint32_t> heartbeat_timeout_ms_;  // from each session's JoinAccept
  std::set<std::uint64_t> vs_starts_;                        // where the VS log holds a VsStart
  std::vector<ReconcileItem> vs_items_;
  std::map<Key, std::vector<std::size_t>> vs_by_key_;
  merkle::ProofPlan plan_;
  std::vector<std::optional<merkle::ProofPlan::Ticket>> root_ticket_;
  std::vector<std::pair<std::size_t, std::size_t>> consistency_pairs_;
};

json optional_json(const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "unknown";
}

std::size_t Reconciliation::count(Severity severity) const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(),
                    [severity](const Finding& f) { return f.severity == severity; }));
}

Result<Reconciliation> reconcile(const storage::Log& vs, const storage::Log& gs,
                                 const Options& options) {
  return Reconciler(vs, gs, options).run();
}

nlohmann::json to_json(const Reconciliation& r) {
  json findings = json::array();
  for (const auto& f : r.findings) {
    findings.push_back({{"severity", std::string(severity_name(f.severity))},
                        {"code", f.code},
                        {"session_id", optional_json(f.session_id)},
                        {"kind", f.kind.empty() ? json(nullptr) : json(f.kind)},
                        {"vs_seq", optional_json(f.vs_seq)},
                        {"gs_seq", optional_json(f.gs_seq)},
                        {"detail", f.detail}});
  }
  json checkpoints = json::array();
  for (const auto& c : r.checkpoints) {
    checkpoints.push_back({{"log_size", c.log_size},
                           {"root", to_hex(c.root)},
                           {"gs_seq", c.gs_seq},
                           {"vs_signed", c.vs_signed ? json(*c.vs_signed) : json(nullptr)},
                           {"status", c.status}});
  }
  return {{"ok", r.count(Severity::kError) == 0},
          {"vs_entries", r.vs_entries},
          {"gs_entries", r.gs_entries},
          {"sessions", r.sessions},
          {"matched", r.matched},
          {"errors", r.count(Severity::kError)},
          {"warnings", r.count(Severity::kWarning)},
          {"infos", r.count(Severity::kInfo)},
          {"checkpoints", std::move(checkpoints)},
          {"findings", std::move(findings)}};
}

std::string to_text(const Reconciliation& r) {
  std::ostringstream out;
  out << "VS log: " << r.vs_entries << " entries; GS store: " << r.gs_entries << " entries, "
      << r.matched << " found byte for byte in the VS log\n";
  out << "sessions of this GS: ";
  if (r.sessions.empty()) out << "none";
  for (std::size_t i = 0; i < r.sessions.size(); ++i) out << (i ? ", " : "") << r.sessions[i];
  out << "\n";
  out << "checkpoints held by the GS: " << r.checkpoints.size();
  for (const auto& c : r.checkpoints) out << "\n  log_size " << c.log_size << ": " << c.status;
  out << "\n";
  constexpr std::array<std::string_view, 3> kTags{"INFO", "WARNING", "ERROR"};  // by Severity
  for (const auto& f : r.findings) {
    out << kTags[static_cast<std::size_t>(f.severity)] << " " << f.code;
    if (f.vs_seq) out << " [VS entry " << *f.vs_seq << "]";
    if (f.gs_seq) out << " [GS entry " << *f.gs_seq << "]";
    out << ": " << app::log_text(f.detail) << "\n";
  }
  const auto errors = r.count(Severity::kError);
  const auto warnings = r.count(Severity::kWarning);
  if (errors == 0) {
    out << "OK: the VS log and the GS store agree";
    std::vector<std::string> notes;
    if (warnings > 0) {
      notes.push_back("read the " + std::to_string(warnings) + " WARNING" +
                      (warnings == 1 ? "" : "s") + " above");
    }
    if (r.count(Severity::kInfo) > 0) {
      notes.emplace_back("INFO: differences where a connection or the VS went down");
    }
    for (std::size_t i = 0; i < notes.size(); ++i) out << (i == 0 ? " (" : "; ") << notes[i];
    out << (notes.empty() ? "\n" : ")\n");
  } else {
    out << "FAILED: " << errors << " error" << (errors == 1 ? "" : "s")
        << ": the VS log and the GS store disagree\n";
  }
  return out.str();
}

}  // namespace gsvs::audit::reconcile
