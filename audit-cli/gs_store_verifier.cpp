#include "audit-cli/gs_store_verifier.h"

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <variant>

#include "audit-cli/chain_check.h"
#include "protocol/chains.h"
#include "protocol/merkle.h"
#include "rules/gs_checks.h"
#include "rules/session_rules.h"

namespace gsvs::audit {

using protocol::MessageKind;

namespace {

struct SentJoin {
  protocol::JoinRequest request;
  Bytes bytes;
};

struct GsSession {
  rules::GsSessionChecks checks;
  crypto::PublicKey session_key;
  std::uint64_t last_counter = 0;
  bool revoked = false;
  // False once rows that cannot be read may hold some of its entries: what it received is then
  // checked for the VS signature only, not against what it sent (a lost digest would make every
  // later receipt look wrong), and what it sent for the session key and counter.
  bool followed = true;
};

class GsStoreVerifier {
 public:
  GsStoreVerifier(std::vector<crypto::PublicKey> vs_keys, VerifyResult& result, FindingSink& sink)
      : vs_keys_(std::move(vs_keys)), result_(result), sink_(sink) {}

  void read(const storage::Entry& entry);
  void unreadable(std::uint64_t seq, const std::string& reason);
  void damaged(std::uint64_t first, std::optional<std::uint64_t> last, const std::string& reason);
  void finish();

 private:
  // Rows from `first` to `last` cannot be read: the sessions live then are not followed past
  // them, and an answer or an entry of a session whose start they held is not taken for a fault.
  void lose_track(std::uint64_t first, std::optional<std::uint64_t> last);
  // The chain and the kind_name column, as for a VS store (chain_check.h).
  void check_chain(const storage::Entry& entry);
  // The kind and direction columns. False when the row is no message a GS keeps.
  bool check_columns(const storage::Entry& entry);
  void judge(const storage::Entry& entry, const protocol::AnyMessage& message);
  void on_join_request(const storage::Entry& entry, const protocol::JoinRequest& request);
  void on_join_accept(const storage::Entry& entry, const protocol::JoinAccept& accept);
  // Follows the session `accept` begins, unless the VS gave its id before.
  void add_session(const protocol::JoinAccept& accept, const crypto::PublicKey& accepted_by,
                   const storage::Entry& entry);
  void on_sent(const storage::Entry& entry, const protocol::AnyMessage& message);
  void on_received(const storage::Entry& entry);
  // Checks signature `index` under `key`; a finding when it fails.
  bool signature(const storage::Entry& entry, std::size_t index, const crypto::PublicKey& key,
                 std::string_view signer);
  // The VS key (of the set) that made a VS-signed entry's signature; nullptr, with a finding,
  // when none did. Which node's key a session's entry must carry is then GsSessionChecks' to say
  // (a handover, PROTOCOL.md §8.8).
  const crypto::PublicKey* vs_signer(const storage::Entry& entry);
  GsSession* session_of(const storage::Entry& entry, const protocol::AnyMessage& message);
  void add(const storage::Entry& entry, std::string_view check, std::string expected,
           std::string found, std::string detail = {});

  std::vector<crypto::PublicKey> vs_keys_;  // one, or a fleet's set
  VerifyResult& result_;
  FindingSink& sink_;

  ChainCheck chain_;
  merkle::Accumulator recomputed_tree_;
  std::optional<SentJoin> pending_join_;  // the JoinRequest awaiting its answer
  // A GsResume awaiting its answer (PROTOCOL.md §8.15), with its bytes.
  std::optional<std::pair<protocol::GsResume, Bytes>> pending_resume_;
  std::map<protocol::SessionId, GsSession> sessions_;
  // The session whose VS link is open: checkpoints received on it are its (session column 0).
  std::optional<protocol::SessionId> current_;
  // Rows could not be read: until the next JoinAccept, a session first seen may have begun among
  // them; and the entry right after them, a join answer, may answer a request among them.
  bool start_may_be_lost_ = false;
  bool rows_just_lost_ = false;
  bool just_after_loss_ = false;                         // the entry being read
  std::set<protocol::SessionId> sessions_begun_unread_;  // first seen after such rows
  std::optional<crypto::PublicKey> gs_identity_;         // of the latest JoinRequest read
};

void GsStoreVerifier::add(const storage::Entry& entry, std::string_view check, std::string expected,
                          std::string found, std::string detail) {
  sink_.add(
      finding_at(entry.header, check, std::move(expected), std::move(found), std::move(detail)));
}

void GsStoreVerifier::unreadable(std::uint64_t seq, const std::string& reason) {
  ++result_.stats.entries;
  std::vector<Finding> findings;
  chain_.unreadable(seq, reason, findings);
  for (Finding& f : findings) sink_.add(std::move(f));
  recomputed_tree_.append(Hash32{});
  lose_track(seq, seq);
}

void GsStoreVerifier::damaged(std::uint64_t first, std::optional<std::uint64_t> last,
                              const std::string& reason) {
  result_.stats.entries += last.value_or(first) - first + 1;
  std::vector<Finding> findings;
  chain_.damaged(first, last, reason, findings);
  for (Finding& f : findings) sink_.add(std::move(f));
  for (std::uint64_t seq = first; seq <= last.value_or(first); ++seq) {
    recomputed_tree_.append(Hash32{});
  }
  lose_track(first, last);
}

void GsStoreVerifier::lose_track(std::uint64_t first, std::optional<std::uint64_t> last) {
  start_may_be_lost_ = true;
  rows_just_lost_ = true;
  pending_join_.reset();
  pending_resume_.reset();
  std::string unfollowed;
  for (auto& [id, session] : sessions_) {
    if (session.revoked || !session.followed) continue;
    session.followed = false;
    unfollowed += (unfollowed.empty() ? "" : ", ") + std::to_string(id);
  }
  if (unfollowed.empty() || !last) return;  // nothing after the rows to check
  Finding f = finding_at(
      first, check::kNotFollowed, "every session followed to the end of the store",
      "session(s) " + unfollowed + " not followed past entry " + std::to_string(*last),
      "what the GS sent among the rows that cannot be read is unknown, so what it received after "
      "them is checked for the VS signature only, and what it sent for the session key and "
      "counter; sessions that begin after them are checked in full");
  f.severity = Severity::kWarning;
  sink_.add(std::move(f));
}

void GsStoreVerifier::check_chain(const storage::Entry& entry) {
  std::vector<Finding> findings;
  recomputed_tree_.append(chain_.read(entry, findings).recomputed);
  if (auto kind_name = check_kind_name(entry)) findings.push_back(std::move(*kind_name));
  for (Finding& f : findings) sink_.add(std::move(f));
  result_.stats.head_hash = entry.entry_hash;
}

bool GsStoreVerifier::check_columns(const storage::Entry& entry) {
  const auto& h = entry.header;
  const auto expected_direction = chains::logged_direction(chains::StoreOwner::kGs, h.kind);
  if (!expected_direction) {
    add(entry, check::kKind, "a kind a GS keeps (what it sends the VS, or VS-signed)",
        kind_label(h.kind),
        "a GS logs neither VsChallenges nor client traffic (docs/STORE.md §2.2)");
    return false;
  }
  if (h.direction != *expected_direction) {
    add(entry, check::kDirection,
        *expected_direction == chains::Direction::kIssued ? "direction 2 (sent by the GS)"
                                                          : "direction 1 (received from the VS)",
        "direction " + std::to_string(static_cast<unsigned>(h.direction)));
  }
  return true;
}

bool GsStoreVerifier::signature(const storage::Entry& entry, std::size_t index,
                                const crypto::PublicKey& key, std::string_view signer) {
  ++result_.stats.signatures_checked;
  if (verify_stored_signature(entry.header.kind, entry.message, index, key)) return true;
  add(entry, check::kSignature,
      "signature " + std::to_string(index) + " valid under " + std::string(signer) + " " +
          short_hex(key) + "...",
      "a signature that does not verify");
  return false;
}

const crypto::PublicKey* GsStoreVerifier::vs_signer(const storage::Entry& entry) {
  ++result_.stats.signatures_checked;
  for (const crypto::PublicKey& key : vs_keys_) {
    if (verify_stored_signature(entry.header.kind, entry.message, 0, key)) return &key;
  }
  add(entry, check::kSignature,
      vs_keys_.size() == 1 ? "signature 0 valid under the VS key " + short_hex(vs_keys_[0]) + "..."
                           : "signature 0 valid under a key of the VS key set (" +
                                 std::to_string(vs_keys_.size()) + " keys)",
      "a signature that does not verify");
  return nullptr;
}

GsSession* GsStoreVerifier::session_of(const storage::Entry& entry,
                                       const protocol::AnyMessage& message) {
  const auto named = named_session(message);
  if (named && *named != entry.header.session_id) {
    add(entry, check::kSession, "session " + std::to_string(entry.header.session_id),
        "a message naming session " + std::to_string(*named));
  }
  auto found = sessions_.find(entry.header.session_id);
  if (found == sessions_.end()) {
    // It may have begun among the rows that cannot be read, before the next JoinAccept.
    if (start_may_be_lost_ && sessions_begun_unread_.insert(entry.header.session_id).second) {
      Finding f = finding_at(
          entry.header, check::kNotFollowed,
          "a session this GS joined (a JoinAccept earlier in the store)",
          "session " + std::to_string(entry.header.session_id) +
              ", whose JoinAccept may be among the rows that cannot be read",
          "what the VS signed in it is checked for the VS signature only, and what the GS sent "
          "in it not at all: the session key is in the JoinAccept");
      f.severity = Severity::kWarning;
      sink_.add(std::move(f));
    }
    if (sessions_begun_unread_.contains(entry.header.session_id)) return nullptr;
    add(entry, check::kSession, "a session this GS joined (a JoinAccept earlier in the store)",
        "session " + std::to_string(entry.header.session_id));
    return nullptr;
  }
  return &found->second;
}

void GsStoreVerifier::on_join_request(const storage::Entry& entry,
                                      const protocol::JoinRequest& request) {
  signature(entry, 0, request.gs_identity, "the GS identity key");
  signature(entry, 1, request.session_key, "the session key it introduces");
  pending_join_ = SentJoin{request, entry.message};
  gs_identity_ = request.gs_identity;
  current_.reset();  // a new VS link: the old session's is gone
}

void GsStoreVerifier::on_join_accept(const storage::Entry& entry,
                                     const protocol::JoinAccept& accept) {
  const crypto::PublicKey* accepted_by = vs_signer(entry);
  if (accepted_by == nullptr) return;
  if (!pending_join_ && just_after_loss_) {
    // Its JoinRequest may be among the rows that cannot be read, right before it: the session is
    // followed from here; of the checks against the request, only the identity's can be made
    // (against the GS's latest JoinRequest before them, if any).
    if (gs_identity_ && accept.gs_identity != *gs_identity_) {
      add(entry, check::kJoin,
          "a JoinAccept for this GS's identity " + short_hex(*gs_identity_) + "...",
          "one for " + short_hex(accept.gs_identity) + "...");
      return;
    }
    add_session(accept, *accepted_by, entry);
    return;
  }
  if (!pending_join_) {
    add(entry, check::kJoin, "a JoinAccept answering the JoinRequest the GS sent before it",
        "no JoinRequest awaiting an answer");
    return;
  }
  auto checked = rules::check_join_accept(entry.message, *accepted_by, pending_join_->request,
                                          pending_join_->bytes);
  pending_join_.reset();
  if (!checked) {
    add(entry, check::kJoin, "a JoinAccept gsd accepts (PROTOCOL.md §8.8)", checked.error());
    return;
  }
  add_session(accept, *accepted_by, entry);
}

void GsStoreVerifier::add_session(const protocol::JoinAccept& accept,
                                  const crypto::PublicKey& accepted_by,
                                  const storage::Entry& entry) {
  if (sessions_.contains(accept.session_id)) {
    add(entry, check::kJoin, "a session id the VS has not given this GS before",
        "session " + std::to_string(accept.session_id) + " again");
    return;
  }
  sessions_.emplace(accept.session_id,
                    GsSession{rules::GsSessionChecks(vs_keys_, accepted_by, accept, entry.message),
                              accept.session_key});
  current_ = accept.session_id;
  start_may_be_lost_ = false;  // a session that began among lost rows came before this one
  ++result_.stats.sessions;
}

void GsStoreVerifier::on_sent(const storage::Entry& entry, const protocol::AnyMessage& message) {
  const auto* resume = std::get_if<protocol::GsResume>(&message);
  // It awaits its answer even in a session not seen (one begun among rows that cannot be read).
  if (resume != nullptr) pending_resume_ = std::make_pair(*resume, entry.message);
  GsSession* session = session_of(entry, message);
  if (session == nullptr) return;
  signature(entry, 0, session->session_key, "the session key");
  const auto envelope = rules::envelope_of(&message);
  // A GsResume takes the next value of the session counter too.
  const std::uint64_t counter = envelope ? envelope->gs_counter : resume ? resume->gs_counter : 0;
  if (counter <= session->last_counter) {
    add(entry, check::kCounter, "gs_counter above " + std::to_string(session->last_counter),
        "gs_counter " + std::to_string(counter));
  } else {
    session->last_counter = counter;
  }
  if (const auto* digest = std::get_if<protocol::TranscriptDigest>(&message)) {
    if (session->followed) {
      session->checks.digest_sent(digest->gs_counter, chains::message_hash(entry.message));
    }
    ++result_.stats.digests;
  } else if (std::holds_alternative<protocol::Heartbeat>(message)) {
    ++result_.stats.heartbeats;
  }
}

void GsStoreVerifier::on_received(const storage::Entry& entry) {
  const MessageKind kind = entry.header.kind;
  if (vs_signer(entry) == nullptr) return;
  if (kind == MessageKind::kJoinReject) {
    ++result_.stats.rejected_joins;
    if (!pending_join_ && !pending_resume_ && !just_after_loss_) {
      add(entry, check::kJoin,
          "a JoinReject answering the JoinRequest or GsResume the GS sent before it",
          "no JoinRequest or GsResume awaiting an answer");
    }
    pending_join_.reset();
    pending_resume_.reset();
    return;
  }
  if (kind == MessageKind::kCheckpoint) {
    ++result_.stats.checkpoints;
    // Checkpoints before a JoinAccept were checked for their signature only, as gsd does.
    auto session = current_ ? sessions_.find(*current_) : sessions_.end();
    if (session == sessions_.end() || !session->second.followed) return;
    if (auto checked = session->second.checks.on_checkpoint(entry.message); !checked) {
      add(entry, check::kCheckpointSize, "a checkpoint gsd accepts (PROTOCOL.md §8.8)",
          checked.error());
    }
  }
}

void GsStoreVerifier::judge(const storage::Entry& entry, const protocol::AnyMessage& message) {
  const MessageKind kind = entry.header.kind;
  const bool sessionless = kind == MessageKind::kJoinRequest || kind == MessageKind::kJoinReject ||
                           kind == MessageKind::kCheckpoint;
  if (sessionless && entry.header.session_id != 0) {
    add(entry, check::kSession, "session 0 (the kind belongs to no session)",
        "session " + std::to_string(entry.header.session_id));
  }
  if (const auto* request = std::get_if<protocol::JoinRequest>(&message)) {
    on_join_request(entry, *request);
    return;
  }
  if (const auto* accept = std::get_if<protocol::JoinAccept>(&message)) {
    if (accept->session_id != entry.header.session_id) {
      add(entry, check::kSession, "session " + std::to_string(entry.header.session_id),
          "a JoinAccept naming session " + std::to_string(accept->session_id));
    }
    on_join_accept(entry, *accept);
    return;
  }
  if (entry.header.direction == chains::Direction::kIssued) {
    on_sent(entry, message);
    return;
  }
  if (sessionless) {
    on_received(entry);
    return;
  }
  // PlayTicket, ProtectedReceipt, Revocation, ResumeAccept: a session's, checked as gsd checked
  // them.
  GsSession* session = session_of(entry, message);
  if (session == nullptr) {
    vs_signer(entry);
    if (kind == MessageKind::kResumeAccept) pending_resume_.reset();
    return;
  }
  if (vs_signer(entry) == nullptr) return;
  // What gsd's check said, as a Status: the value it returns is not needed here.
  const auto status_of = [](const auto& result) {
    return result ? Status::success() : Status{Error{result.error()}};
  };
  // A session not followed is checked for the VS signature only (lose_track).
  if (kind == MessageKind::kResumeAccept) {
    if (!pending_resume_) {
      if (!just_after_loss_) {
        add(entry, check::kJoin, "a ResumeAccept answering the GsResume the GS sent before it",
            "no GsResume awaiting an answer");
      }
    } else if (session->followed) {
      if (const Status accepted = status_of(session->checks.on_resume_accept(
              entry.message, pending_resume_->first, pending_resume_->second));
          !accepted) {
        add(entry, check::kJoin, "a ResumeAccept gsd accepts (PROTOCOL.md §8.15)",
            accepted.error());
      }
    }
    pending_resume_.reset();
    return;
  }
  Status checked = Status::success();
  std::string_view check = check::kTicket;
  if (kind == MessageKind::kPlayTicket) {
    ++result_.stats.tickets;
    if (session->followed) checked = status_of(session->checks.on_ticket(entry.message));
  } else if (kind == MessageKind::kProtectedReceipt) {
    ++result_.stats.receipts;
    check = check::kReceipt;
    if (session->followed) checked = status_of(session->checks.on_receipt(entry.message));
  } else {
    ++result_.stats.revocations;
    check = check::kRevocation;
    if (session->followed) checked = status_of(session->checks.on_revocation(entry.message));
    if (checked && session->revoked) checked = Error{"a second Revocation of the session"};
    session->revoked = true;
    if (current_ == entry.header.session_id) current_.reset();
  }
  if (!checked) {
    add(entry, check, "a " + kind_label(kind) + " gsd accepts (PROTOCOL.md §8.8)", checked.error());
  }
}

void GsStoreVerifier::read(const storage::Entry& entry) {
  ++result_.stats.entries;
  just_after_loss_ = rows_just_lost_;
  // Checkpoints the VS sends before it answers a join (gsd/vs_join.cpp records them) leave the
  // answer still the next entry after the lost rows.
  if (entry.header.kind != MessageKind::kCheckpoint) rows_just_lost_ = false;
  check_chain(entry);
  if (!check_columns(entry)) return;
  auto decoded = protocol::decode_any(entry.message);
  if (!decoded) {
    add(entry, check::kDecode, "a well-formed " + kind_label(entry.header.kind),
        "bytes that do not decode: " + decoded.error(),
        "a GS logs only what it encoded or checked itself");
    return;
  }
  if (auto other_kind = check_message_kind(entry, *decoded)) {
    sink_.add(std::move(*other_kind));
    return;
  }
  judge(entry, *decoded);
}

void GsStoreVerifier::finish() {
  result_.stats.merkle_root = recomputed_tree_.root();
  for (const auto& [id, session] : sessions_) {
    if (!session.revoked) ++result_.stats.live_sessions;
  }
}

}  // namespace

Result<VerifyResult> verify_gs_store(const std::string& path, const storage::Log& log,
                                     const std::vector<crypto::PublicKey>& vs_keys,
                                     const KeySource& shown, FindingSink& sink) {
  const auto started = std::chrono::steady_clock::now();
  VerifyResult result;
  result.store = storage::printable_store(path);
  result.vs_key = shown;
  result.stats.threads = 1;
  GsStoreVerifier verifier(vs_keys, result, sink);
  Status scanned = log.scan(
      {},
      [&verifier](const storage::Entry& entry) {
        verifier.read(entry);
        return true;
      },
      [&verifier](std::uint64_t seq, const std::string& reason) {
        verifier.unreadable(seq, reason);
      },
      [&verifier](std::uint64_t first, std::optional<std::uint64_t> last,
                  const std::string& reason) { verifier.damaged(first, last, reason); });
  if (!scanned) return Error{scanned.error()};
  verifier.finish();
  check_store_files(log, 0, sink);
  result.stats.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace gsvs::audit
