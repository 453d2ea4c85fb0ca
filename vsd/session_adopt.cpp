// Adoption in a fleet (PROTOCOL.md §8.10 "When a node dies"): a GsResume names a session this
// node does not know, whose GS identity a dead node of the fleet still holds. The session is read
// from that node's log, rebuilt through the session's rules as recovery rebuilds its own, and
// taken up here with a signed SessionAdopted; the GsResume is then judged as after a network cut.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "app/log_line.h"
#include "fleet/adoption.h"
#include "protocol/chains.h"
#include "rules/policy_rules.h"
#include "vsd/server_state.h"
#include "vsd/session.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol

namespace {

// What a dead node's log says of the session a GsResume names.
struct Adoptable {
  storage::Fleet::Node from;
  SessionAdopted adopted;  // all but vs_time_ms and the signature
  ReplyBacklog replies;  // the receipts and tickets the dead node issued lately, as it signed them
};

// Reads session `resume.session_id` from `log`, the log of node `from` (whose writer lock this
// node holds, so that nothing is appended meanwhile), as fleet::read_session reads it. The
// JoinAccept must name the GsResume's identity and session key, and the session must be neither
// over nor owed a revocation there, and still within its deadlines at `now_ms`.
Result<Adoptable> read_session(const storage::Log& log, const storage::Fleet::Node& from,
                               const GsResume& resume, std::uint64_t now_ms) {
  const std::string where =
      "session " + std::to_string(resume.session_id) + " in the log of node " + from.name;
  const std::uint64_t log_size = log.size();
  // What a resume within the lag may lack, before the JoinAccept says the lag: as many as the
  // largest max_receipt_lag vsd takes (the GsResume's own lag is judged by the rules).
  ReplyBacklog replies(protocol::kMaxAdoptedChainHashes - 1);
  auto in = fleet::read_session(log, resume.session_id, log_size, from.vs_key,
                                [&replies](const storage::Entry& entry) {
                                  if (entry.header.direction != chains::Direction::kIssued) return;
                                  if (entry.header.kind == MessageKind::kProtectedReceipt) {
                                    if (auto receipt = decode<ProtectedReceipt>(entry.message)) {
                                      replies.receipt_issued(receipt->receipt_index, entry.message);
                                    }
                                  } else if (entry.header.kind == MessageKind::kPlayTicket) {
                                    if (auto ticket = decode<PlayTicket>(entry.message)) {
                                      replies.ticket_issued(ticket->ticket_seq, entry.message);
                                    }
                                  }
                                });
  if (!in) return Error{"node " + from.name + ": " + in.error()};
  const JoinAccept& accept = in->rules.accept();
  if (accept.gs_identity != resume.gs_identity || accept.session_key != resume.session_key) {
    return Error{where + ": another identity or session key than the GsResume's"};
  }
  if (in->rules.ended()) return Error{where + ": revoked there"};
  if (in->owed) return Error{where + ": owed a revocation there (" + in->owed->why + ")"};
  if (const rules::Judgement due = in->rules.check_deadlines(now_ms); due.refused()) {
    return Error{where + ": " + due.why};
  }
  auto adopted = fleet::adoption_of(*in, from.vs_key, log_size, log.head_hash());
  if (!adopted) return Error{where + ": " + adopted.error()};
  return Adoptable{from, std::move(adopted).value(), std::move(replies)};
}

}  // namespace

asio::awaitable<bool> Session::adopt(const GsResume& resume) {
  // On the fleet's thread: the database answers there, one call at a time. The dead node's writer
  // lock is held from the look-up until the SessionAdopted is durable here, so that it can
  // neither come back nor append in between.
  auto read = co_await asio::co_spawn(
      server_->fleet_thread,
      // A plain pointer, as for every call on the fleet's thread: the server joins that thread
      // before it goes, and a last reference dropped there would destroy the thread from within.
      [state = server_.get(), resume]() -> asio::awaitable<std::optional<Result<Adoptable>>> {
        auto dead = state->fleet->lock_dead_holder(resume.gs_identity);
        if (!dead) co_return Result<Adoptable>(Error{dead.error()});
        if (!*dead) {
          // Not yet, perhaps: the database has not seen the node's connection go.
          co_return Result<Adoptable>(
              Error{"no dead node of the fleet holds identity " + short_hex(resume.gs_identity),
                    Retry::kLater});
        }
        const std::string& node = (*dead)->name;
        auto log = state->dead_node_log(node);
        if (!log) {
          state->fleet->unlock_node(node);
          co_return Result<Adoptable>(Error{log.error()});
        }
        auto adoptable = read_session(**log, **dead, resume, state->clock.now_ms());
        // Opened afresh next time: the failure may be the connection's.
        if (!adoptable) state->dead_node_logs.erase(node);
        if (adoptable) {
          // Once per session and log, recorded with the claim's move: the dead node's log shows
          // the session live for good, so the record is what keeps it from being taken up again.
          auto taken = state->fleet->adopt_session(resume.gs_identity, node, resume.session_id);
          if (!taken) {
            adoptable = Error{taken.error()};
          } else if (!taken->granted) {
            adoptable = Error{taken->refused};
          }
        }
        if (!adoptable) state->fleet->unlock_node(node);
        co_return std::move(adoptable);
      },
      asio::use_awaitable);
  if (!*read) {
    // A dead node found whose session could not be taken up (its log unreadable, a grant
    // missing, the session ended there) is worth an operator's look; none found yet is routine.
    const auto level =
        read->failure().retry == Retry::kLater ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "resume of session {} from {}: not adopted: {}", resume.session_id,
                conn_->peer(), app::log_text(read->error()));
    co_return false;
  }
  Adoptable& taken = **read;
  const std::string from = taken.from.name;
  const PublicKey identity = resume.gs_identity;
  bool placed = false;
  bool barred = false;  // taken up and ended at once: this node's policy bars it
  std::uint64_t deadline_ms = 0;
  const storage::BatchWriter::BuildAtHead build = [&](std::uint64_t size, const Hash32&) {
    std::vector<storage::PendingEntry> entries;
    const std::uint64_t now = server_->clock.now_ms();
    std::lock_guard lock(server_->mutex);
    // The identity's claim is this node's now; another session of it here would be a join that
    // raced the claim, and wins.
    if (server_->busy_identities.contains(identity) ||
        server_->known_sessions.contains(resume.session_id)) {
      return entries;
    }
    taken.adopted.vs_time_ms = now;
    auto rules = rules::SessionRules::adopt(taken.adopted, size);
    if (!rules) {
      spdlog::error("session {}: cannot take up what node {} left: {}", resume.session_id, from,
                    rules.error());
      return entries;
    }
    const JoinAccept& accept = rules->accept();
    deadline_ms = rules->heartbeat_deadline_ms();
    server_->known_sessions[resume.session_id] =
        KnownSession{identity, accept.session_key, KnownSession::State::kSuspended, accept.sw_hash};
    server_->busy_identities[identity] = resume.session_id;
    server_->highest_session_logged = std::max(server_->highest_session_logged, resume.session_id);
    placed = true;
    entries.push_back(pending(MessageKind::kSessionAdopted, chains::Direction::kIssued,
                              resume.session_id, now, server_->sign_and_encode(taken.adopted)));
    // Taken up under this node's policy, as a start keeps a session under its own (§8.17): one
    // whose build or identity it does not allow ends at once, and its resume finds it ended. The
    // dead node's log holds it live, so it is taken up first: ended here, it is ended everywhere.
    const Policy& in_force = server_->policy->policy;
    if (auto bar = rules::session_barred(in_force, identity, accept.sw_hash)) {
      entries.push_back(server_->withdraw_suspended(
          resume.session_id, *rules,
          rules::describe_bar(*bar, identity, accept.sw_hash) + " by policy #" +
              std::to_string(server_->policy->seq) + " of node " + server_->fleet->node() +
              ", which took the session up",
          now, size + entries.size()));
      barred = true;
      return entries;
    }
    server_->suspended[resume.session_id] =
        std::make_unique<rules::SessionRules>(std::move(rules).value());
    server_->handed_over_replies[resume.session_id] = std::move(taken.replies);
    return entries;
  };
  const bool logged = co_await log_at_head(build);
  const SessionId id = resume.session_id;
  asio::post(server_->fleet_thread, [state = server_.get(), from, id, placed] {
    // Not placed: its record goes before the dead node can start and read it.
    if (!placed) state->fleet->forget_adoption(from, id);
    state->fleet->unlock_node(from);
  });
  if (!placed) {
    // The claim taken is given back: nothing here holds the session.
    server_->release_in_fleet(identity);
    co_return false;
  }
  if (!logged) co_return false;
  server_->metrics.sessions_adopted.inc();
  if (barred) co_return true;  // the resume is answered session_ended
  spdlog::warn(
      "session {}: adopted from node {}, which died ({} receipts, ticket {}, gs_counter {} in its "
      "log of {} entries); its GS resumes it here",
      resume.session_id, from, taken.adopted.receipt_count, taken.adopted.ticket_seq,
      taken.adopted.gs_counter, taken.adopted.from_log_size);
  // Ended as a session cut from its connection is, if the resume does not come.
  server_->expire_at_heartbeat_deadline(resume.session_id, deadline_ms);
  co_return true;
}

}  // namespace gsvs::vsd
