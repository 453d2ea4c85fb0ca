// The registry renders the Prometheus text exposition format 0.0.4 exactly: HELP and TYPE lines,
// label escaping, cumulative histogram buckets with _sum and _count.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

#include "protocol/messages.h"

namespace gsvs::metrics {
namespace {

TEST(MetricsRegistry, RendersAFixedRegistryExactly) {
  Registry registry;
  Counter& accepted = registry.counter("demo_joins_accepted_total", "Joins accepted.");
  Counter& busy = registry.counter("demo_joins_rejected_total", "Joins rejected, by reason.",
                                   {{"reason", "busy"}});
  registry.counter("demo_joins_rejected_total", "Joins rejected, by reason.", {{"reason", "skew"}});
  Gauge& sessions = registry.gauge("demo_sessions", "Live sessions.");
  registry.gauge_function("demo_store_size_bytes", "Bytes on disk.", [] { return 1.5e9; });
  Histogram& latency =
      registry.histogram("demo_commit_seconds", "Commit time.", {0.001, 0.01, 0.1});
  accepted.inc();
  accepted.inc(2);
  busy.inc();
  sessions.set(7);
  sessions.add(-2);
  latency.observe(0.0005);
  latency.observe(0.001);  // a bound belongs to its own bucket
  latency.observe(0.05);
  latency.observe(3);
  EXPECT_EQ(registry.render(),
            "# HELP demo_joins_accepted_total Joins accepted.\n"
            "# TYPE demo_joins_accepted_total counter\n"
            "demo_joins_accepted_total 3\n"
            "# HELP demo_joins_rejected_total Joins rejected, by reason.\n"
            "# TYPE demo_joins_rejected_total counter\n"
            "demo_joins_rejected_total{reason=\"busy\"} 1\n"
            "demo_joins_rejected_total{reason=\"skew\"} 0\n"
            "# HELP demo_sessions Live sessions.\n"
            "# TYPE demo_sessions gauge\n"
            "demo_sessions 5\n"
            "# HELP demo_store_size_bytes Bytes on disk.\n"
            "# TYPE demo_store_size_bytes gauge\n"
            "demo_store_size_bytes 1500000000\n"
            "# HELP demo_commit_seconds Commit time.\n"
            "# TYPE demo_commit_seconds histogram\n"
            "demo_commit_seconds_bucket{le=\"0.001\"} 2\n"
            "demo_commit_seconds_bucket{le=\"0.01\"} 2\n"
            "demo_commit_seconds_bucket{le=\"0.1\"} 3\n"
            "demo_commit_seconds_bucket{le=\"+Inf\"} 4\n"
            "demo_commit_seconds_sum 3.0515\n"
            "demo_commit_seconds_count 4\n");
}

TEST(MetricsRegistry, HistogramLabelsComeBeforeLe) {
  Registry registry;
  registry.histogram("h_seconds", "H.", {1}, {{"op", "commit"}}).observe(2);
  EXPECT_EQ(registry.render(),
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{op=\"commit\",le=\"1\"} 0\n"
            "h_seconds_bucket{op=\"commit\",le=\"+Inf\"} 1\n"
            "h_seconds_sum{op=\"commit\"} 2\n"
            "h_seconds_count{op=\"commit\"} 1\n");
}

struct EscapeCase {
  const char* value;
  const char* label_text;
  const char* help_text;
};

class MetricsEscaping : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(MetricsEscaping, LabelValuesAndHelpAreEscaped) {
  const EscapeCase& c = GetParam();
  EXPECT_EQ(escape_label_value(c.value), c.label_text);
  EXPECT_EQ(escape_help(c.value), c.help_text);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MetricsEscaping,
    ::testing::Values(EscapeCase{"plain", "plain", "plain"},
                      EscapeCase{"a\"b", "a\\\"b", "a\"b"},  // quotes only in label values
                      EscapeCase{"back\\slash", "back\\\\slash", "back\\\\slash"},
                      EscapeCase{"two\nlines", "two\\nlines", "two\\nlines"},
                      EscapeCase{"\\n", "\\\\n", "\\\\n"},  // a backslash and an n stay two
                      EscapeCase{"tab\there", "tab\there", "tab\there"},
                      EscapeCase{"caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9"}));

TEST(MetricsRegistry, EscapesInRenderedOutput) {
  Registry registry;
  registry.counter("odd_total", "Help with \\ and\nnewline.", {{"path", "C:\\x \"q\"\n"}}).inc();
  EXPECT_EQ(registry.render(),
            "# HELP odd_total Help with \\\\ and\\nnewline.\n"
            "# TYPE odd_total counter\n"
            "odd_total{path=\"C:\\\\x \\\"q\\\"\\n\"} 1\n");
}

struct ValueCase {
  double value;
  const char* text;
};

class MetricsValues : public ::testing::TestWithParam<ValueCase> {};

TEST_P(MetricsValues, AreTheShortestRoundTrip) {
  EXPECT_EQ(format_value(GetParam().value), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MetricsValues,
    ::testing::Values(ValueCase{0, "0"}, ValueCase{1, "1"}, ValueCase{-2.5, "-2.5"},
                      ValueCase{0.005, "0.005"}, ValueCase{1733312345.678, "1733312345.678"},
                      ValueCase{1e21, "1e+21"}, ValueCase{1.5e9, "1500000000"},
                      ValueCase{-0.0, "0"},
                      ValueCase{std::numeric_limits<double>::infinity(), "+Inf"},
                      ValueCase{-std::numeric_limits<double>::infinity(), "-Inf"},
                      ValueCase{std::numeric_limits<double>::quiet_NaN(), "NaN"}));

TEST(MetricsRegistry, RefusesWhatPrometheusWouldNotRead) {
  Registry registry;
  EXPECT_THROW(registry.counter("joins", "A counter not named _total."), std::invalid_argument);
  EXPECT_THROW(registry.gauge("9lives", "Starts with a digit."), std::invalid_argument);
  EXPECT_THROW(registry.gauge("with-dash", "Dash."), std::invalid_argument);
  EXPECT_THROW(registry.gauge("g", "Bad label.", {{"__reserved", "x"}}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "le is the bucket's.", {1}, {{"le", "x"}}),
               std::invalid_argument);
  EXPECT_THROW(registry.histogram("h2", "Unsorted.", {2, 1}), std::invalid_argument);
  registry.gauge("same", "Help.", {{"a", "1"}});
  EXPECT_THROW(registry.gauge("same", "Help.", {{"a", "1"}}), std::invalid_argument);
  EXPECT_THROW(registry.gauge("same", "Other help.", {{"a", "2"}}), std::invalid_argument);
  registry.counter("same_total", "Help.");
  EXPECT_THROW(registry.gauge("same_total", "Help."), std::invalid_argument);
}

TEST(MetricsRegistry, CounterPerCodeNamesEachCodeAsTheProtocolDoes) {
  Registry registry;
  CounterPerCode<protocol::RevocationReason> revocations(registry, "r_total", "Revocations.",
                                                         "reason", protocol::kLastRevocationReason,
                                                         &protocol::reason_name);
  revocations.inc(protocol::RevocationReason::kGsLeft);
  revocations.inc(static_cast<protocol::RevocationReason>(0));    // outside the codes: ignored
  revocations.inc(static_cast<protocol::RevocationReason>(999));  // likewise
  const std::string text = registry.render();
  EXPECT_NE(text.find("r_total{reason=\"gs_left\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("r_total{reason=\"bad_signature\"} 0\n"), std::string::npos) << text;
  EXPECT_EQ(revocations.value(protocol::RevocationReason::kGsLeft), 1u);
}

TEST(MetricsRegistry, CountsFromManyThreadsWithoutLosingAny) {
  Registry registry;
  Counter& counter = registry.counter("c_total", "C.");
  Histogram& histogram = registry.histogram("h", "H.", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.inc();
        histogram.observe(i % 2);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 40000u);
  const Histogram::Snapshot snap = histogram.snapshot();
  EXPECT_EQ(snap.cumulative.front(), 20000u);
  EXPECT_EQ(snap.cumulative.back(), 40000u);
  EXPECT_EQ(snap.sum, 20000.0);
}

}  // namespace
}  // namespace gsvs::metrics
