#include "tests/support/vs_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "protocol/chains.h"
#include "protocol/clock.h"
#include "protocol/keyfile.h"

namespace gsvs::testing {

using namespace protocol;  // NOLINT(google-build-using-namespace)

VsProcess::VsProcess(const TempDir& dir, const std::vector<crypto::PublicKey>& allowed_gs,
                     const std::vector<Hash32>& allowed_builds, VsOptions o)
    : port_(o.port.value_or(free_port())),
      store_(storage::is_postgres_store(o.store) ? o.store : dir.file(o.store)),
      config_(dir.file("vsd.toml")),
      admin_socket_(dir.file("vsd.sock")),
      dir_(dir.path()) {
  // A restart in the same directory keeps the VS key, as a real restart would.
  auto existing = keyfile::read_secret_key(dir.file("vs.key"));
  if (existing) {
    vs_public_ = existing->public_key();
  } else {
    auto key = crypto::SecretKey::generate();
    vs_public_ = key.public_key();
    if (!keyfile::write_key_pair(dir.file("vs.key"), key)) throw std::runtime_error("vs key");
  }
  std::string gs_list, build_list;
  for (const auto& k : allowed_gs) gs_list += (gs_list.empty() ? "\"" : ", \"") + to_hex(k) + "\"";
  for (const auto& b : allowed_builds) {
    build_list += (build_list.empty() ? "\"" : ", \"") + to_hex(b) + "\"";
  }
  write_text(
      config_,
      "listen = \"127.0.0.1:" + std::to_string(port_) + "\"\n" + "store = \"" + store_ + "\"\n" +
          "key = \"" + dir.file("vs.key") + "\"\n" + "admin_socket = \"" + admin_socket_ + "\"\n" +
          "allowed_gs = [" + gs_list + "]\n" + "allowed_builds = [" + build_list + "]\n" +
          "ticket_period_ms = " + std::to_string(o.ticket_period_ms) + "\n" +
          "ticket_validity_ms = " + std::to_string(o.ticket_validity_ms) + "\n" +
          "heartbeat_interval_ms = " + std::to_string(o.heartbeat_interval_ms) + "\n" +
          "heartbeat_timeout_ms = " + std::to_string(o.heartbeat_timeout_ms) + "\n" +
          "digest_timeout_ms = " + std::to_string(o.digest_timeout_ms) + "\n" +
          "checkpoint_interval_ms = " + std::to_string(o.checkpoint_interval_ms) + "\n" +
          "max_speed_m_s = " + std::to_string(o.max_speed_m_s) + "\n" + "threads = 2\n" + o.extra);
  std::vector<std::string> argv{program("vsd"), "run", "--config", config_};
  // Limits go on through prlimit, which sets them and execs vsd; a shell first ignores SIGXFSZ
  // (an ignored signal stays ignored across exec), so a write past the size limit fails with EFBIG.
  if (o.max_open_files || o.max_file_bytes) {
    std::string limits;
    if (o.max_open_files) {
      const std::string files = std::to_string(*o.max_open_files);
      limits += " --nofile=" + files + ":" + files;
    }
    if (o.max_file_bytes) limits += " --fsize=" + std::to_string(*o.max_file_bytes);
    argv.insert(argv.begin(), {"/bin/sh", "-c",
                               "trap '' XFSZ; exec /usr/bin/prlimit" + limits + " \"$@\"", "sh"});
  }
  // The output of an earlier run in this directory must not be mistaken for this one's start
  // (the child truncates the file only once it runs).
  std::filesystem::remove(dir.file("vsd.out"));
  process_ = std::make_unique<ChildProcess>(std::move(argv), dir.file("vsd.out"));
  if (!process_->wait_for_output("listening on", std::chrono::seconds(20))) {
    throw std::runtime_error("vsd did not start:\n" + process_->output());
  }
}

int VsProcess::audit_verify(std::string& output) const {
  ChildProcess audit(
      {program("audit-cli"), "verify", store_, "--vs-pubkey", to_hex(vs_public_), "--no-progress"},
      dir_ + "/audit-verify.out");
  const int code = audit.wait(std::chrono::seconds(60));
  output = audit.output();
  return code;
}

int VsProcess::admin(std::vector<std::string> args, std::string& output) const {
  args.insert(args.begin(), program("vsd"));
  args.insert(args.begin() + 2, {"--admin-socket", admin_socket_});
  ChildProcess command(args, dir_ + "/vsd-admin.out");
  const int code = command.wait(std::chrono::seconds(10));
  output = command.output();
  return code;
}

std::vector<storage::Entry> read_store(const std::string& path) {
  std::vector<storage::Entry> out;
  auto log = storage::Log::open(path, storage::OpenMode::kReadOnly);
  if (!log) throw std::runtime_error(log.error());
  Status s = (*log)->scan({}, [&](const storage::Entry& e) {
    out.push_back(e);
    return true;
  });
  if (!s) throw std::runtime_error(s.error());
  return out;
}

ScriptedGs::ScriptedGs(std::uint16_t port, const crypto::SecretKey& identity, const Hash32& sw_hash)
    : socket_(std::make_unique<FrameSocket>(port)),
      identity_(identity),
      session_key_(crypto::SecretKey::generate()),
      sw_hash_(sw_hash) {}

JoinRequest ScriptedGs::make_join_request() {
  auto challenge = expect<VsChallenge>();
  if (!challenge) throw std::runtime_error("no VsChallenge");
  JoinRequest r;
  r.gs_identity = identity_.public_key();
  r.session_key = session_key_.public_key();
  r.sw_hash = sw_hash_;
  r.gs_time_ms = unix_time_ms();
  r.challenge = challenge->challenge;
  sign(r, identity_, 0);
  sign(r, session_key_, 1);
  return r;
}

void ScriptedGs::send_join(const JoinRequest& request) { socket_->send_frame(encode(request)); }

JoinAccept ScriptedGs::join() {
  send_join(make_join_request());
  auto accept = expect<JoinAccept>();
  if (!accept) throw std::runtime_error("join not accepted");
  session_id_ = accept->session_id;
  join_accept_bytes_ = encode(*accept);
  return *accept;
}

GsResume ScriptedGs::reconnect_and_make_resume(std::uint16_t port) {
  socket_ = std::make_unique<FrameSocket>(port);
  auto challenge = expect<VsChallenge>();
  if (!challenge) throw std::runtime_error("no VsChallenge");
  GsResume r;
  r.session_id = session_id_;
  r.gs_identity = identity_.public_key();
  r.session_key = session_key_.public_key();
  r.gs_counter = next_counter();
  r.gs_time_ms = unix_time_ms();
  r.receipt_count = receipt_count;
  r.receipt_tip = receipt_tip;
  if (!tickets_.empty()) {
    r.ticket_seq = decode<PlayTicket>(tickets_.back()).value().ticket_seq;
    r.ticket_hash = crypto::sha256(tickets_.back());
  }
  r.challenge = challenge->challenge;
  sign(r, session_key_);
  return r;
}

Heartbeat ScriptedGs::make_heartbeat() {
  Heartbeat hb;
  hb.session_id = session_id_;
  hb.gs_counter = next_counter();
  hb.gs_time_ms = unix_time_ms();
  hb.sw_hash = sw_hash_;
  hb.receipt_count = receipt_count;
  hb.receipt_tip = receipt_tip;
  return hb;
}

TranscriptDigest ScriptedGs::make_digest(std::vector<PlayerPosition> players,
                                         std::uint64_t gs_time_ms) {
  TranscriptDigest d;
  d.session_id = session_id_;
  d.gs_counter = next_counter();
  d.gs_time_ms = gs_time_ms;
  d.tick = d.gs_counter;
  d.players = std::move(players);
  return d;
}

void ScriptedGs::note(const Bytes& frame) {
  auto kind = peek_kind(frame);
  if (!kind) return;
  if (*kind == MessageKind::kPlayTicket) tickets_.push_back(frame);
  if (*kind == MessageKind::kProtectedReceipt) {
    if (auto r = decode<ProtectedReceipt>(frame)) {
      receipt_count = r->receipt_index;
      receipt_tip = r->receipt_tip;
    }
  }
}

}  // namespace gsvs::testing
