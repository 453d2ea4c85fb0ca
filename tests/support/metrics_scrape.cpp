#include "tests/support/metrics_scrape.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/process.h"

namespace gsvs::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpAnswer http_request(std::uint16_t port, const std::string& target, const std::string& method) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.keep_alive(false);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  HttpAnswer answer;
  answer.status = static_cast<int>(response.result_int());
  answer.content_type = std::string(response[http::field::content_type]);
  answer.body = response.body();
  return answer;
}

std::map<std::string, double> parse_samples(const std::string& exposition) {
  std::map<std::string, double> samples;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) throw std::runtime_error("not a sample line: " + line);
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

std::map<std::string, double> scrape(std::uint16_t port) {
  const HttpAnswer answer = http_request(port, "/metrics");
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.content_type, "text/plain; version=0.0.4; charset=utf-8");
  return parse_samples(answer.body);
}

std::set<std::string> families_of(const std::string& exposition) {
  std::set<std::string> families;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    // "# TYPE name type" names each family once, histograms without their suffixes.
    if (line.starts_with("# TYPE ")) {
      const std::string rest = line.substr(7);
      families.insert(rest.substr(0, rest.find(' ')));
    }
  }
  return families;
}

std::set<std::string> documented_metrics(const std::string& prefix) {
  const std::string operations = read_text(source_file("docs/OPERATIONS.md"));
  const auto section = operations.find("\n## 8. Metrics");
  if (section == std::string::npos) throw std::runtime_error("OPERATIONS.md has no section 8");
  std::set<std::string> names;
  std::istringstream lines(operations.substr(section));
  std::string line;
  const std::string row = "| `" + prefix;
  while (std::getline(lines, line)) {
    if (!line.starts_with(row)) continue;
    const auto end = line.find('`', 3);
    names.insert(line.substr(3, end - 3));
  }
  return names;
}

}  // namespace gsvs::testing
