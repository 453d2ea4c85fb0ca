// Shared by the audit tests: one generated store per test binary (built once, copied before
// anything touches it), the audit library run in-process, and audit-cli run as a program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit-cli/findings.h"
#include "audit-cli/verifier.h"
#include "tests/support/process.h"
#include "tests/support/store_generator.h"

namespace gsvs::testing {

inline constexpr std::uint64_t kAuditSeed = 7;

// The generated store every audit test starts from (seed kAuditSeed; every revocation reason,
// rejected joins, checkpoints every 200 entries). Never modified: copy it first.
const GeneratedStore& generated();
const std::string& generated_path();
crypto::PublicKey generated_vs_key();

struct VerifyRun {
  audit::FindingSink sink{0};
  audit::VerifyResult result;
  std::string error;  // verify_store failed (store unreadable)

  [[nodiscard]] std::vector<audit::Finding> failures() const;
  // Position of the earliest failure; UINT64_MAX when there is none.
  [[nodiscard]] std::uint64_t first_failure() const;
  [[nodiscard]] bool has(std::string_view check, std::uint64_t seq) const;
  [[nodiscard]] std::string describe() const;  // every finding, for test failure messages
};

// Verifies with the generated store's VS key pinned (unless options.vs_key is set), with two
// signature workers (unless options.threads is set).
VerifyRun verify(const std::string& path, audit::VerifyOptions options = {});

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs build/bin/audit-cli with these arguments; stdout and stderr kept apart.
CliResult run_audit_cli(const std::vector<std::string>& args);

// The positions of the Checkpoints in the store at `path` from `from_seq` on, in log order; each
// is its own log_size (a Checkpoint at position s covers the s entries before it).
std::vector<std::uint64_t> checkpoint_positions(const std::string& path,
                                                std::uint64_t from_seq = 0);

}  // namespace gsvs::testing
