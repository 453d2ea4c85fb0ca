#include "vsd/admin.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <istream>

namespace gsvs::vsd {

namespace asio = net::asio;

AdminServer::AdminServer(asio::io_context& io, std::string path, AdminOperations operations)
    : io_(io), path_(std::move(path)), operations_(std::move(operations)), acceptor_(io) {}

Status AdminServer::open() {
  // The admin socket is the operator's: created 0600, so only its owner can revoke.
  ::unlink(path_.c_str());
  boost::system::error_code ec;
  const mode_t old_mask = ::umask(077);
  asio::local::stream_protocol::endpoint endpoint(path_);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  ::umask(old_mask);
  if (!ec) acceptor_.listen(16, ec);
  if (ec) return Error{"cannot create admin socket " + path_ + ": " + ec.message()};
  return {};
}

void AdminServer::start(std::shared_ptr<void> owner) {
  asio::co_spawn(io_, accept_loop(std::move(owner)), asio::detached);
}

void AdminServer::close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

asio::awaitable<void> AdminServer::accept_loop(std::shared_ptr<void> owner) {
  while (acceptor_.is_open()) {
    boost::system::error_code ec;
    Socket socket(io_);
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(io_, serve(std::move(socket), owner), asio::detached);
  }
}

asio::awaitable<void> AdminServer::serve(Socket socket, std::shared_ptr<void> /*owner*/) {
  boost::system::error_code ec;
  asio::streambuf buffer(4096);
  co_await asio::async_read_until(socket, buffer, '\n',
                                  asio::redirect_error(asio::use_awaitable, ec));
  nlohmann::json reply;
  if (ec) {
    reply = {{"ok", false}, {"error", "request must be one line of at most 4096 bytes"}};
  } else {
    std::istream in(&buffer);
    std::string line;
    std::getline(in, line);
    reply = answer(line);
  }
  std::string out = reply.dump() + "\n";
  co_await asio::async_write(socket, asio::buffer(out),
                             asio::redirect_error(asio::use_awaitable, ec));
}

nlohmann::json AdminServer::answer(const std::string& request_line) {
  auto request = nlohmann::json::parse(request_line, nullptr, false);
  const std::string command =
      request.is_object() && request.contains("command") && request["command"].is_string()
          ? request["command"].get<std::string>()
          : "";
  if (command == "status") {
    nlohmann::json reply = operations_.status();
    reply["ok"] = true;
    return reply;
  }
  if (command == "revoke" && request.contains("session_id") &&
      request["session_id"].is_number_unsigned() && request.contains("reason") &&
      request["reason"].is_string()) {
    auto error = operations_.revoke(request["session_id"].get<protocol::SessionId>(),
                                    request["reason"].get<std::string>());
    return error.empty() ? nlohmann::json{{"ok", true}}
                         : nlohmann::json{{"ok", false}, {"error", error}};
  }
  return {
      {"ok", false},
      {"error",
       R"(unknown request; send {"command":"status"} or {"command":"revoke","session_id":N,"reason":"..."})"}};
}

}  // namespace gsvs::vsd
