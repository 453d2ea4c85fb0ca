// A Prometheus scrape for tests, with Boost.Beast's HTTP client: GET (or any method) on
// 127.0.0.1:port, and the samples of a text-format answer by series.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace gsvs::testing {

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};
// One request on a new connection; throws when nothing comes back.
HttpAnswer http_request(std::uint16_t port, const std::string& target,
                        const std::string& method = "GET");

// Each sample line of a text exposition ("name{labels} value"), keyed by everything before the
// value as rendered: `samples["vsd_joins_accepted_total"]`, `samples["x_total{reason=\"y\"}"]`.
std::map<std::string, double> parse_samples(const std::string& exposition);
// GET /metrics, checked to be 200 with the exposition content type; its samples.
std::map<std::string, double> scrape(std::uint16_t port);

// The metric families a scrape names: each sample's name, less a histogram's _bucket, _sum and
// _count.
std::set<std::string> families_of(const std::string& exposition);
// The metrics docs/OPERATIONS.md lists in section 8 whose name begins with `prefix` (its tables'
// first column), from the source tree (source_file); throws when the file cannot be read.
std::set<std::string> documented_metrics(const std::string& prefix);

}  // namespace gsvs::testing
