// A real vsd process on 127.0.0.1 with short timings, and a GS scripted by hand against it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "storage/log.h"
#include "tests/support/frame_socket.h"
#include "tests/support/process.h"

namespace gsvs::testing {

// Every entry of a store (a VS's or a GS's), opened read-only; throws with the store's error.
std::vector<storage::Entry> read_store(const std::string& path);

struct VsOptions {
  std::uint32_t ticket_period_ms = 200;
  std::uint32_t ticket_validity_ms = 400;
  std::uint32_t heartbeat_interval_ms = 100;
  // Long enough that a session a test scripts by hand outlives the start of a vsd subcommand or
  // audit-cli under the sanitizers on a loaded host; a test of missed heartbeats sets a short one.
  std::uint32_t heartbeat_timeout_ms = 5000;
  std::uint32_t digest_timeout_ms = 6000;  // must exceed heartbeat_timeout_ms
  std::uint32_t checkpoint_interval_ms = 300;
  double max_speed_m_s = 7.0;
  std::string extra;  // more config lines
  // The store, in the test's directory: a file, or with a trailing '/' a directory of segments;
  // or a PostgreSQL database (postgresql://...).
  std::string store = "vs.db";
  // The port to listen on: a restart takes the previous run's (default: a free one).
  std::optional<std::uint16_t> port;
  // vsd's limit on open descriptors (RLIMIT_NOFILE, soft and hard, so vsd cannot raise it).
  std::optional<std::uint64_t> max_open_files;
  // A limit on the size of any file vsd writes (RLIMIT_FSIZE, with SIGXFSZ ignored, so a write
  // past it fails with EFBIG): the store's appends fail once its files reach it, as on a full disk.
  std::optional<std::uint64_t> max_file_bytes;
};

class VsProcess {
 public:
  VsProcess(const TempDir& dir, const std::vector<crypto::PublicKey>& allowed_gs,
            const std::vector<Hash32>& allowed_builds, VsOptions options = {});
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const crypto::PublicKey& public_key() const { return vs_public_; }
  [[nodiscard]] std::string store_path() const { return store_; }
  [[nodiscard]] std::string config_path() const { return config_; }
  [[nodiscard]] std::string admin_socket() const { return admin_socket_; }
  ChildProcess& process() { return *process_; }
  int stop() { return process_->stop(); }
  // Every entry of the store, read-only (works while vsd runs: WAL).
  std::vector<storage::Entry> entries() const { return read_store(store_); }
  // Runs `audit-cli verify` on the store, pinned to this VS's key; its exit code (0: the log
  // verifies), with its output in `output`.
  int audit_verify(std::string& output) const;
  // Runs `vsd SUBCOMMAND --admin-socket <this VS's> ARGS...` (args: the subcommand, then its
  // arguments); its exit code, with its output in `output`.
  int admin(std::vector<std::string> args, std::string& output) const;

 private:
  std::uint16_t port_;
  crypto::PublicKey vs_public_;
  std::string store_;
  std::string config_;
  std::string admin_socket_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

// A player at (x_mm, y_mm), no flags: one entry of a digest.
inline protocol::PlayerPosition player_at(const crypto::PublicKey& player, std::int32_t x_mm,
                                          std::int32_t y_mm = 0) {
  protocol::PlayerPosition p;
  p.player = player;
  p.x_mm = x_mm;
  p.y_mm = y_mm;
  return p;
}

// Plays a GS by hand: every message is built, signed and sent explicitly, so a test can make
// any of them wrong.
class ScriptedGs {
 public:
  ScriptedGs(std::uint16_t port, const crypto::SecretKey& identity, const Hash32& sw_hash);

  // Reads the challenge and returns a correctly signed JoinRequest for it (not yet sent).
  protocol::JoinRequest make_join_request();
  void send_join(const protocol::JoinRequest& request);
  // make_join_request + send + expect JoinAccept; fails the test if rejected.
  protocol::JoinAccept join();
  // The VS restarted: a new connection to `port` for the same session. Reads its challenge and
  // returns a GsResume signed by the session key with this GS's state (not yet sent; PROTOCOL.md
  // §8.15).
  protocol::GsResume reconnect_and_make_resume(std::uint16_t port);

  protocol::Heartbeat make_heartbeat();
  protocol::TranscriptDigest make_digest(std::vector<protocol::PlayerPosition> players,
                                         std::uint64_t gs_time_ms);
  template <class M>
  void send_signed(M message) {
    protocol::sign(message, session_key_);
    socket_->send_frame(protocol::encode(message));
  }
  template <class M>
  void send_unsigned(const M& message) {
    socket_->send_frame(protocol::encode(message));
  }

  // The next message of kind M, keeping track of tickets, receipts and checkpoints seen on the
  // way; nullopt on timeout or close.
  template <class M>
  std::optional<M> expect(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto frame = socket_->read_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!frame) return std::nullopt;
      note(*frame);
      if (auto m = protocol::decode<M>(*frame)) return *m;
    }
    return std::nullopt;
  }
  // Applies a receipt to the GS's view of receipt_count and receipt_tip.
  void note(const Bytes& frame);

  FrameSocket& socket() { return *socket_; }
  // Leaves the current connection open and unread, as a network cut leaves a half-open one;
  // the next reconnect_and_make_resume makes a new one.
  std::unique_ptr<FrameSocket> keep_old_connection() { return std::move(socket_); }
  [[nodiscard]] protocol::SessionId session_id() const { return session_id_; }
  std::uint64_t next_counter() { return ++counter_; }
  void set_counter(std::uint64_t c) { counter_ = c; }
  [[nodiscard]] const std::vector<Bytes>& tickets() const { return tickets_; }
  [[nodiscard]] const Bytes& join_accept_bytes() const { return join_accept_bytes_; }
  [[nodiscard]] const crypto::SecretKey& session_key() const { return session_key_; }
  std::uint64_t receipt_count = 0;
  Hash32 receipt_tip;

 private:
  std::unique_ptr<FrameSocket> socket_;  // replaced by reconnect_and_make_resume
  const crypto::SecretKey& identity_;
  crypto::SecretKey session_key_;
  Hash32 sw_hash_;
  protocol::SessionId session_id_ = 0;
  std::uint64_t counter_ = 0;
  std::vector<Bytes> tickets_;
  Bytes join_accept_bytes_;
};

}  // namespace gsvs::testing
