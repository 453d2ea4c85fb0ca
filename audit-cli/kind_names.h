// The `kind_name` column, read beside storage::Log::scan. It is for people and is not covered by
// the entry hash (docs/STORE.md §3), so storage::Entry leaves it out; the audit still checks it
// against `kind`, since an edited kind_name misleads whoever reads the store with sqlite3.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "protocol/result.h"

namespace gsvs::audit {

// Streams (seq, kind_name) in seq order over its own read-only connection, opened the way
// storage::Log opens a store for reading (immutable without a -wal file, else mode=ro).
class KindNameReader {
 public:
  static Result<std::unique_ptr<KindNameReader>> open(const std::string& path);
  ~KindNameReader();
  KindNameReader(const KindNameReader&) = delete;
  KindNameReader& operator=(const KindNameReader&) = delete;

  // The kind_name of the row with this seq as text; nullopt when there is no such row or the
  // value is not text. Calls must come with increasing seq.
  std::optional<std::string> at(std::uint64_t seq);

 private:
  struct Impl;
  explicit KindNameReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gsvs::audit
