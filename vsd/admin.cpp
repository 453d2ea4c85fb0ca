#include "vsd/admin.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <istream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "net/accept_backoff.h"
#include "protocol/utf8.h"

namespace gsvs::vsd {

namespace asio = net::asio;
using LocalEndpoint = asio::local::stream_protocol::endpoint;

namespace {

std::string describe_file_type(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "a file that is not a socket";
}

std::string errno_message(int error) {
  return std::error_code(error, std::generic_category()).message();
}

}  // namespace

Status check_socket_path(const std::string& path) {
  if (path.empty()) return Error{"admin socket path is empty"};
  if (path.size() > kMaxSocketPathBytes) {
    return Error{"admin socket path " + path + " is " + std::to_string(path.size()) +
                 " bytes long; a Unix socket path holds at most " +
                 std::to_string(kMaxSocketPathBytes) + " (choose a shorter admin_socket)"};
  }
  if (path.find('\0') != std::string::npos) {
    return Error{"admin socket path " + path + " contains a NUL byte"};
  }
  return {};
}

AdminServer::AdminServer(asio::io_context& io, std::string path, AdminOperations operations,
                         std::chrono::milliseconds connection_timeout)
    : io_(io),
      path_(std::move(path)),
      operations_(std::move(operations)),
      connection_timeout_(connection_timeout),
      acceptor_(io) {}

AdminServer::~AdminServer() { close(); }

Status AdminServer::open() {
  Status valid = check_socket_path(path_);
  if (!valid) return valid;
  // Never delete what the path names unless it is the stale socket of an earlier run: an
  // admin_socket set by mistake to the store or the key must not cost the operator that file.
  struct stat existing {};
  if (::lstat(path_.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      return Error{"admin socket " + path_ + " is " + describe_file_type(existing.st_mode) +
                   ", not a socket; vsd does not replace it (choose another admin_socket)"};
    }
    Socket probe(io_);
    boost::system::error_code ec;
    probe.connect(LocalEndpoint(path_), ec);
    if (!ec) return Error{"admin socket " + path_ + " is in use by a running vsd"};
    if (ec != asio::error::connection_refused) {
      return Error{"admin socket " + path_ + " exists and cannot be probed (" + ec.message() +
                   "); remove it if no vsd runs"};
    }
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      return Error{"cannot remove the stale admin socket " + path_ + ": " + errno_message(errno)};
    }
    spdlog::info("admin socket {}: removed the stale socket of an earlier run", path_);
  } else if (errno != ENOENT) {
    return Error{"admin socket " + path_ + ": " + errno_message(errno)};
  }

  // The admin socket is the operator's: created 0600, so only its owner can revoke.
  boost::system::error_code ec;
  const mode_t old_mask = ::umask(077);
  LocalEndpoint endpoint(path_);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  ::umask(old_mask);
  if (ec) return Error{"cannot create admin socket " + path_ + ": " + ec.message()};
  struct stat created {};
  if (::lstat(path_.c_str(), &created) == 0) {
    created_ = true;
    created_device_ = created.st_dev;
    created_inode_ = created.st_ino;
  }
  acceptor_.listen(16, ec);
  if (ec) return Error{"cannot listen on admin socket " + path_ + ": " + ec.message()};
  return {};
}

void AdminServer::start(std::shared_ptr<void> owner, net::Failure on_fault) {
  on_fault_ = std::move(on_fault);
  asio::co_spawn(io_, accept_loop(std::move(owner)),
                 net::EscapeHandler("the admin socket's listener", on_fault_));
}

void AdminServer::close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  if (!created_) return;
  created_ = false;
  struct stat current {};
  if (::lstat(path_.c_str(), &current) == 0 && current.st_dev == created_device_ &&
      current.st_ino == created_inode_) {
    ::unlink(path_.c_str());
  }
}

asio::awaitable<void> AdminServer::accept_loop(std::shared_ptr<void> owner) {
  net::AcceptBackoff backoff(io_.get_executor(), "admin socket " + path_);
  while (acceptor_.is_open()) {
    boost::system::error_code ec;
    Socket socket(io_);
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      // Ending here would leave the operator without `vsd status` until a restart.
      const bool waited = co_await backoff.after_failure(ec);
      if (waited) continue;
      spdlog::warn("admin socket {}: accept failed: {}", path_, ec.message());
      continue;
    }
    backoff.after_success();
    asio::co_spawn(io_, serve(std::move(socket), owner),
                   net::EscapeHandler("an admin request", on_fault_));
  }
}

// Shared by the exchange and its deadline, which may fire after the exchange is over.
struct AdminServer::Connection {
  explicit Connection(Socket connected) : socket(std::move(connected)) {}
  Socket socket;
  bool timed_out = false;
};

asio::awaitable<void> AdminServer::serve(Socket socket, std::shared_ptr<void> /*owner*/) {
  auto connection = std::make_shared<Connection>(std::move(socket));
  // One deadline for the whole exchange: closing the socket ends the read or write under way.
  asio::steady_timer deadline(io_, connection_timeout_);
  deadline.async_wait(
      [weak = std::weak_ptr<Connection>(connection)](const boost::system::error_code& ec) {
        auto expired = weak.lock();
        if (ec || !expired) return;
        expired->timed_out = true;
        boost::system::error_code ignored;
        expired->socket.close(ignored);
      });

  boost::system::error_code ec;
  asio::streambuf buffer(kMaxAdminRequestBytes);
  co_await asio::async_read_until(connection->socket, buffer, '\n',
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (connection->timed_out) {
    spdlog::warn("admin connection closed: no request line within {} ms",
                 connection_timeout_.count());
    co_return;
  }
  // A peer that connects and leaves without a word (vsd probing whether its socket is in use).
  if (ec == asio::error::eof && buffer.size() == 0) co_return;
  nlohmann::json reply;
  if (ec) {
    reply = {{"ok", false},
             {"error", "request must be one line of at most " +
                           std::to_string(kMaxAdminRequestBytes) + " bytes"}};
  } else {
    std::istream in(&buffer);
    std::string line;
    std::getline(in, line);
    reply = answer(line);
  }
  // Replacing what is not UTF-8 (a parse error quotes the bytes it read) rather than throwing.
  std::string out = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  co_await asio::async_write(connection->socket, asio::buffer(out),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (connection->timed_out) {
    spdlog::warn("admin connection closed: the reply was not read within {} ms",
                 connection_timeout_.count());
  }
}

nlohmann::json AdminServer::answer(const std::string& request_line) {
  const auto refuse = [](std::string error) {
    return nlohmann::json{{"ok", false}, {"error", std::move(error)}};
  };
  nlohmann::json request;
  try {
    // The parser also refuses text that is not UTF-8, so every string below is UTF-8.
    request = nlohmann::json::parse(request_line);
  } catch (const nlohmann::json::out_of_range& e) {  // a number no double holds
    return refuse(std::string("request holds a number out of range: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    return refuse(std::string("request is not JSON in UTF-8: ") + e.what());
  }
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
    const auto reason = request["reason"].get<std::string>();
    if (reason.empty()) {
      return refuse(
          "the reason is empty: say why the session is revoked (it goes into the "
          "signed notice and the log)");
    }
    // "quarantine": true asks for the identity's quarantine as well (absent: false).
    const auto quarantine_field = request.find("quarantine");
    if (quarantine_field != request.end() && !quarantine_field->is_boolean()) {
      return refuse("\"quarantine\" must be true or false");
    }
    const auto kind = quarantine_field != request.end() && quarantine_field->get<bool>()
                          ? OperatorRevocation::kQuarantine
                          : OperatorRevocation::kRevoke;
    auto error = operations_.revoke(request["session_id"].get<protocol::SessionId>(), reason, kind);
    return error.empty() ? nlohmann::json{{"ok", true}} : refuse(error);
  }
  if (command == "pardon") return answer_pardon(request);
  if (command == "reload") {
    if (!operations_.reload) return refuse("this daemon does not reload");
    auto reloaded = operations_.reload();
    if (!reloaded) return refuse(reloaded.error());
    return nlohmann::json{{"ok", true}, {"applied", *reloaded}};
  }
  return refuse(
      R"(unknown request; send {"command":"status"}, {"command":"reload"}, {"command":"revoke","session_id":N,"reason":"...","quarantine":false} or {"command":"pardon","gs_identity":"HEX","reason":"..."})");
}

nlohmann::json AdminServer::answer_pardon(const nlohmann::json& request) {
  const auto refuse = [](std::string error) {
    return nlohmann::json{{"ok", false}, {"error", std::move(error)}};
  };
  if (!operations_.pardon) return refuse("this daemon does not pardon");
  const auto identity_field = request.find("gs_identity");
  if (identity_field == request.end() || !identity_field->is_string()) {
    return refuse(R"(a pardon names the GS identity: {"gs_identity":"HEX"} (64 hex characters))");
  }
  const auto identity = fixed_from_hex<32>(identity_field->get<std::string>());
  if (!identity) {
    return refuse("gs_identity '" + identity_field->get<std::string>() +
                  "' is not a GS identity key (64 hex characters, as 'vsd status' lists it)");
  }
  const auto reason_field = request.find("reason");
  const std::string reason = reason_field != request.end() && reason_field->is_string()
                                 ? reason_field->get<std::string>()
                                 : "";
  if (auto problem = pardon_reason_problem(reason); !problem.empty()) {
    return refuse("the reason " + problem);
  }
  auto done = operations_.pardon(*identity, reason);
  if (!done) return refuse(done.error());
  nlohmann::json reply = std::move(done).value();
  reply["ok"] = true;
  return reply;
}

std::string pardon_reason_problem(const std::string& reason) {
  if (reason.find_first_not_of(" \t") == std::string::npos) {
    return "is empty: say why the quarantine is lifted (it goes into the signed Pardon and the "
           "log)";
  }
  if (reason.size() > protocol::kMaxPardonReasonBytes) {
    return "is " + std::to_string(reason.size()) + " bytes; a Pardon holds at most " +
           std::to_string(protocol::kMaxPardonReasonBytes) + " (say it shorter)";
  }
  if (!utf8::valid(reason)) return "is not valid UTF-8 text";
  return {};
}

Result<nlohmann::json> admin_request(const std::string& socket_path, const nlohmann::json& request,
                                     std::chrono::milliseconds reply_within) {
  Status valid = check_socket_path(socket_path);
  if (!valid) return Error{valid.error()};
  std::string line;
  try {
    line = request.dump() + "\n";
  } catch (const nlohmann::json::type_error& e) {
    return Error{std::string("the request holds text that is not UTF-8: ") + e.what()};
  }
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code ec;
  socket.connect(LocalEndpoint(socket_path), ec);
  if (ec) {
    return Error{"cannot reach the VS admin socket " + socket_path + ": " + ec.message() +
                 " (is vsd running, and are you its operator?)"};
  }
  asio::write(socket, asio::buffer(line), ec);
  asio::streambuf buffer;
  if (!ec) {
    // Read with a deadline: a daemon that is stopped (SIGSTOP) or stuck accepts the connection
    // (the kernel does) and never answers, and a monitoring job must not wait on it for good.
    bool replied = false;
    asio::async_read_until(socket, buffer, '\n',
                           [&](const boost::system::error_code& read, std::size_t) {
                             ec = read;
                             replied = true;
                           });
    io.run_for(reply_within);
    if (!replied) {
      const auto ms = reply_within.count();
      return Error{
          "no reply from vsd on " + socket_path + " within " +
          (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms") +
          ": the daemon accepted the connection but does not answer (stopped, or "
          "stuck: its log says which)"};
    }
  }
  if (ec && ec != asio::error::eof) return Error{"admin socket: " + ec.message()};
  std::istream in(&buffer);
  std::string reply;
  std::getline(in, reply);
  auto json = nlohmann::json::parse(reply, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Error{"admin socket sent a reply that is not a JSON object (is " + socket_path +
                 " a vsd's admin socket?)"};
  }
  return json;
}

}  // namespace gsvs::vsd
