#include "gsd/vs_join.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

#include "app/log_line.h"
#include "gsd/shared_state.h"
#include "net/framed_connection.h"
#include "protocol/clock.h"
#include "rules/gs_checks.h"

namespace gsvs::gsd {

namespace asio = net::asio;
using namespace protocol;  // NOLINT(google-build-using-namespace): this file speaks the protocol
using std::chrono::milliseconds;

namespace {

struct Challenged {
  std::shared_ptr<net::FramedConnection> conn;
  VsChallenge challenge;
};

// Connects to the VS node and reads its challenge; empty (the reason logged) when that fails or
// the daemon began stopping meanwhile.
asio::awaitable<std::optional<Challenged>> connect_for_challenge(SharedState& shared,
                                                                 const VsNode& node) {
  const Config& config = shared.config;
  const milliseconds handshake(config.handshake_timeout_ms);
  auto socket = co_await net::connect(shared.io.get_executor(), node.host, node.port, handshake);
  if (!socket) {
    spdlog::warn("VS unreachable at {}: {}", node.address, socket.error());
    co_return std::nullopt;
  }
  auto conn = std::make_shared<net::FramedConnection>(std::move(socket).value(), shared.limits());
  conn->start(shared.stop_on_fault());
  auto first = co_await conn->read_frame(handshake);
  if (!first) {
    spdlog::warn("VS at {}: no challenge: {}", node.address, first.error());
    conn->close();
    co_return std::nullopt;
  }
  auto challenge = decode<VsChallenge>(*first);
  if (!challenge) {
    spdlog::warn("VS at {}: expected a VsChallenge: {}", node.address,
                 app::log_text(challenge.error()));
    conn->close();
    co_return std::nullopt;
  }
  if (shared.stopping) {
    conn->close();
    co_return std::nullopt;
  }
  co_return Challenged{conn, *challenge};
}

// True when `reply` decodes as an M that no key of `keys` (vs_public_key) verifies, which is
// then logged as the configuration error it most likely is: gsd was given another VS's public
// key. The alternative, something between the two rewriting the VS's answers, gains nothing
// either: gsd serves no match on an answer it cannot verify.
template <class M>
bool signed_by_a_stranger(ByteView reply, const std::vector<PublicKey>& keys, const VsNode& node) {
  auto m = decode<M>(reply);
  if (!m || std::any_of(keys.begin(), keys.end(),
                        [&](const PublicKey& key) { return verify(*m, key); })) {
    return false;
  }
  std::string pinned;
  for (const PublicKey& key : keys) pinned += (pinned.empty() ? "" : ", ") + short_hex(key);
  spdlog::error(
      "VS at {}: its {} is signed by none of the keys vs_public_key pins ({}): gsd was given "
      "another VS's public key, or something between rewrites the VS's answers. vsd logs its key "
      "when it starts ('VS key ...'): check vs_public_key against it. No match is served until "
      "an answer of the VS verifies",
      node.address, kind_name(M::kKind), pinned);
  return true;
}

// A JoinReject signed by any key of the set: the VS nodes of a fleet each sign with their own.
Result<JoinReject> check_join_reject(ByteView reply, const std::vector<PublicKey>& keys) {
  Result<JoinReject> reject = Error{"no VS key"};
  for (const PublicKey& key : keys) {
    reject = rules::check_join_reject(reply, key);
    if (reject) break;
  }
  return reject;
}

}  // namespace

asio::awaitable<std::optional<JoinedSession>> join_vs(SharedState& shared, const VsNode& node,
                                                      const crypto::SecretKey& identity,
                                                      const Hash32& own_sw_hash) {
  const Config& config = shared.config;
  const milliseconds handshake(config.handshake_timeout_ms);
  auto challenged = co_await connect_for_challenge(shared, node);
  if (!challenged) co_return std::nullopt;
  auto conn = challenged->conn;
  const VsChallenge* challenge = &challenged->challenge;

  // A fresh session key for every session; it never leaves this process.
  crypto::SecretKey session_key = crypto::SecretKey::generate();
  JoinRequest request;
  request.gs_identity = identity.public_key();
  request.session_key = session_key.public_key();
  request.sw_hash = shared.behaviour->join_sw_hash(own_sw_hash);
  request.gs_time_ms = shared.clock.now_ms();
  request.challenge = challenge->challenge;
  sign(request, identity, 0);
  sign(request, session_key, 1);
  const Bytes request_bytes = encode(request);
  shared.record(MessageKind::kJoinRequest, chains::Direction::kIssued, 0, request_bytes);
  conn->send(request_bytes);

  // vsd may broadcast a Checkpoint to the new session before its JoinAccept leaves: take those
  // (VS-signed, recorded) and wait on for the answer.
  Result<Bytes> reply = Error{"no answer"};
  Result<MessageKind> kind = Error{"no answer"};
  while (true) {
    reply = co_await conn->read_frame(handshake);
    if (!reply) break;
    kind = peek_kind(*reply);
    if (!kind || *kind != MessageKind::kCheckpoint) break;
    auto checkpoint = decode<Checkpoint>(*reply);
    if (!checkpoint ||
        std::none_of(config.vs_keys.begin(), config.vs_keys.end(),
                     [&](const PublicKey& key) { return verify(*checkpoint, key); })) {
      if (!signed_by_a_stranger<Checkpoint>(*reply, config.vs_keys, node)) {
        spdlog::warn("VS at {}: invalid Checkpoint before the JoinAccept", node.address);
      }
      conn->close();
      co_return std::nullopt;
    }
    shared.record(MessageKind::kCheckpoint, chains::Direction::kReceived, 0, *reply);
  }
  if (!reply) {
    spdlog::warn("VS at {}: no answer to the JoinRequest: {}", node.address, reply.error());
    conn->close();
    co_return std::nullopt;
  }
  if (kind && *kind == MessageKind::kJoinReject) {
    auto reject = check_join_reject(*reply, config.vs_keys);
    if (!reject) {
      if (!signed_by_a_stranger<JoinReject>(*reply, config.vs_keys, node)) {
        spdlog::warn("VS at {}: invalid JoinReject: {}", node.address,
                     app::log_text(reject.error()));
      }
    } else {
      shared.record(MessageKind::kJoinReject, chains::Direction::kReceived, 0, *reply);
      spdlog::warn("join rejected by the VS: {}: {} (VS at {})",
                   rules::reason_text<JoinRejectReason>(reject->reason),
                   app::log_text(reject->detail), node.address);
    }
    conn->close();
    co_return std::nullopt;
  }
  // Under any key of a fleet's set; the session keeps the key of the node that accepted it.
  Result<JoinAccept> accept = Error{"no VS key"};
  const PublicKey* accepted_by = nullptr;
  for (const PublicKey& key : config.vs_keys) {
    accept = rules::check_join_accept(*reply, key, request, request_bytes);
    if (accept) {
      accepted_by = &key;
      break;
    }
  }
  if (!accept) {
    if (!signed_by_a_stranger<JoinAccept>(*reply, config.vs_keys, node)) {
      spdlog::warn("VS at {}: JoinAccept refused: {}", node.address, app::log_text(accept.error()));
    }
    conn->close();
    co_return std::nullopt;
  }
  shared.record(MessageKind::kJoinAccept, chains::Direction::kReceived, accept->session_id, *reply);
  if (shared.stopping) {
    conn->close();
    co_return std::nullopt;
  }
  co_return JoinedSession{conn,    std::move(session_key), request.sw_hash, *accepted_by,
                          *accept, std::move(*reply)};
}

asio::awaitable<ResumeAttempt> resume_vs(SharedState& shared, const VsNode& node,
                                         const crypto::SecretKey& identity,
                                         const crypto::SecretKey& session_key,
                                         rules::GsSessionChecks& checks, std::uint64_t gs_counter) {
  const Config& config = shared.config;
  ResumeAttempt attempt;
  auto challenged = co_await connect_for_challenge(shared, node);
  if (!challenged) co_return attempt;
  auto conn = challenged->conn;
  GsResume resume = checks.resume_state(gs_counter);
  resume.gs_identity = identity.public_key();
  resume.session_key = session_key.public_key();
  resume.gs_time_ms = shared.clock.now_ms();
  resume.challenge = challenged->challenge.challenge;
  sign(resume, session_key);
  const Bytes resume_bytes = encode(resume);
  shared.record(MessageKind::kGsResume, chains::Direction::kIssued, resume.session_id,
                resume_bytes);
  conn->send(resume_bytes);
  attempt.sent = true;
  attempt.outcome = ResumeAttempt::Outcome::kTurnedAway;
  auto reply = co_await conn->read_frame(milliseconds(config.handshake_timeout_ms));
  if (!reply) {
    // The VS proved nothing and heard nothing it could vouch for (PROTOCOL.md §8.15 checks 1
    // to 5): this node does not hold the session.
    spdlog::warn("session {}: the VS at {} turned the resume away unanswered: {}",
                 resume.session_id, node.address, reply.error());
    conn->close();
    co_return attempt;
  }
  auto kind = peek_kind(*reply);
  if (kind && *kind == MessageKind::kJoinReject) {
    // Any node of the set may refuse: the session may have moved to it, or ended there.
    if (auto reject = check_join_reject(*reply, config.vs_keys)) {
      shared.record(MessageKind::kJoinReject, chains::Direction::kReceived, 0, *reply);
      spdlog::warn("session {}: resume refused by the VS at {}: {}: {}", resume.session_id,
                   node.address, rules::reason_text<JoinRejectReason>(reject->reason),
                   app::log_text(reject->detail));
      attempt.outcome = ResumeAttempt::Outcome::kRefused;
    } else if (!signed_by_a_stranger<JoinReject>(*reply, config.vs_keys, node)) {
      spdlog::warn("VS at {}: invalid JoinReject: {}", node.address, app::log_text(reject.error()));
    }
    conn->close();
    co_return attempt;
  }
  const PublicKey in_charge = checks.vs_key();
  auto accepted = checks.on_resume_accept(*reply, resume, resume_bytes);
  if (!accepted) {
    spdlog::warn("VS at {}: ResumeAccept refused: {}", node.address,
                 app::log_text(accepted.error()));
    conn->close();
    co_return attempt;
  }
  shared.record(MessageKind::kResumeAccept, chains::Direction::kReceived, resume.session_id,
                *reply);
  if (checks.vs_key() != in_charge) {
    spdlog::info(
        "session {}: handed over to the VS node at {} (key {}): it took the session up from the "
        "node with key {}",
        resume.session_id, node.address, short_hex(checks.vs_key()), short_hex(in_charge));
  }
  if (shared.stopping) {
    conn->close();
    co_return attempt;
  }
  attempt.outcome = ResumeAttempt::Outcome::kResumed;
  attempt.vs = conn;
  co_return attempt;
}

}  // namespace gsvs::gsd
