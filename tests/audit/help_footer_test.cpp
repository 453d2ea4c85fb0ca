// Every command's --help ends the same way: what it checks, its exit codes one per line, and
// examples (set_help_footer, commands.h).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <sstream>
#include <string>

#include "audit-cli/commands.h"

namespace gsvs::audit {
namespace {

struct CommandCase {
  const char* name;
  bool fails;  // has an exit code 1
};

TEST(HelpFooter, EveryCommandListsItsExitCodesAndAnExample) {
  CLI::App app{"audit-cli"};
  int exit_code = 0;
  setup_commands(app, exit_code);
  const CommandCase cases[] = {{"verify", true},   {"sessions", false}, {"timeline", false},
                               {"explain", true},  {"report", true},    {"verify-report", true},
                               {"reconcile", true}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string footer = app.get_subcommand(c.name)->get_footer();
    EXPECT_NE(footer.find("Exit codes:\n  0  "), std::string::npos) << footer;
    EXPECT_EQ(footer.find("\n  1  ") != std::string::npos, c.fails) << footer;
    EXPECT_NE(footer.find("\n  2  "), std::string::npos) << footer;
    EXPECT_NE(footer.find("\nExample"), std::string::npos) << footer;
    EXPECT_NE(footer.find("\n  audit-cli " + std::string(c.name) + " "), std::string::npos)
        << footer;
  }
}

TEST(HelpFooter, LongMeaningsWrapUnderTheMeaning) {
  CLI::App app{"test"};
  const std::string long_meaning =
      "something failed (each failure named with where it is), or the evidence refutes the "
      "verdict, and this sentence goes on long enough to need a second line";
  set_help_footer(app, "What it checks.", {{kExitOk, "fine"}, {kExitFailed, long_meaning}},
                  {"audit-cli x", "audit-cli y"});
  const std::string footer = app.get_footer();
  EXPECT_EQ(footer.rfind("What it checks.\nExit codes:\n  0  fine\n  1  something failed", 0), 0u)
      << footer;
  EXPECT_NE(footer.find("\n     "), std::string::npos) << footer;  // continuation indent
  EXPECT_NE(footer.find("Examples:\n  audit-cli x\n  audit-cli y"), std::string::npos) << footer;
  EXPECT_NE(footer.back(), '\n');
  std::istringstream lines(footer);
  std::string rebuilt;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 100u) << line;
    rebuilt += line.substr(line.find_first_not_of(' ')) + " ";
  }
  EXPECT_NE(rebuilt.find(long_meaning), std::string::npos) << rebuilt;  // no word lost
}

}  // namespace
}  // namespace gsvs::audit
