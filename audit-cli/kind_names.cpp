#include "audit-cli/kind_names.h"

#include <sqlite3.h>

#include <filesystem>

namespace gsvs::audit {

namespace {

// "file:" URI for a path, as storage/sqlite.cpp builds it (percent-encoding what is not safe).
std::string file_uri(const std::string& path, const std::string& query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "file:";
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
  return out + "?" + query;
}

}  // namespace

struct KindNameReader::Impl {
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  bool done = false;
  bool has_row = false;
  std::int64_t row_seq = -1;

  ~Impl() {
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  void step() {
    if (done) return;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      has_row = true;
      row_seq = sqlite3_column_int64(stmt, 0);
    } else {
      done = true;
      has_row = false;
    }
  }
};

KindNameReader::KindNameReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KindNameReader::~KindNameReader() = default;

Result<std::unique_ptr<KindNameReader>> KindNameReader::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  std::error_code ec;
  const bool side_files =
      std::filesystem::exists(path + "-wal", ec) || std::filesystem::exists(path + "-journal", ec);
  const std::string uri = file_uri(path, side_files ? "mode=ro" : "immutable=1");
  if (sqlite3_open_v2(uri.c_str(), &impl->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) !=
      SQLITE_OK) {
    return Error{"store " + path + ": cannot open read-only: " +
                 (impl->db ? sqlite3_errmsg(impl->db) : "out of memory")};
  }
  sqlite3_busy_timeout(impl->db, 5000);
  sqlite3_exec(impl->db, "PRAGMA query_only = ON; PRAGMA trusted_schema = OFF;", nullptr, nullptr,
               nullptr);
  if (sqlite3_prepare_v2(impl->db,
                         "SELECT seq, kind_name FROM log_entry WHERE typeof(seq) = 'integer' "
                         "ORDER BY seq",
                         -1, &impl->stmt, nullptr) != SQLITE_OK) {
    return Error{"store " + path + ": cannot read kind_name: " + sqlite3_errmsg(impl->db)};
  }
  impl->step();
  return std::unique_ptr<KindNameReader>(new KindNameReader(std::move(impl)));
}

std::optional<std::string> KindNameReader::at(std::uint64_t seq) {
  auto& s = *impl_;
  const auto wanted = static_cast<std::int64_t>(seq);
  while (s.has_row && s.row_seq < wanted) s.step();
  if (!s.has_row || s.row_seq != wanted) return std::nullopt;
  if (sqlite3_column_type(s.stmt, 1) != SQLITE_TEXT) return std::nullopt;
  const auto* text = sqlite3_column_text(s.stmt, 1);
  const int bytes = sqlite3_column_bytes(s.stmt, 1);
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes));
}

}  // namespace gsvs::audit
