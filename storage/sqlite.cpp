#include "storage/sqlite.h"

#include <limits>
#include <utility>

#include "protocol/regular_file.h"

namespace gsvs::storage::sqlite {

namespace {
// `text` with what describe() adds to SQLite's message.
std::string annotate(sqlite3* db, int rc, std::string text) {
  text += std::string(" (") + sqlite3_errstr(rc) + ", code " + std::to_string(rc);
  const int primary = rc & 0xff;
  // Only these refresh the connection's system error: SQLITE_FULL says "disk is full" itself.
  if (db != nullptr && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN)) {
    if (const int os_error = sqlite3_system_errno(db); os_error != 0) {
      text += ", " + errno_text(os_error);
    }
  }
  return text + ")";
}
}  // namespace

std::string describe(sqlite3* db, int rc) {
  return annotate(db, rc, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

// ---- Db ----

Db::~Db() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Db::Db(Db&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Result<Db> Db::open(const std::string& filename, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(filename.c_str(), &raw, flags, nullptr);
  Db db(raw);  // closes the handle on every path, even a failed open
  if (rc != SQLITE_OK) return Error{describe(raw, rc)};
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Status Db::exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::success();
  std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Error{annotate(db_, rc, std::move(text))};
}

std::string Db::last_error() const { return describe(db_, sqlite3_extended_errcode(db_)); }

bool Db::in_transaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

// ---- Stmt ----

Stmt::~Stmt() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Stmt::Stmt(Stmt&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(std::exchange(other.db_, nullptr)) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Result<Stmt> Stmt::prepare(Db& db, std::string_view sql) {
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Error{"statement too long"};
  }
  sqlite3_stmt* raw = nullptr;
  const int rc =
      sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) {
    if (raw != nullptr) sqlite3_finalize(raw);
    return Error{describe(db.get(), rc)};
  }
  return Stmt(raw, db.get());
}

std::string Stmt::error_text() const { return describe(db_, sqlite3_extended_errcode(db_)); }

Status Stmt::bind_int64(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) return Error{error_text()};
  return Status::success();
}

Status Stmt::bind_blob(int index, ByteView value) {
  if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Error{"blob of " + std::to_string(value.size()) + " bytes is too large for SQLite"};
  }
  // An empty blob must still be a blob, not NULL: hand SQLite a non-null pointer.
  static const std::uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  if (sqlite3_bind_blob(stmt_, index, data, static_cast<int>(value.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK) {
    return Error{error_text()};
  }
  return Status::success();
}

Status Stmt::bind_blob_static(int index, ByteView value) {
  if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Error{"blob of " + std::to_string(value.size()) + " bytes is too large for SQLite"};
  }
  static const std::uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  if (sqlite3_bind_blob(stmt_, index, data, static_cast<int>(value.size()), SQLITE_STATIC) !=
      SQLITE_OK) {
    return Error{error_text()};
  }
  return Status::success();
}

Status Stmt::bind_text(int index, std::string_view value) {
  if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Error{"text too large for SQLite"};
  }
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    return Error{error_text()};
  }
  return Status::success();
}

Result<Stmt::Step> Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return Step::kRow;
  if (rc == SQLITE_DONE) return Step::kDone;
  return Error{describe(db_, rc)};
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Stmt::column_type(int index) const { return sqlite3_column_type(stmt_, index); }

std::int64_t Stmt::column_int64(int index) const { return sqlite3_column_int64(stmt_, index); }

ByteView Stmt::column_blob(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return {};
  return {static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)};
}

std::string Stmt::column_text(int index) const {
  const unsigned char* data = sqlite3_column_text(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return {};
  return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)};
}

// ---- Transaction ----

Transaction::~Transaction() {
  // A failed COMMIT or statement may already have ended the transaction; only roll back a live
  // one. Errors here cannot be reported and leave nothing half-written: SQLite undoes an
  // unfinished transaction when the connection closes or the next one begins.
  if (active_ && db_.in_transaction()) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::begin() {
  if (auto status = db_.exec("BEGIN IMMEDIATE"); !status) return status;
  active_ = true;
  return Status::success();
}

Status Transaction::commit() {
  if (auto status = db_.exec("COMMIT"); !status) return status;
  active_ = false;
  return Status::success();
}

// ---- URIs ----

std::string file_uri(std::string_view path, std::string_view query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "file:";
  // An absolute path gets an empty authority so that "//x" can never be read as a host.
  if (!path.empty() && path.front() == '/') out += "//";
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    const bool keep = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (keep) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    }
  }
  if (!query.empty()) {
    out += '?';
    out += query;
  }
  return out;
}

}  // namespace gsvs::storage::sqlite
