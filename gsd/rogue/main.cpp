// gsd-rogue: the game server with cheats, for demonstrations and tests of what the VS and the
// clients catch. It is gsd plus the flags below; the production gsd contains none of this.
#include <CLI/CLI.hpp>

#include "gsd/build_hash.h"
#include "gsd/cli.h"
#include "gsd/rogue/rogue_behaviour.h"

namespace {

using gsvs::gsd::rogue::RogueBehaviour;
using gsvs::gsd::rogue::RogueOptions;

}  // namespace

int main(int argc, char** argv) {
  RogueOptions options;
  std::string claim_build_of;
  gsvs::gsd::CliExtension extension;
  extension.program = "gsd-rogue";
  extension.description =
      "gsd-rogue: a game server that cheats, for demonstrations and tests only. It is gsd "
      "(same commands, same configuration) plus the cheat flags of 'run'. Never deploy it.";
  extension.add_run_options = [&](CLI::App& run) {
    const std::string group = "Cheats (gsd-rogue only)";
    run.add_flag("--speed", options.speed,
                 "Move players faster than the limit (applied moves x --speed-factor) and report "
                 "every player 50 m away on every other digest")
        ->group(group);
    run.add_option("--speed-factor", options.speed_factor, "Applied displacement multiplier")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 1000000.0))
        ->group(group);
    run.add_option("--jump-m", options.jump_m, "Reported jump along x, every other digest")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1000000.0))
        ->group(group);
    run.add_flag("--inflate-time", options.inflate_time,
                 "Report gs_time_ms running --time-factor times too fast, and move players by "
                 "that clock")
        ->group(group);
    run.add_option("--time-factor", options.time_factor, "How much faster the reported clock runs")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 1000000.0))
        ->group(group);
    run.add_flag("--swap-build", options.swap_build,
                 "Heartbeats report another sw_hash than the one the session joined with")
        ->group(group);
    run.add_flag("--suppress", options.suppress,
                 "On revocation (or a lost VS): tell the clients nothing and keep serving them; "
                 "they must starve")
        ->group(group);
    run.add_flag("--hoard", options.hoard,
                 "Hold every ticket for its validity + --hoard-extra-ms before forwarding it")
        ->group(group);
    run.add_option("--hoard-extra-ms", options.hoard_extra_ms, "Extra hold beyond the validity")
        ->capture_default_str()
        ->check(CLI::Range(0, 3600000))
        ->group(group);
    run.add_flag("--withhold-nonces", options.withhold_nonces,
                 "Never forward client nonces to the VS, so no ticket carries a proof")
        ->group(group);
    run.add_option("--claim-build-of", claim_build_of,
                   "Report the sw_hash of the (honest) executable at PATH instead of its own, as a "
                   "hacked build would")
        ->group(group);
    run.add_option("--turn-rogue-after-ms", options.turn_rogue_after_ms,
                   "Play honest until this long after the first join, then cheat")
        ->capture_default_str()
        ->check(CLI::Range(0u, 86400000u))
        ->group(group);
  };
  extension.make_behaviour =
      [&](const gsvs::Hash32&) -> gsvs::Result<std::shared_ptr<gsvs::gsd::Behaviour>> {
    if (!claim_build_of.empty()) {
      auto claimed = gsvs::gsd::sha256_of_file(claim_build_of);
      if (!claimed) return gsvs::Error{"--claim-build-of: " + claimed.error()};
      options.claimed_build = *claimed;
    }
    return std::shared_ptr<gsvs::gsd::Behaviour>(std::make_shared<RogueBehaviour>(options));
  };
  return gsvs::gsd::run_cli(argc, argv, extension);
}
