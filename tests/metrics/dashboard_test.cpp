// docs/grafana-dashboard.json is valid JSON whose queries use only metrics docs/OPERATIONS.md
// lists, and so are the alerts OPERATIONS.md recommends: a renamed metric cannot leave a panel or
// an alert silently empty.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/metrics_scrape.h"
#include "tests/support/process.h"

namespace gsvs::testing {
namespace {

// Every vsd_ or gsd_ name in `query`, less the suffixes of a histogram's series.
std::set<std::string> metrics_in(const std::string& query) {
  static const std::regex kName("\\b(vsd|gsd)_[a-z0-9_]+");
  static const std::regex kSuffix("_(bucket|sum|count)$");
  const std::set<std::string> documented = documented_metrics("");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(query.begin(), query.end(), kName);
       it != std::sregex_iterator(); ++it) {
    const std::string name = it->str();
    const std::string base = std::regex_replace(name, kSuffix, "");
    out.insert(documented.contains(name) ? name : base);
  }
  return out;
}

void collect_queries(const nlohmann::json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "expr" && value.is_string()) out.push_back(value.get<std::string>());
      collect_queries(value, out);
    }
  } else if (node.is_array()) {
    for (const auto& item : node) collect_queries(item, out);
  }
}

TEST(GrafanaDashboard, UsesOnlyDocumentedMetrics) {
  const nlohmann::json dashboard = nlohmann::json::parse(
      read_text(source_file("docs/grafana-dashboard.json")));  // throws if invalid
  std::vector<std::string> queries;
  collect_queries(dashboard, queries);
  ASSERT_GE(queries.size(), 10u);
  const std::set<std::string> documented = documented_metrics("");
  ASSERT_GE(documented.size(), 20u) << "the tables of OPERATIONS.md section 8 were not found";
  std::set<std::string> used;
  for (const std::string& query : queries) {
    for (const std::string& metric : metrics_in(query)) {
      EXPECT_TRUE(documented.contains(metric)) << metric << " in: " << query;
      used.insert(metric);
    }
  }
  // And the board shows every one of them.
  for (const std::string& metric : documented) {
    EXPECT_TRUE(used.contains(metric)) << metric << " has no panel";
  }
}

TEST(GrafanaDashboard, TheRecommendedAlertsUseOnlyDocumentedMetrics) {
  const std::string operations = read_text(source_file("docs/OPERATIONS.md"));
  const auto alerts = operations.find("### Alerts to set");
  ASSERT_NE(alerts, std::string::npos);
  const auto open = operations.find("```yaml", alerts);
  const auto close = operations.find("```", open + 7);
  ASSERT_NE(close, std::string::npos);
  const std::string rules = operations.substr(open, close - open);
  const std::set<std::string> used = metrics_in(rules);
  EXPECT_GE(used.size(), 6u) << rules;
  for (const std::string& metric : used) {
    EXPECT_TRUE(documented_metrics("").contains(metric)) << metric;
  }
}

}  // namespace
}  // namespace gsvs::testing
