// Tampering with a copy of a store the way an insider with the file could: through the sqlite3
// C API, with the append-only triggers dropped. rechain() recomputes prev_hash and entry_hash
// from a position on, as an insider covering their tracks would.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/bytes.h"
#include "protocol/crypto.h"

namespace gsvs::testing {

// Copies a store (a closed one: a single file) to `to`.
void copy_store(const std::string& from, const std::string& to);

// The leaf pages of the log_entry table of the closed single-file store at `path`, in key order
// (the last holds the head): each page's number and the seqs of its rows.
struct LeafPage {
  std::int64_t pageno = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
};
std::vector<LeafPage> leaf_pages(const std::string& path);
// Overwrites page `pageno` of the closed store file at `path` with 0xFF bytes, as a failing disk
// might leave it.
void damage_page(const std::string& path, std::int64_t pageno);

class Tamper {
 public:
  explicit Tamper(const std::string& path);  // opens read-write and drops the triggers
  ~Tamper();
  Tamper(const Tamper&) = delete;
  Tamper& operator=(const Tamper&) = delete;

  void exec(const std::string& sql);
  [[nodiscard]] Bytes blob(std::uint64_t seq, const std::string& column);
  void set_blob(std::uint64_t seq, const std::string& column, ByteView value);
  [[nodiscard]] std::int64_t integer(std::uint64_t seq, const std::string& column);
  void set_integer(std::uint64_t seq, const std::string& column, std::int64_t value);
  void flip_byte(std::uint64_t seq, const std::string& column, std::size_t offset);
  // Renumbers every row from `from_seq` on by `by` (+1 opens a hole, -1 closes one).
  void shift(std::uint64_t from_seq, std::int64_t by);
  // Exchanges the positions of two rows (their seq values).
  void swap_rows(std::uint64_t a, std::uint64_t b);
  // Recomputes prev_hash and entry_hash of every row from `from_seq` on, in seq order.
  void rechain(std::uint64_t from_seq);
  // As the VS key's holder covering a rewrite: gives every Checkpoint from `from_seq` on the root
  // of the entries before it as they now are, signs it again with `vs_key` and re-chains. Only
  // a checkpoint held outside the store still shows the rewrite.
  void resign_checkpoints(std::uint64_t from_seq, const crypto::SecretKey& vs_key);
  [[nodiscard]] std::uint64_t rows();

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace gsvs::testing
