// A session the VS left live long after it went silent (PROTOCOL.md §8.5 "Liveness"): at each
// Checkpoint, `verify` holds every live session to its heartbeat deadline plus
// heartbeat_timeout_ms, on the VS clock the entries carry.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "audit-cli/verifier.h"
#include "protocol/chains.h"
#include "protocol/crypto.h"
#include "protocol/messages.h"
#include "storage/log.h"

namespace gsvs::audit {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace): the test speaks the protocol

constexpr std::uint64_t kJoinedMs = 1'700'000'000'000;
constexpr std::uint32_t kTimeout = 1000;

class SilentSession : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("gsvs-silent-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A store with one joined session that never sends anything, and a Checkpoint logged
  // `checkpoint_after_ms` after the join; returns the findings of `verify` that concern liveness.
  std::vector<Finding> silent_findings(std::uint64_t checkpoint_after_ms) {
    const std::string path = (dir_ / "vs.db").string();
    {
      auto log = storage::Log::open(path, storage::OpenMode::kReadWrite);
      EXPECT_TRUE(log) << log.error();
      storage::BatchWriter writer(std::move(*log), {});
      const auto gs = crypto::SecretKey::generate();
      const auto session = crypto::SecretKey::generate();
      JoinRequest request;
      request.gs_identity = gs.public_key();
      request.session_key = session.public_key();
      request.gs_time_ms = kJoinedMs;
      sign(request, gs, 0);
      sign(request, session, 1);
      const Bytes request_bytes = encode(request);
      JoinAccept accept;
      accept.session_id = 1;
      accept.gs_identity = gs.public_key();
      accept.session_key = session.public_key();
      accept.join_request_hash = chains::message_hash(request_bytes);
      accept.vs_time_ms = kJoinedMs;
      accept.heartbeat_interval_ms = kTimeout / 4;
      accept.heartbeat_timeout_ms = kTimeout;
      accept.ticket_period_ms = 1000;
      accept.ticket_validity_ms = 2000;
      accept.max_players_per_session = 16;
      sign(accept, vs_key_);
      EXPECT_TRUE(writer.submit(
          {{MessageKind::kJoinRequest, chains::Direction::kReceived, 1, kJoinedMs, request_bytes},
           {MessageKind::kJoinAccept, chains::Direction::kIssued, 1, kJoinedMs, encode(accept)}},
          nullptr));
      const std::uint64_t at = kJoinedMs + checkpoint_after_ms;
      EXPECT_TRUE(writer.submit_at_head(
          [&](std::uint64_t size, const Hash32& root) {
            Checkpoint checkpoint;
            checkpoint.log_size = size;
            checkpoint.root = root;
            checkpoint.vs_time_ms = at;
            sign(checkpoint, vs_key_);
            return std::vector<storage::PendingEntry>{
                {MessageKind::kCheckpoint, chains::Direction::kIssued, 0, at, encode(checkpoint)}};
          },
          nullptr));
      EXPECT_TRUE(writer.flush());
    }
    VerifyOptions options;
    options.vs_key = KeySource{vs_key_.public_key(), "test"};
    FindingSink sink;
    auto result = verify_store(path, options, sink);
    EXPECT_TRUE(result) << result.error();
    std::vector<Finding> silent;
    for (const auto& f : sink.kept()) {
      if (f.detail.find("silent session") != std::string::npos) silent.push_back(f);
    }
    return silent;
  }

  std::filesystem::path dir_;
  crypto::SecretKey vs_key_ = crypto::SecretKey::generate();
};

TEST_F(SilentSession, ACheckpointWithinTheGraceFindsNothing) {
  // Deadline at +1000 ms; the VS has until +2000 ms to have revoked.
  EXPECT_TRUE(silent_findings(2 * kTimeout).empty());
}

TEST_F(SilentSession, ACheckpointPastTheGraceFindsTheSessionUnrevoked) {
  const auto found = silent_findings(2 * kTimeout + 1);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].session_id, 1u);
  EXPECT_EQ(found[0].kind, static_cast<std::uint8_t>(MessageKind::kCheckpoint));
}

}  // namespace
}  // namespace gsvs::audit
