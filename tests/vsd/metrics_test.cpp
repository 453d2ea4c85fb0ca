// vsd's /metrics endpoint against the real daemon: a short session scraped with Boost.Beast's
// client, every counter checked against what the store holds; a bad metrics_listen stops the
// start with the key named, before the store is touched.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "protocol/clock.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/vs_fixture.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)

std::string series(const std::string& name, const std::string& label, std::string_view value) {
  return name + "{" + label + "=\"" + std::string(value) + "\"}";
}

// How many entries of `kind` and `direction` the store holds.
std::size_t count_entries(const std::vector<storage::Entry>& entries, MessageKind kind,
                          chains::Direction direction) {
  std::size_t n = 0;
  for (const auto& e : entries) n += e.header.kind == kind && e.header.direction == direction;
  return n;
}

// How many entries of type M decode with `reason` as their reason code.
template <class M>
std::size_t count_with_reason(const std::vector<storage::Entry>& entries, std::uint16_t reason) {
  std::size_t n = 0;
  for (const auto& e : entries) {
    if (e.header.kind != M::kKind) continue;
    auto message = decode<M>(e.message);
    n += message && message->reason == reason;
  }
  return n;
}

class VsdMetricsEndpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    VsOptions options;
    options.extra = "metrics_listen = \"127.0.0.1:" + std::to_string(metrics_port_) + "\"\n";
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                      std::vector<Hash32>{build_}, options);
  }

  // Runs `vsd run` on the test's config with `args` after it until it exits.
  std::pair<int, std::string> run_vsd(const std::vector<std::string>& args) {
    std::vector<std::string> argv{program("vsd"), "run", "--config", vs_->config_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess child(argv, dir_.file("vsd-again.out"));
    const int code = child.wait(std::chrono::seconds(20));
    return {code, child.output()};
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  Hash32 build_ = crypto::sha256(as_bytes("honest build 1.0"));
  std::uint16_t metrics_port_ = free_port();
  std::unique_ptr<VsProcess> vs_;
};

TEST_F(VsdMetricsEndpoint, CountersAgreeWithTheStore) {
  {
    // A build the VS does not allow: a logged JoinReject.
    ScriptedGs refused(vs_->port(), identity_, crypto::sha256(as_bytes("hacked build")));
    refused.send_join(refused.make_join_request());
    ASSERT_TRUE(refused.expect<JoinReject>()) << vs_->process().output();
  }
  ScriptedGs gs(vs_->port(), identity_, build_);
  gs.join();
  ASSERT_TRUE(gs.expect<PlayTicket>());
  gs.send_signed(gs.make_heartbeat());
  PlayerPosition player;
  player.player = crypto::SecretKey::generate().public_key();
  gs.send_signed(gs.make_digest({player}, unix_time_ms()));
  ASSERT_TRUE(gs.expect<ProtectedReceipt>());
  auto live = scrape(metrics_port_);
  EXPECT_EQ(live["vsd_sessions_live"], 1);
  EXPECT_EQ(live["vsd_joins_accepted_total"], 1);

  // The GS leaves: its revocation (gs_left) follows every entry of the session in the log.
  GsLeaving leaving;
  leaving.session_id = gs.session_id();
  leaving.gs_counter = gs.next_counter();
  leaving.gs_time_ms = unix_time_ms();
  leaving.receipt_count = gs.receipt_count;
  leaving.receipt_tip = gs.receipt_tip;
  gs.send_signed(leaving);
  ASSERT_TRUE(gs.expect<Revocation>()) << vs_->process().output();
  // The first checkpoint follows within checkpoint_interval_ms (300 ms here) of the start.
  auto samples = scrape(metrics_port_);
  for (int scrapes = 0; scrapes < 200 && samples["vsd_last_checkpoint_log_size"] == 0; ++scrapes) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polls the endpoint
    samples = scrape(metrics_port_);
  }
  const auto entries = vs_->entries();  // read after the scrape: it holds at least as much

  EXPECT_EQ(samples["vsd_sessions_live"], 0);
  EXPECT_EQ(samples["vsd_joins_accepted_total"],
            count_entries(entries, MessageKind::kJoinAccept, chains::Direction::kIssued));
  EXPECT_EQ(samples["vsd_resumes_accepted_total"], 0);
  EXPECT_EQ(samples["vsd_tickets_issued_total"],
            count_entries(entries, MessageKind::kPlayTicket, chains::Direction::kIssued));
  // Every receipt logged was signed in some batch (one alone is a batch of one).
  EXPECT_EQ(samples["vsd_receipt_batch_receipts_sum"],
            count_entries(entries, MessageKind::kProtectedReceipt, chains::Direction::kIssued));
  EXPECT_GE(samples["vsd_receipt_batch_receipts_sum"], 1);
  EXPECT_LE(samples["vsd_receipt_batch_receipts_count"], samples["vsd_receipt_batch_receipts_sum"]);
  for (std::uint16_t code = 1; code <= static_cast<std::uint16_t>(kLastJoinRejectReason); ++code) {
    const auto reason = static_cast<JoinRejectReason>(code);
    EXPECT_EQ(samples[series("vsd_joins_rejected_total", "reason", reason_name(reason))],
              count_with_reason<JoinReject>(entries, code))
        << reason_name(reason);
  }
  EXPECT_EQ(samples[series("vsd_joins_rejected_total", "reason", "build_not_allowed")], 1);
  for (std::uint16_t code = 1; code <= static_cast<std::uint16_t>(kLastRevocationReason); ++code) {
    const auto reason = static_cast<RevocationReason>(code);
    EXPECT_EQ(samples[series("vsd_revocations_total", "reason", reason_name(reason))],
              count_with_reason<Revocation>(entries, code))
        << reason_name(reason);
  }
  EXPECT_EQ(samples[series("vsd_revocations_total", "reason", "gs_left")], 1);
  // Session traffic by kind; the handshake's JoinRequests are counted as joins, not here.
  for (std::uint8_t code = 1; code <= kMaxMessageKind; ++code) {
    const auto kind = static_cast<MessageKind>(code);
    const double counted = samples[series("vsd_messages_received_total", "kind", kind_name(kind))];
    if (kind == MessageKind::kJoinRequest || kind == MessageKind::kGsResume) {
      EXPECT_EQ(counted, 0) << kind_name(kind);
    } else {
      EXPECT_EQ(counted, count_entries(entries, kind, chains::Direction::kReceived))
          << kind_name(kind);
    }
  }
  EXPECT_EQ(samples[series("vsd_messages_received_total", "kind", "GsLeaving")], 1);

  // The store's figures: a single file; every commit counted; the last checkpoint where it says.
  EXPECT_EQ(samples["vsd_store_segments"], 1);
  EXPECT_GT(samples["vsd_store_size_bytes"], 0);
  EXPECT_GT(samples["vsd_store_entries"], 0);
  EXPECT_LE(samples["vsd_store_entries"], static_cast<double>(entries.size()));
  EXPECT_GE(samples["vsd_store_queue_entries"], 0);
  EXPECT_GE(samples["vsd_store_commit_entries_count"], 1);
  EXPECT_EQ(samples["vsd_store_commit_seconds_count"], samples["vsd_store_commit_entries_count"]);
  EXPECT_EQ(samples["vsd_store_commit_seconds_count"],
            samples["vsd_store_commit_seconds_bucket{le=\"+Inf\"}"]);
  EXPECT_LE(samples["vsd_store_commit_entries_sum"], samples["vsd_store_entries"]);
  const auto checkpoint_size = static_cast<std::size_t>(samples["vsd_last_checkpoint_log_size"]);
  ASSERT_GE(checkpoint_size, 1u) << vs_->process().output();
  const storage::Entry& checkpoint = entries.at(checkpoint_size - 1);
  ASSERT_EQ(checkpoint.header.kind, MessageKind::kCheckpoint);
  EXPECT_DOUBLE_EQ(samples["vsd_last_checkpoint_timestamp_seconds"],
                   static_cast<double>(checkpoint.header.vs_time_ms) / 1000.0);
  EXPECT_EQ(samples["vsd_max_connections"], 10000);

  // OPERATIONS.md lists exactly what vsd exports.
  EXPECT_EQ(families_of(http_request(metrics_port_, "/metrics").body), documented_metrics("vsd_"));
  // Nothing but /metrics, and nothing but GET.
  EXPECT_EQ(http_request(metrics_port_, "/").status, 404);
  EXPECT_EQ(http_request(metrics_port_, "/status").status, 404);
  EXPECT_EQ(http_request(metrics_port_, "/metrics", "POST").status, 405);
  EXPECT_EQ(vs_->stop(), 0) << vs_->process().output();
}

TEST_F(VsdMetricsEndpoint, ABadMetricsListenStopsTheStartNamingTheKey) {
  ASSERT_EQ(vs_->stop(), 0) << vs_->process().output();
  const std::size_t logged = vs_->entries().size();
  // A port another process listens on.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(io,
                                       {boost::asio::ip::make_address("127.0.0.1"), free_port()});
  const std::string busy = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  struct Case {
    std::string value;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"localhost:9100", "'localhost' is not an IP address"},
      {"127.0.0.1", "is not HOST:PORT"},
      {"127.0.0.1:99999", "port must be a number from 1 to 65535"},
      {busy, "cannot listen on " + busy + ": Address already in use"},
  };
  for (const Case& c : cases) {
    auto [code, output] = run_vsd({"--metrics_listen", c.value});
    EXPECT_EQ(code, 2) << c.value << ": " << output;
    EXPECT_NE(output.find("config key 'metrics_listen': "), std::string::npos) << output;
    EXPECT_NE(output.find(c.expected), std::string::npos) << output;
  }
  // Refused before the store was touched: no VsStart of a start that never was.
  EXPECT_EQ(vs_->entries().size(), logged);
}

}  // namespace
}  // namespace gsvs::testing
