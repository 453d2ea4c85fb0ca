// `vsd store archive` and `vsd store prune`: retention of a segmented store's sealed segments
// (docs/OPERATIONS.md, "Retention"; docs/STORE.md §10.6). `vsd store export`: any store, or its
// first entries, as one SQLite file for an investigator (docs/STORE.md §11.4).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/result.h"

namespace CLI {
class App;
}

namespace gsvs::vsd {

struct StoreCommandOptions {
  std::string store;          // the store directory
  std::string vs_public_key;  // HEX|FILE: checks the seals before anything is moved
  std::string archive_dir;    // archive only
  std::string older_than;     // a duration: "90d", "12h", "30m", "45s"; archive: empty for all
  bool yes = false;           // prune only: the operator confirms the deletion
  std::string export_to;      // export only: the new file
  std::optional<std::uint64_t> from;   // export only: from the seal before this seq
  std::optional<std::uint64_t> until;  // export only: the entries before this seq
};

// "90d", "12h", "30m", "45s": a whole number and one unit.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

struct StoreCommands {
  CLI::App* store = nullptr;
  CLI::App* archive = nullptr;
  CLI::App* prune = nullptr;
  CLI::App* export_log = nullptr;
};
// Adds `store` with its `archive` and `prune` subcommands to `app`, filling `options`.
StoreCommands setup_store_commands(CLI::App& app, StoreCommandOptions& options);
// Exit codes: 0 done (also when nothing was old enough); 1 refused or failed (the store, the
// archive or the lock); 2 usage.
int run_store_archive(const StoreCommandOptions& options);
int run_store_prune(const StoreCommandOptions& options);
// Exit codes: 0 copied; 1 the store could not be read or the copy written (the source edited or
// broken, the destination exists); 2 usage.
int run_store_export(const StoreCommandOptions& options);

}  // namespace gsvs::vsd
