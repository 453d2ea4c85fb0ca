#include "vsd/store_command.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>
#include <limits>
#include <optional>

#include "app/program.h"
#include "protocol/clock.h"
#include "protocol/keyfile.h"
#include "storage/log.h"
#include "vsd/log_at_start.h"

namespace gsvs::vsd {

namespace {

using app::kExitFailed;
using app::kExitOk;
using app::kExitUsage;

// The oldest entry of the store at `path` that any later start of vsd reads, if any, and the VS
// time it is judged at: that of the log's last entry, not this host's clock. A start's clock is
// never earlier than it (PROTOCOL.md §8.13), and judged earlier more is kept (no quarantine has
// lapsed yet, more sessions ended within the continuity window), so a clock here that runs ahead
// of the VS's retires no quarantine before it lapses.
struct KeptForStart {
  OldestRead oldest;
  std::uint64_t judged_at_ms = 0;
};
Result<std::optional<KeptForStart>> kept_for_start(const std::string& path) {
  auto log = storage::Log::open(path, storage::OpenMode::kReadOnly);
  if (!log) return log.failure();
  if ((*log)->size() == 0) return std::optional<KeptForStart>();
  auto last = (*log)->get((*log)->size() - 1);
  if (!last) return last.failure();
  const std::uint64_t judged_at_ms = last->header.vs_time_ms;
  auto read = read_log_at_start(**log, path, judged_at_ms);
  if (!read) return read.failure();
  auto oldest = oldest_read_at_start(*read, judged_at_ms);
  if (!oldest) return std::optional<KeptForStart>();
  return std::optional(KeptForStart{*oldest, judged_at_ms});
}

// Retires what `options` selects and prints one line per segment. `verb` names the command.
int retire(const StoreCommandOptions& options, std::optional<std::string> archive_dir,
           std::string_view verb) {
  const std::string prefix = "vsd store " + std::string(verb) + ": ";
  auto key = keyfile::public_key_from_hex_or_file(options.vs_public_key);
  if (!key) {
    std::cerr << prefix << "--vs-public-key: " << key.error() << "\n";
    return kExitUsage;
  }
  const std::uint64_t now = unix_time_ms();
  std::uint64_t sealed_before = now;
  if (!options.older_than.empty()) {
    auto age = parse_duration(options.older_than);
    if (!age) {
      std::cerr << prefix << "--older-than: " << age.error() << "\n";
      return kExitUsage;
    }
    const auto age_ms = static_cast<std::uint64_t>(age->count());
    sealed_before = age_ms > now ? 0 : now - age_ms;
  }
  // What a start of vsd reads stays, however old: retiring it would lift quarantines, give
  // session ids again, or cut a live session from its start (vsd/log_at_start.h). Read once the
  // store is checked (and, for a segmented store, locked).
  storage::RetireOptions retire_options{*key, std::move(archive_dir), sealed_before, now, {}};
  std::optional<KeptForStart> kept;
  retire_options.keep_from_seq = [&]() -> Result<std::uint64_t> {
    auto read = kept_for_start(options.store);
    if (!read) return read.failure();
    kept = *read;
    return kept ? kept->oldest.seq : std::numeric_limits<std::uint64_t>::max();
  };
  auto retired = storage::retire_sealed_segments(options.store, retire_options);
  if (!retired) {
    std::cerr << prefix << retired.error() << "\n";
    return kExitFailed;
  }
  if (kept) {
    std::cout << "kept, whatever their age: the entries from " << kept->oldest.seq
              << " on, which vsd reads at its start (entry " << kept->oldest.seq << ": "
              << kept->oldest.why << "), as of the log's last entry at VS time "
              << kept->judged_at_ms << "\n";
  }
  if (storage::is_postgres_store(options.store)) {
    // One range, up to the newest checkpoint before the time asked (docs/STORE.md §11.5).
    if (retired->empty()) {
      std::cout << "nothing " << verb << "d: no checkpoint held was issued before that time"
                << (kept ? " and placed before the entries kept" : "")
                << ", so no range ends there\n";
      return kExitOk;
    }
    const storage::RetiredSegment& range = retired->front();
    std::cout << verb << "d entries " << range.first_seq << ".." << range.seal_seq
              << " (up to the checkpoint at entry " << range.seal_seq << ")";
    if (!range.archived_to.empty()) std::cout << " to the segmented store " << range.archived_to;
    std::cout << "; recorded in the table retired_range of "
              << storage::printable_store(options.store) << "\n";
    return kExitOk;
  }
  for (const storage::RetiredSegment& segment : *retired) {
    std::cout << verb << "d segment " << segment.index << " (entries " << segment.first_seq << ".."
              << segment.seal_seq << ")";
    if (!segment.archived_to.empty()) std::cout << " to " << segment.archived_to;
    std::cout << "\n";
  }
  std::cout << retired->size() << " sealed segment(s) " << verb << "d; each is recorded in "
            << options.store << "/seal-index.tsv\n";
  return kExitOk;
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.size() < 2) return Error{quoted + " is not a duration such as 90d, 12h, 30m or 45s"};
  std::uint64_t count = 0;
  const std::string_view digits = text.substr(0, text.size() - 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  std::uint64_t unit_ms = 0;
  switch (text.back()) {
    case 'd':
      unit_ms = 86'400'000;
      break;
    case 'h':
      unit_ms = 3'600'000;
      break;
    case 'm':
      unit_ms = 60'000;
      break;
    case 's':
      unit_ms = 1'000;
      break;
    default:
      break;
  }
  // 100 years at most: anything longer is a typing error, and the product must not overflow.
  constexpr std::uint64_t kMaxMs = 100ULL * 365 * 86'400'000;
  if (ec != std::errc{} || end != digits.data() + digits.size() || unit_ms == 0) {
    return Error{quoted + " is not a duration such as 90d, 12h, 30m or 45s"};
  }
  if (count > kMaxMs / unit_ms) return Error{quoted + " is longer than 100 years"};
  return std::chrono::milliseconds(count * unit_ms);
}

StoreCommands setup_store_commands(CLI::App& app, StoreCommandOptions& options) {
  StoreCommands commands;
  commands.store = app.add_subcommand(
      "store",
      "Retention of a segmented store's sealed segments or of a PostgreSQL store's oldest "
      "entries, and a copy of any store as one file (docs/OPERATIONS.md). Retention keeps, "
      "whatever their age, the entries vsd reads at its start: live sessions' starts, "
      "quarantines in force, the highest session id and numbers");
  commands.store->require_subcommand(1);
  commands.archive = commands.store->add_subcommand(
      "archive",
      "Move sealed segments to an archive directory (copy, sync, compare, remove); of a "
      "PostgreSQL store, the entries up to its newest checkpoint before --older-than, appended "
      "to the segmented store in the archive directory");
  commands.prune = commands.store->add_subcommand(
      "prune",
      "Delete sealed segments older than a period (recorded in the seal index); of a PostgreSQL "
      "store, the entries up to its newest checkpoint before then (recorded in retired_range)");
  for (CLI::App* command : {commands.archive, commands.prune}) {
    command
        ->add_option("--store", options.store,
                     "The store directory (vsd must be stopped), or a postgresql:// URI of a role "
                     "that may delete (vsd may run)")
        ->required();
    command
        ->add_option("--vs-public-key", options.vs_public_key,
                     "HEX|FILE: the VS public key, to check the seals first")
        ->required();
  }
  commands.archive->add_option("--to", options.archive_dir, "The archive directory")->required();
  commands.archive->add_option("--older-than", options.older_than,
                               "Only segments sealed longer ago than this (90d, 12h, 30m, 45s); "
                               "default: every sealed segment");
  commands.prune
      ->add_option("--older-than", options.older_than,
                   "Delete segments sealed longer ago than this (90d, 12h, 30m, 45s)")
      ->required();
  commands.prune->add_flag("--yes", options.yes, "Confirm: the segments are deleted for good");
  commands.export_log = commands.store->add_subcommand(
      "export",
      "Copy a store (a file, a directory of segments or a postgresql:// database), or a range of "
      "its entries (--from, --until), into a new SQLite store that audit-cli reads like any "
      "store; every hash is derived again on the way. Safe while vsd runs.");
  commands.export_log->add_option("--store", options.store, "The store to copy")->required();
  commands.export_log
      ->add_option("--to", options.export_to,
                   "The new SQLite file; for a copy that starts after entry 0 (--from, or a "
                   "PostgreSQL store whose first entries were retired), a new directory ending in "
                   "'/', which becomes a segmented store recording them")
      ->required();
  commands.export_log->add_option(
      "--vs-public-key", options.vs_public_key,
      "HEX|FILE: the VS public key, which checks the seal a copy that starts after entry 0 "
      "starts from (needed only then)");
  commands.export_log->add_option(
      "--from", options.from,
      "Start at the checkpoint before this seq that seals the entries before it, so that the "
      "copy verifies on its own from there: it is then a directory of segments (--to ending in "
      "'/') whose seal index records the entries left out, and needs --vs-public-key");
  commands.export_log->add_option(
      "--until", options.until,
      "Only the entries before this seq (default: every entry the store holds when the copy "
      "reaches its end)");
  return commands;
}

int run_store_archive(const StoreCommandOptions& options) {
  return retire(options, options.archive_dir, "archive");
}

int run_store_prune(const StoreCommandOptions& options) {
  if (!options.yes) {
    std::cerr << "vsd store prune: deletes evidence for good; add --yes to confirm (or use "
                 "'vsd store archive' to keep a copy)\n";
    return kExitUsage;
  }
  return retire(options, std::nullopt, "prune");
}

int run_store_export(const StoreCommandOptions& options) {
  const std::string source_name = storage::printable_store(options.store);
  auto source = storage::Log::open(options.store, storage::OpenMode::kReadOnly);
  if (!source) {
    // Not a store, or not one this build reads: as for any store error at start; a database
    // server that is not up may be later.
    std::cerr << "vsd store export: " << source.error() << "\n";
    return source.failure().retry == Retry::kLater ? kExitFailed : kExitUsage;
  }
  std::optional<crypto::PublicKey> key;
  if (!options.vs_public_key.empty()) {
    auto parsed = keyfile::public_key_from_hex_or_file(options.vs_public_key);
    if (!parsed) {
      std::cerr << "vsd store export: --vs-public-key: " << parsed.error() << "\n";
      return kExitUsage;
    }
    key = *parsed;
  }
  auto copied = storage::copy_to_sqlite(**source, options.export_to,
                                        storage::CopyRange{options.from, options.until}, key);
  if (!copied) {
    std::cerr << "vsd store export: " << copied.error() << "\n";
    return kExitFailed;
  }
  std::cout << "exported " << copied->entries - copied->first_seq << " entries"
            << (copied->entries == copied->first_seq
                    ? std::string()
                    : " (" + std::to_string(copied->first_seq) + ".." +
                          std::to_string(copied->entries - 1) + ")")
            << (copied->first_seq == 0 ? std::string()
                                       : ", after the entries before them, which its seal index "
                                         "records (retired, or left out of the copy),")
            << " of " << source_name << " to " << options.export_to << "\nhead hash   "
            << to_hex(copied->head_hash) << "\nMerkle root " << to_hex(copied->merkle_root)
            << "\ncheck it with: audit-cli verify " << options.export_to
            << " --vs-pubkey vs.key.pub\n";
  return kExitOk;
}

}  // namespace gsvs::vsd
