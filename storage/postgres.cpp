#include "storage/postgres.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace gsvs::storage::postgres {

namespace {

// libpq's messages end in a newline and may run over several lines ("...\nDETAIL: ..."): one line.
std::string one_line(const char* text) {
  std::string out = text == nullptr ? std::string() : std::string(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (std::size_t at = out.find('\n'); at != std::string::npos; at = out.find('\n', at)) {
    // libpq indents its continuation lines with a tab.
    const std::size_t next = out.find_first_not_of(" \t", at + 1);
    out.replace(at, (next == std::string::npos ? out.size() : next) - at, "; ");
  }
  return out.empty() ? std::string("no message from libpq") : out;
}

std::string result_error(const PGresult* res, PGconn* conn) {
  if (res == nullptr) return one_line(PQerrorMessage(conn));
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (primary == nullptr) return one_line(PQresultErrorMessage(res));
  std::string out = primary;
  if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) {
    out += " (" + std::string(detail) + ")";
  }
  return one_line(out.c_str());
}

// The server's SQLSTATE for a password it refuses (a role that does not exist gets it too).
constexpr std::string_view kInvalidPassword = "28P01";

// libpq settings every connection gets. First, so that the URL's own settings win (the expanded
// dbname, last, overrides them): a server or network that vanishes is noticed in seconds, not
// after the kernel's two hours of keepalive idle. vsd waits on these connections where it places
// entries and answers joins, and a wait without end would hang every session.
constexpr std::array<const char*, 6> kConnectKeywords{"keepalives_idle",  "keepalives_interval",
                                                      "keepalives_count", "tcp_user_timeout",
                                                      "dbname",           nullptr};
std::array<const char*, 6> connect_values(const std::string& conninfo) {
  return {"5", "2", "3", "10000", conninfo.c_str(), nullptr};
}

// Asks the server again why it refuses a connection that sent a password, this time at
// PQERRORS_VERBOSE, whose message carries the SQLSTATE: libpq says whether a password was sent,
// not whether the refusal was the password's or came after it (a database that does not exist,
// the role's connection limit). "" where the second attempt gives no code, connects, or does not
// end within `limit` (plus what resolving a host name takes: libpq does that synchronously).
std::string refusal_sqlstate(const std::string& conninfo, std::chrono::milliseconds limit) {
  const auto values = connect_values(conninfo);
  const std::unique_ptr<PGconn, decltype(&PQfinish)> owner(
      PQconnectStartParams(kConnectKeywords.data(), values.data(), /*expand_dbname=*/1), &PQfinish);
  PGconn* raw = owner.get();
  if (raw == nullptr) return {};
  PQsetErrorVerbosity(raw, PQERRORS_VERBOSE);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  // libpq's asynchronous connection: poll the socket as PQconnectPoll last asked, writing first.
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  while (PQstatus(raw) != CONNECTION_BAD && polling != PGRES_POLLING_OK &&
         polling != PGRES_POLLING_FAILED) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    // Read again each pass: the socket changes when libpq moves to the next host or retries.
    const int fd = PQsocket(raw);
    if (fd < 0) break;
    pollfd socket{fd, static_cast<short>(polling == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    const int ready = left.count() > 0 ? ::poll(&socket, 1, static_cast<int>(left.count())) : 0;
    if (ready == 0 || (ready < 0 && errno != EINTR)) break;
    if (ready > 0) polling = PQconnectPoll(raw);
  }
  return PQstatus(raw) == CONNECTION_OK ? "" : last_sqlstate(PQerrorMessage(raw));
}

}  // namespace

std::string last_sqlstate(std::string_view verbose) {
  const auto code_char = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); };
  std::string last;
  for (std::size_t at = verbose.find(":  "); at != std::string_view::npos;
       at = verbose.find(":  ", at + 1)) {
    const std::string_view code = verbose.substr(at + 3, 6);
    if (code.size() == 6 && code[5] == ':' &&
        std::all_of(code.begin(), code.end() - 1, code_char)) {
      last = code.substr(0, 5);
    }
  }
  return last;
}

bool is_url(std::string_view path) {
  return path.starts_with("postgresql://") || path.starts_with("postgres://");
}

std::string redacted(std::string_view url) {
  // scheme://[user[:password]@]host...: the password is between the first ':' after the scheme
  // and the '@' that ends the user part.
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const std::size_t start = scheme + 3;
  const std::size_t at = url.find('@', start);
  const std::size_t slash = url.find('/', start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  const std::size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

// ---- Res ----

Res::~Res() {
  if (res_ != nullptr) PQclear(res_);
}

Res::Res(Res&& other) noexcept : res_(std::exchange(other.res_, nullptr)) {}

Res& Res::operator=(Res&& other) noexcept {
  if (this != &other) {
    if (res_ != nullptr) PQclear(res_);
    res_ = std::exchange(other.res_, nullptr);
  }
  return *this;
}

int Res::rows() const { return res_ == nullptr ? 0 : PQntuples(res_); }

bool Res::is_null(int row, int column) const { return PQgetisnull(res_, row, column) != 0; }

ByteView Res::bytes(int row, int column) const {
  const auto* data = reinterpret_cast<const std::uint8_t*>(PQgetvalue(res_, row, column));
  return {data, static_cast<std::size_t>(PQgetlength(res_, row, column))};
}

std::string Res::text(int row, int column) const {
  return {PQgetvalue(res_, row, column), static_cast<std::size_t>(PQgetlength(res_, row, column))};
}

std::optional<std::int64_t> Res::integer(int row, int column) const {
  const ByteView raw = bytes(row, column);
  std::uint64_t value = 0;
  if (raw.size() != 2 && raw.size() != 4 && raw.size() != 8) return std::nullopt;
  for (const std::uint8_t byte : raw) value = (value << 8) | byte;
  // Sign-extend the narrower widths.
  const unsigned bits = 8U * static_cast<unsigned>(raw.size());
  if (bits < 64 && (value >> (bits - 1)) != 0) value |= ~std::uint64_t{0} << bits;
  return static_cast<std::int64_t>(value);
}

// ---- Conn ----

Conn::~Conn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Conn::Conn(Conn&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}

Conn& Conn::operator=(Conn&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
  }
  return *this;
}

Result<Conn> Conn::connect(const std::string& conninfo) {
  const auto values = connect_values(conninfo);
  PGconn* raw = PQconnectdbParams(kConnectKeywords.data(), values.data(), /*expand_dbname=*/1);
  if (raw == nullptr) return Error{"cannot connect: out of memory", Retry::kLater};
  Conn conn(raw);
  if (PQstatus(raw) == CONNECTION_OK) return conn;
  // Refused for its password (none to give, or a wrong one: SQLSTATE 28P01): that needs someone
  // to act. Any other failure may pass by itself: a server down, starting, in a failover or still
  // a standby, out of connection slots (held by a client that died), a database not made yet, the
  // role's connection limit, an LDAP or RADIUS server behind the password that does not answer
  // (28000, which a role that may not log in gets too). Told by libpq's flags and the server's
  // code, never by the message, which may be in any language.
  std::string error = "cannot connect: " + conn.last_error();
  if (PQconnectionNeedsPassword(raw) == 1) return Error{std::move(error), Retry::kNo};
  if (PQconnectionUsedPassword(raw) == 1 &&
      refusal_sqlstate(conninfo, std::chrono::seconds(5)) == kInvalidPassword) {
    return Error{std::move(error), Retry::kNo};
  }
  return Error{std::move(error), Retry::kLater};
}

Status Conn::exec(const std::string& sql) {
  PGresult* raw = PQexec(conn_, sql.c_str());
  const Res res(raw);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Error{result_error(raw, conn_)};
  }
  return Status::success();
}

Result<Res> Conn::query(const std::string& sql, const std::vector<Param>& params) {
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    if (p.binary) {
      // libpq wants a non-null pointer even for no bytes.
      static const char kEmpty = 0;
      values[i] = p.bytes.empty() ? &kEmpty : reinterpret_cast<const char*>(p.bytes.data());
      lengths[i] = static_cast<int>(p.bytes.size());
      formats[i] = 1;
    } else {
      values[i] = p.text.c_str();
    }
  }
  PGresult* raw = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), lengths.data(), formats.data(), /*resultFormat=*/1);
  Res res(raw);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Error{result_error(raw, conn_)};
  }
  return res;
}

std::string Conn::last_error() const { return one_line(PQerrorMessage(conn_)); }

int Conn::backend_pid() const { return PQbackendPID(conn_); }

bool Conn::lost() const { return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD; }

Status Conn::reset() {
  if (conn_ == nullptr) return Error{"cannot connect again: never connected"};
  PQreset(conn_);
  if (PQstatus(conn_) == CONNECTION_OK) return Status::success();
  return Error{"cannot connect again: " + last_error(), Retry::kLater};
}

Result<std::int64_t> single_integer(Conn& conn, const std::string& sql,
                                    const std::vector<Param>& params) {
  auto res = conn.query(sql, params);
  if (!res) return res.failure();
  if (res->rows() != 1 || res->is_null(0, 0) || !res->integer(0, 0)) {
    return Error{"unexpected answer to " + sql};
  }
  return *res->integer(0, 0);
}

std::string writer_lock_key(std::string_view schema) {
  return "hashtextextended('gsvs-log:' || " + std::string(schema) + ", 0)";
}

// ---- Transaction ----

Transaction::~Transaction() {
  if (active_) (void)conn_.exec("ROLLBACK");
}

Status Transaction::begin() {
  if (auto status = conn_.exec("BEGIN"); !status) return status;
  active_ = true;
  return Status::success();
}

Status Transaction::commit() {
  active_ = false;
  return conn_.exec("COMMIT");
}

}  // namespace gsvs::storage::postgres
