// The /metrics endpoint on a real socket, scraped with Boost.Beast's client: what each request
// gets, and the bounds (connections, request size, timeout) that keep a scraper from holding the
// daemon's event loop.
#include "metrics/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "metrics/registry.h"
#include "tests/support/escape.h"
#include "tests/support/metrics_scrape.h"

namespace gsvs::metrics {
namespace {

using testing::http_request;

// An HttpServer on 127.0.0.1 (a port the kernel picks), served by a thread of its own.
class Served {
 public:
  explicit Served(HttpLimits limits = {}) : registry_(std::make_shared<Registry>()) {
    registry_->counter("served_total", "Requests.").inc(3);
    server_ = std::make_unique<HttpServer>(io_, registry_, limits);
    const Status started =
        server_->start(ListenAddress{"127.0.0.1", 0}, "127.0.0.1:0", testing::fail_the_test());
    if (!started) throw std::runtime_error(started.error());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Served() {
    net::asio::post(io_, [this] {
      server_->close();
      io_.stop();
    });
    thread_.join();
  }
  Served(const Served&) = delete;
  Served& operator=(const Served&) = delete;
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }

 private:
  net::asio::io_context io_;
  std::shared_ptr<Registry> registry_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

struct RequestCase {
  const char* method;
  const char* target;
  int status;
};

class MetricsHttp : public ::testing::TestWithParam<RequestCase> {};

TEST_P(MetricsHttp, AnswersEachRequest) {
  Served served;
  const RequestCase& c = GetParam();
  const testing::HttpAnswer answer = http_request(served.port(), c.target, c.method);
  EXPECT_EQ(answer.status, c.status) << c.method << " " << c.target << ": " << answer.body;
  if (c.status == 200) {
    EXPECT_EQ(answer.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(answer.body,
              "# HELP served_total Requests.\n# TYPE served_total counter\n"
              "served_total 3\n");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MetricsHttp,
    ::testing::Values(RequestCase{"GET", "/metrics", 200},
                      RequestCase{"GET", "/metrics?name[]=x", 200}, RequestCase{"GET", "/", 404},
                      RequestCase{"GET", "/metrics/", 404}, RequestCase{"GET", "/admin", 404},
                      RequestCase{"POST", "/metrics", 405}, RequestCase{"PUT", "/metrics", 405},
                      RequestCase{"DELETE", "/metrics", 405}, RequestCase{"POST", "/other", 404}));

// Sends raw bytes and reads whatever comes back until the server closes.
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
  net::asio::io_context io;
  net::tcp::socket socket(io);
  socket.connect({net::asio::ip::make_address("127.0.0.1"), port});
  boost::system::error_code ec;
  net::asio::write(socket, net::asio::buffer(bytes), ec);
  std::string answer;
  net::asio::read(socket, net::asio::dynamic_buffer(answer), ec);  // until EOF
  return answer;
}

TEST(MetricsHttpBounds, ARequestThatIsNotHttpGets400AndTheConnectionCloses) {
  Served served;
  const std::string answer = raw_exchange(served.port(), "HELLO\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
}

TEST(MetricsHttpBounds, AHeaderOverTheLimitGets400) {
  HttpLimits limits;
  limits.max_request_bytes = 1024;
  Served served(limits);
  const std::string answer = raw_exchange(
      served.port(), "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
}

TEST(MetricsHttpBounds, ARequestWithABodyGets400) {
  Served served;
  const std::string answer =
      raw_exchange(served.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
}

TEST(MetricsHttpBounds, KeepAliveServesSeveralScrapesOnOneConnection) {
  Served served;
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string answer = raw_exchange(served.port(), request + request +
                                                             "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                                             "Connection: close\r\n\r\n");
  std::size_t answers = 0;
  for (auto at = answer.find("HTTP/1.1 200 "); at != std::string::npos;
       at = answer.find("HTTP/1.1 200 ", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 3u) << answer;
}

TEST(MetricsHttpBounds, AnIdleConnectionIsClosedAfterTheTimeout) {
  HttpLimits limits;
  limits.timeout = std::chrono::milliseconds(200);
  Served served(limits);
  // Sends nothing: the server closes it (the read returns at EOF, with nothing).
  EXPECT_EQ(raw_exchange(served.port(), ""), "");
}

TEST(MetricsHttpBounds, AConnectionBeyondTheCapIsClosedAndTheRestAreServed) {
  HttpLimits limits;
  limits.max_connections = 2;
  Served served(limits);
  net::asio::io_context io;
  std::vector<net::tcp::socket> idle;
  for (int i = 0; i < 2; ++i) {
    idle.emplace_back(io);
    idle.back().connect({net::asio::ip::make_address("127.0.0.1"), served.port()});
  }
  // Both slots are held by connections that send nothing yet; wait until the server has taken
  // them by seeing the third refused (closed without an answer).
  EXPECT_EQ(raw_exchange(served.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), "");
  idle.front().close();
  // A slot frees once the server sees the close; the next scrape then succeeds.
  testing::HttpAnswer answer;
  for (int attempt = 0; attempt < 200 && answer.status != 200; ++attempt) {
    try {
      answer = http_request(served.port(), "/metrics");
    } catch (const std::exception&) {
      std::this_thread::yield();
    }
  }
  EXPECT_EQ(answer.status, 200);
}

struct AddressCase {
  const char* text;
  bool valid;
  bool on;
};

class MetricsListenAddress : public ::testing::TestWithParam<AddressCase> {};

TEST_P(MetricsListenAddress, IsParsedOrRefused) {
  const AddressCase& c = GetParam();
  auto parsed = parse_listen_address(c.text);
  ASSERT_EQ(parsed.ok(), c.valid) << c.text;
  if (c.valid) {
    EXPECT_EQ(parsed->has_value(), c.on) << c.text;
  } else {
    EXPECT_NE(parsed.error().find(c.text), std::string::npos) << parsed.error();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, MetricsListenAddress,
                         ::testing::Values(AddressCase{"", true, false},
                                           AddressCase{"127.0.0.1:9100", true, true},
                                           AddressCase{"[::1]:9100", true, true},
                                           AddressCase{"0.0.0.0:9100", true, true},
                                           AddressCase{"localhost:9100", false, false},
                                           AddressCase{"127.0.0.1", false, false},
                                           AddressCase{"127.0.0.1:0", false, false},
                                           AddressCase{"127.0.0.1:65536", false, false},
                                           AddressCase{"127.0.0.1:port", false, false},
                                           AddressCase{":9100", false, false}));

}  // namespace
}  // namespace gsvs::metrics
