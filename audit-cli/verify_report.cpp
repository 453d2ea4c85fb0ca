// audit-cli verify-report: re-checks a dispute report offline, with the VS public key only.
#include <iostream>

#include "audit-cli/commands.h"
#include "audit-cli/common.h"
#include "audit-cli/report_format.h"
#include "protocol/regular_file.h"

namespace gsvs::audit {

namespace {

constexpr std::size_t kMaxReportBytes = std::size_t{1} << 30;

struct VerifyReportOptions {
  std::string file;
  std::string vs_pubkey;
  bool json = false;
};

int run_verify_report(const VerifyReportOptions& o) {
  const crypto::PublicKey key = usable(load_public_key(o.vs_pubkey, "--vs-pubkey")).key;
  const std::string text = usable(read_regular_file(o.file, kMaxReportBytes)).contents;
  const report::Verification v = report::verify(text, key);
  const bool malformed = v.status == report::CheckStatus::kMalformed;
  auto summary = report::summary(v.status, v.problems, malformed ? nullptr : &v.analysis);
  summary["file"] = o.file;
  summary["vs_public_key"] = to_hex(key);
  if (o.json) {
    std::cout << report::serialize(summary);
  } else if (malformed) {
    std::cerr << "audit-cli verify-report: " << o.file << ": "
              << report::format_problem(v.problems.front()) << "\n";
  } else {
    std::cout << o.file << ", checked against VS key " << to_hex(key) << "\n"
              << report::summary_text(summary);
  }
  return v.status == report::CheckStatus::kOk       ? kExitOk
         : v.status == report::CheckStatus::kFailed ? kExitFailed
                                                    : kExitUsage;
}

}  // namespace

void setup_verify_report(CLI::App& app, int& exit_code) {
  auto [cmd, o] = add_command(
      app, exit_code, "verify-report",
      "Re-check a dispute report offline, with nothing but the VS public key: no store, and no "
      "trust in whoever wrote the report.",
      run_verify_report);
  cmd->add_option("FILE", o->file, "report written by `audit-cli report`")->required();
  cmd->add_option("--vs-pubkey", o->vs_pubkey,
                  "VS public key, HEX|FILE: the only thing trusted (get it from the operator, not "
                  "from the report)")
      ->required();
  cmd->add_flag("--json", o->json, "print the result as JSON (only JSON on standard output)");
  set_help_footer(
      *cmd,
      "Checks, for every entry: the entry hash recomputed from its header fields and message\n"
      "bytes; every signature (VS-issued messages under the given key; GS messages under the\n"
      "session key of the VS-signed JoinAccept; the JoinRequest under the GS identity and the\n"
      "session key); that the message decodes and belongs to the session; its Merkle inclusion\n"
      "proof against a VS-signed checkpoint in the report. Checks the checkpoints' signatures and\n"
      "the consistency proofs between them, the JoinAccept against its JoinRequest, receipt and\n"
      "ticket chains, and recomputes the verdict (a speed violation by replaying the movement\n"
      "rule over the digests with the JoinAccept's limits). Every other field of the report is\n"
      "recomputed and compared, and the file must be byte for byte as `report` wrote it.",
      {{kExitOk, "every claim checks out"},
       {kExitFailed,
        "something failed (each failure named with where it is), or the evidence refutes the "
        "verdict"},
       {kExitUsage,
        "usage error, unreadable file, invalid JSON or a missing or mistyped field (named)"}},
      {"audit-cli verify-report session7.json --vs-pubkey vs.key.pub"});
}

}  // namespace gsvs::audit
