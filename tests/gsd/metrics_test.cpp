// gsd's /metrics endpoint against the real daemons: players, input verdicts, ticket ages and the
// state of the VS link, scraped with Boost.Beast's client and checked against what the client
// saw and the GS's store; a bad metrics_listen stops the start with the key named.
#include <gtest/gtest.h>

#include "protocol/keyfile.h"
#include "tests/support/gsd_fixture.h"
#include "tests/support/metrics_scrape.h"

namespace gsvs::testing {
namespace {

using namespace protocol;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string metrics_line(std::uint16_t port) {
  return "metrics_listen = \"127.0.0.1:" + std::to_string(port) + "\"\n";
}

std::size_t tickets_in(const std::vector<storage::Entry>& entries) {
  std::size_t n = 0;
  for (const auto& e : entries) n += e.header.kind == MessageKind::kPlayTicket;
  return n;
}

class GsdMetricsEndpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(keyfile::write_key_pair(key_path_, identity_).ok());
    vs_ = std::make_unique<VsProcess>(dir_, std::vector<crypto::PublicKey>{identity_.public_key()},
                                      std::vector<Hash32>{sha256_of_file(program("gsd"))},
                                      VsOptions{});
    GsdOptions options;
    options.extra = metrics_line(metrics_port_);
    gsd_ = std::make_unique<GsdProcess>(dir_, *vs_, key_path_, options);
  }
  std::string diagnostics() {
    return "--- gsd ---\n" + gsd_->process().output() + "--- vsd ---\n" + vs_->process().output();
  }

  TempDir dir_;
  crypto::SecretKey identity_ = crypto::SecretKey::generate();
  std::string key_path_ = dir_.file("gs.key");
  std::uint16_t metrics_port_ = free_port();
  std::unique_ptr<VsProcess> vs_;
  std::unique_ptr<GsdProcess> gsd_;
};

TEST_F(GsdMetricsEndpoint, CountsPlayersInputsTicketsAndTheVsLink) {
  ScriptedClient client(gsd_->port(), vs_->public_key());
  client.handshake();
  ASSERT_TRUE(client.pump_until([&] { return client.tickets().size() >= 2; }, seconds(5)))
      << diagnostics();
  // One input accepted, then the same bytes again: a replay. The GS handles a connection's frames
  // in order, so once the reject arrives both have been counted.
  const ClientInput input = client.make_input(100, 0);
  client.send_input(input);
  client.send_input(input);
  const auto reject = client.next_reject(seconds(5));
  ASSERT_TRUE(reject) << diagnostics();
  ASSERT_EQ(reject->reason, static_cast<std::uint16_t>(InputRejectReason::kReplayedSequence));

  const std::size_t tickets_recorded = tickets_in(read_store(gsd_->store_path()));
  auto samples = scrape(metrics_port_);
  EXPECT_EQ(samples["gsd_clients_connected"], 1);
  EXPECT_EQ(samples["gsd_inputs_accepted_total"], 1);
  for (std::uint16_t code = 1; code <= static_cast<std::uint16_t>(kLastInputRejectReason); ++code) {
    const auto reason = static_cast<InputRejectReason>(code);
    const std::string name =
        "gsd_inputs_rejected_total{reason=\"" + std::string(reason_name(reason)) + "\"}";
    EXPECT_EQ(samples[name], reason == InputRejectReason::kReplayedSequence ? 1 : 0) << name;
  }
  EXPECT_EQ(samples["gsd_vs_connected"], 1);
  EXPECT_EQ(samples["gsd_vs_reconnects_total"], 0);
  EXPECT_EQ(samples["gsd_clients_refused_total{reason=\"no_hello\"}"], 0);
  EXPECT_EQ(samples["gsd_clients_refused_total{reason=\"displaced\"}"], 0);
  // Every ticket the GS recorded was forwarded (and its age observed) before it was scraped; the
  // store, read before the scrape, may trail by the tickets of its last commit.
  const double forwarded = samples["gsd_ticket_age_seconds_count"];
  EXPECT_GE(forwarded, static_cast<double>(tickets_recorded));
  EXPECT_GE(forwarded, static_cast<double>(client.tickets().size()));
  EXPECT_EQ(forwarded, samples["gsd_ticket_age_seconds_bucket{le=\"+Inf\"}"]);
  EXPECT_EQ(http_request(metrics_port_, "/").status, 404);
  // OPERATIONS.md lists exactly what gsd exports.
  EXPECT_EQ(families_of(http_request(metrics_port_, "/metrics").body), documented_metrics("gsd_"));

  // A connection that leaves without a ClientHello is a refusal.
  FrameSocket(gsd_->port()).close();
  for (int scrapes = 0; scrapes < 100; ++scrapes) {
    samples = scrape(metrics_port_);
    if (samples["gsd_clients_refused_total{reason=\"no_hello\"}"] >= 1) break;
    client.pump_for(milliseconds(50));
  }
  EXPECT_EQ(samples["gsd_clients_refused_total{reason=\"no_hello\"}"], 1) << diagnostics();

  // The VS goes away: the link is down, and gsd tries again after its backoff.
  ASSERT_EQ(vs_->stop(), 0) << diagnostics();
  ASSERT_TRUE(gsd_->wait_for_count("VS connection lost", 1, seconds(10))) << diagnostics();
  ASSERT_TRUE(gsd_->wait_for_count("the VS again in", 1, seconds(10))) << diagnostics();
  // The attempt is counted once its wait is over (reconnect_backoff_max_ms is 1 s here).
  for (int scrapes = 0; scrapes < 100; ++scrapes) {
    samples = scrape(metrics_port_);
    if (samples["gsd_vs_reconnects_total"] >= 1) break;
    client.pump_for(milliseconds(50));
  }
  EXPECT_EQ(samples["gsd_vs_connected"], 0);
  EXPECT_GE(samples["gsd_vs_reconnects_total"], 1);
  EXPECT_EQ(gsd_->stop(), 0) << diagnostics();
  EXPECT_LE(forwarded, static_cast<double>(tickets_in(read_store(gsd_->store_path()))));
}

TEST_F(GsdMetricsEndpoint, ABadMetricsListenStopsTheStartNamingTheKey) {
  ASSERT_EQ(gsd_->stop(), 0) << diagnostics();
  for (const std::string value : {"gs.example.net:9100", "127.0.0.1:0"}) {
    ChildProcess child(
        {program("gsd"), "run", "--config", gsd_->config_path(), "--metrics_listen", value},
        dir_.file("gsd-again.out"));
    EXPECT_EQ(child.wait(seconds(20)), 2) << child.output();
    EXPECT_NE(child.output().find("config key 'metrics_listen': '" + value + "'"),
              std::string::npos)
        << child.output();
  }
}

}  // namespace
}  // namespace gsvs::testing
